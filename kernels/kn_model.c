/* kn_model.c — open a model (weights → folded convs → backend), run batches.
 *
 * The forward pass is the same for every backend (kn_ops): it walks stem,
 * blocks and mean with four activation buffers. The current activation always lives in
 * buf[0]; a block writes t1/t2/shortcut into buf[1..3] and its output back into
 * buf[0] (the residual add reads each element before overwriting it). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kn_cuda.h"
#include "kn_internal.h"
#include "kn_safetensors.h"
#include "qn_sha256.h"

/* Batches larger than this are run in slices to bound activation memory
 * (GPU: 64 frames of 224×398 fp16 ≈ 4×0.7 GB of activations). */
#define CPU_SLICE 8
#define GPU_SLICE 64

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
    int nprepared; /* convs the backend has prepared (released at close) */
    uint64_t serial; /* unique per open: names this model's captured graphs */
    char sha[65];
    char notice[512];
    void *buf[4];   /* activations, in the backend's memory */
    size_t bufcap;
    void *scratch;
    size_t scratchcap;
    void *in;       /* normalised input slice */
    size_t incap;
};

/* ---- opening ---------------------------------------------------------- */

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

/* `name` in the file with the expected shape and a float dtype, or NULL with err naming
 * what is wrong. */
static const kn_st_tensor *find_checked(const kn_st_file *f, const char *name,
                                        const int64_t *shape, int nd, qn_error *err)
{
    const kn_st_tensor *t = kn_st_find(f, name);
    char want[96], got[96];
    kn_st_shape_str(shape, nd, want, sizeof want);
    if (!t) {
        qn_error_set(err, QN_EINPUT, "%s: %s: missing (expected shape %s)", f->path, name, want);
        return NULL;
    }
    int same = t->ndim == nd;
    for (int i = 0; same && i < nd; i++)
        same = t->shape[i] == shape[i];
    if (!same) {
        kn_st_shape_str(t->shape, t->ndim, got, sizeof got);
        qn_error_set(err, QN_EINPUT, "%s: %s: shape %s, expected %s", f->path, name, got, want);
        return NULL;
    }
    return kn_st_check_float(f, t, err) ? NULL : t;
}

/* Fetches `name` with the expected shape from the file, naming what is wrong. */
static int fetch(kn_st_file *f, const char *name, const int64_t *shape, int nd, float *out,
                 qn_error *err)
{
    const kn_st_tensor *t = find_checked(f, name, shape, nd, err);
    return t ? kn_st_read_f32(f, t, out, err) : QN_EINPUT;
}

static size_t conv_numel(const kn_conv *c)
{
    return (size_t)c->cout * (c->cin / c->groups) * c->k[0] * c->k[1] * c->k[2];
}

/* A conv's BatchNorm tensors, "<bn>.<part>", in the order fold_bn takes them. */
static const char *const parts[4] = {"weight", "bias", "running_mean", "running_var"};

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

/* `from`: the file, for messages ("weights" for a tensor source). */
static int load_convs(kn_model *m, getter get, void *ud, const char *from, qn_error *err)
{
    int maxc = 0;
    for (int i = 0; i < m->nconv; i++)
        maxc = m->convs[i].cout > maxc ? m->convs[i].cout : maxc;
    float *bn = malloc((size_t)maxc * 4 * sizeof *bn);
    if (!bn)
        return qn_error_set(err, QN_ENOMEM, "out of memory loading weights");
    int rc = QN_OK;
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
        /* a variance at or below -eps would make every feature NaN, silently */
        for (int o = 0; !rc && o < c->cout; o++)
            if (!((double)bn[3 * (size_t)maxc + o] + 1e-5 > 0))
                rc = qn_error_set(err, QN_EINPUT, "%s: %s.running_var: value %d is %g (a "
                                  "variance must be >= 0)", from, c->bn, o,
                                  (double)bn[3 * (size_t)maxc + o]);
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
        if (!kn_cuda_probe(dev, &why) && kn_cuda_ops()) {
            m->backend = KN_BACKEND_CUDA;
            m->ops = kn_cuda_ops();
        } else if (want == KN_BACKEND_CUDA) {
            return qn_error_set(err, QN_EENV, "cuda backend unavailable: %s", why.msg);
        } else {
            snprintf(m->notice, sizeof m->notice, "no usable GPU (%.400s); using the cpu backend",
                     why.msg);
            want = KN_BACKEND_CPU;
        }
    }
    if (!m->ops) {
        m->backend = want;
        m->ops = want == KN_BACKEND_REF ? &kn_ref_ops : &kn_cpu_ops;
    }
    int threads = o && o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    m->ops->set_threads(threads > 0 ? threads : 1);
    for (int i = 0; i < m->nconv; i++) {
        int rc = m->ops->prepare_conv(&m->convs[i]);
        if (rc) {
            m->nprepared = i;
            return qn_error_set(err, rc, "%s backend: cannot prepare %s (out of memory?)",
                                m->ops->name, m->convs[i].name);
        }
    }
    m->nprepared = m->nconv;
    return QN_OK;
}

