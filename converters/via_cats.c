/* via_cats.c — the category table: names, ids, supercategories.
 *
 * Three ways to fill it: pinned from a file (ids as given; names not in it are
 * unknown), fixed (--class, or the options of the class attribute's definition,
 * numbered 1.. in definition order), or open (any name; numbered 1.. by byte
 * order of the names at the end, so the ids never depend on which image comes
 * first). Names are looked up through a small open-addressing hash.
 */
#define _GNU_SOURCE /* qsort_r */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "via_int.h"

static size_t hash(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

void via_cats_init(via_cats *c) { memset(c, 0, sizeof *c); }

void via_cats_free(via_cats *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].name);
        free(c->v[i].super);
    }
    free(c->v);
    free(c->slots);
    free(c->order);
    memset(c, 0, sizeof *c);
}

static size_t *slot_of(const via_cats *c, const char *name)
{
    size_t mask = c->nslots - 1;
    for (size_t i = hash(name) & mask;; i = (i + 1) & mask)
        if (!c->slots[i] || strcmp(c->v[c->slots[i] - 1].name, name) == 0)
            return &c->slots[i];
}

int via_cats_find(const via_cats *c, const char *name, size_t *idx)
{
    if (!c->nslots)
        return 0;
    size_t s = *slot_of(c, name);
    if (s)
        *idx = s - 1;
    return s != 0;
}

static int rehash(via_cats *c)
{
    size_t ns = c->nslots ? c->nslots * 2 : 64;
    size_t *slots = calloc(ns, sizeof *slots);
    if (!slots)
        return QN_ENOMEM;
    free(c->slots);
    c->slots = slots;
    c->nslots = ns;
    for (size_t i = 0; i < c->n; i++)
        *slot_of(c, c->v[i].name) = i + 1;
    return QN_OK;
}

int via_cats_add(via_cats *c, const char *name, const char *super, int64_t id, size_t *idx)
{
    if (via_cats_find(c, name, idx))
        return QN_OK;
    if ((c->n + 1) * 2 > c->nslots && rehash(c) != QN_OK)
        return QN_ENOMEM;
    if (via_grow((void **)&c->v, &c->cap, c->n + 1, sizeof *c->v) != QN_OK)
        return QN_ENOMEM;
    via_cat *k = &c->v[c->n];
    k->name = strdup(name);
    k->super = strdup(super ? super : "");
    k->id = id;
    if (!k->name || !k->super) {
        free(k->name);
        free(k->super);
        return QN_ENOMEM;
    }
    *slot_of(c, name) = c->n + 1;
    *idx = c->n++;
    return QN_OK;
}

/* ---- pinned categories from a file ---- */

static int load_json_cats(via_cats *c, const json_t *arr, const char *path,
                          const char *default_super, qn_error *err)
{
    size_t i;
    const json_t *o;
    json_array_foreach(arr, i, o) {
        const char *name = json_string_value(json_object_get(o, "name"));
        const json_t *idj = json_object_get(o, "id");
        const char *super = json_string_value(json_object_get(o, "supercategory"));
        size_t at;
        if (!name || !*name)
            return qn_error_set(err, QN_EINPUT, "%s: category %zu has no \"name\"", path, i);
        if (!json_is_integer(idj) || json_integer_value(idj) < 0)
            return qn_error_set(err, QN_EINPUT, "%s: category \"%s\" has no integer \"id\" >= 0",
                                path, name);
        if (via_cats_find(c, name, &at))
            return qn_error_set(err, QN_EINPUT, "%s: category \"%s\" is listed twice", path, name);
        for (size_t j = 0; j < c->n; j++)
            if (c->v[j].id == json_integer_value(idj))
                return qn_error_set(err, QN_EINPUT, "%s: categories \"%s\" and \"%s\" share id %lld",
                                    path, c->v[j].name, name, (long long)c->v[j].id);
        if (via_cats_add(c, name, super ? super : default_super, json_integer_value(idj), &at))
            return qn_error_set(err, QN_ENOMEM, "%s: out of memory", path);
    }
    return QN_OK;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int load_text_cats(via_cats *c, FILE *f, const char *path, const char *default_super,
                          qn_error *err)
{
    char line[4096];
    long lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f))
            return qn_error_set(err, QN_EINPUT, "%s:%ld: line too long", path, lineno);
        char *hashc = strchr(line, '#');
        if (hashc)
            *hashc = '\0';
        char *name = trim(line);
        size_t at;
        if (!*name)
            continue;
        if (via_cats_find(c, name, &at))
            return qn_error_set(err, QN_EINPUT, "%s:%ld: category \"%s\" is listed twice", path,
                                lineno, name);
        if (via_cats_add(c, name, default_super, (int64_t)c->n + 1, &at))
            return qn_error_set(err, QN_ENOMEM, "%s: out of memory", path);
    }
    return QN_OK;
}

/* Steps over a UTF-8 byte order mark (Windows editors add one) at the start of f. */
static void skip_bom(FILE *f)
{
    char b[3];
    if (fread(b, 1, 3, f) != 3 || memcmp(b, "\xEF\xBB\xBF", 3) != 0)
        rewind(f);
}

int via_cats_load(via_cats *c, const char *path, const char *default_super, qn_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return qn_error_errno(err, QN_EINPUT, errno, "%s", path);
    struct stat sb; /* a directory opens, then reads as empty: say what it is */
    if (fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fclose(f);
        return qn_error_errno(err, QN_EINPUT, EISDIR, "%s", path);
    }
    skip_bom(f);
    int ch;
    while ((ch = fgetc(f)) != EOF && isspace(ch))
        ;
    int rc;
    c->pinned = 1;
    if (ch == '[' || ch == '{') {
        json_t *root;
        rc = via_load_json(path, &root, err);
        const json_t *arr = json_is_object(root) ? json_object_get(root, "categories") : root;
        if (!rc && !json_is_array(arr))
            rc = qn_error_set(err, QN_EINPUT, "%s: expected a list of categories or an object "
                              "with \"categories\"", path);
        if (!rc)
            rc = load_json_cats(c, arr, path, default_super, err);
        json_decref(root);
    } else {
        rewind(f);
        skip_bom(f);
        rc = load_text_cats(c, f, path, default_super, err);
    }
    fclose(f);
    if (rc == QN_OK && c->n == 0)
        rc = qn_error_set(err, QN_EINPUT, "%s: no categories", path);
    return rc;
}

/* ---- numbering ---- */

static int by_name(const void *a, const void *b, void *ctx)
{
    const via_cats *c = ctx;
    return strcmp(c->v[*(const size_t *)a].name, c->v[*(const size_t *)b].name);
}

int via_cats_finish(via_cats *c)
{
    free(c->order);
    c->order = malloc((c->n ? c->n : 1) * sizeof *c->order);
    if (!c->order)
        return QN_ENOMEM;
    for (size_t i = 0; i < c->n; i++)
        c->order[i] = i;
    if (c->open && !c->pinned) {
        qsort_r(c->order, c->n, sizeof *c->order, by_name, c);
        for (size_t i = 0; i < c->n; i++)
            c->v[c->order[i]].id = (int64_t)i + 1;
    } else if (!c->pinned) {
        for (size_t i = 0; i < c->n; i++)
            c->v[i].id = (int64_t)i + 1;
    }
    return QN_OK;
}
