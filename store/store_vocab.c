/* store_vocab.c — the word2vec vocabulary: words ↔ dense ids (table vocab), an in-memory
 * hash for the tokeniser's look-ups, and the import of a word2vec binary file whose
 * vectors become a per-item feature set (row i = word id i). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

struct store_vocab {
    char **words;      /* by id; each points into a chunk of `arena` */
    int64_t n, cap;
    int32_t *slots;    /* open addressing, -1 empty */
    uint64_t mask;
    char **chunks;
    int n_chunks, cap_chunks;
    size_t chunk_left;
    char *chunk_at;
};

static uint64_t hash_word(const char *w)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *w; w++)
        h = (h ^ (unsigned char)*w) * 1099511628211ULL;
    return h;
}

void store_vocab_free(store_vocab *v)
{
    if (!v)
        return;
    for (int i = 0; i < v->n_chunks; i++)
        free(v->chunks[i]);
    free(v->chunks);
    free(v->words);
    free(v->slots);
    free(v);
}

static char *arena_copy(store_vocab *v, const char *w)
{
    size_t len = strlen(w) + 1;
    if (len > v->chunk_left) {
        size_t size = len > 1 << 20 ? len : 1 << 20;
        if (v->n_chunks == v->cap_chunks) {
            int c = v->cap_chunks ? v->cap_chunks * 2 : 16;
            char **a = realloc(v->chunks, (size_t)c * sizeof *a);
            if (!a)
                return NULL;
            v->chunks = a;
            v->cap_chunks = c;
        }
        char *chunk = malloc(size);
        if (!chunk)
            return NULL;
        v->chunks[v->n_chunks++] = chunk;
        v->chunk_at = chunk;
        v->chunk_left = size;
    }
    char *p = v->chunk_at;
    memcpy(p, w, len);
    v->chunk_at += len;
    v->chunk_left -= len;
    return p;
}

static int rehash(store_vocab *v, uint64_t cap)
{
    int32_t *slots = malloc(cap * sizeof *slots);
    if (!slots)
        return -1;
    memset(slots, 0xff, cap * sizeof *slots);
    for (int64_t id = 0; id < v->n; id++) {
        uint64_t i = hash_word(v->words[id]) & (cap - 1);
        while (slots[i] >= 0)
            i = (i + 1) & (cap - 1);
        slots[i] = (int32_t)id;
    }
    free(v->slots);
    v->slots = slots;
    v->mask = cap - 1;
    return 0;
}

static int32_t vocab_get(const store_vocab *v, const char *w)
{
    for (uint64_t i = hash_word(w) & v->mask;; i = (i + 1) & v->mask) {
        int32_t id = v->slots[i];
        if (id < 0 || !strcmp(v->words[id], w))
            return id;
    }
}

/* Appends word w with id v->n (the caller checked it is absent). */
static int vocab_push(store_vocab *v, const char *w)
{
    if (v->n == v->cap) {
        int64_t c = v->cap ? v->cap * 2 : 1024;
        char **a = realloc(v->words, (size_t)c * sizeof *a);
        if (!a)
            return -1;
        v->words = a;
        v->cap = c;
    }
    if ((uint64_t)(v->n + 1) * 2 > v->mask + 1 && rehash(v, (v->mask + 1) * 2) != 0)
        return -1;
    char *p = arena_copy(v, w);
    if (!p)
        return -1;
    v->words[v->n] = p;
    uint64_t i = hash_word(p) & v->mask;
    while (v->slots[i] >= 0)
        i = (i + 1) & v->mask;
    v->slots[i] = (int32_t)v->n++;
    return 0;
}

static int vocab_load(qn_store *s, qn_error *err)
{
    if (s->vocab)
        return QN_OK;
    store_vocab *v = calloc(1, sizeof *v);
    if (!v || rehash(v, 1024) != 0) {
        store_vocab_free(v);
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", s->dir);
    }
    sqlite3_stmt *st;
    int rc = store_prepare(s, "SELECT id, word FROM vocab ORDER BY id", &st, err);
    int r = SQLITE_DONE;
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_int64(st, 0) != v->n) {
            rc = qn_error_set(err, QN_EINPUT, "%s: vocabulary ids are not dense (id %lld at "
                              "position %lld)", s->db_path,
                              (long long)sqlite3_column_int64(st, 0), (long long)v->n);
        } else if (vocab_push(v, (const char *)sqlite3_column_text(st, 1)) != 0) {
            rc = qn_error_set(err, QN_ENOMEM, "%s: out of memory", s->dir);
        }
    }
    if (!rc && r != SQLITE_DONE)
        rc = store_sql_err(s, r, err, "loading the vocabulary");
    sqlite3_finalize(st);
    if (rc) {
        store_vocab_free(v);
        return rc;
    }
    s->vocab = v;
    return QN_OK;
}

