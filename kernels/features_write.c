/* features_write.c — features_write.h. */
#include "features_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qn_half.h"
#include "qn_sha256.h"

/* Stores made before the pooled set recorded a hash have it with none: keep
 * using it (the per-step sets still pin both weights files). */
static int legacy_pooled(qn_store *st, qn_fset_info *sp, qn_error *err)
{
    qn_fset *old;
    qn_fset_info info;
    int rc = qn_fset_find(st, sp->name, &old, err);
    if (rc == QN_OK && old && (rc = qn_fset_get_info(st, old, &info, err)) == QN_OK &&
        !info.weights_sha256)
        sp->weights_sha256 = NULL;
    return rc;
}

/* The three sets' names: 2D, 3D, pooled (fw_find_sets and fw_open_sets). */
static const char *const set_names[3] = {"resnet152-2d", "resnext101-3d", "howto100m-4096"};

int fw_find_sets(qn_store *st, const char *path2d, const char *sha2d, const char *path3d,
                 const char *sha3d, fw_sets *fs, qn_error *err)
{
    qn_fset **slot[3] = {&fs->s2d, &fs->s3d, &fs->pooled};
    const char *path[2] = {path2d, path3d}, *sha[2] = {sha2d, sha3d};
    int rc = QN_OK;
    for (int i = 0; i < 3 && rc == QN_OK; i++) {
        qn_fset_info info;
        rc = qn_fset_find(st, set_names[i], slot[i], err);
        if (rc || !*slot[i] || i == 2) /* the pooled hash follows from the two others */
            continue;
        rc = qn_fset_get_info(st, *slot[i], &info, err);
        if (rc == QN_OK && info.n_rows > 0 &&
            (!info.weights_sha256 || strcmp(info.weights_sha256, sha[i])))
            rc = qn_error_set(err, QN_EINPUT, "%s: feature set '%s' holds %lld rows from weights "
                              "sha256 %s; %s is %s (use those weights, or another store)",
                              qn_store_path(st), set_names[i], (long long)info.n_rows,
                              info.weights_sha256 ? info.weights_sha256 : "(none)", path[i],
                              sha[i]);
    }
    return rc;
}

int fw_open_sets(qn_store *st, const char *sha2d, const char *sha3d, fw_sets *fs, qn_error *err)
{
    qn_fset_info s2 = {.name = set_names[0], .kind = QN_FSET_PER_STEP,
                       .model = "torchvision resnet152 (avgpool over HxW, L2)",
                       .weights_sha256 = sha2d, .dim = 2048, .dtype = QN_F16,
                       .rate = 1.0};
    qn_fset_info s3 = {.name = set_names[1], .kind = QN_FSET_PER_STEP,
                       .model = "Hara et al. 2017 ResNeXt-101 3D 16x112x112 (L2)",
                       .weights_sha256 = sha3d, .dim = 2048, .dtype = QN_F16,
                       .rate = 1.5};
    /* the pooled rows depend on both files: sha256(hex2d || hex3d), no separator */
    char both[129], hex[65];
    snprintf(both, sizeof both, "%s%s", s2.weights_sha256, s3.weights_sha256);
    qn_sha256_buf_hex(both, 128, hex);
    qn_fset_info sp = {.name = set_names[2], .kind = QN_FSET_PER_CLIP,
                       .model = "howto100m _get_video: max-pool+L2 per modality, 2D||3D",
                       .weights_sha256 = hex, .dim = 4096, .dtype = QN_F16, .rate = 0};
    int rc = legacy_pooled(st, &sp, err);
    if (rc == QN_OK)
        rc = qn_fset_create(st, &s2, &fs->s2d, err);
    if (rc == QN_OK)
        rc = qn_fset_create(st, &s3, &fs->s3d, err);
    if (rc == QN_OK)
        rc = qn_fset_create(st, &sp, &fs->pooled, err);
    return rc;
}

