/* cap_json_stream.c — HowTo100M caption.json, one video at a time, in bounded memory.
 *
 * caption.json is one object of 1.2 M entries {"id": {"start": [...], "end": [...],
 * "text": [...]}} (several GB). Loading it as a tree needs tens of GB; here a read buffer
 * holds the current entry: when an entry runs past the buffer's end, the unread tail moves
 * to the front, the buffer refills (growing only if one entry is larger than it) and the
 * entry is parsed again from its start. Peak memory = buffer + one entry's arrays.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cap_jsonscan.h"
#include "cap_priv.h"

/* First read-buffer size; tests and the fuzzer shrink it to exercise refills. */
size_t cap_json_buf_init = 1 << 20;
#define ENTRY_MAX ((size_t)1 << 30) /* one video's entry beyond 1 GB is not a caption list */

typedef struct dvec {
    double *v;
    size_t n, cap;
} dvec;

typedef struct reader {
    /* input window */
    char *buf;
    size_t cap, end;
    int fd, eof;
    uint64_t base;      /* file offset of buf[0] */
    uint64_t base_line; /* newlines before buf[0] */
    size_t counted;     /* buf[0..counted) scanned for newlines (positions only grow) */
    uint64_t line_at;   /* 1-based line at buf[counted] */
    size_t line_start;  /* buf index where that line starts (0 may mean: before buf) */
    uint64_t line_start_abs;
    size_t klen;
    const char *name;
    /* current entry */
    dvec start, endv;
    jbuf text;          /* decoded strings */
    size_t *toff, *tlen, tn, tcap;
    jbuf key;
    const char *problem;
    char problem_buf[96];
} reader;

static int dpush(dvec *d, double v)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 256;
        double *p = realloc(d->v, cap * sizeof *p);
        if (!p)
            return -1;
        d->v = p;
        d->cap = cap;
    }
    d->v[d->n++] = v;
    return 0;
}

static int tpush(reader *r, size_t off, size_t len)
{
    if (r->tn == r->tcap) {
        size_t cap = r->tcap ? r->tcap * 2 : 256;
        size_t *a = realloc(r->toff, cap * sizeof *a), *b;
        if (!a)
            return -1;
        r->toff = a;
        b = realloc(r->tlen, cap * sizeof *b);
        if (!b)
            return -1;
        r->tlen = b;
        r->tcap = cap;
    }
    r->toff[r->tn] = off;
    r->tlen[r->tn++] = len;
    return 0;
}

static void problem(reader *r, const char *field, size_t i, const char *what)
{
    if (r->problem)
        return;
    snprintf(r->problem_buf, sizeof r->problem_buf, "%s[%zu] %s", field, i, what);
    r->problem = r->problem_buf;
}

/* Opens an array value: *more = 1 when elements follow, 0 when it was empty or was not an
 * array at all (then skipped, with `not_array` recorded as the entry's problem). */
static int array_open(js *j, reader *r, const char *not_array, int *more)
{
    int rc;
    *more = 0;
    if ((rc = js_ws(j)))
        return rc;
    if (j->b[j->pos] != '[') {
        r->problem = r->problem ? r->problem : not_array;
        return js_skip(j);
    }
    j->pos++;
    if ((rc = js_ws(j)))
        return rc;
    if (j->b[j->pos] == ']') {
        j->pos++;
        return JS_OK;
    }
    *more = 1;
    return JS_OK;
}

/* After an element: 1 at ']' (consumed), 0 at ',' (consumed), or an error. */
static int array_next(js *j, int *done)
{
    int rc;
    if ((rc = js_ws(j)))
        return rc;
    char c = j->b[j->pos++];
    if (c != ']' && c != ',')
        return j->pos--, j->err = "',' or ']'", JS_ERR;
    *done = c == ']';
    return JS_OK;
}

/* "start"/"end": an array of numbers; anything else in it is recorded as a problem. */
static int number_array(js *j, reader *r, dvec *d, const char *field)
{
    int rc, more, done = 0;
    d->n = 0;
    if ((rc = array_open(j, r, "a time list is not an array", &more)) || !more)
        return rc;
    for (size_t i = 0; !done; i++) {
        if ((rc = js_ws(j)))
            return rc;
        char c = j->b[j->pos];
        double v = NAN;
        if ((c >= '0' && c <= '9') || c == '-' || c == 'N' || c == 'I') {
            if ((rc = js_number(j, &v)))
                return rc;
            if (!isfinite(v))
                problem(r, field, i, "is not a finite number");
        } else {
            if ((rc = js_skip(j)))
                return rc;
            problem(r, field, i, "is not a number");
        }
        if (dpush(d, v))
            return j->err = "out of memory", JS_ERR;
        if ((rc = array_next(j, &done)))
            return rc;
    }
    return JS_OK;
}

