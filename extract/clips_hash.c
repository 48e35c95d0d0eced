/* clips_hash.c — the content hash of a video (--sha256): common/qn_sha256 (the CPU's SHA
 * extensions where there are some, about 4x libavutil's loop). Read in 1 MiB blocks:
 * memory stays flat for any file size.
 */
#include "extract/clips.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "qn_sha256.h"

int clips_sha256(const char *path, char hex[65], qn_error *err)
{
    enum { BLOCK = 1 << 20 };
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return qn_error_errno(err, QN_EINPUT, errno, "%s", path);
    unsigned char *buf = malloc(BLOCK);
    if (!buf) {
        close(fd);
        return qn_error_set(err, QN_ENOMEM, "out of memory");
    }
    qn_sha256 sha;
    qn_sha256_init(&sha);
    int rc = QN_OK;
    for (;;) {
        ssize_t n = read(fd, buf, BLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = qn_error_errno(err, QN_EENV, errno, "%s: read", path);
            break;
        }
        if (n == 0)
            break;
        qn_sha256_update(&sha, buf, (size_t)n);
    }
    if (rc == QN_OK) {
        unsigned char digest[32];
        qn_sha256_final(&sha, digest);
        qn_sha256_hex(digest, hex);
    }
    free(buf);
    close(fd);
    return rc;
}
