/* cityscapes_poly.h — gtFine_polygons.json to an instanceIds image, as cityscapesScripts'
 * json2instanceImg makes it: objects drawn in file order with Pillow's
 * ImageDraw.polygon (later ones over earlier ones), `deleted` objects skipped,
 * '<label>group' objects drawn with the bare label id (crowd), every other object of
 * an instance class as label*1000 + k (k counted per label in file order, including
 * objects later painted over), 'license plate' (id -1) not drawn, background 0.
 *
 * The fill is a port of Pillow 13.0's polygon_generic (src/libImaging/Draw.c): integer
 * vertices (Python floats truncated toward zero, as _draw_polygon does), scanlines at
 * integer y with float intersections, spans from ROUND_UP(left) to ROUND_DOWN(right),
 * horizontal edges drawn, its corner-joining fix-ups included. Pillow changed this
 * algorithm several times (Pillow issues #6275: 8.0.4 -> 9.0.0, #6290: 9.1.0, #6908:
 * 6.2.1 vs 9.3.0), so the instanceIds PNGs shipped with Cityscapes (made with an old
 * Pillow) can differ from a re-rasterisation by boundary pixels: use the PNG route
 * when the PNGs exist. Tested pixel-exact against Pillow 13.0 on random polygons
 * (integer and fractional vertices, runs of horizontal edges, self-intersections,
 * vertices far outside the image). Vertices are limited to +-1e6.
 */
#ifndef CITYSCAPES_POLY_H
#define CITYSCAPES_POLY_H

#include <stddef.h>
#include <stdint.h>
#include "qn_error.h"

/* A reusable label image (grows as needed; owned by the caller's worker). */
typedef struct cs_canvas {
    uint32_t w, h;
    uint16_t *px;   /* h*w ids, row-major */
    size_t cap;     /* elements allocated */
} cs_canvas;

void cs_canvas_free(cs_canvas *c);

/* Fills polygon xy[0..2n) (integer vertices) with ink, exactly as Pillow's
 * ImageDraw.polygon(xy, fill=ink) on a mode-I image clipped to w×h. n >= 2.
 * Returns QN_OK or QN_ENOMEM. */
int cs_poly_fill(uint16_t *px, uint32_t w, uint32_t h, const int *xy, size_t n, uint16_t ink);

/* Reads path and renders it into c (sized from imgWidth × imgHeight). Errors name the
 * file, and the object index where one is at fault (jansson line:column for syntax). */
int cs_poly_render(const char *path, cs_canvas *c, qn_error *err);

#endif
