/* captions.h — the text core of quern-clips: caption files in, clean clip captions out.
 *
 * A caption track is an array of cues (start/end in seconds, raw text, clean text, filtered
 * text, optional word timings) built by one of the parsers below from a memory buffer. All
 * strings of a track live in the track's own arena and die with cap_track_free().
 *
 * Typical use (what quern-clips does for a sidecar file):
 *     cap_track *t = cap_track_new();
 *     cap_opts o = CAP_OPTS_DEFAULT;                    // --sub-charenc, --span, sound tags
 *     rc = cap_parse(t, CAP_FMT_AUTO, "ID.en.vtt", buf, len, &o, &err);  // merges YouTube
 *                                                       // rolling captions per o.span
 *     cap_track_finish(t, video_duration);              // clamp, drop empty/zero/inverted
 *     cap_track_filter(t);                              // stop words -> cue.filtered
 *     ... t->cues[i] ..., t->warnings ..., t->stats ...
 *     cap_track_free(t);
 *
 * Parsers never stop at one bad cue: the cue is skipped and a warning "name:LINE: why" is
 * appended to t->warnings (parsing goes on). Only input that is not captions at all (no
 * WEBVTT magic, not convertible to UTF-8, nothing parsable) is an error (QN_EINPUT + one line
 * in the qn_error record). Library calls never print.
 *
 * The streaming readers at the end (caption.json, MIL-NCE CSV, yt-dlp info.json,
 * HowTo100M_v1.csv) never build a whole-file tree: memory stays bounded by one entry.
 */
#ifndef QN_CAPTIONS_H
#define QN_CAPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "qn_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- options */

enum cap_span {
    CAP_SPAN_SPOKEN = 0,   /* line's first word to the next line's first word (never past the
                              line's time on screen, so silences are not swallowed): no overlap */
    CAP_SPAN_DISPLAYED = 1 /* the line's time on screen (HowTo100M caption.json overlap) */
};

typedef struct cap_opts {
    const char *charenc;   /* --sub-charenc: NULL/"" = auto (BOM, else UTF-8, else CP1252);
                              else "UTF-8", "UTF-16LE", "UTF-16BE", "CP1252", "ISO-8859-1",
                              or any name iconv knows */
    int keep_sound_tags;   /* 0 (default): drop "[Music]", "[Applause]", "♪" in clean text */
    enum cap_span span;    /* rolling-caption span mode (default spoken) */
    int no_dedupe;         /* 1: never merge rolling captions */
} cap_opts;
#define CAP_OPTS_DEFAULT {NULL, 0, CAP_SPAN_SPOKEN, 0}

/* ---------------------------------------------------------------- tracks */

/* One word (or word group) with its own start time, from WebVTT inline timestamps
 * `<00:00:01.234>` (YouTube automatic captions). off/len index the cue's clean text. */
typedef struct cap_word {
    double start;
    uint32_t off, len;
} cap_word;

typedef struct cap_cue {
    double start, end;   /* seconds */
    const char *raw;      /* payload as in the file (tags kept, lines joined by '\n'), UTF-8 */
    const char *text;     /* clean: tags/entities/overrides removed, whitespace collapsed, one line */
    const char *filtered; /* text without HowTo100M stop words; NULL until cap_track_filter() */
    const cap_word *words; /* inline word timings, NULL when the cue has none */
    uint32_t n_words;
    uint32_t line;        /* 1-based source line of the cue's timing line (0 = not from a file) */
} cap_cue;

/* Counts of what cap_track_finish() and the dedupe dropped or changed. */
typedef struct cap_stats {
    uint32_t parsed;        /* cues read from the input */
    uint32_t skipped_bad;   /* cues skipped by the parser (each has a warning) */
    uint32_t deduped;       /* rolling-caption repeats merged away by cap_youtube_dedupe */
    uint32_t dropped_empty; /* cues whose clean text was empty (incl. sound-tag-only cues) */
    uint32_t dropped_zero;  /* end == start */
    uint32_t dropped_inverted; /* end < start */
    uint32_t dropped_beyond;   /* start at or after the video's duration */
    uint32_t clamped;          /* end cut to the video's duration */
} cap_stats;

