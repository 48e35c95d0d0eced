/* via_int.h — private interfaces between the via*.c files (not installed).
 *
 *   via_util.c   error context ("file: image \"x\" region 3: ..."), growable arrays,
 *                JSON files (a byte order mark skipped)
 *   via_detect.c which flavour a JSON document is, and its images in order
 *   via_shapes.c VIA 2 shape_attributes / VIA 3 xy arrays -> polygon
 *   via_geom.c   validation, clipping to the image, bbox, area
 *   via_attrs.c  region attribute definitions and class value resolution
 *   via_cats.c   the category table (pinned, fixed from definitions, or open)
 *   via_write.c  the COCO JSON writer
 *   via_convert.c the driver behind via_convert()
 */
#ifndef VIA_INT_H
#define VIA_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "qn_error.h"
#include "via.h"

/* ---- error context ---- */
typedef struct via_where {
    const char *file;   /* the VIA JSON path */
    const char *image;  /* file name of the image, or NULL */
    const char *region; /* region label ("3" or "\"1_ab\""), or NULL */
} via_where;

/* Fills err with "file: image \"x\" region r: <fmt>" (the parts that are known). */
int via_fail(qn_error *err, int status, const via_where *w, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Grows *p (element size sz) to hold at least n elements; QN_OK or QN_ENOMEM. */
int via_grow(void **p, size_t *cap, size_t n, size_t sz);

/* Reads and parses a JSON file, skipping a UTF-8 byte order mark; errors name
 * file:line:col. *out is NULL unless QN_OK. */
int via_load_json(const char *path, json_t **out, qn_error *err);

/* ---- flavours and images ---- */
typedef struct via_src {
    const char *file_name;  /* borrowed from the JSON tree */
    const json_t *regions;  /* VIA 1/2: object or array of regions; VIA 3: array of metadata */
    json_t *owned;          /* VIA 3: the array built for this view (decref'd by via_srcs_free) */
} via_src;

typedef struct via_srcs {
    via_src *v;
    size_t n, cap;
    uint64_t skipped_views; /* VIA 3 views of non-image files */
} via_srcs;

int via_detect(const json_t *root, int forced, int *format, const char *file, qn_error *err);
/* Lists the images in annotation order (VIA 2 project: _via_image_id_list, then
 * any metadata not in it; VIA 3: project.vid_list, then other views). */
int via_list_images(const json_t *root, int format, via_srcs *out, const char *file,
                    qn_error *err);
void via_srcs_free(via_srcs *s);
/* VIA 3 part of via_list_images (via_v3.c): one source per image view, its
 * regions an array of [mid, metadata] pairs in metadata order. */
int via_list_v3(const json_t *root, via_srcs *out, const char *file, qn_error *err);

/* ---- shapes ---- */
enum via_shape_kind { VIA_SHAPE_POLYGON = 0, VIA_SHAPE_POINT, VIA_SHAPE_POLYLINE };

typedef struct via_poly {
    double *xy; /* x0,y0,x1,y1,... */
    size_t n;   /* vertices */
    size_t cap; /* doubles allocated */
} via_poly;

void via_poly_free(via_poly *p);
int via_poly_reserve(via_poly *p, size_t n);

/* Converts one region shape; *kind says whether a polygon was produced. */
int via_shape_v2(const json_t *shape, via_poly *out, int *kind, const via_where *w,
                 qn_error *err);
int via_shape_v3(const json_t *xy, via_poly *out, int *kind, const via_where *w, qn_error *err);
/* VIA_ROUND_VERTICES vertices of an ellipse rotated by theta (radians). */
int via_round_shape(via_poly *out, double cx, double cy, double rx, double ry, double theta);

/* ---- geometry ---- */
enum via_geom_outcome { VIA_GEOM_KEPT = 0, VIA_GEOM_CLIPPED, VIA_GEOM_OUTSIDE };

double via_shoelace(const double *xy, size_t n);
void via_bbox(const double *xy, size_t n, double bb[4]);
/* Clips the polygon to [0,w]x[0,h] (Sutherland-Hodgman); may leave < 3 vertices. */
int via_clip(via_poly *p, double w, double h);
/* Validates p for an image of w x h, clips it when clip is set, then computes
 * bbox and area (shoelace, or mask area when area_mode is VIA_AREA_MASK).
 * *outcome: kept, clipped, or nothing left inside (only with clip). */
int via_geom_finish(via_poly *p, uint32_t w, uint32_t h, int clip, int area_mode, double bb[4],
                    double *area, int *outcome, const via_where *wh, qn_error *err);

/* ---- attributes and classes ---- */
enum via_attr_type {
    VIA_ATTR_UNDEFINED = 0, /* no definition: values are used as they are */
    VIA_ATTR_TEXT,
    VIA_ATTR_CHECKBOX,
    VIA_ATTR_RADIO,
    VIA_ATTR_DROPDOWN,
    VIA_ATTR_IMAGE
};

typedef struct via_attrdef {
    int type;               /* enum via_attr_type */
    const json_t *options;  /* {option_id: label} or NULL */
    const char *name;       /* the attribute name */
    const char *key;        /* the key values are stored under (VIA 3: the aid) */
} via_attrdef;

/* Finds the definition of region attribute name: VIA 2 in a _via_attributes
 * "region" object, VIA 3 in the "attribute" object (by aname, or by aid).
 * Returns 1 if found, 0 if not (def->type = VIA_ATTR_UNDEFINED, key = name). */
int via_attrdef_v2(const json_t *region_defs, const char *name, via_attrdef *def);
int via_attrdef_v3(const json_t *attribute, const char *name, via_attrdef *def);
/* Labels of a definition's options, in order, for fixed category tables;
 * an empty label stands for its option id. */
const char *via_option_label(const char *option_id, const char *label);

enum via_class_status { VIA_CLASS_OK = 0, VIA_CLASS_MISSING, VIA_CLASS_UNKNOWN };
/* Resolves a region's class from its attribute object (VIA 2 region_attributes,
 * VIA 3 av). *name is borrowed from the JSON tree or points into scratch.
 * Returns VIA_CLASS_*; on MISSING/UNKNOWN why holds a message. */
int via_class_resolve(const via_attrdef *def, const json_t *attrs, int v3, const char **name,
                      char *scratch, size_t nscratch, char *why, size_t nwhy);

/* ---- categories ---- */
typedef struct via_cat {
    char *name;
    char *super;
    int64_t id;
} via_cat;

typedef struct via_cats {
    via_cat *v;
    size_t n, cap;
    size_t *slots;   /* open addressing: index + 1, 0 = empty */
    size_t nslots;
    int open;        /* unknown names are added (ids by name order at the end) */
    int pinned;      /* ids came from a file */
    size_t *order;   /* output order after via_cats_finish */
} via_cats;

void via_cats_init(via_cats *c);
void via_cats_free(via_cats *c);
/* Adds a category (id 0 = number later); an existing name returns its index. */
int via_cats_add(via_cats *c, const char *name, const char *super, int64_t id, size_t *idx);
/* 1 and *idx if present, else 0. */
int via_cats_find(const via_cats *c, const char *name, size_t *idx);
/* Loads pinned categories: a JSON array of {id, name, supercategory} or an object
 * with such a "categories" array (e.g. a COCO file), or text with one name per
 * line (ids 1, 2, ... in line order; '#' starts a comment). */
int via_cats_load(via_cats *c, const char *path, const char *default_super, qn_error *err);
/* Numbers unnumbered categories (open tables: by byte order of name) and fixes
 * the output order (pinned: file order; others: by id). */
int via_cats_finish(via_cats *c);

/* ---- the document and its writer ---- */
typedef struct via_image {
    const char *file_name; /* borrowed from the JSON tree */
    uint32_t width, height;
} via_image;

typedef struct via_ann {
    size_t image;  /* index into images */
    size_t cat;    /* index into cats */
    size_t off, n; /* vertices at pts[2*off ..] */
    double bbox[4];
    double area;
} via_ann;

typedef struct via_doc {
    via_image *img;
    size_t nimg, capimg;
    via_ann *ann;
    size_t nann, capann;
    double *pts;
    size_t npts, cappts; /* in doubles */
    via_cats cats;
    uint64_t start_id;
} via_doc;

/* Writes the COCO JSON (info, licenses, images, annotations, categories). Write errors
 * stay on f (ferror), for qn_atomic_commit to report. */
void via_write_coco(FILE *f, const via_doc *d);
/* Shortest text that reads back as exactly v ("3.0" for integral values, as
 * Python's json writes floats). buf needs 32 bytes; returns its length. */
int via_fmt_double(char *buf, double v);

#endif
