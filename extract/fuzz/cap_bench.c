/* cap_bench.c — drives the caption API over files for benchmarks and for looking at results.
 *
 *   cap_bench [--dump] [--filter] [--span spoken|displayed] [--repeat N] FILE...
 *       parse + clean + YouTube dedupe + finish (+ stop words with --filter) per file; prints
 *       "files N bytes B cues C seconds S MB/s R" (and every cue with --dump).
 *   cap_bench --json FILE|-
 *       streams a caption.json; prints "videos V captions C seconds S peak_rss_mb M".
 *   cap_bench --gen-json VIDEOS CAPTIONS
 *       writes a HowTo100M-shaped caption.json to stdout (for a pipe into --json).
 * Files are read whole before the clock starts: the figure is parsing, not disk.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/qn_progress.h"
#include "extract/captions.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    if (fstat(fileno(f), &st)) {
        fclose(f);
        return NULL;
    }
    char *b = malloc((size_t)st.st_size + 1);
    *len = b ? fread(b, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    return b;
}

typedef struct jstat {
    uint64_t captions, bad;
} jstat;

static int on_video(void *ud, const cap_json_video *v, qn_error *err)
{
    jstat *s = ud;
    s->captions += v->n;
    s->bad += v->problem != NULL;
    return QN_OK;
}

static int run_json(const char *path)
{
    int fd = strcmp(path, "-") ? open(path, O_RDONLY) : 0;
    if (fd < 0) {
        perror(path);
        return 2;
    }
    jstat s = {0};
    uint64_t nv = 0;
    qn_error e;
    qn_error_clear(&e);
    double t0 = qn_now();
    int rc = cap_json_stream_fd(fd, path, on_video, &s, &nv, &e);
    double dt = qn_now() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (rc) {
        fprintf(stderr, "cap_bench: %s\n", e.msg);
        return 2;
    }
    printf("videos %llu captions %llu problems %llu seconds %.3f peak_rss_mb %.1f\n",
           (unsigned long long)nv, (unsigned long long)s.captions, (unsigned long long)s.bad, dt,
           ru.ru_maxrss / 1024.0);
    return 0;
}

/* HowTo100M caption.json shape: 11-char ids, ~2.5 s steps, overlapping ends, 3-6 words.
 * One video body is formatted once and written after every id, so the pipe, not printf,
 * sets the pace and the reader is what gets measured. */
static int gen_json(long videos, long caps)
{
    static const char *w[] = {"pan", "oil", "garlic", "onion", "heat", "add", "minutes", "salt",
                              "cut", "slice", "bowl", "flour", "stir", "bake", "golden", "drill"};
    size_t cap = (size_t)caps * 80 + 64, n = 0;
    char *body = malloc(cap);
    unsigned r = 12345;
    n += (size_t)snprintf(body + n, cap - n, "{\"start\": [");
    for (long c = 0; c < caps; c++)
        n += (size_t)snprintf(body + n, cap - n, "%s%ld.%02ld", c ? ", " : "", c * 5 / 2, (c * 37) % 100);
    n += (size_t)snprintf(body + n, cap - n, "], \"end\": [");
    for (long c = 0; c < caps; c++)
        n += (size_t)snprintf(body + n, cap - n, "%s%ld.%02ld", c ? ", " : "", c * 5 / 2 + 5, (c * 37) % 100);
    n += (size_t)snprintf(body + n, cap - n, "], \"text\": [");
    for (long c = 0; c < caps; c++) {
        n += (size_t)snprintf(body + n, cap - n, c ? ", \"" : "\"");
        int k = 3 + (int)((r = r * 1103515245u + 12345u) >> 16) % 4;
        for (int j = 0; j < k; j++)
            n += (size_t)snprintf(body + n, cap - n, "%s%s", j ? " " : "",
                                  w[((r = r * 1103515245u + 12345u) >> 16) % 16]);
        n += (size_t)snprintf(body + n, cap - n, "\"");
    }
    n += (size_t)snprintf(body + n, cap - n, "]}");
    static char buf[1 << 16];
    setvbuf(stdout, buf, _IOFBF, sizeof buf);
    fputc('{', stdout);
    for (long v = 0; v < videos; v++) {
        printf("%s\"v%010ld\": ", v ? ", " : "", v);
        fwrite(body, 1, n, stdout);
    }
    fputs("}\n", stdout);
    free(body);
    return fflush(stdout) ? 3 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "--gen-json"))
        return gen_json(atol(argv[2]), atol(argv[3]));
    int dump = 0, repeat = 1, filter = 0, i = 1;
    cap_opts o = CAP_OPTS_DEFAULT;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (!strcmp(argv[i], "--dump"))
            dump = 1, filter = 1;
        else if (!strcmp(argv[i], "--filter"))
            filter = 1;
        else if (!strcmp(argv[i], "--span") && i + 1 < argc)
            o.span = strcmp(argv[++i], "displayed") ? CAP_SPAN_SPOKEN : CAP_SPAN_DISPLAYED;
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json") && i + 1 < argc)
            return run_json(argv[i + 1]);
        else {
            fprintf(stderr, "usage: cap_bench [--dump] [--filter] [--span spoken|displayed] [--repeat N] FILE...\n"
                            "       cap_bench --json caption.json|-\n");
            return 2;
        }
    }
    int nf = argc - i;
    char **buf = calloc((size_t)nf + 1, sizeof *buf);
    size_t *len = calloc((size_t)nf + 1, sizeof *len), total = 0, cues = 0;
    for (int k = 0; k < nf; k++) {
        if (!(buf[k] = slurp(argv[i + k], &len[k]))) {
            perror(argv[i + k]);
            return 2;
        }
        total += len[k];
    }
    cap_track *t = cap_track_new();
    double t0 = qn_now();
    for (int r = 0; r < repeat; r++) {
        for (int k = 0; k < nf; k++) {
            qn_error e;
            qn_error_clear(&e);
            cap_track_reset(t);
            if (cap_parse(t, CAP_FMT_AUTO, argv[i + k], buf[k], len[k], &o, &e)) {
                fprintf(stderr, "cap_bench: %s\n", e.msg);
                continue;
            }
            cap_track_finish(t, 0);
            if (filter)
                cap_track_filter(t);
            cues += t->n;
            if (dump && r == 0) {
                printf("# %s: %zu cues, %zu warnings, charset %s, rolling %d, deduped %u\n",
                       argv[i + k], t->n, t->n_warnings, t->charset, t->rolling, t->stats.deduped);
                for (size_t w = 0; w < t->n_warnings; w++)
                    printf("#   %s\n", t->warnings[w]);
                for (size_t c = 0; c < t->n; c++)
                    printf("%.3f\t%.3f\t%s\t|%s\n", t->cues[c].start, t->cues[c].end,
                           t->cues[c].text, t->cues[c].filtered);
            }
        }
    }
    double dt = qn_now() - t0;
    cap_track_free(t);
    double mb = (double)total * repeat / 1e6;
    printf("files %d bytes %zu cues %zu seconds %.4f MB/s %.1f\n", nf * repeat,
           total * (size_t)repeat, cues, dt, dt > 0 ? mb / dt : 0);
    for (int k = 0; k < nf; k++)
        free(buf[k]);
    free(buf);
    free(len);
    return 0;
}
