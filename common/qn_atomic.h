/* qn_atomic.h — write a file so that it appears whole or not at all.
 *
 * qn_atomic_open creates a temporary file beside the target (same directory, so
 * rename(2) is atomic), qn_atomic_commit flushes, fsyncs, renames it over the
 * target and fsyncs the directory; qn_atomic_abort removes the temporary. After a
 * failed commit the temporary is already removed and the target is untouched.
 * A target that exists and is not a regular file (/dev/stdout, /dev/null, a FIFO) is
 * written directly: renaming over it would replace the device with a file.
 */
#ifndef QN_ATOMIC_H
#define QN_ATOMIC_H

#include <stdio.h>
#include "qn_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qn_atomic {
    FILE *fp;           /* write here */
    char *path;         /* final path */
    char *tmp;          /* temporary path; NULL when writing a device directly */
    long synced_at;     /* file position qn_atomic_sync reached (0: none), so that
                         * commit fsyncs again only if more was written since */
} qn_atomic;

int qn_atomic_open(qn_atomic *af, const char *path, qn_error *err);
/* Flushes and fsyncs now, reporting any write error so far (QN_EENV, naming the
 * file and the cause): for several outputs committed together, every one's errors
 * surface before the first rename. Call it right after an output's last write,
 * while a failed write's cause can still be told; commit after it syncs again
 * only if more was written. */
int qn_atomic_sync(qn_atomic *af, qn_error *err);
/* Commits: any earlier write error (ferror) fails the commit. */
int qn_atomic_commit(qn_atomic *af, qn_error *err);
/* Discards the temporary. Safe on a zeroed or already finished qn_atomic. */
void qn_atomic_abort(qn_atomic *af);

#ifdef __cplusplus
}
#endif
#endif
