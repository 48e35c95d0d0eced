/* kn_sha256.c — SHA-256 of the weights file, recorded with every feature set. OpenSSL's
 * libcrypto picks the CPU's SHA extensions at run time: about 2 GB/s here, five times
 * libavutil's portable loop, so hashing ResNet-152 and ResNeXt-101 (420 MB in float32)
 * costs 0.2 s of quern-features' start instead of 1.1 s. */
#include <stdio.h>

#include <openssl/evp.h>

#include "kn_internal.h"

int kn_sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(data, len, d, &n, EVP_sha256(), NULL) || n != 32) {
        hex[0] = 0;
        return QN_ENOMEM; /* libcrypto fails only when it cannot allocate its context */
    }
    for (int k = 0; k < 32; k++)
        snprintf(hex + 2 * k, 3, "%02x", d[k]);
    return QN_OK;
}
