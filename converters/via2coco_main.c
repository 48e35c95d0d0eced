/* via2coco_main.c — quern-via2coco: the command line over via_convert(). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qn_error.h"
#include "qn_progress.h"
#include "qn_version.h"
#include "via.h"

#define PROG "quern-via2coco"

static void usage(FILE *f)
{
    fputs(
"Usage: " PROG " INPUT.json -o OUT.json [options]\n"
"Convert VIA (VGG Image Annotator) annotations to COCO instance JSON.\n"
"\n"
"Reads VIA 1.x region JSON (the balloon via_region_data.json), VIA 2.x annotation\n"
"exports and project files, and VIA 3.x projects; the flavour is detected.\n"
"Image sizes come from the JPEG/PNG headers (EXIF orientation applied).\n"
"\n"
"Options:\n"
"  -o, --output FILE        COCO JSON to write (atomically; required)\n"
"      --format F           auto (default), via1, via2, via2-project, via3\n"
"      --class NAME         every region is of class NAME (single-class sets)\n"
"      --category-attr NAME take the class from region attribute NAME; dropdown,\n"
"                           radio and image option ids become their labels (the id\n"
"                           when the label is empty), a checkbox must have exactly\n"
"                           one option checked, text is used as it is\n"
"      --attributes FILE    VIA 2 attribute definitions (_via_attributes, or a\n"
"                           project file) for exports, which lack them\n"
"      --categories FILE    pin category names to ids (and supercategory): a JSON\n"
"                           list of {id, name, supercategory}, a COCO file, or text\n"
"                           with one name per line (ids 1, 2, ...)\n"
"      --skip-unknown       skip regions whose class is unknown or missing (else error)\n"
"      --image-dir DIR      where the images are (default: beside INPUT)\n"
"      --skip-missing       skip images that are missing or unreadable (else error)\n"
"      --area polygon|mask  area: shoelace area of the polygon (default) or the\n"
"                           pycocotools-rasterised pixel count\n"
"      --clip               clip polygons to the image (else a point outside is an error)\n"
"      --start-id N         first image and annotation id (default 1)\n"
"  -q, --quiet              no progress bar and no summary\n"
"  -h, --help               this help\n"
"      --version            print the version\n"
"\n"
"Shapes: polygon as given; rect -> 4 vertices; circle and ellipse (rotated by theta)\n"
"-> 72 vertices at 5-degree steps; point and polyline are skipped and counted.\n"
"Category ids: as pinned by --categories, else in the order of the attribute's\n"
"defined options, else by name order. bbox is the polygon's tight box; iscrowd 0.\n"
"\n"
"Exit status: 0 done, 1 done but regions or images were skipped (--skip-*, --clip),\n"
"2 bad usage or input, 3 environment (e.g. disk full).\n"
"\n"
"Example:\n"
"  " PROG " balloon/train/via_region_data.json -o train.json --class balloon\n"
"  " PROG " project.json -o val.json --category-attr type --categories cats.json\n",
        f);
}

static void progress_cb(void *ctx, uint64_t done, uint64_t total)
{
    qn_progress *p = ctx;
    if (done == 1)
        p->total = total;
    qn_progress_update(p, done);
}

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    if (!*s || *s == '-')
        return -1;
    unsigned long long x = strtoull(s, &end, 10);
    if (*end)
        return -1;
    *v = x;
    return 0;
}

static void summary(const via_options *o, const via_stats *st, double secs)
{
    char views[64] = "";
    if (st->skipped_views) /* VIA 3 only: views of videos, audio, several files */
        snprintf(views, sizeof views, ", %llu non-image views", (unsigned long long)st->skipped_views);
    fprintf(stderr, "%s: %s: %llu images, %llu annotations, 0 crowd, %llu categories; skipped: "
            "%llu points, %llu polylines, %llu unknown class, %llu missing images (%llu regions), "
            "%llu outside%s; %llu clipped; %.2f s -> %s\n",
            PROG, via_format_name(st->format), (unsigned long long)st->images,
            (unsigned long long)st->annotations, (unsigned long long)st->categories,
            (unsigned long long)st->skipped_points, (unsigned long long)st->skipped_polylines,
            (unsigned long long)st->skipped_unknown, (unsigned long long)st->skipped_missing,
            (unsigned long long)st->skipped_missing_regions,
            (unsigned long long)st->skipped_outside, views, (unsigned long long)st->clipped, secs,
            o->output);
}

