/* fuzz_vtt.c — libFuzzer target: the VTT parser and everything after it. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_track(CAP_FMT_VTT, "fuzz.vtt", data, size);
    return 0;
}
