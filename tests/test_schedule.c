/* test_schedule.c — the noise schedules against their defining formulas and known values. */
#include <math.h>

#include "check.h"
#include "error.h"
#include "schedule.h"

static ds_schedule s;

int main(void) {
    /* Linear, T = 1000: the DDPM endpoints, and abar_1000 = prod(1 - beta) computed in
     * long double here as an independent reference (known value ~4.036e-5). */
    CHECK(ds_schedule_init(&s, DS_SCHEDULE_LINEAR, 1000) == DS_OK, "linear init: %s", ds_last_error());
    CHECK_NEAR(s.beta[0], 1e-4, 1e-18, "linear beta_1");
    CHECK_NEAR(s.beta[999], 0.02, 1e-17, "linear beta_T");
    long double prod = 1.0L;
    for (int i = 0; i < 1000; i++) prod *= 1.0L - (1e-4L + (0.02L - 1e-4L) * i / 999.0L);
    CHECK(fabs(s.alpha_bar[999] - (double)prod) < 1e-15, "linear abar_T %.17g vs %.17Lg", s.alpha_bar[999], prod);
    CHECK(s.alpha_bar[999] > 4.0e-5 && s.alpha_bar[999] < 4.1e-5, "linear abar_T = %g, expected about 4.04e-5", s.alpha_bar[999]);

    /* Cosine: abar_t = f(t)/f(0) exactly, wherever beta was not clipped. */
    CHECK(ds_schedule_init(&s, DS_SCHEDULE_COSINE, 1000) == DS_OK, "cosine init: %s", ds_last_error());
    const double PI = 3.14159265358979323846;
    double f0 = pow(cos((0.008 / 1.008) * PI / 2), 2);
    int clipped = 0;
    for (int t = 1; t <= 1000; t++) {
        if (s.beta[t - 1] >= 0.999) { clipped = 1; continue; }
        if (clipped) break; /* after a clip the products no longer equal f(t)/f(0) */
        double want = pow(cos(((t / 1000.0 + 0.008) / 1.008) * PI / 2), 2) / f0;
        CHECK_NEAR(s.alpha_bar[t - 1], want, 1e-12, "cosine abar_t");
    }
    CHECK(s.beta[999] == 0.999, "cosine beta_T is clipped to 0.999 (got %g)", s.beta[999]);

    /* Invariants for both kinds and several T. */
    const int Ts[] = {1, 2, 10, 50, 1000};
    for (int k = 0; k < 2; k++) {
        for (int j = 0; j < 5; j++) {
            CHECK(ds_schedule_init(&s, (ds_schedule_kind)k, Ts[j]) == DS_OK, "init %d/%d", k, Ts[j]);
            int monotone = 1, consistent = 1;
            for (int i = 0; i < s.T; i++) {
                if (i && !(s.alpha_bar[i] < s.alpha_bar[i - 1])) monotone = 0;
                double a = s.alpha_bar[i];
                if (fabs(s.sqrt_alpha_bar[i] * s.sqrt_alpha_bar[i] - a) > 1e-15 ||
                    fabs(s.sqrt_one_minus_alpha_bar[i] * s.sqrt_one_minus_alpha_bar[i] - (1 - a)) > 1e-15 ||
                    fabs(s.snr[i] - a / (1 - a)) > 1e-12 * (1 + s.snr[i]) || !(s.beta[i] > 0 && s.beta[i] < 1))
                    consistent = 0;
            }
            /* posterior: the law of total variance of x_{t-1} given x_0,
             * 1 - abar_{t-1} = ct^2 (1 - abar_t) + var_t, and the mean is unbiased:
             * c0 + ct sqrt(abar_t) = sqrt(abar_{t-1}). */
            int posterior_ok = s.posterior_variance[0] == 0 && fabs(s.posterior_coef_x0[0] - 1) < 1e-12;
            for (int i = 0; i < s.T; i++) {
                double abar_prev = i ? s.alpha_bar[i - 1] : 1.0;
                double ct = s.posterior_coef_xt[i];
                if (fabs(ct * ct * (1 - s.alpha_bar[i]) + s.posterior_variance[i] - (1 - abar_prev)) > 1e-12 ||
                    fabs(s.posterior_coef_x0[i] + ct * s.sqrt_alpha_bar[i] - sqrt(abar_prev)) > 1e-12 ||
                    !(s.posterior_variance[i] <= s.beta[i]))
                    posterior_ok = 0;
            }
            CHECK(posterior_ok, "posterior q(x_{t-1} | x_t, x_0) consistent (kind %d, T %d)", k, Ts[j]);
            CHECK(monotone, "abar strictly decreasing (kind %d, T %d)", k, Ts[j]);
            CHECK(consistent, "sqrt/snr/beta consistent (kind %d, T %d)", k, Ts[j]);
        }
    }

    /* Bad input is refused with a message. */
    CHECK(ds_schedule_init(&s, DS_SCHEDULE_LINEAR, 0) == DS_ERR, "T = 0 refused");
    CHECK(ds_schedule_init(&s, DS_SCHEDULE_LINEAR, 1001) == DS_ERR, "T = 1001 refused");
    CHECK(ds_schedule_init(&s, (ds_schedule_kind)7, 10) == DS_ERR, "unknown kind refused");
    ds_schedule_kind kind;
    CHECK(ds_schedule_kind_parse("quadratic", &kind) == DS_ERR, "unknown name refused");
    CHECK(ds_last_error()[0] != '\0', "an error message is set");
    return check_summary("test_schedule");
}
