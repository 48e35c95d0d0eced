/* imgsize.c — header-only image sizes (see imgsize.h).
 *
 * Reads go through a small window over either a memory buffer or a file
 * descriptor (pread), so a JPEG whose frame header sits after a large EXIF or
 * ICC block costs a few reads, never the whole file.
 */
#include "imgsize.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WIN 65536 /* one window holds any JPEG segment (max 65535 bytes) */

typedef struct src {
    const uint8_t *mem; /* memory mode: the whole buffer */
    size_t memlen;
    int fd;             /* file mode */
    uint8_t *win;       /* file mode: WIN+2 bytes holding [base, base+len) */
    uint64_t base;
    size_t len;
    int io_errno;       /* set when pread failed (not EOF) */
} src;

/* Makes [off, off+n) available and returns a pointer to it, or NULL when the
 * data ends first (truncated) or a read fails (io_errno set). n <= WIN. */
static const uint8_t *get(src *s, uint64_t off, size_t n)
{
    if (s->mem)
        return off <= s->memlen && n <= s->memlen - off ? s->mem + off : NULL;
    if (off >= s->base && off + n <= s->base + s->len)
        return s->win + (off - s->base);
    s->base = off;
    s->len = 0;
    /* most headers fit in the first 4 KiB; read more only for big segments */
    size_t want = n > 4096 ? n : 4096;
    while (s->len < want) {
        ssize_t r = pread(s->fd, s->win + s->len, want - s->len, (off_t)(off + s->len));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            s->io_errno = errno;
            return NULL;
        }
        if (r == 0)
            break;
        s->len += (size_t)r;
    }
    return n <= s->len ? s->win : NULL;
}

static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t tiff16(const uint8_t *p, int le) { return le ? (uint32_t)p[1] << 8 | p[0] : be16(p); }
static uint32_t tiff32(const uint8_t *p, int le)
{
    return le ? (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0] : be32(p);
}

int imgsize_exif_orientation(const uint8_t *p, size_t n)
{
    if (n < 14 || memcmp(p, "Exif\0\0", 6) != 0)
        return 1;
    const uint8_t *t = p + 6; /* TIFF header; offsets are relative to it */
    size_t tn = n - 6;
    int le;
    if (t[0] == 'I' && t[1] == 'I')
        le = 1;
    else if (t[0] == 'M' && t[1] == 'M')
        le = 0;
    else
        return 1;
    if (tiff16(t + 2, le) != 42)
        return 1;
    uint32_t ifd = tiff32(t + 4, le);
    if (ifd > tn || tn - ifd < 2)
        return 1;
    uint32_t count = tiff16(t + ifd, le);
    for (uint32_t i = 0; i < count; i++) {
        size_t e = (size_t)ifd + 2 + (size_t)i * 12;
        if (e + 12 > tn)
            return 1;
        if (tiff16(t + e, le) != 0x0112)
            continue;
        /* SHORT, count 1: the value sits in the first two bytes of the field */
        if (tiff16(t + e + 2, le) != 3 || tiff32(t + e + 4, le) != 1)
            return 1;
        uint32_t o = tiff16(t + e + 8, le);
        return o >= 1 && o <= 8 ? (int)o : 1;
    }
    return 1;
}

static int fail(src *s, const char *name, qn_error *err, const char *what)
{
    if (s->io_errno)
        return qn_error_set(err, QN_EINPUT, "%s: reading the header: %s", name, strerror(s->io_errno));
    return qn_error_set(err, QN_EINPUT, "%s: %s", name, what);
}

/* SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size. */
static int is_sof(int m) { return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC; }

