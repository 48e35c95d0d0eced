/* kn_ops_common.c — element-wise steps every CPU backend shares: input
 * normalisation (HowTo100M's preprocessing) and row L2-normalisation. */
#include <math.h>
#include <stdlib.h>

#include "kn_internal.h"

void kn_normalize_2d(const uint8_t *in, size_t pixels, float *out)
{
    /* torchvision ImageNet stats; the reference extractor divides by std + 1e-8 */
    static const double mean[3] = {0.485, 0.456, 0.406}, sd[3] = {0.229, 0.224, 0.225};
    float lut[3][256];
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++)
            lut[c][v] = (float)(((double)(float)(v / 255.0f) - (double)(float)mean[c]) /
                                ((double)(float)sd[c] + 1e-8));
    for (size_t i = 0; i < pixels; i++)
        for (int c = 0; c < 3; c++)
            out[3 * i + c] = lut[c][in[3 * i + c]];
}

void kn_normalize_3d(const uint8_t *in, size_t pixels, float *out)
{
    static const float mean[3] = {110.6f, 103.2f, 96.3f};
    for (size_t i = 0; i < pixels; i++)
        for (int c = 0; c < 3; c++)
            out[3 * i + c] = (float)in[3 * i + c] - mean[c];
}

void kn_l2norm_rows(float *x, int rows, int dim)
{
    for (int r = 0; r < rows; r++) {
        float *v = x + (size_t)r * dim;
        double s = 0;
        for (int i = 0; i < dim; i++)
            s += (double)v[i] * v[i];
        double n = sqrt(s);
        if (n < 1e-12)
            n = 1e-12;
        for (int i = 0; i < dim; i++)
            v[i] = (float)(v[i] / n);
    }
}

/* Host-memory pieces shared by the ref and cpu op tables. */
void *kn_host_alloc(size_t elems)
{
    return malloc(elems * sizeof(float));
}

void kn_host_dealloc(void *p)
{
    free(p);
}

void kn_host_input(const uint8_t *in, size_t pixels, int is3d, kn_tensor *x)
{
    if (is3d)
        kn_normalize_3d(in, pixels, x->data);
    else
        kn_normalize_2d(in, pixels, x->data);
}

int kn_host_sync(qn_error *err)
{
    return QN_OK;
}

void kn_host_global_mean(const kn_tensor *x, float *out)
{
    size_t sp = (size_t)x->d * x->h * x->w;
    for (int n = 0; n < x->n; n++)
        for (int ch = 0; ch < x->c; ch++) {
            const float *v = x->data + (size_t)n * sp * x->c + ch;
            double s = 0;
            for (size_t i = 0; i < sp; i++)
                s += v[i * x->c];
            out[(size_t)n * x->c + ch] = (float)(s / (double)sp);
        }
}
