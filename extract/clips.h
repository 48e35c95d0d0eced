/* clips.h — quern-clips internals: videos and their captions into clip-caption pairs in a store.
 *
 * The program (extract/clips_main.c) is a thin layer over these calls:
 *     clips_ctx *c;  clips_ctx_open(&c, &opts, &err);       // --metadata
 *     clips_ctx_preload_json(c, paths, n, &err);              // --caption-json with videos
 *     clips_ctx_open_store(c, &err);                           // (read-only for --dry-run)
 *     clips_video(c, path, &res, &err);                        // one file: probe, captions,
 *                                                              // filters, its own batch
 *     clips_import_json(c, "caption.json", progress, ud, &err); // caption-only import
 *     clips_ctx_close(c);
 * Each video ends as one store row with a status (ok / rejected with a reason / failed with
 * FFmpeg's reason) so nothing is silently lost; only environment problems (store locked, disk
 * full) and bad usage stop a run. Library code never prints: per-video outcomes come back in
 * clips_result and the program prints them.
 */
#ifndef QN_CLIPS_H
#define QN_CLIPS_H

#include <stddef.h>
#include <stdint.h>

#include "extract/captions.h"
#include "qn_error.h"
#include "store/store.h"

/* Where captions may come from (--captions). ANY = first found in this order. */
enum clips_src {
    CLIPS_SRC_ANY = 0,
    CLIPS_SRC_SIDECAR = 1,  /* ID.en.vtt, ID.vtt, ID.en.srt, ID.srt, ID.ass beside the video */
    CLIPS_SRC_EMBEDDED = 2, /* a mov_text/subrip/ass/webvtt stream of the video */
    CLIPS_SRC_JSON = 3,     /* an entry of --caption-json */
    CLIPS_SRC_CSV = 4       /* --caption-csv-dir/ID.csv (MIL-NCE start,end,text) */
};

typedef struct clips_opts {
    const char *store_dir;
    int captions;              /* enum clips_src */
    const char *sub_lang;      /* embedded stream / sidecar language ("en") */
    const char *caption_json;  /* caption.json: per-video source, or the caption-only import */
    const char *caption_csv_dir;
    const char *metadata_csv;  /* HowTo100M_v1.csv */
    cap_opts cap;              /* --sub-charenc, --span, --keep-sound-tags */
    int max_words;             /* token ids per clip (20) */
    double max_duration;       /* s; <= 0: no limit */
    int64_t min_words, min_views, max_rank; /* < 0: no limit */
    int dry_run;
    int sha256;                /* --sha256: hash each video's content into the store */
    int batch;                 /* caption-only import: videos per commit */
} clips_opts;
void clips_opts_default(clips_opts *o);

/* Rejection categories, for the summary ("rejected 3: duration 1, words 2"). */
enum clips_why {
    CLIPS_WHY_NONE = 0,
    CLIPS_WHY_DURATION,
    CLIPS_WHY_WORDS,
    CLIPS_WHY_VIEWS,
    CLIPS_WHY_RANK,
    CLIPS_WHY_DUPLICATE,
    CLIPS_WHY_NO_CAPTIONS,
    CLIPS_WHY_BAD_CAPTIONS,
    CLIPS_WHY_N
};
extern const char *const clips_why_name[CLIPS_WHY_N];

/* What happened to one input. status: QN_VIDEO_OK/REJECTED/FAILED, or CLIPS_SKIPPED (already
 * stored with the same size and mtime: nothing done). */
#define CLIPS_SKIPPED 9
typedef struct clips_result {
    int status;
    int why;                    /* enum clips_why when rejected */
    char ext_id[256];
    char reason[512];           /* rejected/failed: the stored reason */
    char source[512];           /* where the captions came from ("sidecar x.en.vtt") */
    size_t n_clips;
    int64_t n_words;
    size_t n_warnings;
    char warning[640];          /* the first warning (bad cue, broken info.json), or "" */
    cap_stats stats;
} clips_result;

