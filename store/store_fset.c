/* store_fset.c — feature sets: the table row, the file, appends and zero-copy reads. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_internal.h"

static const char *const kind_names[] = {NULL, "per_step", "per_clip", "per_item"};
static const char *const dtype_names[] = {NULL, "f16", "f32"};

const char *store_kind_name(int kind)
{
    return kind >= 1 && kind <= 3 ? kind_names[kind] : NULL;
}

const char *store_dtype_name(int dtype)
{
    return dtype >= 1 && dtype <= 2 ? dtype_names[dtype] : NULL;
}

static int parse_name(const char *const *names, int n, const char *v)
{
    for (int i = 1; v && i < n; i++)
        if (!strcmp(v, names[i]))
            return i;
    return 0;
}

static void fset_free(qn_fset *fs)
{
    if (!fs)
        return;
    store_featfile_close(fs);
    pthread_mutex_destroy(&fs->mu);
    free(fs->model);
    free(fs->weights);
    free(fs->path);
    for (int i = 0; i < fs->n_retired; i++)
        free(fs->retired[i]);
    free(fs->retired);
    free(fs);
}

static qn_fset *fset_new(qn_store *s)
{
    qn_fset *fs = calloc(1, sizeof *fs);
    if (!fs)
        return NULL;
    fs->s = s;
    fs->fd = -1;
    pthread_mutex_init(&fs->mu, NULL);
    return fs;
}

static int set_path(qn_store *s, qn_fset *fs)
{
    size_t n = strlen(s->dir) + strlen(fs->name) + 32;
    fs->path = malloc(n);
    if (!fs->path)
        return -1;
    snprintf(fs->path, n, "%s/features/%s.qnf", s->dir, fs->name);
    return 0;
}

static int push(qn_fset ***arr, int *n, int *cap, qn_fset *fs)
{
    if (*n == *cap) {
        int c = *cap ? *cap * 2 : 8;
        qn_fset **a = realloc(*arr, (size_t)c * sizeof *a);
        if (!a)
            return -1;
        *arr = a;
        *cap = c;
    }
    (*arr)[(*n)++] = fs;
    return 0;
}

/* One feature_set row (SELECT id,name,kind,model,weights_sha256,dim,dtype,rate,committed_rows). */
static int fset_from_row(qn_store *s, sqlite3_stmt *st, qn_fset **out, qn_error *err)
{
    qn_fset *fs = fset_new(s);
    if (!fs)
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", s->dir);
    fs->id = sqlite3_column_int64(st, 0);
    snprintf(fs->name, sizeof fs->name, "%s", (const char *)sqlite3_column_text(st, 1));
    fs->kind = parse_name(kind_names, 4, (const char *)sqlite3_column_text(st, 2));
    fs->model = store_strdup((const char *)sqlite3_column_text(st, 3));
    fs->weights = store_strdup((const char *)sqlite3_column_text(st, 4));
    int64_t dim = sqlite3_column_int64(st, 5);
    fs->dtype = parse_name(dtype_names, 3, (const char *)sqlite3_column_text(st, 6));
    fs->rate = sqlite3_column_double(st, 7);
    fs->committed = sqlite3_column_int64(st, 8);
    if (!fs->kind || !fs->dtype || dim <= 0 || dim > (1 << 20) || fs->committed < 0) {
        fset_free(fs);
        return qn_error_set(err, QN_EINPUT, "%s: feature set %lld has a bad kind, dtype, dim "
                            "or row count", s->db_path, (long long)sqlite3_column_int64(st, 0));
    }
    fs->dim = (int32_t)dim;
    fs->row_bytes = (size_t)fs->dim * qn_dtype_size(fs->dtype);
    if (set_path(s, fs) != 0) {
        fset_free(fs);
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", s->dir);
    }
    *out = fs;
    return QN_OK;
}

#define FSET_COLS "id,name,kind,model,weights_sha256,dim,dtype,rate,committed_rows"

