/* via_convert.c — the driver: load, detect, walk images and regions, write.
 *
 * Per image: the size from the file header (imgsize), then per region: shape ->
 * polygon, class (an unknown one skipped before any geometry), geometry checks
 * (and --clip) -> category. The document is kept in memory (one flat vertex
 * array) because category ids of an open table are known only at the end; the
 * output is then written in one pass, atomically.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imgsize.h"
#include "qn_atomic.h"
#include "via_int.h"

typedef struct run {
    const via_options *o;
    via_stats *st;
    qn_error *err;
    via_where w;
    via_doc doc;
    via_attrdef def;
    int v3;
    char *dir;      /* image directory */
    char *path;     /* scratch for dir/file_name */
    size_t pathcap;
    via_poly poly;
    char region[96];
    char cls[256];  /* a class name built from attribute values */
} run;

static int oom(run *r) { return via_fail(r->err, QN_ENOMEM, &r->w, "out of memory"); }

/* ---- class attribute and category table ---- */

static int find_attr_defs(run *r, const json_t *root, json_t **attrs_doc)
{
    const char *name = r->o->category_attr;
    if (r->v3) {
        if (!via_attrdef_v3(json_object_get(root, "attribute"), name, &r->def))
            return via_fail(r->err, QN_EUSAGE, &r->w,
                            "no region attribute named \"%s\" in \"attribute\"", name);
        return QN_OK;
    }
    const json_t *defs = json_object_get(json_object_get(root, "_via_attributes"), "region");
    if (r->o->attributes_file) {
        int rc = via_load_json(r->o->attributes_file, attrs_doc, r->err);
        if (rc != QN_OK)
            return rc;
        const json_t *a = json_object_get(*attrs_doc, "_via_attributes");
        defs = json_object_get(a ? a : *attrs_doc, "region");
        if (!json_is_object(defs))
            return qn_error_set(r->err, QN_EINPUT, "%s: no \"region\" attribute definitions "
                                "(expected VIA 2 _via_attributes or a project file)",
                                r->o->attributes_file);
        if (!via_attrdef_v2(defs, name, &r->def))
            return qn_error_set(r->err, QN_EUSAGE, "%s: no region attribute named \"%s\"",
                                r->o->attributes_file, name);
        return QN_OK;
    }
    via_attrdef_v2(defs, name, &r->def);
    return QN_OK;
}

static int setup_categories(run *r)
{
    via_cats *c = &r->doc.cats;
    const char *super = r->o->class_name ? r->o->class_name : r->o->category_attr;
    size_t idx;
    via_cats_init(c);
    if (r->o->categories_file)
        return via_cats_load(c, r->o->categories_file, super, r->err);
    if (r->o->class_name)
        return via_cats_add(c, r->o->class_name, super, 0, &idx) ? oom(r) : QN_OK;
    if (r->def.options) { /* every option, in definition order, so splits agree */
        const char *id;
        const json_t *lab;
        json_object_foreach((json_t *)r->def.options, id, lab)
            if (via_cats_add(c, via_option_label(id, json_string_value(lab)), super, 0, &idx))
                return oom(r);
        return QN_OK;
    }
    c->open = 1;
    return QN_OK;
}

/* ---- regions ---- */

/* The region's category: *cat, or for an open table *open, the name to add once the
 * region is kept (a region skipped later adds no category, so it moves no ids). */
