/* store_merge.c — merging a shard store into this one (ids remapped, rows appended), and
 * vacuum. The shard is opened read-only twice: as a qn_store (which validates its feature
 * headers and gives us its files) and ATTACHed for INSERT … SELECT. Only `main` is written,
 * so WAL's per-database atomicity is enough; the copied rows are fdatasync'd by the commit
 * like any append, and a crash before the commit leaves only a tail the next open cuts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store_internal.h"

static int exec_bind(qn_store *s, const char *sql, int64_t a, int64_t b, int64_t c, int64_t d,
                     int64_t *changes, qn_error *err)
{
    sqlite3_stmt *st;
    int rc = store_prepare(s, sql, &st, err);
    if (rc)
        return rc;
    int np = sqlite3_bind_parameter_count(st);
    int64_t vals[4] = {a, b, c, d};
    for (int i = 0; i < np && i < 4; i++)
        sqlite3_bind_int64(st, i + 1, vals[i]);
    int r = sqlite3_step(st);
    if (r != SQLITE_DONE && r != SQLITE_ROW)
        rc = store_sql_err(s, r, err, "merge");
    else if (changes)
        *changes = sqlite3_changes(s->db);
    sqlite3_finalize(st);
    return rc;
}

/* Copies committed rows [from, from + n) of the shard's file onto the end of ours. */
static int copy_rows(qn_fset *dst, qn_fset *src, int64_t from, int64_t n, qn_error *err)
{
    const int64_t chunk = (int64_t)(8 << 20) / (int64_t)src->row_bytes + 1;
    for (int64_t i = from; i < from + n; i += chunk) {
        int64_t k = from + n - i < chunk ? from + n - i : chunk;
        const void *rows;
        int rc = store_featfile_rows(src, i, k, &rows, err);
        if (!rc)
            rc = store_featfile_append(dst, rows, src->dtype, k, NULL, err);
        if (rc)
            return rc;
    }
    return QN_OK;
}

typedef struct merge_ctx {
    qn_store *s, *in;
    int64_t vo, co;   /* id offsets */
    int skip_dup;
    qn_merge_result *res;
} merge_ctx;

static int merge_vocab(merge_ctx *m, qn_error *err)
{
    int64_t nm = 0, ns = 0, same = 0;
    int rc = store_query_int(m->s, "SELECT count(*) FROM main.vocab", &nm, err);
    if (!rc)
        rc = store_query_int(m->s, "SELECT count(*) FROM src.vocab", &ns, err);
    if (rc || ns == 0)
        return rc;
    if (nm == 0)
        return exec_bind(m->s, "INSERT INTO main.vocab SELECT id, word FROM src.vocab", 0, 0, 0,
                         0, NULL, err);
    rc = store_query_int(m->s, "SELECT count(*) FROM main.vocab m JOIN src.vocab s"
                               " ON s.id = m.id AND s.word = m.word", &same, err);
    if (!rc && (same != nm || same != ns))
        rc = qn_error_set(err, QN_EINPUT, "%s: its vocabulary (%lld words) differs from %s's "
                          "(%lld words): token ids would not agree", m->in->dir, (long long)ns,
                          m->s->dir, (long long)nm);
    return rc;
}