static int probe_jpeg(src *s, const char *name, imgsize_info *out, qn_error *err)
{
    uint64_t off = 2;
    int orientation = 1;
    for (;;) {
        const uint8_t *p = get(s, off, 2);
        if (!p)
            return fail(s, name, err, "truncated JPEG (no frame header)");
        if (p[0] != 0xFF)
            return fail(s, name, err, "corrupt JPEG (marker expected)");
        int m = p[1];
        if (m == 0xFF) { /* fill byte before a marker */
            off += 1;
            continue;
        }
        off += 2;
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD8))
            continue; /* standalone markers have no length */
        if (m == 0xD9 || m == 0xDA)
            return fail(s, name, err, "JPEG has no frame header before its scan");
        if (!(p = get(s, off, 2)))
            return fail(s, name, err, "truncated JPEG (no frame header)");
        uint32_t len = be16(p);
        if (len < 2)
            return fail(s, name, err, "corrupt JPEG (segment length < 2)");
        if (is_sof(m)) {
            if (len < 8 || !(p = get(s, off + 2, 5)))
                return fail(s, name, err, "truncated JPEG frame header");
            uint32_t h = be16(p + 1), w = be16(p + 3);
            if (w == 0 || h == 0)
                return fail(s, name, err, "JPEG frame header has zero width or height (DNL not supported)");
            out->kind = IMGSIZE_JPEG;
            out->raw_width = w;
            out->raw_height = h;
            out->orientation = orientation;
            return QN_OK;
        }
        if (m == 0xE1 && orientation == 1 && (p = get(s, off + 2, len - 2)))
            orientation = imgsize_exif_orientation(p, len - 2);
        off += len;
    }
}

static int probe_png(src *s, const char *name, imgsize_info *out, qn_error *err)
{
    const uint8_t *p = get(s, 8, 16);
    if (!p)
        return fail(s, name, err, "truncated PNG (no IHDR)");
    if (be32(p) != 13 || memcmp(p + 4, "IHDR", 4) != 0)
        return fail(s, name, err, "corrupt PNG (IHDR is not the first chunk)");
    uint32_t w = be32(p + 8), h = be32(p + 12);
    if (w == 0 || h == 0 || w > 0x7fffffffu || h > 0x7fffffffu)
        return fail(s, name, err, "PNG IHDR has an invalid width or height");
    out->kind = IMGSIZE_PNG;
    out->raw_width = w;
    out->raw_height = h;
    out->orientation = 1;
    return QN_OK;
}

static int probe(src *s, const char *name, imgsize_info *out, qn_error *err)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    memset(out, 0, sizeof *out);
    const uint8_t *p = get(s, 0, 2);
    int rc;
    if (p && p[0] == 0xFF && p[1] == 0xD8)
        rc = probe_jpeg(s, name, out, err);
    else if ((p = get(s, 0, 8)) && memcmp(p, png_sig, 8) == 0)
        rc = probe_png(s, name, out, err);
    else
        return fail(s, name, err, "not a JPEG or PNG file");
    if (rc != QN_OK)
        return rc;
    int swap = out->orientation >= 5;
    out->width = swap ? out->raw_height : out->raw_width;
    out->height = swap ? out->raw_width : out->raw_height;
    return QN_OK;
}

int imgsize_probe_mem(const uint8_t *buf, size_t n, const char *name, imgsize_info *out,
                      qn_error *err)
{
    src s = {.mem = buf ? buf : (const uint8_t *)"", .memlen = buf ? n : 0, .fd = -1};
    return probe(&s, name, out, err);
}

int imgsize_probe(const char *path, imgsize_info *out, qn_error *err)
{
    /* O_NONBLOCK: a FIFO named like an image must not hang the run (opening it would
     * wait for a writer); only regular files (and their headers) are images here */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) /* unreadable is bad input here, not an environment failure */
        return qn_error_set(err, QN_EINPUT, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)) {
        close(fd);
        return qn_error_set(err, QN_EINPUT, "%s: not a regular file", path);
    }
    src s = {.fd = fd, .win = malloc(WIN)};
    int rc;
    if (!s.win)
        rc = qn_error_set(err, QN_ENOMEM, "%s: out of memory", path);
    else
        rc = probe(&s, path, out, err);
    free(s.win);
    close(fd);
    return rc;
}
