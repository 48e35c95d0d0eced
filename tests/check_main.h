/* check_main.h — turns a Check suite function into a test program's main.
 * Each tests/check_<module>.c defines `Suite *<module>_suite(void)` and ends with
 * QN_CHECK_MAIN(<module>_suite). QUERN_BIN (set by `make check`) names the
 * directory of the built programs for tests that run them. */
#ifndef CHECK_MAIN_H
#define CHECK_MAIN_H
#include <check.h>
#include <stdlib.h>

#define QN_CHECK_MAIN(suite_fn)                                  \
    int main(void)                                               \
    {                                                            \
        SRunner *sr = srunner_create(suite_fn());                \
        srunner_run_all(sr, CK_NORMAL);                          \
        int failed = srunner_ntests_failed(sr);                  \
        srunner_free(sr);                                        \
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;             \
    }
#endif
