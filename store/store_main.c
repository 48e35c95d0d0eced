/* quern-store — create, inspect, check, merge, export and maintain a quern store.
 * A thin layer over store.h: parse, call, print the error once, map it to an exit code. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qn_error.h"
#include "qn_progress.h"
#include "qn_version.h"
#include "store/store.h"

static const char *prog = "quern-store";
static int quiet;

static const char usage_text[] =
    "Usage: quern-store COMMAND [options] DIR [ARGS]\n"
    "\n"
    "A store is a directory: meta.db (SQLite) + features/*.qnf (see store/FORMAT.md).\n"
    "\n"
    "Commands:\n"
    "  init DIR                  create an empty store (no-op on an existing one)\n"
    "  info DIR                  counts, sizes, feature sets, rejected videos by reason\n"
    "  verify DIR                SQLite integrity, feature headers, row counts vs file sizes,\n"
    "                            every mapping in range; exit 2 on any problem\n"
    "  merge OUT IN...           merge shard stores IN into OUT (created if absent), ids\n"
    "                            remapped; a video id present twice is an error unless\n"
    "                            --skip-duplicates (then exit 1); a store already merged is\n"
    "                            skipped, one that fails verify is refused\n"
    "  export DIR [--clips F.jsonl] [--captions caption.json [--raw]]\n"
    "             [--features SET --out OUTDIR]\n"
    "                            clips as JSONL, captions as HowTo100M caption.json (filtered\n"
    "                            text; --raw: clean text), features as .npy (per-step sets:\n"
    "                            OUTDIR/VIDEO.npy; others OUTDIR/SET.npy)\n"
    "  vacuum DIR                compact meta.db, cut uncommitted feature rows\n"
    "  vocab import DIR FILE.bin [--set NAME] [--f16] [--max-words N]\n"
    "                            import a word2vec binary (GoogleNews-vectors-negative300.bin):\n"
    "                            words become token ids, vectors the per-item set NAME\n"
    "                            (default word2vec, f32 unless --f16)\n"
    "\n"
    "Options:\n"
    "  --store DIR     the store, instead of the DIR argument\n"
    "  -q, --quiet     no progress bar, no summary line\n"
    "  -h, --help      this help\n"
    "  --version       print the version\n"
    "\n"
    "Exit: 0 done, 1 done with skipped inputs, 2 bad usage/input or verify found problems,\n"
    "3 environment (disk full, permissions, store locked by another writer).\n"
    "\n"
    "Example:\n"
    "  quern-store init data/store && quern-store vocab import data/store "
    "GoogleNews-vectors-negative300.bin\n"
    "  quern-store merge all shard-0000-of-0004 shard-0001-of-0004 && quern-store verify all\n";

/* One line, like every other error: "quern-store: what (see --help)". */
static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see --help)\n");
    return QN_EXIT_INPUT;
}

static int fail(const qn_error *err, int rc)
{
    fprintf(stderr, "%s: %s\n", prog, err->msg[0] ? err->msg : "failed");
    return qn_exit_code(rc);
}

typedef struct args {
    const char *store;
    const char *pos[64];
    int n_pos;
    int skip_dup, raw, f16;
    long long max_words;
    const char *clips, *captions, *features, *out, *set;
} args;

/* ---- commands ----
 * The dispatcher opens the store with the command's flags, runs the command and
 * closes the store; a command returns a status (printed once by the dispatcher)
 * and may set `exit` for a done-but-not-clean outcome (skips, verify problems). */

typedef struct cmd_ctx {
    args *a;
    qn_store *s;
    qn_error err;
    int exit; /* exit code when the command returns QN_OK */
} cmd_ctx;

static int cmd_init(cmd_ctx *c)
{
    qn_store_stats st;
    int rc = qn_store_stats_get(c->s, &st, &c->err);
    if (!rc && !quiet)
        fprintf(stderr, "%s: store %s ready (uuid %s, schema %d)\n", prog, c->a->store, st.uuid,
                st.schema_version);
    return rc;
}

static void print_reason(void *ctx, int status, const char *reason, int64_t count)
{
    (void)ctx;
    printf("  %-8s %8lld  %s\n", status == QN_VIDEO_FAILED ? "failed" : "rejected",
           (long long)count, reason[0] ? reason : "(no reason)");
}

static const char *kind_label(int k)
{
    return k == QN_FSET_PER_STEP ? "per-step" : k == QN_FSET_PER_CLIP ? "per-clip" : "per-item";
}

