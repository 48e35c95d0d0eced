/* fuzz_caption_json.c — libFuzzer target: the streaming caption.json reader, over memory and
 * over a file descriptor with a tiny read buffer (every token crosses a refill). */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "captions.h"

extern size_t cap_json_buf_init;

static int visit(void *ud, const cap_json_video *v, qn_error *err)
{
    size_t *sum = ud;
    *sum += v->id_len;
    for (size_t i = 0; i < v->n_start; i++)
        *sum += v->start[i] > 0;
    for (size_t i = 0; i < v->n_end; i++)
        *sum += v->end[i] > 0;
    for (size_t i = 0; i < v->n_text; i++)
        *sum += strlen(v->text[i]) == v->text_len[i] ? 0 : 1;
    return QN_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t sum1 = 0, sum2 = 0;
    uint64_t n1 = 0, n2 = 0;
    qn_error e1, e2;
    qn_error_clear(&e1);
    qn_error_clear(&e2);
    int r1 = cap_json_stream_mem((const char *)data, size, "fuzz.json", visit, &sum1, &n1, &e1);
    int fd = memfd_create("fuzz", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) == (ssize_t)size && lseek(fd, 0, SEEK_SET) == 0) {
        cap_json_buf_init = 7;
        int r2 = cap_json_stream_fd(fd, "fuzz.json", visit, &sum2, &n2, &e2);
        /* Streaming in small pieces must see exactly what the whole buffer saw. */
        if (r1 != r2 || n1 != n2 || sum1 != sum2)
            __builtin_trap();
    }
    close(fd);
    return 0;
}