static int merge_videos(merge_ctx *m, qn_error *err)
{
    int rc = store_exec(m->s, "DROP TABLE IF EXISTS temp.merge_skip;"
                              "CREATE TEMP TABLE merge_skip(id INTEGER PRIMARY KEY);"
                              "INSERT INTO merge_skip SELECT s.id FROM src.video s"
                              " JOIN main.video v ON v.ext_id = s.ext_id;", err);
    int64_t dup = 0;
    if (!rc)
        rc = store_query_int(m->s, "SELECT count(*) FROM merge_skip", &dup, err);
    if (rc)
        return rc;
    if (dup && !m->skip_dup) {
        sqlite3_stmt *st;
        const char *ext = "?";
        if (store_prepare(m->s, "SELECT s.ext_id FROM src.video s JOIN merge_skip k"
                                " ON k.id = s.id ORDER BY s.id LIMIT 1", &st, NULL) == QN_OK) {
            if (sqlite3_step(st) == SQLITE_ROW)
                ext = (const char *)sqlite3_column_text(st, 0);
            rc = qn_error_set(err, QN_EINPUT, "%s: video %s is already in %s (%lld duplicates; "
                              "--skip-duplicates skips them)", m->in->dir, ext, m->s->dir,
                              (long long)dup);
            sqlite3_finalize(st);
            return rc;
        }
        return qn_error_set(err, QN_EINPUT, "%s: %lld videos already in %s", m->in->dir,
                            (long long)dup, m->s->dir);
    }
    m->res->skipped_duplicates = dup;
    rc = store_query_int(m->s, "SELECT coalesce(max(id),0) FROM main.video", &m->vo, err);
    if (!rc)
        rc = store_query_int(m->s, "SELECT coalesce(max(first_id + n) - 1, 0) FROM main.clip_pack",
                             &m->co, err);
    if (!rc)
        rc = exec_bind(m->s, "INSERT INTO main.video SELECT id+?1, ext_id, path, size, mtime_ns,"
                             " sha256, duration, fps, width, height, codec, status, reason, views,"
                             " rank, task_id, category1, category2, title, n_words, meta_json"
                             " FROM src.video WHERE id NOT IN merge_skip ORDER BY id",
                       m->vo, 0, 0, 0, &m->res->videos, err);
    if (!rc)
        rc = exec_bind(m->s, "INSERT INTO main.clip_pack SELECT video_id+?2, first_id+?1, n,"
                             " times, texts, tokens FROM src.clip_pack"
                             " WHERE video_id NOT IN merge_skip ORDER BY video_id",
                       m->co, m->vo, 0, 0, NULL, err);
    if (!rc)
        rc = store_query_int(m->s, "SELECT coalesce(sum(n),0) FROM src.clip_pack"
                                   " WHERE video_id NOT IN merge_skip", &m->res->clips, err);
    return rc;
}

static int compare_sets(qn_store *s, qn_fset *b, qn_error *err)
{
    qn_fset_info spec = {0, b->name, b->kind, b->model, b->weights, b->dim, b->dtype, b->rate, 0};
    qn_fset *out;
    return qn_fset_create(s, &spec, &out, err); /* returns the existing one if it agrees */
}

/* With videos skipped as duplicates, only the rows the kept videos map are copied (the
 * others would sit in the output unreferenced): the shard's mappings in row order, each
 * range appended (consecutive ones in one copy) and mapped at its new place. */
static int copy_kept_rows(merge_ctx *m, qn_fset *dst, qn_fset *src, qn_error *err)
{
    int per_step = src->kind == QN_FSET_PER_STEP;
    sqlite3_stmt *sel, *ins;
    int rc = store_prepare(m->s, per_step
        ? "SELECT video_id, first_row, n_rows FROM src.video_rows WHERE set_id=?1"
          " AND video_id NOT IN merge_skip ORDER BY first_row"
        : "SELECT r.clip_id, r.row, 1 FROM src.clip_rows r JOIN src.clip_pack p ON p.first_id = "
          STORE_PACK_FIRST_OF("src.", "r.clip_id")
          " WHERE r.set_id=?1 AND p.video_id NOT IN merge_skip ORDER BY r.row", &sel, err);
    if (rc)
        return rc;
    if ((rc = store_prepare(m->s, per_step ? "INSERT INTO main.video_rows VALUES(?1, ?2, ?3, ?4)"
                                           : "INSERT INTO main.clip_rows VALUES(?1, ?2, ?3)",
                            &ins, err))) {
        sqlite3_finalize(sel);
        return rc;
    }
    sqlite3_bind_int64(sel, 1, src->id);
    int64_t next = dst->committed + dst->pending, run_from = 0, run_n = 0;
    int r;
    while (!rc && (r = sqlite3_step(sel)) == SQLITE_ROW) {
        int64_t key = sqlite3_column_int64(sel, 0), from = sqlite3_column_int64(sel, 1);
        int64_t n = sqlite3_column_int64(sel, 2);
        if (run_n && from != run_from + run_n) { /* not contiguous: copy the run so far */
            rc = copy_rows(dst, src, run_from, run_n, err);
            run_n = 0;
        }
        if (!run_n)
            run_from = from;
        run_n += n;
        sqlite3_bind_int64(ins, 1, dst->id);
        sqlite3_bind_int64(ins, 2, key + (per_step ? m->vo : m->co));
        sqlite3_bind_int64(ins, 3, next);
        if (per_step)
            sqlite3_bind_int64(ins, 4, n);
        int w = rc ? SQLITE_DONE : sqlite3_step(ins);
        sqlite3_reset(ins);
        if (w != SQLITE_DONE)
            rc = store_sql_err(m->s, w, err, "merge");
        next += n;
        m->res->rows += n;
    }
    if (!rc && r != SQLITE_DONE)
        rc = store_sql_err(m->s, r, err, "merge");
    if (!rc && run_n)
        rc = copy_rows(dst, src, run_from, run_n, err);
    sqlite3_finalize(sel);
    sqlite3_finalize(ins);
    return rc;
}

