/* store_internal.h — what the store's .c files share; never included by users.
 * Layout and protocol: store/FORMAT.md. */
#ifndef QN_STORE_INTERNAL_H
#define QN_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#include "store.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "quern's store writes little-endian files and maps them directly: little-endian hosts only"
#endif

#define STORE_SCHEMA_VERSION 3
#define STORE_APP_ID 0x5155524E /* "QURN" */
#define STORE_HEADER_SIZE 4096
#define STORE_FEAT_VERSION 1
#define STORE_NAME_MAX 63
/* clip.dup bits (schema 2, read by the 2 -> 3 migration): the text is its neighbour's */
#define STORE_DUP_CLEAN 1    /* clean = raw, clean column NULL */
#define STORE_DUP_FILTERED 2 /* filtered = clean, filtered column NULL */
/* The clip_pack row (FORMAT.md §2) holding clip id X: the one with the greatest first_id
 * <= X (then X < first_id + n when X is a clip). SCHEMA is "" or "src.". */
#define STORE_PACK_FIRST_OF(schema, x)                                                     \
    "(SELECT first_id FROM " schema "clip_pack WHERE first_id <= " x                       \
    " ORDER BY first_id DESC LIMIT 1)"

/* Cached prepared statements, prepared on first use (store_stmt). */
enum store_stmt_id {
    ST_VIDEO_INSERT, ST_VIDEO_UPDATE, ST_VIDEO_STATUS, ST_VIDEO_BY_ID, ST_VIDEO_BY_EXT,
    ST_VIDEO_BY_PATH, ST_PACK_INSERT, ST_PACK_NEXT_ID, ST_PACK_BY_CLIP, ST_CLIP_EXISTS, ST_VROWS_GET,
    ST_VROWS_PUT, ST_CROWS_GET, ST_CROWS_PUT, ST_FSET_ROWS, ST_FSET_SETROWS, ST_VOCAB_INSERT,
    ST_COUNT
};

/* A mapping of a feature file: the header plus `rows` whole rows. Old mappings are kept
 * until close so pointers handed out stay valid when the file grows. */
typedef struct store_map {
    void *base;
    size_t len;
    int64_t rows;
} store_map;

struct qn_fset {
    qn_store *s;
    int64_t id;
    char name[STORE_NAME_MAX + 1];
    char *model, *weights;
    int kind, dtype;
    int32_t dim;
    double rate;
    size_t row_bytes;
    char *path;          /* DIR/features/NAME.qnf */
    int fd;
    int64_t committed;   /* rows committed, as last read (writer: exact) */
    int64_t pending;     /* rows appended in the open batch (writer) */
    int dirty;           /* appended in the open batch: fdatasync at commit */
    int created_in_batch, dead;
    char **retired;      /* model/weights strings replaced by a re-pin: freed at close, */
    int n_retired;       /* as qn_fset_get_info promises them valid until then */
    int repinned;        /* re-pinned in the open batch: a rollback restores these two */
    char *undo_model, *undo_weights;
    pthread_mutex_t mu;  /* guards the mappings */
    store_map cur;
    store_map *old;
    int n_old, cap_old;
};

/* A growable byte buffer (malloc'd, so 8-byte aligned). */
typedef struct store_buf {
    unsigned char *p;
    size_t len, cap;
} store_buf;

/* The three BLOBs of a clip_pack row. */
typedef struct store_pack_bufs {
    store_buf times, texts, tokens;
    int has_tokens; /* tokens is a BLOB (else NULL) */
} store_pack_bufs;

/* A clip_pack row, copied (aligned) and checked; the pointers are views into bufs. */
typedef struct store_pack {
    int64_t video_id, first_id;
    size_t n;
    store_pack_bufs bufs;
    const double *start, *end;
    const unsigned char *table; /* 3n (offset, length) u32 pairs */
    const char *text;           /* the text bytes after the table */
    const uint32_t *tok_off;    /* n + 1 offsets, or NULL when the pack has no tokens */
    const int32_t *tok;
} store_pack;

typedef struct store_vocab store_vocab; /* in-memory word → id table (store_vocab.c) */
typedef struct store_ckpt store_ckpt;   /* the writer's checkpoint thread (store_ckpt.c) */

struct qn_store {
    char *dir, *db_path;
    int writable;
    int create;          /* opened with QN_STORE_CREATE */
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    pthread_mutex_t mu;  /* serialises statement use by qn_store_pool threads */
    int lock_fd;
    int in_batch;
    char uuid[37];
    int schema_version;
    qn_fset **fsets;     /* live sets, id order */
    int n_fsets, cap_fsets;
    qn_fset **graveyard; /* sets dropped by a rollback, freed at close */
    int n_grave, cap_grave;
    store_vocab *vocab;
    store_pack_bufs pack; /* the writer's clip_pack encoding buffers */
    store_ckpt *ckpt;     /* writers: WAL checkpoints off the writing thread */
    char *scratch[4];    /* strings returned by the _get and _find calls (owned) */
    qn_store_progress_fn progress; /* exports report per video (qn_store_set_progress) */
    void *progress_ctx;
};

