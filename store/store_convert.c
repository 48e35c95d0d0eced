/* store_convert.c — rows between the caller's dtype and a feature set's (common/qn_half). */
#include <string.h>

#include "qn_half.h"
#include "store_internal.h"

void store_convert(void *dst, int dst_dtype, const void *src, int src_dtype, size_t n)
{
    if (dst_dtype == src_dtype)
        memcpy(dst, src, n * qn_dtype_size(dst_dtype));
    else if (dst_dtype == QN_F16)
        qn_f32_to_f16_n(dst, src, n);
    else
        qn_f16_to_f32_n(dst, src, n);
}

size_t qn_dtype_size(int dtype)
{
    return dtype == QN_F16 ? 2 : dtype == QN_F32 ? 4 : 0;
}
