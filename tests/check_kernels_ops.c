/* Unit tests of the engine's ops and plumbing: the fast CPU backend against the
 * reference on random shapes (strides, padding, groups 32, 3D, odd sizes),
 * pooling, fp16, sha256, safetensors validation and name/shape checks. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qn_half.h"
#include "qn_sha256.h"
#include "check_main.h"
#include "kernels/engine.h"
#include "kernels/kn_convert.h"
#include "kernels/kn_cpu_gconv.h"
#include "kernels/kn_cuda.h"
#include "kernels/kn_internal.h"
#include "kernels/kn_safetensors.h"

/* max|a-b| / max|b|: the error relative to the tensor's scale. */
static double rel_err(const float *a, const float *b, size_t n)
{
    double d = 0, m = 1e-30;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        d = e > d ? e : d;
        m = fabs(b[i]) > m ? fabs(b[i]) : m;
    }
    return d / m;
}

typedef struct conv_case {
    int n, d, h, w, cin, cout, groups, k[3], s[3], p[3], res, relu;
} conv_case;

static void run_conv_case(const conv_case *t, int idx)
{
    kn_conv c = {.cin = t->cin, .cout = t->cout, .groups = t->groups};
    snprintf(c.name, sizeof c.name, "case%d", idx);
    memcpy(c.k, t->k, sizeof c.k);
    memcpy(c.s, t->s, sizeof c.s);
    memcpy(c.p, t->p, sizeof c.p);
    size_t nw = (size_t)c.cout * (c.cin / c.groups) * c.k[0] * c.k[1] * c.k[2];
    c.w = malloc(nw * sizeof *c.w);
    c.bias = malloc((size_t)c.cout * sizeof *c.bias);
    kn_gen_uniform("w", (uint32_t)idx, -1, 1, c.w, nw);
    kn_gen_uniform("b", (uint32_t)idx, -1, 1, c.bias, (size_t)c.cout);
    kn_tensor x = {NULL, t->n, t->d, t->h, t->w, t->cin};
    x.data = malloc(kn_numel(&x) * sizeof(float));
    kn_gen_uniform("x", (uint32_t)idx, -2, 2, x.data, kn_numel(&x));
    kn_tensor y = {NULL, t->n, kn_out_size(t->d, c.k[0], c.s[0], c.p[0]),
                   kn_out_size(t->h, c.k[1], c.s[1], c.p[1]),
                   kn_out_size(t->w, c.k[2], c.s[2], c.p[2]), t->cout};
    size_t ny = kn_numel(&y);
    float *yr = malloc(ny * sizeof *yr), *yc = malloc(ny * sizeof *yc), *r = malloc(ny * 4);
    kn_gen_uniform("r", (uint32_t)idx, -1, 1, r, ny);
    kn_tensor res = y;
    res.data = r;
    y.data = yr;
    kn_ref_ops.conv(&c, &x, &y, t->res ? &res : NULL, t->relu, NULL);
    ck_assert_int_eq(kn_cpu_ops.prepare_conv(&c), QN_OK);
    float *scr = malloc((kn_cpu_ops.conv_scratch(&c, &x, &y) + 1) * sizeof *scr);
    /* the residual may be y itself: the block tail writes in place */
    if (t->res == 2)
        memcpy(yc, r, ny * 4);
    y.data = yc;
    res.data = t->res == 2 ? yc : r;
    kn_cpu_ops.conv(&c, &x, &y, t->res ? &res : NULL, t->relu, scr);
    double e = rel_err(yc, yr, ny);
    ck_assert_msg(e <= 1e-5, "case %d (%dx%dx%dx%d cin %d cout %d g %d k %d s %d): rel err %g", idx,
                  t->n, t->d, t->h, t->w, t->cin, t->cout, t->groups, t->k[2], t->s[2], e);
    kn_cpu_ops.release_conv(&c);
    free(scr), free(yr), free(yc), free(r), free(x.data), free(c.w), free(c.bias);
}

START_TEST(conv_cpu_matches_ref)
{
    static const conv_case cases[] = {
        /* n d h w   cin cout g   k        s        p        res relu */
        {2, 1, 9, 11, 16, 24, 1, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, 0, 1},
        {1, 1, 23, 37, 3, 8, 1, {1, 7, 7}, {1, 2, 2}, {0, 3, 3}, 0, 1},     /* 2D stem, odd */
        {2, 1, 7, 13, 32, 16, 1, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, 1, 1},    /* GEMM 1x1 + res */
        {1, 1, 7, 13, 32, 16, 1, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, 2, 1},    /* res aliases y */
        {1, 1, 13, 25, 16, 32, 1, {1, 1, 1}, {1, 2, 2}, {0, 0, 0}, 0, 0},   /* downsample → 7×13 */
        {1, 1, 14, 25, 8, 8, 1, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}, 0, 1},     /* → 7×13 */
        {2, 1, 9, 10, 64, 64, 32, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, 0, 1},   /* groups 32 */
        {1, 1, 9, 10, 64, 128, 32, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}, 1, 1},
        {1, 2, 5, 6, 64, 64, 32, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, 0, 1},    /* 3D grouped s2 */
        {2, 3, 4, 5, 64, 64, 32, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, 2, 1},
        {1, 5, 12, 14, 3, 8, 1, {7, 7, 7}, {1, 2, 2}, {3, 3, 3}, 0, 1},     /* 3D stem */
        {1, 3, 5, 7, 16, 32, 1, {1, 1, 1}, {2, 2, 2}, {0, 0, 0}, 0, 0},     /* 3D downsample */
        {1, 2, 3, 3, 2048, 16, 1, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, 0, 0},   /* long K */
        /* padding wider than the kernel: whole kernel rows fall outside */
        {1, 1, 2, 2, 3, 8, 1, {1, 7, 7}, {1, 1, 1}, {0, 8, 8}, 0, 1},
        {1, 1, 2, 2, 128, 128, 32, {1, 3, 3}, {1, 1, 1}, {0, 4, 4}, 0, 1},
        /* direct grouped kernel: 4, 8, 16, 32 and 64 (two chunks) outputs per group,
         * rows shorter and longer than a block, stride 2, 3D, residual and in place */
        {2, 3, 5, 11, 128, 128, 32, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, 0, 1},
        {1, 4, 7, 9, 256, 256, 32, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, 1, 1},
        {1, 2, 6, 3, 512, 512, 32, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, 2, 1},
        {2, 2, 4, 5, 1024, 1024, 32, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, 0, 0},
        {1, 1, 5, 7, 128, 256, 4, {1, 3, 3}, {1, 1, 1}, {0, 1, 1}, 0, 1},
        {1, 1, 6, 13, 96, 96, 8, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}, 2, 0},
        {4, 3, 9, 17, 128, 128, 32, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, 0, 1}, /* threads */
    };
    /* on one thread and split over 3 (uneven shares of rows); with the kernels
     * this CPU picks (AVX2 where there is AVX2) and with the portable ones */
    for (int th = 1; th <= 3; th += 2)
        for (int base = 0; base < 2; base++) {
            kn_cpu_ops.set_threads(th);
            kn_cpu_gconv_baseline(base);
            for (int i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++)
                run_conv_case(&cases[i], i);
        }
    kn_cpu_ops.set_threads(1);
    kn_cpu_gconv_baseline(0);
}
END_TEST

