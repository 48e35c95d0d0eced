/* store.h — the quern store: videos, clips, captions, tokens and feature rows.
 *
 * A store is a directory (layout and bytes: store/FORMAT.md):
 *   meta.db            SQLite (WAL): videos, clips, feature sets, row mappings, vocabulary
 *   features/NAME.qnf  one append-only file per feature set: 4096-byte header, then dense rows
 *   store.lock         advisory lock (flock) held by the one writer; holds its pid
 *
 * Contract
 * - Every call returns QN_OK or a negative QN_E* status (common/qn_error.h) and, when `err`
 *   is non-NULL, fills it with one line naming the store path and what is wrong. Iterator
 *   "next" calls return 1 (a row), 0 (end) or a negative status.
 * - One writer (QN_STORE_WRITE) at a time per store: a second gets QN_EENV and
 *   "DIR: store is locked by pid N". Any number of readers (QN_STORE_READ) at the same
 *   time, in any process; a reader sees only committed data, never a torn row.
 * - Writes happen inside a batch (qn_store_begin ... qn_store_commit). A write call made
 *   outside a batch runs in its own implicit batch. At commit the feature rows are
 *   fdatasync'd before the SQLite transaction that references them commits; a kill at any
 *   instant leaves exactly the batches whose qn_store_commit returned QN_OK.
 * - On any failed write call inside a batch, the batch is still open and the caller should
 *   qn_store_rollback it (the store is unchanged).
 * - Strings and arrays returned in structs (qn_store_video, qn_store_clip, qn_fset_info) are
 *   owned by the store and stay valid until the next call on the same iterator or, for
 *   the _get and _find calls, until the next _get or _find call on the same handle.
 * - A handle is used by one thread at a time. Zero-copy row pointers stay valid until
 *   qn_store_close and may be read from any thread; pooling (qn_store_pool) is the
 *   exception that may run from several threads at once on one READ handle (see there).
 * - Not fork-safe: open the store in each process (child) that uses it.
 */
#ifndef QN_STORE_H
#define QN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "qn_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qn_store qn_store;              /* an open store */
typedef struct qn_fset qn_fset;                /* a feature set of an open store (owned by it) */
typedef struct qn_video_iter qn_video_iter;
typedef struct qn_clip_iter qn_clip_iter;

#define QN_STORE_UNKNOWN (-1) /* integer or real metadata that is not known (NULL in SQL) */

/* ---- open / close ------------------------------------------------------------------- */

enum qn_store_flags {
    QN_STORE_READ = 0,    /* read-only; never takes the lock, never modifies a byte */
    QN_STORE_WRITE = 1,   /* the writer: takes store.lock, truncates uncommitted rows */
    QN_STORE_CREATE = 2   /* with WRITE: create the directory/store if absent */
};

/* Opens (or with QN_STORE_WRITE|QN_STORE_CREATE creates) the store in directory `dir`.
 * Refuses, with a message saying what is wrong: a meta.db that is not a quern store
 * (application_id), a newer schema version, a feature file with a bad magic, dim,
 * dtype or store uuid, or one shorter than its committed rows. An older schema is
 * migrated by a writer; a reader of an older schema gets "open it once with a writer".
 * On failure *out is NULL. */
int qn_store_open(const char *dir, int flags, qn_store **out, qn_error *err);

/* Closes; an open batch is rolled back. NULL is a harmless no-op. */
void qn_store_close(qn_store *s);

/* The directory given to qn_store_open. */
const char *qn_store_path(const qn_store *s);

/* ---- batches -------------------------------------------------------------------------- */

/* Starts a batch (an SQLite BEGIN IMMEDIATE). Writers only; batches do not nest. */
int qn_store_begin(qn_store *s, qn_error *err);
/* Makes the batch durable: fdatasync of every feature file written, then COMMIT. On
 * failure the batch is rolled back (store unchanged) and the status says why. */
int qn_store_commit(qn_store *s, qn_error *err);
/* Discards the batch: SQL rolled back, appended rows truncated. Safe without a batch. */
int qn_store_rollback(qn_store *s, qn_error *err);

