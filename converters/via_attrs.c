/* via_attrs.c — region attribute definitions and the class of a region.
 *
 * VIA stores a dropdown, radio or image attribute's value as an option id and
 * keeps the human label in the attribute definition; a checkbox as a set of
 * checked option ids (VIA 2: {"id": true}, VIA 3: "id1,id2"); text as typed.
 * With a definition, the class is the label of the (single) chosen option, or
 * the option id where the label is empty (VIA lets users leave it empty).
 * Without one (VIA 1, VIA 2 exports without --attributes) values are used as
 * they are.
 */
#include <stdio.h>
#include <string.h>

#include "via_int.h"

static int type_v2(const char *t)
{
    static const struct { const char *name; int type; } map[] = {
        {"text", VIA_ATTR_TEXT}, {"checkbox", VIA_ATTR_CHECKBOX}, {"radio", VIA_ATTR_RADIO},
        {"dropdown", VIA_ATTR_DROPDOWN}, {"image", VIA_ATTR_IMAGE}};
    for (size_t i = 0; t && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(t, map[i].name) == 0)
            return map[i].type;
    return VIA_ATTR_UNDEFINED;
}

static void set_def(via_attrdef *def, int type, const json_t *options)
{
    def->type = type;
    def->options = type != VIA_ATTR_TEXT && json_is_object(options) ? options : NULL;
    if (type == VIA_ATTR_UNDEFINED)
        def->options = NULL;
}

int via_attrdef_v2(const json_t *region_defs, const char *name, via_attrdef *def)
{
    memset(def, 0, sizeof *def);
    def->name = def->key = name;
    const json_t *d = json_object_get(region_defs, name);
    if (!json_is_object(d))
        return 0;
    set_def(def, type_v2(json_string_value(json_object_get(d, "type"))),
            json_object_get(d, "options"));
    return 1;
}

int via_attrdef_v3(const json_t *attribute, const char *name, via_attrdef *def)
{
    /* VIA 3 types: 1 text, 2 checkbox, 3 radio, 4 select, 5 image */
    static const int types[] = {VIA_ATTR_UNDEFINED, VIA_ATTR_TEXT, VIA_ATTR_CHECKBOX,
                                VIA_ATTR_RADIO, VIA_ATTR_DROPDOWN, VIA_ATTR_IMAGE};
    memset(def, 0, sizeof *def);
    def->name = def->key = name;
    const char *aid;
    const json_t *a, *by_id = NULL, *by_name = NULL;
    const char *aid_name = NULL;
    json_object_foreach((json_t *)attribute, aid, a) {
        const char *an = json_string_value(json_object_get(a, "aname"));
        const char *anchor = json_string_value(json_object_get(a, "anchor_id"));
        int region_level = !anchor || strcmp(anchor, "FILE1_Z0_XY1") == 0;
        if (an && strcmp(an, name) == 0 && region_level && !by_name) {
            by_name = a;
            aid_name = aid;
        }
        if (strcmp(aid, name) == 0 && !by_id)
            by_id = a;
    }
    const json_t *d = by_name ? by_name : by_id;
    if (!d)
        return 0;
    def->key = by_name ? aid_name : name;
    json_int_t t = json_integer_value(json_object_get(d, "type"));
    set_def(def, t >= 1 && t <= 5 ? types[t] : VIA_ATTR_UNDEFINED, json_object_get(d, "options"));
    return 1;
}

const char *via_option_label(const char *option_id, const char *label)
{
    return label && *label ? label : option_id;
}

/* The single checked option of a VIA 2 checkbox value {"id": true, ...}. */
static int checked_v2(const via_attrdef *def, const json_t *val, const char **id, char *why,
                      size_t nwhy)
{
    const char *k;
    const json_t *v;
    int n = 0;
    json_object_foreach((json_t *)val, k, v) {
        if (json_is_true(v)) {
            n++;
            *id = k;
        }
    }
    if (n == 1)
        return VIA_CLASS_OK;
    snprintf(why, nwhy, "checkbox \"%s\" has %d options checked (need exactly one)", def->name, n);
    return n == 0 ? VIA_CLASS_MISSING : VIA_CLASS_UNKNOWN;
}

/* The single option of a VIA 3 checkbox value "id1,id2,...". */
static int checked_v3(const via_attrdef *def, const char *s, const char **id, char *scratch,
                      size_t nscratch, char *why, size_t nwhy)
{
    int n = 0;
    const char *p = s;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len > 0) {
            n++;
            if (len >= nscratch)
                len = nscratch - 1;
            memcpy(scratch, p, len);
            scratch[len] = '\0';
        }
        p += len + (p[len] == ',');
    }
    *id = scratch;
    if (n == 1)
        return VIA_CLASS_OK;
    snprintf(why, nwhy, "checkbox \"%s\" has %d options checked (need exactly one)", def->name, n);
    return n == 0 ? VIA_CLASS_MISSING : VIA_CLASS_UNKNOWN;
}

int via_class_resolve(const via_attrdef *def, const json_t *attrs, int v3, const char **name,
                      char *scratch, size_t nscratch, char *why, size_t nwhy)
{
    const json_t *val = json_object_get(attrs, def->key);
    const char *id = NULL;
    int rc;
    *name = NULL;
    if (!val || json_is_null(val)) {
        snprintf(why, nwhy, "no \"%s\" attribute", def->name);
        return VIA_CLASS_MISSING;
    }
    if (json_is_string(val)) {
        id = json_string_value(val);
        if (v3 && def->type == VIA_ATTR_CHECKBOX &&
            (rc = checked_v3(def, id, &id, scratch, nscratch, why, nwhy)) != VIA_CLASS_OK)
            return rc;
    } else if (json_is_integer(val)) {
        snprintf(scratch, nscratch, "%lld", (long long)json_integer_value(val));
        id = scratch;
    } else if (json_is_real(val)) {
        via_fmt_double(scratch, json_real_value(val));
        id = scratch;
    } else if (json_is_object(val)) {
        if ((rc = checked_v2(def, val, &id, why, nwhy)) != VIA_CLASS_OK)
            return rc;
    } else {
        snprintf(why, nwhy, "\"%s\" is neither text, a number nor a checkbox", def->name);
        return VIA_CLASS_UNKNOWN;
    }
    if (!*id) {
        snprintf(why, nwhy, "\"%s\" is empty", def->name);
        return VIA_CLASS_MISSING;
    }
    if (def->options) {
        const json_t *lab = json_object_get(def->options, id);
        if (!lab) {
            snprintf(why, nwhy, "\"%s\" value \"%s\" is not one of its defined options",
                     def->name, id);
            return VIA_CLASS_UNKNOWN;
        }
        id = via_option_label(id, json_string_value(lab));
    }
    *name = id;
    return VIA_CLASS_OK;
}