START_TEST(shape_chain_224x398_is_7x13)
{
    int h = 224, w = 398;
    h = kn_out_size(h, 7, 2, 3), w = kn_out_size(w, 7, 2, 3);     /* conv1 */
    h = kn_out_size(h, 3, 2, 1), w = kn_out_size(w, 3, 2, 1);     /* maxpool */
    for (int i = 0; i < 3; i++)
        h = kn_out_size(h, 3, 2, 1), w = kn_out_size(w, 3, 2, 1); /* layer2..4 */
    ck_assert_int_eq(h, 7);
    ck_assert_int_eq(w, 13);
}
END_TEST

/* The real 2D input size through a real net: layer4 must be 7×13. */
static void shape_hook(int stage, const kn_tensor *t, void *ud)
{
    int *hw = ud;
    hw[2 * stage] = t->h, hw[2 * stage + 1] = t->w;
}

START_TEST(resnet18_224x398_reaches_7x13)
{
    kn_golden g = {5, NULL, 0};
    kn_options o = {KN_BACKEND_CPU, 2, 0};
    kn_model *m = NULL;
    ck_assert_int_eq(kn_model_open_src(KN_RESNET18, kn_golden_tensor, &g, &o, &m, NULL), QN_OK);
    size_t px = 224 * 398;
    uint8_t *in = malloc(px * 3);
    kn_gen_u8("frame", 5, in, px * 3);
    float out[512], out2[512];
    int hw[2 * KN_STAGE_COUNT] = {0};
    ck_assert_int_eq(kn_forward_u8(m, in, 1, 1, 224, 398, out, shape_hook, hw, NULL), QN_OK);
    ck_assert_int_eq(hw[2 * KN_STAGE_STEM], 56);
    ck_assert_int_eq(hw[2 * KN_STAGE_STEM + 1], 100);
    ck_assert_int_eq(hw[2 * KN_STAGE_L4], 7);
    ck_assert_int_eq(hw[2 * KN_STAGE_L4 + 1], 13);
    ck_assert_int_eq(kn_run_2d(m, in, 1, 224, 398, out2, 0, NULL), QN_OK);
    ck_assert_int_eq(memcmp(out, out2, sizeof out), 0);
    kn_model_close(m);
    free(in), free(g.buf);
}
END_TEST

START_TEST(maxpool_and_mean_match_ref)
{
    kn_tensor x = {NULL, 2, 3, 9, 13, 5};
    x.data = malloc(kn_numel(&x) * 4);
    kn_gen_uniform("mp", 1, -3, 3, x.data, kn_numel(&x));
    kn_pool p3 = {{3, 3, 3}, {2, 2, 2}, {1, 1, 1}}, p2 = {{1, 3, 3}, {1, 2, 2}, {0, 1, 1}};
    for (int k = 0; k < 2; k++) {
        const kn_pool *p = k ? &p2 : &p3;
        kn_tensor y = {NULL, 2, kn_out_size(3, p->k[0], p->s[0], p->p[0]), 5, 7, 5};
        size_t n = kn_numel(&y);
        float *a = malloc(n * 4), *b = malloc(n * 4);
        y.data = a;
        kn_ref_ops.maxpool(p, &x, &y);
        y.data = b;
        kn_cpu_ops.maxpool(p, &x, &y);
        ck_assert_int_eq(memcmp(a, b, n * 4), 0);
        free(a), free(b);
    }
    float m1[10], m2[10];
    kn_ref_ops.global_mean(&x, m1);
    kn_cpu_ops.global_mean(&x, m2);
    ck_assert_double_le(rel_err(m2, m1, 10), 1e-6);
    free(x.data);
}
END_TEST

START_TEST(normalisation_values)
{
    uint8_t px[6] = {0, 128, 255, 110, 103, 96};
    float o[6];
    kn_normalize_2d(px, 2, o);
    ck_assert_double_eq_tol(o[0], -0.485 / 0.229, 1e-5);
    ck_assert_double_eq_tol(o[1], (128 / 255.0 - 0.456) / 0.224, 1e-5);
    ck_assert_double_eq_tol(o[2], (1 - 0.406) / 0.225, 1e-5);
    kn_normalize_3d(px, 2, o);
    ck_assert_double_eq_tol(o[0], -110.6, 1e-4);
    ck_assert_double_eq_tol(o[3], -0.6, 1e-4);
    ck_assert_double_eq_tol(o[5], -0.3, 1e-4);
    float v[4] = {3, 4, 0, 0};
    kn_l2norm_rows(v, 2, 2);
    ck_assert_double_eq_tol(v[0], 0.6, 1e-7);
    ck_assert_double_eq_tol(v[1], 0.8, 1e-7);
    ck_assert(v[2] == 0 && v[3] == 0);
}
END_TEST

START_TEST(pool_clips_windows)
{
    /* 2D: 4 rows of dim 2 at rate 1; 3D: 3 rows of dim 1 at rate 1.5 */
    float r2[8] = {1, 0, 0, 2, 3, 1, 0, 5}, r3[3] = {-1, -2, 4};
    double s[4] = {0.0, 1.2, 9.0, 2.5}, e[4] = {1.0, 1.9, 12.0, 2.0};
    float out[4 * 3];
    ck_assert_int_eq(kn_pool_clips(r2, 4, 2, 1.0, r3, 3, 1, 1.5, s, e, 4, out, NULL), QN_OK);
    /* clip 0: 2D rows [0,2) → max (1,2) → /√5; 3D rows [0, floor(1.5)+1=2) → max -1 → -1 */
    ck_assert_double_eq_tol(out[0], 1 / sqrt(5), 1e-6);
    ck_assert_double_eq_tol(out[1], 2 / sqrt(5), 1e-6);
    ck_assert_double_eq_tol(out[2], -1, 1e-6);
    /* clip 1: 2D rows [1,2) → (0,2) → (0,1); 3D rows [1, floor(2.85)+1=3) → 4 → 1 */
    ck_assert_double_eq_tol(out[3], 0, 1e-6);
    ck_assert_double_eq_tol(out[4], 1, 1e-6);
    ck_assert_double_eq_tol(out[5], 1, 1e-6);
    /* clip 2: past the end → last rows: (0,5) → (0,1); 3D 4 → 1 */
    ck_assert_double_eq_tol(out[7], 1, 1e-6);
    ck_assert_double_eq_tol(out[8], 1, 1e-6);
    /* clip 3: reversed → [2.5,2.5]: 2D row 2 (3,1); 3D rows [3,4)∩[0,3) empty → last row */
    ck_assert_double_eq_tol(out[9], 3 / sqrt(10), 1e-6);
    ck_assert_double_eq_tol(out[11], 1, 1e-6);
    /* absent modality → zeros */
    ck_assert_int_eq(kn_pool_clips(r2, 4, 2, 1.0, NULL, 0, 1, 1.5, s, e, 1, out, NULL), QN_OK);
    ck_assert(out[2] == 0);
    qn_error err = {0};
    double bad = NAN;
    ck_assert_int_eq(kn_pool_clips(r2, 4, 2, 1.0, r3, 3, 1, 1.5, &bad, e, 1, out, &err), QN_EUSAGE);
    ck_assert_str_eq(err.msg, "kn_pool_clips: clip 0: non-finite time");
}
END_TEST