static int merge_set(merge_ctx *m, qn_fset *src, qn_error *err)
{
    qn_fset *dst;
    int rc = compare_sets(m->s, src, err);
    if (!rc)
        rc = qn_fset_find(m->s, src->name, &dst, err);
    if (rc)
        return rc;
    int64_t n = 0, first = 0;
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT committed_rows FROM src.feature_set WHERE id=%lld",
             (long long)src->id);
    rc = store_query_int(m->s, sql, &n, err);
    if (rc || n == 0)
        return rc;
    if (src->kind == QN_FSET_PER_ITEM) {
        int64_t have = dst->committed + dst->pending;
        if (have == n)
            return QN_OK; /* the same vocabulary vectors (vocabularies were compared) */
        if (have != 0)
            return qn_error_set(err, QN_EINPUT, "%s: per-item set '%s' has %lld rows here and "
                                "%lld there: cannot merge", m->in->dir, src->name,
                                (long long)have, (long long)n);
    }
    if (src->kind != QN_FSET_PER_ITEM && m->res->skipped_duplicates)
        return copy_kept_rows(m, dst, src, err);
    first = dst->committed + dst->pending;
    rc = copy_rows(dst, src, 0, n, err);
    if (!rc)
        m->res->rows += n;
    if (!rc && src->kind == QN_FSET_PER_STEP)
        rc = exec_bind(m->s, "INSERT INTO main.video_rows SELECT ?1, video_id+?2, first_row+?3,"
                             " n_rows FROM src.video_rows WHERE set_id=?4"
                             " AND video_id NOT IN merge_skip",
                       dst->id, m->vo, first, src->id, NULL, err);
    if (!rc && src->kind == QN_FSET_PER_CLIP)
        rc = exec_bind(m->s, "INSERT INTO main.clip_rows SELECT ?1, r.clip_id+?2, r.row+?3"
                             " FROM src.clip_rows r JOIN src.clip_pack p ON p.first_id = "
                             STORE_PACK_FIRST_OF("src.", "r.clip_id")
                             " WHERE r.set_id=?4 AND p.video_id NOT IN merge_skip",
                       dst->id, m->co, first, src->id, NULL, err);
    return rc;
}

