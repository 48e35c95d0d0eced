/* store_export.c — exports for tools outside quern: clips as JSONL, HowTo100M caption.json,
 * and features as .npy (the per-video layout of HowTo100M's extractor). Every output file is
 * written through qn_atomic, so a failure leaves no partial file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qn_atomic.h"
#include "store_internal.h"

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF), or 0. */
static int utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    int n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
    if (c >= 0xF5)
        return 0;
    for (int i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) /* also stops at the terminating NUL */
            return 0;
    if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0) || (c == 0xF0 && p[1] < 0x90) ||
        (c == 0xF4 && p[1] >= 0x90))
        return 0;
    return n;
}

/* JSON string with the escapes RFC 8259 requires. Texts come from subtitles as found
 * and may hold bytes that are not UTF-8 (a Latin-1 .srt): each such byte becomes
 * U+FFFD, so every line stays valid JSON. */
static void json_str(FILE *fp, const char *s)
{
    putc('"', fp);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", fp); break;
        case '\\': fputs("\\\\", fp); break;
        case '\n': fputs("\\n", fp); break;
        case '\r': fputs("\\r", fp); break;
        case '\t': fputs("\\t", fp); break;
        default:
            if (*p < 0x20) {
                fprintf(fp, "\\u%04x", *p);
            } else if (*p < 0x80) {
                putc(*p, fp);
            } else {
                int n = utf8_len(p);
                if (n) {
                    fwrite(p, 1, (size_t)n, fp);
                    p += n - 1;
                } else {
                    fputs("\\ufffd", fp);
                }
            }
        }
    }
    putc('"', fp);
}

/* Shortest decimal that reads back to the same double (caption times like 6.02);
 * null for a non-finite value, which JSON cannot write (verify reports those). */
static void json_num(FILE *fp, double v)
{
    char buf[32];
    if (!isfinite(v)) {
        fputs("null", fp);
        return;
    }
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, fp);
}

/* qn_atomic_open, but refusing a target that exists and is not a regular file:
 * renaming the temporary over a device or FIFO (/dev/null, /dev/stdout) would
 * replace it with a regular file. */
static int open_out(qn_atomic *af, const char *path, qn_error *err)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)) {
        memset(af, 0, sizeof *af);
        return qn_error_set(err, QN_EUSAGE, "%s: not a regular file (outputs are written to a "
                            "temporary file renamed over them, which would replace it)", path);
    }
    return qn_atomic_open(af, path, err);
}

static int same_file(const char *path, const struct stat *b)
{
    struct stat a;
    return stat(path, &a) == 0 && a.st_dev == b->st_dev && a.st_ino == b->st_ino;
}

/* Refuses an output in the store's own directories: `--clips DIR/meta.db` would
 * rename a JSONL over the database. `dir` is the directory the output goes to
 * (a missing one is left for qn_atomic_open to report). */
static int outside_store(qn_store *s, const char *dir, const char *what, qn_error *err)
{
    struct stat d;
    char feat[4096];
    snprintf(feat, sizeof feat, "%s/features", s->dir);
    if (stat(dir, &d) == 0 && (same_file(s->dir, &d) || same_file(feat, &d)))
        return qn_error_set(err, QN_EUSAGE, "%s: inside the store %s (exports go elsewhere)",
                            what, s->dir);
    return QN_OK;
}

/* outside_store for a file: checks the directory that holds it. */
static int file_outside_store(qn_store *s, const char *path, qn_error *err)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = 0;
    else
        *slash = 0;
    return outside_store(s, dir, path, err);
}

/* A top-level export file: outside the store, then open_out. */
static int open_export(qn_store *s, qn_atomic *af, const char *path, qn_error *err)
{
    int rc = file_outside_store(s, path, err);
    return rc ? rc : open_out(af, path, err);
}

static int finish(qn_atomic *af, int rc, qn_error *err)
{
    if (rc) {
        qn_atomic_abort(af);
        return rc;
    }
    return qn_atomic_commit(af, err);
}

void qn_store_set_progress(qn_store *s, qn_store_progress_fn cb, void *ctx)
{
    s->progress = cb;
    s->progress_ctx = ctx;
}

