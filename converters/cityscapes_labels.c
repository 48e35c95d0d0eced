/* cityscapes_labels.c — see cityscapes_labels.h. Copied as facts from upstream
 * cityscapesScripts helpers/labels.py (some forks change hasInstances; we do not). */
#include "cityscapes_labels.h"

#include <string.h>

static const cs_label TABLE[] = {
    {"unlabeled", 0, 0, 1},        {"ego vehicle", 1, 0, 1},   {"rectification border", 2, 0, 1},
    {"out of roi", 3, 0, 1},       {"static", 4, 0, 1},        {"dynamic", 5, 0, 1},
    {"ground", 6, 0, 1},           {"road", 7, 0, 0},          {"sidewalk", 8, 0, 0},
    {"parking", 9, 0, 1},          {"rail track", 10, 0, 1},   {"building", 11, 0, 0},
    {"wall", 12, 0, 0},            {"fence", 13, 0, 0},        {"guard rail", 14, 0, 1},
    {"bridge", 15, 0, 1},          {"tunnel", 16, 0, 1},       {"pole", 17, 0, 0},
    {"polegroup", 18, 0, 1},       {"traffic light", 19, 0, 0}, {"traffic sign", 20, 0, 0},
    {"vegetation", 21, 0, 0},      {"terrain", 22, 0, 0},      {"sky", 23, 0, 0},
    {"person", 24, 1, 0},          {"rider", 25, 1, 0},        {"car", 26, 1, 0},
    {"truck", 27, 1, 0},           {"bus", 28, 1, 0},          {"caravan", 29, 1, 1},
    {"trailer", 30, 1, 1},         {"train", 31, 1, 0},        {"motorcycle", 32, 1, 0},
    {"bicycle", 33, 1, 0},         {"license plate", -1, 0, 1},
};
#define NLABELS (sizeof TABLE / sizeof TABLE[0])

const cs_label *const cs_eval_labels[CS_NUM_EVAL] = {
    &TABLE[24], &TABLE[25], &TABLE[26], &TABLE[27], &TABLE[28], &TABLE[31], &TABLE[32], &TABLE[33],
};

const cs_label *cs_label_by_id(long id)
{
    return id >= 0 && id <= 33 ? &TABLE[id] : NULL; /* rows 0..33 are in id order */
}

const cs_label *cs_label_by_name(const char *name)
{
    for (size_t i = 0; i < NLABELS; i++)
        if (strcmp(TABLE[i].name, name) == 0)
            return &TABLE[i];
    return NULL;
}

int cs_eval_index(int id)
{
    for (int i = 0; i < CS_NUM_EVAL; i++)
        if (cs_eval_labels[i]->id == id)
            return i + 1;
    return 0;
}
