/* cityscapes_json.h — the JSON text MMDetection's converter writes (mmengine dump =
 * json.dump: separators ", " and ": ", ensure_ascii, no indent, no trailing newline),
 * piece by piece, so a streaming writer can produce it byte for byte. */
#ifndef CITYSCAPES_JSON_H
#define CITYSCAPES_JSON_H

#include <stdint.h>
#include <stdio.h>
#include "cityscapes.h"

/* A JSON string as Python's json.dumps(ensure_ascii=True) writes it: \" \\ \n \r \t
 * \b \f, other bytes < 0x20 and every code point >= 0x7f as \u00XX / \uXXXX (surrogate
 * pairs above U+FFFF, lowercase hex); bytes that are not valid UTF-8 as \udcXX, which
 * is what Python's file-name decoding (surrogateescape) then json.dump give. */
void cs_json_string(FILE *f, const char *s);

/* {"file_name": "<city>/<name>", "height": H, "width": W, "segm_file": "...", "id": N} */
void cs_json_image(FILE *f, const char *file_name, const char *segm_file, uint32_t h,
                   uint32_t w, size_t id);

/* {"iscrowd": 0, "category_id": 26, "bbox": [x.0, ...], "area": A,
 *  "segmentation": {"size": [H, W], "counts": "..."}, "image_id": I, "id": N} */
void cs_json_ann(FILE *f, const cs_ann *a, uint32_t h, uint32_t w, size_t image_id,
                 size_t id);

/* [{"id": 24, "name": "person"}, ...] (ids 1..8 with contiguous ids) */
void cs_json_categories(FILE *f, int contiguous_ids);

#endif