static int open_common(kn_arch arch, getter get, void *ud, const char *from,
                       const kn_options *opts, kn_model **out, qn_error *err)
{
    *out = NULL;
    kn_model *m = calloc(1, sizeof *m);
    if (!m)
        return qn_error_set(err, QN_ENOMEM, "out of memory");
    static uint64_t next_serial;
    m->serial = __atomic_add_fetch(&next_serial, 1, __ATOMIC_RELAXED);
    m->arch = arch;
    m->desc = kn_arch_get(arch);
    int rc = kn_arch_build(arch, &m->convs, &m->nconv, &m->blocks, &m->nblock, m->stage_start, err);
    if (!rc)
        rc = load_convs(m, get, ud, from, err);
    if (!rc)
        rc = pick_backend(m, opts, err);
    if (rc) {
        kn_model_close(m);
        return rc;
    }
    *out = m;
    return QN_OK;
}

/* Whether `name` is one of the tensors arch reads (conv weight or BN part). */
static int expected(const kn_conv *v, int n, const char *name)
{
    for (int i = 0; i < n; i++) {
        size_t lc = strlen(v[i].name), lb = strlen(v[i].bn);
        if ((!strncmp(name, v[i].name, lc) && !strcmp(name + lc, ".weight")) ||
            (!strncmp(name, v[i].bn, lb) && name[lb] == '.'))
            return 1;
    }
    return 0;
}

struct kn_weights {
    kn_st_file *f;
    kn_arch arch;
    char sha[65];
};

/* Every tensor the model reads is present, with its shape and a float dtype; and there is
 * no other: a deeper net's file holds every tensor of a shallower one with the same shapes
 * (resnet152 ⊃ resnet101 ⊃ resnet50), so extra tensors are refused, except the classifier
 * (fc.*) and BN counters (*.num_batches_tracked). Extras are named first. */
static int check_tensors(const kn_st_file *f, kn_arch arch, qn_error *err)
{
    kn_conv *v;
    kn_block *b;
    int nc, nb, ss[5];
    int rc = kn_arch_build(arch, &v, &nc, &b, &nb, ss, err);
    if (rc)
        return rc;
    for (int i = 0; i < f->n && !rc; i++) {
        const char *nm = f->t[i].name;
        if (!strncmp(nm, "fc.", 3) || kn_ends_with(nm, ".num_batches_tracked") || expected(v, nc, nm))
            continue;
        rc = qn_error_set(err, QN_EINPUT, "%s: %s: not part of %s (weights of another model?)",
                          f->path, nm, kn_arch_name(arch));
    }
    for (int i = 0; i < nc && !rc; i++) {
        int64_t shape[5], cs = v[i].cout;
        int nd;
        char nm[96];
        fill_shape(&v[i], kn_arch_get(arch)->is3d, shape, &nd);
        snprintf(nm, sizeof nm, "%s.weight", v[i].name);
        if (!find_checked(f, nm, shape, nd, err))
            rc = QN_EINPUT;
        for (int p = 0; p < 4 && !rc; p++) {
            snprintf(nm, sizeof nm, "%s.%s", v[i].bn, parts[p]);
            if (!find_checked(f, nm, &cs, 1, err))
                rc = QN_EINPUT;
        }
    }
    free(v);
    free(b);
    return rc;
}

