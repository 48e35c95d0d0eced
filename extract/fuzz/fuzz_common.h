/* fuzz_common.h — shared body of the caption-file fuzz targets: parse, then run every later
 * stage (rolling detection, dedupe in both span modes, finish, stop words, tokens). */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H
#include <stdint.h>
#include <string.h>

#include "captions.h"

static void fuzz_track(enum cap_format fmt, const char *name, const uint8_t *data, size_t size)
{
    cap_opts o = CAP_OPTS_DEFAULT;
    /* The first byte picks options so one input covers several paths. */
    if (size && (data[0] & 1))
        o.keep_sound_tags = 1;
    if (size && (data[0] & 2))
        o.charenc = "CP1252";
    if (size && (data[0] & 16))
        o.no_dedupe = 1;
    for (int span = 0; span < 2; span++) {
        o.span = span ? CAP_SPAN_DISPLAYED : CAP_SPAN_SPOKEN;
        cap_track *t = cap_track_new();
        qn_error e;
        qn_error_clear(&e);
        if (cap_parse(t, fmt, name, data, size, &o, &e) == QN_OK) {
            if (cap_youtube_is_rolling(t) || (size && (data[0] & 4)))
                cap_youtube_dedupe(t, span ? CAP_SPAN_DISPLAYED : CAP_SPAN_SPOKEN);
            cap_track_finish(t, size && (data[0] & 8) ? 30.0 : 0);
            cap_track_filter(t);
            for (size_t i = 0; i < t->n; i++) {
                const cap_cue *c = &t->cues[i];
                size_t len = strlen(c->text);
                cap_token tok[20];
                cap_tokenize(c->text, len, tok, 20);
                for (uint32_t w = 0; w < c->n_words; w++)
                    if (c->words[w].off + c->words[w].len > len)
                        __builtin_trap();
                if (i && t->rolling && c->start < t->cues[i - 1].start)
                    __builtin_trap(); /* dedupe output must be in time order */
            }
        }
        cap_track_free(t);
    }
}
#endif
