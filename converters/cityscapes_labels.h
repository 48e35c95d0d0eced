/* cityscapes_labels.h — the upstream cityscapesScripts label table (helpers/labels.py),
 * the parts a COCO converter needs: name, id, hasInstances, ignoreInEval. */
#ifndef CITYSCAPES_LABELS_H
#define CITYSCAPES_LABELS_H

typedef struct cs_label {
    const char *name;
    int id;               /* -1 for 'license plate' (never drawn) */
    int has_instances;
    int ignore_in_eval;
} cs_label;

/* By id (0..33), NULL for any other id (MMDetection would raise KeyError). */
const cs_label *cs_label_by_id(long id);
/* By exact name, NULL if unknown. */
const cs_label *cs_label_by_name(const char *name);

/* The labels MMDetection keeps (hasInstances and not ignoreInEval), in table order:
 * 24 person, 25 rider, 26 car, 27 truck, 28 bus, 31 train, 32 motorcycle, 33 bicycle. */
#define CS_NUM_EVAL 8
extern const cs_label *const cs_eval_labels[CS_NUM_EVAL];
/* 1..8 for an evaluated label id, 0 for any other id. */
int cs_eval_index(int id);

#endif
