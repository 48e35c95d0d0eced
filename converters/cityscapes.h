/* cityscapes.h — Cityscapes gtFine to COCO instance JSON, annotation for annotation what
 * MMDetection 3.3's tools/dataset_converters/cityscapes.py + pycocotools write.
 *
 * Input:  ROOT/leftImg8bit/<split>/<city>/<stem>leftImg8bit.png (listed, never opened)
 *         ROOT/gtFine/<split>/<city>/<stem>gtFine_instanceIds.png  (16-bit greyscale)
 *         or, with from_polygons, <stem>gtFine_polygons.json
 * Output: OUTDIR/instancesonly_filtered_gtFine_<split>.json, all splits committed
 *         together at the end (temporary files + rename), nothing left on failure.
 *
 * Semantics (FORMATS.md §1.2/1.3): pixel ids >= 24; id >= 1000 is instance k of label
 * id/1000 (iscrowd 0), id < 1000 a crowd region of label id (iscrowd 1); only labels
 * with hasInstances and not ignoreInEval (24 25 26 27 28 31 32 33); compressed RLE of
 * the column-major mask, area = pixel count, bbox = pycocotools toBbox; annotations of
 * an image in ascending pixel id; image and annotation ids from 0 per split.
 * Differences from MMDetection, by design: images sorted by "city/file" (byte order;
 * MMDetection uses directory order), "annotations": [] kept for a split without any
 * (MMDetection drops the key), a split folder that is absent is skipped when the
 * split list is the default one, and bad GT files are errors naming the file (or are
 * skipped and counted) where MMDetection crashes.
 *
 * Work is spread over `threads` workers, one image at a time; results are written in
 * image order through a bounded reorder window, and annotation text is spilled to an
 * unlinked temporary file in OUTDIR, so memory stays bounded on any split size.
 */
#ifndef CITYSCAPES_H
#define CITYSCAPES_H

#include <stddef.h>
#include <stdint.h>
#include "qn_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cs_options {
    const char *root;
    const char *outdir;              /* NULL: ROOT/annotations (created if missing) */
    const char *const *splits;       /* NULL: train, val, test, those present */
    size_t nsplits;
    int threads;                     /* <= 0: all online CPUs */
    int contiguous_ids;              /* category ids 1..8 instead of 24..33 */
    size_t start_id;                 /* first image and annotation id (MMDetection: 0) */
    int from_polygons;               /* rasterise *_gtFine_polygons.json instead */
    int skip_missing;                /* skip (and count) bad or missing GT files */
    int allow_8bit;                  /* accept 8-bit greyscale instanceIds */
} cs_options;

typedef struct cs_stats {
    size_t splits, images, annotations, crowd, skipped;
} cs_stats;

/* Called from the thread that called cs_convert. Any member may be NULL. */
typedef struct cs_callbacks {
    void *ctx;
    void (*split_start)(void *ctx, const char *split, size_t nimages);
    void (*image_done)(void *ctx, size_t done, size_t total);
    void (*skipped)(void *ctx, const char *message); /* one line, per skipped input */
} cs_callbacks;

/* Converts every split. QN_OK (stats filled; st->skipped > 0 means exit 1), or an
 * error with one line in err naming the file at fault. */
int cs_convert(const cs_options *o, const cs_callbacks *cb, cs_stats *st, qn_error *err);

/* ---- pieces, exposed for the unit tests ---- */

typedef struct cs_ann {
    uint32_t pixel_id;       /* the instanceIds value */
    int category_id;         /* raw Cityscapes id (or 1..8 with contiguous ids) */
    int iscrowd;
    uint64_t area;
    double bbox[4];
    char *counts;            /* compressed RLE string, malloc'd */
} cs_ann;

typedef struct cs_anns {
    size_t n, cap;
    cs_ann *a;
} cs_anns;

/* Appends the annotations of one label image (row-major h×w ids) to out, in
 * ascending pixel id. A pixel id whose label is not a Cityscapes id (>= 34 and
 * < 1000, or >= 34000) is QN_EINPUT naming `name` (MMDetection raises KeyError). */
int cs_annotate(const uint16_t *px, uint32_t w, uint32_t h, int contiguous_ids,
                cs_anns *out, const char *name, qn_error *err);
/* Frees the strings and empties the list (keeps its capacity); cs_anns_free frees all. */
void cs_anns_clear(cs_anns *l);
void cs_anns_free(cs_anns *l);

#ifdef __cplusplus
}
#endif
#endif