enum { O_FORMAT = 256, O_CLASS, O_CATATTR, O_CATS, O_ATTRS, O_SKIPUNK, O_IMGDIR, O_SKIPMISS,
       O_AREA, O_CLIP, O_START, O_VERSION };

static int parse_args(int argc, char **argv, via_options *o, int *quiet)
{
    static const struct option longs[] = {
        {"output", required_argument, 0, 'o'}, {"format", required_argument, 0, O_FORMAT},
        {"class", required_argument, 0, O_CLASS}, {"category-attr", required_argument, 0, O_CATATTR},
        {"categories", required_argument, 0, O_CATS}, {"attributes", required_argument, 0, O_ATTRS},
        {"skip-unknown", no_argument, 0, O_SKIPUNK}, {"image-dir", required_argument, 0, O_IMGDIR},
        {"skip-missing", no_argument, 0, O_SKIPMISS}, {"area", required_argument, 0, O_AREA},
        {"clip", no_argument, 0, O_CLIP}, {"start-id", required_argument, 0, O_START},
        {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:qh", longs, NULL)) != -1) {
        switch (c) {
        case 'o': o->output = optarg; break;
        case O_FORMAT:
            if ((o->format = via_format_parse(optarg)) < 0) {
                fprintf(stderr, "%s: --format: unknown format \"%s\" (auto, via1, via2, "
                        "via2-project, via3)\n", PROG, optarg);
                return 2;
            }
            break;
        case O_CLASS: o->class_name = optarg; break;
        case O_CATATTR: o->category_attr = optarg; break;
        case O_CATS: o->categories_file = optarg; break;
        case O_ATTRS: o->attributes_file = optarg; break;
        case O_SKIPUNK: o->skip_unknown = 1; break;
        case O_IMGDIR: o->image_dir = optarg; break;
        case O_SKIPMISS: o->skip_missing = 1; break;
        case O_AREA:
            if (strcmp(optarg, "polygon") && strcmp(optarg, "mask")) {
                fprintf(stderr, "%s: --area: expected polygon or mask, got \"%s\"\n", PROG, optarg);
                return 2;
            }
            o->area = strcmp(optarg, "mask") == 0 ? VIA_AREA_MASK : VIA_AREA_POLYGON;
            break;
        case O_CLIP: o->clip = 1; break;
        case O_START:
            if (parse_u64(optarg, &o->start_id) || o->start_id > (1ull << 52)) {
                fprintf(stderr, "%s: --start-id: expected an integer in 0..2^52, got \"%s\"\n",
                        PROG, optarg);
                return 2;
            }
            break;
        case 'q': *quiet = 1; break;
        case 'h': usage(stdout); return 0;
        case O_VERSION: printf("%s %s\n", PROG, QUERN_VERSION); return 0;
        case ':':
            fprintf(stderr, "%s: option %s needs a value (see --help)\n", PROG, argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "%s: unknown option %s (see --help)\n", PROG, argv[optind - 1]);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "%s: expected one input file, got %d (see --help)\n", PROG, argc - optind);
        return 2;
    }
    o->input = argv[optind];
    return -1;
}

int main(int argc, char **argv)
{
    qn_cli_init();
    via_options o;
    via_options_init(&o);
    int quiet = 0;
    int code = parse_args(argc, argv, &o, &quiet);
    if (code >= 0)
        return code;
    qn_progress bar;
    qn_progress_start(&bar, "via2coco", 0, quiet);
    o.progress = progress_cb;
    o.progress_ctx = &bar;
    double t0 = qn_now();
    via_stats st;
    qn_error err;
    qn_error_clear(&err);
    int rc = via_convert(&o, &st, &err);
    qn_progress_finish(&bar);
    if (rc != QN_OK) {
        fprintf(stderr, "%s: %s\n", PROG, err.msg);
        return qn_exit_code(rc);
    }
    if (!quiet)
        summary(&o, &st, qn_now() - t0);
    return via_stats_skipped(&st) ? QN_EXIT_SKIPPED : QN_EXIT_OK;
}
