/* store_schema.c — the SQL schema (FORMAT.md §2), its version check and migrations. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "qn_version.h"
#include "store_internal.h"

static const char schema_v1[] =
    "CREATE TABLE store_info(key TEXT PRIMARY KEY, value ANY) STRICT;"
    "CREATE TABLE video("
    " id INTEGER PRIMARY KEY, ext_id TEXT NOT NULL UNIQUE, path TEXT, size INTEGER,"
    " mtime_ns INTEGER, sha256 TEXT, duration REAL, fps REAL, width INTEGER, height INTEGER,"
    " codec TEXT, status TEXT NOT NULL DEFAULT 'pending'"
    " CHECK (status IN ('pending','ok','rejected','failed')), reason TEXT,"
    " views INTEGER, rank INTEGER, task_id INTEGER, category1 TEXT, category2 TEXT,"
    " title TEXT, n_words INTEGER, meta_json TEXT) STRICT;"
    "CREATE INDEX video_path ON video(path);"
    "CREATE TABLE clip("
    " id INTEGER PRIMARY KEY, video_id INTEGER NOT NULL REFERENCES video(id),"
    " idx INTEGER NOT NULL, start_s REAL NOT NULL, end_s REAL NOT NULL,"
    " raw TEXT, clean TEXT, filtered TEXT, tokens BLOB, UNIQUE (video_id, idx)) STRICT;"
    "CREATE TABLE feature_set("
    " id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " kind TEXT NOT NULL CHECK (kind IN ('per_step','per_clip','per_item')),"
    " model TEXT NOT NULL, weights_sha256 TEXT, dim INTEGER NOT NULL,"
    " dtype TEXT NOT NULL CHECK (dtype IN ('f16','f32')), rate REAL NOT NULL,"
    " file TEXT NOT NULL, committed_rows INTEGER NOT NULL DEFAULT 0) STRICT;"
    "CREATE TABLE video_rows("
    " set_id INTEGER NOT NULL REFERENCES feature_set(id),"
    " video_id INTEGER NOT NULL REFERENCES video(id),"
    " first_row INTEGER NOT NULL, n_rows INTEGER NOT NULL,"
    " PRIMARY KEY (set_id, video_id)) STRICT, WITHOUT ROWID;"
    "CREATE TABLE clip_rows("
    " set_id INTEGER NOT NULL REFERENCES feature_set(id),"
    " clip_id INTEGER NOT NULL REFERENCES clip(id), row INTEGER NOT NULL,"
    " PRIMARY KEY (set_id, clip_id)) STRICT, WITHOUT ROWID;"
    "CREATE TABLE vocab(id INTEGER PRIMARY KEY, word TEXT NOT NULL UNIQUE) STRICT;"
    "CREATE TABLE merged_store(uuid TEXT PRIMARY KEY, path TEXT, merged_at INTEGER) STRICT;";

/* Migrations: migrations[v] turns schema version v into v+1 (version 1 is the first): SQL,
 * then an optional C step, then more SQL. An existing store runs each in its own transaction
 * with the new user_version; a new store is made as version 1 plus every migration, so new
 * and migrated stores have the same schema.
 * 1 -> 2: clip.dup, texts equal to their neighbour stored once (a caption.json import stored
 *         each caption three times); rows written by version 1 keep their copies (dup 0).
 * 2 -> 3: clip_pack, one row per video instead of one per clip (store_migrate3.c);
 *         clip_rows loses its foreign key to the clip table, which goes. */
typedef struct migration {
    const char *sql;
    int (*step)(qn_store *s, qn_error *err);
    const char *sql_after;
} migration;

static const migration migrations[STORE_SCHEMA_VERSION] = {
    {NULL, NULL, NULL},
    {"ALTER TABLE clip ADD COLUMN dup INTEGER NOT NULL DEFAULT 0 CHECK (dup BETWEEN 0 AND 3);",
     NULL, NULL},
    {"CREATE TABLE clip_pack("
     " video_id INTEGER PRIMARY KEY REFERENCES video(id),"
     " first_id INTEGER NOT NULL UNIQUE, n INTEGER NOT NULL CHECK (n > 0),"
     " times BLOB NOT NULL CHECK (length(times) = 16 * n),"
     " texts BLOB NOT NULL CHECK (length(texts) >= 24 * n), tokens BLOB) STRICT;",
     store_migrate3_pack,
     "CREATE TABLE clip_rows3("
     " set_id INTEGER NOT NULL REFERENCES feature_set(id),"
     " clip_id INTEGER NOT NULL, row INTEGER NOT NULL,"
     " PRIMARY KEY (set_id, clip_id)) STRICT, WITHOUT ROWID;"
     "INSERT INTO clip_rows3 SELECT r.set_id, coalesce(m.new_id, r.clip_id), r.row"
     " FROM clip_rows r LEFT JOIN temp.clip_renumber m ON m.old_id = r.clip_id;"
     "DROP TABLE clip_rows; DROP TABLE clip; DROP TABLE temp.clip_renumber;"
     "ALTER TABLE clip_rows3 RENAME TO clip_rows;"},
};

