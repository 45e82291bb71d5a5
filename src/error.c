/* error.c — the library's one error channel (see error.h). */
#include "error.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static char g_error[512];

/* Formats into a buffer of its own first: a message may quote the previous one
 * (ds_fail("checkpoint: %s", ds_last_error())), which vsnprintf must not read while writing it. */
int ds_fail(const char *fmt, ...) {
    char message[sizeof g_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    memcpy(g_error, message, sizeof g_error);
    return DS_ERR;
}

const char *ds_last_error(void) { return g_error; }
void ds_clear_error(void) { g_error[0] = '\0'; }

int ds_check_finite(double v, const char *what) {
    if (!isfinite(v)) return ds_fail("%s must be a finite number (got %g)", what, v);
    return DS_OK;
}

int ds_check_range_int(long v, long lo, long hi, const char *what) {
    if (v < lo || v > hi) return ds_fail("%s must be between %ld and %ld (got %ld)", what, lo, hi, v);
    return DS_OK;
}

int ds_check_range(double v, double lo, double hi, const char *what) {
    if (ds_check_finite(v, what)) return DS_ERR;
    if (v < lo || v > hi) return ds_fail("%s must be between %g and %g (got %g)", what, lo, hi, v);
    return DS_OK;
}