/* Calls fn on every video with status ok, reporting progress as `what`. */
static int each_ok_video(qn_store *s, const char *what,
                         int (*fn)(qn_store *, const qn_store_video *, void *, qn_error *),
                         void *ctx, qn_error *err)
{
    int64_t total = 0, done = 0;
    int rc = s->progress ? store_query_int(s, "SELECT count(*) FROM video WHERE status='ok'",
                                           &total, err)
                         : QN_OK;
    qn_video_iter *it = NULL;
    qn_video_filter f = {QN_VIDEO_OK, NULL};
    if (!rc)
        rc = qn_store_video_iter(s, &f, &it, err);
    qn_store_video v;
    int r = 0;
    while (!rc && (r = qn_store_video_next(it, &v, err)) == 1) {
        rc = fn(s, &v, ctx, err);
        if (s->progress)
            s->progress(s->progress_ctx, what, ++done, total);
    }
    if (!rc && r < 0)
        rc = r;
    qn_store_video_iter_free(it);
    return rc;
}

typedef struct jsonl_ctx {
    FILE *fp;
    int64_t n;
    int caption_raw, first;
} jsonl_ctx;

static int jsonl_video(qn_store *s, const qn_store_video *v, void *p, qn_error *err)
{
    jsonl_ctx *c = p;
    qn_clip_iter *it;
    int rc = qn_store_clip_iter(s, v->id, &it, err);
    qn_store_clip cl;
    int r;
    while (!rc && (r = qn_store_clip_next(it, &cl, err)) == 1) {
        fputs("{\"video\":", c->fp);
        json_str(c->fp, v->ext_id);
        fprintf(c->fp, ",\"index\":%d,\"start\":", cl.index);
        json_num(c->fp, cl.start);
        fputs(",\"end\":", c->fp);
        json_num(c->fp, cl.end);
        fputs(",\"raw\":", c->fp);
        json_str(c->fp, cl.raw);
        fputs(",\"clean\":", c->fp);
        json_str(c->fp, cl.clean);
        fputs(",\"filtered\":", c->fp);
        json_str(c->fp, cl.filtered);
        fputs(",\"tokens\":[", c->fp);
        for (int i = 0; i < cl.n_tokens; i++)
            fprintf(c->fp, i ? ",%d" : "%d", cl.tokens[i]);
        fputs("]}\n", c->fp);
        c->n++;
    }
    if (!rc && r < 0)
        rc = r;
    qn_store_clip_iter_free(it);
    return rc;
}

int qn_store_export_jsonl(qn_store *s, const char *out_path, int64_t *n_clips, qn_error *err)
{
    qn_atomic af;
    int rc = open_export(s, &af, out_path, err);
    if (rc)
        return rc;
    jsonl_ctx c = {af.fp, 0, 0, 1};
    rc = each_ok_video(s, "clips", jsonl_video, &c, err);
    if (n_clips)
        *n_clips = c.n;
    return finish(&af, rc, err);
}

static int caption_video(qn_store *s, const qn_store_video *v, void *p, qn_error *err)
{
    jsonl_ctx *c = p;
    FILE *fp = c->fp;
    fputs(c->first ? "\n" : ",\n", fp);
    c->first = 0;
    json_str(fp, v->ext_id);
    /* three passes over the clips keep memory flat: start, end, text */
    const char *keys[3] = {"start", "end", "text"};
    int rc = QN_OK;
    fputs(": {", fp);
    for (int k = 0; k < 3 && !rc; k++) {
        fprintf(fp, "%s\"%s\": [", k ? ", " : "", keys[k]);
        qn_clip_iter *it;
        rc = qn_store_clip_iter(s, v->id, &it, err);
        qn_store_clip cl;
        int r, i = 0;
        while (!rc && (r = qn_store_clip_next(it, &cl, err)) == 1) {
            if (i++)
                fputs(", ", fp);
            if (k == 0)
                json_num(fp, cl.start);
            else if (k == 1)
                json_num(fp, cl.end);
            else
                json_str(fp, c->caption_raw ? cl.clean : cl.filtered);
        }
        if (!rc && r < 0)
            rc = r;
        qn_store_clip_iter_free(it);
        fputc(']', fp);
    }
    fputc('}', fp);
    c->n++;
    return rc;
}

int qn_store_export_caption_json(qn_store *s, const char *out_path, int raw, int64_t *n_videos,
                                 qn_error *err)
{
    qn_atomic af;
    int rc = open_export(s, &af, out_path, err);
    if (rc)
        return rc;
    jsonl_ctx c = {af.fp, 0, raw, 1};
    fputc('{', af.fp);
    rc = each_ok_video(s, "captions", caption_video, &c, err);
    fputs("\n}\n", af.fp);
    if (n_videos)
        *n_videos = c.n;
    return finish(&af, rc, err);
}

/* ---- .npy ---- */