static int load_where(qn_store *s, const char *where, const char *name, qn_error *err)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT " FSET_COLS " FROM feature_set %s ORDER BY id", where);
    sqlite3_stmt *st;
    int rc = store_prepare(s, sql, &st, err);
    if (rc)
        return rc;
    if (name)
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int r = SQLITE_DONE;
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
        qn_fset *fs = NULL;
        rc = fset_from_row(s, st, &fs, err);
        if (rc)
            break;
        if (push(&s->fsets, &s->n_fsets, &s->cap_fsets, fs) != 0) {
            fset_free(fs);
            rc = qn_error_set(err, QN_ENOMEM, "%s: out of memory", s->dir);
            break;
        }
        rc = store_featfile_open(s, fs, err);
    }
    if (!rc && r != SQLITE_DONE)
        rc = store_sql_err(s, r, err, "reading feature sets");
    sqlite3_finalize(st);
    return rc;
}

int store_fsets_load(qn_store *s, qn_error *err)
{
    return load_where(s, "", NULL, err);
}

void store_fsets_free(qn_store *s)
{
    for (int i = 0; i < s->n_fsets; i++)
        fset_free(s->fsets[i]);
    for (int i = 0; i < s->n_grave; i++)
        fset_free(s->graveyard[i]);
    free(s->fsets);
    free(s->graveyard);
}

/* Takes `old` out of fs->retired, `now` in its place (each string is held once: as the
 * set's, or retired till close); returns old. */
static char *unretire(qn_fset *fs, char *old, char *now)
{
    for (int i = 0; i < fs->n_retired; i++)
        if (fs->retired[i] == old) {
            fs->retired[i] = now;
            return old;
        }
    return now; /* not retired (cannot happen): keep the current one */
}

void store_fsets_after_commit(qn_store *s)
{
    for (int i = 0; i < s->n_fsets; i++) {
        qn_fset *fs = s->fsets[i];
        fs->committed += fs->pending;
        fs->pending = 0;
        fs->dirty = 0;
        fs->created_in_batch = 0;
        fs->repinned = 0;
    }
}

/* Appended rows are cut off; sets created in the batch leave the list (their memory is
 * kept until close, since the caller may still hold the pointer). */
void store_fsets_after_rollback(qn_store *s)
{
    int k = 0;
    for (int i = 0; i < s->n_fsets; i++) {
        qn_fset *fs = s->fsets[i];
        /* always: a failed append (disk full) may have written part of a row */
        if (fs->fd >= 0 && !fs->created_in_batch)
            store_featfile_truncate(fs, NULL);
        fs->pending = 0;
        fs->dirty = 0;
        if (fs->repinned) { /* the row went back: so do the strings */
            fs->model = unretire(fs, fs->undo_model, fs->model);
            fs->weights = unretire(fs, fs->undo_weights, fs->weights);
            fs->repinned = 0;
        }
        if (fs->created_in_batch) {
            fs->dead = 1;
            unlink(fs->path); /* its row is gone; a kill here leaves an orphan, replaced later */
            /* under OOM the push fails and one small struct leaks; never freed twice */
            push(&s->graveyard, &s->n_grave, &s->cap_grave, fs);
            continue;
        }
        s->fsets[k++] = fs;
    }
    s->n_fsets = k;
}

int store_fset_spec_check(const qn_fset_info *spec, qn_error *err, const char *dir)
{
    const char *n = spec->name;
    size_t len = n ? strlen(n) : 0;
    if (len == 0 || len > STORE_NAME_MAX || n[0] == '.')
        return qn_error_set(err, QN_EUSAGE, "%s: feature set name '%s' must be 1..%d "
                            "characters of [A-Za-z0-9._-], not starting with '.'", dir,
                            n ? n : "", STORE_NAME_MAX);
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)n[i]) && n[i] != '.' && n[i] != '_' && n[i] != '-')
            return qn_error_set(err, QN_EUSAGE, "%s: feature set name '%s': character '%c' "
                                "not allowed", dir, n, n[i]);
    if (!store_kind_name(spec->kind))
        return qn_error_set(err, QN_EUSAGE, "%s: feature set '%s': bad kind %d", dir, n,
                            spec->kind);
    if (!store_dtype_name(spec->dtype))
        return qn_error_set(err, QN_EUSAGE, "%s: feature set '%s': bad dtype %d", dir, n,
                            spec->dtype);
    if (spec->dim <= 0 || spec->dim > (1 << 20))
        return qn_error_set(err, QN_EUSAGE, "%s: feature set '%s': bad dim %d", dir, n,
                            spec->dim);
    if (spec->kind == QN_FSET_PER_STEP ? !(spec->rate > 0) : spec->rate != 0)
        return qn_error_set(err, QN_EUSAGE, "%s: feature set '%s': rate must be > 0 for "
                            "per-step sets and 0 otherwise", dir, n);
    if (!spec->model || !*spec->model)
        return qn_error_set(err, QN_EUSAGE, "%s: feature set '%s': no model named", dir, n);
    return QN_OK;
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The first field in which an existing set differs from spec, or NULL. */
static const char *differing_field(const qn_fset *fs, const qn_fset_info *spec)
{
    if (fs->kind != spec->kind)
        return "kind";
    if (fs->dim != spec->dim)
        return "dim";
    if (fs->dtype != spec->dtype)
        return "dtype";
    if (fs->rate != spec->rate)
        return "rate";
    if (!same_str(fs->model, spec->model))
        return "model";
    if (!same_str(fs->weights, spec->weights_sha256))
        return "weights sha256";
    return NULL;
}

