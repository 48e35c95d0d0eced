/* Kill test of the store: run tests/store_killer (a writer ingesting synthetic batches),
 * SIGKILL it at random moments, 200+ times, and after every kill check that the store
 * opens, verify passes, and it holds exactly the batches whose commit returned (the "C n"
 * lines of the log), plus at most the one batch in flight ("B n" without "C n": its
 * commit may have returned just before the kill, before the log line) — each whole. */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "qn_half.h"
#include "store/store.h"
#include "store/store_internal.h"

/* Identical to tests/store_killer.c. */
enum { KILL_VPB = 3, KILL_CLIPS = 5, KILL_DIM_STEP = 96, KILL_DIM_CLIP = 32, KILL_MAX_ROWS = 40 };

static inline int kill_rows(int64_t b, int k)
{
    return 8 + (int)((b * 7 + k * 3) % (KILL_MAX_ROWS - 8));
}

static inline float kill_value(int64_t b, int k, int r, int j)
{
    return (float)((b * 131 + k * 17 + r * 5 + j) % 251) / 64.0f - 2.0f;
}

enum { MAX_BATCHES = 100000 };

static char killer[512];

static void find_killer(void)
{
    const char *dir = getenv("QUERN_TEST_TOOLS");
    snprintf(killer, sizeof killer, "%s/store_killer", dir ? dir : "build/rel/tests");
    ck_assert_msg(access(killer, X_OK) == 0, "%s not built (make tests-built)", killer);
}

/* Reads the log: committed[b] = 1 for "C b", begun[b] = 1 for "B b"; *inflight = the last
 * "B b" without its "C b". */
static int64_t read_log(const char *path, unsigned char *committed, unsigned char *begun,
                        int64_t *inflight)
{
    FILE *f = fopen(path, "r");
    *inflight = -1;
    int64_t n = 0;
    if (!f)
        return 0;
    char what;
    long long b;
    while (fscanf(f, " %c %lld", &what, &b) == 2) {
        ck_assert(b >= 0 && b < MAX_BATCHES);
        if (what == 'B') {
            *inflight = b;
            begun[b] = 1;
        } else if (what == 'C') {
            ck_assert_int_eq(*inflight, b);
            committed[b] = 1;
            *inflight = -1;
            n++;
        }
    }
    fclose(f);
    return n;
}

/* Every row of video k of batch b, its clips and their rows. */
static void check_video(qn_store *s, qn_fset *ps, qn_fset *pc, const qn_store_video *v, int64_t b,
                        int k)
{
    const void *rows;
    int64_t n;
    qn_error e;
    qn_error_clear(&e);
    ck_assert_int_eq(qn_fset_video_rows(s, ps, v->id, &rows, &n, &e), QN_OK);
    ck_assert_int_eq(n, kill_rows(b, k));
    const uint16_t *h = rows;
    for (int r = 0; r < n; r++)
        for (int j = 0; j < KILL_DIM_STEP; j++)
            ck_assert_msg(qn_f16_to_f32(h[r * KILL_DIM_STEP + j]) == kill_value(b, k, r, j),
                          "batch %lld video %d row %d col %d torn", (long long)b, k, r, j);
    qn_clip_iter *it;
    ck_assert_int_eq(qn_store_clip_iter(s, v->id, &it, &e), QN_OK);
    qn_store_clip c;
    int i = 0;
    while (qn_store_clip_next(it, &c, &e) == 1) {
        ck_assert_int_eq(c.index, i);
        ck_assert_int_eq(c.n_tokens, 3);
        ck_assert_int_eq(c.tokens[0], (int32_t)b);
        const void *row;
        ck_assert_int_eq(qn_fset_clip_row(s, pc, c.id, &row, &e), QN_OK);
        ck_assert_ptr_nonnull(row);
        ck_assert(((const float *)row)[KILL_DIM_CLIP - 1] ==
                  kill_value(b, k, 1000 + i, KILL_DIM_CLIP - 1));
        i++;
    }
    qn_store_clip_iter_free(it);
    ck_assert_int_eq(i, KILL_CLIPS);
}

/* Checks the store against the log; returns the number of batches in it. */
static int count_commits(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, c;
    if (!f)
        return 0;
    while ((c = getc(f)) != EOF)
        n += c == 'C';
    fclose(f);
    return n;
}

/* seen: batches found in the store after an earlier kill; they must stay. */
static unsigned char seen[MAX_BATCHES];