static int cmd_info(cmd_ctx *c)
{
    qn_store *s = c->s;
    qn_store_stats st;
    int rc = qn_store_stats_get(s, &st, &c->err);
    if (rc)
        return rc;
    printf("store      %s\nuuid       %s\nschema     %d\n", c->a->store, st.uuid,
           st.schema_version);
    printf("videos     %lld (ok %lld, pending %lld, rejected %lld, failed %lld)\n",
           (long long)st.n_videos, (long long)st.n_by_status[QN_VIDEO_OK],
           (long long)st.n_by_status[QN_VIDEO_PENDING],
           (long long)st.n_by_status[QN_VIDEO_REJECTED],
           (long long)st.n_by_status[QN_VIDEO_FAILED]);
    printf("clips      %lld\ntokens     %lld\nvocabulary %lld words\n", (long long)st.n_clips,
           (long long)st.n_tokens, (long long)st.n_vocab);
    printf("bytes      meta.db %lld, features %lld\n", (long long)st.db_bytes,
           (long long)st.feature_bytes);
    printf("feature sets %d\n", st.n_fsets);
    for (int i = 0; !rc && i < qn_fset_count(s); i++) {
        qn_fset_info fi;
        rc = qn_fset_get_info(s, qn_fset_at(s, i), &fi, &c->err);
        if (!rc)
            printf("  %-20s %-8s dim %-5d %s rate %g rows %lld model %s%s%s\n", fi.name,
                   kind_label(fi.kind), fi.dim, fi.dtype == QN_F16 ? "f16" : "f32", fi.rate,
                   (long long)fi.n_rows, fi.model, fi.weights_sha256 ? " weights " : "",
                   fi.weights_sha256 ? fi.weights_sha256 : "");
    }
    if (!rc && st.n_by_status[QN_VIDEO_REJECTED] + st.n_by_status[QN_VIDEO_FAILED]) {
        printf("rejected/failed videos by reason\n");
        rc = qn_store_reasons(s, print_reason, NULL, &c->err);
    }
    return rc;
}

static void print_problem(void *ctx, const char *problem)
{
    (void)ctx;
    printf("%s\n", problem);
}

static int cmd_verify(cmd_ctx *c)
{
    int64_t n = 0;
    qn_store_stats st;
    int rc = qn_store_verify(c->s, print_problem, NULL, &n, &c->err);
    if (n) {
        fprintf(stderr, "%s: %s: %lld problem%s (first: %s)\n", prog, c->a->store, (long long)n,
                n == 1 ? "" : "s", c->err.msg);
        c->exit = QN_EXIT_INPUT;
        return QN_OK;
    }
    if (!rc && !quiet && !qn_store_stats_get(c->s, &st, NULL))
        fprintf(stderr, "%s: %s: ok (%lld videos, %lld clips, %d feature sets)\n", prog,
                c->a->store, (long long)st.n_videos, (long long)st.n_clips, st.n_fsets);
    return rc;
}

static int usage_merge(const args *a)
{
    return a->n_pos < 1 ? usage_error("%s", "merge needs OUT and at least one IN store") : 0;
}

static int cmd_merge(cmd_ctx *c)
{
    args *a = c->a;
    qn_progress pg;
    qn_progress_start(&pg, "merge", (uint64_t)a->n_pos, quiet);
    int64_t videos = 0, clips = 0, rows = 0, dups = 0, already = 0;
    int rc = QN_OK;
    for (int i = 0; i < a->n_pos && !rc; i++) {
        qn_merge_result res;
        rc = qn_store_merge(c->s, a->pos[i], a->skip_dup, &res, &c->err);
        videos += res.videos;
        clips += res.clips;
        rows += res.rows;
        dups += res.skipped_duplicates;
        already += res.already_merged;
        qn_progress_update(&pg, (uint64_t)i + 1);
    }
    qn_progress_finish(&pg);
    if (rc)
        return rc;
    if (!quiet)
        fprintf(stderr, "%s: merged %d store%s into %s: %lld videos, %lld clips, %lld feature "
                "rows; %lld duplicate videos skipped, %lld stores already merged\n", prog,
                a->n_pos, a->n_pos == 1 ? "" : "s", a->store, (long long)videos,
                (long long)clips, (long long)rows, (long long)dups, (long long)already);
    c->exit = dups ? QN_EXIT_SKIPPED : 0;
    return QN_OK;
}

