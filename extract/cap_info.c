/* cap_info.c — the few fields quern-clips needs from a yt-dlp ID.info.json.
 *
 * info.json files carry hundreds of KB of formats and thumbnails; only top-level id,
 * duration, view_count, title and categories are decoded, everything else is skipped by the
 * scanner without building a tree.
 */
#include <stdlib.h>
#include <string.h>

#include "cap_jsonscan.h"
#include "cap_priv.h"

void cap_info_free(cap_info *info)
{
    if (!info)
        return;
    free(info->id);
    free(info->title);
    for (size_t i = 0; i < info->n_categories; i++)
        free(info->categories[i]);
    free(info->categories);
    memset(info, 0, sizeof *info);
    info->duration = -1;
    info->view_count = -1;
}

static int fail_at(const char *name, const char *buf, js *j, qn_error *err)
{
    size_t line = 1, last = 0;
    for (size_t i = 0; i < j->pos && i < j->n; i++)
        if (buf[i] == '\n')
            line++, last = i + 1;
    return qn_error_set(err, QN_EINPUT, "%s:%zu:%zu: expected %s", name, line, j->pos - last + 1,
                        j->err ? j->err : "valid JSON");
}

/* A string value (null leaves *dst unchanged; other kinds are skipped). */
static int str_field(js *j, jbuf *tmp, char **dst)
{
    int rc = js_ws(j);
    if (rc)
        return rc;
    if (j->b[j->pos] != '"')
        return js_skip(j);
    size_t off, len;
    tmp->n = 0;
    if ((rc = js_string(j, tmp, &off, &len)))
        return rc;
    char *s = malloc(len + 1);
    if (!s)
        return j->err = "out of memory", JS_ERR;
    memcpy(s, tmp->p + off, len + 1);
    free(*dst);
    *dst = s;
    return JS_OK;
}

static int num_field(js *j, double *dst)
{
    int rc = js_ws(j);
    if (rc)
        return rc;
    char c = j->b[j->pos];
    if ((c >= '0' && c <= '9') || c == '-')
        return js_number(j, dst);
    return js_skip(j);
}

static int categories(js *j, jbuf *tmp, cap_info *info)
{
    int rc = js_ws(j);
    if (rc)
        return rc;
    if (j->b[j->pos] != '[')
        return js_skip(j);
    for (size_t i = 0; i < info->n_categories; i++)
        free(info->categories[i]);
    info->n_categories = 0;
    j->pos++;
    for (;;) {
        if ((rc = js_ws(j)))
            return rc;
        if (j->b[j->pos] == ']') {
            j->pos++;
            return JS_OK;
        }
        char *s = NULL;
        if ((rc = str_field(j, tmp, &s)))
            return rc;
        if (s) {
            char **v = realloc(info->categories, (info->n_categories + 1) * sizeof *v);
            if (!v) {
                free(s);
                return j->err = "out of memory", JS_ERR;
            }
            info->categories = v;
            v[info->n_categories++] = s;
        }
        if ((rc = js_ws(j)))
            return rc;
        if (j->b[j->pos] == ',')
            j->pos++;
        else if (j->b[j->pos] != ']')
            return j->err = "',' or ']'", JS_ERR;
    }
}

static int members(js *j, jbuf *tmp, jbuf *key, cap_info *info)
{
    int rc;
    for (;;) {
        if ((rc = js_ws(j)))
            return rc;
        if (j->b[j->pos] == '}') {
            j->pos++;
            return JS_OK;
        }
        if (j->b[j->pos] != '"')
            return j->err = "a key string", JS_ERR;
        size_t off, len;
        key->n = 0;
        if ((rc = js_string(j, key, &off, &len)) || (rc = js_expect(j, ':', "':'")))
            return rc;
        const char *k = key->p + off;
        double v = -1;
        if (len == 2 && !memcmp(k, "id", 2))
            rc = str_field(j, tmp, &info->id);
        else if (len == 5 && !memcmp(k, "title", 5))
            rc = str_field(j, tmp, &info->title);
        else if (len == 8 && !memcmp(k, "duration", 8)) {
            if (!(rc = num_field(j, &v)))
                info->duration = v >= 0 ? v : -1;
        } else if (len == 10 && !memcmp(k, "view_count", 10)) {
            if (!(rc = num_field(j, &v)))
                info->view_count = v >= 0 && v < 9.2e18 ? (int64_t)v : -1;
        } else if (len == 10 && !memcmp(k, "categories", 10))
            rc = categories(j, tmp, info);
        else
            rc = js_skip(j);
        if (rc || (rc = js_ws(j)))
            return rc;
        if (j->b[j->pos] == ',')
            j->pos++;
        else if (j->b[j->pos] != '}')
            return j->err = "',' or '}'", JS_ERR;
    }
}

int cap_info_parse(cap_info *info, const char *name, const char *buf, size_t len, qn_error *err)
{
    memset(info, 0, sizeof *info);
    info->duration = -1;
    info->view_count = -1;
    js j = {buf, len, 0, 1, NULL};
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        j.pos = 3;
    jbuf tmp = {0}, key = {0};
    int rc = js_expect(&j, '{', "'{' (an info.json object)");
    if (rc == JS_OK)
        rc = members(&j, &tmp, &key, info);
    if (rc == JS_OK && js_ws(&j) != JS_ERR)
        rc = (j.err = "end of input after the object", JS_ERR);
    else if (rc == JS_OK)
        j.err = NULL;
    jbuf_free(&tmp);
    jbuf_free(&key);
    if (rc != JS_OK) {
        cap_info_free(info);
        return fail_at(name, buf, &j, err);
    }
    return QN_OK;
}
