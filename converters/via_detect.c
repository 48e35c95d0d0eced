/* via_detect.c — which VIA flavour a document is, and its images in order.
 *
 * Flavour rules (auto): `_via_img_metadata` -> VIA 2 project; `metadata`, `file`
 * and `view` objects -> VIA 3 project; otherwise an export keyed by image id,
 * VIA 1 if the first image's `regions` is an object, VIA 2 if it is a list (an
 * export without images reads as VIA 2).
 */
#include <stdlib.h>
#include <string.h>

#include "via_int.h"

static int is_obj(const json_t *o, const char *k) { return json_is_object(json_object_get(o, k)); }

static int export_flavour(const json_t *root)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)root, key, v) {
        const json_t *r = json_object_get(v, "regions");
        if (json_is_object(r))
            return VIA_FMT_VIA1;
        if (json_is_array(r))
            return VIA_FMT_VIA2;
    }
    return VIA_FMT_VIA2;
}

int via_detect(const json_t *root, int forced, int *format, const char *file, qn_error *err)
{
    via_where w = {.file = file};
    if (!json_is_object(root))
        return via_fail(err, QN_EINPUT, &w, "top level is not a JSON object, so not a VIA file");
    int found;
    if (json_object_get(root, "_via_img_metadata"))
        found = VIA_FMT_VIA2_PROJECT;
    else if (is_obj(root, "metadata") && is_obj(root, "file") && is_obj(root, "view"))
        found = VIA_FMT_VIA3;
    else
        found = export_flavour(root);
    if (forced == VIA_FMT_AUTO) {
        *format = found;
        return QN_OK;
    }
    int forced_export = forced == VIA_FMT_VIA1 || forced == VIA_FMT_VIA2;
    int found_export = found == VIA_FMT_VIA1 || found == VIA_FMT_VIA2;
    if (forced != found && !(forced_export && found_export))
        return via_fail(err, QN_EINPUT, &w, "--format %s given, but this looks like %s",
                        via_format_name(forced), via_format_name(found));
    *format = forced;
    return QN_OK;
}

static int push(via_srcs *s, const char *name, const json_t *regions, json_t *owned)
{
    if (via_grow((void **)&s->v, &s->cap, s->n + 1, sizeof *s->v) != QN_OK) {
        json_decref(owned);
        return QN_ENOMEM;
    }
    s->v[s->n++] = (via_src){name, regions, owned};
    return QN_OK;
}

/* One image record of a VIA 1/2 export or a project's _via_img_metadata. */
static int add_record(via_srcs *out, const char *key, const json_t *rec, int format,
                      const char *file, qn_error *err)
{
    via_where w = {.file = file};
    if (!json_is_object(rec))
        return via_fail(err, QN_EINPUT, &w, "entry \"%s\" is not an image record (object)", key);
    const char *name = json_string_value(json_object_get(rec, "filename"));
    if (!name || !*name)
        return via_fail(err, QN_EINPUT, &w, "entry \"%s\" has no \"filename\"", key);
    w.image = name;
    const json_t *regions = json_object_get(rec, "regions");
    if (!regions)
        return via_fail(err, QN_EINPUT, &w, "no \"regions\" (is this a VIA annotation file?)");
    if (format == VIA_FMT_VIA1 && !json_is_object(regions))
        return via_fail(err, QN_EINPUT, &w,
                        "\"regions\" is not an object as in VIA 1 (a VIA 2 export has a list: "
                        "use --format via2 or auto)");
    if (format != VIA_FMT_VIA1 && !json_is_array(regions) && !json_is_object(regions))
        return via_fail(err, QN_EINPUT, &w, "\"regions\" is neither a list nor an object");
    if (format == VIA_FMT_VIA2 && !json_is_array(regions))
        return via_fail(err, QN_EINPUT, &w,
                        "\"regions\" is not a list as in a VIA 2 export (VIA 1 has an object: "
                        "use --format via1 or auto)");
    int rc = push(out, name, regions, NULL);
    return rc == QN_OK ? rc : qn_error_set(err, rc, "%s: out of memory", file);
}

static int list_project(const json_t *root, via_srcs *out, const char *file, qn_error *err)
{
    via_where w = {.file = file};
    const json_t *meta = json_object_get(root, "_via_img_metadata");
    if (!json_is_object(meta))
        return via_fail(err, QN_EINPUT, &w, "\"_via_img_metadata\" is not an object");
    const json_t *ids = json_object_get(root, "_via_image_id_list");
    json_t *seen = json_object();
    if (!seen)
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", file);
    int rc = QN_OK;
    if (ids && !json_is_array(ids))
        rc = via_fail(err, QN_EINPUT, &w, "\"_via_image_id_list\" is not a list");
    size_t i;
    const json_t *id;
    json_array_foreach(ids, i, id) {
        if (rc != QN_OK)
            break;
        const char *k = json_string_value(id);
        const json_t *rec = k ? json_object_get(meta, k) : NULL;
        if (!k)
            rc = via_fail(err, QN_EINPUT, &w, "\"_via_image_id_list\"[%zu] is not a string", i);
        else if (!rec)
            rc = via_fail(err, QN_EINPUT, &w,
                          "\"_via_image_id_list\"[%zu] \"%s\" is not in \"_via_img_metadata\"", i, k);
        else if (json_object_get(seen, k))
            rc = via_fail(err, QN_EINPUT, &w, "\"_via_image_id_list\" names \"%s\" twice", k);
        else if ((rc = add_record(out, k, rec, VIA_FMT_VIA2_PROJECT, file, err)) == QN_OK)
            json_object_set_new(seen, k, json_true());
    }
    const char *k;
    const json_t *rec;
    json_object_foreach((json_t *)meta, k, rec) {
        if (rc != QN_OK)
            break;
        if (!json_object_get(seen, k)) /* not listed: keep it, after the listed ones */
            rc = add_record(out, k, rec, VIA_FMT_VIA2_PROJECT, file, err);
    }
    json_decref(seen);
    return rc;
}


int via_list_images(const json_t *root, int format, via_srcs *out, const char *file,
                    qn_error *err)
{
    memset(out, 0, sizeof *out);
    if (format == VIA_FMT_VIA2_PROJECT)
        return list_project(root, out, file, err);
    if (format == VIA_FMT_VIA3)
        return via_list_v3(root, out, file, err);
    const char *k;
    const json_t *rec;
    json_object_foreach((json_t *)root, k, rec) {
        int rc = add_record(out, k, rec, format, file, err);
        if (rc != QN_OK)
            return rc;
    }
    return QN_OK;
}

void via_srcs_free(via_srcs *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        json_decref(s->v[i].owned);
    free(s->v);
    memset(s, 0, sizeof *s);
}