START_TEST(f16_rounding)
{
    float in[8] = {1.0f, -2.5f, 65504.0f, 1e6f, 5.9604645e-8f, 0.0f, 1.00048828125f, 1.00146484375f};
    uint16_t o[8];
    qn_f32_to_f16_n(o, in, 8);
    ck_assert_uint_eq(o[0], 0x3c00);
    ck_assert_uint_eq(o[1], 0xc100);
    ck_assert_uint_eq(o[2], 0x7bff);
    ck_assert_uint_eq(o[3], 0x7c00);
    ck_assert_uint_eq(o[4], 0x0001);
    ck_assert_uint_eq(o[5], 0x0000);
    ck_assert_uint_eq(o[6], 0x3c00); /* halfway, even stays */
    ck_assert_uint_eq(o[7], 0x3c02); /* halfway, odd rounds up */
}
END_TEST

/* Input buffers: 64-byte aligned, writable to the last byte, freed by kind (heap here:
 * no model, or a CPU model; page-locked with a GPU, checked by bench/gpu_check.sh). */
START_TEST(input_buffers)
{
    for (size_t n = 0; n < 5; n++) {
        size_t bytes = n * 1000003 + 1;
        uint8_t *b = kn_input_alloc(NULL, bytes);
        ck_assert_ptr_nonnull(b);
        ck_assert_uint_eq((uintptr_t)b % 64, 0);
        memset(b, 0xab, bytes);
        ck_assert_uint_eq(b[bytes - 1], 0xab);
        kn_input_free(b);
    }
    kn_input_free(NULL);
    ck_assert_ptr_null(kn_input_alloc(NULL, SIZE_MAX - 8));
}
END_TEST

START_TEST(names)
{
    kn_arch a;
    kn_backend b;
    qn_error err = {0};
    ck_assert_int_eq(kn_arch_from_name("resnext101-3d", &a, NULL), QN_OK);
    ck_assert_int_eq(a, KN_RESNEXT101_3D);
    ck_assert_str_eq(kn_arch_name(KN_RESNET152), "resnet152");
    ck_assert_int_eq(kn_arch_from_name("resnet99", &a, &err), QN_EUSAGE);
    ck_assert(strstr(err.msg, "unknown model \"resnet99\"") != NULL);
    ck_assert_int_eq(kn_backend_from_name("cpu", &b, NULL), QN_OK);
    ck_assert_int_eq(b, KN_BACKEND_CPU);
    ck_assert_int_eq(kn_backend_from_name("gpu", &b, NULL), QN_EUSAGE);
}
END_TEST

/* ---- safetensors files written by the test -------------------------------- */

typedef struct st_entry {
    char name[80];
    int64_t shape[5];
    int nd;
} st_entry;

/* Writes the golden weights of `arch` (plus an fc) with `mutate` applied:
 * 0 none, 1 drop `victim`, 2 give `victim` a wrong last dim. */
