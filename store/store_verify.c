/* store_verify.c — statistics, rejection reasons, and the full consistency check. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store_internal.h"

static int64_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

int qn_store_stats_get(qn_store *s, qn_store_stats *st, qn_error *err)
{
    memset(st, 0, sizeof *st);
    int rc = store_query_int(s, "SELECT count(*) FROM video", &st->n_videos, err);
    for (int i = 0; !rc && i < 4; i++) {
        char sql[96];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM video WHERE status='%s'",
                 store_status_name(i));
        rc = store_query_int(s, sql, &st->n_by_status[i], err);
    }
    if (!rc)
        rc = store_query_int(s, "SELECT coalesce(sum(n),0) FROM clip_pack", &st->n_clips, err);
    if (!rc) /* a tokens BLOB holds n + 1 offsets, then the ids */
        rc = store_query_int(s, "SELECT coalesce(sum(length(tokens) / 4 - n - 1),0)"
                                " FROM clip_pack WHERE tokens IS NOT NULL", &st->n_tokens, err);
    if (!rc)
        rc = store_query_int(s, "SELECT count(*) FROM vocab", &st->n_vocab, err);
    if (rc)
        return rc;
    char path[4200];
    snprintf(path, sizeof path, "%s-wal", s->db_path);
    st->db_bytes = file_size(s->db_path) + file_size(path);
    st->n_fsets = s->n_fsets;
    for (int i = 0; i < s->n_fsets; i++)
        st->feature_bytes += file_size(s->fsets[i]->path);
    st->schema_version = s->schema_version;
    memcpy(st->uuid, s->uuid, sizeof st->uuid);
    return QN_OK;
}

int qn_store_reasons(qn_store *s, void (*cb)(void *, int, const char *, int64_t), void *ctx,
                     qn_error *err)
{
    sqlite3_stmt *st;
    int rc = store_prepare(s, "SELECT status, coalesce(reason,''), count(*) FROM video WHERE"
                              " status IN ('rejected','failed') GROUP BY 1,2"
                              " ORDER BY 3 DESC, 1, 2", &st, err);
    if (rc)
        return rc;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        cb(ctx, store_status_parse((const char *)sqlite3_column_text(st, 0)),
           (const char *)sqlite3_column_text(st, 1), sqlite3_column_int64(st, 2));
    if (r != SQLITE_DONE)
        rc = store_sql_err(s, r, err, "counting reasons");
    sqlite3_finalize(st);
    return rc;
}

/* ---- verify ---- */

typedef struct vctx {
    qn_store *s;
    void (*cb)(void *, const char *);
    void *ctx;
    int64_t n;
    qn_error *err;
} vctx;

static void problem(vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(vctx *v, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    v->n++;
    qn_error_set(v->err, QN_EINPUT, "%s", msg);
    if (v->cb)
        v->cb(v->ctx, msg);
}

/* Runs a query whose rows are problems: each row's first column (text) is reported. */
static int rows_are_problems(vctx *v, const char *sql, const char *prefix)
{
    sqlite3_stmt *st;
    int rc = store_prepare(v->s, sql, &st, v->err);
    if (rc)
        return rc;
    int r, k = 0;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (++k <= 20)
            problem(v, "%s: %s%s", v->s->db_path, prefix, t ? t : "?");
        else
            v->n++;
    }
    if (r != SQLITE_DONE)
        rc = store_sql_err(v->s, r, v->err, "verify");
    sqlite3_finalize(st);
    return rc;
}

static int check_sqlite(vctx *v)
{
    sqlite3_stmt *st;
    int rc = store_prepare(v->s, "PRAGMA integrity_check", &st, v->err);
    if (rc)
        return rc;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (t && strcmp(t, "ok") != 0)
            problem(v, "%s: integrity_check: %s", v->s->db_path, t);
    }
    sqlite3_finalize(st);
    if (r != SQLITE_DONE)
        problem(v, "%s: integrity_check failed: %s", v->s->db_path, sqlite3_errmsg(v->s->db));
    /* video_rows and clip_rows are WITHOUT ROWID tables: their rowid is NULL */
    return rows_are_problems(v, "SELECT \"table\" || coalesce(' row ' || rowid, '') ||"
                                " ' refers to a missing ' || parent FROM pragma_foreign_key_check",
                             "foreign key: ");
}

