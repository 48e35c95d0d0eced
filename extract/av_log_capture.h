/* av_log_capture.h — FFmpeg's error detail for our messages, without FFmpeg printing.
 *
 * FFmpeg's return codes are terse (a zero-byte file and a missing moov atom are both
 * AVERROR_INVALIDDATA) while its log carries the detail. Libraries must not print, so
 * one process-wide av_log callback (av_log_set_callback is global in FFmpeg) swallows
 * the messages and keeps each thread's last error line; qn_av_reason appends it:
 * "Invalid data found when processing input (moov atom not found)".
 * Every quern module that calls FFmpeg shares this one callback (frames, clips).
 */
#ifndef AV_LOG_CAPTURE_H
#define AV_LOG_CAPTURE_H

#include <stddef.h>

/* Installs the callback once per process (thread-safe). */
void qn_avlog_capture(void);
/* Forgets this thread's last line; call before an FFmpeg operation. */
void qn_avlog_reset(void);
/* Sets this thread's last line when FFmpeg logged nothing useful ("no video stream"). */
void qn_avlog_note(const char *why);
/* 1 when this thread has a captured line. */
int qn_avlog_has(void);
/* av_strerror(averr) plus the captured line in parentheses, into buf; returns buf. */
const char *qn_av_reason(int averr, char *buf, size_t size);

#endif