/* A set that holds no rows yet is not bound to the model and weights it was created with
 * (a first run stopped before its first commit, or refused its weights after creating
 * the set): records spec's instead. Its layout (kind, dim, dtype, rate) stays. */
static int repin(qn_store *s, qn_fset *fs, const qn_fset_info *spec, qn_error *err)
{
    char *model = strndup(spec->model, 127);
    char *weights = spec->weights_sha256 ? strndup(spec->weights_sha256, 71) : NULL;
    char **ret = realloc(fs->retired, (size_t)(fs->n_retired + 2) * sizeof *ret);
    if (ret)
        fs->retired = ret;
    if (!model || (spec->weights_sha256 && !weights) || !ret) {
        free(model);
        free(weights);
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", s->dir);
    }
    sqlite3_stmt *st;
    int implicit, rc = store_auto_begin(s, &implicit, err);
    if (!rc) {
        rc = store_prepare(s, "UPDATE feature_set SET model=?1, weights_sha256=?2 WHERE id=?3",
                           &st, err);
        if (!rc) {
            sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
            store_bind_text(st, 2, weights);
            sqlite3_bind_int64(st, 3, fs->id);
            int r = sqlite3_step(st);
            if (r != SQLITE_DONE)
                rc = store_sql_err(s, r, err, "recording a feature set's weights");
            sqlite3_finalize(st);
        }
        rc = store_auto_end(s, implicit, rc, err);
    }
    if (rc) {
        free(model);
        free(weights);
        return rc;
    }
    if (s->in_batch && !fs->repinned) { /* the first re-pin of a batch: what a rollback restores */
        fs->repinned = 1;
        fs->undo_model = fs->model;
        fs->undo_weights = fs->weights;
    }
    fs->retired[fs->n_retired++] = fs->model;
    fs->retired[fs->n_retired++] = fs->weights;
    fs->model = model;
    fs->weights = weights;
    return QN_OK;
}

static int compare_spec(qn_store *s, qn_fset *fs, const qn_fset_info *spec, qn_error *err)
{
    const char *field = differing_field(fs, spec);
    if (!field)
        return QN_OK;
    if (fs->committed == 0 && fs->pending == 0 &&
        (!strcmp(field, "model") || !strcmp(field, "weights sha256")))
        return repin(s, fs, spec, err);
    return qn_error_set(err, QN_EINPUT, "%s: feature set '%s' exists with another %s", s->dir,
                        fs->name, field);
}

