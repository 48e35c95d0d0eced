/* mask_labels.c — micro-benchmark of qn_rle_from_labels on a Cityscapes-like
 * 2048×1024 instanceIds image, side by side with the per-instance way MMDetection's
 * converter works (for each id: compare the whole image, make it column-major,
 * encode it), done here in C with qn_rle_encode so only the method differs.
 *
 *   bench_mask_labels [-n REPS] [--ours-only] [--raw FILE.u16 H W]
 *
 * --raw times a real image instead: H*W little-endian uint16, row-major.
 * --ours-only skips the per-instance way (for images with thousands of ids).
 * Prints the median time of each way and, last, the speed-up as a ratio.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <math.h>

#include "converters/coco_mask.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33) % n;
}

static void fill_rect(uint16_t *img, int W, int H, int x0, int y0, int x1, int y1, uint16_t v)
{
    for (int y = y0 < 0 ? 0 : y0; y < y1 && y < H; y++)
        for (int x = x0 < 0 ? 0 : x0; x < x1 && x < W; x++)
            img[(size_t)y * W + x] = v;
}

static void fill_ellipse(uint16_t *img, int W, int H, int cx, int cy, int rx, int ry, uint16_t v)
{
    for (int y = cy - ry; y <= cy + ry; y++) {
        if (y < 0 || y >= H)
            continue;
        double t = (double)(y - cy) / ry, half = rx * sqrt(1 - t * t);
        fill_rect(img, W, H, (int)(cx - half), y, (int)(cx + half) + 1, y + 1, v);
    }
}

/* Stuff bands with wavy borders (sky, building, vegetation, sidewalk, road, ego
 * vehicle), poles and signs, then ~25 occluding cars and people, far to near. */
static void synth(uint16_t *img, int W, int H)
{
    for (int x = 0; x < W; x++) {
        int sky = 230 + (int)(60 * sin(x / 140.0)) + (int)rnd(6);
        int bld = 430 + (int)(25 * sin(x / 53.0)) + (int)rnd(4);
        int side = 520 + (int)(8 * sin(x / 300.0));
        int road = 560 + abs(x - W / 2) / 12;
        int ego = 900 + (int)(40 * cos((x - W / 2) / 700.0));
        for (int y = 0; y < H; y++) {
            uint16_t v = y < sky ? 23 : y < bld ? ((x / 301) % 3 == 2 ? 21 : 11)
                       : y < side ? 8 : y < road ? 22 : y < ego ? 7 : 1;
            img[(size_t)y * W + x] = v;
        }
    }
    for (int i = 0; i < 12; i++) { /* poles and signs */
        int x = (int)rnd(W);
        fill_rect(img, W, H, x, 180, x + 6 + (int)rnd(6), 560, 17);
        fill_rect(img, W, H, x - 15, 190, x + 20, 230, 20);
    }
    int ncar = 0, nper = 0;
    for (int i = 0; i < 24; i++) {
        int far = 24 - i, cy = 520 + (24 - far) * 14, s = 30 + (24 - far) * 6;
        int cx = (int)rnd(W);
        if (rnd(3)) {
            uint16_t id = (uint16_t)(26000 + ncar++);
            fill_rect(img, W, H, cx - s, cy - s / 2, cx + s, cy + s / 3, id);
            fill_ellipse(img, W, H, cx, cy - s / 2, s * 2 / 3, s / 3, id);
        } else {
            uint16_t id = (uint16_t)(24000 + nper++);
            fill_ellipse(img, W, H, cx, cy - s, s / 4, s, id);
        }
    }
    fill_rect(img, W, H, 100, 600, 400, 700, 26); /* a crowd region */
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x > y ? 1 : x < y ? -1 : 0;
}

/* The per-instance way: per id, one full-image compare (row-major, as numpy's
 * `labels == id`), a blocked transpose to column-major (np.asfortranarray), encode. */
static size_t per_instance(const uint16_t *img, uint32_t H, uint32_t W, const uint32_t *ids,
                           size_t n, uint8_t *mask, uint8_t *rowm)
{
    size_t runs = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < (size_t)H * W; j++)
            rowm[j] = img[j] == ids[i];
        for (uint32_t y0 = 0; y0 < H; y0 += 32)
            for (uint32_t x0 = 0; x0 < W; x0 += 32)
                for (uint32_t x = x0; x < x0 + 32 && x < W; x++)
                    for (uint32_t y = y0; y < y0 + 32 && y < H; y++)
                        mask[(size_t)x * H + y] = rowm[(size_t)y * W + x];
        qn_rle r;
        qn_rle_init(&r);
        if (qn_rle_encode(&r, mask, H, W))
            exit(3);
        runs += r.m;
        qn_rle_free(&r);
    }
    return runs;
}

int main(int argc, char **argv)
{
    int reps = 30;
    uint32_t H = 1024, W = 2048;
    const char *raw = NULL;
    int ours_only = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ours-only"))
            ours_only = 1;
        else if (!strcmp(argv[i], "--raw") && i + 3 < argc) {
            raw = argv[++i];
            H = (uint32_t)atoi(argv[++i]);
            W = (uint32_t)atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [-n REPS] [--ours-only] [--raw FILE.u16 H W]\n", argv[0]);
            return 2;
        }
    }
    uint16_t *img = malloc((size_t)H * W * 2);
    uint8_t *mask = malloc((size_t)H * W), *rowm = malloc((size_t)H * W);
    double *t = malloc(sizeof(double) * (reps > 0 ? reps : 1));
    if (!img || !mask || !rowm || !t || reps < 1)
        return 3;
    if (raw) {
        FILE *f = fopen(raw, "rb");
        if (!f || fread(img, 2, (size_t)H * W, f) != (size_t)H * W) {
            fprintf(stderr, "%s: cannot read %u x %u uint16\n", raw, H, W);
            return 2;
        }
        fclose(f);
    } else {
        synth(img, (int)W, (int)H);
    }
    qn_label_rles lr;
    size_t runs = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        if (qn_rle_from_labels(&lr, img, H, W, 24))
            return 3;
        t[r] = now() - t0;
        runs = 0;
        for (size_t i = 0; i < lr.n; i++)
            runs += lr.rles[i].m;
        if (r + 1 < reps)
            qn_label_rles_free(&lr);
    }
    qsort(t, reps, sizeof *t, cmp_d);
    double ours = t[reps / 2];
    printf("image %ux%u, %zu ids >= 24, %zu runs\n", W, H, lr.n, runs);
    printf("qn_rle_from_labels: %.3f ms (median of %d)\n", ours * 1e3, reps);
    int reps2 = ours_only ? 0 : reps < 5 ? reps : 5;
    for (int r = 0; r < reps2; r++) {
        double t0 = now();
        if (per_instance(img, H, W, lr.ids, lr.n, mask, rowm) != runs) {
            fprintf(stderr, "per-instance RLEs differ from qn_rle_from_labels\n");
            return 1;
        }
        t[r] = now() - t0;
    }
    qsort(t, reps2, sizeof *t, cmp_d);
    if (reps2) {
        double peer = t[reps2 / 2];
        printf("per-instance compare+encode: %.3f ms (median of %d)\n", peer * 1e3, reps2);
        printf("%.1f\n", peer / ours);
    }
    qn_label_rles_free(&lr);
    free(img);
    free(mask);
    free(rowm);
    free(t);
    return 0;
}
