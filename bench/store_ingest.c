/* store_bench — C-side store figures (TEST_TOOL; run by bench/store_ingest.sh, and by
 * helper E's bench/store.sh).
 * Usage: store_bench DIR [--videos N] [--clips-per-video K] [--rows R] [--threads T]
 *                        [--batch B]   (videos per batch, default 100)
 * DIR must not exist. Prints one "name value unit" line per figure:
 *   clip_rows_per_s     clips (3 texts + 10 token ids each) inserted per second, batches of
 *                       B videos, commits included
 *   feature_rows_per_s  per-step f16 rows of 2048 values appended per second, fdatasync'd
 *   feature_MB_per_s    the same in MB/s (compare with dd ... conv=fdatasync)
 *   pooled_clips_per_s  HowTo100M 4096-d clips (2D rate 1 ‖ 3D rate 1.5, max + L2) pooled
 *                       per second by T threads sharing one read-only handle */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qn_progress.h"
#include "store/store.h"

static int n_videos = 2000, n_clips = 64, n_rows = 20, n_threads = 2, n_batch = 100;

static void die(const char *what, const qn_error *e)
{
    fprintf(stderr, "store_bench: %s: %s\n", what, e->msg);
    exit(1);
}

#define TRY(call, what)                                                                  \
    do {                                                                                 \
        if ((call) != QN_OK)                                                             \
            die(what, &err);                                                             \
    } while (0)

static double ingest_clips(qn_store *s, int64_t *video_ids)
{
    qn_error err;
    qn_error_clear(&err);
    qn_store_clip *c = calloc((size_t)n_clips, sizeof *c);
    char (*text)[80] = calloc((size_t)n_clips, 80);
    int32_t tok[10] = {11, 22, 33, 44, 55, 66, 77, 88, 99, 110};
    double t0 = qn_now();
    for (int v = 0; v < n_videos; v++) {
        if (v % n_batch == 0)
            TRY(qn_store_begin(s, &err), "begin");
        char ext[32];
        snprintf(ext, sizeof ext, "vid%07d", v);
        qn_store_video vi;
        qn_store_video_init(&vi);
        vi.ext_id = ext;
        vi.status = QN_VIDEO_OK;
        vi.duration = n_rows;
        TRY(qn_store_video_add(s, &vi, &video_ids[v], &err), "video");
        for (int k = 0; k < n_clips; k++) {
            snprintf(text[k], 80, "and then you take the %d screws out of video %d", k, v);
            double st = (double)k * n_rows / n_clips;
            c[k] = (qn_store_clip){0, 0, k, st, st + 4.0, text[k], text[k], text[k] + 9, tok, 10};
        }
        TRY(qn_store_clips_add(s, video_ids[v], c, (size_t)n_clips, NULL, &err), "clips");
        if (v % n_batch == n_batch - 1 || v == n_videos - 1)
            TRY(qn_store_commit(s, &err), "commit");
    }
    double dt = qn_now() - t0;
    free(c);
    free(text);
    return (double)n_videos * n_clips / dt;
}

static double ingest_rows(qn_store *s, const int64_t *video_ids, double *mbps)
{
    qn_error err;
    qn_error_clear(&err);
    qn_fset *f2, *f3;
    qn_fset_info s2 = {0, "resnet152-2d", QN_FSET_PER_STEP, "bench", NULL, 2048, QN_F16, 1, 0};
    qn_fset_info s3 = {0, "resnext101-3d", QN_FSET_PER_STEP, "bench", NULL, 2048, QN_F16, 1.5, 0};
    TRY(qn_fset_create(s, &s2, &f2, &err), "set 2d");
    TRY(qn_fset_create(s, &s3, &f3, &err), "set 3d");
    int r3 = n_rows * 3 / 2;
    uint16_t *rows = malloc((size_t)r3 * 2048 * 2);
    for (size_t i = 0; i < (size_t)r3 * 2048; i++)
        rows[i] = (uint16_t)(0x3000 + (i * 2654435761u >> 22) % 0x800); /* 0.125 .. 0.25 */
    double t0 = qn_now();
    for (int v = 0; v < n_videos; v++) {
        if (v % n_batch == 0)
            TRY(qn_store_begin(s, &err), "begin");
        TRY(qn_fset_put_video(s, f2, video_ids[v], rows, QN_F16, n_rows, &err), "rows 2d");
        TRY(qn_fset_put_video(s, f3, video_ids[v], rows, QN_F16, r3, &err), "rows 3d");
        if (v % n_batch == n_batch - 1 || v == n_videos - 1)
            TRY(qn_store_commit(s, &err), "commit");
    }
    double dt = qn_now() - t0;
    free(rows);
    double nrows = (double)n_videos * (n_rows + r3);
    *mbps = nrows * 4096 / dt / 1e6;
    return nrows / dt;
}