/* ---- videos --------------------------------------------------------------------------- */

enum qn_video_status {
    QN_VIDEO_PENDING = 0,
    QN_VIDEO_OK = 1,
    QN_VIDEO_REJECTED = 2, /* by a filter; reason says which (e.g. "duration > 2000 s") */
    QN_VIDEO_FAILED = 3    /* could not be read; reason carries the decoder's message */
};

/* A video. Unknown numbers are QN_STORE_UNKNOWN, unknown strings NULL. */
typedef struct qn_store_video {
    int64_t id;            /* store id (>0), assigned by qn_store_video_add */
    const char *ext_id;    /* external id, e.g. the YouTube id; unique, required */
    const char *path;      /* source path */
    int64_t size;          /* bytes */
    int64_t mtime_ns;
    const char *sha256;    /* content hash, 64 lowercase hex */
    double duration;       /* seconds */
    double fps;
    int32_t width, height;
    const char *codec;     /* e.g. "h264" */
    int status;            /* enum qn_video_status */
    const char *reason;    /* why rejected/failed; NULL for ok/pending */
    /* metadata (yt-dlp info.json, HowTo100M_v1.csv) */
    int64_t views;
    int32_t rank;          /* search rank */
    int64_t task_id;
    const char *category1, *category2;
    const char *title;
    int64_t n_words;       /* caption words (the ≥ 100 words filter) */
    const char *meta_json; /* anything else, as a JSON object text, or NULL */
} qn_store_video;

/* Sets every field to "unknown" (ids 0, numbers QN_STORE_UNKNOWN, strings NULL, pending). */
void qn_store_video_init(qn_store_video *v);

/* Adds a video; *id_out (may be NULL) gets its store id. An ext_id already present is
 * QN_EINPUT ("video ID already in the store"). */
int qn_store_video_add(qn_store *s, const qn_store_video *v, int64_t *id_out, qn_error *err);
/* Replaces every field of video v->id (ext_id may change if still unique). */
int qn_store_video_update(qn_store *s, const qn_store_video *v, qn_error *err);
/* Sets only status and reason (reason may be NULL). */
int qn_store_video_set_status(qn_store *s, int64_t id, int status, const char *reason,
                              qn_error *err);
/* Deletes the video's clips and its feature-row mappings (rows stay in the files,
 * unreferenced), e.g. before re-processing it. The video row stays. */
int qn_store_video_clear(qn_store *s, int64_t id, qn_error *err);

/* Look-ups: *found is 1 and *v filled, or 0 when absent (status QN_OK). */
int qn_store_video_get(qn_store *s, int64_t id, qn_store_video *v, int *found, qn_error *err);
int qn_store_video_find(qn_store *s, const char *ext_id, qn_store_video *v, int *found,
                        qn_error *err);
int qn_store_video_find_path(qn_store *s, const char *path, qn_store_video *v, int *found,
                             qn_error *err);

/* Iterates videos in id order. status < 0: any status. without_rows != NULL: only videos
 * that have no rows in that per-step or per-clip set (the "still to extract" list). */
typedef struct qn_video_filter {
    int status;
    const qn_fset *without_rows;
} qn_video_filter;
int qn_store_video_iter(qn_store *s, const qn_video_filter *f /* NULL: all */,
                        qn_video_iter **out, qn_error *err);
int qn_store_video_next(qn_video_iter *it, qn_store_video *v, qn_error *err); /* 1/0/<0 */
void qn_store_video_iter_free(qn_video_iter *it);                            /* NULL ok */

/* ---- clips ---------------------------------------------------------------------------- */

typedef struct qn_store_clip {
    int64_t id;              /* store id, assigned by qn_store_clips_add */
    int64_t video_id;
    int32_t index;           /* position in the video: 0..n-1 */
    double start, end;       /* seconds on the video's timeline */
    const char *raw;         /* caption as found */
    const char *clean;       /* tags/entities removed, whitespace collapsed */
    const char *filtered;    /* stop words removed (HowTo100M caption.json form) */
    const int32_t *tokens;   /* vocabulary ids, or NULL */
    int32_t n_tokens;
} qn_store_clip;

