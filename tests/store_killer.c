/* store_killer — a store writer for the kill test (tests/check_store_kill.c).
 * Usage: store_killer DIR LOG   (env KILL_BATCHES=n: stop after n batches; KILL_FIRST=f:
 * number the batches from f)
 * Ingests synthetic batches forever: before each batch it appends "B n" to LOG, after
 * qn_store_commit returns it appends "C n". Batch n holds KILL_VPB videos "bN-vK" with
 * clips, per-step rows (f16) and per-clip rows (f32) whose values follow from (n, k), so
 * the test can check every byte after a SIGKILL at any moment. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

/* The synthetic data; tests/check_store_kill.c keeps an identical copy. */
enum { KILL_VPB = 3, KILL_CLIPS = 5, KILL_DIM_STEP = 96, KILL_DIM_CLIP = 32, KILL_MAX_ROWS = 40 };

static inline int kill_rows(int64_t b, int k)
{
    return 8 + (int)((b * 7 + k * 3) % (KILL_MAX_ROWS - 8));
}

static inline float kill_value(int64_t b, int k, int r, int j)
{
    return (float)((b * 131 + k * 17 + r * 5 + j) % 251) / 64.0f - 2.0f; /* exact in f16 */
}

static int log_fd;

static void note(char what, int64_t b)
{
    char line[32];
    int n = snprintf(line, sizeof line, "%c %lld\n", what, (long long)b);
    if (write(log_fd, line, (size_t)n) != n)
        exit(9);
}

static int batch(qn_store *s, qn_fset *ps, qn_fset *pc, int64_t b, qn_error *err)
{
    static float rows[KILL_MAX_ROWS * KILL_DIM_STEP];
    static float crow[KILL_CLIPS * KILL_DIM_CLIP];
    int rc = qn_store_begin(s, err);
    for (int k = 0; !rc && k < KILL_VPB; k++) {
        char ext[32], text[KILL_CLIPS][48];
        snprintf(ext, sizeof ext, "b%lld-v%d", (long long)b, k);
        qn_store_video v;
        qn_store_video_init(&v);
        v.ext_id = ext;
        v.status = QN_VIDEO_OK;
        v.duration = (double)kill_rows(b, k);
        int64_t id, ids[KILL_CLIPS];
        rc = qn_store_video_add(s, &v, &id, err);
        qn_store_clip c[KILL_CLIPS];
        int32_t tok[3] = {(int32_t)b, k, 7};
        for (int i = 0; i < KILL_CLIPS; i++) {
            snprintf(text[i], sizeof text[i], "clip %d of %s", i, ext);
            c[i] = (qn_store_clip){0, 0, i, i, i + 1.5, text[i], text[i], text[i], tok, 3};
        }
        if (!rc)
            rc = qn_store_clips_add(s, id, c, KILL_CLIPS, ids, err);
        int n = kill_rows(b, k);
        for (int r = 0; r < n; r++)
            for (int j = 0; j < KILL_DIM_STEP; j++)
                rows[r * KILL_DIM_STEP + j] = kill_value(b, k, r, j);
        if (!rc)
            rc = qn_fset_put_video(s, ps, id, rows, QN_F32, n, err);
        for (int i = 0; i < KILL_CLIPS; i++)
            for (int j = 0; j < KILL_DIM_CLIP; j++)
                crow[i * KILL_DIM_CLIP + j] = kill_value(b, k, 1000 + i, j);
        if (!rc)
            rc = qn_fset_put_clips(s, pc, ids, crow, QN_F32, KILL_CLIPS, err);
    }
    if (!rc)
        return qn_store_commit(s, err);
    qn_store_rollback(s, NULL);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: store_killer DIR LOG\n");
        return 2;
    }
    log_fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0666);
    if (log_fd < 0)
        return 3;
    qn_error err;
    qn_error_clear(&err);
    qn_store *s;
    int rc = qn_store_open(argv[1], QN_STORE_WRITE | QN_STORE_CREATE, &s, &err);
    qn_fset *ps = NULL, *pc = NULL;
    qn_fset_info sp = {0, "step", QN_FSET_PER_STEP, "killer", NULL, KILL_DIM_STEP, QN_F16, 1.5, 0};
    qn_fset_info cp = {0, "clip", QN_FSET_PER_CLIP, "killer", NULL, KILL_DIM_CLIP, QN_F32, 0, 0};
    if (!rc)
        rc = qn_fset_create(s, &sp, &ps, &err);
    if (!rc)
        rc = qn_fset_create(s, &cp, &pc, &err);
    qn_store_stats st;
    if (!rc)
        rc = qn_store_stats_get(s, &st, &err);
    if (rc) {
        fprintf(stderr, "store_killer: %s\n", err.msg);
        return 4;
    }
    if (st.n_videos % KILL_VPB) {
        fprintf(stderr, "store_killer: %lld videos: a partial batch survived\n",
                (long long)st.n_videos);
        return 5;
    }
    /* for building small stores in tests: KILL_BATCHES=n stops after n batches, KILL_FIRST=f
     * numbers them from f (so two stores get different video ids) */
    int64_t limit = getenv("KILL_BATCHES") ? atoll(getenv("KILL_BATCHES")) : -1;
    int64_t first = getenv("KILL_FIRST") ? atoll(getenv("KILL_FIRST")) : 0;
    for (int64_t b = first + st.n_videos / KILL_VPB; limit < 0 || b < first + limit; b++) {
        note('B', b);
        rc = batch(s, ps, pc, b, &err);
        if (rc) {
            fprintf(stderr, "store_killer: %s\n", err.msg);
            return 6;
        }
        note('C', b);
    }
    qn_store_close(s);
    return 0;
}
