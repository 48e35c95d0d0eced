/* store_ckpt.c — WAL checkpoints in a background thread for the writer.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that pushes the WAL past 1000 pages:
 * the writer stops to copy the WAL into meta.db and fsync both, which was a fifth of a
 * caption.json import's wall time. Here the writer's WAL hook only wakes a thread that runs
 * a PASSIVE checkpoint on its own connection (never blocks the writer or readers, safe at any
 * moment: a kill leaves what any checkpoint leaves). So that the WAL does not grow without
 * bound when the thread falls behind, the writer checkpoints itself (PASSIVE too) past
 * STORE_WAL_HARD_BYTES; as with SQLite's own checkpoints, a reader holding an old snapshot
 * open for long can still keep the WAL from being reset.
 * Checkpoint errors (disk full) are left to the next write to meet: the WAL keeps the data. */
#include <stdlib.h>

#include "store_internal.h"

#define STORE_WAL_SOFT_BYTES (16 << 20)  /* SQLite's 1000-page autocheckpoint at 16 KB pages */
#define STORE_WAL_HARD_BYTES (64 << 20)  /* past this the writer checkpoints itself */

struct store_ckpt {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int pending, stop;
    int soft_pages, hard_pages;
    sqlite3 *db; /* the thread's own connection */
};

static void *run(void *arg)
{
    store_ckpt *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->pending && !c->stop)
            pthread_cond_wait(&c->cv, &c->mu);
        if (!c->pending)
            break;
        c->pending = 0;
        pthread_mutex_unlock(&c->mu);
        sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* After each commit of the writer's connection, with the WAL's size in pages. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    store_ckpt *c = arg;
    if (pages >= c->hard_pages) {
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    } else if (pages >= c->soft_pages) {
        pthread_mutex_lock(&c->mu);
        c->pending = 1;
        pthread_cond_signal(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
    return SQLITE_OK;
}

int store_ckpt_start(qn_store *s, qn_error *err)
{
    store_ckpt *c = calloc(1, sizeof *c);
    if (!c)
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", s->dir);
    int r = sqlite3_open_v2(s->db_path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                            NULL);
    if (r == SQLITE_OK) /* a connection knows the file is in WAL mode once it has read it */
        r = sqlite3_exec(c->db, "PRAGMA busy_timeout=30000; SELECT 1 FROM sqlite_master LIMIT 1",
                         NULL, NULL, NULL);
    if (r != SQLITE_OK) {
        int status = (r & 0xff) == SQLITE_NOMEM ? QN_ENOMEM : QN_EENV;
        qn_error_set(err, status, "%s: opening the checkpoint connection: %s", s->db_path,
                     c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(r));
        sqlite3_close_v2(c->db);
        free(c);
        return status;
    }
    int64_t page = 4096;
    store_query_int(s, "PRAGMA page_size", &page, NULL);
    page = page > 0 ? page : 4096;
    c->soft_pages = (int)(STORE_WAL_SOFT_BYTES / page);
    c->hard_pages = (int)(STORE_WAL_HARD_BYTES / page);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (pthread_create(&c->th, NULL, run, c) != 0) {
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        sqlite3_close_v2(c->db);
        free(c);
        return qn_error_set(err, QN_EENV, "%s: cannot start the checkpoint thread", s->dir);
    }
    s->ckpt = c;
    sqlite3_wal_hook(s->db, wal_hook, c); /* replaces SQLite's automatic checkpoint */
    return QN_OK;
}

void store_ckpt_stop(qn_store *s)
{
    store_ckpt *c = s->ckpt;
    if (!c)
        return;
    sqlite3_wal_hook(s->db, NULL, NULL);
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->th, NULL);
    sqlite3_close_v2(c->db);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
    s->ckpt = NULL;
}