int kn_weights_open(const char *path, kn_arch arch, kn_weights **out, qn_error *err)
{
    *out = NULL;
    if (!kn_arch_get(arch))
        return qn_error_set(err, QN_EUSAGE, "%s: unknown architecture %d", path, (int)arch);
    kn_weights *w = calloc(1, sizeof *w);
    if (!w)
        return qn_error_set(err, QN_ENOMEM, "out of memory");
    w->arch = arch;
    int rc = kn_st_open(path, &w->f, err);
    if (!rc)
        rc = check_tensors(w->f, arch, err);
    if (!rc)
        qn_sha256_buf_hex(w->f->map, w->f->size, w->sha);
    if (rc) {
        kn_weights_close(w);
        return rc;
    }
    *out = w;
    return QN_OK;
}

const char *kn_weights_sha256(const kn_weights *w) { return w->sha; }

void kn_weights_close(kn_weights *w)
{
    if (!w)
        return;
    kn_st_close(w->f);
    free(w);
}

int kn_model_build(const kn_weights *w, const kn_options *opts, kn_model **out, qn_error *err)
{
    int rc = open_common(w->arch, get_file, w->f, w->f->path, opts, out, err);
    if (!rc)
        memcpy((*out)->sha, w->sha, sizeof w->sha);
    return rc;
}

int kn_model_open(const char *path, kn_arch arch, const kn_options *opts, kn_model **out,
                  qn_error *err)
{
    kn_weights *w;
    *out = NULL;
    int rc = kn_weights_open(path, arch, &w, err);
    if (!rc)
        rc = kn_model_build(w, opts, out, err);
    kn_weights_close(w);
    return rc;
}

int kn_model_open_src(kn_arch arch, kn_tensor_src get, void *ud, const kn_options *opts,
                      kn_model **out, qn_error *err)
{
    src_ud s = {get, ud};
    if (!kn_arch_get(arch))
        return qn_error_set(err, QN_EUSAGE, "unknown architecture %d", (int)arch);
    return open_common(arch, get_src, &s, "weights", opts, out, err);
}

void kn_model_close(kn_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->nconv; i++) {
        if (m->ops && i < m->nprepared)
            m->ops->release_conv(&m->convs[i]);
        free(m->convs[i].w);
        free(m->convs[i].bias);
    }
    free(m->convs);
    free(m->blocks);
    if (m->ops) {
        if (m->ops->graph) {
            kn_graph_key k = {.model = m->serial};
            m->ops->graph(KN_GRAPH_DROP, &k);
        }
        for (int i = 0; i < 4; i++)
            m->ops->dealloc(m->buf[i]);
        m->ops->dealloc(m->scratch);
        m->ops->dealloc(m->in);
    }
    free(m);
}

kn_arch kn_model_arch(const kn_model *m) { return m->arch; }
kn_backend kn_model_backend(const kn_model *m) { return m->backend; }
int kn_model_dim(const kn_model *m) { return m->desc->dim; }
const char *kn_model_sha256(const kn_model *m) { return m->sha; }
const char *kn_model_notice(const kn_model *m) { return m->notice[0] ? m->notice : NULL; }

/* ---- host memory for inputs ------------------------------------------- */

/* A 64-byte header before the block says who allocated it. */
enum { HOST_HDR = 64, HOST_HEAP = 1, HOST_PINNED = 2 };

void *kn_input_alloc(const kn_model *m, size_t bytes)
{
    if (bytes > SIZE_MAX - HOST_HDR)
        return NULL;
    unsigned char *b = NULL;
    int kind = HOST_PINNED;
    if (m && m->backend == KN_BACKEND_CUDA)
        b = kn_cuda_host_alloc(bytes + HOST_HDR);
    if (!b) {
        kind = HOST_HEAP;
        if (posix_memalign((void **)&b, HOST_HDR, bytes + HOST_HDR))
            return NULL;
    }
    memcpy(b, &kind, sizeof kind);
    return b + HOST_HDR;
}

