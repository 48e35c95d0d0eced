/* cityscapes_floor.c — cs_decode_floor, a bench helper: the bare PNG-decode floor.
 * Reads and decodes the given instanceIds PNGs with N threads and nothing else, so
 * bench/parts/cityscapes.sh can set quern-cityscapes2coco's throughput against it.
 *   cs_decode_floor [-j N] [--spng] FILE...   prints "<images> <seconds>"
 * --spng decodes through libspng (zlib inflate) instead of the libdeflate fast path. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "png16.h"
#include "qn_progress.h"

typedef struct pool {
    char **files;
    int n, next, failed;
    unsigned flags;
    pthread_mutex_t mu;
} pool;

static void *run(void *arg)
{
    pool *p = arg;
    qn_png16 *d = qn_png16_new();
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int i = p->next++;
        pthread_mutex_unlock(&p->mu);
        if (i >= p->n || !d)
            break;
        qn_png16_image img;
        qn_error e;
        qn_error_clear(&e);
        if (qn_png16_read_file(d, p->files[i], p->flags, &img, &e)) {
            fprintf(stderr, "cs_decode_floor: %s\n", e.msg);
            p->failed = 1;
        }
    }
    qn_png16_free(d);
    return NULL;
}

int main(int argc, char **argv)
{
    pool p = {0};
    int threads = 1, a = 1;
    for (; a < argc && argv[a][0] == '-'; a++) {
        if (strcmp(argv[a], "-j") == 0 && a + 1 < argc)
            threads = atoi(argv[++a]);
        else if (strcmp(argv[a], "--spng") == 0)
            p.flags |= QN_PNG16_FORCE_SPNG;
        else {
            fprintf(stderr, "usage: cs_decode_floor [-j N] [--spng] FILE...\n");
            return 2;
        }
    }
    if (threads < 1 || threads > 256 || a >= argc) {
        fprintf(stderr, "usage: cs_decode_floor [-j N] [--spng] FILE...\n");
        return 2;
    }
    p.files = argv + a;
    p.n = argc - a;
    pthread_mutex_init(&p.mu, NULL);
    pthread_t th[256];
    double t0 = qn_now();
    for (int t = 0; t < threads; t++)
        pthread_create(&th[t], NULL, run, &p);
    for (int t = 0; t < threads; t++)
        pthread_join(th[t], NULL);
    printf("%d %.6f\n", p.n, qn_now() - t0);
    return p.failed ? 2 : 0;
}
