/* store_video.c — videos: add, update, status, clear, look-ups and iteration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

struct qn_video_iter {
    qn_store *s;
    sqlite3_stmt *st;
};

void qn_store_video_init(qn_store_video *v)
{
    memset(v, 0, sizeof *v);
    v->size = v->mtime_ns = v->views = v->task_id = v->n_words = QN_STORE_UNKNOWN;
    v->duration = v->fps = QN_STORE_UNKNOWN;
    v->width = v->height = v->rank = QN_STORE_UNKNOWN;
    v->status = QN_VIDEO_PENDING;
}

static void bind_video(sqlite3_stmt *st, const qn_store_video *v)
{
    store_bind_text(st, 1, v->ext_id);
    store_bind_text(st, 2, v->path);
    store_bind_int(st, 3, v->size);
    store_bind_int(st, 4, v->mtime_ns);
    store_bind_text(st, 5, v->sha256);
    store_bind_real(st, 6, v->duration);
    store_bind_real(st, 7, v->fps);
    store_bind_int(st, 8, v->width);
    store_bind_int(st, 9, v->height);
    store_bind_text(st, 10, v->codec);
    sqlite3_bind_text(st, 11, store_status_name(v->status), -1, SQLITE_STATIC);
    store_bind_text(st, 12, v->reason);
    store_bind_int(st, 13, v->views);
    store_bind_int(st, 14, v->rank);
    store_bind_int(st, 15, v->task_id);
    store_bind_text(st, 16, v->category1);
    store_bind_text(st, 17, v->category2);
    store_bind_text(st, 18, v->title);
    store_bind_int(st, 19, v->n_words);
    store_bind_text(st, 20, v->meta_json);
}

static int check_video(qn_store *s, const qn_store_video *v, qn_error *err)
{
    if (!v->ext_id || !*v->ext_id)
        return qn_error_set(err, QN_EUSAGE, "%s: a video needs an external id", s->dir);
    if (!store_status_name(v->status))
        return qn_error_set(err, QN_EUSAGE, "%s: video %s: bad status %d", s->dir, v->ext_id,
                            v->status);
    return QN_OK;
}

static int write_video(qn_store *s, enum store_stmt_id which, const qn_store_video *v,
                       qn_error *err)
{
    sqlite3_stmt *st = store_stmt(s, which, err);
    if (!st)
        return QN_EINTERNAL;
    bind_video(st, v);
    if (which == ST_VIDEO_UPDATE)
        sqlite3_bind_int64(st, 21, v->id);
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r == SQLITE_CONSTRAINT_UNIQUE)
        return qn_error_set(err, QN_EINPUT, "%s: video %s already in the store", s->dir,
                            v->ext_id);
    if (r != SQLITE_DONE)
        return store_sql_err(s, r, err, "writing a video");
    if (which == ST_VIDEO_UPDATE && sqlite3_changes(s->db) == 0)
        return qn_error_set(err, QN_EINPUT, "%s: no video with id %lld", s->dir,
                            (long long)v->id);
    return QN_OK;
}

/* Insert or update (stmt), in the caller's batch or a batch of its own. */
static int put_video(qn_store *s, enum store_stmt_id stmt, const qn_store_video *v, int64_t *id_out,
                     qn_error *err)
{
    int implicit;
    int rc = check_video(s, v, err);
    if (!rc)
        rc = store_auto_begin(s, &implicit, err);
    if (rc)
        return rc;
    rc = write_video(s, stmt, v, err);
    if (!rc && id_out)
        *id_out = sqlite3_last_insert_rowid(s->db);
    return store_auto_end(s, implicit, rc, err);
}

int qn_store_video_add(qn_store *s, const qn_store_video *v, int64_t *id_out, qn_error *err)
{
    return put_video(s, ST_VIDEO_INSERT, v, id_out, err);
}

int qn_store_video_update(qn_store *s, const qn_store_video *v, qn_error *err)
{
    return put_video(s, ST_VIDEO_UPDATE, v, NULL, err);
}

