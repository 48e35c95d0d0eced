/* store_clip.c — clips: a video's clips are one clip_pack row (FORMAT.md §2), written by one
 * qn_store_clips_add call; count, get and iteration decode those rows (store_pack.c).
 * One row per video, not per clip: a caption.json import of 110 clips per video paid
 * SQLite's per-row cost (row, UNIQUE index entry, foreign-key probe) 110 times. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

struct qn_clip_iter {
    qn_store *s;
    sqlite3_stmt *st;
    store_pack pack; /* the current video's clips */
    size_t next;     /* next clip of pack to hand out; pack.n when spent */
};

static int check_clip(qn_store *s, int64_t video_id, const qn_store_clip *c, size_t i,
                      qn_error *err)
{
    if (c->index != (int32_t)i)
        return qn_error_set(err, QN_EUSAGE, "%s: video %lld: clip %zu has index %d: a video's "
                            "clips are added together, indexes 0..n-1 in order", s->dir,
                            (long long)video_id, i, c->index);
    if (!isfinite(c->start) || !isfinite(c->end) || c->start < 0 || c->end < c->start)
        return qn_error_set(err, QN_EINPUT, "%s: video %lld clip %d: bad span [%g, %g]",
                            s->dir, (long long)video_id, c->index, c->start, c->end);
    if (c->n_tokens < 0 || (c->n_tokens > 0 && !c->tokens))
        return qn_error_set(err, QN_EUSAGE, "%s: video %lld clip %d: bad token array", s->dir,
                            (long long)video_id, c->index);
    return QN_OK;
}

int store_pack_insert(qn_store *s, int64_t video_id, int64_t first_id,
                      const qn_store_clip *clips, size_t n, qn_error *err)
{
    store_pack_bufs *pb = &s->pack;
    if (store_pack_encode(pb, clips, n))
        return qn_error_set(err, QN_ENOMEM, "%s: video %lld: out of memory packing %zu clips "
                            "(or their texts pass 4 GB)", s->dir, (long long)video_id, n);
    int max = sqlite3_limit(s->db, SQLITE_LIMIT_LENGTH, -1);
    if (pb->texts.len > (size_t)max || pb->tokens.len > (size_t)max ||
        pb->times.len > (size_t)max)
        return qn_error_set(err, QN_EINPUT, "%s: video %lld: %zu clips take more than SQLite's "
                            "%d-byte limit", s->dir, (long long)video_id, n, max);
    sqlite3_stmt *st = store_stmt(s, ST_PACK_INSERT, err);
    if (!st)
        return QN_EINTERNAL;
    sqlite3_bind_int64(st, 1, video_id);
    sqlite3_bind_int64(st, 2, first_id);
    sqlite3_bind_int64(st, 3, (int64_t)n);
    sqlite3_bind_blob(st, 4, pb->times.p, (int)pb->times.len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, pb->texts.p, (int)pb->texts.len, SQLITE_STATIC);
    if (pb->has_tokens)
        sqlite3_bind_blob(st, 6, pb->tokens.p, (int)pb->tokens.len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 6);
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r == SQLITE_DONE)
        return QN_OK;
    if (r == SQLITE_CONSTRAINT_PRIMARYKEY)
        return qn_error_set(err, QN_EINPUT, "%s: video %lld already has clips (clear it "
                            "first)", s->dir, (long long)video_id);
    if (r == SQLITE_CONSTRAINT_FOREIGNKEY)
        return qn_error_set(err, QN_EINPUT, "%s: no video with id %lld", s->dir,
                            (long long)video_id);
    return store_sql_err(s, r, err, "adding clips");
}

static int next_clip_id(qn_store *s, int64_t *next, qn_error *err)
{
    sqlite3_stmt *st = store_stmt(s, ST_PACK_NEXT_ID, err);
    if (!st)
        return QN_EINTERNAL;
    int r = sqlite3_step(st);
    *next = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 1;
    sqlite3_reset(st);
    return r == SQLITE_ROW || r == SQLITE_DONE ? QN_OK
                                               : store_sql_err(s, r, err, "adding clips");
}

static int add_clips(qn_store *s, int64_t video_id, const qn_store_clip *clips, size_t n,
                     int64_t *ids_out, qn_error *err)
{
    for (size_t i = 0; i < n; i++) {
        int rc = check_clip(s, video_id, &clips[i], i, err);
        if (rc)
            return rc;
    }
    int64_t first;
    int rc = next_clip_id(s, &first, err);
    if (!rc)
        rc = store_pack_insert(s, video_id, first, clips, n, err);
    for (size_t i = 0; !rc && ids_out && i < n; i++)
        ids_out[i] = first + (int64_t)i;
    return rc;
}

