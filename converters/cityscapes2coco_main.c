/* cityscapes2coco_main.c — quern-cityscapes2coco: options, progress, summary, exit code.
 * All the work is in cityscapes.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cityscapes.h"
#include "qn_progress.h"
#include "qn_version.h"

#define PROG "quern-cityscapes2coco"

static void usage(FILE *f)
{
    fprintf(f,
"Usage: " PROG " ROOT [-o OUTDIR] [-j N] [--splits train,val,test] [options]\n"
"\n"
"Converts Cityscapes gtFine instance annotations to COCO instance JSON, annotation for\n"
"annotation what MMDetection's tools/dataset_converters/cityscapes.py writes.\n"
"Reads ROOT/leftImg8bit/<split>/<city>/*_leftImg8bit.png (listed, not opened) and\n"
"ROOT/gtFine/<split>/<city>/*_gtFine_instanceIds.png (16-bit greyscale), writes\n"
"OUTDIR/instancesonly_filtered_gtFine_<split>.json for every split.\n"
"\n"
"Options:\n"
"  -o, --out-dir OUTDIR  output folder (default ROOT/annotations; created if missing)\n"
"  -j, --jobs N          worker threads (default: all cores; --nproc is the same)\n"
"      --splits LIST     comma-separated splits (default train,val,test: those present;\n"
"                        a split named here must exist)\n"
"      --contiguous-ids  category ids 1..8 instead of the raw Cityscapes ids 24..33\n"
"      --start-id N      first image and annotation id (default 0, as MMDetection;\n"
"                        pycocotools' COCOeval never matches an annotation with id 0,\n"
"                        so use 1 for files you evaluate with it)\n"
"      --from SOURCE     png (default): the instanceIds PNGs; polygons: rasterise\n"
"                        *_gtFine_polygons.json as cityscapesScripts' json2instanceImg\n"
"                        does (Pillow 13 polygon fill), for datasets without the PNGs\n"
"      --skip-missing    skip a missing or bad GT file (counted, exit 1) instead of\n"
"                        stopping with an error\n"
"      --allow-8bit      accept 8-bit greyscale instanceIds (values read as they are)\n"
"  -q, --quiet           no progress bar and no summary line\n"
"  -h, --help            this help\n"
"  -V, --version         print the version\n"
"\n"
"Output: images sorted by \"city/file\" (MMDetection uses directory order), ids from 0,\n"
"categories {id, name} for person rider car truck bus train motorcycle bicycle,\n"
"annotations {iscrowd, category_id, bbox, area, segmentation (compressed RLE), image_id,\n"
"id}; a split without annotations keeps \"annotations\": [].\n"
"Exit status: 0 done, 1 done with skipped files, 2 bad usage or input, 3 environment.\n"
"\n"
"Example:\n"
"  " PROG " data/cityscapes -o data/cityscapes/annotations -j 8\n");
}

typedef struct ui {
    qn_progress bar;
    int quiet;
    char label[64];
} ui;

static void on_split(void *ctx, const char *split, size_t n)
{
    ui *u = ctx;
    qn_progress_finish(&u->bar);
    snprintf(u->label, sizeof u->label, "%s", split);
    qn_progress_start(&u->bar, u->label, n, u->quiet);
}

static void on_image(void *ctx, size_t done, size_t total)
{
    (void)total;
    qn_progress_update(&((ui *)ctx)->bar, done);
}

static void on_skip(void *ctx, const char *msg)
{
    ui *u = ctx;
    qn_progress_finish(&u->bar);
    fprintf(stderr, PROG ": skipped: %s\n", msg);
}

/* Splits "a,b,c" in place into list; max + 1 when there are more than max. */
static size_t parse_splits(char *s, const char **list, size_t max)
{
    size_t n = 0;
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ","))
        if (n == max)
            return max + 1;
        else
            list[n++] = tok;
    return n;
}

static int bad_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, PROG ": ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry '" PROG " --help'.\n");
    return 2;
}