static int64_t check_store(const char *dir, const unsigned char *committed,
                           const unsigned char *begun, int64_t inflight, int64_t n_committed,
                           int full)
{
    static unsigned char present[MAX_BATCHES];
    static int count[MAX_BATCHES];
    memset(present, 0, sizeof present);
    memset(count, 0, sizeof count);
    qn_store *s;
    qn_error e;
    qn_error_clear(&e);
    int rc = qn_store_open(dir, QN_STORE_READ, &s, &e);
    if (rc && n_committed == 0 && inflight < 0)
        return 0; /* killed before the store was ever created */
    ck_assert_msg(rc == QN_OK, "open after kill: %s", e.msg);
    int64_t np = -1;
    ck_assert_msg(qn_store_verify(s, NULL, NULL, &np, &e) == QN_OK, "verify: %s", e.msg);
    qn_fset *ps = NULL, *pc = NULL;
    qn_fset_find(s, "step", &ps, &e);
    qn_fset_find(s, "clip", &pc, &e);
    qn_video_iter *it;
    ck_assert_int_eq(qn_store_video_iter(s, NULL, &it, &e), QN_OK);
    qn_store_video v;
    int64_t max_b = -1;
    while (qn_store_video_next(it, &v, &e) == 1) {
        long long b;
        int k;
        ck_assert_int_eq(sscanf(v.ext_id, "b%lld-v%d", &b, &k), 2);
        ck_assert(b >= 0 && b < MAX_BATCHES);
        present[b] = 1;
        count[b]++;
        max_b = b > max_b ? b : max_b;
        ck_assert_ptr_nonnull(ps);
        if (full || b + 2 >= inflight)
            check_video(s, ps, pc, &v, b, k);
    }
    qn_store_video_iter_free(it);
    qn_store_close(s);
    int64_t n = 0;
    for (int64_t b = 0; b <= max_b || b < MAX_BATCHES / 100; b++) {
        if (committed[b] || seen[b])
            ck_assert_msg(present[b], "batch %lld committed but lost", (long long)b);
        if (present[b]) {
            seen[b] = 1;
            ck_assert_msg(begun[b], "batch %lld present but never begun", (long long)b);
            ck_assert_msg(count[b] == KILL_VPB, "batch %lld partial: %d videos", (long long)b,
                          count[b]);
            n++;
        }
    }
    return n;
}

START_TEST(kill_at_random_moments)
{
    find_killer();
    char dir[] = "/tmp/qn_kill_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char store[64], log[64];
    snprintf(store, sizeof store, "%s/s", dir);
    snprintf(log, sizeof log, "%s/log", dir);
    static unsigned char committed[MAX_BATCHES], begun[MAX_BATCHES];
    int kills = getenv("QN_KILLS") ? atoi(getenv("QN_KILLS")) : 200;
    unsigned seed = (unsigned)time(NULL);
    srand(seed);
    int64_t in_store = 0, inflight_kept = 0;
    double t0 = (double)clock();
    for (int i = 0; i < kills; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 2);
            execl(killer, killer, store, log, (char *)NULL);
            _exit(127);
        }
        /* odd runs: 0..60 ms after the start, so some kills land in open and truncation;
         * even runs: 0..30 ms after the writer's first commit of this run, so they land in
         * the next batch or its commit however slow the start is (sanitizers) */
        if (i % 2) {
            usleep((useconds_t)(rand() % 60000));
        } else {
            int before = count_commits(log);
            for (int t = 0; t < 5000 && count_commits(log) == before; t++)
                usleep(1000);
            usleep((useconds_t)(rand() % 30000));
        }
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        ck_assert_msg(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0),
                      "run %d (seed %u): store_killer exited with %d before the kill", i, seed,
                      WEXITSTATUS(status));
        memset(committed, 0, sizeof committed);
        memset(begun, 0, sizeof begun);
        int64_t inflight, n_begun = 0;
        int64_t n_committed = read_log(log, committed, begun, &inflight);
        for (int b = 0; b < MAX_BATCHES; b++)
            n_begun += begun[b];
        in_store = check_store(store, committed, begun, inflight, n_committed, i == kills - 1);
        /* every committed batch is there (checked above); beyond them, only batches whose
         * commit returned just before the kill, before the writer could log it */
        ck_assert_msg(in_store >= n_committed && in_store <= n_begun,
                      "run %d (seed %u): %lld batches stored, %lld committed, %lld begun", i,
                      seed, (long long)in_store, (long long)n_committed, (long long)n_begun);
        inflight_kept = in_store - n_committed;
    }
    printf("kill test: %d kills, %lld batches in the store, %lld of them committed just "
           "before a kill (not logged), %.1f s CPU (seed %u)\n", kills, (long long)in_store,
           (long long)inflight_kept, ((double)clock() - t0) / CLOCKS_PER_SEC, seed);
    ck_assert_int_ge(in_store, kills / 2); /* every even run committed at least once */
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

Suite *store_kill_suite(void)
{
    Suite *s = suite_create("store_kill");
    TCase *tc = tcase_create("kill");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, kill_at_random_moments);
    suite_add_tcase(s, tc);
    return s;
}

QN_CHECK_MAIN(store_kill_suite)