static void write_model(const char *path, kn_arch arch, int mutate, const char *victim)
{
    kn_conv *cv;
    kn_block *bl;
    int nc, nb, ss[5];
    ck_assert_int_eq(kn_arch_build(arch, &cv, &nc, &bl, &nb, ss, NULL), QN_OK);
    st_entry *e = calloc((size_t)nc * 5 + 1, sizeof *e);
    int n = 0, is3d = kn_arch_get(arch)->is3d;
    static const char *const parts[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int i = 0; i < nc; i++) {
        st_entry *w = &e[n++];
        snprintf(w->name, sizeof w->name, "%s.weight", cv[i].name);
        w->shape[w->nd++] = cv[i].cout;
        w->shape[w->nd++] = cv[i].cin / cv[i].groups;
        for (int k = is3d ? 0 : 1; k < 3; k++)
            w->shape[w->nd++] = cv[i].k[k];
        for (int p = 0; p < 4; p++) {
            st_entry *b = &e[n++];
            snprintf(b->name, sizeof b->name, "%s.%s", cv[i].bn, parts[p]);
            b->shape[0] = cv[i].cout;
            b->nd = 1;
        }
    }
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    size_t cap = 1 << 20, len = 0, off = 0;
    char *hdr = malloc(cap);
    len += (size_t)sprintf(hdr + len, "{\"__metadata__\":{\"arch\":\"%s\"}", kn_arch_name(arch));
    for (int i = 0; i < n; i++) {
        if (mutate == 1 && !strcmp(e[i].name, victim))
            continue;
        if (mutate == 2 && !strcmp(e[i].name, victim))
            e[i].shape[e[i].nd - 1]++;
        size_t numel = 1;
        for (int k = 0; k < e[i].nd; k++)
            numel *= (size_t)e[i].shape[k];
        len += (size_t)sprintf(hdr + len, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[", e[i].name);
        for (int k = 0; k < e[i].nd; k++)
            len += (size_t)sprintf(hdr + len, "%s%lld", k ? "," : "", (long long)e[i].shape[k]);
        len += (size_t)sprintf(hdr + len, "],\"data_offsets\":[%zu,%zu]}", off, off + numel * 4);
        off += numel * 4;
    }
    len += (size_t)sprintf(hdr + len, "}");
    while (len % 8)
        hdr[len++] = ' ';
    uint64_t hl = len;
    fwrite(&hl, 8, 1, f);
    fwrite(hdr, 1, len, f);
    kn_golden g = {7, NULL, 0};
    for (int i = 0; i < n; i++) {
        if (mutate == 1 && !strcmp(e[i].name, victim))
            continue;
        size_t numel = 1;
        for (int k = 0; k < e[i].nd; k++)
            numel *= (size_t)e[i].shape[k];
        const float *d = kn_golden_tensor(e[i].name, e[i].shape, e[i].nd, &g);
        fwrite(d, 4, numel, f);
    }
    fclose(f);
    free(g.buf), free(hdr), free(e), free(cv), free(bl);
}

START_TEST(model_file_checks_names_and_shapes)
{
    char path[] = "/tmp/kn_ops_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    kn_options o = {KN_BACKEND_CPU, 1, 0};
    kn_model *m = NULL;
    qn_error err = {0};
    write_model(path, KN_RESNET18, 1, "layer3.1.bn2.running_var");
    ck_assert_int_eq(kn_model_open(path, KN_RESNET18, &o, &m, &err), QN_EINPUT);
    ck_assert_ptr_null(m);
    ck_assert(strstr(err.msg, ": layer3.1.bn2.running_var: missing (expected shape [256])"));
    qn_error_clear(&err);
    write_model(path, KN_RESNET18, 2, "layer2.0.downsample.0.weight");
    ck_assert_int_eq(kn_model_open(path, KN_RESNET18, &o, &m, &err), QN_EINPUT);
    ck_assert_msg(strstr(err.msg, ": layer2.0.downsample.0.weight: shape [128,64,1,2], expected "
                                  "[128,64,1,1]") != NULL, "%s", err.msg);
    qn_error_clear(&err);
    /* a 2D file opened as the wrong depth names the first missing tensor */
    write_model(path, KN_RESNET18, 0, "");
    ck_assert_int_eq(kn_model_open(path, KN_RESNET34, &o, &m, &err), QN_EINPUT);
    ck_assert_msg(strstr(err.msg, "layer1.2.conv1.weight: missing") != NULL, "%s", err.msg);
    qn_error_clear(&err);
    /* a deeper net's file has every tensor of a shallower one: refused too */
    write_model(path, KN_RESNET34, 0, "");
    ck_assert_int_eq(kn_model_open(path, KN_RESNET18, &o, &m, &err), QN_EINPUT);
    ck_assert_msg(strstr(err.msg, ": layer1.2.") && strstr(err.msg, "not part of resnet18"), "%s",
                  err.msg);
    qn_error_clear(&err);
    /* the good file opens, and its features match the generator-built model */
    write_model(path, KN_RESNET18, 0, "");
    ck_assert_msg(kn_model_open(path, KN_RESNET18, &o, &m, &err) == QN_OK, "%s", err.msg);
    ck_assert_int_eq(kn_model_dim(m), 512);
    ck_assert_int_eq(kn_model_backend(m), KN_BACKEND_CPU);
    ck_assert_ptr_null(kn_model_notice(m));
    ck_assert_int_eq((int)strlen(kn_model_sha256(m)), 64);
    kn_golden g = {7, NULL, 0};
    kn_model *m2 = NULL;
    ck_assert_int_eq(kn_model_open_src(KN_RESNET18, kn_golden_tensor, &g, &o, &m2, &err), QN_OK);
    uint8_t img[2 * 40 * 52 * 3];
    for (size_t i = 0; i < sizeof img; i++)
        img[i] = (uint8_t)(i * 7 + i / 13);
    float f1[2 * 512], f2[2 * 512];
    ck_assert_int_eq(kn_run_2d(m, img, 2, 40, 52, f1, KN_L2NORM, &err), QN_OK);
    ck_assert_int_eq(kn_run_2d(m2, img, 2, 40, 52, f2, KN_L2NORM, &err), QN_OK);
    ck_assert_int_eq(memcmp(f1, f2, sizeof f1), 0);
    double nn = 0;
    for (int i = 0; i < 512; i++)
        nn += (double)f1[i] * f1[i];
    ck_assert_double_eq_tol(nn, 1.0, 1e-5);
    ck_assert_int_eq(kn_run_3d(m, img, 1, f1, 0, &err), QN_EUSAGE);
    ck_assert_int_eq(kn_run_2d(m, img, 1, 8, 8, f1, 0, &err), QN_EUSAGE);
    kn_model_close(m);
    kn_model_close(m2);
    free(g.buf);
    unlink(path);
}
END_TEST

/* The two-step open: kn_weights_open makes every check of kn_model_open but the values'
 * (with the same messages) and hashes the file; kn_model_build finds a NaN. */
static void expect_both_fail(const char *path, kn_arch arch, const char *want)
{
    kn_options o = {KN_BACKEND_CPU, 1, 0};
    qn_error e1 = {0}, e2 = {0};
    kn_model *m = NULL;
    kn_weights *w = NULL;
    ck_assert_int_eq(kn_model_open(path, arch, &o, &m, &e1), QN_EINPUT);
    ck_assert_int_eq(kn_weights_open(path, arch, &w, &e2), QN_EINPUT);
    ck_assert_ptr_null(w);
    ck_assert_str_eq(e1.msg, e2.msg);
    ck_assert_msg(strstr(e2.msg, want) != NULL, "%s", e2.msg);
}

START_TEST(weights_open_checks_then_build_loads)
{
    char path[] = "/tmp/kn_ops_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    write_model(path, KN_RESNET18, 1, "layer3.1.bn2.running_var");
    expect_both_fail(path, KN_RESNET18, ": layer3.1.bn2.running_var: missing (expected shape [256])");
    write_model(path, KN_RESNET18, 2, "layer2.0.downsample.0.weight");
    expect_both_fail(path, KN_RESNET18, ": layer2.0.downsample.0.weight: shape [128,64,1,2]");
    write_model(path, KN_RESNET34, 0, "");
    expect_both_fail(path, KN_RESNET18, "not part of resnet18");
    write_model(path, KN_RESNET18, 0, "");
    expect_both_fail(path, KN_RESNEXT101_3D, "conv1.weight: shape [64,3,7,7], expected "
                                             "[64,3,7,7,7]");

    /* good file: the hash is the file's, the built model equals an opened one */
    kn_options o = {KN_BACKEND_CPU, 1, 0};
    qn_error err = {0};
    kn_weights *w = NULL;
    ck_assert_msg(kn_weights_open(path, KN_RESNET18, &w, &err) == QN_OK, "%s", err.msg);
    kn_st_file *f = NULL;
    ck_assert_int_eq(kn_st_open(path, &f, NULL), QN_OK);
    char hex[65];
    qn_sha256_buf_hex(f->map, f->size, hex);
    ck_assert_str_eq(kn_weights_sha256(w), hex);
    kn_model *m = NULL, *m2 = NULL;
    ck_assert_int_eq(kn_model_build(w, &o, &m, &err), QN_OK);
    ck_assert_int_eq(kn_model_open(path, KN_RESNET18, &o, &m2, &err), QN_OK);
    ck_assert_str_eq(kn_model_sha256(m), hex);
    kn_weights_close(w);  /* the model keeps its own copy of everything */
    uint8_t img[40 * 52 * 3];
    for (size_t i = 0; i < sizeof img; i++)
        img[i] = (uint8_t)(i * 5 + i / 11);
    float f1[512], f2[512];
    ck_assert_int_eq(kn_run_2d(m, img, 1, 40, 52, f1, 0, &err), QN_OK);
    ck_assert_int_eq(kn_run_2d(m2, img, 1, 40, 52, f2, 0, &err), QN_OK);
    ck_assert_int_eq(memcmp(f1, f2, sizeof f1), 0);
    kn_model_close(m);
    kn_model_close(m2);

    /* a NaN in layer2.1.conv1.weight[3], then a negative layer4.1.bn2.running_var[5]
     * (every feature would be NaN): the cheap checks pass, building names the value */
    static const struct { const char *tensor; float v; const char *want; } bad[] = {
        {"layer2.1.conv1.weight", NAN, ": layer2.1.conv1.weight: value 3 is NaN"},
        {"layer4.1.bn2.running_var", -1.0f, ": layer4.1.bn2.running_var: value 5 is -1 (a "
                                            "variance must be >= 0)"},
    };
    long at[2];
    for (int i = 0; i < 2; i++) {
        const kn_st_tensor *t = kn_st_find(f, bad[i].tensor);
        ck_assert_ptr_nonnull(t);
        at[i] = (long)(t->data - f->map) + (i ? 5 : 3) * 4;
    }
    kn_st_close(f);
    for (int i = 0; i < 2; i++) {
        write_model(path, KN_RESNET18, 0, "");
        FILE *fp = fopen(path, "r+b");
        ck_assert(fp && fseek(fp, at[i], SEEK_SET) == 0 && fwrite(&bad[i].v, 4, 1, fp) == 1);
        fclose(fp);
        ck_assert_int_eq(kn_weights_open(path, KN_RESNET18, &w, &err), QN_OK);
        qn_error_clear(&err);
        ck_assert_int_eq(kn_model_build(w, &o, &m, &err), QN_EINPUT);
        ck_assert_ptr_null(m);
        ck_assert_msg(strstr(err.msg, path) == err.msg && strstr(err.msg, bad[i].want) != NULL,
                      "%s", err.msg);
        kn_weights_close(w);
    }
    kn_weights_close(NULL);
    unlink(path);
}
END_TEST

static void write_raw(const char *path, const char *hdr, size_t datalen)
{
    FILE *f = fopen(path, "wb");
    uint64_t hl = strlen(hdr);
    fwrite(&hl, 8, 1, f);
    fwrite(hdr, 1, hl, f);
    for (size_t i = 0; i < datalen; i++)
        fputc(0, f);
    fclose(f);
}

START_TEST(safetensors_rejects_bad_files)
{
    char path[] = "/tmp/kn_st_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    static const struct { const char *hdr; size_t data; const char *want; } bad[] = {
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "a: 4 bytes for 2 F32"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "a: data_offsets leave a hole"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "4 bytes after the last tensor"},
        {"{\"a\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "a: unknown dtype \"Q4\""},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", 4,
         "truncated: its tensors need 8 bytes after the header, the file has 4"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\","
         "\"shape\":[1],\"data_offsets\":[-4,4]}}", 8, "b: data_offsets outside the 8-byte buffer"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],"
         "\"data_offsets\":[0,0]}}", 0, "a: tensor too large"},
        {"{\"a\":1", 0, "header JSON"},
        {"[1,2,3]  ", 0, "not a safetensors file"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_raw(path, bad[i].hdr, bad[i].data);
        kn_st_file *f = NULL;
        qn_error err = {0};
        ck_assert_int_eq(kn_st_open(path, &f, &err), QN_EINPUT);
        ck_assert_ptr_null(f);
        ck_assert_msg(strstr(err.msg, bad[i].want) && strstr(err.msg, path), "case %zu: %s", i,
                      err.msg);
    }
    /* a header cut short: its length says more than the file holds */
    FILE *tr = fopen(path, "wb");
    uint64_t long_len = 4000;
    fwrite(&long_len, 8, 1, tr);
    fputs("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],", tr);
    fclose(tr);
    kn_st_file *tf = NULL;
    qn_error terr = {0};
    ck_assert_int_eq(kn_st_open(path, &tf, &terr), QN_EINPUT);
    ck_assert_msg(strstr(terr.msg, ": truncated: its header is 4000 bytes, the file has 32 "
                                   "after the length") != NULL, "%s", terr.msg);
    /* F16 and BF16 widen */
    FILE *fp = fopen(path, "wb");
    const char *h = "{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                    "\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[4,6]}}";
    uint64_t hl = strlen(h);
    fwrite(&hl, 8, 1, fp);
    fwrite(h, 1, hl, fp);
    const uint8_t data[6] = {0x00, 0x3c, 0x01, 0x00, 0x40, 0xc0}; /* 1.0, 2^-24, -3.0 */
    fwrite(data, 1, 6, fp);
    fclose(fp);
    kn_st_file *f = NULL;
    ck_assert_int_eq(kn_st_open(path, &f, NULL), QN_OK);
    float v[2];
    ck_assert_int_eq(kn_st_read_f32(f, kn_st_find(f, "h"), v, NULL), QN_OK);
    ck_assert(v[0] == 1.0f && v[1] == 5.9604644775390625e-8f);
    ck_assert_int_eq(kn_st_read_f32(f, kn_st_find(f, "b"), v, NULL), QN_OK);
    ck_assert(v[0] == -3.0f);
    kn_st_close(f);
    qn_error err = {0};
    kn_model *m = NULL;
    ck_assert_int_eq(kn_model_open("/nonexistent/w.safetensors", KN_RESNET50, NULL, &m, &err),
                     QN_EINPUT);
    ck_assert(strstr(err.msg, "/nonexistent/w.safetensors: No such file") != NULL);
    /* a NaN (F16 0x7e00) or an infinity (F32) in a tensor is named with its index */
    static const struct { const char *hdr; uint8_t data[8]; const char *want; } nf[] = {
        {"{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}",
         {0x00, 0x3c, 0x00, 0x7e}, ": h: value 1 is NaN"},
        {"{\"f\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
         {0, 0, 0x80, 0xff, 0, 0, 0, 0}, ": f: value 0 is infinite"},
    };
    for (int i = 0; i < 2; i++) {
        fp = fopen(path, "wb");
        hl = strlen(nf[i].hdr);
        fwrite(&hl, 8, 1, fp);
        fwrite(nf[i].hdr, 1, hl, fp);
        fwrite(nf[i].data, 1, i ? 8 : 4, fp);
        fclose(fp);
        ck_assert_int_eq(kn_st_open(path, &f, NULL), QN_OK);
        float w[2];
        qn_error_clear(&err);
        ck_assert_int_eq(kn_st_read_f32(f, kn_st_find(f, i ? "f" : "h"), w, &err), QN_EINPUT);
        ck_assert_msg(strstr(err.msg, nf[i].want) && strstr(err.msg, path), "%s", err.msg);
        kn_st_close(f);
    }
    unlink(path);
    /* a directory or a FIFO is refused at once (a FIFO used to block in open) */
    char dir[] = "/tmp/kn_st_dir_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char fifo[64];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    const char *const odd[2] = {dir, fifo};
    for (int i = 0; i < 2; i++) {
        qn_error_clear(&err);
        ck_assert_int_eq(kn_st_open(odd[i], &f, &err), QN_EINPUT);
        ck_assert_msg(strstr(err.msg, ": not a regular file") && strstr(err.msg, odd[i]), "%s",
                      err.msg);
    }
    unlink(fifo);
    rmdir(dir);
}
END_TEST

