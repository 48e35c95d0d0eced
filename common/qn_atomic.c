#include "qn_atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void release(qn_atomic *af)
{
    free(af->path);
    free(af->tmp);
    af->path = af->tmp = NULL;
    af->fp = NULL;
}

/* Devices and FIFOs: no temporary, no rename; there is nothing to keep whole. */
static int open_direct(qn_atomic *af, const char *path, qn_error *err)
{
    af->path = strdup(path);
    if (!af->path)
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", path);
    af->fp = fopen(path, "w");
    if (!af->fp) {
        int e = errno;
        release(af);
        return qn_error_errno(err, QN_EINPUT, e, "%s: cannot open output", path);
    }
    return QN_OK;
}

int qn_atomic_open(qn_atomic *af, const char *path, qn_error *err)
{
    memset(af, 0, sizeof *af);
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode))
            return qn_error_set(err, QN_EINPUT, "%s: cannot write output: Is a directory", path);
        return open_direct(af, path, err);
    }
    size_t n = strlen(path);
    af->path = strdup(path);
    af->tmp = malloc(n + 16);
    if (!af->path || !af->tmp) {
        release(af);
        return qn_error_set(err, QN_ENOMEM, "%s: out of memory", path);
    }
    memcpy(af->tmp, path, n);
    memcpy(af->tmp + n, ".tmp.XXXXXX", 12);
    int fd = mkstemp(af->tmp);
    if (fd < 0) {
        int e = errno;
        release(af);
        return qn_error_errno(err, QN_EINPUT, e, "%s: cannot create output", path);
    }
    fchmod(fd, 0644);
    af->fp = fdopen(fd, "w");
    if (!af->fp) {
        int e = errno;
        close(fd);
        unlink(af->tmp);
        release(af);
        return qn_error_errno(err, QN_EENV, e, "%s: cannot open output", path);
    }
    return QN_OK;
}

static void fsync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

/* Flush + fsync (of a temporary) of af: 0 or the errno of the first failure. The
 * flush comes first: on a stream whose earlier write failed it fails again, with
 * that write's cause fresh in errno (EFBIG, ENOSPC); errno as it was is the
 * fallback when nothing was left to write. */
static int flush_sync(qn_atomic *af)
{
    int before = errno;
    errno = 0;
    if (fflush(af->fp) != 0)
        return errno ? errno : EIO;
    if (ferror(af->fp))
        return before ? before : EIO;
    if (af->tmp && (af->synced_at == 0 || ftell(af->fp) != af->synced_at) &&
        fsync(fileno(af->fp)) != 0)
        return errno ? errno : EIO;
    return 0;
}

int qn_atomic_sync(qn_atomic *af, qn_error *err)
{
    if (!af->fp)
        return qn_error_set(err, QN_EINTERNAL, "qn_atomic_sync: not open");
    int e = flush_sync(af);
    if (e)
        return qn_error_errno(err, QN_EENV, e, "%s: cannot write output", af->path);
    long at = ftell(af->fp);
    af->synced_at = at > 0 ? at : 0;
    return QN_OK;
}

int qn_atomic_commit(qn_atomic *af, qn_error *err)
{
    if (!af->fp)
        return qn_error_set(err, QN_EINTERNAL, "qn_atomic_commit: not open");
    int e = flush_sync(af);
    if (fclose(af->fp) != 0 && !e)
        e = errno;
    af->fp = NULL;
    if (!af->tmp) { /* a device written directly */
        int rc = e ? qn_error_errno(err, QN_EENV, e, "%s: cannot write output", af->path) : QN_OK;
        release(af);
        return rc;
    }
    if (!e && rename(af->tmp, af->path) != 0)
        e = errno;
    if (e) {
        unlink(af->tmp);
        int rc = qn_error_errno(err, QN_EENV, e, "%s: cannot write output", af->path);
        release(af);
        return rc;
    }
    fsync_dir(af->path);
    release(af);
    return QN_OK;
}

void qn_atomic_abort(qn_atomic *af)
{
    if (!af)
        return;
    if (af->fp)
        fclose(af->fp);
    if (af->tmp)
        unlink(af->tmp);
    release(af);
}