int qn_store_video_set_status(qn_store *s, int64_t id, int status, const char *reason,
                              qn_error *err)
{
    if (!store_status_name(status))
        return qn_error_set(err, QN_EUSAGE, "%s: bad status %d", s->dir, status);
    int implicit;
    int rc = store_auto_begin(s, &implicit, err);
    if (rc)
        return rc;
    sqlite3_stmt *st = store_stmt(s, ST_VIDEO_STATUS, err);
    rc = st ? QN_OK : QN_EINTERNAL;
    if (st) {
        sqlite3_bind_text(st, 1, store_status_name(status), -1, SQLITE_STATIC);
        store_bind_text(st, 2, reason);
        sqlite3_bind_int64(st, 3, id);
        int r = sqlite3_step(st);
        sqlite3_reset(st);
        if (r != SQLITE_DONE)
            rc = store_sql_err(s, r, err, "setting a video's status");
        else if (sqlite3_changes(s->db) == 0)
            rc = qn_error_set(err, QN_EINPUT, "%s: no video with id %lld", s->dir,
                              (long long)id);
    }
    return store_auto_end(s, implicit, rc, err);
}

int qn_store_video_clear(qn_store *s, int64_t id, qn_error *err)
{
    int implicit;
    int rc = store_auto_begin(s, &implicit, err);
    if (rc)
        return rc;
    static const char *const sql[] = {
        "DELETE FROM clip_rows WHERE set_id IN (SELECT id FROM feature_set) AND clip_id >="
        " (SELECT first_id FROM clip_pack WHERE video_id=?1) AND clip_id <"
        " (SELECT first_id + n FROM clip_pack WHERE video_id=?1)",
        "DELETE FROM clip_pack WHERE video_id=?1",
        "DELETE FROM video_rows WHERE video_id=?1",
    };
    for (int i = 0; i < 3 && !rc; i++) {
        sqlite3_stmt *st;
        rc = store_prepare(s, sql[i], &st, err);
        if (rc)
            break;
        sqlite3_bind_int64(st, 1, id);
        int r = sqlite3_step(st);
        if (r != SQLITE_DONE)
            rc = store_sql_err(s, r, err, "clearing a video");
        sqlite3_finalize(st);
    }
    return store_auto_end(s, implicit, rc, err);
}

/* ---- reading ---- */

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static int64_t col_int(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? QN_STORE_UNKNOWN
                                                     : sqlite3_column_int64(st, i);
}

static double col_real(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? QN_STORE_UNKNOWN
                                                     : sqlite3_column_double(st, i);
}

/* Row of SELECT * FROM video; strings point into the statement's row. */
static void video_from_row(sqlite3_stmt *st, qn_store_video *v)
{
    v->id = sqlite3_column_int64(st, 0);
    v->ext_id = col_text(st, 1);
    v->path = col_text(st, 2);
    v->size = col_int(st, 3);
    v->mtime_ns = col_int(st, 4);
    v->sha256 = col_text(st, 5);
    v->duration = col_real(st, 6);
    v->fps = col_real(st, 7);
    v->width = (int32_t)col_int(st, 8);
    v->height = (int32_t)col_int(st, 9);
    v->codec = col_text(st, 10);
    v->status = store_status_parse(col_text(st, 11));
    v->reason = col_text(st, 12);
    v->views = col_int(st, 13);
    v->rank = (int32_t)col_int(st, 14);
    v->task_id = col_int(st, 15);
    v->category1 = col_text(st, 16);
    v->category2 = col_text(st, 17);
    v->title = col_text(st, 18);
    v->n_words = col_int(st, 19);
    v->meta_json = col_text(st, 20);
}