/* NPY 1.0: magic, version, little-endian u16 header length, then a dict padded with spaces
 * and a newline so the data starts at a multiple of 64 bytes. */
static void npy_header(FILE *fp, int dtype, int64_t rows, int32_t dim)
{
    char dict[160];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': "
                     "(%lld, %d), }", dtype == QN_F16 ? "<f2" : "<f4", (long long)rows, dim);
    int total = 10 + n + 1;
    int pad = (64 - total % 64) % 64;
    int hlen = n + pad + 1;
    fwrite("\x93NUMPY\x01\x00", 1, 8, fp);
    fputc(hlen & 0xff, fp);
    fputc(hlen >> 8, fp);
    fwrite(dict, 1, (size_t)n, fp);
    for (int i = 0; i < pad; i++)
        fputc(' ', fp);
    fputc('\n', fp);
}

static int write_npy(const char *path, qn_fset *fs, const void *rows, int64_t n, qn_error *err)
{
    qn_atomic af;
    int rc = open_out(&af, path, err);
    if (rc)
        return rc;
    npy_header(af.fp, fs->dtype, n, fs->dim);
    if (n)
        fwrite(rows, fs->row_bytes, (size_t)n, af.fp);
    return finish(&af, QN_OK, err);
}

/* A video id as a file name: '/', '%' and a leading '.' are percent-encoded, so
 * two ids never share a file (YouTube ids, [A-Za-z0-9_-], are kept as they are).
 * Fails when the name would not fit a file name (NAME_MAX less ".npy"). */
static int safe_name(char *dst, size_t size, const char *src)
{
    size_t n = 0;
    for (const char *p = src; *p; p++) {
        int enc = *p == '/' || *p == '%' || (p == src && *p == '.');
        if (n + (enc ? 3 : 1) + 1 > size)
            return -1;
        if (enc)
            n += (size_t)snprintf(dst + n, size - n, "%%%02X", (unsigned char)*p);
        else
            dst[n++] = *p;
    }
    dst[n] = 0;
    return n ? 0 : -1;
}

typedef struct npy_ctx {
    qn_fset *fs;
    const char *dir;
    int64_t n;
} npy_ctx;

static int npy_video(qn_store *s, const qn_store_video *v, void *p, qn_error *err)
{
    npy_ctx *c = p;
    const void *rows;
    int64_t n;
    int rc = qn_fset_video_rows(s, c->fs, v->id, &rows, &n, err);
    if (rc || !rows)
        return rc;
    char name[252], path[4096]; /* 251 + ".npy" = NAME_MAX */
    if (safe_name(name, sizeof name, v->ext_id) != 0)
        return qn_error_set(err, QN_EINPUT, "%s: video '%.200s': id too long (or empty) for a "
                            "file name", c->dir, v->ext_id);
    snprintf(path, sizeof path, "%s/%s.npy", c->dir, name);
    rc = write_npy(path, c->fs, rows, n, err);
    if (!rc)
        c->n++;
    return rc;
}

static int npy_clips(qn_store *s, qn_fset *fs, const char *dir, int64_t *n_files, qn_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.clips.txt", dir, fs->name);
    qn_atomic list;
    int rc = open_out(&list, path, err);
    if (rc)
        return rc;
    /* gather the rows in clip order into one buffer, then one .npy */
    sqlite3_stmt *st;
    rc = store_prepare(s, "SELECT v.ext_id, r.clip_id - p.first_id, r.row FROM clip_rows r"
                          " JOIN clip_pack p ON p.first_id = " STORE_PACK_FIRST_OF("", "r.clip_id")
                          " JOIN video v ON v.id = p.video_id"
                          " WHERE r.set_id=?1 ORDER BY r.clip_id", &st, err);
    char *buf = NULL;
    int64_t n = 0, cap = 0;
    int r = SQLITE_DONE;
    if (!rc)
        sqlite3_bind_int64(st, 1, fs->id);
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
        const void *row;
        rc = store_featfile_rows(fs, sqlite3_column_int64(st, 2), 1, &row, err);
        if (rc)
            break;
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            char *b = realloc(buf, (size_t)cap * fs->row_bytes);
            if (!b) {
                rc = qn_error_set(err, QN_ENOMEM, "%s: out of memory", path);
                break;
            }
            buf = b;
        }
        memcpy(buf + (size_t)n++ * fs->row_bytes, row, fs->row_bytes);
        fprintf(list.fp, "%s %d\n", sqlite3_column_text(st, 0), sqlite3_column_int(st, 1));
    }
    if (!rc && r != SQLITE_DONE)
        rc = store_sql_err(s, r, err, "export");
    sqlite3_finalize(st);
    snprintf(path, sizeof path, "%s/%s.npy", dir, fs->name);
    if (!rc)
        rc = write_npy(path, fs, buf, n, err);
    free(buf);
    rc = finish(&list, rc, err);
    if (!rc)
        *n_files = 2;
    return rc;
}

