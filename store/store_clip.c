/* store_clip.c — clips: bulk insert (prepared statements of 16 rows and of one, ids assigned
 * here so they are consecutive), count, get and iteration. Token ids are a BLOB of
 * little-endian int32. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

struct qn_clip_iter {
    qn_store *s;
    sqlite3_stmt *st;
    int32_t *tok;   /* aligned copy of the row's tokens (SQLite's blob may be unaligned) */
    size_t cap;
};

static int check_clip(qn_store *s, int64_t video_id, const qn_store_clip *c, qn_error *err)
{
    if (!isfinite(c->start) || !isfinite(c->end) || c->start < 0 || c->end < c->start)
        return qn_error_set(err, QN_EINPUT, "%s: video %lld clip %d: bad span [%g, %g]",
                            s->dir, (long long)video_id, c->index, c->start, c->end);
    if (c->n_tokens < 0 || (c->n_tokens > 0 && !c->tokens))
        return qn_error_set(err, QN_EUSAGE, "%s: video %lld clip %d: bad token array", s->dir,
                            (long long)video_id, c->index);
    return QN_OK;
}

#define CLIP_COLS 10 /* parameters per clip row of ST_CLIP_INSERT / ST_CLIP_INSERT_MANY */

static int same(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

static void bind_clip(sqlite3_stmt *st, int base, int64_t id, int64_t video_id,
                      const qn_store_clip *c)
{
    sqlite3_bind_int64(st, base + 1, id);
    sqlite3_bind_int64(st, base + 2, video_id);
    sqlite3_bind_int(st, base + 3, c->index);
    sqlite3_bind_double(st, base + 4, c->start);
    sqlite3_bind_double(st, base + 5, c->end);
    int dup = (same(c->clean, c->raw) ? STORE_DUP_CLEAN : 0) |
              (same(c->filtered, c->clean) ? STORE_DUP_FILTERED : 0);
    store_bind_text(st, base + 6, c->raw);
    store_bind_text(st, base + 7, dup & STORE_DUP_CLEAN ? NULL : c->clean);
    store_bind_text(st, base + 8, dup & STORE_DUP_FILTERED ? NULL : c->filtered);
    if (c->tokens)
        sqlite3_bind_blob(st, base + 9, c->tokens, c->n_tokens * 4, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, base + 9);
    sqlite3_bind_int(st, base + 10, dup);
}

static int insert_err(qn_store *s, int r, int64_t video_id, const qn_store_clip *c,
                      qn_error *err)
{
    if (r == SQLITE_CONSTRAINT_UNIQUE || r == SQLITE_CONSTRAINT_PRIMARYKEY)
        return qn_error_set(err, QN_EINPUT, "%s: video %lld already has a clip %d", s->dir,
                            (long long)video_id, c->index);
    if (r == SQLITE_CONSTRAINT_FOREIGNKEY)
        return qn_error_set(err, QN_EINPUT, "%s: no video with id %lld", s->dir,
                            (long long)video_id);
    return store_sql_err(s, r, err, "adding clips");
}

/* Clips [0, n) one row per statement: the tail of a call, and a chunk that failed (its
 * statement was undone whole), replayed to name the clip at fault. */
static int insert_one_by_one(qn_store *s, int64_t video_id, const qn_store_clip *clips,
                             size_t n, int64_t first_id, qn_error *err)
{
    sqlite3_stmt *st = store_stmt(s, ST_CLIP_INSERT, err);
    if (!st)
        return QN_EINTERNAL;
    for (size_t i = 0; i < n; i++) {
        bind_clip(st, 0, first_id + (int64_t)i, video_id, &clips[i]);
        int r = sqlite3_step(st);
        sqlite3_reset(st);
        if (r != SQLITE_DONE)
            return insert_err(s, r, video_id, &clips[i], err);
    }
    return QN_OK;
}

static int insert_clips(qn_store *s, int64_t video_id, const qn_store_clip *clips, size_t n,
                        int64_t *ids_out, qn_error *err)
{
    int64_t next;
    sqlite3_stmt *st = store_stmt(s, ST_CLIP_NEXT_ID, err);
    if (!st)
        return QN_EINTERNAL;
    int r = sqlite3_step(st);
    next = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (r != SQLITE_ROW)
        return store_sql_err(s, r, err, "adding clips");
    for (size_t i = 0; i < n; i++) {
        int rc = check_clip(s, video_id, &clips[i], err);
        if (rc)
            return rc;
    }
    size_t i = 0;
    for (; n - i >= STORE_CLIP_CHUNK; i += STORE_CLIP_CHUNK) {
        if (!(st = store_stmt(s, ST_CLIP_INSERT_MANY, err)))
            return QN_EINTERNAL;
        for (int j = 0; j < STORE_CLIP_CHUNK; j++)
            bind_clip(st, j * CLIP_COLS, next + (int64_t)(i + j), video_id, &clips[i + j]);
        r = sqlite3_step(st);
        sqlite3_reset(st);
        if (r == SQLITE_DONE)
            continue;
        if ((r & 0xff) != SQLITE_CONSTRAINT)
            return insert_err(s, r, video_id, &clips[i], err);
        int rc = insert_one_by_one(s, video_id, clips + i, STORE_CLIP_CHUNK,
                                   next + (int64_t)i, err);
        return rc ? rc : insert_err(s, r, video_id, &clips[i], err);
    }
    int rc = insert_one_by_one(s, video_id, clips + i, n - i, next + (int64_t)i, err);
    if (rc)
        return rc;
    for (i = 0; ids_out && i < n; i++)
        ids_out[i] = next + (int64_t)i;
    return QN_OK;
}

int qn_store_clips_add(qn_store *s, int64_t video_id, const qn_store_clip *clips, size_t n,
                       int64_t *ids_out, qn_error *err)
{
    int implicit;
    int rc = store_auto_begin(s, &implicit, err);
    if (rc)
        return rc;
    rc = insert_clips(s, video_id, clips, n, ids_out, err);
    return store_auto_end(s, implicit, rc, err);
}

int qn_store_clip_count(qn_store *s, int64_t video_id, int64_t *n, qn_error *err)
{
    sqlite3_stmt *st;
    int rc = store_prepare(s, video_id ? "SELECT count(*) FROM clip WHERE video_id=?1"
                                       : "SELECT count(*) FROM clip", &st, err);
    if (rc)
        return rc;
    if (video_id)
        sqlite3_bind_int64(st, 1, video_id);
    int r = sqlite3_step(st);
    *n = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if (r != SQLITE_ROW)
        rc = store_sql_err(s, r, err, "counting clips");
    sqlite3_finalize(st);
    return rc;
}

/* Row of SELECT * FROM clip: id,video_id,idx,start_s,end_s,raw,clean,filtered,tokens,dup;
 * texts stored once (dup) are resolved to their neighbour's. */
static void clip_from_row(sqlite3_stmt *st, qn_store_clip *c)
{
    c->id = sqlite3_column_int64(st, 0);
    c->video_id = sqlite3_column_int64(st, 1);
    c->index = sqlite3_column_int(st, 2);
    c->start = sqlite3_column_double(st, 3);
    c->end = sqlite3_column_double(st, 4);
    c->raw = (const char *)sqlite3_column_text(st, 5);
    c->clean = (const char *)sqlite3_column_text(st, 6);
    c->filtered = (const char *)sqlite3_column_text(st, 7);
    c->tokens = sqlite3_column_blob(st, 8);
    c->n_tokens = c->tokens ? sqlite3_column_bytes(st, 8) / 4 : 0;
    int dup = sqlite3_column_int(st, 9);
    if (dup & STORE_DUP_CLEAN)
        c->clean = c->raw;
    if (dup & STORE_DUP_FILTERED)
        c->filtered = c->clean;
}

int qn_store_clip_get(qn_store *s, int64_t id, qn_store_clip *c, int *found, qn_error *err)
{
    *found = 0;
    sqlite3_stmt *st = store_stmt(s, ST_CLIP_BY_ID, err);
    if (!st)
        return QN_EINTERNAL;
    sqlite3_bind_int64(st, 1, id);
    int rc = QN_OK, r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        clip_from_row(st, c);
        size_t lr = c->raw ? strlen(c->raw) + 1 : 0, lc = c->clean ? strlen(c->clean) + 1 : 0;
        size_t lf = c->filtered ? strlen(c->filtered) + 1 : 0, lt = (size_t)c->n_tokens * 4;
        char *block = malloc(lt + lr + lc + lf + 1), *p = block;
        if (!block) {
            rc = qn_error_set(err, QN_ENOMEM, "%s: out of memory", s->dir);
        } else {
            /* tokens first: the block is malloc-aligned */
            if (lt) { memcpy(p, c->tokens, lt); c->tokens = (const int32_t *)p; p += lt; }
            if (lr) { memcpy(p, c->raw, lr); c->raw = p; p += lr; }
            if (lc) { memcpy(p, c->clean, lc); c->clean = p; p += lc; }
            if (lf) { memcpy(p, c->filtered, lf); c->filtered = p; }
            free(s->scratch[1]);
            s->scratch[1] = block;
            *found = 1;
        }
    } else if (r != SQLITE_DONE) {
        rc = store_sql_err(s, r, err, "looking up a clip");
    }
    sqlite3_reset(st);
    return rc;
}

