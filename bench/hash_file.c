/* hash_file.c — bench/hash.sh's timing tool: SHA-256 of one file (read into memory first)
 * by qn_sha256 with the CPU's SHA extensions, by its portable blocks, and by libavutil
 * (what quern used before), best of ROUNDS each. Prints "NAME SECONDS MB/s HEX" lines.
 *     hash_file FILE [ROUNDS] */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/mem.h>
#include <libavutil/sha.h>

#include "qn_progress.h"
#include "qn_sha256.h"

static void avutil_hex(const uint8_t *p, size_t n, char hex[65])
{
    struct AVSHA *s = av_sha_alloc();
    uint8_t d[32];
    if (!s || av_sha_init(s, 256) < 0) {
        fprintf(stderr, "hash_file: out of memory\n");
        exit(1);
    }
    av_sha_update(s, p, n);
    av_sha_final(s, d);
    av_free(s);
    qn_sha256_hex(d, hex);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: hash_file FILE [ROUNDS]\n");
        return 2;
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        perror(argv[1]);
        return 1;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *p = malloc(n ? n : 1);
    for (size_t got = 0; p && got < n;) {
        ssize_t r = read(fd, p + got, n - got);
        if (r <= 0) {
            perror(argv[1]);
            return 1;
        }
        got += (size_t)r;
    }
    close(fd);
    static const char *const names[3] = {"qn_sha256", "qn_sha256_portable", "libavutil"};
    for (int k = 0; k < 3; k++) {
        double best = 1e30;
        char hex[65];
        int ni = k < 2 ? qn_sha256_force_portable(k) : 0; /* k = 1: the portable blocks */
        if (k == 0 && !ni)
            fprintf(stderr, "hash_file: this CPU has no SHA extensions: the first two rows "
                    "are the same code\n");
        for (int r = 0; r < rounds; r++) {
            double t = qn_now();
            if (k < 2)
                qn_sha256_buf_hex(p, n, hex);
            else
                avutil_hex(p, n, hex);
            t = qn_now() - t;
            best = t < best ? t : best;
        }
        printf("%s %.4f %.0f %s\n", names[k], best, n / best / 1e6, hex);
    }
    qn_sha256_force_portable(0);
    free(p);
    return 0;
}