void kn_input_free(void *p)
{
    if (!p)
        return;
    unsigned char *b = (unsigned char *)p - HOST_HDR;
    int kind;
    memcpy(&kind, b, sizeof kind);
    if (kind == HOST_PINNED)
        kn_cuda_host_free(b);
    else
        free(b);
}

/* ---- forward ---------------------------------------------------------- */

/* Shapes y for conv c applied to x. */
static kn_tensor conv_shape(const kn_conv *c, const kn_tensor *x, void *data)
{
    kn_tensor y = {data, x->n, kn_out_size(x->d, c->k[0], c->s[0], c->p[0]),
                   kn_out_size(x->h, c->k[1], c->s[1], c->p[1]),
                   kn_out_size(x->w, c->k[2], c->s[2], c->p[2]), c->cout};
    return y;
}

typedef struct plan {
    int dry;         /* 1: only measure sizes (and let the backend plan) */
    size_t act, scr; /* max activation / scratch elements */
    kn_stage_fn hook;
    void *ud;
    int no_mean;     /* stop before the global mean (it is run after a capture) */
    kn_tensor last;  /* the layer4 output's shape */
} plan;

static void do_conv(kn_model *m, plan *p, int ci, const kn_tensor *x, kn_tensor *y,
                    const kn_tensor *res, int relu)
{
    const kn_conv *c = &m->convs[ci];
    *y = conv_shape(c, x, y->data);
    if (p->dry) {
        size_t a = kn_numel(y), sc = m->ops->conv_scratch(c, x, y);
        p->act = a > p->act ? a : p->act;
        p->scr = sc > p->scr ? sc : p->scr;
    } else {
        m->ops->conv(c, x, y, res, relu, m->scratch);
    }
}

/* Hands a stage to the hook, as a host fp32 tensor. */
static void stage(kn_model *m, plan *p, int st, const kn_tensor *t)
{
    if (!p->hook || p->dry)
        return;
    if (!m->ops->device) {
        p->hook(st, t, p->ud);
        return;
    }
    kn_tensor h = *t;
    h.data = malloc(kn_numel(t) * sizeof(float));
    if (!h.data)
        return;
    m->ops->to_host(t, h.data);
    p->hook(st, &h, p->ud);
    free(h.data);
}

static void walk(kn_model *m, const kn_tensor *x, float *out, plan *p)
{
    void **B = m->buf;
    kn_tensor s0 = {.data = B[1]}, cur;
    do_conv(m, p, 0, x, &s0, NULL, 1);
    int t = m->desc->is3d;
    kn_pool mp = {{t ? 3 : 1, 3, 3}, {t ? 2 : 1, 2, 2}, {t ? 1 : 0, 1, 1}};
    cur = (kn_tensor){B[0], s0.n, kn_out_size(s0.d, mp.k[0], mp.s[0], mp.p[0]),
                      kn_out_size(s0.h, 3, 2, 1), kn_out_size(s0.w, 3, 2, 1), s0.c};
    if (p->dry)
        p->act = kn_numel(&cur) > p->act ? kn_numel(&cur) : p->act;
    else
        m->ops->maxpool(&mp, &s0, &cur);
    stage(m, p, KN_STAGE_STEM, &cur);
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
        stage(m, p, KN_STAGE_L1 + L, &cur);
    }
    p->last = cur;
    if (!p->dry && !p->no_mean) {
        m->ops->global_mean(&cur, out);
        if (p->hook) {
            kn_tensor f = {out, cur.n, 1, 1, 1, cur.c};
            p->hook(KN_STAGE_FINAL, &f, p->ud);
        }
    }
}

/* Grows a backend buffer to n elements (contents are not kept). */
static int reserve(const kn_ops *ops, void **p, size_t *cap, size_t n)
{
    if (n <= *cap && *p)
        return QN_OK;
    ops->dealloc(*p);
    *p = ops->alloc(n);
    *cap = *p ? n : 0;
    return *p ? QN_OK : QN_ENOMEM;
}

/* Replays or captures the forward (up to layer4) as one backend graph; 0 when
 * the backend declines, and the caller runs it op by op. */
