/* via.h — VIA (VGG Image Annotator) annotations to COCO instance JSON.
 *
 * Reads every VIA flavour: VIA 1.x region JSON (`regions` an object, the balloon
 * via_region_data.json), VIA 2.x annotation export (`regions` a list), VIA 2.x
 * project (`_via_img_metadata`, `_via_attributes`, `_via_image_id_list`) and
 * VIA 3.x project (`file`, `view`, `metadata[*].xy`, `attribute`).
 *
 * Conventions of the output (README "quern-via2coco"):
 * - polygon kept as given (no +0.5 shift); rect -> 4 vertices; circle and ellipse
 *   (rotated by theta when present) -> VIA_ROUND_VERTICES vertices at 5-degree
 *   steps from angle 0, rounded to 1/1000 pixel; VIA 3 extreme rectangle -> the
 *   box of its points, extreme circle -> the circle through its first 3 points.
 *   point, polyline (and VIA 3 line) shapes are skipped and counted.
 * - bbox = tight box of the polygon; area = shoelace area of the polygon, or with
 *   VIA_AREA_MASK the pycocotools-rasterised pixel count; iscrowd 0.
 * - image and annotation ids count from start_id in input order; category ids
 *   are pinned by a categories file, else follow the option order of the class
 *   attribute's definition, else the byte order of the class names (never the
 *   order of first appearance, so splits agree).
 * - The same input and options always give byte-identical output.
 */
#ifndef VIA_H
#define VIA_H

#include <stddef.h>
#include <stdint.h>

#include "qn_error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VIA_ROUND_VERTICES 72

enum via_format {
    VIA_FMT_AUTO = 0,
    VIA_FMT_VIA1,        /* VIA 1.x region JSON: regions is an object */
    VIA_FMT_VIA2,        /* VIA 2.x annotation export: regions is a list */
    VIA_FMT_VIA2_PROJECT,/* VIA 2.x project file */
    VIA_FMT_VIA3         /* VIA 3.x project file */
};

enum via_area { VIA_AREA_POLYGON = 0, VIA_AREA_MASK };

typedef void (*via_progress_fn)(void *ctx, uint64_t done, uint64_t total);

typedef struct via_options {
    const char *input;           /* VIA JSON */
    const char *output;          /* COCO JSON, written atomically */
    const char *image_dir;       /* NULL: the directory of input */
    int format;                  /* enum via_format */
    const char *class_name;      /* --class: every region gets this class */
    const char *category_attr;   /* --category-attr: region attribute holding the class */
    const char *categories_file; /* --categories: pinned names, ids, supercategories */
    const char *attributes_file; /* --attributes: VIA 2 _via_attributes for exports */
    int skip_unknown;            /* skip regions whose class is unknown or missing */
    int skip_missing;            /* skip images that are missing or unreadable */
    int clip;                    /* clip polygons to the image instead of failing */
    int area;                    /* enum via_area */
    uint64_t start_id;           /* first image and annotation id (default 1) */
    via_progress_fn progress;    /* called once per image; may be NULL */
    void *progress_ctx;
} via_options;

typedef struct via_stats {
    int format;                  /* the flavour read */
    uint64_t images, annotations, categories;
    uint64_t skipped_points, skipped_polylines; /* shapes COCO instances cannot hold */
    uint64_t skipped_unknown;    /* regions with an unknown or missing class */
    uint64_t skipped_missing;    /* images missing or unreadable */
    uint64_t skipped_missing_regions; /* regions of those images */
    uint64_t skipped_outside;    /* regions with nothing left inside the image after --clip */
    uint64_t skipped_views;      /* VIA 3 views of non-image files (video, audio) */
    uint64_t clipped;            /* regions changed by --clip */
} via_stats;

/* Sets the defaults (auto format, polygon area, start id 1). */
void via_options_init(via_options *o);

/* Converts o->input to o->output. Returns QN_OK, or QN_EUSAGE/QN_EINPUT/QN_EENV/
 * QN_ENOMEM with one line in err: "file:line:col: ..." for JSON errors,
 * "file: image \"x.jpg\" region 3: ..." for content errors. On error no output
 * file is created or replaced. st is filled as far as the run got. */
int via_convert(const via_options *o, via_stats *st, qn_error *err);

/* "via1", "via2", "via2-project", "via3" ("auto" for VIA_FMT_AUTO). */
const char *via_format_name(int format);
/* Parses a name above; -1 if unknown. */
int via_format_parse(const char *name);

/* Total skipped inputs that make the run "done with skips" (exit 1). */
uint64_t via_stats_skipped(const via_stats *st);

#ifdef __cplusplus
}
#endif
#endif