int qn_store_clip_iter(qn_store *s, int64_t video_id, qn_clip_iter **out, qn_error *err)
{
    *out = NULL;
    qn_clip_iter *it = calloc(1, sizeof *it);
    if (!it)
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", s->dir);
    it->s = s;
    int rc = store_prepare(s, video_id ? "SELECT * FROM clip WHERE video_id=?1 ORDER BY idx"
                                       : "SELECT * FROM clip ORDER BY video_id, idx",
                           &it->st, err);
    if (rc) {
        free(it);
        return rc;
    }
    if (video_id)
        sqlite3_bind_int64(it->st, 1, video_id);
    *out = it;
    return QN_OK;
}

int qn_store_clip_next(qn_clip_iter *it, qn_store_clip *c, qn_error *err)
{
    int r = sqlite3_step(it->st);
    if (r == SQLITE_ROW) {
        clip_from_row(it->st, c);
        if (c->n_tokens) {
            if ((size_t)c->n_tokens > it->cap) {
                int32_t *t = realloc(it->tok, (size_t)c->n_tokens * 4);
                if (!t)
                    return qn_error_set(err, QN_ENOMEM, "%s: out of memory", it->s->dir);
                it->tok = t;
                it->cap = (size_t)c->n_tokens;
            }
            memcpy(it->tok, c->tokens, (size_t)c->n_tokens * 4);
            c->tokens = it->tok;
        }
        return 1;
    }
    if (r == SQLITE_DONE)
        return 0;
    return store_sql_err(it->s, r, err, "iterating clips");
}

void qn_store_clip_iter_free(qn_clip_iter *it)
{
    if (!it)
        return;
    sqlite3_finalize(it->st);
    free(it->tok);
    free(it);
}
