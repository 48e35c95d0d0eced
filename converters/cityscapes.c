/* cityscapes.c — the converter: file discovery, per-image annotation, worker threads
 * with an ordered, bounded hand-over, and the split JSON files. See cityscapes.h. */
#include "cityscapes.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cityscapes_json.h"
#include "cityscapes_labels.h"
#include "cityscapes_poly.h"
#include "coco_mask.h"
#include "imgsize.h"
#include "png16.h"
#include "qn_atomic.h"

#define IMG_SUFFIX "leftImg8bit.png"

/* ------------------------------------------------------------------ annotations */

void cs_anns_clear(cs_anns *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->a[i].counts);
    l->n = 0;
}

void cs_anns_free(cs_anns *l)
{
    if (!l)
        return;
    cs_anns_clear(l);
    free(l->a);
    memset(l, 0, sizeof *l);
}

static cs_ann *anns_push(cs_anns *l)
{
    if (l->n == l->cap) {
        size_t c = l->cap ? l->cap * 2 : 32;
        cs_ann *a = realloc(l->a, c * sizeof *a);
        if (!a)
            return NULL;
        l->a = a;
        l->cap = c;
    }
    cs_ann *a = &l->a[l->n++];
    memset(a, 0, sizeof *a);
    return a;
}

int cs_annotate(const uint16_t *px, uint32_t w, uint32_t h, int contiguous_ids, cs_anns *out,
                const char *name, qn_error *err)
{
    qn_label_rles lr;
    int rc = qn_rle_from_labels(&lr, px, h, w, 24);
    if (rc)
        return qn_error_set(err, rc, "%s: %s", name,
                            rc == QN_ENOMEM ? "out of memory" : "image too large for RLE");
    for (size_t k = 0; k < lr.n && !rc; k++) {
        uint32_t id = lr.ids[k], label = id >= 1000 ? id / 1000 : id;
        const cs_label *L = cs_label_by_id(label);
        if (!L) {
            rc = qn_error_set(err, QN_EINPUT, "%s: pixel value %u is not a Cityscapes id "
                              "(no label %u)", name, id, label);
            break;
        }
        int ev = cs_eval_index(L->id);
        if (!ev)
            continue;
        cs_ann *a = anns_push(out);
        char *s = a ? qn_rle_to_string(&lr.rles[k]) : NULL;
        if (!s) {
            if (a)
                out->n--;
            rc = qn_error_set(err, QN_ENOMEM, "%s: out of memory", name);
            break;
        }
        a->pixel_id = id;
        a->category_id = contiguous_ids ? ev : L->id;
        a->iscrowd = id < 1000;
        a->area = qn_rle_area(&lr.rles[k]);
        qn_rle_bbox(&lr.rles[k], a->bbox);
        a->counts = s;
    }
    qn_label_rles_free(&lr);
    return rc;
}

/* ------------------------------------------------------------------ discovery */

typedef struct item {
    char *rel;        /* "<city>/<stem>leftImg8bit.png" */
    size_t stem_end;  /* offset of IMG_SUFFIX in rel */
    int bad_name;     /* a .png that does not end in leftImg8bit.png */
} item;

typedef struct item_list {
    item *v;
    size_t n, cap;
} item_list;

static void items_free(item_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].rel);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && memcmp(s + n - m, suf, m) == 0;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *join(const char *a, const char *b, const char *c, const char *d)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + strlen(d) + 4;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s%s%s", a, b, c, d);
    return s;
}

static int add_item(item_list *l, const char *city, const char *name)
{
    if (l->n == l->cap) {
        size_t c = l->cap ? l->cap * 2 : 256;
        item *v = realloc(l->v, c * sizeof *v);
        if (!v)
            return QN_ENOMEM;
        l->v = v;
        l->cap = c;
    }
    item *it = &l->v[l->n];
    it->rel = join(city, "/", name, "");
    if (!it->rel)
        return QN_ENOMEM;
    it->bad_name = !ends_with(name, IMG_SUFFIX);
    it->stem_end = strlen(it->rel) - (it->bad_name ? 0 : strlen(IMG_SUFFIX));
    l->n++;
    return QN_OK;
}

/* Lists dir/<city>/<file>.png one level deep (MMDetection's glob of '**' then '*.png'
 * without recursive=True), hidden names excluded as glob does. */
