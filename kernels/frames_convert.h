/* frames_convert.h — the glue between extract/frames' external converter hook
 * (fr_opts.convert) and kn_convert.h: frames hands over a decoded frame's planes,
 * this converts them with kn_cuda_convert (NVDEC frames, on the GPU) or
 * kn_convert_ref (the CPU version, for tests). */
#ifndef FRAMES_CONVERT_H
#define FRAMES_CONVERT_H

#include "extract/frames.h"

/* Modes for fr_opts.convert_user (point it at a static copy of one of these). */
extern const int kn_frames_convert_cuda, kn_frames_convert_ref;

/* An fr_convert_fn: user is &kn_frames_convert_cuda or &kn_frames_convert_ref. */
int kn_frames_convert(void *user, const fr_planes *f, int dst_w, int dst_h, int crop_x,
                      int crop_y, int crop_w, int crop_h, uint8_t *out, qn_error *err);

#endif
