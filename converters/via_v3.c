/* via_v3.c — the images of a VIA 3 project and the regions of each.
 *
 * VIA 3 keeps files, views (a view shows one or more files) and metadata (one
 * region or temporal segment each, pointing at a view) in separate tables.
 * Images are the views that show exactly one image file (type 2, or no type),
 * in project.vid_list order, then any other views in table order; views of
 * video/audio files or of several files are skipped and counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "via_int.h"

static int is_image_view(const json_t *files, const json_t *view, const char **name)
{
    const json_t *fids = json_object_get(view, "fid_list");
    if (!json_is_array(fids) || json_array_size(fids) != 1)
        return 0;
    const json_t *fidv = json_array_get(fids, 0);
    char buf[32];
    const char *fid = json_string_value(fidv);
    if (!fid && json_is_integer(fidv)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(fidv));
        fid = buf;
    }
    const json_t *f = fid ? json_object_get(files, fid) : NULL;
    if (!f)
        return -1;
    const json_t *type = json_object_get(f, "type");
    if (type && json_integer_value(type) != 2)
        return 0;
    *name = json_string_value(json_object_get(f, "fname"));
    return *name && **name ? 1 : -2;
}

static int add_view(via_srcs *out, json_t *index, const json_t *files, const char *vid,
                    const json_t *view, const char *file, qn_error *err)
{
    via_where w = {.file = file};
    if (json_object_get(index, vid))
        return QN_OK; /* listed twice in vid_list: once is enough */
    if (!json_is_object(view))
        return via_fail(err, QN_EINPUT, &w, "view \"%s\" does not exist", vid);
    const char *name = NULL;
    int k = is_image_view(files, view, &name);
    if (k == -1)
        return via_fail(err, QN_EINPUT, &w, "view \"%s\" names a file that does not exist", vid);
    if (k == -2)
        return via_fail(err, QN_EINPUT, &w, "the file of view \"%s\" has no \"fname\"", vid);
    if (k == 0) {
        out->skipped_views++;
        if (json_object_set_new(index, vid, json_integer(-1)))
            return qn_error_set(err, QN_ENOMEM, "%s: out of memory", file);
        return QN_OK;
    }
    json_t *arr = json_array();
    if (!arr || via_grow((void **)&out->v, &out->cap, out->n + 1, sizeof *out->v) != QN_OK) {
        json_decref(arr);
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", file);
    }
    out->v[out->n] = (via_src){name, arr, arr};
    if (json_object_set_new(index, vid, json_integer((json_int_t)out->n)))
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", file);
    out->n++;
    return QN_OK;
}

static int add_metadata(via_srcs *out, const json_t *index, const char *mid, json_t *md,
                        const char *file, qn_error *err)
{
    via_where w = {.file = file};
    const char *vid = json_string_value(json_object_get(md, "vid"));
    if (!json_is_object(md) || !vid)
        return via_fail(err, QN_EINPUT, &w, "metadata \"%s\" has no \"vid\"", mid);
    const json_t *slot = json_object_get(index, vid);
    if (!slot)
        return via_fail(err, QN_EINPUT, &w, "metadata \"%s\": view \"%s\" does not exist", mid, vid);
    json_int_t i = json_integer_value(slot);
    if (i < 0)
        return QN_OK; /* a skipped (non-image) view */
    json_t *pair = json_pack("[sO]", mid, md);
    if (!pair || json_array_append_new(out->v[i].owned, pair))
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", file);
    return QN_OK;
}

int via_list_v3(const json_t *root, via_srcs *out, const char *file, qn_error *err)
{
    via_where w = {.file = file};
    const json_t *files = json_object_get(root, "file");
    const json_t *views = json_object_get(root, "view");
    json_t *meta = json_object_get(root, "metadata");
    const json_t *vids = json_object_get(json_object_get(root, "project"), "vid_list");
    if (vids && !json_is_array(vids))
        return via_fail(err, QN_EINPUT, &w, "\"project\".\"vid_list\" is not a list");
    json_t *index = json_object(); /* vid -> source index, -1 for skipped views */
    if (!index)
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", file);
    int rc = QN_OK;
    size_t i;
    const json_t *v;
    json_array_foreach(vids, i, v) {
        const char *vid = json_string_value(v);
        if (!vid) {
            rc = via_fail(err, QN_EINPUT, &w, "\"project\".\"vid_list\"[%zu] is not a string", i);
            break;
        }
        if ((rc = add_view(out, index, files, vid, json_object_get(views, vid), file, err)))
            break;
    }
    const char *k;
    json_t *val;
    if (rc == QN_OK)
        json_object_foreach((json_t *)views, k, val)
            if ((rc = add_view(out, index, files, k, val, file, err)))
                break;
    if (rc == QN_OK)
        json_object_foreach(meta, k, val)
            if ((rc = add_metadata(out, index, k, val, file, err)))
                break;
    json_decref(index);
    return rc;
}