static int region_class(run *r, const json_t *attrs, size_t *cat, const char **open, int *skip)
{
    char why[512];
    const char *name = r->o->class_name;
    const char *src = r->o->categories_file ? r->o->categories_file : "the categories";
    *skip = 0;
    *open = NULL;
    int cs = VIA_CLASS_OK;
    if (!name)
        cs = via_class_resolve(&r->def, attrs, r->v3, &name, r->cls, sizeof r->cls, why,
                               sizeof why);
    if (cs == VIA_CLASS_OK) {
        if (r->doc.cats.open) {
            *open = name;
            return QN_OK;
        }
        if (via_cats_find(&r->doc.cats, name, cat))
            return QN_OK;
        if (!r->o->categories_file)
            src = "the options of its attribute definition";
        snprintf(why, sizeof why, "class \"%s\" is not in %s", name, src);
    }
    if (r->o->skip_unknown) {
        r->st->skipped_unknown++;
        *skip = 1;
        return QN_OK;
    }
    return via_fail(r->err, QN_EINPUT, &r->w, "%s (--skip-unknown skips such regions)", why);
}

static int add_ann(run *r, size_t cat, const double bb[4], double area)
{
    via_doc *d = &r->doc;
    if (via_grow((void **)&d->ann, &d->capann, d->nann + 1, sizeof *d->ann) ||
        via_grow((void **)&d->pts, &d->cappts, d->npts + 2 * r->poly.n, sizeof *d->pts))
        return oom(r);
    via_ann *a = &d->ann[d->nann++];
    a->image = d->nimg - 1;
    a->cat = cat;
    a->off = d->npts / 2;
    a->n = r->poly.n;
    memcpy(a->bbox, bb, sizeof a->bbox);
    a->area = area;
    memcpy(d->pts + d->npts, r->poly.xy, 2 * r->poly.n * sizeof *d->pts);
    d->npts += 2 * r->poly.n;
    return QN_OK;
}

static int one_region(run *r, const json_t *shape_src, const json_t *attrs)
{
    int kind, rc, outcome, skip;
    if (r->v3 && json_array_size(shape_src) == 0)
        return QN_OK; /* a file-level annotation (empty xy), not a region */
    rc = r->v3 ? via_shape_v3(shape_src, &r->poly, &kind, &r->w, r->err)
               : via_shape_v2(shape_src, &r->poly, &kind, &r->w, r->err);
    if (rc != QN_OK)
        return rc;
    if (kind == VIA_SHAPE_POINT || kind == VIA_SHAPE_POLYLINE) {
        (*(kind == VIA_SHAPE_POINT ? &r->st->skipped_points : &r->st->skipped_polylines))++;
        return QN_OK;
    }
    /* the class first: a region --skip-unknown skips is not checked, clipped or rasterised */
    size_t cat;
    const char *open;
    if ((rc = region_class(r, attrs, &cat, &open, &skip)) != QN_OK || skip)
        return rc;
    const via_image *im = &r->doc.img[r->doc.nimg - 1];
    double bb[4], area;
    rc = via_geom_finish(&r->poly, im->width, im->height, r->o->clip, r->o->area, bb, &area,
                         &outcome, &r->w, r->err);
    if (rc != QN_OK)
        return rc;
    if (outcome == VIA_GEOM_OUTSIDE) {
        r->st->skipped_outside++;
        return QN_OK;
    }
    r->st->clipped += outcome == VIA_GEOM_CLIPPED;
    if (open && via_cats_add(&r->doc.cats, open, r->o->category_attr, 0, &cat))
        return oom(r);
    return add_ann(r, cat, bb, area);
}

static int image_regions(run *r, const json_t *regions)
{
    int rc = QN_OK;
    r->w.region = r->region;
    if (json_is_object(regions)) { /* VIA 1: {"0": region, ...} */
        const char *k;
        const json_t *reg;
        json_object_foreach((json_t *)regions, k, reg) {
            snprintf(r->region, sizeof r->region, "%s", k);
            rc = one_region(r, json_object_get(reg, "shape_attributes"),
                            json_object_get(reg, "region_attributes"));
            if (rc != QN_OK)
                break;
        }
    } else {
        size_t i;
        const json_t *reg;
        json_array_foreach(regions, i, reg) {
            if (r->v3) {
                snprintf(r->region, sizeof r->region, "\"%s\"",
                         json_string_value(json_array_get(reg, 0)));
                const json_t *md = json_array_get(reg, 1);
                rc = one_region(r, json_object_get(md, "xy"), json_object_get(md, "av"));
            } else {
                snprintf(r->region, sizeof r->region, "%zu", i);
                rc = one_region(r, json_object_get(reg, "shape_attributes"),
                                json_object_get(reg, "region_attributes"));
            }
            if (rc != QN_OK)
                break;
        }
    }
    r->w.region = NULL;
    return rc;
}

