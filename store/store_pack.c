/* store_pack.c — the clip_pack BLOBs (FORMAT.md §2): a video's clips encoded into three
 * BLOBs (times, texts, tokens) and decoded back, with every offset checked, since a pack is
 * read from a file that may be damaged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define TEXT_NULL 0xFFFFFFFFu

static int grow(store_buf *b, size_t need)
{
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need)
        cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static void buf_free(store_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, 4); /* little-endian hosts only (store_internal.h) */
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Appends text t (NULL: none) as entry k of the table, sharing the bytes of the clip's
 * earlier text prev[j] (entry k - n_prev + j) that equals it, if any. */
static int put_text(store_buf *b, size_t table, size_t k, const char *t,
                    const char *const *prev, size_t n_prev)
{
    unsigned char *entry = b->p + 8 * k;
    if (!t) {
        put_u32(entry, TEXT_NULL);
        put_u32(entry + 4, 0);
        return 0;
    }
    for (size_t j = n_prev; j-- > 0;)
        if (prev[j] && !strcmp(t, prev[j])) {
            memcpy(entry, b->p + 8 * (k - n_prev + j), 8);
            return 0;
        }
    size_t len = strlen(t);
    size_t off = b->len - table;
    if (len >= TEXT_NULL || off >= TEXT_NULL - len - 1 || grow(b, b->len + len + 1))
        return -1;
    entry = b->p + 8 * k; /* grow may have moved it */
    put_u32(entry, (uint32_t)off);
    put_u32(entry + 4, (uint32_t)len);
    memcpy(b->p + b->len, t, len + 1);
    b->len += len + 1;
    return 0;
}

int store_pack_encode(store_pack_bufs *pb, const qn_store_clip *clips, size_t n)
{
    store_buf *tm = &pb->times, *tx = &pb->texts, *tk = &pb->tokens;
    if (grow(tm, 16 * n) || grow(tx, 24 * n))
        return -1;
    double *t = (double *)tm->p;
    for (size_t i = 0; i < n; i++) {
        t[i] = clips[i].start;
        t[n + i] = clips[i].end;
    }
    tm->len = 16 * n;
    tx->len = 24 * n;
    pb->has_tokens = 0;
    size_t ntok = 0;
    for (size_t i = 0; i < n; i++) {
        const qn_store_clip *c = &clips[i];
        const char *prev[2] = {c->raw, c->clean};
        if (put_text(tx, 24 * n, 3 * i, c->raw, prev, 0) ||
            put_text(tx, 24 * n, 3 * i + 1, c->clean, prev, 1) ||
            put_text(tx, 24 * n, 3 * i + 2, c->filtered, prev, 2))
            return -1;
        pb->has_tokens |= c->tokens != NULL;
        ntok += (size_t)c->n_tokens;
    }
    tk->len = 0;
    if (!pb->has_tokens)
        return 0;
    if (ntok > UINT32_MAX - n - 1 || grow(tk, 4 * (n + 1 + ntok)))
        return -1;
    unsigned char *off = tk->p, *ids = tk->p + 4 * (n + 1);
    uint32_t o = 0;
    put_u32(off, 0);
    for (size_t i = 0; i < n; i++) {
        if (clips[i].n_tokens) /* tokens may be NULL when there are none */
            memcpy(ids + 4 * (size_t)o, clips[i].tokens, 4 * (size_t)clips[i].n_tokens);
        o += (uint32_t)clips[i].n_tokens;
        put_u32(off + 4 * (i + 1), o);
    }
    tk->len = 4 * (n + 1 + ntok);
    return 0;
}

/* Copies blob b (bytes) into buffer d, 8-byte aligned by malloc. */
static int copy_in(store_buf *d, const void *b, size_t bytes)
{
    if (grow(d, bytes ? bytes : 1))
        return -1;
    if (bytes)
        memcpy(d->p, b, bytes);
    d->len = bytes;
    return 0;
}

int store_pack_load(store_pack *p, sqlite3_stmt *st, int col, qn_error *err, const char *where)
{
    p->video_id = sqlite3_column_int64(st, col);
    p->first_id = sqlite3_column_int64(st, col + 1);
    int64_t n = sqlite3_column_int64(st, col + 2);
    const void *b[3];
    size_t len[3];
    for (int k = 0; k < 3; k++) {
        b[k] = sqlite3_column_blob(st, col + 3 + k);
        len[k] = (size_t)sqlite3_column_bytes(st, col + 3 + k);
    }
    p->bufs.has_tokens = sqlite3_column_type(st, col + 5) != SQLITE_NULL;
    if (copy_in(&p->bufs.times, b[0], len[0]) || copy_in(&p->bufs.texts, b[1], len[1]) ||
        copy_in(&p->bufs.tokens, b[2], len[2]))
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", where);
    char why[160];
    if (store_pack_check(p, n, why, sizeof why))
        return qn_error_set(err, QN_EINPUT, "%s: clip_pack of video %lld: %s", where,
                            (long long)p->video_id, why);
    return QN_OK;
}

