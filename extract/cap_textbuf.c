/* cap_textbuf.c — the growing '\n'-joined text of one cue, shared by the WebVTT and SRT
 * parsers. */
#include "cap_priv.h"

#include <stdlib.h>
#include <string.h>

int cap_textbuf_add(cap_textbuf *b, const char *s, size_t n)
{
    if (b->n + n + 2 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->n + n + 2 > cap)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return QN_ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    if (b->n)
        b->p[b->n++] = '\n';
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return QN_OK;
}