int main(int argc, char **argv)
{
    qn_cli_init();
    enum { O_SPLITS = 256, O_CONTIG, O_FROM, O_SKIP, O_8BIT, O_START };
    static const struct option longopts[] = {
        {"out-dir", required_argument, NULL, 'o'}, {"jobs", required_argument, NULL, 'j'},
        {"nproc", required_argument, NULL, 'j'},   {"splits", required_argument, NULL, O_SPLITS},
        {"contiguous-ids", no_argument, NULL, O_CONTIG}, 
        {"start-id", required_argument, NULL, O_START},
        {"from", required_argument, NULL, O_FROM}, {"skip-missing", no_argument, NULL, O_SKIP},
        {"allow-8bit", no_argument, NULL, O_8BIT}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},          {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    cs_options o;
    memset(&o, 0, sizeof o);
    const char *splits[16];
    int quiet = 0, c;
    char *end;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:j:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o.outdir = optarg; break;
        case 'j':
            o.threads = (int)strtol(optarg, &end, 10);
            if (*end || end == optarg || o.threads < 1 || o.threads > 256)
                return bad_usage("-j wants a number of threads from 1 to 256, not '%s'", optarg);
            break;
        case O_SPLITS:
            o.nsplits = parse_splits(optarg, splits, 16);
            o.splits = splits;
            if (!o.nsplits || o.nsplits > 16)
                return bad_usage("--splits wants a list of 1 to 16 names like train,val%s", "");
            for (size_t i = 0; i < o.nsplits; i++) {
                if (strchr(splits[i], '/') || strcmp(splits[i], "..") == 0 ||
                    strcmp(splits[i], ".") == 0)
                    return bad_usage("--splits: '%s' is not a split name", splits[i]);
                for (size_t k = 0; k < i; k++)
                    if (strcmp(splits[k], splits[i]) == 0)
                        return bad_usage("--splits: '%s' named twice", splits[i]);
            }
            break;
        case O_CONTIG: o.contiguous_ids = 1; break;
        case O_START: {
            long long v = strtoll(optarg, &end, 10);
            if (*end || end == optarg || v < 0 || v > 1000000000000LL)
                return bad_usage("--start-id wants a number from 0, not '%s'", optarg);
            o.start_id = (size_t)v;
            break;
        }
        case O_FROM:
            if (strcmp(optarg, "polygons") == 0)
                o.from_polygons = 1;
            else if (strcmp(optarg, "png") != 0)
                return bad_usage("--from wants 'png' or 'polygons', not '%s'", optarg);
            break;
        case O_SKIP: o.skip_missing = 1; break;
        case O_8BIT: o.allow_8bit = 1; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf(PROG " %s\n", QUERN_VERSION); return 0;
        case ':': return bad_usage("option '%s' needs a value", argv[optind - 1]);
        default: return bad_usage("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return bad_usage(optind >= argc ? "missing ROOT (the Cityscapes folder)%s"
                                        : "one ROOT only, got '%s' too", optind >= argc ? "" : argv[optind + 1]);
    o.root = argv[optind];

    ui u;
    memset(&u, 0, sizeof u);
    u.quiet = quiet;
    cs_callbacks cb = {&u, on_split, on_image, on_skip};
    cs_stats st;
    qn_error err;
    qn_error_clear(&err);
    double t0 = qn_now();
    int rc = cs_convert(&o, &cb, &st, &err);
    qn_progress_finish(&u.bar);
    if (rc) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return qn_exit_code(rc);
    }
    if (!quiet) /* on stderr, like every quern program: stdout stays for data */
        fprintf(stderr, PROG ": %zu split%s, %zu images, %zu annotations (%zu crowd), %zu skipped, "
               "%.2f s\n", st.splits, st.splits == 1 ? "" : "s", st.images, st.annotations,
               st.crowd, st.skipped, qn_now() - t0);
    if (fflush(stdout) != 0)
        return 3;
    return st.skipped ? 1 : 0;
}