/* Run-wide totals the program summarises. */
typedef struct clips_totals {
    int64_t ok, failed, skipped, rejected, by_why[CLIPS_WHY_N];
    int64_t clips, words, dropped_spans, clamped, warnings;
} clips_totals;
void clips_totals_add(clips_totals *t, const clips_result *r);

typedef struct clips_ctx clips_ctx;

/* Loads --metadata into a new context (no store yet). */
int clips_ctx_open(clips_ctx **out, const clips_opts *o, qn_error *err);
/* Opens the store (writer; created if absent) — with dry_run, read-only when it exists, else
 * none. QN_EENV when the store is locked or unwritable. Called after the inputs were checked
 * (so bad input never leaves an empty store behind). */
int clips_ctx_open_store(clips_ctx *c, qn_error *err);
void clips_ctx_close(clips_ctx *c);
/* Before clips_video on many files with --caption-json: streams caption.json once and keeps
 * the entries of these ids (the file stems of `paths` and their info.json ids). */
int clips_ctx_preload_json(clips_ctx *c, char *const *paths, size_t n, qn_error *err);

/* Processes one video file in its own batch. Returns QN_OK with *r filled for every per-video
 * outcome (failed videos included); an error status only for what stops the run (store
 * write failed: QN_EENV, out of memory). */
int clips_video(clips_ctx *c, const char *path, clips_result *r, qn_error *err);

/* Caption-only import of a caption.json (streamed; "-" = stdin), batches of o->batch videos.
 * Each entry is one video row (ok or rejected with its reason); entries whose id is already
 * stored are skipped. `each` (may be NULL) is called per entry with its result and the byte
 * offset reached (for a progress bar). On an error, *unstored is 1 when entries read since
 * the last commit were dropped (malformed JSON further on commits the batch before it: 0). */
int clips_import_json(clips_ctx *c, const char *path,
                      void (*each)(void *ud, const clips_result *r, uint64_t offset), void *ud,
                      int *unstored, qn_error *err);

/* Recursively lists the video files (by extension) of a directory, sorted bytewise, appended
 * to *list (malloc'd strings). */
int clips_scan_dir(const char *dir, char ***list, size_t *n, size_t *cap, qn_error *err);
/* Appends s to the list *list (*n used, *cap allocated), growing it; -1 when out of memory
 * (s is then not taken). */
int clips_list_push(char ***list, size_t *n, size_t *cap, char *s);
int clips_is_video_name(const char *name);

/* ---- internal, shared between the clips_*.c files ---------------------------------- */

/* The probe of one file (clips_probe.c). */
typedef struct clips_probe_info {
    double duration, fps;
    int width, height;
    char codec[32];
    int n_subs;                  /* text subtitle streams found */
} clips_probe_info;
/* 0 and *pi filled, or an AVERROR with reason (FFmpeg's av_strerror text plus its last
 * logged error, e.g. "Invalid data found when processing input (moov atom not found)"). */
int clips_probe(const char *path, clips_probe_info *pi, char *reason, size_t rsize);
/* Decodes the embedded text subtitle stream best matching lang into t. Returns 1 when a
 * stream was found and decoded, 0 when there is none, <0 (AVERROR, reason filled) on error. */
int clips_embedded(const char *path, const char *lang, const char *charenc, cap_track *t,
                   char *which, size_t wsize, char *reason, size_t rsize);

/* A string-keyed hash map with its own arena (clips_map.c). Values are fixed-size records. */
typedef struct clips_map clips_map;
clips_map *clips_map_new(size_t value_size);
void clips_map_free(clips_map *m);
/* Returns the value slot for key (created zeroed when absent; *created says so), NULL on
 * out of memory. */
