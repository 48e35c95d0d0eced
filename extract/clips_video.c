/* clips_video.c — one video file: id, idempotency and duplicate checks, probe, metadata,
 * captions, filters, and its own store batch (a kill loses at most the video in flight).
 */
#include "extract/clips.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Appends s as a JSON string to out[*n..size). */
static void json_str(char *out, size_t size, size_t *n, const char *s)
{
    if (*n + 2 >= size)
        return;
    out[(*n)++] = '"';
    for (; *s && *n + 8 < size; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            out[(*n)++] = '\\';
            out[(*n)++] = (char)ch;
        } else if (ch < 0x20) {
            *n += (size_t)snprintf(out + *n, size - *n, "\\u%04x", ch);
        } else {
            out[(*n)++] = (char)ch;
        }
    }
    out[(*n)++] = '"';
    out[*n] = '\0';
}

static void json_key(char *out, size_t size, size_t *n, const char *key)
{
    if (*n + 2 < size) {
        char sep = *n ? ',' : '{';
        out[(*n)++] = sep;
    }
    json_str(out, size, n, key);
    if (*n + 1 < size)
        out[(*n)++] = ':';
    out[*n] = '\0';
}

/* {"captions": SOURCE, "charset": ..., "rolling": true, "warnings": N, "categories": [...]} */
static void build_meta_json(char *out, size_t size, const clips_result *r, const cap_track *t,
                            const cap_info *info)
{
    size_t n = 0;
    out[0] = '\0';
    if (r->source[0]) {
        json_key(out, size, &n, "captions");
        json_str(out, size, &n, r->source);
    }
    if (t && t->charset) {
        json_key(out, size, &n, "charset");
        json_str(out, size, &n, t->charset);
    }
    if (t && t->rolling) {
        json_key(out, size, &n, "rolling");
        n += (size_t)snprintf(out + n, size - n, "true");
    }
    if (t && t->n_warnings) {
        json_key(out, size, &n, "warnings");
        n += (size_t)snprintf(out + n, size - n, "%zu", t->n_warnings);
    }
    if (info && info->n_categories) {
        json_key(out, size, &n, "categories");
        for (size_t i = 0; i < info->n_categories && n + 8 < size; i++) {
            out[n++] = i ? ',' : '[';
            json_str(out, size, &n, info->categories[i]);
        }
        if (n + 2 < size)
            out[n++] = ']';
    }
    if (n && n + 2 < size) {
        out[n++] = '}';
        out[n] = '\0';
    } else {
        out[0] = '\0';
    }
}

void clips_split_path(const char *path, char *dir, size_t dsize, char *stem, size_t ssize)
{
    const char *b = strrchr(path, '/');
    if (b)
        snprintf(dir, dsize, "%.*s", (int)(b - path ? b - path : 1), path);
    else
        snprintf(dir, dsize, ".");
    b = b ? b + 1 : path;
    const char *dot = strchr(b, '.');
    snprintf(stem, ssize, "%.*s", (int)(dot ? (size_t)(dot - b) : strlen(b)), b);
}

/* A dry run stores nothing, so duplicates within the run are found here: 1 when `id` was
 * seen before (*first = its path). */
static int dry_duplicate(clips_ctx *c, const char *id, const char *path, const char **first,
                         qn_error *err)
{
    int created;
    if (!c->dry_ids && !(c->dry_ids = clips_map_new(sizeof(char *))))
        return qn_error_set(err, QN_ENOMEM, "out of memory");
    const char **slot = clips_map_put(c->dry_ids, id, strlen(id), &created);
    if (!slot)
        return qn_error_set(err, QN_ENOMEM, "out of memory");
    if (created && !(*slot = clips_map_strdup(c->dry_ids, path, strlen(path))))
        return qn_error_set(err, QN_ENOMEM, "out of memory");
    *first = *slot;
    return !created;
}

static int dry_check(clips_ctx *c, const char *path, char *id, size_t idsize, clips_result *r,
                     qn_error *err)
{
    const char *first = "";
    if (!c->o.dry_run)
        return QN_OK;
    int rc = dry_duplicate(c, id, path, &first, err);
    if (rc <= 0)
        return rc;
    clips_setf(r->reason, sizeof r->reason, "duplicate id %s (already stored from %s)", id, first);
    r->why = CLIPS_WHY_DUPLICATE;
    char dup[256];
    if ((rc = clips_dup_id(c, id, dup, sizeof dup, err)) != QN_OK)
        return rc;
    clips_setf(id, idsize, "%s", dup);
    return QN_OK;
}

/* Looks the path and the id up: sets *existing (row to update), r->status = CLIPS_SKIPPED,
 * or marks a duplicate (r->why) with a fresh ext_id in `id`. */