int qn_store_clips_add(qn_store *s, int64_t video_id, const qn_store_clip *clips, size_t n,
                       int64_t *ids_out, qn_error *err)
{
    if (n == 0)
        return store_need_writer(s, err);
    int implicit;
    int rc = store_auto_begin(s, &implicit, err);
    if (rc)
        return rc;
    rc = add_clips(s, video_id, clips, n, ids_out, err);
    return store_auto_end(s, implicit, rc, err);
}

int qn_store_clip_count(qn_store *s, int64_t video_id, int64_t *n, qn_error *err)
{
    sqlite3_stmt *st;
    int rc = store_prepare(s, video_id ? "SELECT coalesce(sum(n),0) FROM clip_pack WHERE video_id=?1"
                                       : "SELECT coalesce(sum(n),0) FROM clip_pack", &st, err);
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

/* Copies clip c's texts and tokens into one block owned by the handle (the pack they point
 * into is freed on return). */
static int keep_clip(qn_store *s, qn_store_clip *c, qn_error *err)
{
    size_t lr = c->raw ? strlen(c->raw) + 1 : 0, lc = c->clean ? strlen(c->clean) + 1 : 0;
    size_t lf = c->filtered ? strlen(c->filtered) + 1 : 0, lt = (size_t)c->n_tokens * 4;
    char *block = malloc(lt + lr + lc + lf + 1), *p = block;
    if (!block)
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", s->dir);
    /* tokens first: the block is malloc-aligned */
    if (c->tokens) { memcpy(p, c->tokens, lt); c->tokens = (const int32_t *)p; p += lt; }
    if (lr) { memcpy(p, c->raw, lr); c->raw = p; p += lr; }
    if (lc) { memcpy(p, c->clean, lc); c->clean = p; p += lc; }
    if (lf) { memcpy(p, c->filtered, lf); c->filtered = p; }
    free(s->scratch[1]);
    s->scratch[1] = block;
    return QN_OK;
}

int qn_store_clip_get(qn_store *s, int64_t id, qn_store_clip *c, int *found, qn_error *err)
{
    *found = 0;
    sqlite3_stmt *st = store_stmt(s, ST_PACK_BY_CLIP, err);
    if (!st)
        return QN_EINTERNAL;
    sqlite3_bind_int64(st, 1, id);
    store_pack p = {0};
    int rc = QN_OK, r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        rc = store_pack_load(&p, st, 0, err, s->db_path);
        if (!rc && id - p.first_id < (int64_t)p.n) {
            store_pack_clip(&p, (size_t)(id - p.first_id), c);
            rc = keep_clip(s, c, err);
            *found = !rc;
        }
    } else if (r != SQLITE_DONE) {
        rc = store_sql_err(s, r, err, "looking up a clip");
    }
    sqlite3_reset(st);
    store_pack_free(&p);
    return rc;
}

int qn_store_clip_iter(qn_store *s, int64_t video_id, qn_clip_iter **out, qn_error *err)
{
    *out = NULL;
    qn_clip_iter *it = calloc(1, sizeof *it);
    if (!it)
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", s->dir);
    it->s = s;
    int rc = store_prepare(s, video_id ? "SELECT video_id,first_id,n,times,texts,tokens"
                                         " FROM clip_pack WHERE video_id=?1"
                                       : "SELECT video_id,first_id,n,times,texts,tokens"
                                         " FROM clip_pack ORDER BY video_id",
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
    while (it->next >= it->pack.n) {
        int r = sqlite3_step(it->st);
        if (r == SQLITE_DONE)
            return 0;
        if (r != SQLITE_ROW)
            return store_sql_err(it->s, r, err, "iterating clips");
        int rc = store_pack_load(&it->pack, it->st, 0, err, it->s->db_path);
        if (rc) {
            it->pack.n = 0;
            return rc;
        }
        it->next = 0;
    }
    store_pack_clip(&it->pack, it->next++, c);
    return 1;
}

void qn_store_clip_iter_free(qn_clip_iter *it)
{
    if (!it)
        return;
    sqlite3_finalize(it->st);
    store_pack_free(&it->pack);
    free(it);
}
