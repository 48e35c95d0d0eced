/* store_uuid.c — a random (version 4) UUID naming a store, so that a feature file
 * copied from another store, or a store merged twice, is recognised. */
#include <errno.h>
#include <stdio.h>
#include <sys/random.h>

#include "store_internal.h"

int store_uuid_new(char out[37], qn_error *err)
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        return qn_error_errno(err, QN_EENV, errno, "getrandom");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
    return QN_OK;
}
