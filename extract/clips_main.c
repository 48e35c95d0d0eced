/* quern-clips — videos and their subtitles (or a HowTo100M caption.json) into clip-caption
 * pairs in a quern store. A thin layer over extract/clips.h: parse options, run, print each
 * problem once, summarise, map the outcome to an exit code.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "extract/clips.h"
#include "qn_error.h"
#include "qn_progress.h"
#include "qn_version.h"

static const char *prog = "quern-clips";

static const char usage_text[] =
    "Usage: quern-clips --store DIR [options] VIDEO|DIR...\n"
    "       quern-clips --store DIR --caption-json caption.json [--metadata HowTo100M_v1.csv]\n"
    "\n"
    "Turns each video's captions into clip-caption pairs (one caption line = one clip) in the\n"
    "store DIR (created if absent). Directories are scanned recursively for video files (mp4,\n"
    "mkv, webm, mov, ...), in sorted order. Each video is probed with FFmpeg (a file that cannot\n"
    "be opened or decoded is stored as failed with FFmpeg's reason), filtered as in HowTo100M\n"
    "(each rejection stored with its reason) and committed on its own. Without VIDEO arguments,\n"
    "--caption-json is imported on its own (streamed; videos can be added later).\n"
    "A video already stored with the same size and mtime is skipped: re-runs change nothing.\n"
    "\n"
    "Captions (first found wins, in this order):\n"
    "  sidecar   ID.LANG.vtt, ID.vtt, ID.LANG.srt, ID.srt, ID.LANG.ass, ID.ass beside the video\n"
    "  embedded  the video's mov_text/subrip/ass/webvtt stream in LANG (else an untagged one)\n"
    "  json      the video's entry in --caption-json\n"
    "  csv       --caption-csv-dir/ID.csv (MIL-NCE start,end,text)\n"
    "ID is the file name before its first dot, unless ID.info.json (yt-dlp) gives another id.\n"
    "\n"
    "Options:\n"
    "  --store DIR             the store (required)\n"
    "  --captions SRC          only this source: sidecar, embedded, json or csv (default: any)\n"
    "  --sub-lang LANG         subtitle language (default en)\n"
    "  --sub-charenc ENC       caption file charset (default: BOM, else UTF-8, else CP1252)\n"
    "  --caption-json FILE     HowTo100M caption.json / raw_caption.json ('-' = stdin)\n"
    "  --caption-csv-dir DIR   per-video MIL-NCE CSV files DIR/ID.csv\n"
    "  --metadata FILE         HowTo100M_v1.csv (category_1, category_2, rank, task_id)\n"
    "  --span MODE             spoken (default: a line's first word to the next line's, no\n"
    "                          overlap) or displayed (time on screen, like caption.json)\n"
    "  --drop-sound-tags       drop [Music]-style tags and notes (default)\n"
    "  --keep-sound-tags       keep them\n"
    "  --no-dedupe             never merge YouTube rolling captions\n"
    "  --max-words N           token ids kept per clip when the store has a vocabulary (20)\n"
    "  --max-duration S        reject videos longer than S seconds (2000; 0: no limit)\n"
    "  --min-words N           reject videos with fewer caption words (100; -1: no limit)\n"
    "  --min-views N           reject videos with fewer views, when known (100; -1: no limit)\n"
    "  --max-rank N            reject videos ranked below N in search, when known (200; -1: no\n"
    "                          limit)\n"
    "  --batch N               caption-only import: videos per commit (1000)\n"
    "  --sha256                store each video's content hash (reads every file whole)\n"
    "  --dry-run               print what would be stored (ID, status, clips, words, source or\n"
    "                          reason, one line per video), store nothing\n"
    "  -q, --quiet             no progress bar, no summary line\n"
    "  -h, --help              this help\n"
    "  --version               print the version\n"
    "\n"
    "Exit: 0 done, 1 done but some videos failed (unreadable), 2 bad usage or input,\n"
    "3 environment (store locked by another writer, disk full, permissions).\n"
    "\n"
    "Examples:\n"
    "  quern-clips --store data/store data/sample/videos\n"
    "  quern-clips --store data/store --caption-json caption.json --metadata HowTo100M_v1.csv\n";

enum {
    OPT_STORE = 256, OPT_CAPTIONS, OPT_SUB_LANG, OPT_SUB_CHARENC, OPT_CAPTION_JSON, OPT_CSV_DIR,
    OPT_METADATA, OPT_SPAN, OPT_DROP_SOUND, OPT_KEEP_SOUND, OPT_NO_DEDUPE, OPT_MAX_WORDS,
    OPT_MAX_DURATION, OPT_MIN_WORDS, OPT_MIN_VIEWS, OPT_MAX_RANK, OPT_BATCH, OPT_DRY_RUN, OPT_SHA,
    OPT_VERSION
};

static const struct option long_opts[] = {
    {"store", required_argument, 0, OPT_STORE},
    {"captions", required_argument, 0, OPT_CAPTIONS},
    {"sub-lang", required_argument, 0, OPT_SUB_LANG},
    {"sub-charenc", required_argument, 0, OPT_SUB_CHARENC},
    {"caption-json", required_argument, 0, OPT_CAPTION_JSON},
    {"caption-csv-dir", required_argument, 0, OPT_CSV_DIR},
    {"metadata", required_argument, 0, OPT_METADATA},
    {"span", required_argument, 0, OPT_SPAN},
    {"drop-sound-tags", no_argument, 0, OPT_DROP_SOUND},
    {"keep-sound-tags", no_argument, 0, OPT_KEEP_SOUND},
    {"no-dedupe", no_argument, 0, OPT_NO_DEDUPE},
    {"max-words", required_argument, 0, OPT_MAX_WORDS},
    {"max-duration", required_argument, 0, OPT_MAX_DURATION},
    {"min-words", required_argument, 0, OPT_MIN_WORDS},
    {"min-views", required_argument, 0, OPT_MIN_VIEWS},
    {"max-rank", required_argument, 0, OPT_MAX_RANK},
    {"batch", required_argument, 0, OPT_BATCH},
    {"dry-run", no_argument, 0, OPT_DRY_RUN},
    {"sha256", no_argument, 0, OPT_SHA},
    {"quiet", no_argument, 0, 'q'},
    {"help", no_argument, 0, 'h'},
    {"version", no_argument, 0, OPT_VERSION},
    {0, 0, 0, 0},
};

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry '%s --help'.\n", prog);
    return QN_EXIT_INPUT;
}

static int parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

typedef struct run {
    clips_opts o;
    int quiet;
    char **paths;
    size_t n_paths, cap_paths;
    clips_totals tot;
    qn_progress bar;
    int unstored;               /* an import dropped entries it had read (clips_import_json) */
} run;