/* Adds the n clips of video `video_id`, all of them in one call (clips[i].video_id and .id
 * are ignored; clips[i].index must be i, else QN_EUSAGE). They are stored as one row
 * (FORMAT.md §2, clip_pack); their ids are consecutive and ids_out (may be NULL) gets them.
 * A video that already has clips is QN_EINPUT (qn_store_video_clear first). n = 0 adds
 * nothing. Fast: a caption.json import stores ~2 M clips/s. */
int qn_store_clips_add(qn_store *s, int64_t video_id, const qn_store_clip *clips, size_t n,
                       int64_t *ids_out, qn_error *err);
/* Number of clips of a video (video_id 0: of the store). */
int qn_store_clip_count(qn_store *s, int64_t video_id, int64_t *n, qn_error *err);
int qn_store_clip_get(qn_store *s, int64_t id, qn_store_clip *c, int *found, qn_error *err);
/* Iterates clips in (video, index) order; video_id 0: all clips of the store. */
int qn_store_clip_iter(qn_store *s, int64_t video_id, qn_clip_iter **out, qn_error *err);
int qn_store_clip_next(qn_clip_iter *it, qn_store_clip *c, qn_error *err); /* 1/0/<0 */
void qn_store_clip_iter_free(qn_clip_iter *it);                         /* NULL ok */

/* ---- feature sets ------------------------------------------------------------------- */

enum qn_fset_kind {
    QN_FSET_PER_STEP = 1, /* rows per video at `rate` rows/s (resnet152-2d, resnext101-3d) */
    QN_FSET_PER_CLIP = 2, /* one row per clip (howto100m-4096) */
    QN_FSET_PER_ITEM = 3  /* rows addressed by number only (word2vec: row = vocabulary id) */
};
enum qn_dtype { QN_F16 = 1, QN_F32 = 2 };

typedef struct qn_fset_info {
    int64_t id;
    const char *name;           /* [A-Za-z0-9._-]{1,63}; the file is features/NAME.qnf */
    int kind;                   /* enum qn_fset_kind */
    const char *model;          /* e.g. "torchvision resnet152 IMAGENET1K_V1" (≤ 127 bytes) */
    const char *weights_sha256; /* 64 hex, or NULL */
    int32_t dim;
    int dtype;                  /* enum qn_dtype, the stored type */
    double rate;                /* rows per second (per-step); 0 otherwise */
    int64_t n_rows;             /* committed rows (filled by qn_fset_get_info) */
} qn_fset_info;

/* Creates a feature set, or returns the existing one of that name when kind, dim, dtype,
 * rate, model and weights hash all agree (QN_EINPUT naming the field otherwise). A set
 * that holds no rows yet (none committed, none pending) takes spec's model and weights
 * hash instead (a rollback of the batch restores them): nothing in it was computed with
 * the old ones. */
int qn_fset_create(qn_store *s, const qn_fset_info *spec, qn_fset **out, qn_error *err);
/* *out NULL when there is no set of that name (status QN_OK). */
int qn_fset_find(qn_store *s, const char *name, qn_fset **out, qn_error *err);
/* Feature sets in id order: count, then index 0..count-1. */
int qn_fset_count(qn_store *s);
qn_fset *qn_fset_at(qn_store *s, int i);
/* Fills *info (strings owned by the set, valid until close); n_rows as of the last
 * committed state this handle saw (readers: refreshed on every call). */
int qn_fset_get_info(qn_store *s, qn_fset *fs, qn_fset_info *info, qn_error *err);
size_t qn_dtype_size(int dtype);

/* Appending rows. `rows` holds n × dim values of type in_dtype (converted to the set's
 * dtype, f32→f16 rounding to nearest even). */
/* Per-step set: the video's rows (replacing an earlier mapping of that video). */
int qn_fset_put_video(qn_store *s, qn_fset *fs, int64_t video_id, const void *rows,
                      int in_dtype, int64_t n, qn_error *err);