/* store_db.c */
int store_sql_err(qn_store *s, int rc, qn_error *err, const char *what);
int store_exec(qn_store *s, const char *sql, qn_error *err);
sqlite3_stmt *store_stmt(qn_store *s, enum store_stmt_id id, qn_error *err);
int store_prepare(qn_store *s, const char *sql, sqlite3_stmt **out, qn_error *err);
int store_need_writer(qn_store *s, qn_error *err);
/* An implicit batch around a write call made outside a batch. */
int store_auto_begin(qn_store *s, int *implicit, qn_error *err);
int store_auto_end(qn_store *s, int implicit, int rc, qn_error *err);
int store_query_int(qn_store *s, const char *sql, int64_t *out, qn_error *err);
char *store_strdup(const char *s);
void store_bind_text(sqlite3_stmt *st, int i, const char *v);
void store_bind_int(sqlite3_stmt *st, int i, int64_t v);   /* < 0 → NULL */
void store_bind_real(sqlite3_stmt *st, int i, double v);   /* < 0 → NULL */
const char *store_status_name(int status);
int store_status_parse(const char *name);

/* store_lock.c */
int store_lock_take(const char *dir, int *fd_out, qn_error *err);
void store_lock_release(int fd);

/* store_schema.c */
int store_schema_init(qn_store *s, qn_error *err);          /* empty db → latest version */
int store_schema_check(qn_store *s, int creating, qn_error *err); /* app id, version, migrate */

/* store_featfile.c */
int store_featfile_create(qn_store *s, qn_fset *fs, qn_error *err);
int store_featfile_open(qn_store *s, qn_fset *fs, qn_error *err);   /* validates header, size */
int store_featfile_check_header(qn_store *s, qn_fset *fs, char *why, size_t whylen);
int store_featfile_append(qn_fset *fs, const void *rows, int in_dtype, int64_t n,
                          int64_t *first_row, qn_error *err);
int store_featfile_truncate(qn_fset *fs, qn_error *err);          /* to committed rows */
/* Pointer to rows [first, first+n), mapping more of the file when needed. */
int store_featfile_rows(qn_fset *fs, int64_t first, int64_t n, const void **out, qn_error *err);
void store_featfile_close(qn_fset *fs);

/* store_fset.c */
int store_fsets_load(qn_store *s, qn_error *err);
void store_fsets_free(qn_store *s);
void store_fsets_after_commit(qn_store *s);
void store_fsets_after_rollback(qn_store *s);
const char *store_kind_name(int kind);
const char *store_dtype_name(int dtype);
int store_fset_refresh(qn_store *s, qn_fset *fs, qn_error *err);
int store_fset_spec_check(const qn_fset_info *spec, qn_error *err, const char *dir);

/* store_pack.c: -1 from encode means out of memory or a pack past 4 GB */
int store_pack_encode(store_pack_bufs *pb, const qn_store_clip *clips, size_t n);
/* Loads columns video_id, first_id, n, times, texts, tokens starting at col; QN_EINPUT
 * naming `where` and the video when the BLOBs are malformed. */
int store_pack_load(store_pack *p, sqlite3_stmt *st, int col, qn_error *err,
                    const char *where);
int store_pack_check(store_pack *p, int64_t n, char *why, size_t whylen);
void store_pack_clip(const store_pack *p, size_t i, qn_store_clip *c);
void store_pack_free(store_pack *p);
void store_pack_bufs_free(store_pack_bufs *pb);

/* store_clip.c: inserts one clip_pack row (clips already checked) */
int store_pack_insert(qn_store *s, int64_t video_id, int64_t first_id,
                      const qn_store_clip *clips, size_t n, qn_error *err);

/* store_migrate3.c: the 2 -> 3 step, clip rows into clip_pack rows; fills
 * temp.clip_renumber(old_id, new_id) for the clips that get new ids */
int store_migrate3_pack(qn_store *s, qn_error *err);

/* store_ckpt.c: start after the schema check (WAL mode set); stop before closing db */
int store_ckpt_start(qn_store *s, qn_error *err);
void store_ckpt_stop(qn_store *s);

/* store_convert.c (the conversions themselves: common/qn_half.h) */
void store_convert(void *dst, int dst_dtype, const void *src, int src_dtype, size_t n);

/* store_vocab.c */
void store_vocab_free(store_vocab *v);

/* store_uuid.c */
int store_uuid_new(char out[37], qn_error *err);

#endif
