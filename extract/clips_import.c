/* clips_import.c — caption-only import: a HowTo100M caption.json streamed entry by entry
 * (memory bounded by one entry) into video rows + clips, o->batch videos per commit (one
 * commit per video would spend the run in fdatasync); a kill loses at most the batch in
 * flight, and a re-run skips the ids already stored.
 */
#include "extract/clips.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct import {
    clips_ctx *c;
    void (*each)(void *ud, const clips_result *r, uint64_t offset);
    void *ud;
    int in_batch, n_batch;
    int lost;          /* a batch was dropped (rolled back or its commit failed) */
    clips_map *seen;   /* id -> entries of it so far in this file */
} import;

static int flush(import *im, qn_error *err)
{
    if (!im->in_batch)
        return QN_OK;
    im->in_batch = 0;
    im->n_batch = 0;
    int rc = qn_store_commit(im->c->store, err);
    im->lost = rc != QN_OK;
    return rc;
}

static int one_entry(import *im, const cap_json_video *jv, clips_result *r, qn_error *err)
{
    clips_ctx *c = im->c;
    char id[256], dup[256];
    int rc, found = 0, created;
    snprintf(id, sizeof id, "%.*s", (int)(jv->id_len < 255 ? jv->id_len : 255), jv->id);
    clips_setf(r->ext_id, sizeof r->ext_id, "%s", id);
    clips_setf(r->source, sizeof r->source, "caption.json line %llu", (unsigned long long)jv->line);
    /* The k-th entry of an id (k >= 2) is the duplicate "ID#k": the same name on every run,
     * so a re-run finds it stored and skips it like the first. */
    int *count = clips_map_put(im->seen, id, strlen(id), &created);
    if (!count)
        return qn_error_set(err, QN_ENOMEM, "out of memory");
    int k = ++*count;
    if (k > 1)
        snprintf(dup, sizeof dup, "%s#%d", id, k);
    qn_store_video v;
    qn_store_video_init(&v);
    v.ext_id = k > 1 ? dup : id;
    snprintf(r->ext_id, sizeof r->ext_id, "%s", v.ext_id);
    if (c->store) {
        qn_store_video old;
        if ((rc = qn_store_video_find(c->store, v.ext_id, &old, &found, err)) != QN_OK)
            return rc;
    }
    if (found) { /* stored by an earlier run: nothing to do */
        r->status = CLIPS_SKIPPED;
        snprintf(r->reason, sizeof r->reason, "already stored");
        return QN_OK;
    }
    if (k > 1) {
        snprintf(r->reason, sizeof r->reason, "duplicate id %s (caption.json line %llu)", id,
                 (unsigned long long)jv->line);
        r->why = CLIPS_WHY_DUPLICATE;
        v.status = QN_VIDEO_REJECTED;
    }
    clips_apply_meta(c, id, &v);
    cap_track *t = c->track;
    cap_track_reset(t);
    if (v.status == QN_VIDEO_PENDING && jv->problem) {
        clips_setf(r->reason, sizeof r->reason, "%s:%llu: %s", c->o.caption_json,
                 (unsigned long long)jv->line, jv->problem);
        r->why = CLIPS_WHY_BAD_CAPTIONS;
        v.status = QN_VIDEO_REJECTED;
    }
    if (v.status == QN_VIDEO_PENDING && (r->why = clips_filter_meta(&c->o, &v, r)) != 0)
        v.status = QN_VIDEO_REJECTED;
    if (v.status == QN_VIDEO_PENDING) {
        for (size_t i = 0; i < jv->n; i++)
            if (cap_track_add(t, jv->start[i], jv->end[i], jv->text[i], jv->text_len[i],
                              CAP_SRC_PLAIN, 0) != QN_OK)
                return qn_error_set(err, QN_ENOMEM, "out of memory");
        cap_track_finish(t, -1);
        if (cap_track_filter(t) != QN_OK)
            return qn_error_set(err, QN_ENOMEM, "out of memory");
        r->stats = t->stats;
    }
    char meta_json[600];
    snprintf(meta_json, sizeof meta_json, "{\"captions\":\"caption.json\",\"line\":%llu}",
             (unsigned long long)jv->line);
    v.meta_json = meta_json;
    if (c->store && !c->o.dry_run && !im->in_batch) {
        if ((rc = qn_store_begin(c->store, err)) != QN_OK)
            return rc;
        im->in_batch = 1;
    }
    rc = clips_store_video(c, &v, 0, v.status == QN_VIDEO_PENDING ? t : NULL, r, err);
    if (rc == QN_OK && im->in_batch && ++im->n_batch >= c->o.batch)
        rc = flush(im, err);
    return rc;
}

static int entry_cb(void *ud, const cap_json_video *jv, qn_error *err)
{
    import *im = ud;
    clips_result r;
    memset(&r, 0, sizeof r);
    int rc = one_entry(im, jv, &r, err);
    if (rc == QN_OK && im->each)
        im->each(im->ud, &r, jv->offset);
    return rc;
}

int clips_import_json(clips_ctx *c, const char *path,
                      void (*each)(void *ud, const clips_result *r, uint64_t offset), void *ud,
                      int *unstored, qn_error *err)
{
    import im = {c, each, ud, 0, 0, 0, NULL};
    *unstored = 0;
    if (c->o.batch < 1)
        c->o.batch = 1;
    if (!(im.seen = clips_map_new(sizeof(int))))
        return qn_error_set(err, QN_ENOMEM, "out of memory");
    int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
    if (fd < 0) {
        clips_map_free(im.seen);
        return qn_error_errno(err, errno == ENOENT ? QN_EINPUT : QN_EENV, errno, "%s", path);
    }
    int rc = cap_json_stream_fd(fd, path, entry_cb, &im, NULL, err);
    if (fd > 0)
        close(fd);
    if (rc == QN_OK)
        rc = flush(&im, err);
    else if (im.in_batch && rc == QN_EINPUT && qn_store_commit(c->store, NULL) == QN_OK)
        ; /* malformed JSON further on: the entries before it are good, keep them */
    else if (im.in_batch) {
        qn_store_rollback(c->store, NULL);
        im.lost = 1;
    }
    *unstored = im.lost;
    clips_map_free(im.seen);
    return rc;
}