/* ---- images ---- */

static const char *image_path(run *r, const char *name)
{
    if (name[0] == '/')
        return name;
    size_t need = strlen(r->dir) + strlen(name) + 2;
    if (via_grow((void **)&r->path, &r->pathcap, need, 1) != QN_OK)
        return NULL;
    snprintf(r->path, r->pathcap, "%s/%s", r->dir, name);
    return r->path;
}

static int one_image(run *r, const via_src *s)
{
    r->w.image = s->file_name;
    const char *path = image_path(r, s->file_name);
    if (!path)
        return oom(r);
    imgsize_info info;
    qn_error ie;
    qn_error_clear(&ie);
    int rc = imgsize_probe(path, &info, &ie);
    if (rc == QN_EINPUT && r->o->skip_missing) {
        r->st->skipped_missing++;
        r->st->skipped_missing_regions +=
            json_is_object(s->regions) ? json_object_size(s->regions) : json_array_size(s->regions);
        return QN_OK;
    }
    if (rc != QN_OK)
        return via_fail(r->err, rc, &r->w, "%s%s", ie.msg,
                        rc == QN_EINPUT ? " (--skip-missing skips such images)" : "");
    via_doc *d = &r->doc;
    if (via_grow((void **)&d->img, &d->capimg, d->nimg + 1, sizeof *d->img))
        return oom(r);
    d->img[d->nimg++] = (via_image){s->file_name, info.width, info.height};
    return image_regions(r, s->regions);
}

static int check_options(const via_options *o, qn_error *err)
{
    if (!o->input || !o->output)
        return qn_error_set(err, QN_EUSAGE, "need an input file and -o OUTPUT");
    if (o->class_name && o->category_attr)
        return qn_error_set(err, QN_EUSAGE, "give --class or --category-attr, not both");
    if (!o->class_name && !o->category_attr)
        return qn_error_set(err, QN_EUSAGE, "say where classes come from: --class NAME for a "
                            "single-class set, or --category-attr NAME for a region attribute");
    if (o->class_name && !*o->class_name)
        return qn_error_set(err, QN_EUSAGE, "--class needs a non-empty name");
    if (o->attributes_file && !o->category_attr)
        return qn_error_set(err, QN_EUSAGE, "--attributes is used with --category-attr");
    return QN_OK;
}

/* The output is replaced by renaming a temporary over it, which would turn a
 * device or a FIFO given as -o (/dev/null, /dev/stdout) into a regular file, and
 * would replace an input given as -o by mistake: refuse those instead. */
static int check_output_path(const via_options *o, qn_error *err)
{
    struct stat sb, in;
    if (stat(o->output, &sb) != 0) { /* a new file: its directory must take it, now */
        char *tmp = strdup(o->output);
        if (!tmp)
            return qn_error_set(err, QN_ENOMEM, "out of memory");
        const char *dir = dirname(tmp);
        int rc = QN_OK;
        if (stat(dir, &sb) != 0)
            rc = qn_error_errno(err, QN_EINPUT, errno, "%s: cannot create output", o->output);
        else if (!S_ISDIR(sb.st_mode))
            rc = qn_error_errno(err, QN_EINPUT, ENOTDIR, "%s: cannot create output", o->output);
        else if (access(dir, W_OK | X_OK) != 0)
            rc = qn_error_errno(err, QN_EINPUT, errno, "%s: cannot create output", o->output);
        free(tmp);
        return rc;
    }
    if (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode))
        return qn_error_set(err, QN_EUSAGE, "%s: not a regular file (the output is written to "
                            "a temporary file renamed over it, which would replace it)",
                            o->output);
    const char *inputs[] = {o->input, o->categories_file, o->attributes_file};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        if (inputs[i] && stat(inputs[i], &in) == 0 && in.st_dev == sb.st_dev &&
            in.st_ino == sb.st_ino)
            return qn_error_set(err, QN_EUSAGE, "%s: is also an input (%s); the output would "
                                "replace it", o->output, inputs[i]);
    return QN_OK;
}