static int text_array(js *j, reader *r)
{
    int rc, more, done = 0;
    r->tn = 0;
    r->text.n = 0;
    if ((rc = array_open(j, r, "text is not an array", &more)) || !more)
        return rc;
    for (size_t i = 0; !done; i++) {
        if ((rc = js_ws(j)))
            return rc;
        size_t off = 0, len = 0;
        if (j->b[j->pos] == '"') {
            if ((rc = js_string(j, &r->text, &off, &len)))
                return rc;
        } else {
            if ((rc = js_skip(j)))
                return rc;
            problem(r, "text", i, "is not a string");
            if ((rc = js_string(&(js){"\"\"", 2, 0, 1, NULL}, &r->text, &off, &len)))
                return j->err = "out of memory", JS_ERR;
        }
        if (tpush(r, off, len))
            return j->err = "out of memory", JS_ERR;
        if ((rc = array_next(j, &done)))
            return rc;
    }
    return JS_OK;
}

/* One entry: "id": {...}. */
static int entry(js *j, reader *r)
{
    int rc;
    size_t koff, klen;
    r->key.n = 0;
    r->start.n = r->endv.n = r->tn = 0;
    r->text.n = 0;
    r->problem = NULL;
    if (j->b[j->pos] != '"')
        return j->err = "a video id string", JS_ERR;
    if ((rc = js_string(j, &r->key, &koff, &klen)) || (rc = js_expect(j, ':', "':'")) ||
        (rc = js_ws(j)))
        return rc;
    r->klen = klen;
    if (j->b[j->pos] != '{') {
        r->problem = "value is not an object";
        return js_skip(j);
    }
    j->pos++;
    if ((rc = js_ws(j)))
        return rc;
    if (j->b[j->pos] == '}') {
        j->pos++;
        r->problem = "no start/end/text";
        return JS_OK;
    }
    int seen = 0;
    for (;;) {
        if ((rc = js_ws(j)))
            return rc;
        if (j->b[j->pos] != '"')
            return j->err = "a key string", JS_ERR;
        size_t off, len;
        jbuf *kb = &r->key;
        size_t keep = kb->n;
        if ((rc = js_string(j, kb, &off, &len)) || (rc = js_expect(j, ':', "':'")))
            return rc;
        const char *k = kb->p + off;
        if (len == 5 && !memcmp(k, "start", 5))
            rc = number_array(j, r, &r->start, "start"), seen |= 1;
        else if (len == 3 && !memcmp(k, "end", 3))
            rc = number_array(j, r, &r->endv, "end"), seen |= 2;
        else if (len == 4 && !memcmp(k, "text", 4))
            rc = text_array(j, r), seen |= 4;
        else
            rc = js_skip(j);
        kb->n = keep;
        if (rc || (rc = js_ws(j)))
            return rc;
        char c = j->b[j->pos++];
        if (c == '}')
            break;
        if (c != ',')
            return j->pos--, j->err = "',' or '}'", JS_ERR;
    }
    if (seen != 7)
        r->problem = r->problem ? r->problem : !(seen & 4) ? "no text list" : "no start/end list";
    else if (!r->problem && (r->start.n != r->endv.n || r->start.n != r->tn))
        r->problem = "start, end and text differ in length";
    return JS_OK;
}

/* Line and column of buffer position pos, for messages. Entries are reported in order, so
 * the scan resumes where the last one stopped (linear over the whole file). */