#define WHY(...) (snprintf(why, whylen, __VA_ARGS__), -1)

/* Validates the loaded BLOBs against n and fills the decoded views of p. */
int store_pack_check(store_pack *p, int64_t n, char *why, size_t whylen)
{
    if (n <= 0 || n > (int64_t)(SIZE_MAX / 64))
        return WHY("%lld clips", (long long)n);
    if (p->first_id < 1 || p->first_id > INT64_MAX - n) /* ids are first_id + i, from 1 */
        return WHY("first clip id %lld", (long long)p->first_id);
    size_t un = (size_t)n;
    p->n = un;
    if (p->bufs.times.len != 16 * un)
        return WHY("times BLOB of %zu bytes, %zu clips need %zu", p->bufs.times.len, un,
                   16 * un);
    if (p->bufs.texts.len < 24 * un)
        return WHY("texts BLOB of %zu bytes is shorter than its %zu-byte table",
                   p->bufs.texts.len, 24 * un);
    p->start = (const double *)p->bufs.times.p;
    p->end = p->start + un;
    p->table = p->bufs.texts.p;
    p->text = (const char *)p->bufs.texts.p + 24 * un;
    size_t text_len = p->bufs.texts.len - 24 * un;
    for (size_t k = 0; k < 3 * un; k++) {
        uint32_t off = get_u32(p->table + 8 * k), len = get_u32(p->table + 8 * k + 4);
        if (off == TEXT_NULL && len == 0)
            continue;
        if (off == TEXT_NULL)
            return WHY("clip %zu: NULL text %zu with length %u", k / 3, k % 3, len);
        if ((size_t)off + len >= text_len || p->text[(size_t)off + len] != '\0')
            return WHY("clip %zu: text %zu [%u, +%u] is outside the texts BLOB or not "
                       "NUL-terminated", k / 3, k % 3, off, len);
        if (memchr(p->text + off, '\0', len)) /* C readers would see a shorter text */
            return WHY("clip %zu: text %zu [%u, +%u] holds a NUL byte", k / 3, k % 3, off, len);
    }
    p->tok_off = NULL;
    p->tok = NULL;
    if (!p->bufs.has_tokens)
        return 0;
    size_t tl = p->bufs.tokens.len;
    if (tl < 4 * (un + 1) || tl % 4)
        return WHY("tokens BLOB of %zu bytes for %zu clips", tl, un);
    p->tok_off = (const uint32_t *)p->bufs.tokens.p;
    p->tok = (const int32_t *)(p->tok_off + un + 1);
    if (p->tok_off[0] != 0)
        return WHY("first token offset is %u, not 0", p->tok_off[0]);
    for (size_t i = 0; i < un; i++)
        if (p->tok_off[i + 1] < p->tok_off[i])
            return WHY("clip %zu: token offsets go back (%u after %u)", i, p->tok_off[i + 1],
                       p->tok_off[i]);
    if ((size_t)p->tok_off[un] != tl / 4 - un - 1)
        return WHY("tokens BLOB holds %zu ids, its offsets say %u", tl / 4 - un - 1,
                   p->tok_off[un]);
    return 0;
}

static const char *text_at(const store_pack *p, size_t k)
{
    uint32_t off = get_u32(p->table + 8 * k);
    return off == TEXT_NULL ? NULL : p->text + off;
}

void store_pack_clip(const store_pack *p, size_t i, qn_store_clip *c)
{
    c->id = p->first_id + (int64_t)i;
    c->video_id = p->video_id;
    c->index = (int32_t)i;
    c->start = p->start[i];
    c->end = p->end[i];
    c->raw = text_at(p, 3 * i);
    c->clean = text_at(p, 3 * i + 1);
    c->filtered = text_at(p, 3 * i + 2);
    if (p->tok_off && p->tok_off[i + 1] > p->tok_off[i]) { /* none: NULL, as written */
        c->tokens = p->tok + p->tok_off[i];
        c->n_tokens = (int32_t)(p->tok_off[i + 1] - p->tok_off[i]);
    } else {
        c->tokens = NULL;
        c->n_tokens = 0;
    }
}

void store_pack_bufs_free(store_pack_bufs *pb)
{
    buf_free(&pb->times);
    buf_free(&pb->texts);
    buf_free(&pb->tokens);
}

void store_pack_free(store_pack *p)
{
    store_pack_bufs_free(&p->bufs);
}
