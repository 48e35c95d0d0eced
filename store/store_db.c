/* store_db.c — opening and closing a store, SQLite plumbing, batches. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "store_internal.h"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_VIDEO_INSERT] =
        "INSERT INTO video(ext_id,path,size,mtime_ns,sha256,duration,fps,width,height,codec,"
        "status,reason,views,rank,task_id,category1,category2,title,n_words,meta_json)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20)",
    [ST_VIDEO_UPDATE] =
        "UPDATE video SET ext_id=?1,path=?2,size=?3,mtime_ns=?4,sha256=?5,duration=?6,fps=?7,"
        "width=?8,height=?9,codec=?10,status=?11,reason=?12,views=?13,rank=?14,task_id=?15,"
        "category1=?16,category2=?17,title=?18,n_words=?19,meta_json=?20 WHERE id=?21",
    [ST_VIDEO_STATUS] = "UPDATE video SET status=?1, reason=?2 WHERE id=?3",
    [ST_VIDEO_BY_ID] = "SELECT * FROM video WHERE id=?1",
    [ST_VIDEO_BY_EXT] = "SELECT * FROM video WHERE ext_id=?1",
    [ST_VIDEO_BY_PATH] = "SELECT * FROM video WHERE path=?1 ORDER BY id LIMIT 1",
    [ST_PACK_INSERT] =
        "INSERT INTO clip_pack(video_id,first_id,n,times,texts,tokens) VALUES(?1,?2,?3,?4,?5,?6)",
    [ST_PACK_NEXT_ID] = "SELECT first_id + n FROM clip_pack ORDER BY first_id DESC LIMIT 1",
    [ST_PACK_BY_CLIP] = "SELECT video_id,first_id,n,times,texts,tokens FROM clip_pack"
                        " WHERE first_id <= ?1 ORDER BY first_id DESC LIMIT 1",
    [ST_CLIP_EXISTS] = "SELECT 1 FROM clip_pack WHERE first_id = "
                       STORE_PACK_FIRST_OF("", "?1") " AND ?1 < first_id + n",
    [ST_VROWS_GET] = "SELECT first_row,n_rows FROM video_rows WHERE set_id=?1 AND video_id=?2",
    [ST_VROWS_PUT] =
        "INSERT OR REPLACE INTO video_rows(set_id,video_id,first_row,n_rows) VALUES(?1,?2,?3,?4)",
    [ST_CROWS_GET] = "SELECT row FROM clip_rows WHERE set_id=?1 AND clip_id=?2",
    [ST_CROWS_PUT] = "INSERT OR REPLACE INTO clip_rows(set_id,clip_id,row) VALUES(?1,?2,?3)",
    [ST_FSET_ROWS] = "SELECT committed_rows FROM feature_set WHERE id=?1",
    [ST_FSET_SETROWS] = "UPDATE feature_set SET committed_rows=?1 WHERE id=?2",
    [ST_VOCAB_INSERT] = "INSERT INTO vocab(id,word) VALUES(?1,?2)",
};

char *store_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* SQLite result code → quern status, and one line naming the database. */
int store_sql_err(qn_store *s, int rc, qn_error *err, const char *what)
{
    int saved = errno; /* SQLite does not always record the errno of a failed write */
    int st;
    switch (rc & 0xff) {
    case SQLITE_FULL: case SQLITE_IOERR: case SQLITE_CANTOPEN: case SQLITE_READONLY:
    case SQLITE_BUSY: case SQLITE_LOCKED: case SQLITE_PERM: case SQLITE_AUTH:
        st = QN_EENV; break;
    case SQLITE_NOMEM: st = QN_ENOMEM; break;
    case SQLITE_CONSTRAINT: case SQLITE_CORRUPT: case SQLITE_NOTADB: case SQLITE_MISMATCH:
    case SQLITE_TOOBIG: case SQLITE_RANGE:
        st = QN_EINPUT; break;
    default: st = QN_EINTERNAL;
    }
    const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    int sys = s->db ? sqlite3_system_errno(s->db) : 0;
    if (!sys && (rc & 0xff) == SQLITE_IOERR &&
        (saved == EFBIG || saved == ENOSPC || saved == EDQUOT))
        sys = saved;
    if (sys == EFBIG || sys == ENOSPC || sys == EDQUOT) /* disk full or file size limit */
        return qn_error_set(err, QN_EENV, "%s: %s: %s (%s)", s->db_path, what, msg,
                            strerror(sys));
    if (sys && (rc & 0xff) == SQLITE_IOERR)
        return qn_error_set(err, st == QN_EINTERNAL ? QN_EENV : st, "%s: %s: %s (%s)",
                            s->db_path, what, msg, strerror(sys));
    return qn_error_set(err, st, "%s: %s: %s", s->db_path, what, msg);
}

