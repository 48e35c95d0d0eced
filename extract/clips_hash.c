/* clips_hash.c — the content hash of a video (--sha256), with libavutil's SHA-256 so no
 * crypto library is needed. Read in 1 MiB blocks: memory stays flat for any file size.
 */
#include "extract/clips.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <libavutil/mem.h>
#include <libavutil/sha.h>

int clips_sha256(const char *path, char hex[65], qn_error *err)
{
    enum { BLOCK = 1 << 20 };
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return qn_error_errno(err, QN_EINPUT, errno, "%s", path);
    struct AVSHA *sha = av_sha_alloc();
    unsigned char *buf = malloc(BLOCK);
    int rc = QN_OK;
    if (!sha || !buf || av_sha_init(sha, 256) < 0) {
        rc = qn_error_set(err, QN_ENOMEM, "out of memory");
        goto end;
    }
    for (;;) {
        ssize_t n = read(fd, buf, BLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = qn_error_errno(err, QN_EENV, errno, "%s: read", path);
            goto end;
        }
        if (n == 0)
            break;
        av_sha_update(sha, buf, (size_t)n);
    }
    unsigned char digest[32];
    av_sha_final(sha, digest);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
end:
    av_free(sha);
    free(buf);
    close(fd);
    return rc;
}
