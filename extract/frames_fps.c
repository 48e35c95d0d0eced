/* frames_fps.c — which decoded frame fills each output tick, as `ffmpeg -vf fps=R`.
 *
 * vf_fps (FFmpeg 5.1) rescales every input timestamp to the output time base
 * 1/R with round-to-nearest (ties away from zero), starts at the first frame's
 * rounded tick, and buffers two frames: while the newer frame's tick is beyond
 * the next output tick it outputs the older frame (duplicating it over gaps);
 * otherwise it drops the older one. At EOF the end timestamp (the CLI passes the
 * last frame's pts + duration) is rounded the same way and the last frame fills
 * the ticks before it. So tick t shows the last frame whose timestamp rounds to
 * at most t, and a video of 3.5 s at 25 fps yields 4 frames while 3.4 s yields 3.
 *
 * The CLI then writes rawvideo at a constant rate starting at 0: if the first
 * tick is later than 0 (the video starts after another stream), the first frame
 * is repeated for the missing leading ticks. We reproduce that too. Except for
 * an input file of a single stream, where ffmpeg.c's vsync turns from "cfr" to
 * "vscfr" (do_video_out): the output then starts at the first frame's tick, with
 * no fill (a raw .m2v stream whose first frame is at 0.04 s: 53 frames at 24 fps
 * for 2.2 s, not 54).
 */
#include "frames_priv.h"

#include <libavutil/mathematics.h>

void fr_fps_init(fr_fps *f, AVRational in_tb, AVRational out_tb)
{
    f->in_tb = in_tb;
    f->out_tb = out_tb;
    f->started = 0;
    f->next = 0;
    f->emitted = 0;
    f->fill_lead = 1;
}

int64_t fr_fps_tick(const fr_fps *f, int64_t in_pts)
{
    return av_rescale_q_rnd(in_pts, f->in_tb, f->out_tb,
                            AV_ROUND_NEAR_INF | AV_ROUND_PASS_MINMAX);
}

/* Copies of the pending frame for ticks next..limit-1, plus the CLI's leading
 * fill on the very first output. */
static int64_t fill_until(fr_fps *f, int64_t limit)
{
    if (limit <= f->next)
        return 0;
    int64_t k = limit - f->next;
    f->next = limit;
    if (f->emitted == 0 && limit - k > 0 && f->fill_lead)
        k += limit - k;    /* ticks 0..first-1 repeat the first frame */
    f->emitted += k;
    return k;
}

int64_t fr_fps_push(fr_fps *f, int64_t tick, int has_pending)
{
    if (!f->started) {
        f->started = 1;
        f->next = tick;
        return 0;
    }
    if (!has_pending)
        return 0;
    return fill_until(f, tick);
}

int64_t fr_fps_eof(fr_fps *f, int64_t end_tick, int has_pending)
{
    if (!f->started || !has_pending)
        return 0;
    return fill_until(f, end_tick);
}
