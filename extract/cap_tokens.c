/* cap_tokens.c — HowTo100M's tokeniser: Python's re.findall(r"[\w']+", text), case kept.
 *
 * Python's Unicode \w is "alphanumeric or underscore" by Unicode category. Rather than ship
 * the Unicode tables, non-ASCII code points count as word characters except the blocks that
 * are punctuation, symbols, spaces, combining marks or emoji (listed below) — exact for
 * ASCII and Latin text, close elsewhere. Invalid UTF-8 bytes separate words.
 */
#include "cap_priv.h"

static const struct {
    uint32_t lo, hi;
} not_word[] = {
    {0x80, 0xA9},     {0xAB, 0xB1},     {0xB4, 0xB4},     {0xB6, 0xB8},     {0xBB, 0xBB},
    {0xBF, 0xBF},     {0xD7, 0xD7},     {0xF7, 0xF7},     {0x2C2, 0x2C5},   {0x2D2, 0x2DF},
    {0x2E5, 0x2EB},   {0x2ED, 0x2ED},   {0x2EF, 0x36F},   {0x374, 0x375},   {0x37E, 0x37E},
    {0x384, 0x385},   {0x387, 0x387},   {0x483, 0x489},   {0x55A, 0x55F},   {0x589, 0x58A},
    {0x591, 0x5C7},   {0x5F3, 0x5F4},   {0x600, 0x61F},   {0x64B, 0x65F},   {0x66A, 0x66D},
    {0x6D4, 0x6D4},   {0x964, 0x965},   {0xE3F, 0xE3F},   {0x2000, 0x206F}, {0x20A0, 0x20FF},
    {0x2190, 0x245F}, {0x2500, 0x2775}, {0x2794, 0x2BFF}, {0x2E00, 0x2E7F}, {0x3000, 0x3004},
    {0x3008, 0x3020}, {0x302A, 0x3030}, {0x3036, 0x3037}, {0x303D, 0x303F}, {0x3099, 0x309C},
    {0x30FB, 0x30FB}, {0xD800, 0xF8FF}, {0xFE00, 0xFE0F}, {0xFE10, 0xFE6F}, {0xFEFF, 0xFEFF},
    {0xFF00, 0xFF0F}, {0xFF1A, 0xFF20}, {0xFF3B, 0xFF40}, {0xFF5B, 0xFF65}, {0xFFE0, 0xFFFF},
    {0x1F000, 0x1FAFF}, {0xE0000, 0x10FFFF},
};

static int word_cp(uint32_t cp)
{
    size_t lo = 0, hi = sizeof not_word / sizeof not_word[0];
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (cp < not_word[m].lo)
            hi = m;
        else if (cp > not_word[m].hi)
            lo = m + 1;
        else
            return 0;
    }
    return 1;
}

static const unsigned char ascii_word[128] = {
    ['\''] = 1, ['_'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
    ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
    ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
    ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
    ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
};

/* Length of the word character at s (0 when s[0] does not start one). */
static size_t word_char(const unsigned char *s, size_t len)
{
    if (s[0] < 0x80)
        return ascii_word[s[0]];
    uint32_t cp;
    size_t n = cap_utf8_decode(s, len, &cp);
    if (cp == 0xFFFD && n == 1)
        return 0;
    return word_cp(cp) ? n : 0;
}

/* End of the word that starts at i (s[i] is a word character); ASCII runs without the
 * UTF-8 decoder, which captions mostly are. */
static size_t word_end(const unsigned char *s, size_t i, size_t len)
{
    size_t w;
    for (;;) {
        while (i < len && s[i] < 0x80 && ascii_word[s[i]])
            i++;
        if (i == len || s[i] < 0x80 || !(w = word_char(s + i, len - i)))
            return i;
        i += w;
    }
}

size_t cap_tokenize(const char *text, size_t len, cap_token *toks, size_t max)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0, nt = 0;
    while (i < len) {
        if (s[i] < 0x80 ? !ascii_word[s[i]] : !word_char(s + i, len - i)) {
            i++;
            continue;
        }
        size_t a = i;
        i = word_end(s, i, len);
        if (nt < max)
            toks[nt] = (cap_token){(uint32_t)a, (uint32_t)(i - a)};
        nt++;
    }
    return nt;
}

size_t cap_tokenize_some(const char *text, size_t len, cap_token *toks, size_t max)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0, nt = 0;
    while (i < len && nt < max) {
        if (s[i] < 0x80 ? !ascii_word[s[i]] : !word_char(s + i, len - i)) {
            i++;
            continue;
        }
        size_t a = i;
        i = word_end(s, i, len);
        toks[nt++] = (cap_token){(uint32_t)a, (uint32_t)(i - a)};
    }
    return nt;
}

size_t cap_count_words(const char *text, size_t len)
{
    return cap_tokenize(text, len, NULL, 0);
}
