/* kn_safetensors.c — mmap a safetensors file and check its structure before
 * any tensor is trusted: header size, JSON shape, dtype × shape = byte length,
 * offsets inside the buffer, and the buffer covered exactly once. */
#include "kn_safetensors.h"

#include "qn_half.h"

#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_HEADER 100000000ull

static int dtype_size(const char *d)
{
    static const struct { const char *n; int s; } tab[] = {
        {"F64", 8}, {"I64", 8}, {"U64", 8}, {"C64", 8}, {"F32", 4}, {"I32", 4}, {"U32", 4},
        {"F16", 2}, {"BF16", 2}, {"I16", 2}, {"U16", 2}, {"U8", 1}, {"I8", 1}, {"BOOL", 1},
        {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"F8_E8M0", 1},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (!strcmp(tab[i].n, d))
            return tab[i].s;
    return 0;
}

void kn_st_shape_str(const int64_t *shape, int ndim, char *buf, size_t len)
{
    size_t o = 0;
    o += (size_t)snprintf(buf + o, len - o, "[");
    for (int i = 0; i < ndim && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (o < len)
        snprintf(buf + o, len - o, "]");
}

static int cmp_begin(const void *a, const void *b)
{
    const kn_st_tensor *x = a, *y = b;
    return x->data < y->data ? -1 : x->data > y->data;
}

/* One header entry → t. The buffer starts at buf and has blen bytes. */
static int parse_entry(const char *path, const char *key, json_t *v, const uint8_t *buf,
                       size_t blen, kn_st_tensor *t, qn_error *err)
{
    json_t *dt = json_object_get(v, "dtype"), *sh = json_object_get(v, "shape"),
           *off = json_object_get(v, "data_offsets");
    if (!json_is_object(v) || !json_is_string(dt) || !json_is_array(sh) || !json_is_array(off) ||
        json_array_size(off) != 2)
        return qn_error_set(err, QN_EINPUT, "%s: %s: header entry needs dtype, shape, data_offsets",
                            path, key);
    int es = dtype_size(json_string_value(dt));
    if (!es || strlen(json_string_value(dt)) >= sizeof t->dtype)
        return qn_error_set(err, QN_EINPUT, "%s: %s: unknown dtype \"%s\"", path, key,
                            json_string_value(dt));
    strcpy(t->dtype, json_string_value(dt));
    if (json_array_size(sh) > 8)
        return qn_error_set(err, QN_EINPUT, "%s: %s: more than 8 dimensions", path, key);
    t->ndim = (int)json_array_size(sh);
    unsigned long long numel = 1;
    for (int i = 0; i < t->ndim; i++) {
        json_t *d = json_array_get(sh, (size_t)i);
        if (!json_is_integer(d) || json_integer_value(d) < 0 || json_integer_value(d) > (1ll << 40))
            return qn_error_set(err, QN_EINPUT, "%s: %s: bad shape", path, key);
        t->shape[i] = json_integer_value(d);
        /* checked before multiplying: two dims of 2^40 would wrap 64 bits */
        if (t->shape[i] && numel > (1ull << 40) / (unsigned long long)t->shape[i])
            return qn_error_set(err, QN_EINPUT, "%s: %s: tensor too large", path, key);
        numel *= (unsigned long long)t->shape[i];
    }
    json_t *b = json_array_get(off, 0), *e = json_array_get(off, 1);
    if (!json_is_integer(b) || !json_is_integer(e) || json_integer_value(b) < 0 ||
        json_integer_value(e) < json_integer_value(b) || (unsigned long long)json_integer_value(e) > blen)
        return qn_error_set(err, QN_EINPUT, "%s: %s: data_offsets outside the %zu-byte buffer",
                            path, key, blen);
    size_t begin = (size_t)json_integer_value(b), end = (size_t)json_integer_value(e);
    if (end - begin != numel * (unsigned long long)es)
        return qn_error_set(err, QN_EINPUT, "%s: %s: %zu bytes for %llu %s values", path, key,
                            end - begin, numel, t->dtype);
    t->data = buf + begin;
    t->nbytes = end - begin;
    t->name = strdup(key);
    return t->name ? QN_OK : qn_error_set(err, QN_ENOMEM, "%s: out of memory", path);
}

static int parse_header(kn_st_file *f, size_t hlen, qn_error *err)
{
    const uint8_t *buf = f->map + 8 + hlen;
    size_t blen = f->size - 8 - hlen;
    json_error_t je;
    json_t *root = json_loadb((const char *)f->map + 8, hlen, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return qn_error_set(err, QN_EINPUT, "%s: header JSON: %s (column %d)", f->path, je.text,
                            je.column);
    int rc = QN_OK;
    if (!json_is_object(root)) {
        rc = qn_error_set(err, QN_EINPUT, "%s: header is not a JSON object", f->path);
        goto end;
    }
    f->t = calloc(json_object_size(root) + 1, sizeof *f->t);
    if (!f->t) {
        rc = qn_error_set(err, QN_ENOMEM, "%s: out of memory", f->path);
        goto end;
    }
    const char *key;
    json_t *v;
    /* a file cut short (an interrupted copy or download) is named as such, not by the
     * first tensor that falls outside what is left */
    unsigned long long need = 0;
    json_object_foreach(root, key, v) {
        json_t *e = json_array_get(json_object_get(v, "data_offsets"), 1);
        if (strcmp(key, "__metadata__") && json_is_integer(e) && json_integer_value(e) > 0 &&
            (unsigned long long)json_integer_value(e) > need)
            need = (unsigned long long)json_integer_value(e);
    }
    if (need > blen) {
        rc = qn_error_set(err, QN_EINPUT, "%s: truncated: its tensors need %llu bytes after the "
                          "header, the file has %zu", f->path, need, blen);
        goto end;
    }
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "__metadata__"))
            continue;
        rc = parse_entry(f->path, key, v, buf, blen, &f->t[f->n], err);
        if (rc)
            goto end;
        f->n++;
    }
    /* Exact coverage: sorted by begin, each tensor starts where the last ended. */
    kn_st_tensor *s = malloc((size_t)f->n * sizeof *s + 1);
    if (!s) {
        rc = qn_error_set(err, QN_ENOMEM, "%s: out of memory", f->path);
        goto end;
    }
    memcpy(s, f->t, (size_t)f->n * sizeof *s);
    qsort(s, (size_t)f->n, sizeof *s, cmp_begin);
    const uint8_t *at = buf;
    for (int i = 0; i < f->n && !rc; i++) {
        if (s[i].data != at)
            rc = qn_error_set(err, QN_EINPUT, "%s: %s: data_offsets leave a hole or overlap",
                              f->path, s[i].name);
        at = s[i].data + s[i].nbytes;
    }
    if (!rc && at != buf + blen)
        rc = qn_error_set(err, QN_EINPUT, "%s: %zu bytes after the last tensor", f->path,
                          (size_t)(buf + blen - at));
    free(s);
end:
    json_decref(root);
    return rc;
}

