/* frames_convert.c — frames_convert.h: fr_planes in, kn_convert out. */
#include "frames_convert.h"

#include "kn_convert.h"

const int kn_frames_convert_cuda = 1, kn_frames_convert_ref = 0, kn_frames_convert_cpu = 2;

int kn_frames_convert(void *user, const fr_planes *f, int dst_w, int dst_h, int crop_x,
                      int crop_y, int crop_w, int crop_h, uint8_t *out, qn_error *err)
{
    int mode = *(const int *)user;
    if (f->device && mode != kn_frames_convert_cuda)
        return 1; /* GPU memory: the CPU versions cannot read it; it comes back downloaded */
    if (!f->device && mode == kn_frames_convert_cuda)
        mode = kn_frames_convert_cpu; /* in host memory: the same function on the CPU */
    kn_convert_geom g = {f->w, f->h, dst_w, dst_h, crop_x, crop_y, crop_w, crop_h};
    const kn_convert_plan *p;
    qn_error plan_err;
    qn_error_clear(&plan_err);
    int rc = kn_convert_plan_get(&g, &p, &plan_err);
    if (rc == QN_EUSAGE)
        return 1; /* a geometry the tables do not take (extreme sizes): libswscale */
    if (rc < 0)
        return qn_error_set(err, rc, "%s", plan_err.msg);
    kn_yuv_frame y = {f->y, f->u, f->v, f->y_pitch, f->uv_pitch, f->nv12,
                      f->w, f->h, f->colorspace, f->full_range};
    if (mode == kn_frames_convert_cuda)
        return kn_cuda_convert(p, &y, out, err);
    return mode == kn_frames_convert_cpu ? kn_convert_cpu(p, &y, out, err)
                                         : kn_convert_ref(p, &y, out, err);
}
