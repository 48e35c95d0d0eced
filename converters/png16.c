/* png16.c — 16-bit greyscale PNG decoding: own chunk walk + libdeflate + unfiltering,
 * libspng for the rare files the fast path does not take. See png16.h. */
#include "png16.h"

#include <errno.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <spng.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

struct qn_png16 {
    struct libdeflate_decompressor *inflater;
    uint8_t *file;  size_t file_cap;   /* the whole PNG file */
    uint8_t *idat;  size_t idat_cap;   /* concatenated IDAT payloads */
    uint8_t *raw;   size_t raw_cap;    /* inflated, filtered scanlines */
    uint16_t *px;   size_t px_cap;     /* decoded samples, libspng path (bytes) */
    uint8_t *rows;  size_t rows_cap;   /* two unfiltered rows (fast path) */
    const uint16_t *out;               /* the decoded image: in raw or px */
    uint16_t zero_below;               /* samples < this decode as 0 (0: off) */
};

typedef struct ihdr {
    uint32_t w, h;
    unsigned depth, color, interlace;
} ihdr;

static const uint8_t PNG_SIG[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

qn_png16 *qn_png16_new(void)
{
    qn_png16 *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->inflater = libdeflate_alloc_decompressor();
    if (!d->inflater) {
        free(d);
        return NULL;
    }
    return d;
}

void qn_png16_free(qn_png16 *d)
{
    if (!d)
        return;
    libdeflate_free_decompressor(d->inflater);
    free(d->file);
    free(d->idat);
    free(d->raw);
    free(d->px);
    free(d->rows);
    free(d);
}

void qn_png16_zero_below(qn_png16 *d, uint16_t v)
{
    d->zero_below = v;
}

/* Grows *buf to at least n bytes (contents kept up to the old capacity). */
static int reserve(void **buf, size_t *cap, size_t n)
{
    if (n <= *cap)
        return 0;
    size_t c = *cap ? *cap : 4096;
    while (c < n)
        c = c > SIZE_MAX / 2 ? n : c * 2;
    void *p = realloc(*buf, c);
    if (!p)
        return -1;
    *buf = p;
    *cap = c;
    return 0;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The chunk type for a message, non-letters shown as '?'. */
static const char *ctype(const uint8_t *t, char out[5])
{
    for (int i = 0; i < 4; i++)
        out[i] = (t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' && t[i] <= 'z') ? (char)t[i] : '?';
    out[4] = '\0';
    return out;
}

int qn_png16_read_file(qn_png16 *d, const char *path, unsigned flags, qn_png16_image *img,
                       qn_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return qn_error_errno(err, QN_EINPUT, errno, "%s", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return qn_error_errno(err, QN_EINPUT, e, "%s", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return qn_error_set(err, QN_EINPUT, "%s: not a regular file", path);
    }
    size_t n = 0, want = (size_t)st.st_size + 1; /* +1 to notice growth while reading */
    if (reserve((void **)&d->file, &d->file_cap, want) != 0) {
        close(fd);
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (n == d->file_cap && reserve((void **)&d->file, &d->file_cap, n + 65536) != 0) {
            close(fd);
            return qn_error_set(err, QN_ENOMEM, "%s: out of memory", path);
        }
        ssize_t r = read(fd, d->file + n, d->file_cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            return qn_error_errno(err, QN_EINPUT, e, "%s: read", path);
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    return qn_png16_read_mem(d, d->file, n, path, flags, img, err);
}

static const char *color_name(unsigned c)
{
    switch (c) {
    case 0: return "greyscale";
    case 2: return "RGB";
    case 3: return "palette";
    case 4: return "greyscale+alpha";
    case 6: return "RGBA";
    default: return "unknown colour type";
    }
}

static int check_ihdr(const uint8_t *p, ihdr *h, const char *name, qn_error *err)
{
    h->w = be32(p);
    h->h = be32(p + 4);
    h->depth = p[8];
    h->color = p[9];
    h->interlace = p[12];
    if (h->w == 0 || h->h == 0 || h->w > 0x7fffffffu || h->h > 0x7fffffffu)
        return qn_error_set(err, QN_EINPUT, "%s: bad PNG size %ux%u", name, h->w, h->h);
    if (p[10] != 0 || p[11] != 0 || h->interlace > 1)
        return qn_error_set(err, QN_EINPUT, "%s: bad PNG header (compression %u, filter %u, "
                            "interlace %u)", name, p[10], p[11], h->interlace);
    int ok;
    switch (h->color) {
    case 0: ok = h->depth == 1 || h->depth == 2 || h->depth == 4 || h->depth == 8 ||
                 h->depth == 16; break;
    case 3: ok = h->depth == 1 || h->depth == 2 || h->depth == 4 || h->depth == 8; break;
    case 2: case 4: case 6: ok = h->depth == 8 || h->depth == 16; break;
    default: ok = 0;
    }
    if (!ok)
        return qn_error_set(err, QN_EINPUT, "%s: bad PNG header (colour type %u, bit depth %u)",
                            name, h->color, h->depth);
    if ((uint64_t)h->w * h->h > QN_PNG16_MAX_PIXELS)
        return qn_error_set(err, QN_EINPUT, "%s: image too large (%ux%u)", name, h->w, h->h);
    return QN_OK;
}

/* Walks the chunks: checks the signature, every CRC, IHDR first, IDATs consecutive,
 * IEND present; concatenates the IDAT payloads into d->idat. */
static int walk_chunks(qn_png16 *d, const uint8_t *buf, size_t n, const char *name, ihdr *h,
                       size_t *idat_n, qn_error *err)
{
    if (n < 8 || memcmp(buf, PNG_SIG, 8) != 0)
        return qn_error_set(err, QN_EINPUT, "%s: not a PNG file", name);
    size_t pos = 8, nidat = 0;
    int seen_ihdr = 0, idat_state = 0; /* 0 none yet, 1 in the IDAT run, 2 after it */
    for (;;) {
        if (n - pos < 12)
            return qn_error_set(err, QN_EINPUT, "%s: truncated PNG (no IEND chunk)", name);
        uint32_t len = be32(buf + pos);
        const uint8_t *type = buf + pos + 4, *data = buf + pos + 8;
        char tn[5];
        if (len > 0x7fffffffu || n - pos - 12 < len)
            return qn_error_set(err, QN_EINPUT, "%s: truncated PNG (chunk %.4s at byte %zu "
                                "needs %u bytes)", name, ctype(type, tn), pos, len);
        uint32_t crc = (uint32_t)libdeflate_crc32(0, type, 4 + (size_t)len);
        if (crc != be32(data + len))
            return qn_error_set(err, QN_EINPUT, "%s: bad CRC in chunk %.4s at byte %zu", name,
                                ctype(type, tn), pos);
        if (!seen_ihdr) {
            if (memcmp(type, "IHDR", 4) != 0 || len != 13)
                return qn_error_set(err, QN_EINPUT, "%s: PNG does not start with IHDR", name);
            int rc = check_ihdr(data, h, name, err);
            if (rc)
                return rc;
            seen_ihdr = 1;
        } else if (memcmp(type, "IDAT", 4) == 0) {
            if (idat_state == 2)
                return qn_error_set(err, QN_EINPUT, "%s: IDAT chunks not consecutive", name);
            idat_state = 1;
            if (reserve((void **)&d->idat, &d->idat_cap, nidat + len + 1) != 0)
                return qn_error_set(err, QN_ENOMEM, "%s: out of memory", name);
            memcpy(d->idat + nidat, data, len);
            nidat += len;
        } else if (memcmp(type, "IEND", 4) == 0) {
            break;
        } else if (memcmp(type, "IHDR", 4) == 0) {
            return qn_error_set(err, QN_EINPUT, "%s: second IHDR chunk", name);
        } else if (!(type[0] & 0x20) && memcmp(type, "PLTE", 4) != 0) {
            /* an unknown critical chunk: the spec says stop */
            return qn_error_set(err, QN_EINPUT, "%s: unknown critical chunk %.4s", name,
                                ctype(type, tn));
        } else if (idat_state == 1) {
            idat_state = 2;
        }
        pos += 12 + (size_t)len;
    }
    if (!nidat)
        return qn_error_set(err, QN_EINPUT, "%s: PNG has no image data (no IDAT)", name);
    *idat_n = nidat;
    return QN_OK;
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c;
    int pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    if (pa <= pb && pa <= pc)
        return a;
    return pb <= pc ? b : c;
}

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* The 8 bytes that repeat the sample (pair of bytes) just before p. */
static uint64_t repeat_pair(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p - 2, 2);
    return v * 0x0001000100010001ull;
}

/* Instance images are long runs of one id, so most filtered bytes are 0. Where 8
 * filtered bytes are 0 and the predictor is known to be the left sample (Sub
 * always; Paeth when the row above is flat there, since b == c makes the predictor
 * a; Average when the row above equals the left sample), the 8 output bytes just
 * repeat the left sample: one 8-byte store instead of 8 dependent byte steps. */
static int flat_run(unsigned type, uint64_t v, const uint8_t *src, const uint8_t *prev,
                    size_t i)
{
    if (load64(src + i) != 0)
        return 0;
    if (type == 1)
        return 1;
    if (type == 4)
        return load64(prev + i) == load64(prev + i - 2);
    return load64(prev + i) == v; /* Average */
}

/* Undoes one row's filter: cur = unfiltered(src) given prev, the row above
 * unfiltered (all zeros above the first row); rb bytes, 2 bytes per sample. */
static void unfilter_row(unsigned type, uint8_t *cur, const uint8_t *src,
                         const uint8_t *prev, size_t rb)
{
    size_t i = 0;
    if (type == 0) {
        memcpy(cur, src, rb);
        return;
    }
    if (type == 2) { /* Up */
#ifdef __SSE2__
        for (; i + 16 <= rb; i += 16) {
            __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
            __m128i b = _mm_loadu_si128((const __m128i *)(prev + i));
            _mm_storeu_si128((__m128i *)(cur + i), _mm_add_epi8(a, b));
        }
#endif
        for (; i < rb; i++)
            cur[i] = (uint8_t)(src[i] + prev[i]);
        return;
    }
    /* the first sample has no left neighbour (a = c = 0) */
    for (i = 0; i < 2 && i < rb; i++)
        cur[i] = (uint8_t)(src[i] + (type == 1 ? 0 : type == 3 ? prev[i] >> 1 : prev[i]));
    while (i < rb) {
        uint64_t v = repeat_pair(cur + i);
        if (i + 8 <= rb && flat_run(type, v, src, prev, i)) {
            /* v stays in a register for the whole run: no store-to-load chain */
            do {
                memcpy(cur + i, &v, 8);
                i += 8;
            } while (i + 8 <= rb && flat_run(type, v, src, prev, i));
            continue;
        }
        size_t end = i + 8 < rb ? i + 8 : rb;
        for (; i < end; i++) {
            int a = cur[i - 2], p;
            if (type == 1)
                p = a;
            else if (type == 3)
                p = (a + prev[i]) >> 1;
            else
                p = paeth(a, prev[i], prev[i - 2]);
            cur[i] = (uint8_t)(src[i] + p);
        }
    }
}

/* Big-endian samples to host order; samples below zb (if zb > 0) become 0. */
static void store_row(uint16_t *out, const uint8_t *r, uint32_t w, uint16_t zb)
{
    uint32_t x = 0;
#ifdef __SSE2__
    const __m128i below = _mm_set1_epi16((short)(uint16_t)(zb ? zb - 1 : 0)), zero = _mm_setzero_si128();
    for (; x + 8 <= w; x += 8) {
        __m128i v = _mm_loadu_si128((const __m128i *)(r + 2 * x));
        v = _mm_or_si128(_mm_slli_epi16(v, 8), _mm_srli_epi16(v, 8));
        if (zb) /* v - (zb-1) saturates to 0 exactly when v < zb */
            v = _mm_andnot_si128(_mm_cmpeq_epi16(_mm_subs_epu16(v, below), zero), v);
        _mm_storeu_si128((__m128i *)(out + x), v);
    }
#endif
    for (; x < w; x++) {
        uint16_t v = (uint16_t)(r[2 * x] << 8 | r[2 * x + 1]);
        out[x] = v < zb ? 0 : v;
    }
}

/* Inflates into d->raw, then unfilters row by row through two small row buffers and
 * writes the samples back into d->raw itself: output row y, at byte 2*w*y, ends
 * before filtered row y+1 starts (at (2*w+1)*(y+1)+1) and only overlaps input that
 * was already read, so one buffer serves both and the image is touched while warm. */
static int decode_fast(qn_png16 *d, size_t idat_n, const ihdr *h, const char *name,
                       qn_error *err)
{
    size_t rb = (size_t)h->w * 2, raw_n = (rb + 1) * h->h;
    if (reserve((void **)&d->raw, &d->raw_cap, raw_n) != 0 ||
        reserve((void **)&d->rows, &d->rows_cap, 2 * rb) != 0)
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", name);
    size_t got_in = 0, got_out = 0;
    enum libdeflate_result r = libdeflate_zlib_decompress_ex(d->inflater, d->idat, idat_n,
                                                             d->raw, raw_n, &got_in, &got_out);
    if (r == LIBDEFLATE_INSUFFICIENT_SPACE)
        return qn_error_set(err, QN_EINPUT, "%s: more image data than %ux%u needs", name,
                            h->w, h->h);
    if (r != LIBDEFLATE_SUCCESS)
        return qn_error_set(err, QN_EINPUT, "%s: corrupt or truncated image data (IDAT)",
                            name);
    if (got_out != raw_n)
        return qn_error_set(err, QN_EINPUT, "%s: truncated image data (%zu of %zu bytes)",
                            name, got_out, raw_n);
    uint8_t *prev = d->rows, *cur = d->rows + rb;
    uint16_t *out = (uint16_t *)(void *)d->raw;
    memset(prev, 0, rb);
    for (uint32_t y = 0; y < h->h; y++) {
        const uint8_t *row = d->raw + (size_t)y * (rb + 1);
        if (row[0] > 4)
            return qn_error_set(err, QN_EINPUT, "%s: bad filter type %u on row %u", name,
                                row[0], y);
        unfilter_row(row[0], cur, row + 1, prev, rb);
        store_row(out + (size_t)y * h->w, cur, h->w, d->zero_below);
        uint8_t *t = prev;
        prev = cur;
        cur = t;
    }
    d->out = out;
    return QN_OK;
}

static int decode_spng(qn_png16 *d, const uint8_t *buf, size_t n, const ihdr *h,
                       const char *name, qn_error *err)
{
    spng_ctx *ctx = spng_ctx_new(0);
    if (!ctx)
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", name);
    int fmt = SPNG_FMT_PNG; /* 16-bit: host order; 8-bit: one byte per sample */
    size_t out_n = 0, npx = (size_t)h->w * h->h;
    int rc = spng_set_png_buffer(ctx, buf, n);
    if (!rc)
        rc = spng_decoded_image_size(ctx, fmt, &out_n);
    if (!rc && out_n != npx * (h->depth == 16 ? 2 : 1))
        rc = SPNG_EINTERNAL;
    if (!rc && (reserve((void **)&d->raw, &d->raw_cap, out_n) != 0 ||
                reserve((void **)&d->px, &d->px_cap, npx * sizeof(uint16_t)) != 0)) {
        spng_ctx_free(ctx);
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", name);
    }
    if (!rc)
        rc = spng_decode_image(ctx, h->depth == 16 ? (void *)d->px : (void *)d->raw, out_n,
                               fmt, 0);
    spng_ctx_free(ctx);
    if (rc)
        return qn_error_set(err, QN_EINPUT, "%s: %s", name, spng_strerror(rc));
    if (h->depth == 8)
        for (size_t i = 0; i < npx; i++)
            d->px[i] = d->raw[i];
    if (d->zero_below)
        for (size_t i = 0; i < npx; i++)
            d->px[i] = d->px[i] < d->zero_below ? 0 : d->px[i];
    d->out = d->px;
    return QN_OK;
}

int qn_png16_read_mem(qn_png16 *d, const uint8_t *buf, size_t n, const char *name,
                      unsigned flags, qn_png16_image *img, qn_error *err)
{
    ihdr h = {0, 0, 0, 0, 0};
    size_t idat_n = 0;
    int rc = walk_chunks(d, buf, n, name, &h, &idat_n, err);
    if (rc)
        return rc;
    if (h.color != 0)
        return qn_error_set(err, QN_EINPUT, "%s: %s PNG, expected 16-bit greyscale", name,
                            color_name(h.color));
    if (h.depth != 16 && !(h.depth == 8 && (flags & QN_PNG16_ALLOW_LOWDEPTH)))
        return qn_error_set(err, QN_EINPUT, "%s: %u-bit greyscale PNG, expected 16-bit "
                            "(instance ids >= 1000 need 16 bits)", name, h.depth);
    if (h.depth == 16 && !h.interlace && !(flags & QN_PNG16_FORCE_SPNG))
        rc = decode_fast(d, idat_n, &h, name, err);
    else
        rc = decode_spng(d, buf, n, &h, name, err);
    if (rc)
        return rc;
    img->w = h.w;
    img->h = h.h;
    img->bit_depth = h.depth;
    img->px = d->out;
    return QN_OK;
}