typedef struct cap_track {
    cap_cue *cues;
    size_t n;
    const char **warnings; /* one line each: "name:LINE: why" */
    size_t n_warnings;
    cap_stats stats;
    const char *charset;   /* charset the input was decoded from: "UTF-8", "UTF-16LE", "CP1252", ... */
    int rolling;           /* set by cap_youtube_dedupe when it merged a rolling layout */
    int64_t words;         /* words of the clean texts, counted by cap_track_filter(); -1 before */
    struct cap_track_priv *priv; /* arena and capacities; not for callers */
} cap_track;

/* Creates an empty track; NULL when out of memory. */
cap_track *cap_track_new(void);
/* Frees the track and every string it holds. NULL is a harmless no-op. */
void cap_track_free(cap_track *t);
/* Empties the track for reuse, keeping its memory (fast when parsing many files). */
void cap_track_reset(cap_track *t);

/* Sets the options later calls use (cleaning of cap_track_add, charset of cap_parse).
 * cap_parse sets them itself from its own argument. NULL = defaults. */
void cap_track_set_opts(cap_track *t, const cap_opts *o);

/* Appends a cue (copies raw; computes text with the track's cleaning flags). Used by the
 * parsers and by callers that decode embedded streams (quern-clips feeds FFmpeg's ASS text
 * with CAP_SRC_ASS). Returns QN_OK or QN_ENOMEM. */
enum cap_src { CAP_SRC_PLAIN = 0, CAP_SRC_VTT = 1, CAP_SRC_SRT = 2, CAP_SRC_ASS = 3 };
int cap_track_add(cap_track *t, double start, double end, const char *raw, size_t raw_len,
                  enum cap_src src, uint32_t line);