static int run_migration(qn_store *s, const migration *m, qn_error *err)
{
    int rc = m->sql ? store_exec(s, m->sql, err) : QN_OK;
    if (!rc && m->step)
        rc = m->step(s, err);
    if (!rc && m->sql_after)
        rc = store_exec(s, m->sql_after, err);
    return rc;
}

static int pragma_int(qn_store *s, const char *sql, int64_t *out, qn_error *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        }
        sqlite3_finalize(st);
    }
    if (rc == SQLITE_OK)
        return QN_OK;
    if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
        return qn_error_set(err, QN_EINPUT, "%s: not a quern store (%s)", s->db_path,
                            sqlite3_errmsg(s->db));
    return store_sql_err(s, rc, err, "reading the header");
}

int store_schema_init(qn_store *s, qn_error *err)
{
    char uuid[37], sql[512];
    int rc = store_uuid_new(uuid, err);
    if (rc)
        return rc;
    rc = store_exec(s, "BEGIN IMMEDIATE", err);
    if (rc)
        return rc;
    snprintf(sql, sizeof sql,
             "PRAGMA application_id=%d; PRAGMA user_version=%d;"
             "INSERT INTO store_info VALUES('uuid','%s'),('created',%lld),"
             "('quern_version','%s');",
             STORE_APP_ID, STORE_SCHEMA_VERSION, uuid, (long long)time(NULL), QUERN_VERSION);
    rc = store_exec(s, schema_v1, err);
    for (int v = 1; !rc && v < STORE_SCHEMA_VERSION; v++)
        rc = run_migration(s, &migrations[v], err);
    if (!rc)
        rc = store_exec(s, sql, err);
    if (!rc)
        rc = store_exec(s, "COMMIT", err);
    if (rc)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Whether every step from version `from` up to ours has a migration. */
static int migratable(int64_t from)
{
    for (int64_t v = from < 0 ? 0 : from; v < STORE_SCHEMA_VERSION; v++)
        if (!migrations[v].sql)
            return 0;
    return from >= 0;
}

static int migrate(qn_store *s, int64_t from, qn_error *err)
{
    for (int64_t v = from; v < STORE_SCHEMA_VERSION; v++) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version=%lld;", (long long)v + 1);
        int rc = store_exec(s, "BEGIN IMMEDIATE", err);
        if (!rc)
            rc = run_migration(s, &migrations[v], err);
        if (!rc)
            rc = store_exec(s, sql, err);
        if (!rc)
            rc = store_exec(s, "COMMIT", err);
        if (rc) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
    }
    return QN_OK;
}

/* Checks application_id before anything writes to the file (journal_mode=WAL would
 * modify a foreign database), then the version; creates or migrates (writers). */
int store_schema_check(qn_store *s, int creating, qn_error *err)
{
    int64_t app = 0, ver = 0, ntab = 0;
    int rc = pragma_int(s, "PRAGMA application_id", &app, err);
    if (!rc)
        rc = pragma_int(s, "PRAGMA user_version", &ver, err);
    if (!rc)
        rc = pragma_int(s, "SELECT count(*) FROM sqlite_master", &ntab, err);
    if (rc)
        return rc;
    int empty = app == 0 && ver == 0 && ntab == 0;
    /* an empty file is also what a creation killed before its first commit leaves */
    if (empty && !creating && !(s->writable && s->create))
        return qn_error_set(err, QN_EINPUT, "%s: empty database, not a quern store",
                            s->db_path);
    if (!empty && app != STORE_APP_ID)
        return qn_error_set(err, QN_EINPUT,
                            "%s: not a quern store (application_id 0x%08llx, expected 0x%08x)",
                            s->db_path, (unsigned long long)app, STORE_APP_ID);
    if (ver > STORE_SCHEMA_VERSION)
        return qn_error_set(err, QN_EINPUT,
                            "%s: schema version %lld is newer than this quern's %d: "
                            "upgrade quern", s->db_path, (long long)ver, STORE_SCHEMA_VERSION);
    if (!empty && ver < STORE_SCHEMA_VERSION && !migratable(ver))
        return qn_error_set(err, QN_EINPUT, "%s: schema version %lld is older than %d and "
                            "cannot be migrated", s->db_path, (long long)ver,
                            STORE_SCHEMA_VERSION);
    if (s->writable) {
        /* 16 KB pages for a new store (set before WAL, which fixes it): clip_pack rows are
         * KB-sized BLOBs, whose overflow chains and WAL frames halve in number against
         * SQLite's 4 KB default (caption.json import: 15% less CPU) */
        rc = empty ? store_exec(s, "PRAGMA page_size=16384;", err) : QN_OK;
        if (!rc)
            rc = store_exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                           "PRAGMA foreign_keys=ON;", err);
        if (rc)
            return rc;
        if (empty)
            rc = store_schema_init(s, err);
        else if (ver < STORE_SCHEMA_VERSION)
            rc = migrate(s, ver, err);
        if (rc)
            return rc;
    } else if (ver < STORE_SCHEMA_VERSION) {
        return qn_error_set(err, QN_EINPUT,
                            "%s: schema version %lld is older than %d: open it once with a "
                            "writer (quern-store verify does not; quern-store vacuum does) to "
                            "migrate it", s->db_path, (long long)ver, STORE_SCHEMA_VERSION);
    }
    s->schema_version = STORE_SCHEMA_VERSION;
    return QN_OK;
}