static int list_city(item_list *l, const char *dir, const char *city, qn_error *err)
{
    char *path = join(dir, "/", city, "");
    if (!path)
        return qn_error_set(err, QN_ENOMEM, "out of memory");
    DIR *d = opendir(path);
    if (!d) {
        int rc = qn_error_errno(err, QN_EINPUT, errno, "%s", path);
        free(path);
        return rc;
    }
    struct dirent *de;
    int rc = QN_OK;
    while (!rc && (de = readdir(d)))
        if (de->d_name[0] != '.' && ends_with(de->d_name, ".png"))
            rc = add_item(l, city, de->d_name);
    closedir(d);
    free(path);
    return rc ? qn_error_set(err, QN_ENOMEM, "out of memory") : QN_OK;
}

static int cmp_item(const void *a, const void *b)
{
    return strcmp(((const item *)a)->rel, ((const item *)b)->rel);
}

static int discover(const char *dir, item_list *l, qn_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return qn_error_errno(err, QN_EINPUT, errno, "%s", dir);
    struct dirent *de;
    int rc = QN_OK;
    while (!rc && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char *sub = join(dir, "/", de->d_name, "");
        if (!sub) {
            rc = qn_error_set(err, QN_ENOMEM, "out of memory");
            break;
        }
        if (is_dir(sub))
            rc = list_city(l, dir, de->d_name, err);
        free(sub);
    }
    closedir(d);
    if (rc)
        return rc;
    if (l->n == 0)
        return qn_error_set(err, QN_EINPUT, "%s: no images (<city>/*_leftImg8bit.png)", dir);
    qsort(l->v, l->n, sizeof *l->v, cmp_item);
    return QN_OK;
}

/* ------------------------------------------------------------------ workers */

typedef struct result {
    int ready;
    int status;
    qn_error err;
    uint32_t w, h;
    cs_anns anns;
} result;

typedef struct job {
    const cs_options *o;
    const char *split;
    const item_list *items;
    size_t window;
    result *slots;          /* window slots; image i uses slots[i % window] */
    pthread_mutex_t mu;
    pthread_cond_t ready, space;
    size_t next, emitted;   /* next image to claim; images handed to the writer */
    int stop;
} job;

/* Path of the GT file of item it (instanceIds PNG or polygons JSON). */
static char *gt_path(const cs_options *o, const char *split, const item *it)
{
    size_t n = strlen(o->root) + strlen(split) + it->stem_end + 64;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/gtFine/%s/%.*s%s", o->root, split, (int)it->stem_end, it->rel,
                 o->from_polygons ? "gtFine_polygons.json" : "gtFine_instanceIds.png");
    return s;
}

/* The GT must have the size of its image (read from the image's header only). */
static int check_size(const cs_options *o, const char *split, const item *it, const char *gt,
                      uint32_t w, uint32_t h, qn_error *err)
{
    char *img = malloc(strlen(o->root) + strlen(split) + strlen(it->rel) + 32);
    if (!img)
        return qn_error_set(err, QN_ENOMEM, "out of memory");
    sprintf(img, "%s/leftImg8bit/%s/%s", o->root, split, it->rel);
    imgsize_info info;
    int rc = imgsize_probe(img, &info, err);
    if (!rc && (info.raw_width != w || info.raw_height != h))
        rc = qn_error_set(err, QN_EINPUT, "%s: size %ux%u does not match %s (%ux%u)", gt, w, h,
                          img, info.raw_width, info.raw_height);
    free(img);
    return rc;
}

static void do_image(job *j, size_t i, qn_png16 *dec, cs_canvas *cv, result *r)
{
    const item *it = &j->items->v[i];
    const cs_options *o = j->o;
    qn_error_clear(&r->err);
    cs_anns_clear(&r->anns);
    if (it->bad_name) {
        r->status = qn_error_set(&r->err, QN_EINPUT, "%s/leftImg8bit/%s/%s: not a "
                                 "*_" IMG_SUFFIX " file", o->root, j->split, it->rel);
        return;
    }
    char *path = gt_path(o, j->split, it);
    if (!path) {
        r->status = qn_error_set(&r->err, QN_ENOMEM, "out of memory");
        return;
    }
    const uint16_t *px;
    int rc;
    if (o->from_polygons) {
        rc = cs_poly_render(path, cv, &r->err);
        px = cv->px, r->w = cv->w, r->h = cv->h;
    } else {
        qn_png16_image img;
        rc = qn_png16_read_file(dec, path, o->allow_8bit ? QN_PNG16_ALLOW_LOWDEPTH : 0, &img,
                                &r->err);
        px = img.px, r->w = img.w, r->h = img.h;
    }
    if (!rc)
        rc = check_size(o, j->split, it, path, r->w, r->h, &r->err);
    if (!rc)
        rc = cs_annotate(px, r->w, r->h, o->contiguous_ids, &r->anns, path, &r->err);
    r->status = rc;
    free(path);
}

