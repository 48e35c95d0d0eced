/* clips_captions.c — find a video's captions: sidecar file, embedded stream, caption.json
 * entry or MIL-NCE CSV, first found wins (or the one --captions names), into c->track.
 */
#include "extract/clips.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Parses one caption file; 1 parsed, 0 absent, CLIPS_UNUSABLE (r says why), else a status. */
static int parse_file(clips_ctx *c, const char *file, enum cap_format fmt, clips_result *r,
                      qn_error *err)
{
    struct stat sb;
    if (stat(file, &sb) < 0 || !S_ISREG(sb.st_mode))
        return 0;
    char *buf;
    size_t len;
    qn_error e;
    qn_error_clear(&e);
    int rc = clips_read_file(file, &buf, &len, &e);
    if (rc == QN_OK) {
        rc = cap_parse(c->track, fmt, file, buf, len, &c->o.cap, &e);
        free(buf);
    }
    if (rc == QN_ENOMEM)
        return qn_error_set(err, rc, "%s", e.msg);
    if (rc != QN_OK) {
        clips_setf(r->reason, sizeof r->reason, "%s", e.msg);
        r->why = CLIPS_WHY_BAD_CAPTIONS;
        return CLIPS_UNUSABLE;
    }
    return 1;
}

static int from_sidecar(clips_ctx *c, const char *dir, const char *stem, clips_result *r,
                        qn_error *err)
{
    const char *lang = c->o.sub_lang && *c->o.sub_lang ? c->o.sub_lang : NULL;
    char file[4096];
    struct { const char *ext; int with_lang; enum cap_format fmt; } cand[] = {
        {"vtt", 1, CAP_FMT_VTT}, {"vtt", 0, CAP_FMT_VTT}, {"srt", 1, CAP_FMT_SRT},
        {"srt", 0, CAP_FMT_SRT}, {"ass", 1, CAP_FMT_ASS}, {"ass", 0, CAP_FMT_ASS},
        {"ssa", 0, CAP_FMT_ASS},
    };
    for (size_t i = 0; i < sizeof cand / sizeof cand[0]; i++) {
        if (cand[i].with_lang && !lang)
            continue;
        if (cand[i].with_lang)
            snprintf(file, sizeof file, "%s/%s.%s.%s", dir, stem, lang, cand[i].ext);
        else
            snprintf(file, sizeof file, "%s/%s.%s", dir, stem, cand[i].ext);
        int rc = parse_file(c, file, cand[i].fmt, r, err);
        if (rc != 0) {
            const char *b = strrchr(file, '/');
            clips_setf(r->source, sizeof r->source, "sidecar %s", b ? b + 1 : file);
            return rc;
        }
    }
    return 0;
}

static int from_embedded(clips_ctx *c, const char *path, clips_result *r, qn_error *err)
{
    char why[512];
    int rc = clips_embedded(path, c->o.sub_lang, c->o.cap.charenc, c->track, r->source,
                            sizeof r->source, why, sizeof why);
    if (rc < 0) {
        clips_setf(r->reason, sizeof r->reason, "%s: embedded subtitles: %s", path, why);
        r->why = CLIPS_WHY_BAD_CAPTIONS;
        return CLIPS_UNUSABLE;
    }
    if (rc > 0 && !c->o.cap.no_dedupe && cap_youtube_is_rolling(c->track) &&
        cap_youtube_dedupe(c->track, c->o.cap.span) != QN_OK)
        return qn_error_set(err, QN_ENOMEM, "out of memory");
    return rc;
}

static int from_json(clips_ctx *c, const char *id, clips_result *r, qn_error *err)
{
    clips_json_entry *e = c->json ? clips_map_get(c->json, id, strlen(id)) : NULL;
    if (!e)
        return 0;
    clips_setf(r->source, sizeof r->source, "caption.json %s", id);
    if (e->problem) {
        clips_setf(r->reason, sizeof r->reason, "%s: %s: %s", c->o.caption_json, id, e->problem);
        r->why = CLIPS_WHY_BAD_CAPTIONS;
        return CLIPS_UNUSABLE;
    }
    for (size_t i = 0; i < e->n; i++)
        if (cap_track_add(c->track, e->start[i], e->end[i], e->text[i], e->len[i],
                          CAP_SRC_PLAIN, 0) != QN_OK)
            return qn_error_set(err, QN_ENOMEM, "out of memory");
    return 1;
}

static int from_csv(clips_ctx *c, const char *id, clips_result *r, qn_error *err)
{
    if (!c->o.caption_csv_dir)
        return 0;
    char file[4096];
    snprintf(file, sizeof file, "%s/%s.csv", c->o.caption_csv_dir, id);
    int rc = parse_file(c, file, CAP_FMT_CSV, r, err);
    if (rc != 0)
        clips_setf(r->source, sizeof r->source, "csv %s", file);
    return rc;
}

int clips_find_captions(clips_ctx *c, const char *path, const char *dir, const char *stem,
                        const char *id, int n_subs, clips_result *r, qn_error *err)
{
    int want = c->o.captions, rc = 0;
    cap_track_reset(c->track);
    cap_track_set_opts(c->track, &c->o.cap);
    if ((want == CLIPS_SRC_ANY || want == CLIPS_SRC_SIDECAR) &&
        (rc = from_sidecar(c, dir, stem, r, err)) != 0)
        return rc;
    if ((want == CLIPS_SRC_ANY || want == CLIPS_SRC_EMBEDDED) && n_subs > 0 &&
        (rc = from_embedded(c, path, r, err)) != 0)
        return rc;
    if ((want == CLIPS_SRC_ANY || want == CLIPS_SRC_JSON) &&
        ((rc = from_json(c, id, r, err)) != 0 ||
         (strcmp(id, stem) && (rc = from_json(c, stem, r, err)) != 0)))
        return rc;
    if ((want == CLIPS_SRC_ANY || want == CLIPS_SRC_CSV) &&
        ((rc = from_csv(c, id, r, err)) != 0 ||
         (strcmp(id, stem) && (rc = from_csv(c, stem, r, err)) != 0)))
        return rc;
    return 0;
}
