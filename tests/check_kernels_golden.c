/* Golden tests: the engine against PyTorch, stage by stage.
 *
 * kernels/fixtures/golden.json was written by kernels/tools/make_fixtures.py
 * (torch); the weights and inputs are not stored, both sides generate them
 * (kernels/kn_testgen.c). Per stage (stem, layer1..4) the fixture holds the
 * shape, the sum, the sum of |x| and 512 samples at flat NCDHW index
 * k*numel/512; final holds every feature. fp32 backends must agree within a
 * relative error of 1e-5 (max |diff| over max |ref|); the CUDA backend (fp16,
 * selected with QUERN_KN_BACKEND=cuda, as bench/gpu_check.sh does) within 1e-2
 * and cosine >= 0.999. A failure names the case and the first diverging stage. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "kernels/engine.h"
#include "kernels/kn_cuda.h"
#include "kernels/kn_internal.h"

#define FIXTURE "kernels/fixtures/golden.json"

typedef struct cmp {
    json_t *stages;   /* fixture stage records */
    double tol, cos_min;
    char first_bad[256]; /* first diverging stage, "" when all pass */
    char report[1024];
} cmp;

static void note_bad(cmp *c, const char *fmt, const char *name, double a, double b)
{
    size_t o = strlen(c->report);
    snprintf(c->report + o, sizeof c->report - o, fmt, name, a, b);
    if (!c->first_bad[0])
        snprintf(c->first_bad, sizeof c->first_bad, "%s", name);
}

static void stage_hook(int stage, const kn_tensor *t, void *ud)
{
    cmp *c = ud;
    if (stage >= KN_STAGE_FINAL)
        return;
    json_t *s = json_array_get(c->stages, (size_t)stage);
    const char *name = json_string_value(json_object_get(s, "name"));
    json_t *shape = json_object_get(s, "shape"), *samples = json_object_get(s, "samples");
    int N = (int)json_integer_value(json_array_get(shape, 0));
    int C = (int)json_integer_value(json_array_get(shape, 1));
    int D = (int)json_integer_value(json_array_get(shape, 2));
    int H = (int)json_integer_value(json_array_get(shape, 3));
    int W = (int)json_integer_value(json_array_get(shape, 4));
    if (N != t->n || C != t->c || D != t->d || H != t->h || W != t->w) {
        note_bad(c, "%s: shape differs (%g vs %g elements); ", name, (double)kn_numel(t),
                 (double)N * C * D * H * W);
        return;
    }
    size_t numel = kn_numel(t), K = json_array_size(samples);
    double dmax = 0, rmax = 1e-30, dot = 0, na = 0, nb = 0;
    for (size_t k = 0; k < K; k++) {
        size_t f = k * numel / K; /* NCDHW flat index → our NDHWC */
        size_t w = f % W, h = f / W % H, d = f / W / H % D, ch = f / W / H / D % C,
               n = f / W / H / D / C;
        double a = t->data[(((n * D + d) * H + h) * W + w) * C + ch];
        double b = json_real_value(json_array_get(samples, k));
        dmax = fmax(dmax, fabs(a - b));
        rmax = fmax(rmax, fabs(b));
        dot += a * b, na += a * a, nb += b * b;
    }
    double sum = 0;
    for (size_t i = 0; i < numel; i++)
        sum += t->data[i];
    double want = json_real_value(json_object_get(s, "sum"));
    double sabs = json_real_value(json_object_get(s, "sum_abs"));
    double cosv = dot / (sqrt(na * nb) + 1e-300);
    if (getenv("QUERN_KN_VERBOSE"))
        fprintf(stderr, "  %-7s rel err %.3g  sum diff %.3g  cosine %.9f\n", name, dmax / rmax,
                fabs(sum - json_real_value(json_object_get(s, "sum"))) /
                    json_real_value(json_object_get(s, "sum_abs")), cosv);
    if (dmax / rmax > c->tol)
        note_bad(c, "%s: samples rel err %.3g (max |ref| %.3g); ", name, dmax / rmax, rmax);
    else if (fabs(sum - want) > c->tol * sabs)
        note_bad(c, "%s: sum %.9g, torch %.9g; ", name, sum, want);
    else if (cosv < c->cos_min)
        note_bad(c, "%s: cosine %.6f (%g); ", name, cosv, 0.0);
}

static json_t *load_fixture(void)
{
    json_error_t je;
    json_t *root = json_load_file(FIXTURE, 0, &je);
    ck_assert_msg(root != NULL, "%s: %s (run from the repository root)", FIXTURE, je.text);
    return root;
}

static kn_backend backend_under_test(void)
{
    const char *b = getenv("QUERN_KN_BACKEND");
    kn_backend kb = KN_BACKEND_CPU;
    if (b && *b && kn_backend_from_name(b, &kb, NULL) != QN_OK) {
        fprintf(stderr, "QUERN_KN_BACKEND=%s: not ref, cpu or cuda\n", b);
        exit(2);
    }
    return kb;
}

