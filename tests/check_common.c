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
#include "qn_sha256.h"

/* FIPS 180-4's examples and a 100003-byte buffer (digests from Python's hashlib), fed in
 * pieces of every size 1..200 around block edges; with the SHA extensions (when the CPU
 * has them) and with the portable blocks. */
static void digest_of(const uint8_t *p, size_t n, size_t piece, char hex[65])
{
    qn_sha256 s;
    uint8_t d[32];
    qn_sha256_init(&s);
    for (size_t at = 0; at < n; at += piece)
        qn_sha256_update(&s, p + at, n - at < piece ? n - at : piece);
    qn_sha256_final(&s, d);
    qn_sha256_hex(d, hex);
}

START_TEST(sha256_known_digests)
{
    static const struct { const char *msg; const char *hex; } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    enum { N = 1000000, R = 100003 };
    uint8_t *a = malloc(N), *r = malloc(R);
    ck_assert(a && r);
    memset(a, 'a', N);
    uint32_t x = 12345;
    for (int i = 0; i < R; i++) {
        x = x * 1103515245u + 12345u;
        r[i] = (uint8_t)(x >> 16);
    }
    char hex[65];
    for (int portable = 1; portable >= 0; portable--) {
        int ni = qn_sha256_force_portable(portable);
        ck_assert(!portable || !ni);
        for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
            qn_sha256_buf_hex(v[i].msg, strlen(v[i].msg), hex);
            ck_assert_str_eq(hex, v[i].hex);
        }
        qn_sha256_buf_hex(a, N, hex);
        ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
        for (size_t piece = 1; piece <= 200; piece += portable ? 37 : 1) {
            digest_of(r, R, piece, hex);
            ck_assert_msg(!strcmp(hex, "9fdfe5c6a265b12a2af96ff6538d8d51106d662ac6d14d8766e0129f"
                                       "cf15b008"), "piece %zu, portable %d: %s", piece, portable,
                          hex);
        }
        /* every length across a few blocks: the two versions agree */
        char h2[65];
        for (size_t n = 0; n < 300; n++) {
            qn_sha256_buf_hex(r + 7, n, hex);
            qn_sha256_force_portable(1);
            qn_sha256_buf_hex(r + 7, n, h2);
            qn_sha256_force_portable(portable);
            ck_assert_msg(!strcmp(hex, h2), "length %zu", n);
        }
    }
    free(a);
    free(r);
}
END_TEST

START_TEST(error_first_wins)
{
    qn_error e;
    qn_error_clear(&e);
    ck_assert_int_eq(qn_error_set(&e, QN_EINPUT, "a.json:%d:%d: bad", 3, 4), QN_EINPUT);
    ck_assert_int_eq(qn_error_set(&e, QN_EENV, "later"), QN_EENV);
    ck_assert_str_eq(e.msg, "a.json:3:4: bad");
    ck_assert_int_eq(e.status, QN_EINPUT);
    ck_assert_int_eq(qn_error_set(NULL, QN_EINPUT, "x"), QN_EINPUT);
    /* "unreadable" marks only the record it fills */
    ck_assert(!e.unreadable);
    qn_error_unreadable(&e, QN_EENV, "v.mp4: cannot open");
    ck_assert(!e.unreadable && e.status == QN_EINPUT);
    qn_error_clear(&e);
    ck_assert_int_eq(qn_error_unreadable(&e, QN_EENV, "v.mp4: %s", "gone"), QN_EENV);
    ck_assert(e.unreadable && !strcmp(e.msg, "v.mp4: gone"));
    qn_error_clear(&e);
    ck_assert(!e.unreadable);
    qn_error_set(&e, QN_EENV, "no GPU");
    ck_assert(!e.unreadable);
    ck_assert_int_eq(qn_error_unreadable(NULL, QN_EENV, "x"), QN_EENV);
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
    tcase_add_test(tc, sha256_known_digests);
    suite_add_tcase(s, tc);
    return s;
}

QN_CHECK_MAIN(common_suite)