static int usage_export(const args *a)
{
    if (!a->clips && !a->captions && !a->features)
        return usage_error("%s", "export needs --clips, --captions or --features");
    if (a->features && !a->out)
        return usage_error("%s", "--features needs --out OUTDIR");
    return 0;
}

/* One bar per export pass, labelled by what it writes. */
static void export_progress(void *ctx, const char *what, int64_t done, int64_t total)
{
    qn_progress *pg = ctx;
    if (pg->label != what) {
        qn_progress_finish(pg);
        qn_progress_start(pg, what, (uint64_t)total, quiet);
    }
    qn_progress_update(pg, (uint64_t)done);
}

static int cmd_export(cmd_ctx *c)
{
    args *a = c->a;
    int64_t nc = 0, nv = 0, nf = 0;
    int rc = QN_OK;
    qn_progress pg;
    qn_progress_start(&pg, "", 0, 1); /* drawn from the first pass on */
    qn_store_set_progress(c->s, export_progress, &pg);
    if (a->clips)
        rc = qn_store_export_jsonl(c->s, a->clips, &nc, &c->err);
    if (!rc && a->captions)
        rc = qn_store_export_caption_json(c->s, a->captions, a->raw, &nv, &c->err);
    if (!rc && a->features) {
        qn_fset *fs;
        rc = qn_fset_find(c->s, a->features, &fs, &c->err);
        if (!rc && !fs)
            rc = qn_error_set(&c->err, QN_EINPUT, "%s: no feature set '%s'", a->store,
                              a->features);
        if (!rc)
            rc = qn_store_export_npy(c->s, fs, a->out, &nf, &c->err);
    }
    qn_progress_finish(&pg);
    if (!rc && !quiet)
        fprintf(stderr, "%s: exported %lld clips, %lld caption videos, %lld .npy files\n", prog,
                (long long)nc, (long long)nv, (long long)nf);
    return rc;
}

static int cmd_vacuum(cmd_ctx *c)
{
    qn_store_stats st;
    int rc = qn_store_vacuum(c->s, &c->err);
    if (!rc)
        rc = qn_store_stats_get(c->s, &st, &c->err);
    if (!rc && !quiet)
        fprintf(stderr, "%s: %s vacuumed: meta.db %lld bytes, features %lld bytes\n", prog,
                c->a->store, (long long)st.db_bytes, (long long)st.feature_bytes);
    return rc;
}

static void vocab_progress(void *ctx, int64_t done, int64_t total)
{
    qn_progress *pg = ctx;
    pg->total = (uint64_t)total;
    qn_progress_update(pg, (uint64_t)done);
}

static int usage_vocab(const args *a)
{
    if (a->n_pos != 2 || strcmp(a->pos[0], "import") != 0)
        return usage_error("%s", "usage: quern-store vocab import DIR FILE.bin");
    return 0;
}

static int cmd_vocab(cmd_ctx *c)
{
    args *a = c->a;
    const char *file = a->pos[1];
    qn_progress pg;
    qn_progress_start(&pg, "vocab", 0, quiet);
    double t0 = qn_now();
    int rc = qn_vocab_import_word2vec(c->s, file, a->set ? a->set : "word2vec",
                                      a->f16 ? QN_F16 : QN_F32, a->max_words, vocab_progress,
                                      &pg, &c->err);
    qn_progress_finish(&pg);
    if (!rc && !quiet)
        fprintf(stderr, "%s: imported %lld words from %s into %s in %.1f s\n", prog,
                (long long)qn_vocab_size(c->s), file, a->store, qn_now() - t0);
    return rc;
}

/* ---- dispatch ---- */

#define WRITER (QN_STORE_WRITE | QN_STORE_CREATE)

static const struct {
    const char *name;
    int (*fn)(cmd_ctx *);
    int (*usage)(const args *); /* checks the arguments before the store is opened */
    int flags;                  /* how the store is opened */
    int extra;                  /* positional args after DIR: -1 any, else exactly */
} commands[] = {
    {"init", cmd_init, NULL, WRITER, 0},
    {"info", cmd_info, NULL, QN_STORE_READ, 0},
    {"verify", cmd_verify, NULL, QN_STORE_READ, 0},
    {"merge", cmd_merge, usage_merge, WRITER, -1},
    {"export", cmd_export, usage_export, QN_STORE_READ, 0},
    {"vacuum", cmd_vacuum, NULL, QN_STORE_WRITE, 0},
    {"vocab", cmd_vocab, usage_vocab, WRITER, -1},
};

