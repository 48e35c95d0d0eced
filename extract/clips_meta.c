/* clips_meta.c — the side inputs held in memory: HowTo100M_v1.csv (all rows: 1.2 M ids is
 * ~100 MB, the lookups of a caption-only import need them all) and, for video runs with
 * --caption-json, the caption.json entries of just the videos given (streamed once); and
 * a video's info.json.
 */
#include "extract/clips.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int clips_read_file(const char *path, char **buf, size_t *len, qn_error *err)
{
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return qn_error_errno(err, errno == ENOENT ? QN_EINPUT : QN_EENV, errno, "%s", path);
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return qn_error_set(err, QN_EINPUT, "%s: not a regular file", path);
    }
    char *b = malloc((size_t)sb.st_size + 1);
    if (!b) {
        close(fd);
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory reading it", path);
    }
    size_t got = 0;
    while (got < (size_t)sb.st_size) {
        ssize_t r = read(fd, b + got, (size_t)sb.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = errno;
            free(b);
            close(fd);
            return qn_error_errno(err, QN_EENV, r < 0 ? e : EIO, "%s: read", path);
        }
        got += (size_t)r;
    }
    close(fd);
    b[got] = '\0';
    *buf = b;
    *len = got;
    return QN_OK;
}

/* ---- HowTo100M_v1.csv ------------------------------------------------------------------- */

static int meta_row(void *ud, const cap_meta_row *row, qn_error *err)
{
    clips_map *m = ud;
    int created;
    clips_meta *v = clips_map_put(m, row->video_id, strlen(row->video_id), &created);
    if (!v)
        return qn_error_set(err, QN_ENOMEM, "out of memory loading metadata");
    if (!created)
        return QN_OK; /* first row of an id wins */
    v->category1 = row->category_1 && *row->category_1
                       ? clips_map_strdup(m, row->category_1, strlen(row->category_1)) : NULL;
    v->category2 = row->category_2 && *row->category_2
                       ? clips_map_strdup(m, row->category_2, strlen(row->category_2)) : NULL;
    v->rank = row->rank;
    v->task_id = row->task_id;
    return QN_OK;
}

int clips_meta_load(const char *path, clips_map **out, qn_error *err)
{
    char *buf;
    size_t len;
    *out = NULL;
    int rc = clips_read_file(path, &buf, &len, err);
    if (rc != QN_OK)
        return rc;
    clips_map *m = clips_map_new(sizeof(clips_meta));
    if (!m) {
        free(buf);
        return qn_error_set(err, QN_ENOMEM, "out of memory loading %s", path);
    }
    rc = cap_meta_csv_parse(path, buf, len, meta_row, m, NULL, err);
    free(buf);
    if (rc != QN_OK) {
        clips_map_free(m);
        return rc;
    }
    *out = m;
    return QN_OK;
}

void clips_apply_meta(clips_ctx *c, const char *id, qn_store_video *v)
{
    const clips_meta *m = c->meta ? clips_map_get(c->meta, id, strlen(id)) : NULL;
    if (!m)
        return;
    if (m->category1)
        v->category1 = m->category1;
    if (m->category2)
        v->category2 = m->category2;
    if (m->rank >= 0)
        v->rank = (int32_t)(m->rank > INT32_MAX ? INT32_MAX : m->rank);
    if (m->task_id >= 0)
        v->task_id = m->task_id;
}

/* ---- info.json ---------------------------------------------------------------------------- */

void clips_read_info(const char *dir, const char *stem, cap_info *info, char *warn, size_t wsize)
{
    char file[4096];
    clips_setf(file, sizeof file, "%s/%s.info.json", dir, stem);
    struct stat sb;
    memset(info, 0, sizeof *info);
    info->duration = -1;
    info->view_count = -1;
    if (stat(file, &sb) < 0)
        return;
    char *buf;
    size_t len;
    qn_error e;
    qn_error_clear(&e);
    if (clips_read_file(file, &buf, &len, &e) == QN_OK) {
        if (cap_info_parse(info, file, buf, len, &e) != QN_OK) {
            cap_info_free(info);
            memset(info, 0, sizeof *info);
            info->duration = -1;
            info->view_count = -1;
        }
        free(buf);
    }
    if (e.status != QN_OK)
        clips_setf(warn, wsize, "%s (metadata ignored)", e.msg);
}

