/* coco_mask.h — COCO run-length masks, bit-compatible with pycocotools (maskApi.c).
 *
 * An RLE describes an h×w binary mask in column-major (Fortran) order as alternating
 * run lengths, starting with a run of zeros (possibly 0). Every function here gives
 * exactly the counts, strings, areas and boxes pycocotools gives for the same input;
 * ../shared/data/golden/ holds vectors made with it.
 *
 * Ownership: a qn_rle owns its counts; qn_rle_free releases them (NULL-safe) and
 * leaves an empty RLE. Functions that fill an RLE free what it held before.
 * Errors: functions returning int give QN_OK or QN_ENOMEM/QN_EINPUT (qn_error.h).
 */
#ifndef COCO_MASK_H
#define COCO_MASK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qn_rle {
    uint32_t h, w;   /* mask height and width */
    size_t m;        /* number of runs */
    uint32_t *cnts;  /* m run lengths; sum = h*w */
} qn_rle;

/* Sets an empty RLE (m = 0, cnts = NULL). */
void qn_rle_init(qn_rle *r);
void qn_rle_free(qn_rle *r);

/* Copies m counts (pycocotools rleInit). */
int qn_rle_from_counts(qn_rle *r, uint32_t h, uint32_t w, const uint32_t *cnts, size_t m);

/* Encodes a column-major h×w mask of 0/non-zero bytes (rleEncode). */
int qn_rle_encode(qn_rle *r, const uint8_t *mask, uint32_t h, uint32_t w);
/* Decodes into a column-major h×w buffer of 0/1 bytes (rleDecode). */
void qn_rle_decode(const qn_rle *r, uint8_t *mask);

/* pycocotools rleFrPoly: rasterises polygon xy[0..2k) = x0,y0,x1,y1,... exactly as
 * pycocotools does (5× upsampling, +0.5 convention, clipping to the image). */
int qn_rle_from_poly(qn_rle *r, const double *xy, size_t k, uint32_t h, uint32_t w);
/* pycocotools rleFrBbox: bb = [x, y, w, h]. */
int qn_rle_from_bbox(qn_rle *r, const double bb[4], uint32_t h, uint32_t w);

/* Foreground pixel count (rleArea). */
uint64_t qn_rle_area(const qn_rle *r);
/* Tight box [x, y, w, h] (rleToBbox, including its quirks for empty masks). */
void qn_rle_bbox(const qn_rle *r, double bb[4]);

/* Union (intersect = 0) or intersection (1) of n RLEs of equal size (rleMerge). */
int qn_rle_merge(qn_rle *out, const qn_rle *rles, size_t n, int intersect);
/* IoU of every dt[i] with every gt[j] into o[i + m*j] (rleIou; iscrowd may be NULL). */
int qn_rle_iou(const qn_rle *dt, size_t m, const qn_rle *gt, size_t n,
               const uint8_t *iscrowd, double *o);

/* Compressed LEB128-like string (rleToString). Returns a malloc'd NUL-terminated
 * string, or NULL when out of memory. */
char *qn_rle_to_string(const qn_rle *r);
/* Parses a compressed string (rleFrString). QN_EINPUT if malformed (a run past
 * h*w, a bad character) — pycocotools does not check; we do. */
int qn_rle_from_string(qn_rle *r, const char *s, uint32_t h, uint32_t w);

/* Every instance of a label image at once.
 * labels: row-major h×w 16-bit ids (as decoded from a PNG). For each distinct id
 * >= min_id present, returns its RLE (column-major, as pycocotools encodes
 * np.asfortranarray(labels == id)) in ascending id order. One pass over the pixels.
 * out is overwritten, not freed (release it with qn_label_rles_free before reuse);
 * on error it is left empty. Ids are < 65536, so min_id > 65535 finds none. */
typedef struct qn_label_rles {
    size_t n;         /* number of distinct ids found */
    uint32_t *ids;    /* n ids, ascending */
    qn_rle *rles;     /* n RLEs */
} qn_label_rles;

int qn_rle_from_labels(qn_label_rles *out, const uint16_t *labels, uint32_t h, uint32_t w,
                       uint32_t min_id);
void qn_label_rles_free(qn_label_rles *out);

#ifdef __cplusplus
}
#endif
#endif