static void *worker(void *arg)
{
    job *j = arg;
    qn_png16 *dec = qn_png16_new();
    cs_canvas cv = {0};
    if (dec) /* ids < 24 are never annotated: let the decoder flatten them to 0 */
        qn_png16_zero_below(dec, 24);
    pthread_mutex_lock(&j->mu);
    for (;;) {
        while (!j->stop && j->next < j->items->n && j->next >= j->emitted + j->window)
            pthread_cond_wait(&j->space, &j->mu);
        if (j->stop || j->next >= j->items->n)
            break;
        size_t i = j->next++;
        result *r = &j->slots[i % j->window];
        pthread_mutex_unlock(&j->mu);
        if (dec) {
            do_image(j, i, dec, &cv, r);
        } else {
            qn_error_clear(&r->err);
            r->status = qn_error_set(&r->err, QN_ENOMEM, "out of memory");
        }
        pthread_mutex_lock(&j->mu);
        r->ready = 1;
        pthread_cond_broadcast(&j->ready);
    }
    pthread_mutex_unlock(&j->mu);
    qn_png16_free(dec);
    cs_canvas_free(&cv);
    return NULL;
}

/* ------------------------------------------------------------------ one split */

typedef struct split_out {
    qn_atomic af;
    int open;
} split_out;