/* Runs fixture case i on backend b; returns with a failed assertion naming the
 * first diverging stage. */
static void run_case(int i, kn_backend b)
{
    json_t *root = load_fixture();
    json_t *cs = json_array_get(json_object_get(root, "cases"), (size_t)i);
    ck_assert_ptr_nonnull(cs);
    const char *an = json_string_value(json_object_get(cs, "arch"));
    kn_arch arch;
    ck_assert_int_eq(kn_arch_from_name(an, &arch, NULL), QN_OK);
    uint32_t seed = (uint32_t)json_integer_value(json_object_get(cs, "seed"));
    int n = (int)json_integer_value(json_object_get(cs, "n"));
    int d = (int)json_integer_value(json_object_get(cs, "d"));
    int h = (int)json_integer_value(json_object_get(cs, "h"));
    int w = (int)json_integer_value(json_object_get(cs, "w"));

    kn_golden g = {seed, NULL, 0};
    kn_options o = {b, 2, 0};
    kn_model *m = NULL;
    qn_error err = {0};
    ck_assert_msg(kn_model_open_src(arch, kn_golden_tensor, &g, &o, &m, &err) == QN_OK, "%s",
                  err.msg);
    size_t px = (size_t)n * d * h * w;
    uint8_t *in = malloc(px * 3);
    kn_gen_u8("input", seed, in, px * 3);
    int dim = kn_model_dim(m);
    float *out = malloc((size_t)n * dim * sizeof *out), *out2 = malloc((size_t)n * dim * 4);
    int fp16 = b == KN_BACKEND_CUDA;
    cmp c = {json_object_get(cs, "stages"), fp16 ? 1e-2 : 1e-5, fp16 ? 0.999 : 0, "", ""};

    /* stage by stage through the internal forward, with the backend's own
     * input normalisation */
    ck_assert_msg(kn_forward_u8(m, in, n, d, h, w, out, stage_hook, &c, &err) == QN_OK, "%s",
                  err.msg);
    /* final features, through the public entry point too */
    json_t *fin = json_object_get(cs, "final");
    ck_assert_int_eq((int)json_array_size(fin), n * dim);
    int rc = d > 1 ? kn_run_3d_sized(m, in, n, d, h, w, out2, 0, &err)
                   : kn_run_2d(m, in, n, h, w, out2, 0, &err);
    ck_assert_msg(rc == QN_OK, "%s", err.msg);
    double dmax = 0, rmax = 1e-30, dot = 0, na = 0, nb = 0, pub = 0;
    for (int k = 0; k < n * dim; k++) {
        double a = out[k], r = json_real_value(json_array_get(fin, (size_t)k));
        dmax = fmax(dmax, fabs(a - r));
        rmax = fmax(rmax, fabs(r));
        pub = fmax(pub, fabs((double)out2[k] - a));
        dot += a * r, na += a * a, nb += r * r;
    }
    double cosv = dot / (sqrt(na * nb) + 1e-300);
    if (getenv("QUERN_KN_VERBOSE"))
        fprintf(stderr, "%s on %s: final rel err %.3g cosine %.9f\n", an,
                kn_backend_name(kn_model_backend(m)), dmax / rmax, cosv);
    if (!c.first_bad[0] && (dmax / rmax > c.tol || cosv < c.cos_min))
        note_bad(&c, "%s: rel err %.3g, cosine %.6f; ", "final", dmax / rmax, cosv);
    ck_assert_msg(!c.first_bad[0], "%s on %s: first diverging stage: %s (%s)", an,
                  kn_backend_name(kn_model_backend(m)), c.first_bad, c.report);
    ck_assert_msg(pub <= (fp16 ? 1e-2 * rmax : 0), "%s: kn_run_* differs from the staged forward",
                  an);
    kn_model_close(m);
    free(in), free(out), free(out2), free(g.buf);
    json_decref(root);
}

START_TEST(golden_resnet18)
{
    run_case(0, backend_under_test());
}
END_TEST

START_TEST(golden_resnet50)
{
    run_case(1, backend_under_test());
}
END_TEST

START_TEST(golden_resnet152)
{
    run_case(2, backend_under_test());
}
END_TEST

START_TEST(golden_resnext101_3d)
{
    run_case(3, backend_under_test());
}
END_TEST

/* With a usable GPU, make check also runs every case on the cuda backend. */
START_TEST(golden_case_cuda)
{
    run_case(_i, KN_BACKEND_CUDA);
}
END_TEST

/* The oracle itself against torch, on the cheapest case. */
START_TEST(golden_resnet18_ref)
{
    run_case(0, KN_BACKEND_REF);
}
END_TEST

/* A deliberately broken model must be reported at the right stage: perturb
 * a layer3 bias through a wrapped tensor source. */
