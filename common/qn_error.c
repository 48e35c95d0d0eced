#include "qn_error.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

void qn_error_clear(qn_error *e)
{
    if (!e)
        return;
    e->status = QN_OK;
    e->msg[0] = '\0';
    e->unreadable = 0;
}

int qn_error_vset(qn_error *e, int status, const char *fmt, va_list ap)
{
    if (!e || e->status != QN_OK)
        return status;
    e->status = status;
    e->unreadable = 0;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    /* keep the record one line */
    for (char *p = e->msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return status;
}

int qn_error_set(qn_error *e, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    qn_error_vset(e, status, fmt, ap);
    va_end(ap);
    return status;
}

int qn_error_unreadable(qn_error *e, int status, const char *fmt, ...)
{
    int fills = e && e->status == QN_OK;
    va_list ap;
    va_start(ap, fmt);
    qn_error_vset(e, status, fmt, ap);
    va_end(ap);
    if (fills)
        e->unreadable = 1;
    return status;
}

static int is_env_errno(int errnum)
{
    switch (errnum) {
    case ENOSPC: case EDQUOT: case EACCES: case EROFS: case EPERM: case EFBIG:
    case EMFILE: case ENFILE: case EWOULDBLOCK:
        return 1;
    default:
        return 0;
    }
}

int qn_error_errno(qn_error *e, int status, int errnum, const char *fmt, ...)
{
    if (is_env_errno(errnum))
        status = QN_EENV;
    else if (errnum == ENOMEM)
        status = QN_ENOMEM;
    if (!e || e->status != QN_OK)
        return status;
    char head[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    return qn_error_set(e, status, "%s: %s", head, strerror(errnum));
}

int qn_exit_code(int status)
{
    switch (status) {
    case QN_OK: return QN_EXIT_OK;
    case QN_EINPUT: case QN_EUSAGE: return QN_EXIT_INPUT;
    case QN_EENV: case QN_ENOMEM: return QN_EXIT_ENV;
    default: return QN_EXIT_BUG;
    }
}

void qn_cli_init(void)
{
    signal(SIGXFSZ, SIG_IGN);
}
