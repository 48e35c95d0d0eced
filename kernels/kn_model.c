/* kn_model.c — open a model (weights → folded convs → backend), run batches.
 *
 * The forward pass is the same for every CPU backend: it walks stem, blocks and
 * mean with four activation buffers. The current activation always lives in
 * buf[0]; a block writes t1/t2/shortcut into buf[1..3] and its output back into
 * buf[0] (the residual add reads each element before overwriting it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kn_cuda.h"
#include "kn_internal.h"
#include "kn_safetensors.h"

/* Batches larger than this are run in slices on the CPU to bound memory. */
#define CPU_SLICE 8

struct kn_model {
    kn_arch arch;
    const kn_arch_desc *desc;
    kn_backend backend;
    const kn_ops *ops;
    kn_conv *convs;
    int nconv;
    kn_block *blocks;
    int nblock;
    int stage_start[5];
    char sha[65];
    char notice[512];
    float *buf[4];
    size_t bufcap;
    float *scratch;
    size_t scratchcap;
    float *in;
    size_t incap;
    kn_cuda *cuda;
};

/* ---- opening ---------------------------------------------------------- */

typedef struct file_src {
    kn_st_file *f;
    float *tmp;
    qn_error *err;
} file_src;

static void fill_shape(const kn_conv *c, int is3d, int64_t *shape, int *nd)
{
    shape[0] = c->cout;
    shape[1] = c->cin / c->groups;
    *nd = 2;
    if (is3d)
        shape[(*nd)++] = c->k[0];
    shape[(*nd)++] = c->k[1];
    shape[(*nd)++] = c->k[2];
}

/* Fetches `name` with the expected shape from the file, naming what is wrong. */
static int fetch(kn_st_file *f, const char *name, const int64_t *shape, int nd, float *out,
                 qn_error *err)
{
    const kn_st_tensor *t = kn_st_find(f, name);
    char want[96], got[96];
    kn_st_shape_str(shape, nd, want, sizeof want);
    if (!t)
        return qn_error_set(err, QN_EINPUT, "%s: %s: missing (expected shape %s)", f->path, name,
                            want);
    int same = t->ndim == nd;
    for (int i = 0; same && i < nd; i++)
        same = t->shape[i] == shape[i];
    if (!same) {
        kn_st_shape_str(t->shape, t->ndim, got, sizeof got);
        return qn_error_set(err, QN_EINPUT, "%s: %s: shape %s, expected %s", f->path, name, got,
                            want);
    }
    return kn_st_read_f32(f, t, out, err);
}

static size_t conv_numel(const kn_conv *c)
{
    return (size_t)c->cout * (c->cin / c->groups) * c->k[0] * c->k[1] * c->k[2];
}

/* BN folding in double: s = gamma / sqrt(var + 1e-5); w' = w*s; b' = beta - mean*s. */
static void fold_bn(kn_conv *c, const float *g, const float *be, const float *mu, const float *var)
{
    size_t per = conv_numel(c) / (size_t)c->cout;
    for (int o = 0; o < c->cout; o++) {
        double s = (double)g[o] / sqrt((double)var[o] + 1e-5);
        for (size_t i = 0; i < per; i++)
            c->w[(size_t)o * per + i] = (float)(c->w[(size_t)o * per + i] * s);
        c->bias[o] = (float)((double)be[o] - (double)mu[o] * s);
    }
}

/* Loads conv weight and BN of every conv through `get` and folds them. */
typedef int (*getter)(void *ud, const char *name, const int64_t *shape, int nd, float *out,
                      qn_error *err);

static int load_convs(kn_model *m, getter get, void *ud, qn_error *err)
{
    int maxc = 0;
    for (int i = 0; i < m->nconv; i++)
        maxc = m->convs[i].cout > maxc ? m->convs[i].cout : maxc;
    float *bn = malloc((size_t)maxc * 4 * sizeof *bn);
    if (!bn)
        return qn_error_set(err, QN_ENOMEM, "out of memory loading weights");
    int rc = QN_OK;
    static const char *const parts[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int i = 0; i < m->nconv && !rc; i++) {
        kn_conv *c = &m->convs[i];
        c->w = malloc(conv_numel(c) * sizeof *c->w);
        c->bias = malloc((size_t)c->cout * sizeof *c->bias);
        if (!c->w || !c->bias) {
            rc = qn_error_set(err, QN_ENOMEM, "out of memory loading weights");
            break;
        }
        int64_t shape[5];
        int nd;
        char nm[96];
        fill_shape(c, m->desc->is3d, shape, &nd);
        snprintf(nm, sizeof nm, "%s.weight", c->name);
        rc = get(ud, nm, shape, nd, c->w, err);
        int64_t cs = c->cout;
        for (int p = 0; p < 4 && !rc; p++) {
            snprintf(nm, sizeof nm, "%s.%s", c->bn, parts[p]);
            rc = get(ud, nm, &cs, 1, bn + (size_t)p * maxc, err);
        }
        if (!rc)
            fold_bn(c, bn, bn + maxc, bn + 2 * (size_t)maxc, bn + 3 * (size_t)maxc);
    }
    free(bn);
    return rc;
}

