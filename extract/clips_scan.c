/* clips_scan.c — the video files under a directory, recursively, sorted bytewise so runs
 * (and shards of them) see the same order on every machine. Hidden entries are skipped.
 */
#include "extract/clips.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

int clips_is_video_name(const char *name)
{
    static const char *const ext[] = {"mp4", "mkv", "webm", "mov", "m4v", "avi", "flv", "mpg",
                                      "mpeg", "ts", "3gp", "ogv", "wmv"};
    const char *dot = strrchr(name, '.');
    if (!dot)
        return 0;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (!strcasecmp(dot + 1, ext[i]))
            return 1;
    return 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int clips_list_push(char ***list, size_t *n, size_t *cap, char *s)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        char **nl = realloc(*list, nc * sizeof *nl);
        if (!nl)
            return -1;
        *list = nl;
        *cap = nc;
    }
    (*list)[(*n)++] = s;
    return 0;
}

/* The directories on the path from the root down to here, by (device, inode): a symlink
 * back to one of them is a cycle and is not followed again. */
typedef struct dir_id {
    dev_t dev;
    ino_t ino;
} dir_id;
enum { MAX_DEPTH = 64 };

static int scan(const char *dir, char ***list, size_t *n, size_t *cap, dir_id *path, int depth,
                qn_error *err)
{
    struct stat ds;
    if (depth >= MAX_DEPTH)
        return qn_error_set(err, QN_EINPUT, "%s: directories nested too deep", dir);
    if (stat(dir, &ds) == 0) {
        for (int i = 0; i < depth; i++)
            if (path[i].dev == ds.st_dev && path[i].ino == ds.st_ino)
                return QN_OK; /* a cycle through a symlink */
        path[depth].dev = ds.st_dev;
        path[depth].ino = ds.st_ino;
    }
    DIR *d = opendir(dir);
    if (!d)
        return qn_error_errno(err, QN_EINPUT, errno, "%s", dir);
    struct dirent *e;
    int rc = QN_OK;
    while (rc == QN_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *p = malloc(len);
        if (!p) {
            rc = qn_error_set(err, QN_ENOMEM, "out of memory");
            break;
        }
        snprintf(p, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name);
        struct stat sb;
        int ok = stat(p, &sb) == 0;
        if (ok && S_ISDIR(sb.st_mode)) {
            rc = scan(p, list, n, cap, path, depth + 1, err);
            free(p);
        } else if (ok && S_ISREG(sb.st_mode) && clips_is_video_name(e->d_name)) {
            if (clips_list_push(list, n, cap, p) < 0) {
                free(p);
                rc = qn_error_set(err, QN_ENOMEM, "out of memory");
            }
        } else {
            free(p);
        }
    }
    closedir(d);
    return rc;
}

int clips_scan_dir(const char *dir, char ***list, size_t *n, size_t *cap, qn_error *err)
{
    size_t first = *n;
    dir_id path[MAX_DEPTH];
    int rc = scan(dir, list, n, cap, path, 0, err);
    if (rc == QN_OK && *n - first > 1)
        qsort(*list + first, *n - first, sizeof **list, cmp);
    return rc;
}