int kn_st_open(const char *path, kn_st_file **out, qn_error *err)
{
    *out = NULL;
    kn_st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", path);
    }
    int rc = QN_OK;
    /* O_NONBLOCK: a FIFO given as weights must be refused, not waited on */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        rc = qn_error_errno(err, QN_EINPUT, errno, "%s", path);
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = qn_error_set(err, QN_EINPUT, "%s: not a regular file", path);
        goto fail;
    }
    if (st.st_size < 10) {
        rc = qn_error_set(err, QN_EINPUT, "%s: too short for a safetensors file", path);
        goto fail;
    }
    f->size = (size_t)st.st_size;
    void *m = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        rc = qn_error_errno(err, QN_EENV, errno, "%s: mmap", path);
        goto fail;
    }
    f->map = m;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | f->map[i];
    if (hlen <= MAX_HEADER && hlen > f->size - 8 && f->map[8] == '{') {
        rc = qn_error_set(err, QN_EINPUT, "%s: truncated: its header is %llu bytes, the file "
                          "has %zu after the length", path, (unsigned long long)hlen, f->size - 8);
        goto fail;
    }
    if (hlen > MAX_HEADER || hlen > f->size - 8 || hlen < 2 || f->map[8] != '{') {
        rc = qn_error_set(err, QN_EINPUT, "%s: not a safetensors file (header length %llu)", path,
                          (unsigned long long)hlen);
        goto fail;
    }
    rc = parse_header(f, (size_t)hlen, err);
    if (rc)
        goto fail;
    close(fd);
    *out = f;
    return QN_OK;
fail:
    if (fd >= 0)
        close(fd);
    kn_st_close(f);
    return rc;
}

void kn_st_close(kn_st_file *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n; i++)
        free(f->t[i].name);
    free(f->t);
    if (f->map)
        munmap((void *)f->map, f->size);
    free(f->path);
    free(f);
}

const kn_st_tensor *kn_st_find(const kn_st_file *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->t[i].name, name))
            return &f->t[i];
    return NULL;
}

int kn_st_check_float(const kn_st_file *f, const kn_st_tensor *t, qn_error *err)
{
    if (!strcmp(t->dtype, "F32") || !strcmp(t->dtype, "F16") || !strcmp(t->dtype, "BF16"))
        return QN_OK;
    return qn_error_set(err, QN_EINPUT, "%s: %s: dtype %s, expected F32, F16 or BF16", f->path,
                        t->name, t->dtype);
}

int kn_st_read_f32(const kn_st_file *f, const kn_st_tensor *t, float *out, qn_error *err)
{
    size_t i, n;
    const uint8_t *p = t->data;
    int rc = kn_st_check_float(f, t, err);
    if (rc)
        return rc;
    if (!strcmp(t->dtype, "F32")) {
        memcpy(out, p, t->nbytes); /* little-endian host assumed (x86-64, aarch64) */
    } else if (!strcmp(t->dtype, "F16")) {
        for (i = 0, n = t->nbytes / 2; i < n; i++)
            out[i] = qn_f16_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
    } else { /* BF16 */
        for (i = 0, n = t->nbytes / 2; i < n; i++) {
            uint32_t b = (uint32_t)(p[2 * i] | p[2 * i + 1] << 8) << 16;
            memcpy(&out[i], &b, 4);
        }
    }
    /* a NaN or infinity would run through every layer into the store unnoticed */
    for (i = 0, n = t->nbytes / (t->dtype[1] == '3' ? 4 : 2); i < n; i++)
        if (!isfinite(out[i]))
            return qn_error_set(err, QN_EINPUT, "%s: %s: value %zu is %s", f->path, t->name, i,
                                isnan(out[i]) ? "NaN" : "infinite");
    return QN_OK;
}
