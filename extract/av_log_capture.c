#include "av_log_capture.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/error.h>
#include <libavutil/log.h>

static _Thread_local char last_log[256];
static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void log_cb(void *avcl, int level, const char *fmt, va_list ap)
{
    (void)avcl;
    if (level > AV_LOG_ERROR)
        return;
    char line[256];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == ' ' || line[n - 1] == '.'))
        line[--n] = '\0';
    if (n)
        memcpy(last_log, line, n + 1);
}

static void install_log(void)
{
    av_log_set_callback(log_cb);
}

void qn_avlog_capture(void)
{
    pthread_once(&log_once, install_log);
}

void qn_avlog_reset(void)
{
    last_log[0] = '\0';
}

void qn_avlog_note(const char *why)
{
    snprintf(last_log, sizeof last_log, "%s", why);
}

int qn_avlog_has(void)
{
    return last_log[0] != '\0';
}

const char *qn_av_reason(int averr, char *buf, size_t size)
{
    char base[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(averr, base, sizeof base);
    if (last_log[0] && !strstr(base, last_log))
        snprintf(buf, size, "%s (%s)", base, last_log);
    else
        snprintf(buf, size, "%s", base);
    return buf;
}