/* kernels/tools/export_weights.py (numpy only) on tiny checkpoints in both
 * PyTorch formats: module. stripped, state_dict unwrapped, views made
 * contiguous, float64 narrowed, F16 kept; the C loader reads the result. */
START_TEST(export_weights_both_formats)
{
    if (system("python3 -c 'import numpy' 2>/dev/null") != 0) {
        fprintf(stderr, "export_weights_both_formats: skipped, python3 has no numpy\n");
        return;
    }
    static const char *const fmts[2] = {"zip", "legacy"};
    for (int i = 0; i < 2; i++) {
        char out[] = "/tmp/kn_export_XXXXXX", cmd[512];
        int fd = mkstemp(out);
        close(fd);
        snprintf(cmd, sizeof cmd, "python3 kernels/tools/export_weights.py "
                                  "kernels/fixtures/tiny_%s.pth %s >/dev/null", fmts[i], out);
        ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
        kn_st_file *f = NULL;
        qn_error err = {0};
        ck_assert_msg(kn_st_open(out, &f, &err) == QN_OK, "%s", err.msg);
        ck_assert_int_eq(f->n, 5);
        const kn_st_tensor *t = kn_st_find(f, "conv1.weight");
        ck_assert_ptr_nonnull(t);
        ck_assert_int_eq(t->ndim, 4);
        float v[6];
        ck_assert_int_eq(kn_st_read_f32(f, t, v, NULL), QN_OK);
        ck_assert(v[0] == 0.0f && v[5] == 2.5f);
        t = kn_st_find(f, "fc.weight"); /* a transposed view of [[0,1,2],[3,4,5]] */
        ck_assert(t && t->shape[0] == 3 && t->shape[1] == 2);
        ck_assert_int_eq(kn_st_read_f32(f, t, v, NULL), QN_OK);
        ck_assert(v[0] == 0 && v[1] == 3 && v[2] == 1 && v[3] == 4 && v[4] == 2 && v[5] == 5);
        t = kn_st_find(f, "bn1.running_var");
        ck_assert_str_eq(t->dtype, "F32");
        ck_assert_int_eq(kn_st_read_f32(f, t, v, NULL), QN_OK);
        ck_assert(v[0] == 1.5f && v[1] == 2.5f);
        t = kn_st_find(f, "h");
        ck_assert_str_eq(t->dtype, "F16");
        ck_assert_int_eq(kn_st_read_f32(f, t, v, NULL), QN_OK);
        ck_assert(v[0] == 1.0f && v[1] == -2.0f);
        t = kn_st_find(f, "bn1.num_batches_tracked");
        ck_assert(t && t->ndim == 0 && !strcmp(t->dtype, "I64"));
        ck_assert_int_eq(kn_st_read_f32(f, t, v, &err), QN_EINPUT);
        ck_assert(strstr(err.msg, "bn1.num_batches_tracked: dtype I64, expected F32") != NULL);
        kn_st_close(f);
        unlink(out);
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "python3 kernels/tools/export_weights.py kernels/fixtures/golden.json "
                              "/tmp/kn_never.safetensors 2>/dev/null");
    ck_assert_int_eq(WEXITSTATUS(system(cmd)), 2);
    ck_assert_int_ne(access("/tmp/kn_never.safetensors", F_OK), 0);
}
END_TEST

