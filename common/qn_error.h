/* qn_error.h — status codes and the error record every quern library fills.
 *
 * Library calls return QN_OK (0) or a negative QN_E* status and, when given a
 * non-NULL record, describe the failure in it as one line ("file:line:col: what").
 * The first error wins: later qn_error_set calls on a filled record are ignored,
 * so the innermost, most precise message survives (jansson's json_error_t habit).
 * Libraries never print; the CLI prints the record once and maps the status to an
 * exit code with qn_exit_code().
 */
#ifndef QN_ERROR_H
#define QN_ERROR_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

enum qn_status {
    QN_OK = 0,
    QN_EINPUT = -1,   /* malformed or missing input: exit 2 */
    QN_EUSAGE = -2,   /* bad options or arguments: exit 2 */
    QN_EENV = -3,     /* environment: disk full, lock busy, permissions: exit 3 */
    QN_ENOMEM = -4,   /* out of memory: exit 3 */
    QN_EINTERNAL = -5 /* a bug: exit 4 */
};

/* Process exit codes shared by every program (DESIGN.md). */
enum qn_exit {
    QN_EXIT_OK = 0,      /* done */
    QN_EXIT_SKIPPED = 1, /* done, some inputs skipped (--skip-*) */
    QN_EXIT_INPUT = 2,   /* bad usage or input */
    QN_EXIT_ENV = 3,     /* environment: disk full, lock busy */
    QN_EXIT_BUG = 4
};

typedef struct qn_error {
    int status;      /* the status of the first error, QN_OK when empty */
    char msg[1024];  /* one line, no trailing newline */
    int unreadable;  /* set by qn_error_unreadable: the input file named cannot be read now */
} qn_error;

/* Clears the record. NULL is a harmless no-op. */
void qn_error_clear(qn_error *e);

/* Fills the record if it is non-NULL and still empty; returns status so callers
 * can write `return qn_error_set(err, QN_EINPUT, "%s: bad magic", path);`. */
int qn_error_set(qn_error *e, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int qn_error_vset(qn_error *e, int status, const char *fmt, va_list ap);

/* Like qn_error_set, and marks the record `unreadable` (when this call fills it): the input
 * file it names cannot be read now (missing, no permission, an I/O error), which says
 * nothing of its content and may pass later. A program going through many inputs skips
 * such a file and goes on; any other QN_EENV concerns its whole run (no GPU, limits). */
int qn_error_unreadable(qn_error *e, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like qn_error_set but appends ": strerror(errnum)" and picks QN_EENV for
 * ENOSPC/EDQUOT/EACCES/EROFS/EPERM/EFBIG and `status` otherwise. */
int qn_error_errno(qn_error *e, int status, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Exit code for a status (QN_OK -> 0, input/usage -> 2, env/nomem -> 3, else 4). */
int qn_exit_code(int status);

/* Called first in every program's main: past RLIMIT_FSIZE a write then fails with EFBIG,
 * which is reported like a full disk (exit 3) and cleaned up after (no temporary left),
 * instead of SIGXFSZ killing the process with no word said. */
void qn_cli_init(void);

#ifdef __cplusplus
}
#endif
#endif