static int add_words(qn_store *s, const char *const *words, size_t n, int32_t *ids_out,
                     qn_error *err)
{
    int rc = vocab_load(s, err);
    sqlite3_stmt *st = rc ? NULL : store_stmt(s, ST_VOCAB_INSERT, err);
    if (!st)
        return rc ? rc : QN_EINTERNAL;
    store_vocab *v = s->vocab;
    for (size_t i = 0; i < n; i++) {
        int32_t id = vocab_get(v, words[i]);
        if (id < 0) {
            if (v->n >= INT32_MAX)
                return qn_error_set(err, QN_EINPUT, "%s: vocabulary full", s->dir);
            id = (int32_t)v->n;
            sqlite3_bind_int64(st, 1, id);
            sqlite3_bind_text(st, 2, words[i], -1, SQLITE_STATIC);
            int r = sqlite3_step(st);
            sqlite3_reset(st);
            if (r != SQLITE_DONE)
                return store_sql_err(s, r, err, "adding a word");
            if (vocab_push(v, words[i]) != 0)
                return qn_error_set(err, QN_ENOMEM, "%s: out of memory", s->dir);
        }
        if (ids_out)
            ids_out[i] = id;
    }
    return QN_OK;
}

int qn_vocab_add(qn_store *s, const char *const *words, size_t n, int32_t *ids_out,
                 qn_error *err)
{
    int implicit;
    int rc = store_auto_begin(s, &implicit, err);
    if (rc)
        return rc;
    rc = add_words(s, words, n, ids_out, err);
    return store_auto_end(s, implicit, rc, err);
}

int qn_vocab_lookup(qn_store *s, const char *word, int32_t *id, qn_error *err)
{
    *id = -1;
    int rc = vocab_load(s, err);
    if (!rc)
        *id = vocab_get(s->vocab, word);
    return rc;
}

const char *qn_vocab_word(qn_store *s, int32_t id)
{
    if (vocab_load(s, NULL) != QN_OK || id < 0 || id >= s->vocab->n)
        return NULL;
    return s->vocab->words[id];
}

int64_t qn_vocab_size(qn_store *s)
{
    int64_t n = 0;
    if (s->vocab)
        return s->vocab->n;
    return store_query_int(s, "SELECT count(*) FROM vocab", &n, NULL) == QN_OK ? n : -1;
}

/* ---- word2vec binary import ---- */

typedef struct w2v_reader {
    FILE *fp;
    const char *path;
    int64_t count, dim;
} w2v_reader;

static int w2v_header(w2v_reader *r, qn_error *err)
{
    char line[128];
    if (!fgets(line, sizeof line, r->fp))
        return qn_error_set(err, QN_EINPUT, "%s: empty file, expected a word2vec header "
                            "\"COUNT DIM\"", r->path);
    long long c, d;
    char tail;
    if (sscanf(line, "%lld %lld%c", &c, &d, &tail) != 3 || tail != '\n' || c <= 0 ||
        c >= INT32_MAX || d <= 0 || d > 100000)
        return qn_error_set(err, QN_EINPUT, "%s:1: bad word2vec header (expected \"COUNT "
                            "DIM\\n\" with positive numbers)", r->path);
    r->count = c;
    r->dim = d;
    return QN_OK;
}