/* Whole small nets, cpu vs ref: a 2D ResNet-50 and the 3D ResNeXt on tiny inputs. */
static void net_cpu_vs_ref(kn_arch a, int n, int d, int h, int w)
{
    kn_golden g = {3, NULL, 0};
    kn_options oc = {KN_BACKEND_CPU, 2, 0}, orf = {KN_BACKEND_REF, 1, 0};
    kn_model *mc = NULL, *mr = NULL;
    qn_error err = {0};
    ck_assert_int_eq(kn_model_open_src(a, kn_golden_tensor, &g, &oc, &mc, &err), QN_OK);
    ck_assert_int_eq(kn_model_open_src(a, kn_golden_tensor, &g, &orf, &mr, &err), QN_OK);
    ck_assert_int_eq(kn_model_backend(mr), KN_BACKEND_REF);
    size_t np = (size_t)n * d * h * w * 3;
    uint8_t *in = malloc(np);
    for (size_t i = 0; i < np; i++)
        in[i] = (uint8_t)((i * 2654435761u) >> 13);
    int dim = kn_model_dim(mc);
    float *fc = malloc((size_t)n * dim * 4), *fr = malloc((size_t)n * dim * 4);
    if (d == 1) {
        ck_assert_int_eq(kn_run_2d(mc, in, n, h, w, fc, 0, &err), QN_OK);
        ck_assert_int_eq(kn_run_2d(mr, in, n, h, w, fr, 0, &err), QN_OK);
    } else {
        ck_assert_int_eq(kn_run_3d_sized(mc, in, n, d, h, w, fc, 0, &err), QN_OK);
        ck_assert_int_eq(kn_run_3d_sized(mr, in, n, d, h, w, fr, 0, &err), QN_OK);
    }
    double e = rel_err(fc, fr, (size_t)n * dim);
    ck_assert_msg(e <= 1e-5, "%s: cpu vs ref rel err %g", kn_arch_name(a), e);
    kn_model_close(mc), kn_model_close(mr);
    free(in), free(fc), free(fr), free(g.buf);
}

/* The cpu backend splits each conv's rows over its threads: any thread count, even
 * uneven shares, gives the same rows. And the count may change between a forward's
 * planning and its run (another model opened meanwhile): the scratch planned must
 * still hold every thread's tile (ASan, under make check SANITIZE=1, sees overruns). */
static void open_16_threads(int stage, const kn_tensor *t, void *ud)
{
    (void)t;
    kn_model **other = ud;
    if (stage == KN_STAGE_STEM && !*other) {
        kn_golden g = {5, NULL, 0};
        kn_options o = {KN_BACKEND_CPU, 16, 0};
        qn_error err = {0};
        ck_assert_int_eq(kn_model_open_src(KN_RESNET18, kn_golden_tensor, &g, &o, other, &err),
                         QN_OK);
        free(g.buf);
    }
}

