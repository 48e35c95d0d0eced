/* features_seed — test tool: puts a video and its clips into a store through the
 * store API, standing in for quern-clips in tests/test_features_e2e.py.
 *
 *   features_seed DIR EXT_ID VIDEO_PATH CLIPS.txt [STATUS]
 *
 * CLIPS.txt: one clip per line, "START END TEXT" (seconds). STATUS: ok (default),
 * pending, failed. The store is created when absent. Prints the video's store id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qn_error.h"
#include "store/store.h"

static int load(const char *path, qn_store_clip **out, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t cap = 16;
    qn_store_clip *c = calloc(cap, sizeof *c);
    char line[4096];
    *n = 0;
    while (c && fgets(line, sizeof line, f)) {
        double s, e;
        int off = 0;
        if (sscanf(line, "%lf %lf %n", &s, &e, &off) < 2)
            continue;
        if (*n == cap) {
            qn_store_clip *p = realloc(c, 2 * cap * sizeof *c);
            if (!p)
                break;
            c = p;
            cap *= 2;
        }
        line[strcspn(line, "\n")] = '\0';
        qn_store_clip *k = &c[*n];
        memset(k, 0, sizeof *k);
        k->index = (int32_t)*n;
        k->start = s;
        k->end = e;
        k->raw = k->clean = k->filtered = strdup(line + off);
        (*n)++;
    }
    fclose(f);
    *out = c;
    return c ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: features_seed DIR EXT_ID VIDEO_PATH CLIPS.txt [ok|pending|failed]\n");
        return 2;
    }
    const char *st_name = argc == 6 ? argv[5] : "ok";
    int status = !strcmp(st_name, "pending") ? QN_VIDEO_PENDING
               : !strcmp(st_name, "failed") ? QN_VIDEO_FAILED : QN_VIDEO_OK;
    qn_store_clip *clips = NULL;
    size_t n = 0;
    if (load(argv[4], &clips, &n) < 0) {
        fprintf(stderr, "features_seed: %s: cannot read\n", argv[4]);
        return 2;
    }
    qn_error err;
    qn_error_clear(&err);
    qn_store *s = NULL;
    int64_t id = 0;
    int rc = qn_store_open(argv[1], QN_STORE_WRITE | QN_STORE_CREATE, &s, &err);
    if (rc == QN_OK)
        rc = qn_store_begin(s, &err);
    if (rc == QN_OK) {
        qn_store_video v;
        qn_store_video_init(&v);
        v.ext_id = argv[2];
        v.path = argv[3];
        v.status = status;
        v.reason = status == QN_VIDEO_FAILED ? "seeded as failed" : NULL;
        rc = qn_store_video_add(s, &v, &id, &err);
        if (rc == QN_OK && n)
            rc = qn_store_clips_add(s, id, clips, n, NULL, &err);
        rc = rc == QN_OK ? qn_store_commit(s, &err) : (qn_store_rollback(s, NULL), rc);
    }
    qn_store_close(s);
    for (size_t i = 0; i < n; i++)
        free((char *)clips[i].raw);
    free(clips);
    if (rc < 0) {
        fprintf(stderr, "features_seed: %s\n", err.msg);
        return qn_exit_code(rc);
    }
    printf("%lld\n", (long long)id);
    return 0;
}