/* Returns 0, or an exit code for a bad option. */
static int parse_opts(run *R, int argc, char **argv, int *done)
{
    int c;
    int64_t v;
    *done = 0;
    while ((c = getopt_long(argc, argv, "qh", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_STORE: R->o.store_dir = optarg; break;
        case OPT_CAPTIONS:
            if (!strcmp(optarg, "any")) R->o.captions = CLIPS_SRC_ANY;
            else if (!strcmp(optarg, "sidecar")) R->o.captions = CLIPS_SRC_SIDECAR;
            else if (!strcmp(optarg, "embedded")) R->o.captions = CLIPS_SRC_EMBEDDED;
            else if (!strcmp(optarg, "json")) R->o.captions = CLIPS_SRC_JSON;
            else if (!strcmp(optarg, "csv")) R->o.captions = CLIPS_SRC_CSV;
            else return usage_error("--captions: '%s' is not sidecar, embedded, json or csv", optarg);
            break;
        case OPT_SUB_LANG: R->o.sub_lang = optarg; break;
        case OPT_SUB_CHARENC: R->o.cap.charenc = optarg; break;
        case OPT_CAPTION_JSON: R->o.caption_json = optarg; break;
        case OPT_CSV_DIR: R->o.caption_csv_dir = optarg; break;
        case OPT_METADATA: R->o.metadata_csv = optarg; break;
        case OPT_SPAN:
            if (!strcmp(optarg, "spoken")) R->o.cap.span = CAP_SPAN_SPOKEN;
            else if (!strcmp(optarg, "displayed")) R->o.cap.span = CAP_SPAN_DISPLAYED;
            else return usage_error("--span: '%s' is not spoken or displayed", optarg);
            break;
        case OPT_DROP_SOUND: R->o.cap.keep_sound_tags = 0; break;
        case OPT_KEEP_SOUND: R->o.cap.keep_sound_tags = 1; break;
        case OPT_NO_DEDUPE: R->o.cap.no_dedupe = 1; break;
        case OPT_MAX_WORDS:
            if (parse_int(optarg, 0, 1000, &v)) return usage_error("--max-words: '%s' is not 0..1000", optarg);
            R->o.max_words = (int)v;
            break;
        case OPT_MAX_DURATION: {
            char *end;
            double d = strtod(optarg, &end);
            if (!*optarg || *end || !(d >= 0 && d < 1e12))
                return usage_error("--max-duration: '%s' is not a number of seconds >= 0", optarg);
            R->o.max_duration = d;
            break;
        }
        case OPT_MIN_WORDS:
            if (parse_int(optarg, -1, INT64_MAX, &R->o.min_words)) return usage_error("--min-words: '%s' is not an integer >= -1", optarg);
            break;
        case OPT_MIN_VIEWS:
            if (parse_int(optarg, -1, INT64_MAX, &R->o.min_views)) return usage_error("--min-views: '%s' is not an integer >= -1", optarg);
            break;
        case OPT_MAX_RANK:
            if (parse_int(optarg, -1, INT64_MAX, &R->o.max_rank)) return usage_error("--max-rank: '%s' is not an integer >= -1", optarg);
            break;
        case OPT_BATCH:
            if (parse_int(optarg, 1, 10000000, &v)) return usage_error("--batch: '%s' is not 1..10000000", optarg);
            R->o.batch = (int)v;
            break;
        case OPT_DRY_RUN: R->o.dry_run = 1; break;
        case OPT_SHA: R->o.sha256 = 1; break;
        case 'q': R->quiet = 1; break;
        case 'h': fputs(usage_text, stdout); *done = 1; return QN_EXIT_OK;
        case OPT_VERSION: printf("%s %s\n", prog, QUERN_VERSION); *done = 1; return QN_EXIT_OK;
        default: fprintf(stderr, "Try '%s --help'.\n", prog); return QN_EXIT_INPUT;
        }
    }
    return 0;
}

static const char *status_name(int s)
{
    switch (s) {
    case QN_VIDEO_OK: return "ok";
    case QN_VIDEO_REJECTED: return "rejected";
    case QN_VIDEO_FAILED: return "failed";
    case CLIPS_SKIPPED: return "skipped";
    default: return "pending";
    }
}

/* Per-video output: failures always (stderr), the dry run's plan (stdout). */
static void report(run *R, const char *path, const clips_result *r)
{
    clips_totals_add(&R->tot, r);
    if (r->status == QN_VIDEO_FAILED)
        fprintf(stderr, "%s: %s: failed: %s\n", prog, path, r->reason);
    if (r->warning[0] && !R->quiet) {
        if (r->n_warnings > 1)
            fprintf(stderr, "%s: warning: %s (and %zu more)\n", prog, r->warning,
                    r->n_warnings - 1);
        else
            fprintf(stderr, "%s: warning: %s\n", prog, r->warning);
    }
    if (R->o.dry_run)
        printf("%s\t%s\t%zu clips\t%" PRId64 " words\t%s\n", r->ext_id, status_name(r->status),
               r->n_clips, r->n_words, r->status == QN_VIDEO_OK ? r->source : r->reason);
}

static void each_entry(void *ud, const clips_result *r, uint64_t offset)
{
    run *R = ud;
    report(R, "caption.json", r);
    qn_progress_update(&R->bar, offset);
}

static void summary(const run *R, double secs)
{
    const clips_totals *t = &R->tot;
    char why[512] = "";
    size_t n = 0;
    for (int i = 1; i < CLIPS_WHY_N; i++)
        if (t->by_why[i] && n < sizeof why)
            n += (size_t)snprintf(why + n, sizeof why - n, "%s%s %" PRId64, n ? ", " : " (",
                                  clips_why_name[i], t->by_why[i]);
    if (n && n < sizeof why)
        snprintf(why + n, sizeof why - n, ")");
    fprintf(stderr,
            "%s: %s%s: videos %" PRId64 " ok, %" PRId64 " rejected%s, %" PRId64 " failed, %" PRId64
            " unchanged; %" PRId64 " clips, %" PRId64 " words; %" PRId64 " spans dropped, %" PRId64
            " clamped, %" PRId64 " warnings; %.1f s\n",
            prog, R->o.dry_run ? "dry run, " : "", R->o.store_dir, t->ok, t->rejected, why,
            t->failed, t->skipped, t->clips, t->words, t->dropped_spans, t->clamped, t->warnings,
            secs);
}

/* Expands the arguments: directories to their video files; a missing path is bad input. */
static int collect(run *R, int argc, char **argv, qn_error *err)
{
    for (int i = optind; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) < 0)
            return qn_error_errno(err, QN_EINPUT, errno, "%s", argv[i]);
        if (S_ISDIR(sb.st_mode)) {
            int rc = clips_scan_dir(argv[i], &R->paths, &R->n_paths, &R->cap_paths, err);
            if (rc != QN_OK)
                return rc;
            continue;
        }
        char *p = strdup(argv[i]);
        if (!p || clips_list_push(&R->paths, &R->n_paths, &R->cap_paths, p) < 0) {
            free(p);
            return qn_error_set(err, QN_ENOMEM, "out of memory");
        }
    }
    return QN_OK;
}