/* The path stored for a video: absolute, so that quern-features finds the file from any
 * working directory (cron, a cluster job). Symbolic links are kept as given; a leading
 * "./" is dropped. Left as given when the working directory cannot be known. */
static void absolute_path(const char *path, char *out, size_t n)
{
    char cwd[4096];
    while (path[0] == '.' && path[1] == '/')
        for (path += 2; *path == '/'; path++) {}
    if (path[0] == '/' || !getcwd(cwd, sizeof cwd) ||
        (size_t)snprintf(out, n, "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "", path) >= n)
        snprintf(out, n, "%s", path);
}

/* A row an older quern stored with a relative path, for this file: found by the path
 * as given (same spelling), or by its id with the same size and mtime (not by its name
 * alone: two directories may hold different videos of one id, and the second is a
 * duplicate). Its path becomes the absolute one. */
static int legacy_row(const qn_store_video *v, const struct stat *sb)
{
    return v->path && v->path[0] != '/' && v->size == (int64_t)sb->st_size &&
           v->mtime_ns == (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
}

static int repath(clips_ctx *c, qn_store_video *v, const char *path, qn_error *err)
{
    if (!strcmp(v->path, path) || c->o.dry_run) /* a dry run's store is read-only */
        return QN_OK;
    v->path = path;
    return qn_store_video_update(c->store, v, err);
}

static int check_store(clips_ctx *c, const char *path, const char *given, const struct stat *sb,
                       char *id, size_t idsize, int64_t *existing, int *attach,
                       clips_result *r, qn_error *err)
{
    qn_store_video v;
    int found, rc;
    *existing = 0;
    *attach = 0;
    if (!c->store)
        return dry_check(c, path, id, idsize, r, err);
    rc = qn_store_video_find_path(c->store, path, &v, &found, err);
    if (rc == QN_OK && !found && strcmp(path, given)) /* stored as given by an older quern */
        rc = qn_store_video_find_path(c->store, given, &v, &found, err);
    if (rc != QN_OK)
        return rc;
    if (!found && (rc = qn_store_video_find(c->store, id, &v, &found, err)) == QN_OK && found &&
        !legacy_row(&v, sb))
        found = 0;  /* the id's row is another file's: handled below */
    if (rc != QN_OK)
        return rc;
    if (found) {
        if (v.size == (int64_t)sb->st_size &&
            v.mtime_ns == (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec) {
            if ((rc = repath(c, &v, path, err)) != QN_OK)
                return rc;
            r->status = CLIPS_SKIPPED;
            clips_setf(r->ext_id, sizeof r->ext_id, "%s", v.ext_id);
            clips_setf(r->reason, sizeof r->reason, "unchanged since stored");
            return QN_OK;
        }
        *existing = v.id; /* changed: processed again into the same row */
        if (strchr(v.ext_id, '#')) { /* a recorded duplicate stays one */
            snprintf(id, idsize, "%s", v.ext_id);
            clips_setf(r->reason, sizeof r->reason, "%s", v.reason ? v.reason : "duplicate id");
            r->why = CLIPS_WHY_DUPLICATE;
        }
        return QN_OK;
    }
    if ((rc = qn_store_video_find(c->store, id, &v, &found, err)) != QN_OK)
        return rc;
    if (!found)
        return dry_check(c, path, id, idsize, r, err);
    if (!v.path) { /* a caption-only import of this id: the file completes it */
        *existing = v.id;
        *attach = 1;
        return QN_OK;
    }
    clips_setf(r->reason, sizeof r->reason, "duplicate id %s (already stored from %s)", id, v.path);
    r->why = CLIPS_WHY_DUPLICATE;
    char dup[256];
    if ((rc = clips_dup_id(c, id, dup, sizeof dup, err)) != QN_OK)
        return rc;
    snprintf(id, idsize, "%s", dup);
    return QN_OK;
}

/* The clips a caption-only import stored for this video, back into c->track (raw text, so
 * they are cleaned and clamped to the now known duration like any other source). 1 when
 * there were some. */
static int load_stored(clips_ctx *c, int64_t video_id, clips_result *r, qn_error *err)
{
    qn_clip_iter *it;
    qn_store_clip k;
    int rc = qn_store_clip_iter(c->store, video_id, &it, err), n = 0;
    if (rc != QN_OK)
        return rc;
    cap_track_reset(c->track);
    while ((rc = qn_store_clip_next(it, &k, err)) == 1) {
        const char *raw = k.raw ? k.raw : k.clean ? k.clean : "";
        if (cap_track_add(c->track, k.start, k.end, raw, strlen(raw), CAP_SRC_PLAIN, 0) != QN_OK) {
            rc = qn_error_set(err, QN_ENOMEM, "out of memory");
            break;
        }
        n++;
    }
    qn_store_clip_iter_free(it);
    if (rc < 0)
        return rc;
    if (n)
        clips_setf(r->source, sizeof r->source, "caption-only import");
    return n > 0;
}

static int commit_video(clips_ctx *c, qn_store_video *v, int64_t existing, const cap_track *t,
                        clips_result *r, qn_error *err)
{
    if (!c->store || c->o.dry_run)
        return clips_store_video(c, v, existing, t, r, err);
    int rc = qn_store_begin(c->store, err);
    if (rc != QN_OK)
        return rc;
    rc = clips_store_video(c, v, existing, t, r, err);
    if (rc == QN_OK)
        rc = qn_store_commit(c->store, err);
    if (rc != QN_OK)
        qn_store_rollback(c->store, NULL);
    return rc;
}

static void reject(qn_store_video *v, clips_result *r, int why)
{
    v->status = QN_VIDEO_REJECTED;
    r->why = why;
}

int clips_video(clips_ctx *c, const char *given, clips_result *r, qn_error *err)
{
    char dir[4096], stem[256], id[256], warn[600] = "", meta_json[4096], path[4096];
    absolute_path(given, path, sizeof path);
    cap_info info;
    struct stat sb;
    memset(r, 0, sizeof *r);
    clips_split_path(path, dir, sizeof dir, stem, sizeof stem);
    clips_setf(r->ext_id, sizeof r->ext_id, "%s", stem);
    if (stat(path, &sb) < 0)
        return qn_error_errno(err, QN_EINPUT, errno, "%s", path);
    clips_read_info(dir, stem, &info, warn, sizeof warn);
    snprintf(id, sizeof id, "%s", info.id && *info.id ? info.id : stem);
    int64_t existing = 0;
    int attach = 0;
    int rc = check_store(c, path, given, &sb, id, sizeof id, &existing, &attach, r, err);
    if (rc != QN_OK || r->status == CLIPS_SKIPPED)
        goto end;
    clips_setf(r->ext_id, sizeof r->ext_id, "%s", id);

    qn_store_video v;
    qn_store_video_init(&v);
    v.ext_id = id;
    v.path = path;
    v.size = (int64_t)sb.st_size;
    v.mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    v.views = info.view_count >= 0 ? info.view_count : QN_STORE_UNKNOWN;
    v.title = info.title;
    if (info.n_categories)
        v.category1 = info.categories[0];
    clips_apply_meta(c, id, &v);
    if (r->why == CLIPS_WHY_DUPLICATE)
        reject(&v, r, CLIPS_WHY_DUPLICATE);

    char sha[65];
    if (c->o.sha256 && v.status == QN_VIDEO_PENDING) {
        if ((rc = clips_sha256(path, sha, err)) != QN_OK)
            goto end;
        v.sha256 = sha;
    }
    clips_probe_info pi;
    const cap_track *t = NULL;
    if (v.status == QN_VIDEO_PENDING && clips_probe(path, &pi, r->reason, sizeof r->reason) < 0) {
        v.status = QN_VIDEO_FAILED;
    } else if (v.status == QN_VIDEO_PENDING) {
        v.duration = pi.duration > 0 ? pi.duration : info.duration > 0 ? info.duration : -1;
        v.fps = pi.fps;
        v.width = pi.width;
        v.height = pi.height;
        v.codec = pi.codec;
        int why = clips_filter_meta(&c->o, &v, r);
        if (why != CLIPS_WHY_NONE)
            reject(&v, r, why);
        else {
            rc = clips_find_captions(c, path, dir, stem, id, pi.n_subs, r, err);
            if (rc == 0 && attach)
                rc = load_stored(c, existing, r, err);
            if (rc < 0)
                goto end;
            if (rc == 0) {
                clips_setf(r->reason, sizeof r->reason, "no captions");
                reject(&v, r, CLIPS_WHY_NO_CAPTIONS);
            } else if (rc == CLIPS_UNUSABLE) {
                reject(&v, r, r->why);
            } else {
                cap_track_finish(c->track, v.duration);
                if ((rc = cap_track_filter(c->track)) != QN_OK) {
                    rc = qn_error_set(err, rc, "out of memory");
                    goto end;
                }
                t = c->track;
                r->stats = t->stats;
                r->n_warnings = t->n_warnings;
                if (t->n_warnings)
                    clips_setf(r->warning, sizeof r->warning, "%s", t->warnings[0]);
            }
            rc = QN_OK;
        }
    }
    if (warn[0]) {
        r->n_warnings++;
        if (!r->warning[0])
            clips_setf(r->warning, sizeof r->warning, "%s", warn);
    }
    build_meta_json(meta_json, sizeof meta_json, r, t, &info);
    v.meta_json = meta_json[0] ? meta_json : NULL;
    rc = commit_video(c, &v, existing, t, r, err);
end:
    cap_info_free(&info);
    return rc;
}
