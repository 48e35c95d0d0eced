/* features_write.h — what quern-features writes to the store: its three feature
 * sets, and one video's rows, pooled per clip and committed with its status. */
#ifndef FEATURES_WRITE_H
#define FEATURES_WRITE_H

#include <stdint.h>

#include "kernels/engine.h"
#include "qn_error.h"
#include "store/store.h"

typedef struct fw_sets {
    qn_fset *s2d, *s3d, *pooled;
} fw_sets;

/* Finds the three sets where they exist (NULL where not), creating nothing; where the
 * 2D or 3D set holds rows already, they must come from these weights (QN_EINPUT naming
 * the set, the file and both hashes otherwise). */
int fw_find_sets(qn_store *st, const char *path2d, const char *sha2d, const char *path3d,
                 const char *sha3d, fw_sets *fs, qn_error *err);

/* Creates (or finds, when they match; an empty one takes these weights) resnet152-2d, resnext101-3d and howto100m-4096,
 * recording the models and the weights' sha256 (kn_weights_sha256: lower-case hex). */
int fw_open_sets(qn_store *st, const char *sha2d, const char *sha3d, fw_sets *fs,
                 qn_error *err);

/* Rounds video_id's rows (n × 2048, L2-normalised) to f16, max-pools every clip of
 * the video like HowTo100M's _get_video, and writes both per-step sets, the pooled
 * rows and status ok in one store batch: a kill never leaves half a video. *n_clips:
 * the clips pooled. */
int fw_write_video(qn_store *st, const fw_sets *fs, int64_t video_id, const float *rows2d,
                   int64_t n2d, const float *rows3d, int64_t n3d, int64_t *n_clips,
                   qn_error *err);

#endif