START_TEST(cpu_threads_split_rows)
{
    int n = 3, d = 16, h = 40, w = 56;
    size_t np = (size_t)n * d * h * w * 3;
    uint8_t *in = malloc(np);
    for (size_t i = 0; i < np; i++)
        in[i] = (uint8_t)((i * 2654435761u) >> 11);
    float *out[3];
    const int threads[3] = {1, 3, 7};
    for (int k = 0; k < 3; k++) {
        kn_golden g = {3, NULL, 0};
        kn_options o = {KN_BACKEND_CPU, threads[k], 0};
        kn_model *m = NULL;
        qn_error err = {0};
        ck_assert_int_eq(kn_model_open_src(KN_RESNEXT101_3D, kn_golden_tensor, &g, &o, &m, &err),
                         QN_OK);
        out[k] = malloc((size_t)n * 2048 * sizeof(float));
        ck_assert_int_eq(kn_run_3d_sized(m, in, n, d, h, w, out[k], 0, &err), QN_OK);
        if (k > 0)
            ck_assert_msg(rel_err(out[k], out[0], (size_t)n * 2048) <= 1e-6,
                          "%d threads vs 1: rel err %g", threads[k],
                          rel_err(out[k], out[0], (size_t)n * 2048));
        if (k == 2) { /* 1 thread planned, 16 by the time the convs run */
            kn_model *m1 = NULL, *other = NULL;
            kn_options o1 = {KN_BACKEND_CPU, 1, 0};
            kn_golden g1 = {3, NULL, 0};
            ck_assert_int_eq(kn_model_open_src(KN_RESNEXT101_3D, kn_golden_tensor, &g1, &o1, &m1,
                                               &err), QN_OK);
            float *o2 = malloc((size_t)n * 2048 * sizeof(float));
            ck_assert_int_eq(kn_forward_u8(m1, in, n, d, h, w, o2, open_16_threads, &other, &err),
                             QN_OK);
            ck_assert_ptr_nonnull(other);
            ck_assert_msg(rel_err(o2, out[0], (size_t)n * 2048) <= 1e-6, "rel err %g",
                          rel_err(o2, out[0], (size_t)n * 2048));
            kn_model_close(other), kn_model_close(m1);
            free(o2), free(g1.buf);
        }
        kn_model_close(m);
        free(g.buf);
    }
    for (int k = 0; k < 3; k++)
        free(out[k]);
    free(in);
}
END_TEST

/* kn_convert: flat frames give the colour matrix's exact value in both chroma modes,
 * taps sum to one, plans are cached by geometry, bad sizes are refused. */
START_TEST(convert_flat_frames_and_plans)
{
    enum { W = 64, H = 36 };
    static uint8_t y[W * H], u[W * H / 4], v[W * H / 4], rgb[40 * 30 * 3];
    memset(y, 126, sizeof y);
    memset(u, 128, sizeof u);
    memset(v, 128, sizeof v);
    qn_error err = {0};
    for (int dw = 39; dw <= 40; dw++) { /* odd: chroma per pixel; even: per pair */
        kn_convert_geom g = {W, H, dw, 22, 1, 2, dw - 2, 18};
        const kn_convert_plan *p, *again;
        ck_assert_int_eq(kn_convert_plan_get(&g, &p, &err), QN_OK);
        ck_assert_int_eq(kn_convert_plan_get(&g, &again, &err), QN_OK);
        ck_assert_ptr_eq(p, again);
        ck_assert_int_eq(p->pairs, dw % 2 == 0);
        for (int i = 0; i < p->lx.n; i++) {
            double sum = 0;
            for (int t = 0; t < p->lx.k; t++) {
                sum += p->lx.w[i * p->lx.k + t];
                ck_assert(p->lx.idx[i * p->lx.k + t] >= 0 && p->lx.idx[i * p->lx.k + t] < W);
            }
            ck_assert_msg(fabs(sum - 1) < 1e-5, "taps of %d sum to %g", i, sum);
        }
        for (int full = 0; full <= 1; full++) {
            kn_yuv_frame f = {y, u, v, W, W / 2, 0, W, H, 0, full};
            ck_assert_int_eq(kn_convert_ref(p, &f, rgb, &err), QN_OK);
            /* (126 - 16) * 255/219 = 128.08; swscale's pair path is 2 lower for limited
             * range (and not for full range: ffmpeg -vf scale=40:22:in_range=pc gives 126) */
            int want = full ? 126 : 128 - (p->pairs ? 2 : 0);
            for (int i = 0; i < (dw - 2) * 18 * 3; i++)
                ck_assert_msg(rgb[i] == want, "dw %d full %d byte %d: %d", dw, full, i, rgb[i]);
        }
        kn_yuv_frame small = {y, u, v, W, W / 2, 0, W - 2, H, 0, 0};
        qn_error_clear(&err);
        ck_assert_int_eq(kn_convert_ref(p, &small, rgb, &err), QN_EUSAGE);
        ck_assert(strstr(err.msg, "a 62x36 frame for a 64x36 plan") != NULL);
    }
    kn_convert_geom bad = {W, H, 40, 22, 30, 0, 20, 22}; /* crop past the right edge */
    kn_convert_plan *p = NULL;
    qn_error_clear(&err);
    ck_assert_int_eq(kn_convert_plan_make(&bad, &p, &err), QN_EUSAGE);
    ck_assert_ptr_null(p);
    ck_assert(strstr(err.msg, "sizes out of range") != NULL);
}
END_TEST

/* kn_convert_cpu equals kn_convert_ref byte for byte: noise frames (overshoot past
 * 255 and below 0 included), planar and NV12, padded pitches, both chroma modes,
 * crops at each edge, shrinking and enlarging, sizes that are not multiples of 8. */
