/* frames_convert.c — frames_convert.h: fr_planes in, kn_convert out. */
#include "frames_convert.h"

#include "kn_convert.h"

const int kn_frames_convert_cuda = 1, kn_frames_convert_ref = 0;

int kn_frames_convert(void *user, const fr_planes *f, int dst_w, int dst_h, int crop_x,
                      int crop_y, int crop_w, int crop_h, uint8_t *out, qn_error *err)
{
    kn_convert_geom g = {f->w, f->h, dst_w, dst_h, crop_x, crop_y, crop_w, crop_h};
    const kn_convert_plan *p;
    int rc = kn_convert_plan_get(&g, &p, err);
    if (rc < 0)
        return rc;
    kn_yuv_frame y = {f->y, f->u, f->v, f->y_pitch, f->uv_pitch, f->nv12,
                      f->w, f->h, f->colorspace, f->full_range};
    return *(const int *)user ? kn_cuda_convert(p, &y, out, err) : kn_convert_ref(p, &y, out, err);
}
