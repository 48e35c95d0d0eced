/* store_lock.c — the one-writer rule: an exclusive flock on DIR/store.lock.
 *
 * flock (not fcntl) because POSIX record locks are dropped by any close() of the file in
 * the process; a separate file (never meta.db) for the same reason. The kernel drops the
 * lock when the writer dies, even by SIGKILL, so there is no stale-lock recovery. The pid
 * written into the file is only for the message a second writer gets. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"

static long read_pid(int fd)
{
    char buf[32] = {0};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    return n > 0 ? strtol(buf, NULL, 10) : 0;
}

int store_lock_take(const char *dir, int *fd_out, qn_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/store.lock", dir);
    /* Never through a link: the lock is truncated to hold our pid, and a store.lock
     * that points at another file (/etc/passwd) would be overwritten. */
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0 && errno == ELOOP)
        return qn_error_set(err, QN_EINPUT, "%s: is a symbolic link, not a lock file (remove "
                            "it)", path);
    if (fd < 0)
        return qn_error_errno(err, QN_EENV, errno, "%s: cannot open the lock", path);
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_nlink != 1) {
        close(fd);
        return qn_error_set(err, QN_EINPUT, "%s: not a lock file of its own (a special file "
                            "or one with other hard links; remove it)", path);
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        long pid = read_pid(fd);
        close(fd);
        if (e == EWOULDBLOCK)
            return qn_error_set(err, QN_EENV, "%s: store is locked by pid %ld", dir, pid);
        return qn_error_errno(err, QN_EENV, e, "%s: cannot lock", path);
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    /* best effort: the pid only feeds the other writer's message */
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, n, 0) != n) {
        /* a full disk must not stop a writer that may only read; say nothing */
    }
    *fd_out = fd;
    return QN_OK;
}

void store_lock_release(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}
