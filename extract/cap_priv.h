/* cap_priv.h — internals shared by the caption modules (not part of the public API).
 *
 * A track owns an arena: a list of blocks that strings and word arrays are carved from,
 * so a whole track is freed (or reset for the next file) in a few calls.
 */
#ifndef CAP_PRIV_H
#define CAP_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "captions.h"

struct cap_blk;

struct cap_track_priv {
    struct cap_blk *blk;   /* current block (first of a linked list) */
    size_t cue_cap, warn_cap;
    cap_opts opts;
    unsigned clean_flags;  /* CAP_CLEAN_KEEP_SOUND when opts.keep_sound_tags */
    const char *name;      /* file name for warnings during a parse */
    int defer;             /* cap_track_add stores raw only; cap_track_clean_pending cleans */
};

/* Cleans (with word timings) every cue from index `from` that was added while deferred,
 * as cues of src. Returns QN_OK or QN_ENOMEM. */
int cap_track_clean_pending(cap_track *t, size_t from, enum cap_src src);

/* The per-format parsers behind cap_parse, on text already in UTF-8 (no BOM handling beyond
 * UTF-8's), with the track's options. They add cues only: cap_parse defers their cleaning
 * and merges a rolling layout. */
int cap_parse_vtt(cap_track *t, const char *name, const char *s, size_t len, qn_error *err);
int cap_parse_srt(cap_track *t, const char *name, const char *s, size_t len, qn_error *err);
int cap_parse_ass(cap_track *t, const char *name, const char *s, size_t len, qn_error *err);
/* MIL-NCE per-video CSV: header `start,end,text` (any column order; no header = that order),
 * RFC 4180 quoting (commas, "" and newlines inside quotes). */
int cap_parse_csv(cap_track *t, const char *name, const char *s, size_t len, qn_error *err);

/* Arena allocation, 8-byte aligned; NULL when out of memory. */
void *cap_arena_alloc(cap_track *t, size_t n);
/* Gives back the unused tail of the most recent allocation (which had `had` bytes). */
void cap_arena_shrink(cap_track *t, void *p, size_t had, size_t keep);
char *cap_arena_strndup(cap_track *t, const char *s, size_t n);

/* A timestamp tag seen while cleaning: `<00:00:01.234>` at output offset `pos`. */
typedef struct cap_mark {
    uint32_t pos;
    double t;
} cap_mark;
/* cap_clean_text that also records inline timestamps (up to max_marks; *n_marks counts all). */
size_t cap_clean_marks(const char *raw, size_t len, unsigned flags, char *out, cap_mark *marks,
                       size_t max_marks, size_t *n_marks);
#define CAP_MAX_MARKS 512 /* inline timestamps kept per cue */
/* Word groups of a cleaned text from its inline timestamps, in t's arena: segment i runs from
 * mark i-1 (or `first`) to mark i; its trimmed, non-empty part becomes one word group with
 * that start time. Returns the groups (*n_words of them), NULL when out of memory. */
cap_word *cap_words_from_marks(cap_track *t, const char *text, size_t len, const cap_mark *m,
                               size_t nm, double first, uint32_t *n_words);

/* Parses a caption time at s[0..len): [[h:]mm:]ss[(.|,)fff...] with any number of hour
 * digits and 1..9 fraction digits. Stops at the first byte that cannot continue the time;
 * *used gets the bytes consumed. Returns 0 on success, -1 when not a time. minutes and
 * seconds must be < 60 when a larger unit precedes them. need_colon: require at least mm:ss. */
int cap_parse_time(const char *s, size_t len, int need_colon, size_t *used, double *out);

/* Line reader over a buffer: handles LF, CRLF and bare CR. */
typedef struct cap_lines {
    const char *s;
    size_t len, pos;
    uint32_t line;      /* 1-based number of the line last returned */
} cap_lines;
void cap_lines_init(cap_lines *r, const char *s, size_t len);
/* Returns 1 and the next line [*a, *a + *n) without its terminator, or 0 at the end. */
int cap_lines_next(cap_lines *r, const char **a, size_t *n);
/* Peeks at the next line without consuming it. */
int cap_lines_peek(const cap_lines *r, const char **a, size_t *n);

/* A cue's text lines joined by '\n' while a parser collects them (cap_textbuf.c).
 * Zero-initialise; free(b.p) when done. */
typedef struct cap_textbuf {
    char *p;
    size_t n, cap;
} cap_textbuf;
/* Appends s[0..n) as a new line (a '\n' before it unless empty). QN_OK or QN_ENOMEM. */
int cap_textbuf_add(cap_textbuf *b, const char *s, size_t n);

/* Parses "START --> END" at the start of a line (spaces optional around the arrow);
 * returns 0 and the times, or -1. */
int cap_parse_timing(const char *s, size_t len, double *start, double *end);
/* 1 when the line contains "-->". */
int cap_has_arrow(const char *s, size_t len);

/* cap_json_stream_fd's first buffer size (default 1 MiB); tests shrink it to force refills. */
extern size_t cap_json_buf_init;

/* Like cap_tokenize but stops scanning at the max-th token; returns the tokens stored. */
size_t cap_tokenize_some(const char *text, size_t len, cap_token *toks, size_t max);

/* Stable sort of the cues by start time (no-op when already in order). */
void cap_track_sort(cap_track *t);

/* Decodes one UTF-8 code point at s (len > 0); returns its length (1 for an invalid byte,
 * with *cp = 0xFFFD). */
size_t cap_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);
/* Encodes cp as UTF-8 into out (4 bytes room); returns the length. */
size_t cap_utf8_encode(uint32_t cp, char *out);

#endif
