/* clips_map.c — a string-keyed hash map (open addressing, FNV-1a) whose keys and values live
 * in one growing arena, for HowTo100M_v1.csv (1.2 M ids) and preloaded caption.json entries.
 * Nothing is freed one by one: the map dies whole.
 */
#include "extract/clips.h"

#include <stdlib.h>
#include <string.h>

typedef struct chunk {
    struct chunk *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
} chunk;

typedef struct slot {
    const char *key;
    size_t klen;
    uint64_t hash;
    void *value;
} slot;

struct clips_map {
    slot *slots;
    size_t n, cap;       /* cap: power of two */
    size_t value_size;
    chunk *arena;
};

static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

clips_map *clips_map_new(size_t value_size)
{
    clips_map *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cap = 1024;
    m->value_size = value_size;
    if (!(m->slots = calloc(m->cap, sizeof *m->slots))) {
        free(m);
        return NULL;
    }
    return m;
}

void clips_map_free(clips_map *m)
{
    if (!m)
        return;
    for (chunk *c = m->arena, *nx; c; c = nx) {
        nx = c->next;
        free(c);
    }
    free(m->slots);
    free(m);
}

void *clips_map_alloc(clips_map *m, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (!m->arena || m->arena->size - m->arena->used < size) {
        size_t cs = size > (1u << 20) ? size : (1u << 20);
        chunk *c = malloc(sizeof *c + cs);
        if (!c)
            return NULL;
        c->next = m->arena;
        c->used = 0;
        c->size = cs;
        m->arena = c;
    }
    void *p = m->arena->data + m->arena->used;
    m->arena->used += size;
    return p;
}

char *clips_map_strdup(clips_map *m, const char *s, size_t len)
{
    char *p = clips_map_alloc(m, len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

static slot *find(const clips_map *m, const char *key, size_t klen, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        slot *s = &m->slots[i];
        if (!s->key || (s->hash == h && s->klen == klen && !memcmp(s->key, key, klen)))
            return s;
    }
}

static int grow(clips_map *m)
{
    size_t ncap = m->cap * 2;
    slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        size_t j = m->slots[i].hash & (ncap - 1);
        while (ns[j].key)
            j = (j + 1) & (ncap - 1);
        ns[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

void *clips_map_put(clips_map *m, const char *key, size_t klen, int *created)
{
    uint64_t h = fnv(key, klen);
    slot *s = find(m, key, klen, h);
    *created = 0;
    if (s->key)
        return s->value;
    if ((m->n + 1) * 4 > m->cap * 3) {
        if (grow(m) < 0)
            return NULL;
        s = find(m, key, klen, h);
    }
    char *k = clips_map_strdup(m, key, klen);
    void *v = clips_map_alloc(m, m->value_size ? m->value_size : 1);
    if (!k || !v)
        return NULL;
    memset(v, 0, m->value_size);
    s->key = k;
    s->klen = klen;
    s->hash = h;
    s->value = v;
    m->n++;
    *created = 1;
    return v;
}

void *clips_map_get(const clips_map *m, const char *key, size_t klen)
{
    slot *s = find(m, key, klen, fnv(key, klen));
    return s->key ? s->value : NULL;
}
