/* frames_convert.h — the glue between extract/frames' external converter hook
 * (fr_opts.convert) and kn_convert.h: frames hands over a decoded frame's planes,
 * this converts them with kn_cuda_convert (NVDEC frames, on the GPU),
 * kn_convert_cpu (CPU-decoded frames, fast) or kn_convert_ref (the oracle, tests). */
#ifndef FRAMES_CONVERT_H
#define FRAMES_CONVERT_H

#include "extract/frames.h"

/* Modes for fr_opts.convert_user (point it at a static copy of one of these). */
extern const int kn_frames_convert_cuda, kn_frames_convert_ref, kn_frames_convert_cpu;

/* An fr_convert_fn: user is &kn_frames_convert_cuda, &kn_frames_convert_cpu or
 * &kn_frames_convert_ref. The CPU ones decline frames in GPU memory (extract/frames
 * then offers them again downloaded); cuda converts frames in host memory with
 * kn_convert_cpu, so that every frame of a run is computed by the same function
 * whichever decoder made it. */
int kn_frames_convert(void *user, const fr_planes *f, int dst_w, int dst_h, int crop_x,
                      int crop_y, int crop_w, int crop_h, uint8_t *out, qn_error *err);

#endif