static int get_file(void *ud, const char *name, const int64_t *shape, int nd, float *out,
                    qn_error *err)
{
    return fetch(ud, name, shape, nd, out, err);
}

typedef struct src_ud {
    kn_tensor_src fn;
    void *ud;
} src_ud;

static int get_src(void *ud, const char *name, const int64_t *shape, int nd, float *out,
                   qn_error *err)
{
    src_ud *s = ud;
    size_t n = 1;
    for (int i = 0; i < nd; i++)
        n *= (size_t)shape[i];
    const float *p = s->fn(name, shape, nd, s->ud);
    if (!p)
        return qn_error_set(err, QN_EINPUT, "%s: missing", name);
    memcpy(out, p, n * sizeof *out);
    return QN_OK;
}

/* Picks the backend; fills m->notice when auto falls back. */
static int pick_backend(kn_model *m, const kn_options *o, qn_error *err)
{
    kn_backend want = o ? o->backend : KN_BACKEND_AUTO;
    int dev = o ? o->cuda_device : 0;
    if (want == KN_BACKEND_AUTO || want == KN_BACKEND_CUDA) {
        qn_error why = {0};
        int rc = kn_cuda_probe(dev, &why);
        if (!rc)
            rc = kn_cuda_create(m->desc, m->convs, m->nconv, m->blocks, m->nblock, m->stage_start,
                                dev, &m->cuda, &why);
        if (!rc) {
            m->backend = KN_BACKEND_CUDA;
            return QN_OK;
        }
        if (want == KN_BACKEND_CUDA)
            return qn_error_set(err, QN_EENV, "cuda backend unavailable: %s", why.msg);
        snprintf(m->notice, sizeof m->notice, "no usable GPU (%.400s); using the cpu backend", why.msg);
        want = KN_BACKEND_CPU;
    }
    m->backend = want;
    m->ops = want == KN_BACKEND_REF ? &kn_ref_ops : &kn_cpu_ops;
    int threads = o && o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    m->ops->set_threads(threads > 0 ? threads : 1);
    for (int i = 0; i < m->nconv; i++)
        if (m->ops->prepare_conv(&m->convs[i]))
            return qn_error_set(err, QN_ENOMEM, "out of memory preparing %s", m->convs[i].name);
    return QN_OK;
}

static int open_common(kn_arch arch, getter get, void *ud, const kn_options *opts,
                       kn_model **out, qn_error *err)
{
    *out = NULL;
    kn_model *m = calloc(1, sizeof *m);
    if (!m)
        return qn_error_set(err, QN_ENOMEM, "out of memory");
    m->arch = arch;
    m->desc = kn_arch_get(arch);
    int rc = kn_arch_build(arch, &m->convs, &m->nconv, &m->blocks, &m->nblock, m->stage_start, err);
    if (!rc)
        rc = load_convs(m, get, ud, err);
    if (!rc)
        rc = pick_backend(m, opts, err);
    if (rc) {
        kn_model_close(m);
        return rc;
    }
    *out = m;
    return QN_OK;
}

int kn_model_open(const char *path, kn_arch arch, const kn_options *opts, kn_model **out,
                  qn_error *err)
{
    *out = NULL;
    if (!kn_arch_get(arch))
        return qn_error_set(err, QN_EUSAGE, "%s: unknown architecture %d", path, (int)arch);
    kn_st_file *f;
    int rc = kn_st_open(path, &f, err);
    if (rc)
        return rc;
    rc = open_common(arch, get_file, f, opts, out, err);
    if (!rc)
        kn_sha256_hex(f->map, f->size, (*out)->sha);
    kn_st_close(f);
    return rc;
}

int kn_model_open_src(kn_arch arch, kn_tensor_src get, void *ud, const kn_options *opts,
                      kn_model **out, qn_error *err)
{
    src_ud s = {get, ud};
    if (!kn_arch_get(arch))
        return qn_error_set(err, QN_EUSAGE, "unknown architecture %d", (int)arch);
    return open_common(arch, get_src, &s, opts, out, err);
}

