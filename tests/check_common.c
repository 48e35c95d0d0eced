/* Unit tests for common/: error records, atomic output. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "qn_atomic.h"
#include "qn_error.h"

START_TEST(error_first_wins)
{
    qn_error e;
    qn_error_clear(&e);
    ck_assert_int_eq(qn_error_set(&e, QN_EINPUT, "a.json:%d:%d: bad", 3, 4), QN_EINPUT);
    ck_assert_int_eq(qn_error_set(&e, QN_EENV, "later"), QN_EENV);
    ck_assert_str_eq(e.msg, "a.json:3:4: bad");
    ck_assert_int_eq(e.status, QN_EINPUT);
    ck_assert_int_eq(qn_error_set(NULL, QN_EINPUT, "x"), QN_EINPUT);
}
END_TEST

START_TEST(error_errno_maps_env)
{
    qn_error e;
    qn_error_clear(&e);
    ck_assert_int_eq(qn_error_errno(&e, QN_EINPUT, ENOSPC, "out.json"), QN_EENV);
    ck_assert_str_eq(e.msg, "out.json: No space left on device");
    ck_assert_int_eq(qn_exit_code(QN_EENV), 3);
    ck_assert_int_eq(qn_exit_code(QN_EINPUT), 2);
    ck_assert_int_eq(qn_exit_code(QN_OK), 0);
}
END_TEST

/* path = a fresh temporary directory dir (a mkdtemp template) + "/out.json" */
static void temp_target(char *dir, char *path, size_t n)
{
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, n, "%s/out.json", dir);
}

/* The first line of the file at path equals want. */
static void assert_content(const char *path, const char *want)
{
    FILE *f = fopen(path, "r");
    char buf[64] = {0};
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
    fclose(f);
    ck_assert_str_eq(buf, want);
}

START_TEST(atomic_commit_and_abort)
{
    char dir[] = "/tmp/qn_atomic_XXXXXX", path[256];
    temp_target(dir, path, sizeof path);
    qn_atomic af;
    qn_error e;
    qn_error_clear(&e);
    ck_assert_int_eq(qn_atomic_open(&af, path, &e), QN_OK);
    fputs("{}\n", af.fp);
    ck_assert_int_eq(access(path, F_OK), -1); /* not visible before commit */
    ck_assert_int_eq(qn_atomic_commit(&af, &e), QN_OK);
    assert_content(path, "{}\n");

    ck_assert_int_eq(qn_atomic_open(&af, path, &e), QN_OK);
    fputs("partial", af.fp);
    qn_atomic_abort(&af);
    assert_content(path, "{}\n"); /* old content kept */
    unlink(path);
    ck_assert_int_eq(rmdir(dir), 0); /* no temporary left behind */

    ck_assert_int_eq(qn_atomic_open(&af, "/nonexistent-dir/x.json", &e), QN_EINPUT);
    ck_assert(strstr(e.msg, "/nonexistent-dir/x.json") != NULL);
}
END_TEST

START_TEST(atomic_devices_written_directly)
{
    qn_atomic af;
    qn_error e;
    qn_error_clear(&e);
    /* /dev/null stays a device: no temporary beside it, no rename over it */
    ck_assert_int_eq(qn_atomic_open(&af, "/dev/null", &e), QN_OK);
    ck_assert_ptr_null(af.tmp);
    fputs("x", af.fp);
    ck_assert_int_eq(qn_atomic_commit(&af, &e), QN_OK);
    struct stat st;
    ck_assert_int_eq(stat("/dev/null", &st), 0);
    ck_assert(S_ISCHR(st.st_mode));
    /* /dev/full: the write error reaches the caller as an environment error */
    ck_assert_int_eq(qn_atomic_open(&af, "/dev/full", &e), QN_OK);
    fputs("x", af.fp);
    ck_assert_int_eq(qn_atomic_commit(&af, &e), QN_EENV);
    ck_assert(strstr(e.msg, "/dev/full: cannot write output: No space left on device") != NULL);
    ck_assert_int_eq(stat("/dev/full", &st), 0);
    ck_assert(S_ISCHR(st.st_mode));
    /* a directory is refused */
    qn_error_clear(&e);
    ck_assert_int_eq(qn_atomic_open(&af, "/tmp", &e), QN_EINPUT);
    ck_assert_str_eq(e.msg, "/tmp: cannot write output: Is a directory");
}
END_TEST

/* qn_atomic_sync: errors surface before any commit; writes after it still land */
START_TEST(atomic_sync_then_commit)
{
    char dir[] = "/tmp/qn_atomic_XXXXXX", path[256];
    temp_target(dir, path, sizeof path);
    qn_atomic af;
    qn_error e;
    qn_error_clear(&e);
    ck_assert_int_eq(qn_atomic_open(&af, path, &e), QN_OK);
    fputs("[1,", af.fp);
    ck_assert_int_eq(qn_atomic_sync(&af, &e), QN_OK);
    ck_assert_int_eq(af.synced_at, 3);
    ck_assert_int_eq(access(path, F_OK), -1); /* synced, still not visible */
    fputs("2]\n", af.fp);                     /* written after the sync: commit syncs it */
    ck_assert_int_eq(qn_atomic_commit(&af, &e), QN_OK);
    assert_content(path, "[1,2]\n");
    unlink(path);
    ck_assert_int_eq(rmdir(dir), 0);
    /* a full disk is reported by the sync, naming the file; abort then cleans up */
    ck_assert_int_eq(qn_atomic_open(&af, "/dev/full", &e), QN_OK);
    fputs("x", af.fp);
    ck_assert_int_eq(qn_atomic_sync(&af, &e), QN_EENV);
    ck_assert_str_eq(e.msg, "/dev/full: cannot write output: No space left on device");
    qn_atomic_abort(&af);
    ck_assert_ptr_null(af.fp);
}
END_TEST

static Suite *common_suite(void)
{
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, error_first_wins);
    tcase_add_test(tc, error_errno_maps_env);
    tcase_add_test(tc, atomic_commit_and_abort);
    tcase_add_test(tc, atomic_devices_written_directly);
    tcase_add_test(tc, atomic_sync_then_commit);
    suite_add_tcase(s, tc);
    return s;
}

QN_CHECK_MAIN(common_suite)
