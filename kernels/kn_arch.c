/* kn_arch.c — the architectures as lists of convolutions with their PyTorch
 * names, following torchvision's ResNet._make_layer and the 2017 kenshohara
 * ResNeXt._make_layer loops (shortcut B: a strided 1×1 conv + BN whenever the
 * shape changes). No graph IR: a model is stem, 4 stages of blocks, mean. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kn_internal.h"

static const kn_arch_desc descs[KN_ARCH_COUNT] = {
    [KN_RESNET18] = {"resnet18", 0, 0, 0, {2, 2, 2, 2}, 512},
    [KN_RESNET34] = {"resnet34", 0, 0, 0, {3, 4, 6, 3}, 512},
    [KN_RESNET50] = {"resnet50", 0, 1, 0, {3, 4, 6, 3}, 2048},
    [KN_RESNET101] = {"resnet101", 0, 1, 0, {3, 4, 23, 3}, 2048},
    [KN_RESNET152] = {"resnet152", 0, 1, 0, {3, 8, 36, 3}, 2048},
    [KN_RESNEXT101_3D] = {"resnext101-3d", 1, 1, 1, {3, 4, 23, 3}, 2048},
};

const char *const kn_stage_names[KN_STAGE_COUNT] = {"stem", "layer1", "layer2", "layer3",
                                                     "layer4", "final"};

const kn_arch_desc *kn_arch_get(kn_arch a)
{
    return (unsigned)a < KN_ARCH_COUNT ? &descs[a] : NULL;
}

const char *kn_arch_name(kn_arch a)
{
    return (unsigned)a < KN_ARCH_COUNT ? descs[a].name : "?";
}

int kn_arch_from_name(const char *name, kn_arch *out, qn_error *err)
{
    for (int i = 0; i < KN_ARCH_COUNT; i++)
        if (name && !strcmp(name, descs[i].name)) {
            *out = (kn_arch)i;
            return QN_OK;
        }
    return qn_error_set(err, QN_EUSAGE,
                        "unknown model \"%s\" (resnet18, resnet34, resnet50, resnet101, "
                        "resnet152, resnext101-3d)", name ? name : "");
}

static const char *const backend_names[] = {"auto", "ref", "cpu", "cuda"};

const char *kn_backend_name(kn_backend b)
{
    return (unsigned)b < 4 ? backend_names[b] : "?";
}

int kn_backend_from_name(const char *name, kn_backend *out, qn_error *err)
{
    for (int i = 0; i < 4; i++)
        if (name && !strcmp(name, backend_names[i])) {
            *out = (kn_backend)i;
            return QN_OK;
        }
    return qn_error_set(err, QN_EUSAGE, "unknown backend \"%s\" (auto, ref, cpu, cuda)",
                        name ? name : "");
}

/* Appends one conv; k/s/p are cubic for 3D nets and square (depth 1) for 2D. */
static int add_conv(kn_conv *v, int *n, int is3d, const char *name, const char *bn, int cin,
                    int cout, int groups, int k, int s, int p)
{
    kn_conv *c = &v[(*n)++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->bn, sizeof c->bn, "%s", bn);
    c->cin = cin;
    c->cout = cout;
    c->groups = groups;
    c->k[0] = is3d ? k : 1;
    c->s[0] = is3d ? s : 1;
    c->p[0] = is3d ? p : 0;
    c->k[1] = c->k[2] = k;
    c->s[1] = c->s[2] = s;
    c->p[1] = c->p[2] = p;
    return *n - 1;
}

int kn_arch_build(kn_arch a, kn_conv **convs, int *nconv, kn_block **blocks, int *nblock,
                  int stage_start[5], qn_error *err)
{
    const kn_arch_desc *d = kn_arch_get(a);
    if (!d)
        return qn_error_set(err, QN_EUSAGE, "unknown architecture %d", (int)a);
    int nb = d->blocks[0] + d->blocks[1] + d->blocks[2] + d->blocks[3];
    kn_conv *v = calloc((size_t)(1 + 4 * nb), sizeof *v);
    kn_block *b = calloc((size_t)nb, sizeof *b);
    if (!v || !b) {
        free(v);
        free(b);
        return qn_error_set(err, QN_ENOMEM, "out of memory building %s", d->name);
    }
    int n = 0, k = 0, g3 = d->is3d;
    add_conv(v, &n, g3, "conv1", "bn1", 3, 64, 1, 7, 2, 3);
    if (g3)
        v[0].s[0] = 1; /* kenshohara stem: stride (1,2,2) */
    int inplanes = 64;
    char nm[64], bn[64];
    for (int L = 0; L < 4; L++) {
        stage_start[L] = k;
        int planes = (d->resnext ? 128 : 64) << L, exp = d->resnext ? 2 : d->bottleneck ? 4 : 1;
        int mid = d->resnext ? 32 * (planes / 32) : planes, groups = d->resnext ? 32 : 1;
        for (int i = 0; i < d->blocks[L]; i++, k++) {
            int stride = (i == 0 && L > 0) ? 2 : 1;
#define NAME(part, bnpart)                                            \
    (snprintf(nm, sizeof nm, "layer%d.%d.%s", L + 1, i, part),        \
     snprintf(bn, sizeof bn, "layer%d.%d.%s", L + 1, i, bnpart), nm)
            if (d->bottleneck) {
                b[k].conv1 = add_conv(v, &n, g3, NAME("conv1", "bn1"), bn, inplanes, mid, 1, 1, 1, 0);
                b[k].conv2 = add_conv(v, &n, g3, NAME("conv2", "bn2"), bn, mid, mid, groups, 3, stride, 1);
                b[k].conv3 = add_conv(v, &n, g3, NAME("conv3", "bn3"), bn, mid, planes * exp, 1, 1, 1, 0);
            } else {
                b[k].conv1 = add_conv(v, &n, g3, NAME("conv1", "bn1"), bn, inplanes, planes, 1, 3, stride, 1);
                b[k].conv2 = add_conv(v, &n, g3, NAME("conv2", "bn2"), bn, planes, planes, 1, 3, 1, 1);
                b[k].conv3 = -1;
            }
            b[k].down = -1;
            if (stride != 1 || inplanes != planes * exp)
                b[k].down = add_conv(v, &n, g3, NAME("downsample.0", "downsample.1"), bn, inplanes,
                                     planes * exp, 1, 1, stride, 0);
#undef NAME
            inplanes = planes * exp;
        }
    }
    stage_start[4] = k;
    *convs = v;
    *nconv = n;
    *blocks = b;
    *nblock = k;
    return QN_OK;
}