static int run_command(size_t k, args *a)
{
    if (commands[k].usage && commands[k].usage(a))
        return QN_EXIT_INPUT;
    cmd_ctx c = {.a = a};
    qn_error_clear(&c.err);
    int rc = qn_store_open(a->store, commands[k].flags, &c.s, &c.err);
    if (!rc)
        rc = commands[k].fn(&c);
    qn_store_close(c.s);
    return rc ? fail(&c.err, rc) : c.exit;
}

enum { OPT_VERSION = 256, OPT_STORE, OPT_SKIP, OPT_CLIPS, OPT_CAPS, OPT_RAW, OPT_FEAT, OPT_OUT,
       OPT_SET, OPT_F16, OPT_MAXW };

static int parse(int argc, char **argv, args *a)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, OPT_VERSION},
        {"quiet", no_argument, NULL, 'q'},        {"store", required_argument, NULL, OPT_STORE},
        {"skip-duplicates", no_argument, NULL, OPT_SKIP},
        {"clips", required_argument, NULL, OPT_CLIPS},
        {"captions", required_argument, NULL, OPT_CAPS}, {"raw", no_argument, NULL, OPT_RAW},
        {"features", required_argument, NULL, OPT_FEAT},
        {"out", required_argument, NULL, OPT_OUT}, {"set", required_argument, NULL, OPT_SET},
        {"f16", no_argument, NULL, OPT_F16},
        {"max-words", required_argument, NULL, OPT_MAXW}, {NULL, 0, NULL, 0}};
    int c;
    char *end;
    opterr = 0; /* we name the bad option ourselves, on our one line */
    while ((c = getopt_long(argc, argv, ":hq", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(usage_text, stdout); exit(0);
        case OPT_VERSION: printf("quern-store %s\n", QUERN_VERSION); exit(0);
        case 'q': quiet = 1; break;
        case OPT_STORE: a->store = optarg; break;
        case OPT_SKIP: a->skip_dup = 1; break;
        case OPT_CLIPS: a->clips = optarg; break;
        case OPT_CAPS: a->captions = optarg; break;
        case OPT_RAW: a->raw = 1; break;
        case OPT_FEAT: a->features = optarg; break;
        case OPT_OUT: a->out = optarg; break;
        case OPT_SET: a->set = optarg; break;
        case OPT_F16: a->f16 = 1; break;
        case OPT_MAXW:
            a->max_words = strtoll(optarg, &end, 10);
            if (!*optarg || *end || a->max_words < 0)
                return usage_error("--max-words: '%s' is not a non-negative number", optarg);
            break;
        case ':': return usage_error("option %s needs a value", argv[optind - 1]);
        default: return usage_error("unknown option %s", argv[optind - 1]);
        }
    }
    for (int i = optind; i < argc; i++) {
        if (a->n_pos == 64)
            return usage_error("%s", "too many arguments");
        a->pos[a->n_pos++] = argv[i];
    }
    return 0;
}

int main(int argc, char **argv)
{
    qn_cli_init();
    args a = {0};
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc;
    if (a.n_pos == 0)
        return usage_error("%s", "no command given (init, info, verify, merge, export, vacuum, "
                                 "vocab)");
    const char *cmd = a.pos[0];
    size_t k = 0, n = sizeof commands / sizeof commands[0];
    while (k < n && strcmp(commands[k].name, cmd) != 0)
        k++;
    if (k == n)
        return usage_error("unknown command '%s'", cmd);
    /* drop the command; "vocab import DIR FILE": keep "import" first */
    memmove(a.pos, a.pos + 1, (size_t)--a.n_pos * sizeof a.pos[0]);
    int vocab = commands[k].fn == cmd_vocab;
    if (!a.store) {
        int at = vocab ? 1 : 0;
        if (a.n_pos <= at)
            return usage_error("%s: no store DIR given", cmd);
        a.store = a.pos[at];
        memmove(a.pos + at, a.pos + at + 1, (size_t)(a.n_pos - at - 1) * sizeof a.pos[0]);
        a.n_pos--;
    }
    if (commands[k].extra >= 0 && a.n_pos != commands[k].extra)
        return usage_error("%s: unexpected argument", a.pos[commands[k].extra]);
    return run_command(k, &a);
}
