/* kn_safetensors.h — read-only, mmap'd safetensors files.
 *
 * Format (huggingface/safetensors): u64 LE header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 * "__metadata__": {str: str}}, then the byte buffer; offsets are relative to the
 * buffer, which must be covered without holes or overlaps.
 */
#ifndef KN_SAFETENSORS_H
#define KN_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "qn_error.h"

typedef struct kn_st_tensor {
    char *name;
    char dtype[8];     /* "F32", "F16", "BF16", ... */
    int ndim;
    int64_t shape[8];
    const uint8_t *data; /* into the mapping */
    size_t nbytes;
} kn_st_tensor;

typedef struct kn_st_file {
    char *path;
    const uint8_t *map;
    size_t size;
    kn_st_tensor *t;
    int n;
} kn_st_file;

/* Maps and validates `path`. Errors name the file and the tensor. */
int kn_st_open(const char *path, kn_st_file **out, qn_error *err);
void kn_st_close(kn_st_file *f);
const kn_st_tensor *kn_st_find(const kn_st_file *f, const char *name);
/* QN_OK for the dtypes kn_st_read_f32 takes (F32, F16, BF16), else QN_EINPUT naming it. */
int kn_st_check_float(const kn_st_file *f, const kn_st_tensor *t, qn_error *err);
/* Copies a F32/F16/BF16 tensor into out (numel floats). QN_EINPUT on other dtypes. */
int kn_st_read_f32(const kn_st_file *f, const kn_st_tensor *t, float *out, qn_error *err);
/* "[64,3,7,7]" */
void kn_st_shape_str(const int64_t *shape, int ndim, char *buf, size_t len);

#endif
