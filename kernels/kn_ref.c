/* kn_ref.c — the reference backend: the plainest loops that compute each op's
 * definition, accumulating in double. It is the oracle the fast backends are
 * tested against, so it favours obviousness over speed. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "kn_internal.h"

static size_t at(const kn_tensor *t, int n, int d, int h, int w)
{
    return ((((size_t)n * t->d + d) * t->h + h) * t->w + w) * (size_t)t->c;
}

/* Sum over one output position's receptive field for output channel co. */
static double conv_point(const kn_conv *c, const kn_tensor *x, int n, int od, int oh, int ow,
                         int co)
{
    int cig = c->cin / c->groups, g = co / (c->cout / c->groups);
    double acc = 0;
    for (int kd = 0; kd < c->k[0]; kd++) {
        int id = od * c->s[0] - c->p[0] + kd;
        if (id < 0 || id >= x->d)
            continue;
        for (int kh = 0; kh < c->k[1]; kh++) {
            int ih = oh * c->s[1] - c->p[1] + kh;
            if (ih < 0 || ih >= x->h)
                continue;
            for (int kw = 0; kw < c->k[2]; kw++) {
                int iw = ow * c->s[2] - c->p[2] + kw;
                if (iw < 0 || iw >= x->w)
                    continue;
                const float *xp = x->data + at(x, n, id, ih, iw) + (size_t)g * cig;
                for (int ci = 0; ci < cig; ci++) {
                    size_t wi = (((size_t)co * cig + ci) * c->k[0] + kd) * c->k[1] * c->k[2] +
                                (size_t)kh * c->k[2] + kw;
                    acc += (double)xp[ci] * c->w[wi];
                }
            }
        }
    }
    return acc;
}

static void ref_conv(const kn_conv *c, const kn_tensor *x, kn_tensor *y, const kn_tensor *res,
                     int relu, void *scratch)
{
    (void)scratch;
    for (int n = 0; n < y->n; n++)
        for (int od = 0; od < y->d; od++)
            for (int oh = 0; oh < y->h; oh++)
                for (int ow = 0; ow < y->w; ow++) {
                    size_t o = at(y, n, od, oh, ow);
                    for (int co = 0; co < c->cout; co++) {
                        double v = conv_point(c, x, n, od, oh, ow, co) + c->bias[co];
                        if (res)
                            v += res->data[o + co];
                        if (relu && v < 0)
                            v = 0;
                        y->data[o + co] = (float)v;
                    }
                }
}

static size_t ref_conv_scratch(const kn_conv *c, const kn_tensor *x, const kn_tensor *y)
{
    return 0;
}

static void ref_maxpool(const kn_pool *p, const kn_tensor *x, kn_tensor *y)
{
    for (int n = 0; n < y->n; n++)
        for (int od = 0; od < y->d; od++)
            for (int oh = 0; oh < y->h; oh++)
                for (int ow = 0; ow < y->w; ow++)
                    for (int ch = 0; ch < y->c; ch++) {
                        float m = -FLT_MAX;
                        for (int kd = 0; kd < p->k[0]; kd++)
                            for (int kh = 0; kh < p->k[1]; kh++)
                                for (int kw = 0; kw < p->k[2]; kw++) {
                                    int id = od * p->s[0] - p->p[0] + kd;
                                    int ih = oh * p->s[1] - p->p[1] + kh;
                                    int iw = ow * p->s[2] - p->p[2] + kw;
                                    if (id < 0 || id >= x->d || ih < 0 || ih >= x->h || iw < 0 ||
                                        iw >= x->w)
                                        continue;
                                    float v = x->data[at(x, n, id, ih, iw) + ch];
                                    if (v > m)
                                        m = v;
                                }
                        y->data[at(y, n, od, oh, ow) + ch] = m;
                    }
}

static int ref_prepare(kn_conv *c)
{
    return QN_OK;
}

static void ref_release(kn_conv *c)
{
}

static void ref_threads(int t)
{
}

const kn_ops kn_ref_ops = {
    .name = "ref",
    .in_channels = 3,
    .alloc = kn_host_alloc,
    .dealloc = kn_host_dealloc,
    .prepare_conv = ref_prepare,
    .input = kn_host_input,
    .sync = kn_host_sync,
    .release_conv = ref_release,
    .conv = ref_conv,
    .conv_scratch = ref_conv_scratch,
    .maxpool = ref_maxpool,
    .global_mean = kn_host_global_mean,
    .set_threads = ref_threads,
};
