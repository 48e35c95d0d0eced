/* png16.h — a fast, strict reader for 16-bit greyscale PNGs (Cityscapes instanceIds).
 *
 * Non-interlaced 16-bit greyscale files take the fast path: chunks are walked and
 * CRC-checked here, the IDAT stream is inflated by libdeflate in one call (zlib's
 * inflate is ~30x slower on these run-heavy images, see shared/docs/PEERS.md), and
 * the five row filters are undone here. Interlaced 16-bit greyscale files, and
 * 8-bit greyscale files when QN_PNG16_ALLOW_LOWDEPTH is given, go through
 * libspng. Anything else (colour, palette, alpha, 8-bit without the flag, a size
 * other than expected, truncation, a bad CRC, a bad filter byte, too much or too
 * little image data) is QN_EINPUT with one line naming the file.
 *
 * A decoder owns its buffers and reuses them from image to image, so a worker
 * thread keeps one decoder and allocates nothing per image in the steady state.
 * A decoder is not thread-safe; use one per thread.
 */
#ifndef PNG16_H
#define PNG16_H

#include <stddef.h>
#include <stdint.h>
#include "qn_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qn_png16 qn_png16;

typedef struct qn_png16_image {
    uint32_t w, h;
    unsigned bit_depth;   /* of the file: 16, or 8 with QN_PNG16_ALLOW_LOWDEPTH */
    const uint16_t *px;   /* h*w samples, row-major, host order; owned by the decoder,
                             valid until its next read or free */
} qn_png16_image;

enum {
    /* Accept 8-bit greyscale too (samples widened, not scaled: 26 reads as 26, as
     * OpenCV's IMREAD_UNCHANGED gives it). 1/2/4-bit greyscale stays an error. */
    QN_PNG16_ALLOW_LOWDEPTH = 1,
    /* Decode through libspng even when the fast path applies (tests, bench). */
    QN_PNG16_FORCE_SPNG = 2
};

/* NULL when out of memory. */
qn_png16 *qn_png16_new(void);
/* NULL is a harmless no-op. */
void qn_png16_free(qn_png16 *d);

/* From now on, samples below v decode as 0 (v = 0: off, the default). For callers
 * that ignore small values anyway — the Cityscapes converter ignores ids < 24 — this
 * costs nothing here (it rides on the byte swap) and removes every boundary between
 * ignored values from the image, which later passes then need not walk. */
void qn_png16_zero_below(qn_png16 *d, uint16_t v);

/* Reads and decodes the file at path; error messages start with path. */
int qn_png16_read_file(qn_png16 *d, const char *path, unsigned flags, qn_png16_image *img,
                       qn_error *err);
/* Decodes n bytes at buf; `name` is used in error messages. buf is not kept. */
int qn_png16_read_mem(qn_png16 *d, const uint8_t *buf, size_t n, const char *name,
                      unsigned flags, qn_png16_image *img, qn_error *err);

/* The largest image accepted, in pixels (larger IHDR sizes are QN_EINPUT). */
#define QN_PNG16_MAX_PIXELS ((uint64_t)1 << 28)

#ifdef __cplusplus
}
#endif
#endif