static void where(reader *r, size_t pos, uint64_t *line, uint64_t *col)
{
    if (pos < r->counted) {
        r->counted = 0;
        r->line_at = r->base_line + 1;
        r->line_start_abs = r->base; /* approximate: column counted from the buffer start */
    }
    const char *p = r->buf + r->counted, *e = r->buf + (pos < r->end ? pos : r->end);
    while (p < e && (p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
        p++;
        r->line_at++;
        r->line_start_abs = r->base + (uint64_t)(p - r->buf);
    }
    r->counted = pos;
    *line = r->line_at;
    *col = r->base + pos - r->line_start_abs + 1;
}

static int refill(reader *r, size_t keep_from, qn_error *err)
{
    /* Count newlines of what leaves the buffer, then move the rest to the front. */
    uint64_t l, c;
    where(r, keep_from, &l, &c);
    r->base_line = l - 1;
    r->counted = 0;
    memmove(r->buf, r->buf + keep_from, r->end - keep_from);
    r->end -= keep_from;
    r->base += keep_from;
    if (r->end == r->cap) {
        if (r->cap >= ENTRY_MAX)
            return qn_error_set(err, QN_EINPUT, "%s: one entry larger than 1 GB at byte %llu",
                                r->name, (unsigned long long)r->base);
        char *p = realloc(r->buf, r->cap * 2);
        if (!p)
            return QN_ENOMEM;
        r->buf = p;
        r->cap *= 2;
    }
    /* Fill the whole buffer (pipes hand out 64 KB at a time): an entry that crosses the
     * buffer's end is parsed again from its start, so refills must be big to stay linear. */
    while (r->end < r->cap && !r->eof) {
        ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return qn_error_errno(err, QN_EENV, errno, "%s: read", r->name);
        if (n == 0)
            r->eof = 1;
        r->end += (size_t)n;
    }
    return QN_OK;
}

static int syntax(reader *r, js *j, qn_error *err)
{
    uint64_t line, col;
    where(r, j->pos, &line, &col);
    return qn_error_set(err, QN_EINPUT, "%s:%llu:%llu: expected %s", r->name,
                        (unsigned long long)line, (unsigned long long)col,
                        j->err ? j->err : "valid JSON");
}

static int deliver(reader *r, size_t key_pos, cap_json_cb cb, void *ud, qn_error *err)
{
    const char **tp = malloc((r->tn ? r->tn : 1) * sizeof *tp);
    if (!tp)
        return QN_ENOMEM;
    for (size_t i = 0; i < r->tn; i++)
        tp[i] = r->text.p + r->toff[i];
    uint64_t line, col;
    where(r, key_pos, &line, &col);
    size_t n = r->start.n < r->endv.n ? r->start.n : r->endv.n;
    cap_json_video v = {
        .id = r->key.p, .id_len = r->klen, .start = r->start.v, .end = r->endv.v,
        .n_start = r->start.n, .n_end = r->endv.n, .text = tp, .text_len = r->tlen,
        .n_text = r->tn, .n = n < r->tn ? n : r->tn, .problem = r->problem,
        .offset = r->base + key_pos, .line = line};
    int rc = cb(ud, &v, err);
    free(tp);
    return rc;
}

/* The top-level loop; states: 0 before '{', 1 before an entry or '}', 2 after the '}'. */
static int run(reader *r, cap_json_cb cb, void *ud, uint64_t *count, qn_error *err)
{
    int state = 0, rc;
    size_t pos = 0;
    for (;;) {
        js j = {r->buf, r->end, pos, r->eof, NULL};
        size_t at = pos;
        int jr = js_ws(&j);
        if (jr == JS_OK && state == 0) {
            if (r->buf[j.pos] != '{')
                return j.err = "'{' (a caption.json object)", syntax(r, &j, err);
            pos = j.pos + 1;
            state = 1;
            continue;
        }
        if (jr == JS_OK && state == 1) {
            if (r->buf[j.pos] == '}') {
                pos = j.pos + 1;
                state = 2;
                continue;
            }
            size_t key_pos = j.pos;
            jr = entry(&j, r);
            if (jr == JS_OK)
                jr = js_ws(&j);
            if (jr == JS_OK) {
                char c = r->buf[j.pos];
                if (c != ',' && c != '}')
                    return j.err = "',' or '}' after an entry", syntax(r, &j, err);
                if ((rc = deliver(r, key_pos, cb, ud, err)))
                    return rc;
                (*count)++;
                pos = c == ',' ? j.pos + 1 : j.pos;
                continue;
            }
        }
        if (jr == JS_OK && state == 2)
            return j.err = "end of input after the top-level object", syntax(r, &j, err);
        if (jr == JS_MORE) {
            if (r->fd < 0 || r->eof)
                return j.err = "more input", syntax(r, &j, err);
            if ((rc = refill(r, at, err)))
                return rc;
            pos = 0;
            continue;
        }
        /* JS_ERR: end of input is fine only after the whole object. */
        if (state == 2 && r->eof && j.pos >= r->end)
            return QN_OK;
        if (state != 2 && r->end == 0)
            return qn_error_set(err, QN_EINPUT, "%s: empty file", r->name);
        return syntax(r, &j, err);
    }
}

static void reader_free(reader *r)
{
    free(r->start.v);
    free(r->endv.v);
    jbuf_free(&r->text);
    jbuf_free(&r->key);
    free(r->toff);
    free(r->tlen);
}

int cap_json_stream_fd(int fd, const char *name, cap_json_cb cb, void *ud, uint64_t *n_videos,
                       qn_error *err)
{
    reader r = {.fd = fd, .name = name, .cap = cap_json_buf_init ? cap_json_buf_init : 1, .line_at = 1};
    uint64_t count = 0;
    r.buf = malloc(r.cap);
    if (!r.buf)
        return QN_ENOMEM;
    int rc = refill(&r, 0, err);
    if (rc == QN_OK)
        rc = run(&r, cb, ud, &count, err);
    free(r.buf);
    reader_free(&r);
    if (n_videos)
        *n_videos = count;
    return rc;
}

int cap_json_stream_mem(const char *buf, size_t len, const char *name, cap_json_cb cb, void *ud,
                        uint64_t *n_videos, qn_error *err)
{
    reader r = {.fd = -1, .eof = 1, .name = name, .buf = (char *)buf, .cap = len, .end = len,
                .line_at = 1};
    uint64_t count = 0;
    int rc = run(&r, cb, ud, &count, err);
    reader_free(&r);
    if (n_videos)
        *n_videos = count;
    return rc;
}