static void check_files(vctx *v)
{
    for (int i = 0; i < v->s->n_fsets; i++) {
        qn_fset *fs = v->s->fsets[i];
        char why[160];
        if (store_fset_refresh(v->s, fs, NULL) != QN_OK)
            continue;
        if (store_featfile_check_header(v->s, fs, why, sizeof why) != 0) {
            problem(v, "%s: %s", fs->path, why);
            continue;
        }
        struct stat sb;
        int64_t want = STORE_HEADER_SIZE + (int64_t)fs->committed * (int64_t)fs->row_bytes;
        if (fstat(fs->fd, &sb) != 0 || sb.st_size < want)
            problem(v, "%s: truncated feature file: %lld bytes, %lld committed rows need %lld",
                    fs->path, (long long)sb.st_size, (long long)fs->committed, (long long)want);
    }
}

static const char *const mapping_checks[][2] = {
    {"SELECT 'set ' || f.name || ' video ' || r.video_id || ' rows [' || r.first_row || ', ' ||"
     " (r.first_row + r.n_rows) || ') past its ' || f.committed_rows || ' committed rows'"
     " FROM video_rows r JOIN feature_set f ON f.id = r.set_id"
     " WHERE r.first_row < 0 OR r.n_rows < 0 OR r.first_row + r.n_rows > f.committed_rows",
     "mapping: "},
    {"SELECT 'set ' || f.name || ' clip ' || r.clip_id || ' row ' || r.row || ' past its ' ||"
     " f.committed_rows || ' committed rows' FROM clip_rows r JOIN feature_set f"
     " ON f.id = r.set_id WHERE r.row < 0 OR r.row >= f.committed_rows", "mapping: "},
    /* rows are appended per video and per clip (merge keeps them apart): a row that
     * two videos or two clips share is damage, even when every range is in bounds */
    {"SELECT 'set ' || f.name || ' video ' || r.video_id || ' rows [' || r.first_row || ', ' ||"
     " (r.first_row + r.n_rows) || ') overlap rows of another video' FROM (SELECT set_id,"
     " video_id, first_row, n_rows, max(first_row + n_rows) OVER (PARTITION BY set_id ORDER BY"
     " first_row, video_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end FROM"
     " video_rows WHERE n_rows > 0) r JOIN feature_set f ON f.id = r.set_id"
     " WHERE r.prev_end > r.first_row", "mapping: "},
    {"SELECT 'set ' || f.name || ' row ' || r.row || ' is mapped to ' || count(*) || ' clips'"
     " FROM clip_rows r JOIN feature_set f ON f.id = r.set_id GROUP BY r.set_id, r.row"
     " HAVING count(*) > 1", "mapping: "},
    /* the C library opens features/NAME.qnf; a reader that follows `file` must agree */
    {"SELECT 'set ' || name || ': file ''' || file || ''' is not features/' || name || '.qnf'"
     " FROM feature_set WHERE file IS NOT 'features/' || name || '.qnf'", "feature set: "},
    {"SELECT 'set ' || f.name || ' (' || f.kind || ') has video rows' FROM feature_set f"
     " WHERE f.kind <> 'per_step' AND EXISTS (SELECT 1 FROM video_rows r WHERE r.set_id = f.id)",
     "mapping: "},
    {"SELECT 'set ' || f.name || ' (' || f.kind || ') has clip rows' FROM feature_set f"
     " WHERE f.kind <> 'per_clip' AND EXISTS (SELECT 1 FROM clip_rows r WHERE r.set_id = f.id)",
     "mapping: "},
    {"SELECT 'set ' || f.name || ' row ' || r.row || ' is mapped to clip ' || r.clip_id ||"
     " ', which is not in the store' FROM clip_rows r JOIN feature_set f ON f.id = r.set_id"
     " WHERE NOT EXISTS (SELECT 1 FROM clip_pack p WHERE p.first_id = "
     STORE_PACK_FIRST_OF("", "r.clip_id") " AND r.clip_id < p.first_id + p.n)", "mapping: "},
    {"SELECT 'video ' || video_id || ' has first clip id ' || first_id FROM clip_pack"
     " WHERE first_id < 1 OR n < 1 OR first_id > 9223372036854775807 - n", "clip: "},
    {"SELECT 'video ' || video_id || ' clip ids [' || first_id || ', ' || (first_id + n) ||"
     " ') overlap those of another video' FROM (SELECT video_id, first_id, n, max(first_id + n)"
     " OVER (ORDER BY first_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end"
     " FROM clip_pack WHERE first_id >= 1 AND n >= 1 AND first_id <= 9223372036854775807 - n)"
     " WHERE prev_end > first_id", "clip: "},
    {"SELECT 'ids are not 0..' || (count(*) - 1) || ' (min ' || min(id) || ', max ' || max(id)"
     " || ')' FROM vocab HAVING count(*) > 0 AND (min(id) <> 0 OR max(id) <> count(*) - 1)",
     "vocabulary: "},
};