void kn_model_close(kn_model *m)
{
    if (!m)
        return;
    kn_cuda_destroy(m->cuda);
    for (int i = 0; i < m->nconv; i++) {
        if (m->ops)
            m->ops->release_conv(&m->convs[i]);
        free(m->convs[i].w);
        free(m->convs[i].bias);
    }
    free(m->convs);
    free(m->blocks);
    for (int i = 0; i < 4; i++)
        free(m->buf[i]);
    free(m->scratch);
    free(m->in);
    free(m);
}

kn_arch kn_model_arch(const kn_model *m) { return m->arch; }
kn_backend kn_model_backend(const kn_model *m) { return m->backend; }
int kn_model_dim(const kn_model *m) { return m->desc->dim; }
const char *kn_model_sha256(const kn_model *m) { return m->sha; }
const char *kn_model_notice(const kn_model *m) { return m->notice[0] ? m->notice : NULL; }
kn_cuda *kn_model_cuda(const kn_model *m) { return m->cuda; }

/* ---- forward ---------------------------------------------------------- */

/* Shapes y for conv c applied to x. */
static kn_tensor conv_shape(const kn_conv *c, const kn_tensor *x, float *data)
{
    kn_tensor y = {data, x->n, kn_out_size(x->d, c->k[0], c->s[0], c->p[0]),
                   kn_out_size(x->h, c->k[1], c->s[1], c->p[1]),
                   kn_out_size(x->w, c->k[2], c->s[2], c->p[2]), c->cout};
    return y;
}

typedef struct plan {
    int dry;         /* 1: only measure sizes */
    size_t act, scr; /* max activation / scratch floats */
} plan;

static void note(plan *p, const kn_model *m, const kn_conv *c, const kn_tensor *x,
                 const kn_tensor *y)
{
    size_t a = kn_numel(y), s = m->ops->conv_scratch(c, x, y);
    p->act = a > p->act ? a : p->act;
    p->scr = s > p->scr ? s : p->scr;
}

static void do_conv(kn_model *m, plan *p, int ci, const kn_tensor *x, kn_tensor *y,
                    const kn_tensor *res, int relu)
{
    const kn_conv *c = &m->convs[ci];
    *y = conv_shape(c, x, y->data);
    if (p->dry)
        note(p, m, c, x, y);
    else
        m->ops->conv(c, x, y, res, relu, m->scratch);
}

static void walk(kn_model *m, const kn_tensor *x, float *out, kn_stage_fn hook, void *ud, plan *p)
{
    float **B = m->buf;
    kn_tensor s0 = {.data = B[1]}, cur = {.data = B[0]};
    do_conv(m, p, 0, x, &s0, NULL, 1);
    kn_pool mp = {{m->desc->is3d ? 3 : 1, 3, 3}, {m->desc->is3d ? 2 : 1, 2, 2},
                  {m->desc->is3d ? 1 : 0, 1, 1}};
    cur = (kn_tensor){B[0], s0.n, kn_out_size(s0.d, mp.k[0], mp.s[0], mp.p[0]),
                      kn_out_size(s0.h, 3, 2, 1), kn_out_size(s0.w, 3, 2, 1), s0.c};
    if (p->dry)
        p->act = kn_numel(&cur) > p->act ? kn_numel(&cur) : p->act;
    else
        m->ops->maxpool(&mp, &s0, &cur);
    if (hook && !p->dry)
        hook(KN_STAGE_STEM, &cur, ud);
    for (int L = 0; L < 4; L++) {
        for (int k = m->stage_start[L]; k < m->stage_start[L + 1]; k++) {
            const kn_block *b = &m->blocks[k];
            kn_tensor t1 = {.data = B[1]}, t2 = {.data = B[2]}, sc = cur, *last = &t1;
            if (b->down >= 0) {
                sc.data = B[3];
                do_conv(m, p, b->down, &cur, &sc, NULL, 0);
            }
            do_conv(m, p, b->conv1, &cur, &t1, NULL, 1);
            int tail = b->conv2;
            if (b->conv3 >= 0) {
                do_conv(m, p, b->conv2, &t1, &t2, NULL, 1);
                last = &t2;
                tail = b->conv3;
            }
            kn_tensor o = {.data = B[0]};
            do_conv(m, p, tail, last, &o, &sc, 1);
            cur = o;
        }
        if (hook && !p->dry)
            hook(KN_STAGE_L1 + L, &cur, ud);
    }
    if (!p->dry) {
        m->ops->global_mean(&cur, out);
        if (hook) {
            kn_tensor f = {out, cur.n, 1, 1, 1, cur.c};
            hook(KN_STAGE_FINAL, &f, ud);
        }
    }
}

