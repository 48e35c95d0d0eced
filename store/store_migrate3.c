/* store_migrate3.c — schema 2 -> 3: the clips of each video, one `clip` row each, become
 * that video's clip_pack row (FORMAT.md §1). A video keeps its clip ids when they were
 * first..first+n-1 in index order (what one qn_store_clips_add call wrote); any other video
 * gets new consecutive ids after every existing one, listed in temp.clip_renumber so the
 * migration's SQL can move clip_rows with them. Indexes become positions 0..n-1. */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

typedef struct video_clips {
    qn_store_clip *c;
    int64_t *old_id;
    size_t n, cap;
} video_clips;

static void clear(video_clips *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free((char *)v->c[i].raw);
        free((char *)v->c[i].clean);
        free((char *)v->c[i].filtered);
        free((int32_t *)v->c[i].tokens);
    }
    v->n = 0;
}

static char *dup_text(sqlite3_stmt *st, int col, int *oom)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    char *d = t ? strdup(t) : NULL;
    *oom |= t && !d;
    return d;
}

/* Row: id, video_id, idx, start_s, end_s, raw, clean, filtered, tokens, dup. */
static int add_row(video_clips *v, sqlite3_stmt *st)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 256;
        qn_store_clip *c = realloc(v->c, cap * sizeof *c);
        if (c)
            v->c = c;
        int64_t *o = realloc(v->old_id, cap * sizeof *o);
        if (o)
            v->old_id = o;
        if (!c || !o)
            return -1;
        v->cap = cap;
    }
    qn_store_clip *c = &v->c[v->n];
    memset(c, 0, sizeof *c);
    int oom = 0, dup = sqlite3_column_int(st, 9);
    v->old_id[v->n] = sqlite3_column_int64(st, 0);
    c->index = (int32_t)v->n;
    c->start = sqlite3_column_double(st, 3);
    c->end = sqlite3_column_double(st, 4);
    c->raw = dup_text(st, 5, &oom);
    c->clean = dup & STORE_DUP_CLEAN ? store_strdup(c->raw) : dup_text(st, 6, &oom);
    c->filtered = dup & STORE_DUP_FILTERED ? store_strdup(c->clean) : dup_text(st, 7, &oom);
    oom |= (dup & STORE_DUP_CLEAN && c->raw && !c->clean) ||
           (dup & STORE_DUP_FILTERED && c->clean && !c->filtered);
    if (sqlite3_column_type(st, 8) != SQLITE_NULL) {
        int n = sqlite3_column_bytes(st, 8) / 4; /* a ragged tail (damage) is dropped */
        int32_t *t = malloc((size_t)n * 4 + 4);
        if (t && n)
            memcpy(t, sqlite3_column_blob(st, 8), (size_t)n * 4);
        c->tokens = t;
        c->n_tokens = n;
        oom |= !t;
    }
    v->n++;
    return oom ? -1 : 0;
}

static int flush(qn_store *s, int64_t video_id, video_clips *v, int64_t *next,
                 sqlite3_stmt *renumber, qn_error *err)
{
    int keep = 1;
    for (size_t i = 1; i < v->n && keep; i++)
        keep = v->old_id[i] == v->old_id[0] + (int64_t)i;
    int64_t first = keep ? v->old_id[0] : *next;
    for (size_t i = 0; !keep && i < v->n; i++) {
        sqlite3_bind_int64(renumber, 1, v->old_id[i]);
        sqlite3_bind_int64(renumber, 2, first + (int64_t)i);
        int r = sqlite3_step(renumber);
        sqlite3_reset(renumber);
        if (r != SQLITE_DONE)
            return store_sql_err(s, r, err, "migrating clips to schema 3");
    }
    if (!keep)
        *next += (int64_t)v->n;
    int rc = store_pack_insert(s, video_id, first, v->c, v->n, err);
    clear(v);
    return rc;
}

/* A clip of no video (damage schema 2's verify reports) cannot become a clip_pack row, whose
 * foreign key needs the video: named, so the user can delete it; nothing is dropped here. */
static int orphan_clips(qn_store *s, qn_error *err)
{
    sqlite3_stmt *st;
    int rc = store_prepare(s, "SELECT id, video_id, (SELECT count(*) FROM clip WHERE video_id"
                              " NOT IN (SELECT id FROM video)) FROM clip WHERE video_id NOT IN"
                              " (SELECT id FROM video) LIMIT 1", &st, err);
    if (rc)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        rc = qn_error_set(err, QN_EINPUT, "%s: migrating to schema 3: clip %lld refers to "
                          "missing video %lld (%lld such clips; delete them first: sqlite3 "
                          "meta.db 'DELETE FROM clip WHERE video_id NOT IN (SELECT id FROM "
                          "video)')", s->db_path, (long long)sqlite3_column_int64(st, 0),
                          (long long)sqlite3_column_int64(st, 1),
                          (long long)sqlite3_column_int64(st, 2));
    sqlite3_finalize(st);
    return rc;
}

int store_migrate3_pack(qn_store *s, qn_error *err)
{
    int64_t next = 0;
    int rc = orphan_clips(s, err);
    if (!rc)
        rc = store_exec(s, "CREATE TEMP TABLE clip_renumber(old_id INTEGER PRIMARY KEY,"
                           " new_id INTEGER NOT NULL)", err);
    if (!rc)
        rc = store_query_int(s, "SELECT coalesce(max(id),0)+1 FROM clip", &next, err);
    sqlite3_stmt *rows = NULL, *renumber = NULL;
    if (!rc)
        rc = store_prepare(s, "SELECT id, video_id, idx, start_s, end_s, raw, clean, filtered,"
                              " tokens, dup FROM clip ORDER BY video_id, idx, id", &rows, err);
    if (!rc)
        rc = store_prepare(s, "INSERT INTO temp.clip_renumber VALUES(?1, ?2)", &renumber, err);
    video_clips v = {0};
    int64_t video = 0;
    int r = SQLITE_DONE;
    while (!rc && (r = sqlite3_step(rows)) == SQLITE_ROW) {
        int64_t vid = sqlite3_column_int64(rows, 1);
        if (v.n && vid != video)
            rc = flush(s, video, &v, &next, renumber, err);
        video = vid;
        if (!rc && add_row(&v, rows))
            rc = qn_error_set(err, QN_ENOMEM, "%s: out of memory migrating clips", s->db_path);
    }
    if (!rc && r != SQLITE_DONE)
        rc = store_sql_err(s, r, err, "migrating clips to schema 3");
    if (!rc && v.n)
        rc = flush(s, video, &v, &next, renumber, err);
    clear(&v);
    free(v.c);
    free(v.old_id);
    sqlite3_finalize(rows);
    sqlite3_finalize(renumber);
    return rc;
}