static int insert_set(qn_store *s, qn_fset *fs, qn_error *err)
{
    sqlite3_stmt *st;
    int rc = store_prepare(s, "INSERT INTO feature_set(name,kind,model,weights_sha256,dim,"
                              "dtype,rate,file,committed_rows) VALUES(?,?,?,?,?,?,?,?,0)",
                           &st, err);
    if (rc)
        return rc;
    char file[96];
    snprintf(file, sizeof file, "features/%s.qnf", fs->name);
    sqlite3_bind_text(st, 1, fs->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, store_kind_name(fs->kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, fs->model, -1, SQLITE_STATIC);
    store_bind_text(st, 4, fs->weights);
    sqlite3_bind_int(st, 5, fs->dim);
    sqlite3_bind_text(st, 6, store_dtype_name(fs->dtype), -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 7, fs->rate);
    sqlite3_bind_text(st, 8, file, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r != SQLITE_DONE)
        rc = store_sql_err(s, r, err, "creating a feature set");
    else
        fs->id = sqlite3_last_insert_rowid(s->db);
    sqlite3_finalize(st);
    return rc;
}

static int create_new(qn_store *s, const qn_fset_info *spec, qn_fset **out, qn_error *err)
{
    qn_fset *fs = fset_new(s);
    if (!fs)
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", s->dir);
    snprintf(fs->name, sizeof fs->name, "%s", spec->name);
    fs->kind = spec->kind;
    fs->dtype = spec->dtype;
    fs->dim = spec->dim;
    fs->rate = spec->rate;
    fs->row_bytes = (size_t)fs->dim * qn_dtype_size(fs->dtype);
    fs->model = strndup(spec->model, 127);
    fs->weights = spec->weights_sha256 ? strndup(spec->weights_sha256, 71) : NULL;
    fs->created_in_batch = 1;
    int rc = QN_OK;
    if (!fs->model || set_path(s, fs) != 0)
        rc = qn_error_set(err, QN_ENOMEM, "%s: out of memory", s->dir);
    if (!rc)
        rc = insert_set(s, fs, err);
    if (!rc)
        rc = store_featfile_create(s, fs, err);
    if (!rc && push(&s->fsets, &s->n_fsets, &s->cap_fsets, fs) != 0)
        rc = qn_error_set(err, QN_ENOMEM, "%s: out of memory", s->dir);
    if (rc) {
        fset_free(fs);
        return rc;
    }
    *out = fs;
    return QN_OK;
}

int qn_fset_create(qn_store *s, const qn_fset_info *spec, qn_fset **out, qn_error *err)
{
    *out = NULL;
    int rc = store_need_writer(s, err);
    if (!rc)
        rc = store_fset_spec_check(spec, err, s->dir);
    if (rc)
        return rc;
    qn_fset *fs;
    rc = qn_fset_find(s, spec->name, &fs, err);
    if (rc)
        return rc;
    if (fs) {
        rc = compare_spec(s, fs, spec, err);
        if (!rc)
            *out = fs;
        return rc;
    }
    int implicit;
    rc = store_auto_begin(s, &implicit, err);
    if (rc)
        return rc;
    rc = create_new(s, spec, &fs, err);
    rc = store_auto_end(s, implicit, rc, err);
    if (!rc)
        *out = fs;
    return rc;
}

int qn_fset_find(qn_store *s, const char *name, qn_fset **out, qn_error *err)
{
    *out = NULL;
    for (int i = 0; i < s->n_fsets; i++)
        if (!strcmp(s->fsets[i]->name, name)) {
            *out = s->fsets[i];
            return QN_OK;
        }
    /* another process may have created it since we opened */
    int n0 = s->n_fsets;
    int rc = load_where(s, "WHERE name=?1", name, err);
    if (rc)
        return rc;
    if (s->n_fsets > n0)
        *out = s->fsets[n0];
    return QN_OK;
}

int qn_fset_count(qn_store *s)
{
    return s->n_fsets;
}

qn_fset *qn_fset_at(qn_store *s, int i)
{
    return i >= 0 && i < s->n_fsets ? s->fsets[i] : NULL;
}

/* Readers: committed rows as of now (a writer may have committed since). */
int store_fset_refresh(qn_store *s, qn_fset *fs, qn_error *err)
{
    if (s->writable)
        return QN_OK;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = store_stmt(s, ST_FSET_ROWS, err);
    int rc = st ? QN_OK : QN_EINTERNAL;
    if (st) {
        sqlite3_bind_int64(st, 1, fs->id);
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW)
            fs->committed = sqlite3_column_int64(st, 0);
        else if (r != SQLITE_DONE)
            rc = store_sql_err(s, r, err, "reading a feature set");
        sqlite3_reset(st);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int qn_fset_get_info(qn_store *s, qn_fset *fs, qn_fset_info *info, qn_error *err)
{
    int rc = store_fset_refresh(s, fs, err);
    if (rc)
        return rc;
    *info = (qn_fset_info){fs->id, fs->name, fs->kind, fs->model, fs->weights, fs->dim,
                           fs->dtype, fs->rate, fs->committed};
    return QN_OK;
}

/* ---- appends ---- */

static int check_put(qn_store *s, qn_fset *fs, int kind, int in_dtype, int64_t n, qn_error *err)
{
    int rc = store_need_writer(s, err);
    if (rc)
        return rc;
    if (fs->dead)
        return qn_error_set(err, QN_EUSAGE, "%s: feature set '%s' was rolled back", s->dir,
                            fs->name);
    if (fs->kind != kind)
        return qn_error_set(err, QN_EUSAGE, "%s: feature set '%s' is %s, not %s", s->dir,
                            fs->name, store_kind_name(fs->kind), store_kind_name(kind));
    if (!store_dtype_name(in_dtype))
        return qn_error_set(err, QN_EUSAGE, "%s: bad input dtype %d", s->dir, in_dtype);
    if (n < 0)
        return qn_error_set(err, QN_EUSAGE, "%s: negative row count", s->dir);
    return QN_OK;
}

static int step_done(qn_store *s, sqlite3_stmt *st, qn_error *err, const char *what)
{
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    return r == SQLITE_DONE ? QN_OK : store_sql_err(s, r, err, what);
}

static int put_video(qn_store *s, qn_fset *fs, int64_t video_id, const void *rows, int in_dtype,
                     int64_t n, qn_error *err)
{
    int64_t first;
    int rc = store_featfile_append(fs, rows, in_dtype, n, &first, err);
    if (rc)
        return rc;
    sqlite3_stmt *st = store_stmt(s, ST_VROWS_PUT, err);
    if (!st)
        return QN_EINTERNAL;
    sqlite3_bind_int64(st, 1, fs->id);
    sqlite3_bind_int64(st, 2, video_id);
    sqlite3_bind_int64(st, 3, first);
    sqlite3_bind_int64(st, 4, n);
    return step_done(s, st, err, "mapping video rows (is the video in the store?)");
}

int qn_fset_put_video(qn_store *s, qn_fset *fs, int64_t video_id, const void *rows,
                      int in_dtype, int64_t n, qn_error *err)
{
    int rc = check_put(s, fs, QN_FSET_PER_STEP, in_dtype, n, err);
    int implicit;
    if (!rc)
        rc = store_auto_begin(s, &implicit, err);
    if (rc)
        return rc;
    rc = put_video(s, fs, video_id, rows, in_dtype, n, err);
    return store_auto_end(s, implicit, rc, err);
}

/* clip_rows has no foreign key since schema 3 (clip ids are ranges of clip_pack rows). */
static int clips_exist(qn_store *s, const int64_t *clip_ids, int64_t n, qn_error *err)
{
    sqlite3_stmt *st = store_stmt(s, ST_CLIP_EXISTS, err);
    if (!st)
        return QN_EINTERNAL;
    for (int64_t i = 0; i < n; i++) {
        sqlite3_bind_int64(st, 1, clip_ids[i]);
        int r = sqlite3_step(st);
        sqlite3_reset(st);
        if (r == SQLITE_DONE)
            return qn_error_set(err, QN_EINPUT, "%s: no clip with id %lld", s->dir,
                                (long long)clip_ids[i]);
        if (r != SQLITE_ROW)
            return store_sql_err(s, r, err, "looking up clips");
    }
    return QN_OK;
}

static int put_clips(qn_store *s, qn_fset *fs, const int64_t *clip_ids, const void *rows,
                     int in_dtype, int64_t n, qn_error *err)
{
    int64_t first;
    int rc = clips_exist(s, clip_ids, n, err);
    if (!rc)
        rc = store_featfile_append(fs, rows, in_dtype, n, &first, err);
    sqlite3_stmt *st = rc ? NULL : store_stmt(s, ST_CROWS_PUT, err);
    if (!st)
        return rc ? rc : QN_EINTERNAL;
    for (int64_t i = 0; i < n && !rc; i++) {
        sqlite3_bind_int64(st, 1, fs->id);
        sqlite3_bind_int64(st, 2, clip_ids[i]);
        sqlite3_bind_int64(st, 3, first + i);
        rc = step_done(s, st, err, "mapping clip rows (is the clip in the store?)");
    }
    return rc;
}

int qn_fset_put_clips(qn_store *s, qn_fset *fs, const int64_t *clip_ids, const void *rows,
                      int in_dtype, int64_t n, qn_error *err)
{
    int rc = check_put(s, fs, QN_FSET_PER_CLIP, in_dtype, n, err);
    int implicit;
    if (!rc)
        rc = store_auto_begin(s, &implicit, err);
    if (rc)
        return rc;
    rc = put_clips(s, fs, clip_ids, rows, in_dtype, n, err);
    return store_auto_end(s, implicit, rc, err);
}

int qn_fset_put_items(qn_store *s, qn_fset *fs, const void *rows, int in_dtype, int64_t n,
                      int64_t *first_row, qn_error *err)
{
    int rc = check_put(s, fs, QN_FSET_PER_ITEM, in_dtype, n, err);
    int implicit;
    if (!rc)
        rc = store_auto_begin(s, &implicit, err);
    if (rc)
        return rc;
    rc = store_featfile_append(fs, rows, in_dtype, n, first_row, err);
    return store_auto_end(s, implicit, rc, err);
}

/* ---- zero-copy reads ---- */

/* (first, n) of a video's rows, or n = -1 when it has none. Locked: pool threads share it. */
static int video_span(qn_store *s, qn_fset *fs, int64_t video_id, int64_t *first, int64_t *n,
                      qn_error *err)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = store_stmt(s, ST_VROWS_GET, err);
    int rc = st ? QN_OK : QN_EINTERNAL;
    *n = -1;
    if (st) {
        sqlite3_bind_int64(st, 1, fs->id);
        sqlite3_bind_int64(st, 2, video_id);
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            *first = sqlite3_column_int64(st, 0);
            *n = sqlite3_column_int64(st, 1);
        } else if (r != SQLITE_DONE) {
            rc = store_sql_err(s, r, err, "reading video rows");
        }
        sqlite3_reset(st);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int qn_fset_video_rows(qn_store *s, qn_fset *fs, int64_t video_id, const void **rows,
                       int64_t *n, qn_error *err)
{
    *rows = NULL;
    *n = 0;
    int64_t first, cnt;
    int rc = video_span(s, fs, video_id, &first, &cnt, err);
    if (rc || cnt < 0)
        return rc;
    if (first < 0)
        return qn_error_set(err, QN_EINPUT, "%s: video %lld has a bad row range in '%s'",
                            s->db_path, (long long)video_id, fs->name);
    if (cnt == 0)
        return QN_OK;
    rc = store_featfile_rows(fs, first, cnt, rows, err);
    if (!rc)
        *n = cnt;
    return rc;
}

int qn_fset_clip_row(qn_store *s, qn_fset *fs, int64_t clip_id, const void **row, qn_error *err)
{
    *row = NULL;
    int64_t r_row = -1;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = store_stmt(s, ST_CROWS_GET, err);
    int rc = st ? QN_OK : QN_EINTERNAL;
    if (st) {
        sqlite3_bind_int64(st, 1, fs->id);
        sqlite3_bind_int64(st, 2, clip_id);
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW)
            r_row = sqlite3_column_int64(st, 0);
        else if (r != SQLITE_DONE)
            rc = store_sql_err(s, r, err, "reading clip rows");
        sqlite3_reset(st);
    }
    pthread_mutex_unlock(&s->mu);
    if (rc || r_row < 0)
        return rc;
    return store_featfile_rows(fs, r_row, 1, row, err);
}

int qn_fset_rows(qn_store *s, qn_fset *fs, int64_t first, int64_t n, const void **rows,
                 qn_error *err)
{
    *rows = NULL;
    int rc = store_fset_refresh(s, fs, err);
    if (rc)
        return rc;
    if (first < 0 || n < 0 || first + n > fs->committed + fs->pending)
        return qn_error_set(err, QN_EINPUT, "%s: rows [%lld, %lld) of '%s' are past its %lld "
                            "committed rows", s->dir, (long long)first, (long long)(first + n),
                            fs->name, (long long)fs->committed);
    if (n == 0)
        return QN_OK;
    return store_featfile_rows(fs, first, n, rows, err);
}
