/* The shared main() of every Check suite: each test binary defines kw_test_suite(). Fork mode,
 * so one crashing test is reported and the rest still run. */
#include <check.h>
#include <stdlib.h>

Suite *kw_test_suite(void);

int
main(void)
{
    SRunner *sr = srunner_create(kw_test_suite());
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
