/* mask_driver.c — lets tests/test_coco_mask.py compare converters/coco_mask with
 * pycocotools: reads one command per line on stdin, answers one line on stdout.
 *
 *   enc H W BITS              BITS: H*W '0'/'1' in column-major order
 *   poly H W X0 Y0 X1 Y1 ...  pycocotools frPyObjects of one polygon
 *   bbox H W X Y BW BH        pycocotools frPyObjects of one box
 *   counts H W C0 C1 ...      an uncompressed RLE
 *   str H W S                 a compressed string (answers its counts)
 *   merge H W INTERSECT S1 S2 ...
 *   iou H W M N D1..DM G1..GN CROWD   CROWD: N '0'/'1' (answers o[i + M*j])
 *   labels H W MIN_ID V0 V1 ...       row-major label image (answers ID:STRING ...)
 *   decode H W S              answers the column-major '0'/'1' mask
 *
 * Answers: "STRING AREA X Y W H" for masks (boxes as %.17g), or "err STATUS".
 * An empty string is written and read as "-". Numbers are read with strtod, so
 * Python's repr() of a float arrives bit for bit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "converters/coco_mask.h"
#include "qn_error.h"

#define MAXTOK (1 << 22)

static char *tok[MAXTOK];
static size_t ntok;

static void split(char *line)
{
    ntok = 0;
    for (char *t = strtok(line, " \t\r\n"); t && ntok < MAXTOK; t = strtok(NULL, " \t\r\n"))
        tok[ntok++] = t;
}

static const char *str_arg(const char *t)
{
    return strcmp(t, "-") ? t : "";
}

static void print_mask(const qn_rle *r)
{
    char *s = qn_rle_to_string(r);
    double bb[4];
    qn_rle_bbox(r, bb);
    printf("%s %llu %.17g %.17g %.17g %.17g\n", *s ? s : "-",
           (unsigned long long)qn_rle_area(r), bb[0], bb[1], bb[2], bb[3]);
    free(s);
}

static int answer(qn_rle *r, int rc)
{
    if (rc)
        printf("err %d\n", rc);
    else
        print_mask(r);
    return rc;
}

/* RLEs from compressed strings tok[first..first+n). */
static int strings_in(qn_rle *v, size_t first, size_t n, uint32_t h, uint32_t w)
{
    for (size_t i = 0; i < n; i++) {
        qn_rle_init(&v[i]);
        int rc = qn_rle_from_string(&v[i], str_arg(tok[first + i]), h, w);
        if (rc)
            return rc;
    }
    return QN_OK;
}

static void cmd_iou(uint32_t h, uint32_t w)
{
    size_t m = strtoul(tok[3], NULL, 10), n = strtoul(tok[4], NULL, 10);
    qn_rle *v = calloc(m + n + 1, sizeof *v);
    double *o = malloc((m * n + 1) * sizeof *o);
    uint8_t *crowd = calloc(n + 1, 1);
    int rc = ntok == 6 + m + n ? strings_in(v, 5, m + n, h, w) : QN_EINPUT;
    for (size_t j = 0; rc == QN_OK && j < n; j++)
        crowd[j] = tok[5 + m + n][j] == '1';
    if (rc == QN_OK)
        rc = qn_rle_iou(v, m, v + m, n, crowd, o);
    if (rc) {
        printf("err %d\n", rc);
    } else {
        for (size_t k = 0; k < m * n; k++)
            printf("%s%.17g", k ? " " : "", o[k]);
        printf("\n");
    }
    for (size_t i = 0; i < m + n; i++)
        qn_rle_free(&v[i]);
    free(v);
    free(o);
    free(crowd);
}

static void cmd_labels(uint32_t h, uint32_t w)
{
    uint32_t min_id = (uint32_t)strtoul(tok[3], NULL, 10);
    size_t a = (size_t)h * w;
    if (ntok != 4 + a) {
        printf("err %d\n", QN_EINPUT);
        return;
    }
    uint16_t *lab = malloc((a + 1) * sizeof *lab);
    for (size_t i = 0; i < a; i++)
        lab[i] = (uint16_t)strtoul(tok[4 + i], NULL, 10);
    qn_label_rles lr;
    int rc = qn_rle_from_labels(&lr, lab, h, w, min_id);
    if (rc) {
        printf("err %d\n", rc);
    } else {
        for (size_t i = 0; i < lr.n; i++) {
            char *s = qn_rle_to_string(&lr.rles[i]);
            printf("%s%u:%s", i ? " " : "", lr.ids[i], s);
            free(s);
        }
        printf("\n");
    }
    qn_label_rles_free(&lr);
    free(lab);
}