/* What is wrong with a loaded pack's times or token ids (nv: vocabulary size, 0 = none), or
 * NULL. */
static const char *pack_problem(const store_pack *p, int64_t nv, char *why, size_t len)
{
    for (size_t i = 0; i < p->n; i++) {
        double a = p->start[i], b = p->end[i];
        if (!(a >= 0 && b >= a && b <= 1e308)) {
            snprintf(why, len, "clip %lld spans [%g, %g]", (long long)p->first_id + (long long)i,
                     a, b);
            return why;
        }
    }
    if (!p->tok_off || nv == 0)
        return NULL;
    for (uint32_t k = 0; k < p->tok_off[p->n]; k++)
        if (p->tok[k] < 0 || p->tok[k] >= nv) {
            size_t i = 0;
            while (p->tok_off[i + 1] <= k)
                i++;
            snprintf(why, len, "clip %lld: token id %d outside the vocabulary of %lld words",
                     (long long)p->first_id + (long long)i, p->tok[k], (long long)nv);
            return why;
        }
    return NULL;
}

/* Every clip_pack row: BLOBs well formed, spans ordered, token ids < the vocabulary size when
 * there is a vocabulary. */
static int check_packs(vctx *v)
{
    int64_t nv = 0;
    int rc = store_query_int(v->s, "SELECT count(*) FROM vocab", &nv, v->err);
    if (rc)
        return rc;
    sqlite3_stmt *st;
    rc = store_prepare(v->s, "SELECT video_id,first_id,n,times,texts,tokens FROM clip_pack"
                             " ORDER BY video_id", &st, v->err);
    if (rc)
        return rc;
    store_pack p = {0};
    int r, k = 0;
    while ((r = sqlite3_step(st)) == SQLITE_ROW && k < 20) {
        qn_error e = {0};
        char why[200];
        const char *bad;
        if (store_pack_load(&p, st, 0, &e, v->s->db_path) != QN_OK) {
            k++;
            problem(v, "%s", e.msg); /* names meta.db and the video */
        } else if ((bad = pack_problem(&p, nv, why, sizeof why)) != NULL) {
            k++;
            problem(v, "%s: clip_pack of video %lld: %s", v->s->db_path,
                    (long long)p.video_id, bad);
        }
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = store_sql_err(v->s, r, v->err, "verify clips");
    store_pack_free(&p);
    sqlite3_finalize(st);
    return rc;
}

int qn_store_verify(qn_store *s, void (*cb)(void *ctx, const char *problem), void *ctx,
                    int64_t *n_problems, qn_error *err)
{
    vctx v = {s, cb, ctx, 0, err};
    int rc = s->writable ? QN_OK : store_exec(s, "BEGIN", err); /* one snapshot */
    if (!rc)
        rc = check_sqlite(&v);
    if (!rc)
        check_files(&v);
    for (size_t i = 0; !rc && i < sizeof mapping_checks / sizeof mapping_checks[0]; i++)
        rc = rows_are_problems(&v, mapping_checks[i][0], mapping_checks[i][1]);
    if (!rc)
        rc = check_packs(&v);
    if (!s->writable)
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (n_problems)
        *n_problems = v.n;
    if (rc)
        return rc;
    return v.n ? QN_EINPUT : QN_OK;
}