static int run_graphed(kn_model *m, const kn_tensor *x, plan *p)
{
    kn_graph_key k = {m->serial, x->n, x->d, x->h, x->w,
                      {m->buf[0], m->buf[1], m->buf[2], m->buf[3], m->scratch, x->data, NULL}};
    p->last.data = m->buf[0];
    if (m->ops->graph(KN_GRAPH_REPLAY, &k) == 1)
        return 1;
    if (m->ops->graph(KN_GRAPH_BEGIN, &k) != QN_OK)
        return 0;
    p->no_mean = 1;
    walk(m, x, NULL, p);
    p->no_mean = 0;
    /* errors surface in sync(); a capture the backend could not complete is run eagerly */
    if (m->ops->graph(KN_GRAPH_END, &k) == KN_GRAPH_RETRY_EAGER)
        return 0;
    p->last.data = m->buf[0];
    return 1;
}

/* Plans (sizes buffers for this input shape), then runs. x->data is set. */
static int forward(kn_model *m, const kn_tensor *x, float *out, kn_stage_fn hook, void *ud,
                   qn_error *err)
{
    plan p = {1, 0, 0, hook, ud, 0, {0}};
    walk(m, x, out, &p);
    int rc = m->ops->sync(err);
    if (rc)
        return rc;
    if (p.act > m->bufcap) {
        for (int i = 0; i < 4; i++) {
            size_t c = 0;
            m->ops->dealloc(m->buf[i]);
            m->buf[i] = NULL;
            if (reserve(m->ops, &m->buf[i], &c, p.act))
                return qn_error_set(err, QN_ENOMEM, "%s backend: out of memory for activations "
                                    "(%zu elements)", m->ops->name, p.act);
        }
        m->bufcap = p.act;
    }
    if (reserve(m->ops, &m->scratch, &m->scratchcap, p.scr ? p.scr : 1))
        return qn_error_set(err, QN_ENOMEM, "%s backend: out of memory for scratch (%zu elements)",
                            m->ops->name, p.scr);
    p.dry = 0;
    if (!hook && m->ops->graph && run_graphed(m, x, &p))
        m->ops->global_mean(&p.last, out);
    else
        walk(m, x, out, &p);
    return m->ops->sync(err);
}

int kn_forward_f32(kn_model *m, const kn_tensor *x, float *out, kn_stage_fn hook, void *ud,
                   qn_error *err)
{
    if (m->ops->device)
        return qn_error_set(err, QN_EUSAGE, "kn_forward_f32: not a host backend");
    return forward(m, x, out, hook, ud, err);
}

int kn_forward_u8(kn_model *m, const uint8_t *in, int n, int d, int h, int w, float *out,
                  kn_stage_fn hook, void *ud, qn_error *err)
{
    size_t px = (size_t)n * d * h * w;
    if (reserve(m->ops, &m->in, &m->incap, px * (size_t)m->ops->in_channels))
        return qn_error_set(err, QN_ENOMEM, "%s backend: out of memory for the input batch",
                            m->ops->name);
    kn_tensor x = {m->in, n, d, h, w, 3};
    m->ops->input(in, px, m->desc->is3d, &x);
    return forward(m, &x, out, hook, ud, err);
}

/* Runs u8 NDHWC input in slices that bound memory. */
static int run_u8(kn_model *m, const uint8_t *in, int n, int d, int h, int w, float *out,
                  unsigned flags, qn_error *err)
{
    int dim = m->desc->dim, rc = QN_OK;
    int slice = m->ops->device ? GPU_SLICE : CPU_SLICE;
    size_t per = (size_t)d * h * w * 3;
    for (int i = 0; i < n && !rc; i += slice) {
        int k = n - i < slice ? n - i : slice;
        rc = kn_forward_u8(m, in + (size_t)i * per, k, d, h, w, out + (size_t)i * dim, NULL, NULL,
                           err);
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
    if (n < 0 || h < KN_2D_MIN_SIDE || w < KN_2D_MIN_SIDE || h > KN_2D_MAX_SIDE ||
        w > KN_2D_MAX_SIDE)
        return qn_error_set(err, QN_EUSAGE, "%s: bad input %d×%d×%d (need h,w in %d..%d)",
                            m->desc->name, n, h, w, KN_2D_MIN_SIDE, KN_2D_MAX_SIDE);
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
