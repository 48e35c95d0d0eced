/* qn_sha256.h — SHA-256 (FIPS 180-4), for the hashes quern records: the weights files of
 * every feature set, and videos' contents (quern-clips --sha256).
 *
 * On x86-64 CPUs with the SHA extensions the blocks go through them (1.5 GB/s here, four
 * times libavutil's portable loop), chosen once at run time; elsewhere, or with
 * QUERN_NO_SHA_NI=1, through portable C (about libavutil's speed). Both give the same
 * digest. No library needed.
 * A qn_sha256 is used by one thread at a time; different ones by any threads.
 */
#ifndef QN_SHA256_H
#define QN_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct qn_sha256 {
    uint32_t h[8];
    uint64_t bytes;     /* hashed so far */
    uint8_t buf[64];    /* a partial block */
    size_t nbuf;
} qn_sha256;

void qn_sha256_init(qn_sha256 *s);
void qn_sha256_update(qn_sha256 *s, const void *data, size_t n);
/* The digest; s must be initialised again before another use. */
void qn_sha256_final(qn_sha256 *s, uint8_t digest[32]);
/* Lower-case hex of a digest: 64 characters and a NUL. */
void qn_sha256_hex(const uint8_t digest[32], char hex[65]);
/* One buffer's hash, as lower-case hex. */
void qn_sha256_buf_hex(const void *data, size_t n, char hex[65]);

/* Tests: 1 forces the portable blocks, 0 restores the run-time choice. Returns whether
 * the SHA extensions are in use after the call. Not thread-safe. */
int qn_sha256_force_portable(int on);

#endif