/* Per-clip set: one row per clip id, rows in the order of clip_ids. */
int qn_fset_put_clips(qn_store *s, qn_fset *fs, const int64_t *clip_ids, const void *rows,
                      int in_dtype, int64_t n, qn_error *err);
/* Per-item set: appended rows; *first_row (may be NULL) gets the first one's number. */
int qn_fset_put_items(qn_store *s, qn_fset *fs, const void *rows, int in_dtype, int64_t n,
                      int64_t *first_row, qn_error *err);

/* Zero-copy reads: pointers into the mmap'd file, in the set's dtype, row-major, valid
 * until qn_store_close. Committed rows only. */
/* *rows NULL and *n 0 when the video has no rows in the set (status QN_OK). */
int qn_fset_video_rows(qn_store *s, qn_fset *fs, int64_t video_id, const void **rows,
                       int64_t *n, qn_error *err);
/* *row NULL when the clip has no row in the set. */
int qn_fset_clip_row(qn_store *s, qn_fset *fs, int64_t clip_id, const void **row,
                     qn_error *err);
/* Rows [first, first+n) of any set; QN_EINPUT when past the committed rows. */
int qn_fset_rows(qn_store *s, qn_fset *fs, int64_t first, int64_t n, const void **rows,
                 qn_error *err);

/* ---- pooling (HowTo100M) ------------------------------------------------------------ */

/* Pools window [start, end] seconds of a per-step set's rows of one video into out[dim]
 * (float): rows [floor(start·rate), floor(end·rate)+1) clamped to the video (a window
 * past the last row gets the last row), max over time, L2-normalised. QN_EINPUT when the
 * video has no rows in the set or end < start. Thread-safe on a READ handle: several
 * threads may pool at once (the mapping look-up is the only shared state and is locked). */
int qn_store_pool(qn_store *s, qn_fset *fs, int64_t video_id, double start, double end,
                  float *out, qn_error *err);
/* The same rule on rows the caller holds (n rows × dim of dtype): for quern-features,
 * which pools before it writes. Returns QN_EINPUT when n == 0 or end < start. */
int qn_pool_rows(const void *rows, int dtype, int32_t dim, int64_t n, double rate,
                 double start, double end, float *out, qn_error *err);

/* ---- vocabulary ------------------------------------------------------------------- */

/* Adds words (new ones get the next ids, existing ones keep theirs); ids_out (may be
 * NULL) gets n ids. Ids are 0-based and dense: word id i is row i of the vocabulary's
 * vector set when there is one. */
int qn_vocab_add(qn_store *s, const char *const *words, size_t n, int32_t *ids_out,
                 qn_error *err);
/* *id = -1 when the word is absent (case-sensitive, like GoogleNews word2vec). The first
 * call loads the vocabulary into a hash table (~1 s per million words). */
int qn_vocab_lookup(qn_store *s, const char *word, int32_t *id, qn_error *err);
/* The word of an id, or NULL. */
const char *qn_vocab_word(qn_store *s, int32_t id);
int64_t qn_vocab_size(qn_store *s);

/* Imports a word2vec binary file (header "COUNT DIM\n", then per word: bytes up to a
 * space, DIM little-endian float32, optional '\n'): words become ids 0..COUNT-1 (the
 * store's vocabulary must be empty) and the vectors a per-item set `set_name` (dtype
 * as given, e.g. QN_F32). max_words > 0 keeps only the first max_words. Truncated or
 * malformed files are QN_EINPUT naming the word number and byte offset. Runs in one
 * batch of its own (not inside a caller's batch). `progress` (may be NULL) is called
 * with words done and the total. */
int qn_vocab_import_word2vec(qn_store *s, const char *path, const char *set_name, int dtype,
                             int64_t max_words,
                             void (*progress)(void *ctx, int64_t done, int64_t total),
                             void *ctx, qn_error *err);

/* ---- statistics, verification, maintenance --------------------------------------- */

