/* cap_stopwords.c — HowTo100M's stop-word filter (caption.json's "text" is filtered this way).
 * The list itself is data (extract/data/stopwords.txt), compiled into cap_stopwords_table.c. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cap_priv.h"

extern const char *const cap_stopword_table[];
extern const size_t cap_stopword_table_n;

#define WORD_MAX 32 /* longer tokens are never stop words */

/* Open-addressing hash set over the table, built once (the list has ~370 words; 1024 slots
 * keep probes short). Faster than bsearch+strcmp on every token of every caption. */
#define SLOTS 1024
static const char *slot[SLOTS];
static uint8_t slot_len[SLOTS];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static uint32_t hash(const char *w, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)w[i]) * 16777619u;
    return h;
}

static void build(void)
{
    for (size_t i = 0; i < cap_stopword_table_n; i++) {
        const char *w = cap_stopword_table[i];
        size_t n = strlen(w);
        uint32_t h = hash(w, n) & (SLOTS - 1);
        while (slot[h])
            h = (h + 1) & (SLOTS - 1);
        slot[h] = w;
        slot_len[h] = (uint8_t)n;
    }
}

int cap_is_stopword(const char *w, size_t len)
{
    char low[WORD_MAX + 1];
    if (len == 0 || len > WORD_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = w[i];
        if ((unsigned char)c >= 0x80)
            return 0; /* the list is ASCII */
        low[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    pthread_once(&once, build);
    for (uint32_t h = hash(low, len) & (SLOTS - 1); slot[h]; h = (h + 1) & (SLOTS - 1))
        if (slot_len[h] == len && memcmp(slot[h], low, len) == 0)
            return 1;
    return 0;
}

size_t cap_stopword_count(void)
{
    return cap_stopword_table_n;
}

size_t cap_filter_stopwords(const char *text, size_t len, char *out, size_t *n_words)
{
    cap_token tok[64];
    size_t n = 0, off = 0, words = 0;
    /* Tokenise in windows of 64 tokens so long texts need no allocation; each window's scan
     * stops at its 64th token (cap_tokenize_some), so long texts stay linear. */
    while (off < len) {
        size_t nt = cap_tokenize_some(text + off, len - off, tok, 64);
        words += nt;
        for (size_t i = 0; i < nt; i++) {
            const char *w = text + off + tok[i].off;
            if (cap_is_stopword(w, tok[i].len))
                continue;
            if (n)
                out[n++] = ' ';
            memcpy(out + n, w, tok[i].len);
            n += tok[i].len;
        }
        if (nt < 64)
            break;
        off += tok[63].off + tok[63].len;
    }
    out[n] = 0;
    if (n_words)
        *n_words = words;
    return n;
}

int cap_track_filter(cap_track *t)
{
    t->words = 0;
    for (size_t i = 0; i < t->n; i++) {
        size_t len = strlen(t->cues[i].text);
        char *o = cap_arena_alloc(t, len + 1);
        if (!o)
            return QN_ENOMEM;
        size_t words, n = cap_filter_stopwords(t->cues[i].text, len, o, &words);
        t->words += (int64_t)words;
        cap_arena_shrink(t, o, len + 1, n + 1);
        t->cues[i].filtered = o;
    }
    return QN_OK;
}
