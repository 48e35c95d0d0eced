/* store_featfile.c — one feature file: its 4096-byte header (FORMAT.md §3), appends,
 * truncation of the uncommitted tail, and read-only mappings for zero-copy reads. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_internal.h"

static const char magic[8] = {'Q', 'U', 'E', 'R', 'N', 'F', 'T', 0};

static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static void put_str(unsigned char *p, size_t size, const char *v)
{
    if (v)
        memcpy(p, v, strnlen(v, size - 1));
}

static void build_header(const qn_store *s, const qn_fset *fs, unsigned char *h)
{
    memset(h, 0, STORE_HEADER_SIZE);
    memcpy(h, magic, 8);
    put32(h + 8, STORE_FEAT_VERSION);
    put32(h + 12, STORE_HEADER_SIZE);
    put32(h + 16, (uint32_t)fs->dtype);
    put32(h + 20, (uint32_t)fs->dim);
    put32(h + 24, (uint32_t)fs->row_bytes);
    put32(h + 28, (uint32_t)fs->kind);
    put64(h + 32, (uint64_t)fs->id);
    memcpy(h + 40, &fs->rate, 8);
    put64(h + 48, (uint64_t)time(NULL));
    memcpy(h + 56, s->uuid, 36);
    put_str(h + 96, 64, fs->name);
    put_str(h + 160, 128, fs->model);
    put_str(h + 288, 72, fs->weights);
}

static int write_all(int fd, const void *buf, size_t n, off_t off)
{
    const char *p = buf;
    while (n) {
        ssize_t w = pwrite(fd, p, n, off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (w == 0) {
            errno = ENOSPC;
            return -1;
        }
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

static int fsync_dir(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* A new file (any earlier file of that name is an orphan of a batch that never committed:
 * replaced). Header written and fsync'd, with its directory, before the set's row commits. */
int store_featfile_create(qn_store *s, qn_fset *fs, qn_error *err)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/features", s->dir);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return qn_error_errno(err, QN_EENV, errno, "%s: cannot create", dir);
    /* the orphan is unlinked, not truncated: were it a link, its target would go */
    if (unlink(fs->path) != 0 && errno != ENOENT)
        return qn_error_errno(err, QN_EENV, errno, "%s: cannot replace", fs->path);
    int fd = open(fs->path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0)
        return qn_error_errno(err, QN_EENV, errno, "%s: cannot create", fs->path);
    unsigned char h[STORE_HEADER_SIZE];
    build_header(s, fs, h);
    if (write_all(fd, h, sizeof h, 0) != 0 || fsync(fd) != 0 || fsync_dir(fs->path) != 0) {
        int e = errno;
        close(fd);
        unlink(fs->path);
        return qn_error_errno(err, QN_EENV, e, "%s: cannot write the header", fs->path);
    }
    fs->fd = fd;
    return QN_OK;
}

/* 0 when the header matches the set's row and the store; else why (one phrase). */
int store_featfile_check_header(qn_store *s, qn_fset *fs, char *why, size_t whylen)
{
    unsigned char h[STORE_HEADER_SIZE];
    ssize_t n = pread(fs->fd, h, sizeof h, 0);
    if (n != (ssize_t)sizeof h) {
        snprintf(why, whylen, "truncated header (%zd of %d bytes)", n < 0 ? 0 : n,
                 STORE_HEADER_SIZE);
        return -1;
    }
    double rate;
    memcpy(&rate, h + 40, 8);
    const char *bad = NULL;
    char num[96];
    if (memcmp(h, magic, 8) != 0)
        bad = "bad magic (not a quern feature file)";
    else if (get32(h + 8) != STORE_FEAT_VERSION)
        snprintf(num, sizeof num, "format version %u, expected %d", get32(h + 8),
                 STORE_FEAT_VERSION), bad = num;
    else if (get32(h + 12) != STORE_HEADER_SIZE)
        bad = "bad header size";
    else if (get32(h + 16) != (uint32_t)fs->dtype)
        snprintf(num, sizeof num, "dtype %u in the file, %s in meta.db", get32(h + 16),
                 store_dtype_name(fs->dtype)), bad = num;
    else if (get32(h + 20) != (uint32_t)fs->dim)
        snprintf(num, sizeof num, "dim %u in the file, %d in meta.db", get32(h + 20), fs->dim),
            bad = num;
    else if (get32(h + 24) != (uint32_t)fs->row_bytes)
        bad = "row size differs from meta.db";
    else if (get32(h + 28) != (uint32_t)fs->kind)
        bad = "kind differs from meta.db";
    else if ((int64_t)get64(h + 32) != fs->id)
        snprintf(num, sizeof num, "feature set id %lld in the file, %lld in meta.db",
                 (long long)get64(h + 32), (long long)fs->id), bad = num;
    else if (memcmp(h + 56, s->uuid, 36) != 0)
        bad = "belongs to another store (uuid differs)";
    else if (rate != fs->rate)
        bad = "rate differs from meta.db";
    if (bad) {
        snprintf(why, whylen, "%s", bad);
        return -1;
    }
    return 0;
}

static int64_t file_rows(const qn_fset *fs, off_t size)
{
    return size < STORE_HEADER_SIZE ? -1 : (int64_t)((size - STORE_HEADER_SIZE) / fs->row_bytes);
}

