/* kn_bench.c — times the engine's forward pass (bench/features_cnn.sh,
 * bench/gpu_check.sh). Weights come from the golden generator: speed does not
 * depend on their values, and no weight file is needed.
 *
 *   kn_bench ARCH BACKEND BATCH H W [ITERS] [THREADS]
 * prints "ARCH BACKEND batch B HxW: N img/s (S s per batch)" — for 3D, H and W
 * are the clip's height and width and the clip has 16 frames. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kernels/engine.h"
#include "kernels/kn_internal.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: kn_bench ARCH ref|cpu|cuda|auto BATCH H W [ITERS] [THREADS]\n");
        return 2;
    }
    qn_error err = {0};
    kn_arch arch;
    kn_options o = {KN_BACKEND_AUTO, argc > 7 ? atoi(argv[7]) : 0, 0};
    if (kn_arch_from_name(argv[1], &arch, &err) || kn_backend_from_name(argv[2], &o.backend, &err)) {
        fprintf(stderr, "kn_bench: %s\n", err.msg);
        return 2;
    }
    int b = atoi(argv[3]), h = atoi(argv[4]), w = atoi(argv[5]), iters = argc > 6 ? atoi(argv[6]) : 3;
    int is3d = arch == KN_RESNEXT101_3D, d = is3d ? KN_3D_FRAMES : 1;
    kn_golden g = {1, NULL, 0};
    kn_model *m = NULL;
    if (kn_model_open_src(arch, kn_golden_tensor, &g, &o, &m, &err)) {
        fprintf(stderr, "kn_bench: %s\n", err.msg);
        return 3;
    }
    if (kn_model_notice(m))
        fprintf(stderr, "kn_bench: %s\n", kn_model_notice(m));
    size_t px = (size_t)b * d * h * w * 3;
    uint8_t *in = malloc(px);
    float *out = malloc((size_t)b * kn_model_dim(m) * sizeof *out);
    kn_gen_u8("input", 1, in, px);
    double best = 1e30;
    for (int i = 0; i < iters + 1; i++) { /* first run warms up (allocations, GPU plans) */
        double t0 = now();
        int rc = is3d ? kn_run_3d_sized(m, in, b, d, h, w, out, KN_L2NORM, &err)
                      : kn_run_2d(m, in, b, h, w, out, KN_L2NORM, &err);
        if (rc) {
            fprintf(stderr, "kn_bench: %s\n", err.msg);
            return 3;
        }
        double t = now() - t0;
        if (i > 0 || iters == 0)
            best = t < best ? t : best;
    }
    printf("%s %s batch %d %dx%d: %.3f img/s (%.3f s per batch)\n", argv[1],
           kn_backend_name(kn_model_backend(m)), b, h, w, b / best, best);
    kn_model_close(m);
    free(in), free(out), free(g.buf);
    return 0;
}