static int run_videos(run *R, clips_ctx *c, qn_error *err)
{
    int rc = QN_OK;
    qn_progress_start(&R->bar, "videos", R->n_paths, R->quiet);
    for (size_t i = 0; i < R->n_paths && rc == QN_OK; i++) {
        clips_result r;
        rc = clips_video(c, R->paths[i], &r, err);
        if (rc == QN_OK)
            report(R, R->paths[i], &r);
        qn_progress_update(&R->bar, i + 1);
    }
    qn_progress_finish(&R->bar);
    return rc;
}

static int run_import(run *R, clips_ctx *c, qn_error *err)
{
    struct stat sb;
    uint64_t total = strcmp(R->o.caption_json, "-") && stat(R->o.caption_json, &sb) == 0
                         ? (uint64_t)sb.st_size : 0;
    qn_progress_start(&R->bar, "caption.json bytes", total, R->quiet);
    int rc = clips_import_json(c, R->o.caption_json, each_entry, R, &R->unstored, err);
    qn_progress_finish(&R->bar);
    return rc;
}

int main(int argc, char **argv)
{
    qn_cli_init();
    run R;
    memset(&R, 0, sizeof R);
    clips_opts_default(&R.o);
    int done, code = parse_opts(&R, argc, argv, &done);
    if (done || code)
        return code;
    if (!R.o.store_dir)
        return usage_error("%s", "no --store DIR given");
    if (optind == argc && !R.o.caption_json)
        return usage_error("%s", "no VIDEO or DIR given (and no --caption-json to import)");
    if (R.o.captions == CLIPS_SRC_JSON && !R.o.caption_json)
        return usage_error("%s", "--captions json needs --caption-json FILE");
    if (R.o.captions == CLIPS_SRC_CSV && !R.o.caption_csv_dir)
        return usage_error("%s", "--captions csv needs --caption-csv-dir DIR");

    qn_error err;
    qn_error_clear(&err);
    double t0 = qn_now();
    clips_ctx *c = NULL;
    int rc = collect(&R, argc, argv, &err);
    if (rc == QN_OK && optind < argc && R.n_paths == 0)
        rc = qn_error_set(&err, QN_EINPUT, "no video files found in %s%s", argv[optind],
                          argc - optind > 1 ? " ..." : "");
    if (rc == QN_OK)
        rc = clips_ctx_open(&c, &R.o, &err);
    if (rc == QN_OK && optind < argc && R.o.caption_json)
        rc = clips_ctx_preload_json(c, R.paths, R.n_paths, &err);
    if (rc == QN_OK)
        rc = clips_ctx_open_store(c, &err);
    int c_was_import = optind == argc;
    if (rc == QN_OK)
        rc = c_was_import ? run_import(&R, c, &err) : run_videos(&R, c, &err);
    clips_ctx_close(c);
    for (size_t i = 0; i < R.n_paths; i++)
        free(R.paths[i]);
    free(R.paths);
    if (fflush(stdout) != 0 && rc == QN_OK)
        rc = qn_error_set(&err, QN_EENV, "stdout: write failed");
    if (rc != QN_OK)
        fprintf(stderr, "%s: %s\n", prog, err.msg[0] ? err.msg : "failed");
    if (rc != QN_OK && c_was_import && R.unstored)
        fprintf(stderr, "%s: the entries read since the last commit were not stored; a re-run "
                "resumes after the stored ones\n", prog);
    if (!R.quiet && (rc == QN_OK || R.tot.ok + R.tot.rejected + R.tot.failed > 0))
        summary(&R, qn_now() - t0);
    if (rc != QN_OK)
        return qn_exit_code(rc);
    return R.tot.failed ? QN_EXIT_SKIPPED : QN_EXIT_OK;
}