/* Copies the strings of *v into one block owned by the handle (scratch slot). */
static int own_strings(qn_store *s, int slot, qn_store_video *v)
{
    const char **f[] = {&v->ext_id, &v->path, &v->sha256, &v->codec, &v->reason,
                        &v->category1, &v->category2, &v->title, &v->meta_json};
    size_t n = 0, k = sizeof f / sizeof f[0];
    for (size_t i = 0; i < k; i++)
        n += *f[i] ? strlen(*f[i]) + 1 : 0;
    char *block = malloc(n + 1), *p = block;
    if (!block)
        return -1;
    for (size_t i = 0; i < k; i++)
        if (*f[i]) {
            size_t l = strlen(*f[i]) + 1;
            memcpy(p, *f[i], l);
            *f[i] = p;
            p += l;
        }
    free(s->scratch[slot]);
    s->scratch[slot] = block;
    return 0;
}

static int lookup(qn_store *s, enum store_stmt_id which, int64_t id, const char *key,
                  qn_store_video *v, int *found, qn_error *err)
{
    *found = 0;
    sqlite3_stmt *st = store_stmt(s, which, err);
    if (!st)
        return QN_EINTERNAL;
    if (key)
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 1, id);
    int rc = QN_OK, r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        video_from_row(st, v);
        if (own_strings(s, 0, v) != 0)
            rc = qn_error_set(err, QN_ENOMEM, "%s: out of memory", s->dir);
        else
            *found = 1;
    } else if (r != SQLITE_DONE) {
        rc = store_sql_err(s, r, err, "looking up a video");
    }
    sqlite3_reset(st);
    return rc;
}

int qn_store_video_get(qn_store *s, int64_t id, qn_store_video *v, int *found, qn_error *err)
{
    return lookup(s, ST_VIDEO_BY_ID, id, NULL, v, found, err);
}

int qn_store_video_find(qn_store *s, const char *ext_id, qn_store_video *v, int *found,
                        qn_error *err)
{
    return lookup(s, ST_VIDEO_BY_EXT, 0, ext_id ? ext_id : "", v, found, err);
}

int qn_store_video_find_path(qn_store *s, const char *path, qn_store_video *v, int *found,
                             qn_error *err)
{
    return lookup(s, ST_VIDEO_BY_PATH, 0, path ? path : "", v, found, err);
}

int qn_store_video_iter(qn_store *s, const qn_video_filter *f, qn_video_iter **out,
                        qn_error *err)
{
    *out = NULL;
    const char *without = "";
    if (f && f->without_rows)
        without = f->without_rows->kind == QN_FSET_PER_CLIP
                      ? " AND NOT EXISTS (SELECT 1 FROM clip_pack p JOIN clip_rows r ON"
                        " r.set_id=?2 AND r.clip_id >= p.first_id AND r.clip_id < p.first_id + p.n"
                        " WHERE p.video_id=video.id)"
                      : " AND NOT EXISTS (SELECT 1 FROM video_rows r WHERE r.set_id=?2"
                        " AND r.video_id=video.id)";
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT * FROM video WHERE (?1 IS NULL OR status=?1)%s ORDER BY id",
             without);
    qn_video_iter *it = calloc(1, sizeof *it);
    if (!it)
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", s->dir);
    it->s = s;
    int rc = store_prepare(s, sql, &it->st, err);
    if (rc) {
        free(it);
        return rc;
    }
    if (f && f->status >= 0)
        sqlite3_bind_text(it->st, 1, store_status_name(f->status), -1, SQLITE_STATIC);
    if (f && f->without_rows)
        sqlite3_bind_int64(it->st, 2, f->without_rows->id);
    *out = it;
    return QN_OK;
}

int qn_store_video_next(qn_video_iter *it, qn_store_video *v, qn_error *err)
{
    int r = sqlite3_step(it->st);
    if (r == SQLITE_ROW) {
        video_from_row(it->st, v);
        return 1;
    }
    if (r == SQLITE_DONE)
        return 0;
    return store_sql_err(it->s, r, err, "iterating videos");
}

void qn_store_video_iter_free(qn_video_iter *it)
{
    if (!it)
        return;
    sqlite3_finalize(it->st);
    free(it);
}