/* Appends a warning line (printf-style); parsers use it, callers may too. */
void cap_track_warn(cap_track *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------------- parsing */

enum cap_format { CAP_FMT_AUTO = 0, CAP_FMT_VTT, CAP_FMT_SRT, CAP_FMT_ASS, CAP_FMT_CSV };

/* Format from the file name's extension (.vtt .srt .ass .ssa .csv), else from content
 * ("WEBVTT", "[Script Info]", a digit line then "-->", "start,end,text"). */
enum cap_format cap_format_guess(const char *name, const void *buf, size_t len);

/* Parses a caption file held in memory into t (appending to what is there). name is used
 * in messages only. Converts the text to UTF-8 first (cap_to_utf8), cleans every cue.
 * WebVTT or SubRip in YouTube's rolling layout is merged to one cue per spoken line right
 * here (before cleaning, so each line is cleaned once), with spans per o->span, unless
 * o->no_dedupe; t->rolling says it happened, t->stats.parsed counts the file's cues.
 * CSV: MIL-NCE per-video files, header `start,end,text` (any column order; no header = that
 * order), RFC 4180 quoting (commas, "" and newlines inside quotes).
 * Returns QN_OK (even with skipped cues: see t->warnings, t->stats.skipped_bad),
 * QN_EINPUT (not such a file / undecodable in the forced charset; err says why, naming the
 * file), QN_EUSAGE (o->charenc unknown to iconv) or QN_ENOMEM. */
int cap_parse(cap_track *t, enum cap_format fmt, const char *name, const void *buf, size_t len,
              const cap_opts *o, qn_error *err);
/* FFmpeg's decoders hand text subtitles over as an ASS event line
 * "ReadOrder,Layer,Style,Name,MarginL,MarginR,MarginV,Effect,Text" (AVSubtitleRect.ass):
 * returns a pointer to Text (after the 8th comma), or ass itself when there are fewer commas.
 * Feed it to cap_track_add with CAP_SRC_ASS. */
const char *cap_ass_event_text(const char *ass);

/* ---------------------------------------------------------------- charset */

/* Decodes buf to UTF-8. With charenc NULL/"": UTF-8 BOM -> UTF-8 (BOM dropped); UTF-16 LE/BE
 * BOM -> converted; valid UTF-8 -> as is; else CP1252. With a charenc: converts from it
 * (invalid bytes in that charset -> QN_EINPUT "name: not valid CHARSET at byte N").
 * On success *out is either buf itself (no copy needed, *owned = 0) or a malloc'd
 * NUL-terminated copy (*owned = 1, caller frees); *used names the charset. */
int cap_to_utf8(const char *name, const void *buf, size_t len, const char *charenc,
                char **out, size_t *out_len, int *owned, const char **used, qn_error *err);
/* 1 when buf[0..len) is valid UTF-8 (no overlongs, no surrogates). */
int cap_utf8_valid(const char *s, size_t len);

/* ---------------------------------------------------------------- cleaning */

/* Cleaning flags: which markup the source may carry, and what to keep. */
enum {
    CAP_CLEAN_ASS = 1,         /* also drop {\...} override blocks, turn \N \n \h into spaces */
    CAP_CLEAN_KEEP_SOUND = 2,  /* keep [Music]-style tags and ♪ */
};
/* Writes the clean form of raw[0..len) to out (needs len + 1 bytes: cleaning never grows the
 * text) and returns its length. Removes <tags> (incl. <c.x>, <v Name>, <00:00:01.234>) and
 * {\an8} overrides, decodes entities (&amp; &lt; &gt; &quot; &apos; &nbsp; &lrm; &rlm;
 * &#N; &#xH;), collapses whitespace (newlines included) to one space, trims. */
size_t cap_clean_text(const char *raw, size_t len, unsigned flags, char *out);

/* ---------------------------------------------------------------- YouTube rolling captions */

/* 1 when the track looks like YouTube's rolling two-line layout (cues repeating the previous
 * cue's last line, ~10 ms hold cues, inline word timestamps). */
int cap_youtube_is_rolling(const cap_track *t);
/* Rewrites the track to one cue per spoken line, in time order, each line once, with word
 * timings where the file had them. Spans per mode (see enum cap_span). Sets t->rolling and
 * t->stats.deduped. A no-op on a track already merged (t->rolling: cap_parse does it for
 * WebVTT files); for cues added with cap_track_add (embedded streams) call it yourself.
 * Returns QN_OK or QN_ENOMEM. */
int cap_youtube_dedupe(cap_track *t, enum cap_span span);

/* ---------------------------------------------------------------- finishing */

/* Sorts cues by start (stable), clamps ends to duration (duration <= 0: unknown, no clamp),
 * drops cues with empty clean text, zero-length and inverted spans, and cues starting at or
 * after the duration; counts each in t->stats. */
void cap_track_finish(cap_track *t, double duration);

/* ---------------------------------------------------------------- words */

/* HowTo100M's stop-word list (stop_words.py: Glasgow IR list + YouTube fillers), compiled in
 * from extract/data/stopwords.txt. Case-insensitive (ASCII folding). */
int cap_is_stopword(const char *w, size_t len);
size_t cap_stopword_count(void);
/* Writes the tokens of text that are not stop words, joined by single spaces, to out (needs
 * strlen(text) + 1 bytes) and returns the length. Case is kept. *n_words (may be NULL) gets
 * the number of tokens of text, stop words included (cap_count_words). */
size_t cap_filter_stopwords(const char *text, size_t len, char *out, size_t *n_words);
/* Fills every cue's `filtered` field and the track's `words`. Returns QN_OK or QN_ENOMEM. */
int cap_track_filter(cap_track *t);

/* One token of HowTo100M's tokeniser: regex `[\w']+` with Python's Unicode \w (letters,
 * digits, underscore; exact for ASCII/Latin, block-level approximation elsewhere: see
 * cap_tokens.c), case kept. off/len index the input. */
typedef struct cap_token {
    uint32_t off, len;
} cap_token;
/* Tokenises text into at most max tokens; returns the number of tokens found (which may
 * exceed max: only the first max are stored). */
size_t cap_tokenize(const char *text, size_t len, cap_token *toks, size_t max);
/* Number of `[\w']+` tokens (the "caption words" the >= 100 words filter counts). */
size_t cap_count_words(const char *text, size_t len);

/* ---------------------------------------------------------------- caption.json (streaming) */

/* One video of HowTo100M's caption.json / raw_caption.json:
 *   {"VIDEO_ID": {"start": [s...], "end": [e...], "text": ["..."...]}, ...}
 * Arrays and strings point into the reader's buffers: valid only during the callback. */
typedef struct cap_json_video {
    const char *id;
    size_t id_len;
    const double *start, *end;
    size_t n_start, n_end;
    const char *const *text;   /* UTF-8, escapes decoded, NUL-terminated */
    const size_t *text_len;
    size_t n_text;
    size_t n;                  /* min(n_start, n_end, n_text) */
    const char *problem;       /* NULL, or why this entry is unusable (lengths differ,
                                  non-number time, ...): the caller records the rejection */
    uint64_t offset;           /* byte offset of the entry's key in the file */
    uint64_t line;             /* 1-based line of the key */
} cap_json_video;

/* Called once per video. Return QN_OK to go on, anything else stops the stream and is
 * returned (fill err to say why). */
typedef int (*cap_json_cb)(void *ud, const cap_json_video *v, qn_error *err);

/* Streams a caption.json from fd with a fixed read buffer that grows only to hold the
 * largest single entry. name is for messages ("caption.json:LINE:COL: expected ','").
 * Returns QN_OK, QN_EINPUT (malformed JSON: stops there), QN_EENV (read error), QN_ENOMEM,
 * or the callback's status. *n_videos (may be NULL) counts callbacks made. */
int cap_json_stream_fd(int fd, const char *name, cap_json_cb cb, void *ud, uint64_t *n_videos,
                       qn_error *err);
/* The same over a memory buffer (tests, fuzzing, mmap). */
int cap_json_stream_mem(const char *buf, size_t len, const char *name, cap_json_cb cb, void *ud,
                        uint64_t *n_videos, qn_error *err);

/* ---------------------------------------------------------------- metadata */

/* The fields quern-clips uses from a yt-dlp ID.info.json. Absent numbers are -1, absent
 * strings NULL. Strings are malloc'd; cap_info_free releases them. */
typedef struct cap_info {
    char *id;
    double duration;
    int64_t view_count;
    char *title;
    char **categories;
    size_t n_categories;
} cap_info;
/* Parses an info.json held in memory (other keys skipped without building a tree).
 * QN_EINPUT with "name:LINE:COL: why" when it is not a JSON object. */
int cap_info_parse(cap_info *info, const char *name, const char *buf, size_t len, qn_error *err);
void cap_info_free(cap_info *info);

/* One row of HowTo100M_v1.csv (header `video_id,category_1,category_2,rank,task_id`, columns
 * found by name). Strings point into a row buffer valid during the callback; rank/task_id
 * are -1 when empty or not a number. */
typedef struct cap_meta_row {
    const char *video_id, *category_1, *category_2;
    int64_t rank, task_id;
    uint64_t line;
} cap_meta_row;
typedef int (*cap_meta_cb)(void *ud, const cap_meta_row *row, qn_error *err);
/* Calls cb per data row. A row with an empty video_id is skipped and counted in *n_skipped
 * (may be NULL). QN_EINPUT when the header lacks video_id. */
int cap_meta_csv_parse(const char *name, const char *buf, size_t len, cap_meta_cb cb, void *ud,
                       uint64_t *n_skipped, qn_error *err);

#ifdef __cplusplus
}
#endif
#endif