/* Copies the spilled annotation text into the output. */
static int copy_spill(FILE *spill, FILE *out, const char *path, qn_error *err)
{
    char buf[1 << 16];
    size_t n;
    if (fflush(spill) != 0 || fseek(spill, 0, SEEK_SET) != 0)
        return qn_error_errno(err, QN_EENV, errno, "%s: temporary file", path);
    while ((n = fread(buf, 1, sizeof buf, spill)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            return qn_error_errno(err, QN_EENV, errno, "%s", path);
    if (ferror(spill))
        return qn_error_errno(err, QN_EENV, errno, "%s: temporary file", path);
    return QN_OK;
}

static FILE *open_spill(const char *outdir, qn_error *err)
{
    char *tmpl = join(outdir, "/.quern-cityscapes-", "XXXXXX", "");
    if (!tmpl) {
        qn_error_set(err, QN_ENOMEM, "out of memory");
        return NULL;
    }
    int fd = mkstemp(tmpl);
    if (fd < 0) {
        qn_error_errno(err, QN_EENV, errno, "%s: cannot create a temporary file", outdir);
        free(tmpl);
        return NULL;
    }
    unlink(tmpl); /* nothing to clean up whatever happens */
    free(tmpl);
    FILE *f = fdopen(fd, "w+");
    if (!f) {
        qn_error_errno(err, QN_EENV, errno, "%s: temporary file", outdir);
        close(fd);
    }
    return f;
}

static int nthreads(const cs_options *o, size_t nimages)
{
    long n = o->threads > 0 ? o->threads : sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    if (n > 256)
        n = 256;
    if ((size_t)n > nimages)
        n = (long)nimages;
    return (int)n;
}

/* Writes the annotations of finished images in order to the spill file; fills w/h
 * (0 for a skipped image). */
static int collect(job *j, const cs_callbacks *cb, FILE *spill, uint32_t *wh, cs_stats *st,
                   size_t *nann, qn_error *err)
{
    int rc = QN_OK;
    size_t img_id = j->o->start_id;
    for (size_t e = 0; e < j->items->n && !rc; e++) {
        result *r = &j->slots[e % j->window];
        pthread_mutex_lock(&j->mu);
        while (!r->ready)
            pthread_cond_wait(&j->ready, &j->mu);
        pthread_mutex_unlock(&j->mu);
        if (r->status == QN_EINPUT && j->o->skip_missing) {
            st->skipped++;
            if (cb && cb->skipped)
                cb->skipped(cb->ctx, r->err.msg);
        } else if (r->status) {
            qn_error_set(err, r->status, "%s", r->err.msg);
            rc = r->status;
        } else {
            wh[2 * e] = r->w;
            wh[2 * e + 1] = r->h;
            for (size_t k = 0; k < r->anns.n; k++) {
                if (*nann)
                    fputs(", ", spill);
                cs_json_ann(spill, &r->anns.a[k], r->h, r->w, img_id, j->o->start_id + (*nann)++);
                st->crowd += r->anns.a[k].iscrowd;
            }
            img_id++;
            st->images++;
        }
        cs_anns_clear(&r->anns);
        pthread_mutex_lock(&j->mu);
        r->ready = 0;
        j->emitted++;
        if (rc)
            j->stop = 1;
        pthread_cond_broadcast(&j->space);
        pthread_mutex_unlock(&j->mu);
        if (cb && cb->image_done)
            cb->image_done(cb->ctx, e + 1, j->items->n);
    }
    if (!rc && ferror(spill))
        rc = qn_error_errno(err, QN_EENV, errno, "temporary annotation file");
    return rc;
}

/* The images array; a failed write is reported at once, while errno still holds
 * its cause (the stream drops what it could not write, so no later flush sees it). */
static int write_images(FILE *f, const char *path, const item_list *items, const uint32_t *wh,
                        size_t start_id, qn_error *err)
{
    size_t longest = 0, id = start_id;
    for (size_t i = 0; i < items->n; i++)
        if (items->v[i].stem_end > longest)
            longest = items->v[i].stem_end;
    char *segm = malloc(longest + 32);
    if (!segm)
        return qn_error_set(err, QN_ENOMEM, "out of memory");
    for (size_t i = 0; i < items->n; i++) {
        if (!wh[2 * i])
            continue; /* skipped */
        const item *it = &items->v[i];
        snprintf(segm, longest + 32, "%.*sgtFine_labelIds.png", (int)it->stem_end, it->rel);
        if (id != start_id)
            fputs(", ", f);
        cs_json_image(f, it->rel, segm, wh[2 * i + 1], wh[2 * i], id++);
        if (ferror(f)) {
            int e = errno ? errno : EIO;
            free(segm);
            return qn_error_errno(err, QN_EENV, e, "%s: cannot write output", path);
        }
    }
    free(segm);
    return QN_OK;
}

static int convert_split(const cs_options *o, const char *outdir, const char *split,
                         split_out *so, const cs_callbacks *cb, cs_stats *st, qn_error *err)
{
    char *dir = join(o->root, "/leftImg8bit/", split, "");
    if (!dir)
        return qn_error_set(err, QN_ENOMEM, "out of memory");
    item_list items = {0};
    int rc = discover(dir, &items, err);
    free(dir);
    if (rc) {
        items_free(&items);
        return rc;
    }
    if (cb && cb->split_start)
        cb->split_start(cb->ctx, split, items.n);

    int nt = nthreads(o, items.n);
    job j;
    memset(&j, 0, sizeof j);
    j.o = o;
    j.split = split;
    j.items = &items;
    j.window = (size_t)nt * 4 + 4;
    j.slots = calloc(j.window, sizeof *j.slots);
    uint32_t *wh = calloc(items.n * 2, sizeof *wh);
    pthread_t *th = calloc((size_t)nt, sizeof *th);
    FILE *spill = NULL;
    if (!j.slots || !wh || !th)
        rc = qn_error_set(err, QN_ENOMEM, "out of memory");
    if (!rc && !(spill = open_spill(outdir, err)))
        rc = err->status ? err->status : QN_EENV;
    int started = 0;
    if (!rc) {
        pthread_mutex_init(&j.mu, NULL);
        pthread_cond_init(&j.ready, NULL);
        pthread_cond_init(&j.space, NULL);
        for (; started < nt; started++)
            if (pthread_create(&th[started], NULL, worker, &j) != 0)
                break;
        if (started == 0)
            rc = qn_error_set(err, QN_EENV, "cannot start worker threads");
    }
    size_t nann = 0, before_crowd = st->crowd;
    if (!rc)
        rc = collect(&j, cb, spill, wh, st, &nann, err);
    if (started) {
        pthread_mutex_lock(&j.mu);
        j.stop = 1;
        pthread_cond_broadcast(&j.space);
        pthread_mutex_unlock(&j.mu);
        for (int t = 0; t < started; t++)
            pthread_join(th[t], NULL);
        pthread_mutex_destroy(&j.mu);
        pthread_cond_destroy(&j.ready);
        pthread_cond_destroy(&j.space);
    }
    if (!rc) {
        char name[256];
        snprintf(name, sizeof name, "/instancesonly_filtered_gtFine_%s.json", split);
        char *path = join(outdir, name, "", "");
        if (!path)
            rc = qn_error_set(err, QN_ENOMEM, "out of memory");
        if (!rc)
            rc = qn_atomic_open(&so->af, path, err);
        if (!rc) {
            so->open = 1;
            FILE *f = so->af.fp;
            fputs("{\"images\": [", f);
            rc = write_images(f, path, &items, wh, o->start_id, err);
            fputs("], \"categories\": ", f);
            cs_json_categories(f, o->contiguous_ids);
            fputs(", \"annotations\": [", f);
            if (!rc)
                rc = copy_spill(spill, f, path, err);
            fputs("]}", f);
            if (!rc) /* now, while an unchecked fputs' failure can be told (EFBIG, ENOSPC) */
                rc = qn_atomic_sync(&so->af, err);
        }
        free(path);
    }
    st->annotations += rc ? 0 : nann;
    if (rc)
        st->crowd = before_crowd;
    if (spill)
        fclose(spill);
    if (j.slots)
        for (size_t k = 0; k < j.window; k++)
            cs_anns_free(&j.slots[k].anns);
    free(j.slots);
    free(wh);
    free(th);
    items_free(&items);
    return rc;
}

/* ------------------------------------------------------------------ all splits */

/* Sets *made when this call created the folder, so that a failed run can remove it. */
static int make_dir(const char *path, int *made, qn_error *err)
{
    *made = mkdir(path, 0777) == 0;
    if (*made || (errno == EEXIST && is_dir(path)))
        return QN_OK;
    /* a bad path is bad usage (2); permissions, read-only or full disks map to 3 */
    return qn_error_errno(err, QN_EINPUT, errno, "%s: cannot create output folder", path);
}

int cs_convert(const cs_options *o, const cs_callbacks *cb, cs_stats *st, qn_error *err)
{
    static const char *const defaults[] = {"train", "val", "test"};
    memset(st, 0, sizeof *st);
    const char *const *splits = o->splits ? o->splits : defaults;
    size_t nsplits = o->splits ? o->nsplits : 3;
    char *imgdir = join(o->root, "/leftImg8bit", "", "");
    if (!imgdir)
        return qn_error_set(err, QN_ENOMEM, "out of memory");
    errno = 0;
    int rc = is_dir(o->root) ? QN_OK
                             : qn_error_errno(err, QN_EINPUT, errno ? errno : ENOTDIR, "%s",
                                              o->root);
    if (!rc && !is_dir(imgdir))
        rc = qn_error_set(err, QN_EINPUT, "%s: no leftImg8bit folder (is this a Cityscapes "
                          "root?)", imgdir);
    /* which splits: all named ones must exist; of the defaults, those present */
    const char **todo = calloc(nsplits ? nsplits : 1, sizeof *todo);
    size_t ntodo = 0;
    if (!todo && !rc)
        rc = qn_error_set(err, QN_ENOMEM, "out of memory");
    for (size_t i = 0; i < nsplits && !rc; i++) {
        char *d = join(imgdir, "/", splits[i], "");
        if (!d) {
            rc = qn_error_set(err, QN_ENOMEM, "out of memory");
            break;
        }
        if (is_dir(d))
            todo[ntodo++] = splits[i];
        else if (o->splits)
            rc = qn_error_set(err, QN_EINPUT, "%s: split folder not found", d);
        free(d);
    }
    if (!rc && ntodo == 0)
        rc = qn_error_set(err, QN_EINPUT, "%s: none of train, val, test is there", imgdir);
    int made = 0;
    char *outdir = o->outdir ? strdup(o->outdir) : join(o->root, "/annotations", "", "");
    if (!rc && !outdir)
        rc = qn_error_set(err, QN_ENOMEM, "out of memory");
    if (!rc)
        rc = make_dir(outdir, &made, err);
    split_out *outs = calloc(ntodo ? ntodo : 1, sizeof *outs);
    if (!rc && !outs)
        rc = qn_error_set(err, QN_ENOMEM, "out of memory");
    for (size_t i = 0; i < ntodo && !rc; i++) {
        rc = convert_split(o, outdir, todo[i], &outs[i], cb, st, err);
        st->splits += !rc;
    }
    /* commit together: a failure in any split leaves no output at all (each output
     * was synced, its write errors surfaced, right after it was written) */
    for (size_t i = 0; outs && i < ntodo; i++) {
        if (!outs[i].open)
            continue;
        if (!rc)
            rc = qn_atomic_commit(&outs[i].af, err);
        else
            qn_atomic_abort(&outs[i].af);
    }
    if (rc && made)
        rmdir(outdir); /* nothing was written: leave no empty folder behind */
    free(outs);
    free(outdir);
    free(todo);
    free(imgdir);
    return rc;
}
