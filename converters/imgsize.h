/* imgsize.h — image width and height from file headers, without decoding pixels.
 *
 * JPEG: a marker walk from SOI to the first SOFn frame header (baseline,
 * extended, progressive, lossless, arithmetic), reading the EXIF orientation
 * (APP1 "Exif", IFD0 tag 0x0112) on the way. PNG: the IHDR chunk.
 * The size returned is the one a viewer shows: for EXIF orientations 5..8 (the
 * transposing ones) width and height are swapped, as browsers do since 2020
 * (CSS image-orientation: from-image), so it matches what a VIA user annotated.
 * PNG eXIf chunks are not read (browsers disagree on them).
 *
 * Errors: QN_EINPUT with one line "path: why" (cannot open, not a JPEG or PNG,
 * truncated header, no frame header before the scan, zero size).
 */
#ifndef IMGSIZE_H
#define IMGSIZE_H

#include <stddef.h>
#include <stdint.h>

#include "qn_error.h"

#ifdef __cplusplus
extern "C" {
#endif

enum imgsize_kind { IMGSIZE_JPEG = 1, IMGSIZE_PNG = 2 };

typedef struct imgsize_info {
    uint32_t width, height;         /* as displayed (orientation applied) */
    uint32_t raw_width, raw_height; /* as stored in the frame header / IHDR */
    int orientation;                /* EXIF 1..8; 1 when absent or invalid */
    int kind;                       /* IMGSIZE_JPEG or IMGSIZE_PNG */
} imgsize_info;

/* Reads the header of the file at path. */
int imgsize_probe(const char *path, imgsize_info *out, qn_error *err);

/* Same on a memory buffer holding the start of a file (or all of it); name is
 * used in messages only. A buffer that ends before the size is known is an error. */
int imgsize_probe_mem(const uint8_t *buf, size_t n, const char *name, imgsize_info *out,
                      qn_error *err);

/* EXIF orientation from an APP1 payload starting at "Exif\0\0" (1 when absent or
 * malformed; never fails: a broken EXIF block must not lose the image). */
int imgsize_exif_orientation(const uint8_t *p, size_t n);

#ifdef __cplusplus
}
#endif
#endif