START_TEST(convert_cpu_equals_ref)
{
    static const struct { int sw, sh, dw, dh, cx, cy, cwid, cht; } geo[] = {
        {640, 360, 199, 112, 43, 0, 112, 112}, /* the 3D stream */
        {640, 360, 398, 224, 0, 0, 398, 224},  /* the 2D stream */
        {180, 320, 112, 199, 0, 43, 112, 112}, /* portrait */
        {37, 23, 61, 41, 0, 0, 61, 41},        /* enlarging, odd */
        {64, 36, 40, 22, 1, 2, 38, 18},        /* crop inside */
        {66, 50, 17, 9, 16, 8, 1, 1},          /* one pixel, bottom-right */
        {2, 2, 3, 2, 0, 0, 3, 2},              /* tiny */
    };
    uint32_t seed = 1;
    for (size_t gi = 0; gi < sizeof geo / sizeof geo[0]; gi++)
        for (int nv12 = 0; nv12 <= 1; nv12++)
            for (int full = 0; full <= 1; full++) {
                int sw = geo[gi].sw, sh = geo[gi].sh, cw = (sw + 1) / 2, ch = (sh + 1) / 2;
                /* padded pitches, or (every other geometry) exact ones with planes that
                 * end at their last byte, so that ASan sees any read past them */
                int pad = gi % 2 == 0;
                int yp = sw + 5 * pad, cp = (nv12 ? 2 * cw : cw) + 3 * pad;
                uint8_t *y = malloc((size_t)yp * sh), *u = malloc((size_t)cp * ch),
                        *v = malloc((size_t)cp * ch);
                /* noise with sharp edges: the filters overshoot both ways */
                for (size_t i = 0; i < (size_t)yp * sh; i++)
                    y[i] = (seed = seed * 1103515245u + 12345u) >> 24 & 1 ? 255 : (seed >> 16) & 15;
                for (size_t i = 0; i < (size_t)cp * ch; i++) {
                    u[i] = (uint8_t)((seed = seed * 1103515245u + 12345u) >> 16);
                    v[i] = (uint8_t)(seed >> 8);
                }
                kn_convert_geom g = {sw, sh, geo[gi].dw, geo[gi].dh, geo[gi].cx, geo[gi].cy,
                                     geo[gi].cwid, geo[gi].cht};
                const kn_convert_plan *p;
                qn_error err = {0};
                ck_assert_int_eq(kn_convert_plan_get(&g, &p, &err), QN_OK);
                size_t n = (size_t)g.crop_w * g.crop_h * 3;
                uint8_t *a = malloc(n), *b = malloc(n);
                /* BT.601 and BT.709; every entry point this CPU can run (AVX-512, AVX2,
                 * baseline) */
                for (int cs = 0; cs <= 1; cs++)
                    for (int base = 0; base <= 2; base++) {
                        kn_yuv_frame f = {y, u, nv12 ? NULL : v, yp, cp, nv12, sw, sh, cs, full};
                        ck_assert_int_eq(kn_convert_ref(p, &f, a, &err), QN_OK);
                        memset(b, 0x5a, n);
                        kn_convert_cpu_baseline(base);
                        ck_assert_int_eq(kn_convert_cpu(p, &f, b, &err), QN_OK);
                        kn_convert_cpu_baseline(0);
                        size_t diff = 0, first = n;
                        for (size_t i = 0; i < n; i++)
                            if (a[i] != b[i] && diff++ == 0)
                                first = i;
                        ck_assert_msg(diff == 0, "geometry %zu nv12 %d full %d cs %d base %d: %zu "
                                      "of %zu bytes differ, first %zu (%d vs %d)", gi, nv12, full,
                                      cs, base, diff, n, first, a[first], b[first]);
                    }
                kn_yuv_frame wrong = {y, u, v, yp, cp, nv12, sw + 1, sh, 0, full};
                ck_assert_int_eq(kn_convert_cpu(p, &wrong, b, &err), QN_EUSAGE);
                free(y), free(u), free(v), free(a), free(b);
            }
}
END_TEST

START_TEST(resnet50_cpu_vs_ref)
{
    net_cpu_vs_ref(KN_RESNET50, 2, 1, 33, 47);
}
END_TEST

START_TEST(resnext3d_cpu_vs_ref)
{
    net_cpu_vs_ref(KN_RESNEXT101_3D, 1, 2, 17, 20);
}
END_TEST

START_TEST(auto_falls_back_with_notice)
{
    kn_golden g = {3, NULL, 0};
    kn_options o = {KN_BACKEND_AUTO, 1, 0};
    kn_model *m = NULL;
    qn_error err = {0};
    ck_assert_int_eq(kn_model_open_src(KN_RESNET18, kn_golden_tensor, &g, &o, &m, &err), QN_OK);
    if (kn_model_backend(m) == KN_BACKEND_CPU) {
        ck_assert_ptr_nonnull(kn_model_notice(m));
        ck_assert(strstr(kn_model_notice(m), "using the cpu backend") != NULL);
        kn_model_close(m);
        m = NULL;
        o.backend = KN_BACKEND_CUDA;
        ck_assert_int_eq(kn_model_open_src(KN_RESNET18, kn_golden_tensor, &g, &o, &m, &err), QN_EENV);
        ck_assert(strstr(err.msg, "cuda backend unavailable") != NULL);
    }
    kn_model_close(m);
    free(g.buf);
}
END_TEST

/* A CUDA build opens cuDNN/cuBLAS at run time: every function resolves where they are
 * installed (the build machine has them whenever nvcc is there), and a missing library is
 * a one-line QN_EENV naming it (the engine then falls back to the CPU), not a binary that
 * cannot start. */
START_TEST(cuda_libraries_load_at_run_time)
{
    qn_error err = {0};
    int rc = kn_cuda_libs_load(&err);
    if (rc != QN_OK && strstr(err.msg, "built without CUDA")) {
        printf("check_kernels_ops: built without CUDA; run-time library loading not tested\n");
        return;
    }
    ck_assert_msg(rc == QN_OK, "%s", err.msg);
}
END_TEST

START_TEST(cuda_missing_library_named)
{
    setenv("QUERN_CUDNN_LIB", "/nonexistent/libcudnn.so.9", 1);
    qn_error err = {0};
    int rc = kn_cuda_libs_load(&err);
    unsetenv("QUERN_CUDNN_LIB");
    if (strstr(err.msg, "built without CUDA"))
        return;
    ck_assert_int_eq(rc, QN_EENV);
    ck_assert_msg(strstr(err.msg, "cuDNN 9 (libcudnn.so.9): /nonexistent/libcudnn.so.9"), "%s",
                  err.msg);
}
END_TEST

static Suite *kernels_ops_suite(void)
{
    Suite *s = suite_create("kernels_ops");
    TCase *tc = tcase_create("ops");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, conv_cpu_matches_ref);
    tcase_add_test(tc, shape_chain_224x398_is_7x13);
    tcase_add_test(tc, resnet18_224x398_reaches_7x13);
    tcase_add_test(tc, maxpool_and_mean_match_ref);
    tcase_add_test(tc, normalisation_values);
    tcase_add_test(tc, pool_clips_windows);
    tcase_add_test(tc, f16_rounding);
    tcase_add_test(tc, names);
    tcase_add_test(tc, input_buffers);
    tcase_add_test(tc, cpu_threads_split_rows);
    tcase_add_test(tc, convert_flat_frames_and_plans);
    tcase_add_test(tc, convert_cpu_equals_ref);
    tcase_add_test(tc, model_file_checks_names_and_shapes);
    tcase_add_test(tc, weights_open_checks_then_build_loads);
    tcase_add_test(tc, safetensors_rejects_bad_files);
    tcase_add_test(tc, export_weights_both_formats);
    tcase_add_test(tc, resnet50_cpu_vs_ref);
    tcase_add_test(tc, resnext3d_cpu_vs_ref);
    tcase_add_test(tc, auto_falls_back_with_notice);
    tcase_add_test(tc, cuda_libraries_load_at_run_time);
    tcase_add_test(tc, cuda_missing_library_named);
    suite_add_tcase(s, tc);
    return s;
}

QN_CHECK_MAIN(kernels_ops_suite)
