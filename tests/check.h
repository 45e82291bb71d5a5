/* check.h — the tiny assertion layer of the C unit tests.
 *
 * CHECK(cond, fmt, ...) records a failure with file:line and a message and carries on, so
 * one run reports every broken value. CHECK_NEAR prints both values and the difference.
 * A test's main ends with `return check_summary("name");`, which prints
 * "name: N passed, N failed" and returns non-zero if anything failed (ctest reads that). */
#ifndef DS_CHECK_H
#define DS_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_passed, check_failed;

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (cond) {                                                           \
            check_passed++;                                                   \
        } else {                                                              \
            check_failed++;                                                   \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);              \
            fprintf(stderr, __VA_ARGS__);                                     \
            fputc('\n', stderr);                                              \
        }                                                                     \
    } while (0)

/* |got - want| <= tol, and both finite */
#define CHECK_NEAR(got, want, tol, what)                                                     \
    do {                                                                                     \
        double g_ = (got), w_ = (want);                                                      \
        CHECK(isfinite(g_) && isfinite(w_) && fabs(g_ - w_) <= (tol),                        \
              "%s: got %.17g want %.17g (diff %.3g > tol %.3g)", (what), g_, w_, fabs(g_ - w_), \
              (double)(tol));                                                                \
    } while (0)

static inline int check_summary(const char *name) {
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