void *clips_map_put(clips_map *m, const char *key, size_t klen, int *created);
void *clips_map_get(const clips_map *m, const char *key, size_t klen);
/* Copies bytes into the map's arena (NUL-terminated); NULL on out of memory. */
char *clips_map_strdup(clips_map *m, const char *s, size_t len);
void *clips_map_alloc(clips_map *m, size_t size);

/* HowTo100M_v1.csv rows. */
typedef struct clips_meta {
    const char *category1, *category2;
    int64_t rank, task_id;
} clips_meta;
int clips_meta_load(const char *path, clips_map **out, qn_error *err);

/* One preloaded caption.json entry (arrays in the map's arena). */
typedef struct clips_json_entry {
    size_t n;
    double *start, *end;
    char **text;
    size_t *len;
    const char *problem;        /* the stream's reason this entry is unusable, or NULL */
    int seen;                   /* taken by a video already (a second file is a duplicate) */
} clips_json_entry;

/* SHA-256 of a file's content as 64 lowercase hex digits (clips_hash.c). */
int clips_sha256(const char *path, char hex[65], qn_error *err);

/* Reads a whole file (NUL-terminated copy); QN_EINPUT/QN_EENV naming it. */
int clips_read_file(const char *path, char **buf, size_t *len, qn_error *err);

/* Builds clip rows from a finished, filtered track and stores the video (clips_write.c). */
typedef struct clips_writer clips_writer;
struct clips_ctx {
    clips_opts o;
    qn_store *store;            /* NULL: dry run without a store */
    int have_vocab;
    clips_map *meta;            /* HowTo100M_v1.csv, or NULL */
    clips_map *json;            /* preloaded caption.json entries, or NULL */
    clips_map *dry_ids;         /* dry run: ids this run would have stored -> first path */
    cap_track *track;
    qn_store_clip *clips;       /* scratch rows */
    size_t clips_cap;
    int32_t *tokens;            /* scratch token ids */
    size_t tokens_cap;
};
/* Counts words, applies the word filter and writes video row + clips (OK) or the rejected
 * row. v->status/reason must be set by the caller for earlier rejections. existing > 0:
 * update that row (its clips cleared). Fills r->n_clips/n_words. */
int clips_store_video(clips_ctx *c, qn_store_video *v, int64_t existing, const cap_track *t,
                      clips_result *r, qn_error *err);
/* Words of a track (sum of `[\w']+` tokens of the clean texts). */
int64_t clips_track_words(const cap_track *t);
/* Applies views/rank/duration filters to v; returns the clips_why (NONE when it passes) and
 * fills r->reason. */
int clips_filter_meta(const clips_opts *o, const qn_store_video *v, clips_result *r);
/* Finds the video's captions into c->track (clips_captions.c): 1 found, 0 none,
 * CLIPS_UNUSABLE (r->reason/why set), else a negative error status. */
#define CLIPS_UNUSABLE 2
int clips_find_captions(clips_ctx *c, const char *path, const char *dir, const char *stem,
                        const char *id, int n_subs, clips_result *r, qn_error *err);
/* snprintf that may truncate on purpose (long paths in fixed reason fields). */
void clips_setf(char *dst, size_t size, const char *fmt, ...);
/* A unique ext_id for a duplicate ("ID#2", "ID#3", ...). */
int clips_dup_id(clips_ctx *c, const char *id, char *out, size_t size, qn_error *err);
/* DIR (the path's directory, "." when none) and STEM (its base name up to the first dot) of a
 * video path, truncated to the buffers (clips_video.c). */
void clips_split_path(const char *path, char *dir, size_t dsize, char *stem, size_t ssize);
/* DIR/STEM.info.json into info when present (clips_meta.c); a broken one is a warning in warn,
 * not a failure: info is then empty (id NULL, duration and view_count -1). */
void clips_read_info(const char *dir, const char *stem, cap_info *info, char *warn, size_t wsize);
/* Applies HowTo100M_v1.csv metadata of id to v (strings point into the map). */
void clips_apply_meta(clips_ctx *c, const char *id, qn_store_video *v);

#endif