static int reserve(float **p, size_t *cap, size_t n)
{
    if (n <= *cap)
        return QN_OK;
    float *q = realloc(*p, n * sizeof *q);
    if (!q)
        return QN_ENOMEM;
    *p = q;
    *cap = n;
    return QN_OK;
}

int kn_forward_f32(kn_model *m, const kn_tensor *x, float *out, kn_stage_fn hook, void *ud,
                   qn_error *err)
{
    if (!m->ops)
        return qn_error_set(err, QN_EUSAGE, "kn_forward_f32: not a CPU backend");
    plan p = {1, 0, 0};
    walk(m, x, out, hook, ud, &p);
    size_t cap = m->bufcap;
    for (int i = 0; i < 4; i++) {
        size_t c = cap;
        if (reserve(&m->buf[i], &c, p.act))
            return qn_error_set(err, QN_ENOMEM, "out of memory for activations (%zu floats)", p.act);
    }
    m->bufcap = p.act > m->bufcap ? p.act : m->bufcap;
    if (reserve(&m->scratch, &m->scratchcap, p.scr ? p.scr : 1))
        return qn_error_set(err, QN_ENOMEM, "out of memory for scratch (%zu floats)", p.scr);
    p.dry = 0;
    walk(m, x, out, hook, ud, &p);
    return QN_OK;
}

/* Runs u8 NDHWC input in CPU-sized slices (or whole on the GPU). */
static int run_u8(kn_model *m, const uint8_t *in, int n, int d, int h, int w, float *out,
                  unsigned flags, qn_error *err)
{
    int dim = m->desc->dim, rc = QN_OK;
    size_t per = (size_t)d * h * w;
    if (m->backend == KN_BACKEND_CUDA) {
        rc = kn_cuda_forward(m->cuda, in, n, d, h, w, out, NULL, NULL, err);
    } else {
        for (int i = 0; i < n && !rc; i += CPU_SLICE) {
            int k = n - i < CPU_SLICE ? n - i : CPU_SLICE;
            if (reserve(&m->in, &m->incap, (size_t)k * per * 3))
                return qn_error_set(err, QN_ENOMEM, "out of memory for the input batch");
            if (m->desc->is3d)
                kn_normalize_3d(in + (size_t)i * per * 3, (size_t)k * per, m->in);
            else
                kn_normalize_2d(in + (size_t)i * per * 3, (size_t)k * per, m->in);
            kn_tensor x = {m->in, k, d, h, w, 3};
            rc = kn_forward_f32(m, &x, out + (size_t)i * dim, NULL, NULL, err);
        }
    }
    if (!rc && (flags & KN_L2NORM))
        kn_l2norm_rows(out, n, dim);
    return rc;
}

int kn_run_2d(kn_model *m, const uint8_t *frames, int n, int h, int w, float *out,
              unsigned flags, qn_error *err)
{
    if (m->desc->is3d)
        return qn_error_set(err, QN_EUSAGE, "%s is a 3D model; use kn_run_3d", m->desc->name);
    if (n < 0 || h < 32 || w < 32 || h > 8192 || w > 8192)
        return qn_error_set(err, QN_EUSAGE, "%s: bad input %d×%d×%d (need h,w in 32..8192)",
                            m->desc->name, n, h, w);
    return n ? run_u8(m, frames, n, 1, h, w, out, flags, err) : QN_OK;
}

int kn_run_3d_sized(kn_model *m, const uint8_t *chunks, int n, int d, int h, int w, float *out,
                    unsigned flags, qn_error *err)
{
    if (!m->desc->is3d)
        return qn_error_set(err, QN_EUSAGE, "%s is a 2D model; use kn_run_2d", m->desc->name);
    if (n < 0 || d < 1 || h < 16 || w < 16 || d > 1024 || h > 4096 || w > 4096)
        return qn_error_set(err, QN_EUSAGE, "%s: bad input %d×%d×%d×%d", m->desc->name, n, d, h, w);
    return n ? run_u8(m, chunks, n, d, h, w, out, flags, err) : QN_OK;
}

int kn_run_3d(kn_model *m, const uint8_t *chunks, int n, float *out, unsigned flags,
              qn_error *err)
{
    return kn_run_3d_sized(m, chunks, n, KN_3D_FRAMES, KN_3D_SIZE, KN_3D_SIZE, out, flags, err);
}