typedef struct pool_job {
    qn_store *s;
    qn_fset *f2, *f3;
    const int64_t *ids;
    int first, step;
    int64_t done;
    int failed;
} pool_job;

static void *pool_thread(void *p)
{
    pool_job *j = p;
    float out[4096];
    qn_error err;
    qn_error_clear(&err);
    for (int v = j->first; v < n_videos; v += j->step)
        for (int k = 0; k < n_clips; k++) {
            double st = (double)k * n_rows / n_clips, en = st + 5.0;
            if (qn_store_pool(j->s, j->f2, j->ids[v], st, en, out, &err) ||
                qn_store_pool(j->s, j->f3, j->ids[v], st, en, out + 2048, &err)) {
                j->failed = 1;
                fprintf(stderr, "store_bench: pool: %s\n", err.msg);
                return NULL;
            }
            j->done++;
        }
    return NULL;
}

static double pool_clips(const char *dir, const int64_t *ids)
{
    qn_error err;
    qn_error_clear(&err);
    qn_store *s;
    TRY(qn_store_open(dir, QN_STORE_READ, &s, &err), "open");
    qn_fset *f2, *f3;
    TRY(qn_fset_find(s, "resnet152-2d", &f2, &err), "find");
    TRY(qn_fset_find(s, "resnext101-3d", &f3, &err), "find");
    pool_job jobs[64];
    pthread_t th[64];
    double t0 = qn_now();
    for (int i = 0; i < n_threads; i++) {
        jobs[i] = (pool_job){s, f2, f3, ids, i, n_threads, 0, 0};
        pthread_create(&th[i], NULL, pool_thread, &jobs[i]);
    }
    int64_t done = 0;
    for (int i = 0; i < n_threads; i++) {
        pthread_join(th[i], NULL);
        if (jobs[i].failed)
            exit(1);
        done += jobs[i].done;
    }
    double dt = qn_now() - t0;
    qn_store_close(s);
    return (double)done / dt;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: store_bench DIR [--videos N] [--clips-per-video K] [--rows R] "
                        "[--threads T] [--batch B]\n");
        return 2;
    }
    for (int i = 2; i + 1 < argc; i += 2) {
        int v = atoi(argv[i + 1]);
        if (!strcmp(argv[i], "--videos")) n_videos = v;
        else if (!strcmp(argv[i], "--clips-per-video")) n_clips = v;
        else if (!strcmp(argv[i], "--rows")) n_rows = v;
        else if (!strcmp(argv[i], "--threads")) n_threads = v;
        else if (!strcmp(argv[i], "--batch")) n_batch = v;
        else { fprintf(stderr, "store_bench: unknown option %s\n", argv[i]); return 2; }
    }
    if (n_videos < 1 || n_clips < 1 || n_rows < 1 || n_threads < 1 || n_threads > 64 ||
        n_batch < 1) {
        fprintf(stderr, "store_bench: bad sizes\n");
        return 2;
    }
    qn_error err;
    qn_error_clear(&err);
    qn_store *s;
    TRY(qn_store_open(argv[1], QN_STORE_WRITE | QN_STORE_CREATE, &s, &err), "create");
    int64_t *ids = calloc((size_t)n_videos, sizeof *ids);
    double cps = ingest_clips(s, ids);
    printf("clip_rows_per_s %.0f clips/s\n", cps);
    fflush(stdout);
    double mbps, rps = ingest_rows(s, ids, &mbps);
    printf("feature_rows_per_s %.0f rows/s\n", rps);
    printf("feature_MB_per_s %.1f MB/s\n", mbps);
    fflush(stdout);
    qn_store_close(s);
    printf("pooled_clips_per_s %.0f clips/s (%d threads, 4096-d)\n", pool_clips(argv[1], ids),
           n_threads);
    free(ids);
    return 0;
}