/* One modality of one clip: max over its rows, L2; zeros when the video has none. */
static int pool_one(const uint16_t *rows, int64_t n, double rate, double start, double end,
                    float *out, qn_error *err)
{
    if (n == 0) {
        memset(out, 0, 2048 * sizeof *out);
        return QN_OK;
    }
    if (end < start)
        end = start;
    return qn_pool_rows(rows, QN_F16, 2048, n, rate, start, end, out, err);
}

typedef struct clips {
    int64_t *ids;
    double *start, *end;
    size_t n, cap;
} clips;

static int load_clips(qn_store *st, int64_t video_id, clips *c, qn_error *err)
{
    qn_clip_iter *it;
    int rc = qn_store_clip_iter(st, video_id, &it, err);
    if (rc < 0)
        return rc;
    qn_store_clip clip;
    c->n = 0;
    while ((rc = qn_store_clip_next(it, &clip, err)) == 1) {
        if (c->n == c->cap) {
            size_t n = c->cap ? c->cap * 2 : 256;
            int64_t *ids = realloc(c->ids, n * sizeof *ids);
            if (ids)
                c->ids = ids;
            double *s = realloc(c->start, n * sizeof *s);
            if (s)
                c->start = s;
            double *e = realloc(c->end, n * sizeof *e);
            if (e)
                c->end = e;
            if (!ids || !s || !e) {
                rc = qn_error_set(err, QN_ENOMEM, "out of memory for clips");
                break;
            }
            c->cap = n;
        }
        c->ids[c->n] = clip.id;
        c->start[c->n] = clip.start;
        c->end[c->n] = clip.end;
        c->n++;
    }
    qn_store_clip_iter_free(it);
    return rc < 0 ? rc : QN_OK;
}

int fw_write_video(qn_store *st, const fw_sets *fs, int64_t video_id, const float *rows2d,
                   int64_t n2d, const float *rows3d, int64_t n3d, int64_t *n_clips,
                   qn_error *err)
{
    clips c = {0};
    uint16_t *h2 = malloc((size_t)(n2d ? n2d : 1) * 2048 * sizeof *h2);
    uint16_t *h3 = malloc((size_t)(n3d ? n3d : 1) * 2048 * sizeof *h3);
    float *pooled = NULL;
    int rc = h2 && h3 ? load_clips(st, video_id, &c, err)
                      : qn_error_set(err, QN_ENOMEM, "out of memory");
    if (rc == QN_OK && !(pooled = malloc((c.n ? c.n : 1) * 4096 * sizeof *pooled)))
        rc = qn_error_set(err, QN_ENOMEM, "out of memory");
    if (rc == QN_OK) {
        qn_f32_to_f16_n(h2, rows2d, (size_t)n2d * 2048);
        qn_f32_to_f16_n(h3, rows3d, (size_t)n3d * 2048);
        for (size_t i = 0; i < c.n && rc == QN_OK; i++) {
            rc = pool_one(h2, n2d, 1.0, c.start[i], c.end[i], pooled + i * 4096, err);
            if (rc == QN_OK)
                rc = pool_one(h3, n3d, 1.5, c.start[i], c.end[i], pooled + i * 4096 + 2048,
                              err);
        }
    }
    if (rc == QN_OK && (rc = qn_store_begin(st, err)) == QN_OK) {
        rc = qn_fset_put_video(st, fs->s2d, video_id, h2, QN_F16, n2d, err);
        if (rc == QN_OK)
            rc = qn_fset_put_video(st, fs->s3d, video_id, h3, QN_F16, n3d, err);
        if (rc == QN_OK && c.n)
            rc = qn_fset_put_clips(st, fs->pooled, c.ids, pooled, QN_F32, (int64_t)c.n, err);
        if (rc == QN_OK)
            rc = qn_store_video_set_status(st, video_id, QN_VIDEO_OK, NULL, err);
        if (rc == QN_OK)
            rc = qn_store_commit(st, err);
        else
            qn_store_rollback(st, NULL);
    }
    *n_clips = rc == QN_OK ? (int64_t)c.n : 0;
    free(c.ids);
    free(c.start);
    free(c.end);
    free(h2);
    free(h3);
    free(pooled);
    return rc;
}