/* ---- staging: a failed .npy export leaves OUT_DIR as it was ----
 * The files are written into OUT_DIR/.quern-export.XXXXXX (each through qn_atomic),
 * moved into OUT_DIR only when all of them are written, removed otherwise. */

static int names_of(const char *dir, char ***names, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    size_t cap = 0;
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 256;
            char **v = realloc(*names, cap * sizeof *v);
            if (!v) {
                rc = -1;
                break;
            }
            *names = v;
        }
        if (!((*names)[*n] = strdup(e->d_name)))
            rc = -1;
        else
            (*n)++;
    }
    closedir(d);
    return rc;
}

/* ok: moves every staged file into out_dir (fsync'd); else removes them. Then the
 * staging directory goes. */
static int unstage(const char *stage, const char *out_dir, int ok, qn_error *err)
{
    char **names = NULL;
    size_t n = 0;
    int rc = names_of(stage, &names, &n) ? qn_error_set(err, QN_ENOMEM, "%s: out of memory "
                                                         "listing the export", stage)
                                         : QN_OK;
    char from[4096], to[4096];
    for (size_t i = 0; i < n; i++) {
        snprintf(from, sizeof from, "%s/%s", stage, names[i]);
        snprintf(to, sizeof to, "%s/%s", out_dir, names[i]);
        if (ok && !rc && rename(from, to) != 0)
            rc = qn_error_errno(err, QN_EENV, errno, "%s: cannot move into place", to);
        if (!ok || rc)
            unlink(from);
        free(names[i]);
    }
    free(names);
    rmdir(stage);
    int fd = ok && !rc ? open(out_dir, O_RDONLY | O_DIRECTORY) : -1;
    if (fd >= 0) { /* the renames, durable like every other output */
        fsync(fd);
        close(fd);
    }
    return rc;
}

static int export_npy_into(qn_store *s, qn_fset *fs, const char *dir, int64_t *n_files,
                           qn_error *err)
{
    int rc = QN_OK;
    if (fs->kind == QN_FSET_PER_STEP) {
        npy_ctx c = {fs, dir, 0};
        rc = each_ok_video(s, "features", npy_video, &c, err);
        *n_files = c.n;
        return rc;
    }
    if (fs->kind == QN_FSET_PER_CLIP)
        return npy_clips(s, fs, dir, n_files, err);
    const void *rows = NULL;
    int64_t n = fs->committed;
    if (n)
        rc = store_featfile_rows(fs, 0, n, &rows, err);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.npy", dir, fs->name);
    if (!rc)
        rc = write_npy(path, fs, rows, n, err);
    if (!rc)
        *n_files = 1;
    return rc;
}

int qn_store_export_npy(qn_store *s, qn_fset *fs, const char *out_dir, int64_t *n_files,
                        qn_error *err)
{
    int64_t dummy;
    if (!n_files)
        n_files = &dummy;
    *n_files = 0;
    int made = mkdir(out_dir, 0777) == 0;
    if (!made && errno != EEXIST)
        return qn_error_errno(err, QN_EINPUT, errno, "%s: cannot create", out_dir);
    char stage[3072]; /* + "/" + a file name still fits the 4096-byte paths below */
    int rc = outside_store(s, out_dir, out_dir, err);
    if (!rc && snprintf(stage, sizeof stage, "%s/.quern-export.XXXXXX", out_dir) >=
                   (int)sizeof stage)
        rc = qn_error_set(err, QN_EUSAGE, "%s: path too long", out_dir);
    if (!rc)
        rc = store_fset_refresh(s, fs, err);
    if (!rc && !mkdtemp(stage))
        rc = qn_error_errno(err, QN_EINPUT, errno, "%s: cannot write into it", out_dir);
    else if (!rc) {
        rc = export_npy_into(s, fs, stage, n_files, err);
        rc = unstage(stage, out_dir, rc == QN_OK, err) ?: rc;
    }
    if (rc) {
        *n_files = 0;
        if (made)
            rmdir(out_dir); /* ours, and empty again */
    }
    return rc;
}