int store_exec(qn_store *s, const char *sql, qn_error *err)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? QN_OK : store_sql_err(s, rc, err, "sql");
}

int store_prepare(qn_store *s, const char *sql, sqlite3_stmt **out, qn_error *err)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, out, NULL);
    return rc == SQLITE_OK ? QN_OK : store_sql_err(s, rc, err, "prepare");
}

sqlite3_stmt *store_stmt(qn_store *s, enum store_stmt_id id, qn_error *err)
{
    if (!s->st[id] && store_prepare(s, stmt_sql[id], &s->st[id], err) != QN_OK)
        return NULL;
    sqlite3_reset(s->st[id]);
    sqlite3_clear_bindings(s->st[id]);
    return s->st[id];
}

int store_query_int(qn_store *s, const char *sql, int64_t *out, qn_error *err)
{
    sqlite3_stmt *st;
    int rc = store_prepare(s, sql, &st, err);
    if (rc)
        return rc;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = QN_OK;
    } else if (r == SQLITE_DONE) {
        *out = 0;
        rc = QN_OK;
    } else {
        rc = store_sql_err(s, r, err, "query");
    }
    sqlite3_finalize(st);
    return rc;
}

void store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

void store_bind_int(sqlite3_stmt *st, int i, int64_t v)
{
    if (v < 0)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

void store_bind_real(sqlite3_stmt *st, int i, double v)
{
    if (!(v >= 0))
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_double(st, i, v);
}

static const char *const status_names[] = {"pending", "ok", "rejected", "failed"};

const char *store_status_name(int status)
{
    return status >= 0 && status < 4 ? status_names[status] : NULL;
}

int store_status_parse(const char *name)
{
    for (int i = 0; name && i < 4; i++)
        if (!strcmp(name, status_names[i]))
            return i;
    return -1;
}

int store_need_writer(qn_store *s, qn_error *err)
{
    if (!s->writable)
        return qn_error_set(err, QN_EUSAGE, "%s: store opened read-only", s->dir);
    return QN_OK;
}

/* ---- open / close ---- */

/* SQLite's memory statistics take a global mutex on every malloc and free (~8% of a bulk
 * clip import); the store never reads them. Only settable before SQLite initialises, so a
 * process that used SQLite before opening a store keeps them (sqlite3_config refuses). */
static void no_memstatus(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* A WAL database's readers need its -shm file, which SQLite cannot create in a directory
 * that cannot be written: the first read fails (SQLITE_CANTOPEN or SQLITE_READONLY). On a
 * read-only file system (a dataset on read-only media, a squashfs image) no writer can be
 * there either, so the file is opened as immutable instead, which is exact as long as no
 * write-ahead log holds commits that were never copied back (a writer that crashed): then
 * the store must be opened once by a writer where it can be written. A directory that
 * only this user cannot write may have a writer, which an immutable reader would not
 * see: that is said instead. */
static int open_read_only_media(qn_store *s, qn_error *err)
{
    int r = sqlite3_exec(s->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
    if ((r != SQLITE_CANTOPEN && r != SQLITE_READONLY) || access(s->dir, W_OK) == 0)
        return QN_OK; /* fine, or some other trouble the next query names */
    struct statvfs fs;
    if (statvfs(s->dir, &fs) != 0 || !(fs.f_flag & ST_RDONLY))
        return qn_error_set(err, QN_EENV, "%s: cannot read: SQLite must make meta.db-shm in the "
                            "store's directory, which this user cannot write (its owner can "
                            "read it, or a copy can be)", s->dir);
    char wal[4096 + 8];
    struct stat sb;
    snprintf(wal, sizeof wal, "%s-wal", s->db_path);
    if (stat(wal, &sb) == 0 && sb.st_size > 0)
        return qn_error_set(err, QN_EENV, "%s: read-only, with commits still in its write-ahead "
                            "log (%s): open the store once where it can be written (quern-store "
                            "vacuum does)", s->dir, wal);
    /* file: URI of the path: everything but unreserved characters and '/' escaped */
    size_t n = strlen(s->db_path);
    char *uri = malloc(3 * n + 32);
    if (!uri)
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", s->dir);
    char *o = uri + sprintf(uri, "file:");
    for (const unsigned char *p = (const unsigned char *)s->db_path; *p; p++)
        o += isalnum(*p) || strchr("/._-~", *p) ? sprintf(o, "%c", *p) : sprintf(o, "%%%02X", *p);
    strcpy(o, "?immutable=1");
    sqlite3_close(s->db);
    s->db = NULL;
    int rc = sqlite3_open_v2(uri, &s->db, SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX |
                             SQLITE_OPEN_READONLY, NULL);
    free(uri);
    return rc == SQLITE_OK ? QN_OK : store_sql_err(s, rc, err, "cannot open (read-only media)");
}

static int open_db(qn_store *s, int flags, qn_error *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, no_memstatus);
    struct stat sb;
    if (stat(s->dir, &sb) != 0) {
        if (errno == ENOENT && (flags & QN_STORE_CREATE) && (flags & QN_STORE_WRITE)) {
            if (mkdir(s->dir, 0777) != 0) /* no parent: usage (2); EACCES, EROFS: env (3) */
                return qn_error_errno(err, QN_EINPUT, errno, "%s: cannot create", s->dir);
        } else {
            return qn_error_errno(err, QN_EINPUT, errno, "%s", s->dir);
        }
    } else if (!S_ISDIR(sb.st_mode)) {
        return qn_error_set(err, QN_EINPUT, "%s: not a directory (a store is a directory)",
                            s->dir);
    }
    int creating = stat(s->db_path, &sb) != 0;
    if (creating && !((flags & QN_STORE_CREATE) && (flags & QN_STORE_WRITE)))
        return qn_error_set(err, QN_EINPUT, "%s: not a quern store (no meta.db)", s->dir);
    if (s->writable) {
        int rc = store_lock_take(s->dir, &s->lock_fd, err);
        if (rc)
            return rc;
    }
    int oflags = SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX |
                 (s->writable ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY);
    int rc = sqlite3_open_v2(s->db_path, &s->db, oflags, NULL);
    if (rc != SQLITE_OK)
        return store_sql_err(s, rc, err, "cannot open");
    if (!s->writable && (rc = open_read_only_media(s, err)) != QN_OK)
        return rc;
    sqlite3_busy_timeout(s->db, 30000);
    sqlite3_extended_result_codes(s->db, 1);
    return store_schema_check(s, creating, err);
}

static int load_info(qn_store *s, qn_error *err)
{
    sqlite3_stmt *st;
    int rc = store_prepare(s, "SELECT value FROM store_info WHERE key='uuid'", &st, err);
    if (rc)
        return rc;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_TEXT &&
        sqlite3_column_bytes(st, 0) == 36) {
        memcpy(s->uuid, sqlite3_column_text(st, 0), 36);
        s->uuid[36] = 0;
    } else {
        rc = qn_error_set(err, QN_EINPUT, "%s: store_info has no valid uuid", s->db_path);
    }
    sqlite3_finalize(st);
    return rc;
}

int qn_store_open(const char *dir, int flags, qn_store **out, qn_error *err)
{
    *out = NULL;
    if (!dir || !*dir)
        return qn_error_set(err, QN_EUSAGE, "store: no directory given");
    qn_store *s = calloc(1, sizeof *s);
    if (!s)
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", dir);
    s->lock_fd = -1;
    s->writable = (flags & QN_STORE_WRITE) != 0;
    s->create = s->writable && (flags & QN_STORE_CREATE);
    pthread_mutex_init(&s->mu, NULL);
    s->dir = strdup(dir);
    size_t n = strlen(dir) + 16;
    s->db_path = malloc(n);
    if (!s->dir || !s->db_path) {
        qn_store_close(s);
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", dir);
    }
    snprintf(s->db_path, n, "%s/meta.db", dir);
    int rc = open_db(s, flags, err);
    if (!rc && s->writable)
        rc = store_ckpt_start(s, err);
    if (!rc)
        rc = load_info(s, err);
    if (!rc)
        rc = store_fsets_load(s, err);
    if (rc) {
        qn_store_close(s);
        return rc;
    }
    *out = s;
    return QN_OK;
}

void qn_store_close(qn_store *s)
{
    if (!s)
        return;
    if (s->in_batch)
        qn_store_rollback(s, NULL);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->st[i]);
    store_fsets_free(s);
    store_vocab_free(s->vocab);
    store_ckpt_stop(s);
    if (s->db)
        sqlite3_close_v2(s->db);
    store_lock_release(s->lock_fd);
    for (int i = 0; i < 4; i++)
        free(s->scratch[i]);
    store_pack_bufs_free(&s->pack);
    pthread_mutex_destroy(&s->mu);
    free(s->dir);
    free(s->db_path);
    free(s);
}