static void command(void)
{
    if (ntok < 3) {
        printf("err %d\n", QN_EUSAGE);
        return;
    }
    const char *c = tok[0];
    uint32_t h = (uint32_t)strtoul(tok[1], NULL, 10), w = (uint32_t)strtoul(tok[2], NULL, 10);
    qn_rle r;
    qn_rle_init(&r);
    if (!strcmp(c, "enc") && ntok == 4 && strlen(tok[3]) == (size_t)h * w) {
        uint8_t *m = malloc((size_t)h * w + 1);
        for (size_t i = 0; i < (size_t)h * w; i++)
            m[i] = tok[3][i] == '1';
        answer(&r, qn_rle_encode(&r, m, h, w));
        free(m);
    } else if (!strcmp(c, "poly") && ntok % 2 == 1) {
        size_t k = (ntok - 3) / 2;
        double *xy = malloc((2 * k + 1) * sizeof *xy);
        for (size_t i = 0; i < 2 * k; i++)
            xy[i] = strtod(tok[3 + i], NULL);
        answer(&r, qn_rle_from_poly(&r, xy, k, h, w));
        free(xy);
    } else if (!strcmp(c, "bbox") && ntok == 7) {
        double bb[4];
        for (int i = 0; i < 4; i++)
            bb[i] = strtod(tok[3 + i], NULL);
        answer(&r, qn_rle_from_bbox(&r, bb, h, w));
    } else if (!strcmp(c, "counts")) {
        size_t m = ntok - 3;
        uint32_t *cn = malloc((m + 1) * sizeof *cn);
        for (size_t i = 0; i < m; i++)
            cn[i] = (uint32_t)strtoul(tok[3 + i], NULL, 10);
        answer(&r, qn_rle_from_counts(&r, h, w, cn, m));
        free(cn);
    } else if (!strcmp(c, "str") && ntok == 4) {
        int rc = qn_rle_from_string(&r, str_arg(tok[3]), h, w);
        if (rc) {
            printf("err %d\n", rc);
        } else {
            printf("counts");
            for (size_t i = 0; i < r.m; i++)
                printf(" %u", r.cnts[i]);
            printf("\n");
        }
    } else if (!strcmp(c, "merge") && ntok >= 4) {
        size_t n = ntok - 4;
        qn_rle *v = calloc(n + 1, sizeof *v);
        int rc = strings_in(v, 4, n, h, w);
        if (rc == QN_OK)
            rc = qn_rle_merge(&r, v, n, atoi(tok[3]));
        answer(&r, rc);
        for (size_t i = 0; i < n; i++)
            qn_rle_free(&v[i]);
        free(v);
    } else if (!strcmp(c, "iou") && ntok >= 6) {
        cmd_iou(h, w);
    } else if (!strcmp(c, "labels") && ntok >= 4) {
        cmd_labels(h, w);
    } else if (!strcmp(c, "decode") && ntok == 4) {
        int rc = qn_rle_from_string(&r, str_arg(tok[3]), h, w);
        if (rc) {
            printf("err %d\n", rc);
        } else {
            size_t a = (size_t)h * w;
            uint8_t *m = malloc(a + 1);
            qn_rle_decode(&r, m);
            for (size_t i = 0; i < a; i++)
                m[i] = m[i] ? '1' : '0';
            m[a] = 0;
            printf("%s\n", a ? (char *)m : "-");
            free(m);
        }
    } else {
        printf("err %d\n", QN_EUSAGE);
    }
    qn_rle_free(&r);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "usage: %s < commands (see the top of tests/mask_driver.c)\n", argv[0]);
        return 2;
    }
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, stdin) > 0) {
        split(line);
        if (ntok)
            command();
    }
    free(line);
    return 0;
}
