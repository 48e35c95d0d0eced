/* fuzz_info_json.c — libFuzzer target: yt-dlp info.json fields. */
#include <stdint.h>
#include <string.h>

#include "captions.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cap_info info;
    qn_error e;
    qn_error_clear(&e);
    if (cap_info_parse(&info, "fuzz.info.json", (const char *)data, size, &e) == QN_OK) {
        size_t n = info.id ? strlen(info.id) : 0;
        n += info.title ? strlen(info.title) : 0;
        for (size_t i = 0; i < info.n_categories; i++)
            n += strlen(info.categories[i]);
        (void)n;
        cap_info_free(&info);
    }
    return 0;
}