static const float *broken_src(const char *name, const int64_t *shape, int nd, void *ud)
{
    const float *p = kn_golden_tensor(name, shape, nd, ud);
    if (p && !strcmp(name, "layer3.0.bn2.bias"))
        ((kn_golden *)ud)->buf[0] += 1.0f;
    return p;
}

START_TEST(golden_names_first_diverging_stage)
{
    json_t *root = load_fixture();
    json_t *cs = json_array_get(json_object_get(root, "cases"), 0);
    kn_golden g = {(uint32_t)json_integer_value(json_object_get(cs, "seed")), NULL, 0};
    kn_options o = {KN_BACKEND_CPU, 2, 0};
    kn_model *m = NULL;
    ck_assert_int_eq(kn_model_open_src(KN_RESNET18, broken_src, &g, &o, &m, NULL), QN_OK);
    int n = 2, h = 70, w = 126;
    size_t px = (size_t)n * h * w;
    uint8_t *in = malloc(px * 3);
    float *x = malloc(px * 3 * 4), out[2 * 512];
    kn_gen_u8("input", g.seed, in, px * 3);
    kn_normalize_2d(in, px, x);
    kn_tensor t = {x, n, 1, h, w, 3};
    cmp c = {json_object_get(cs, "stages"), 1e-5, 0, "", ""};
    ck_assert_int_eq(kn_forward_f32(m, &t, out, stage_hook, &c, NULL), QN_OK);
    ck_assert_str_eq(c.first_bad, "layer3");
    kn_model_close(m);
    free(in), free(x), free(g.buf);
    json_decref(root);
}
END_TEST

/* The GPU clip pooling equals the CPU one (cuda runs only). */
START_TEST(cuda_pool_clips_matches_cpu)
{
    enum { N2 = 37, N3 = 55, D = 2048, C = 40 };
    float *r2 = malloc(sizeof(float) * N2 * D), *r3 = malloc(sizeof(float) * N3 * D);
    float *a = malloc(sizeof(float) * C * 2 * D), *b = malloc(sizeof(float) * C * 2 * D);
    double s[C], e[C];
    kn_gen_uniform("r2", 1, -1, 1, r2, (size_t)N2 * D);
    kn_gen_uniform("r3", 1, -1, 1, r3, (size_t)N3 * D);
    for (int i = 0; i < C; i++) {
        s[i] = i * 1.1 - 2;     /* some before 0, some past the end */
        e[i] = s[i] + (i % 7) * 0.8 - 0.5;
    }
    kn_model *m = NULL; /* probes the GPU */
    kn_golden g = {1, NULL, 0};
    kn_options o = {KN_BACKEND_CUDA, 1, 0};
    qn_error err = {0};
    ck_assert_msg(kn_model_open_src(KN_RESNET18, kn_golden_tensor, &g, &o, &m, &err) == QN_OK, "%s",
                  err.msg);
    ck_assert_int_eq(kn_pool_clips(r2, N2, D, 1.0, r3, N3, D, 1.5, s, e, C, a, NULL), QN_OK);
    ck_assert_msg(kn_cuda_pool_clips(r2, N2, D, 1.0, r3, N3, D, 1.5, s, e, C, b, &err) == QN_OK,
                  "%s", err.msg);
    double d = 0;
    for (size_t i = 0; i < (size_t)C * 2 * D; i++)
        d = fmax(d, fabs((double)a[i] - b[i]));
    ck_assert_msg(d <= 1e-6, "GPU clip pooling differs by %g", d);
    kn_model_close(m);
    free(r2), free(r3), free(a), free(b), free(g.buf);
}
END_TEST

/* Whether a GPU is usable, asked in a child: CUDA must not be initialised in
 * the parent, whose forked test processes would then inherit a dead context. */
static int gpu_usable(void)
{
    pid_t p = fork();
    if (p == 0)
        _exit(kn_cuda_probe(0, NULL) == QN_OK ? 0 : 1);
    int st = 1;
    if (p < 0 || waitpid(p, &st, 0) != p)
        return 0;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static Suite *kernels_golden_suite(void)
{
    Suite *s = suite_create("kernels_golden");
    TCase *tc = tcase_create("golden");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, golden_resnet18);
    tcase_add_test(tc, golden_resnet50);
    tcase_add_test(tc, golden_resnet152);
    tcase_add_test(tc, golden_resnext101_3d);
    int gpu = backend_under_test() == KN_BACKEND_CUDA;
    if (!gpu && !getenv("QUERN_KN_BACKEND") && gpu_usable()) {
        tcase_add_loop_test(tc, golden_case_cuda, 0, 4);
        gpu = 1;
    }
    if (gpu)
        tcase_add_test(tc, cuda_pool_clips_matches_cpu);
    if (backend_under_test() != KN_BACKEND_CUDA) {
        tcase_add_test(tc, golden_resnet18_ref);
        tcase_add_test(tc, golden_names_first_diverging_stage);
    }
    suite_add_tcase(s, tc);
    return s;
}

QN_CHECK_MAIN(kernels_golden_suite)