/* ---- caption.json entries of the videos given ------------------------------------------- */

typedef struct preload {
    clips_map *ids;   /* the stems wanted */
    clips_map *out;
} preload;

static int keep_entry(void *ud, const cap_json_video *jv, qn_error *err)
{
    preload *p = ud;
    if (!clips_map_get(p->ids, jv->id, jv->id_len))
        return QN_OK;
    int created;
    clips_json_entry *e = clips_map_put(p->out, jv->id, jv->id_len, &created);
    if (!e)
        return qn_error_set(err, QN_ENOMEM, "out of memory keeping caption.json entries");
    if (!created)
        return QN_OK; /* a repeated key: the first wins */
    size_t n = jv->n;
    e->n = n;
    e->problem = jv->problem ? clips_map_strdup(p->out, jv->problem, strlen(jv->problem)) : NULL;
    e->start = clips_map_alloc(p->out, n * sizeof(double) + 1);
    e->end = clips_map_alloc(p->out, n * sizeof(double) + 1);
    e->text = clips_map_alloc(p->out, n * sizeof(char *) + 1);
    e->len = clips_map_alloc(p->out, n * sizeof(size_t) + 1);
    if (!e->start || !e->end || !e->text || !e->len)
        return qn_error_set(err, QN_ENOMEM, "out of memory keeping caption.json entries");
    for (size_t i = 0; i < n; i++) {
        e->start[i] = jv->start[i];
        e->end[i] = jv->end[i];
        e->len[i] = jv->text_len[i];
        if (!(e->text[i] = clips_map_strdup(p->out, jv->text[i], jv->text_len[i])))
            return qn_error_set(err, QN_ENOMEM, "out of memory keeping caption.json entries");
    }
    return QN_OK;
}

/* Wants key as a caption.json id. */
static int want_id(clips_map *ids, const char *key)
{
    int created;
    return clips_map_put(ids, key, strlen(key), &created) ? 0 : -1;
}

int clips_ctx_preload_json(clips_ctx *c, char *const *paths, size_t n, qn_error *err)
{
    preload p = {clips_map_new(sizeof(char)), clips_map_new(sizeof(clips_json_entry))};
    int rc = QN_ENOMEM;
    if (!p.ids || !p.out)
        goto fail;
    for (size_t i = 0; i < n; i++) { /* clips_find_captions asks for the info.json id, then the stem */
        char dir[4096], stem[256], warn[600];
        cap_info info;
        clips_split_path(paths[i], dir, sizeof dir, stem, sizeof stem);
        clips_read_info(dir, stem, &info, warn, sizeof warn);
        int bad = want_id(p.ids, stem) < 0 || (info.id && *info.id && want_id(p.ids, info.id) < 0);
        cap_info_free(&info);
        if (bad)
            goto fail;
    }
    int fd = strcmp(c->o.caption_json, "-") ? open(c->o.caption_json, O_RDONLY | O_CLOEXEC) : 0;
    if (fd < 0) {
        rc = qn_error_errno(err, errno == ENOENT ? QN_EINPUT : QN_EENV, errno, "%s",
                            c->o.caption_json);
        goto fail;
    }
    rc = cap_json_stream_fd(fd, c->o.caption_json, keep_entry, &p, NULL, err);
    if (fd > 0)
        close(fd);
    if (rc != QN_OK)
        goto fail;
    clips_map_free(p.ids);
    c->json = p.out;
    return QN_OK;
fail:
    if (rc == QN_ENOMEM)
        qn_error_set(err, QN_ENOMEM, "out of memory reading %s", c->o.caption_json);
    clips_map_free(p.ids);
    clips_map_free(p.out);
    return rc;
}
