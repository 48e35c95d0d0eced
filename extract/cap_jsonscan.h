/* cap_jsonscan.h — a small incremental JSON scanner (private to the caption readers).
 *
 * Works on a window [b, b + n) of the input that may end mid-token: when more input could
 * complete a token, calls return JS_MORE (the caller refills and retries from a saved
 * position); when the window ends the input (eof), JS_MORE becomes an error. No tree is
 * ever built: values are decoded into caller buffers or skipped.
 */
#ifndef CAP_JSONSCAN_H
#define CAP_JSONSCAN_H

#include <stddef.h>

enum { JS_OK = 0, JS_MORE = 1, JS_ERR = -1 };

typedef struct js {
    const char *b;
    size_t n, pos;
    int eof;
    const char *err; /* what was expected, on JS_ERR */
} js;

/* Growable byte buffer for decoded strings (each NUL-terminated). */
typedef struct jbuf {
    char *p;
    size_t n, cap;
} jbuf;

/* Skips whitespace; JS_MORE at the window's end (JS_ERR "unexpected end" when eof). */
int js_ws(js *j);
/* At '"': decodes the string (escapes, \u surrogate pairs) and appends it plus a NUL to
 * out (out may be NULL to skip); *off and *len locate it in out. */
int js_string(js *j, jbuf *out, size_t *off, size_t *len);
/* A number (also NaN, Infinity, -Infinity as Python writes them). */
int js_number(js *j, double *v);
/* Skips one value of any kind (nesting up to 512 levels). */
int js_skip(js *j);
/* Consumes byte c after whitespace, or JS_ERR with err = what. */
int js_expect(js *j, char c, const char *what);
void jbuf_free(jbuf *b);

#endif