int store_featfile_open(qn_store *s, qn_fset *fs, qn_error *err)
{
    /* O_NONBLOCK (no effect on a regular file): a FIFO in its place must not hang */
    fs->fd = open(fs->path, (s->writable ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_CLOEXEC);
    if (fs->fd < 0)
        return qn_error_errno(err, errno == ENOENT ? QN_EINPUT : QN_EENV, errno,
                              "%s: feature set '%s'", fs->path, fs->name);
    struct stat sb;
    if (fstat(fs->fd, &sb) != 0)
        return qn_error_errno(err, QN_EENV, errno, "%s", fs->path);
    if (!S_ISREG(sb.st_mode))
        return qn_error_set(err, QN_EINPUT, "%s: feature set '%s': not a regular file",
                            fs->path, fs->name);
    char why[160];
    if (store_featfile_check_header(s, fs, why, sizeof why) != 0)
        return qn_error_set(err, QN_EINPUT, "%s: %s", fs->path, why);
    if (file_rows(fs, sb.st_size) < fs->committed)
        return qn_error_set(err, QN_EINPUT,
                            "%s: truncated feature file: %lld bytes hold %lld rows, meta.db "
                            "says %lld are committed", fs->path, (long long)sb.st_size,
                            (long long)file_rows(fs, sb.st_size), (long long)fs->committed);
    if (s->writable)
        return store_featfile_truncate(fs, err);
    return QN_OK;
}

int store_featfile_truncate(qn_fset *fs, qn_error *err)
{
    off_t want = STORE_HEADER_SIZE + (off_t)fs->committed * (off_t)fs->row_bytes;
    struct stat sb;
    if (fstat(fs->fd, &sb) != 0)
        return qn_error_errno(err, QN_EENV, errno, "%s", fs->path);
    if (sb.st_size == want)
        return QN_OK;
    if (ftruncate(fs->fd, want) != 0 || fdatasync(fs->fd) != 0)
        return qn_error_errno(err, QN_EENV, errno, "%s: cannot truncate the uncommitted tail",
                              fs->path);
    return QN_OK;
}

int store_featfile_append(qn_fset *fs, const void *rows, int in_dtype, int64_t n,
                          int64_t *first_row, qn_error *err)
{
    int64_t first = fs->committed + fs->pending;
    off_t off = STORE_HEADER_SIZE + (off_t)first * (off_t)fs->row_bytes;
    size_t total = (size_t)n * fs->row_bytes;
    int rc = 0;
    if (in_dtype == fs->dtype) {
        rc = write_all(fs->fd, rows, total, off);
    } else {
        /* convert in chunks of ~1 MiB so a large append does not double its memory */
        size_t per = fs->row_bytes, in_per = (size_t)fs->dim * qn_dtype_size(in_dtype);
        int64_t chunk = (int64_t)(1048576 / per) + 1;
        char *buf = malloc((size_t)chunk * per);
        if (!buf)
            return qn_error_set(err, QN_ENOMEM, "%s: out of memory", fs->path);
        for (int64_t i = 0; i < n && !rc; i += chunk) {
            int64_t k = n - i < chunk ? n - i : chunk;
            store_convert(buf, fs->dtype, (const char *)rows + (size_t)i * in_per, in_dtype,
                          (size_t)k * (size_t)fs->dim);
            rc = write_all(fs->fd, buf, (size_t)k * per, off + (off_t)i * (off_t)per);
        }
        free(buf);
    }
    if (rc)
        return qn_error_errno(err, QN_EENV, errno, "%s: cannot append %lld rows", fs->path,
                              (long long)n);
    fs->pending += n;
    fs->dirty = 1;
    if (first_row)
        *first_row = first;
    return QN_OK;
}

/* Maps the whole file as it is now. Called with fs->mu held. */
static int remap(qn_fset *fs, int64_t need, qn_error *err)
{
    struct stat sb;
    if (fstat(fs->fd, &sb) != 0)
        return qn_error_errno(err, QN_EENV, errno, "%s", fs->path);
    int64_t rows = file_rows(fs, sb.st_size);
    if (rows < need)
        return qn_error_set(err, QN_EINPUT,
                            "%s: truncated feature file: row %lld wanted, the file holds %lld",
                            fs->path, (long long)need - 1, (long long)rows);
    size_t len = STORE_HEADER_SIZE + (size_t)rows * fs->row_bytes;
    void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fs->fd, 0);
    if (p == MAP_FAILED)
        return qn_error_errno(err, QN_EENV, errno, "%s: mmap", fs->path);
    if (fs->cur.base) {
        if (fs->n_old == fs->cap_old) {
            int cap = fs->cap_old ? fs->cap_old * 2 : 4;
            store_map *o = realloc(fs->old, (size_t)cap * sizeof *o);
            if (!o) {
                munmap(p, len);
                return qn_error_set(err, QN_ENOMEM, "%s: out of memory", fs->path);
            }
            fs->old = o;
            fs->cap_old = cap;
        }
        fs->old[fs->n_old++] = fs->cur;
    }
    fs->cur = (store_map){p, len, rows};
    return QN_OK;
}

int store_featfile_rows(qn_fset *fs, int64_t first, int64_t n, const void **out, qn_error *err)
{
    int rc = QN_OK;
    pthread_mutex_lock(&fs->mu);
    if (first + n > fs->cur.rows)
        rc = remap(fs, first + n, err);
    if (!rc)
        *out = (const char *)fs->cur.base + STORE_HEADER_SIZE + (size_t)first * fs->row_bytes;
    pthread_mutex_unlock(&fs->mu);
    return rc;
}

void store_featfile_close(qn_fset *fs)
{
    if (fs->cur.base)
        munmap(fs->cur.base, fs->cur.len);
    for (int i = 0; i < fs->n_old; i++)
        munmap(fs->old[i].base, fs->old[i].len);
    free(fs->old);
    fs->old = NULL;
    fs->cur.base = NULL;
    if (fs->fd >= 0)
        close(fs->fd);
    fs->fd = -1;
}
