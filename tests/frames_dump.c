/* frames_dump — test tool: decode a video once with extract/frames and write the
 * 2D frames and the real (unpadded) 3D frames as raw rgb24, for comparison
 * with the ffmpeg CLI in tests/test_frames.py.
 *
 *   frames_dump [-j N] [--hw none|auto|cuda] [--convert ref|cpu|cuda] [--no-2d] [--no-3d]
 *               VIDEO OUT2D OUT3D
 *
 * --convert: frames are converted by kn_convert instead of libswscale: `ref` (the
 * oracle) or `cpu` (kn_convert_cpu, fast), every CPU-decoded yuv420p frame; `cuda`,
 * on the GPU, NVDEC frames.
 *
 * Prints "2d N WxH", "3d N CHUNKS SIDE PADNONZERO", "decoded N converted N
 * errors N hw H", "external N" (frames --convert converted), "packets N" (video
 * packets read) on stdout; errors as "frames_dump: message" with quern's exit codes
 * (2: the file's content is bad, 3: it cannot be read now). OUT2D/OUT3D may be "-"
 * to discard.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extract/frames.h"
#include "kernels/frames_convert.h"

typedef struct dump {
    FILE *f2, *f3;
    int chunk;
    long long pad_nonzero;
    long long last_chunk;
} dump;

static int on_2d(void *user, int64_t index, const uint8_t *rgb, int w, int h)
{
    dump *d = user;
    (void)index;
    if (d->f2 && fwrite(rgb, 3, (size_t)w * h, d->f2) != (size_t)w * h)
        return QN_EENV;
    return QN_OK;
}

static int on_3d(void *user, int64_t index, const uint8_t *rgb, int n_real, int side)
{
    dump *d = user;
    size_t fb = (size_t)side * side * 3;
    if (index != d->last_chunk + 1)
        return QN_EINTERNAL;
    d->last_chunk = index;
    for (size_t i = (size_t)n_real * fb; i < (size_t)d->chunk * fb; i++)
        d->pad_nonzero += rgb[i] != 0;
    if (d->f3 && fwrite(rgb, fb, (size_t)n_real, d->f3) != (size_t)n_real)
        return QN_EENV;
    return QN_OK;
}

static FILE *open_out(const char *p)
{
    return strcmp(p, "-") ? fopen(p, "wb") : NULL;
}

int main(int argc, char **argv)
{
    fr_opts o;
    fr_opts_default(&o);
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (!strcmp(argv[i], "-j") && i + 1 < argc)
            o.threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--hw") && i + 1 < argc) {
            const char *m = argv[++i];
            o.hw = !strcmp(m, "cuda") ? FR_HW_CUDA : !strcmp(m, "auto") ? FR_HW_AUTO : FR_HW_NONE;
        } else if (!strcmp(argv[i], "--convert") && i + 1 < argc) {
            const char *m = argv[++i];
            int cuda = !strcmp(m, "cuda");
            o.convert = kn_frames_convert;
            o.convert_user = (void *)(cuda                 ? &kn_frames_convert_cuda
                                      : !strcmp(m, "cpu") ? &kn_frames_convert_cpu
                                                          : &kn_frames_convert_ref);
            o.convert_all = !cuda;
        } else if (!strcmp(argv[i], "--no-2d"))
            o.want_2d = 0;
        else if (!strcmp(argv[i], "--no-3d"))
            o.want_3d = 0;
        else
            break;
    }
    if (argc - i != 3) {
        fprintf(stderr, "usage: frames_dump [-j N] [--hw none|auto|cuda] [--convert ref|cpu|cuda] "
                        "[--no-2d] [--no-3d] VIDEO OUT2D OUT3D\n");
        return 2;
    }
    qn_error err;
    qn_error_clear(&err);
    fr_video *v;
    int rc = fr_open(&v, argv[i], &o, &err);
    if (rc < 0) {
        fprintf(stderr, "frames_dump: %s\n", err.msg);
        return qn_exit_code(rc);
    }
    const fr_info *in = fr_get_info(v);
    dump d = {open_out(argv[i + 1]), open_out(argv[i + 2]), o.chunk_3d, 0, -1};
    fr_sink sink = {&d, on_2d, on_3d};
    fr_stats st;
    rc = fr_run(v, &sink, &st, &err);
    if (rc < 0 && !err.msg[0])
        qn_error_set(&err, rc, "%s: sink failed", argv[i]);
    if (rc == QN_OK) {
        printf("2d %lld %dx%d\n", (long long)st.n2d, in->w2d, in->h2d);
        printf("3d %lld %lld %d %lld\n", (long long)st.n3d, (long long)st.chunks3d, in->side3d,
               d.pad_nonzero);
        printf("decoded %lld converted %lld errors %lld hw %d\n", (long long)st.decoded,
               (long long)st.converted, (long long)st.decode_errors, in->hw);
        printf("external %lld\n", (long long)st.converted_ext);
        printf("packets %lld\n", (long long)st.packets);
        if (in->hw_note[0])
            printf("note %s\n", in->hw_note);
    } else {
        fprintf(stderr, "frames_dump: %s\n", err.msg);
    }
    if (d.f2 && fclose(d.f2) != 0 && rc == QN_OK)
        rc = QN_EENV;
    if (d.f3 && fclose(d.f3) != 0 && rc == QN_OK)
        rc = QN_EENV;
    fr_close(v);
    return qn_exit_code(rc);
}