/* Reads one "word vector" record; word must hold 1024 bytes. */
static int w2v_record(w2v_reader *r, int64_t k, char *word, float *vec, qn_error *err)
{
    int ch;
    size_t n = 0;
    while ((ch = getc(r->fp)) == '\n')
        ; /* the newline some writers put after each vector */
    while (ch != EOF && ch != ' ') {
        if (n >= 1023)
            return qn_error_set(err, QN_EINPUT, "%s: word %lld (byte %ld): word longer than "
                                "1023 bytes", r->path, (long long)k + 1, ftell(r->fp));
        word[n++] = (char)ch;
        ch = getc(r->fp);
    }
    word[n] = 0;
    if (ch == EOF || n == 0)
        return qn_error_set(err, QN_EINPUT, "%s: word %lld of %lld (byte %ld): %s", r->path,
                            (long long)k + 1, (long long)r->count, ftell(r->fp),
                            ch == EOF ? "file ends early (truncated?)" : "empty word");
    if (fread(vec, 4, (size_t)r->dim, r->fp) != (size_t)r->dim)
        return qn_error_set(err, QN_EINPUT, "%s: word %lld '%s' (byte %ld): vector truncated",
                            r->path, (long long)k + 1, word, ftell(r->fp));
    return QN_OK;
}

enum { W2V_CHUNK = 4096 };

static int import_body(qn_store *s, w2v_reader *r, qn_fset *fs, int64_t total,
                       void (*progress)(void *, int64_t, int64_t), void *ctx, qn_error *err)
{
    char *words = malloc((size_t)W2V_CHUNK * 1024);
    const char **ptrs = malloc(W2V_CHUNK * sizeof *ptrs);
    float *vecs = malloc((size_t)W2V_CHUNK * (size_t)r->dim * 4);
    int32_t *ids = malloc(W2V_CHUNK * sizeof *ids);
    int rc = words && ptrs && vecs && ids ? QN_OK
                                         : qn_error_set(err, QN_ENOMEM, "%s: out of memory",
                                                        r->path);
    for (int64_t done = 0; !rc && done < total;) {
        int k = 0;
        for (; !rc && k < W2V_CHUNK && done + k < total; k++) {
            ptrs[k] = words + (size_t)k * 1024;
            rc = w2v_record(r, done + k, words + (size_t)k * 1024, vecs + (size_t)k * r->dim,
                            err);
        }
        if (!rc)
            rc = add_words(s, ptrs, (size_t)k, ids, err);
        for (int i = 0; !rc && i < k; i++)
            if (ids[i] != done + i)
                rc = qn_error_set(err, QN_EINPUT, "%s: word %lld '%s' appears twice", r->path,
                                  (long long)done + i + 1, ptrs[i]);
        if (!rc)
            rc = store_featfile_append(fs, vecs, QN_F32, k, NULL, err);
        done += k;
        if (progress && !rc)
            progress(ctx, done, total);
    }
    free(words);
    free(ptrs);
    free(vecs);
    free(ids);
    return rc;
}

int qn_vocab_import_word2vec(qn_store *s, const char *path, const char *set_name, int dtype,
                             int64_t max_words,
                             void (*progress)(void *ctx, int64_t done, int64_t total),
                             void *ctx, qn_error *err)
{
    int rc = store_need_writer(s, err);
    if (rc)
        return rc;
    if (s->in_batch)
        return qn_error_set(err, QN_EUSAGE, "%s: vocabulary import runs in its own batch",
                            s->dir);
    int64_t have = qn_vocab_size(s);
    if (have != 0)
        return qn_error_set(err, QN_EINPUT, "%s: the store already has a vocabulary of %lld "
                            "words", s->dir, (long long)have);
    w2v_reader r = {fopen(path, "rb"), path, 0, 0};
    if (!r.fp)
        return qn_error_errno(err, QN_EINPUT, errno, "%s", path);
    rc = w2v_header(&r, err);
    int64_t total = max_words > 0 && max_words < r.count ? max_words : r.count;
    if (!rc)
        rc = qn_store_begin(s, err);
    if (rc) {
        fclose(r.fp);
        return rc;
    }
    qn_fset *fs;
    qn_fset_info spec = {0, set_name, QN_FSET_PER_ITEM, "word2vec", NULL, (int32_t)r.dim,
                         dtype, 0, 0};
    rc = qn_fset_create(s, &spec, &fs, err);
    if (!rc)
        rc = import_body(s, &r, fs, total, progress, ctx, err);
    char sql[160];
    snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO store_info VALUES('vocab_set','%s')",
             set_name);
    if (!rc)
        rc = store_exec(s, sql, err);
    fclose(r.fp);
    if (rc) {
        qn_store_rollback(s, NULL);
        return rc;
    }
    return qn_store_commit(s, err);
}