const char *qn_store_path(const qn_store *s)
{
    return s ? s->dir : NULL;
}

/* ---- batches ---- */

int qn_store_begin(qn_store *s, qn_error *err)
{
    int rc = store_need_writer(s, err);
    if (rc)
        return rc;
    if (s->in_batch)
        return qn_error_set(err, QN_EUSAGE, "%s: a batch is already open", s->dir);
    rc = store_exec(s, "BEGIN IMMEDIATE", err);
    if (!rc)
        s->in_batch = 1;
    return rc;
}

/* Feature rows first (fdatasync), then the SQL that references them. */
int qn_store_commit(qn_store *s, qn_error *err)
{
    if (!s->in_batch)
        return qn_error_set(err, QN_EUSAGE, "%s: commit without a batch", s->dir);
    int rc = QN_OK;
    for (int i = 0; i < s->n_fsets && !rc; i++) {
        qn_fset *fs = s->fsets[i];
        if (!fs->dirty)
            continue;
        if (fdatasync(fs->fd) != 0) {
            rc = qn_error_errno(err, QN_EENV, errno, "%s: fdatasync", fs->path);
            break;
        }
        sqlite3_stmt *st = store_stmt(s, ST_FSET_SETROWS, err);
        if (!st) {
            rc = QN_EINTERNAL;
            break;
        }
        sqlite3_bind_int64(st, 1, fs->committed + fs->pending);
        sqlite3_bind_int64(st, 2, fs->id);
        int r = sqlite3_step(st);
        if (r != SQLITE_DONE)
            rc = store_sql_err(s, r, err, "commit");
        sqlite3_reset(st);
    }
    if (!rc)
        rc = store_exec(s, "COMMIT", err);
    if (rc) {
        qn_store_rollback(s, NULL);
        return rc;
    }
    s->in_batch = 0;
    store_fsets_after_commit(s);
    return QN_OK;
}

int qn_store_rollback(qn_store *s, qn_error *err)
{
    if (!s->in_batch)
        return QN_OK;
    int rc = QN_OK;
    if (!sqlite3_get_autocommit(s->db))
        rc = store_exec(s, "ROLLBACK", err);
    s->in_batch = 0;
    store_fsets_after_rollback(s);
    store_vocab_free(s->vocab); /* ids added in the batch are gone */
    s->vocab = NULL;
    return rc;
}

int store_auto_begin(qn_store *s, int *implicit, qn_error *err)
{
    *implicit = 0;
    int rc = store_need_writer(s, err);
    if (rc || s->in_batch)
        return rc;
    rc = qn_store_begin(s, err);
    if (!rc)
        *implicit = 1;
    return rc;
}

int store_auto_end(qn_store *s, int implicit, int rc, qn_error *err)
{
    if (!implicit)
        return rc;
    if (rc) {
        qn_store_rollback(s, NULL);
        return rc;
    }
    return qn_store_commit(s, err);
}