static int merge_body(merge_ctx *m, const char *in_uuid, qn_error *err)
{
    int rc = merge_vocab(m, err);
    if (!rc)
        rc = merge_videos(m, err);
    for (int i = 0; !rc && i < m->in->n_fsets; i++)
        rc = merge_set(m, m->in->fsets[i], err);
    if (!rc) {
        sqlite3_stmt *st;
        rc = store_prepare(m->s, "INSERT INTO merged_store VALUES(?1, ?2, ?3)", &st, err);
        if (!rc) {
            sqlite3_bind_text(st, 1, in_uuid, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, m->in->dir, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
            int r = sqlite3_step(st);
            if (r != SQLITE_DONE)
                rc = store_sql_err(m->s, r, err, "merge");
            sqlite3_finalize(st);
        }
    }
    return rc;
}

static int attach(qn_store *s, const char *in_dir, qn_error *err)
{
    size_t n = strlen(in_dir) * 3 + 64;
    char *uri = malloc(n), *p = uri;
    if (!uri)
        return qn_error_set(err, QN_ENOMEM, "out of memory");
    p += sprintf(p, "file:");
    for (const char *c = in_dir; *c; c++) /* URI-escape what the URI syntax reserves */
        p += (*c == '%' || *c == '?' || *c == '#') ? sprintf(p, "%%%02X", (unsigned char)*c)
                                                    : sprintf(p, "%c", *c);
    sprintf(p, "/meta.db?mode=ro");
    sqlite3_stmt *st;
    int rc = store_prepare(s, "ATTACH ?1 AS src", &st, err);
    if (!rc) {
        sqlite3_bind_text(st, 1, uri, -1, SQLITE_STATIC);
        int r = sqlite3_step(st);
        if (r != SQLITE_DONE)
            rc = store_sql_err(s, r, err, "attaching the store to merge");
        sqlite3_finalize(st);
    }
    free(uri);
    return rc;
}

/* Whether a store of this uuid was merged before (bound, not spliced into the SQL:
 * open checks the uuid's form today, this does not depend on it). */
static int already_merged(qn_store *s, const char *uuid, int64_t *seen, qn_error *err)
{
    sqlite3_stmt *st;
    int rc = store_prepare(s, "SELECT count(*) FROM merged_store WHERE uuid=?1", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *seen = sqlite3_column_int64(st, 0);
    else
        rc = store_sql_err(s, r, err, "merge");
    sqlite3_finalize(st);
    return rc;
}

/* Merge copies rows and mappings as they are, so a damaged input (rows shared or past
 * the end, bad token ids, an infinite clip end) would damage the output: verify it
 * first and refuse it, naming the first problem. */
static int sound_input(qn_store *in, const char *in_dir, qn_error *err)
{
    qn_error ve;
    qn_error_clear(&ve);
    int64_t n = 0;
    int rc = qn_store_verify(in, NULL, NULL, &n, &ve);
    if (n)
        return qn_error_set(err, QN_EINPUT, "%s: not merged: verify finds %lld problem%s "
                            "(first: %s)", in_dir, (long long)n, n == 1 ? "" : "s", ve.msg);
    return rc ? qn_error_set(err, rc, "%s", ve.msg) : QN_OK;
}

int qn_store_merge(qn_store *s, const char *in_dir, int skip_duplicates, qn_merge_result *res,
                   qn_error *err)
{
    memset(res, 0, sizeof *res);
    int rc = store_need_writer(s, err);
    if (rc)
        return rc;
    if (s->in_batch)
        return qn_error_set(err, QN_EUSAGE, "%s: merge runs in its own batch", s->dir);
    qn_store *in;
    rc = qn_store_open(in_dir, QN_STORE_READ, &in, err);
    if (rc)
        return rc;
    if (!strcmp(in->uuid, s->uuid)) {
        qn_store_close(in);
        return qn_error_set(err, QN_EUSAGE, "%s: cannot merge a store into itself", in_dir);
    }
    int64_t seen = 0;
    rc = already_merged(s, in->uuid, &seen, err);
    if (!rc && seen) {
        res->already_merged = 1;
        qn_store_close(in);
        return QN_OK;
    }
    if (!rc)
        rc = sound_input(in, in_dir, err);
    if (!rc)
        rc = attach(s, in_dir, err);
    if (rc) {
        qn_store_close(in);
        return rc;
    }
    merge_ctx m = {s, in, 0, 0, skip_duplicates, res};
    rc = qn_store_begin(s, err);
    if (!rc) {
        rc = merge_body(&m, in->uuid, err);
        if (rc)
            qn_store_rollback(s, NULL);
        else
            rc = qn_store_commit(s, err);
    }
    sqlite3_exec(s->db, "DROP TABLE IF EXISTS temp.merge_skip; DETACH src", NULL, NULL, NULL);
    qn_store_close(in);
    if (rc) {
        int64_t dup = res->skipped_duplicates;
        memset(res, 0, sizeof *res);
        res->skipped_duplicates = dup;
    }
    return rc;
}

int qn_store_vacuum(qn_store *s, qn_error *err)
{
    int rc = store_need_writer(s, err);
    if (rc)
        return rc;
    if (s->in_batch)
        return qn_error_set(err, QN_EUSAGE, "%s: vacuum cannot run inside a batch", s->dir);
    for (int i = 0; !rc && i < s->n_fsets; i++)
        rc = store_featfile_truncate(s->fsets[i], err);
    if (!rc)
        rc = store_exec(s, "VACUUM", err);
    if (!rc)
        rc = store_exec(s, "PRAGMA wal_checkpoint(TRUNCATE)", err);
    return rc;
}