typedef struct qn_store_stats {
    int64_t n_videos;
    int64_t n_by_status[4];   /* indexed by enum qn_video_status */
    int64_t n_clips;
    int64_t n_tokens;         /* token ids over all clips */
    int64_t n_vocab;
    int32_t n_fsets;
    int64_t db_bytes;         /* meta.db + WAL */
    int64_t feature_bytes;    /* all feature files */
    int32_t schema_version;
    char uuid[37];            /* the store's uuid, text form */
} qn_store_stats;
int qn_store_stats_get(qn_store *s, qn_store_stats *st, qn_error *err);

/* Calls cb once per distinct rejection/failure reason with its count, most frequent first. */
int qn_store_reasons(qn_store *s, void (*cb)(void *ctx, int status, const char *reason,
                                             int64_t count),
                     void *ctx, qn_error *err);

/* Checks everything: SQLite integrity_check and foreign_key_check, every feature file's
 * header, committed rows vs file sizes, every mapping in range, clip times and token ids
 * in range. Each problem is passed to cb (may be NULL) as one line; *n_problems (may be
 * NULL) gets their count. Returns QN_EINPUT when there is any problem (err holds the
 * first), QN_OK when none. Works on a READ handle. */
int qn_store_verify(qn_store *s, void (*cb)(void *ctx, const char *problem), void *ctx,
                    int64_t *n_problems, qn_error *err);

/* Writers: SQLite VACUUM + WAL checkpoint; feature files truncated to committed rows. */
int qn_store_vacuum(qn_store *s, qn_error *err);

/* Merges store `in_dir` (opened read-only) into writer `s`, in one batch: videos, clips,
 * tokens and feature rows appended with ids remapped. Feature sets are matched by name
 * and must agree (kind, dim, dtype, rate, model, weights) or the merge is refused;
 * vocabularies must be equal or one empty. A video ext_id present in both is QN_EINPUT
 * naming it, unless skip_duplicates (then it and its clips/rows are skipped and counted).
 * A store already merged (same uuid) is skipped (res->already_merged = 1); one that
 * qn_store_verify finds damaged is refused (QN_EINPUT naming its first problem). */
typedef struct qn_merge_result {
    int64_t videos, clips, rows, skipped_duplicates;
    int already_merged;
} qn_merge_result;
int qn_store_merge(qn_store *s, const char *in_dir, int skip_duplicates,
                   qn_merge_result *res, qn_error *err);

/* ---- export (each output written atomically: temp file + rename) ------------------- */

/* Progress of the exports: cb(ctx, what, done, total) after each video ("clips",
 * "captions", "features"), total = the videos with status ok. NULL cb: none (default).
 * The store keeps the pointers until changed or closed. */
typedef void (*qn_store_progress_fn)(void *ctx, const char *what, int64_t done, int64_t total);
void qn_store_set_progress(qn_store *s, qn_store_progress_fn cb, void *ctx);

/* One JSON object per clip and line: {"video":EXT,"index":I,"start":S,"end":E,
 * "raw":...,"clean":...,"filtered":...,"tokens":[...]}; only videos with status ok. */
int qn_store_export_jsonl(qn_store *s, const char *out_path, int64_t *n_clips, qn_error *err);
/* HowTo100M caption.json: {EXT: {"start":[...],"end":[...],"text":[...]}} with the
 * filtered text (raw: the clean text, like raw_caption.json). */
int qn_store_export_caption_json(qn_store *s, const char *out_path, int raw, int64_t *n_videos,
                                 qn_error *err);
/* Features as .npy (version 1.0, '<f2' or '<f4', C order). Per-step sets: one file per video
 * with status ok, OUT_DIR/EXT.npy of shape (rows, dim) (the HowTo100M extractor's layout).
 * Per-clip and per-item sets: one file OUT_DIR/SET.npy of shape (rows, dim) in clip-id / row
 * order (per-clip: plus OUT_DIR/SET.clips.txt listing "EXT INDEX" per row). All or none:
 * files are staged in OUT_DIR/.quern-export.XXXXXX and moved in only when every one is
 * written; video ids become file names with '/', '%' and a leading '.' percent-encoded. */
int qn_store_export_npy(qn_store *s, qn_fset *fs, const char *out_dir, int64_t *n_files,
                        qn_error *err);

#ifdef __cplusplus
}
#endif
#endif
