/* fuzz_srt.c — libFuzzer target: the SRT parser and everything after it. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_track(CAP_FMT_SRT, "fuzz.srt", data, size);
    return 0;
}
