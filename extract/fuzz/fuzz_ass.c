/* fuzz_ass.c — libFuzzer target: the ASS parser and everything after it. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_track(CAP_FMT_ASS, "fuzz.ass", data, size);
    return 0;
}