static int write_output(run *r)
{
    qn_atomic af;
    int rc = qn_atomic_open(&af, r->o->output, r->err);
    if (rc != QN_OK)
        return rc;
    char *buf = malloc(1 << 20);
    if (buf)
        setvbuf(af.fp, buf, _IOFBF, 1 << 20);
    via_write_coco(af.fp, &r->doc);
    rc = qn_atomic_commit(&af, r->err); /* a write error surfaces here (ferror) */
    free(buf);
    return rc;
}

static int convert(run *r, json_t *root, json_t **attrs_doc, via_srcs *srcs)
{
    const via_options *o = r->o;
    int rc = via_detect(root, o->format, &r->st->format, o->input, r->err);
    if (rc != QN_OK)
        return rc;
    r->v3 = r->st->format == VIA_FMT_VIA3;
    if (r->v3 && o->attributes_file)
        return qn_error_set(r->err, QN_EUSAGE, "--attributes is for VIA 2 files; VIA 3 projects "
                            "carry their attribute definitions");
    if (o->category_attr && (rc = find_attr_defs(r, root, attrs_doc)) != QN_OK)
        return rc;
    if ((rc = setup_categories(r)) != QN_OK)
        return rc;
    if ((rc = via_list_images(root, r->st->format, srcs, o->input, r->err)) != QN_OK)
        return rc;
    r->st->skipped_views = srcs->skipped_views;
    for (size_t i = 0; i < srcs->n; i++) {
        if ((rc = one_image(r, &srcs->v[i])) != QN_OK)
            return rc;
        if (o->progress)
            o->progress(o->progress_ctx, i + 1, srcs->n);
    }
    r->w.image = NULL;
    if (via_cats_finish(&r->doc.cats) != QN_OK)
        return oom(r);
    r->st->images = r->doc.nimg;
    r->st->annotations = r->doc.nann;
    r->st->categories = r->doc.cats.n;
    return write_output(r);
}

int via_convert(const via_options *o, via_stats *st, qn_error *err)
{
    memset(st, 0, sizeof *st);
    int rc = check_options(o, err);
    if (rc == QN_OK) /* before the work, not after it */
        rc = check_output_path(o, err);
    if (rc != QN_OK)
        return rc;
    run r = {.o = o, .st = st, .err = err, .w = {.file = o->input}};
    r.doc.start_id = o->start_id;
    if (o->image_dir) {
        r.dir = strdup(o->image_dir);
    } else {
        char *tmp = strdup(o->input);
        r.dir = tmp ? strdup(dirname(tmp)) : NULL;
        free(tmp);
    }
    json_t *root = NULL, *attrs_doc = NULL;
    via_srcs srcs = {0};
    if (!r.dir)
        rc = qn_error_set(err, QN_ENOMEM, "out of memory");
    else if ((rc = via_load_json(o->input, &root, err)) == QN_OK)
        rc = convert(&r, root, &attrs_doc, &srcs);
    via_srcs_free(&srcs);
    json_decref(attrs_doc);
    json_decref(root);
    via_cats_free(&r.doc.cats);
    via_poly_free(&r.poly);
    free(r.doc.img);
    free(r.doc.ann);
    free(r.doc.pts);
    free(r.path);
    free(r.dir);
    return rc;
}
