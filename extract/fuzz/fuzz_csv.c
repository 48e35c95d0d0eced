/* fuzz_csv.c — libFuzzer target: MIL-NCE start,end,text CSV captions and HowTo100M_v1.csv
 * metadata rows (RFC 4180 quoting, odd line ends). */
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"

static int row(void *ud, const cap_meta_row *r, qn_error *err)
{
    size_t *n = ud;
    *n += strlen(r->video_id) + strlen(r->category_1) + strlen(r->category_2);
    return QN_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_track(CAP_FMT_CSV, "fuzz.csv", data, size);
    size_t n = 0;
    qn_error e;
    qn_error_clear(&e);
    cap_meta_csv_parse("fuzz_meta.csv", (const char *)data, size, row, &n, NULL, &e);
    return 0;
}
