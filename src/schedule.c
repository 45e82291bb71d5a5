/* schedule.c — linear and cosine beta schedules (see schedule.h). */
#include "schedule.h"

#include <math.h>
#include <string.h>

#include "detmath.h"
#include "error.h"

static const double PI = 3.14159265358979323846;

/* f(t) of the cosine schedule; ds_cos keeps the values identical natively and in WASM. */
static double cosine_f(double t, int T) {
    const double s = 0.008;
    double c = ds_cos(((t / T + s) / (1.0 + s)) * PI * 0.5);
    return c * c;
}

int ds_schedule_init(ds_schedule *s, ds_schedule_kind kind, int T) {
    if (!s) return ds_fail("schedule: null output");
    if (ds_check_range_int(T, 1, DS_MAX_T, "number of diffusion steps T")) return DS_ERR;
    s->kind = kind;
    s->T = T;
    switch (kind) {
    case DS_SCHEDULE_LINEAR: {
        double scale = 1000.0 / T;
        double lo = 1e-4 * scale, hi = 0.02 * scale;
        if (hi > 0.999) hi = 0.999;
        for (int i = 0; i < T; i++) s->beta[i] = T == 1 ? lo : lo + (hi - lo) * i / (T - 1);
        break;
    }
    case DS_SCHEDULE_COSINE: {
        double f0 = cosine_f(0.0, T);
        for (int i = 0; i < T; i++) {
            double b = 1.0 - (cosine_f(i + 1.0, T) / f0) / (cosine_f((double)i, T) / f0);
            s->beta[i] = b > 0.999 ? 0.999 : b;
        }
        break;
    }
    default:
        return ds_fail("unknown schedule kind %d (expected 0 = linear or 1 = cosine)", (int)kind);
    }
    double abar = 1.0;
    for (int i = 0; i < T; i++) {
        abar *= 1.0 - s->beta[i];
        s->alpha_bar[i] = abar;
        s->sqrt_alpha_bar[i] = sqrt(abar);
        s->sqrt_one_minus_alpha_bar[i] = sqrt(1.0 - abar);
        s->snr[i] = abar / (1.0 - abar);
        double abar_prev = i ? s->alpha_bar[i - 1] : 1.0, beta = s->beta[i];
        s->posterior_variance[i] = beta * (1.0 - abar_prev) / (1.0 - abar);
        s->posterior_coef_x0[i] = sqrt(abar_prev) * beta / (1.0 - abar);
        s->posterior_coef_xt[i] = sqrt(1.0 - beta) * (1.0 - abar_prev) / (1.0 - abar);
    }
    return DS_OK;
}

double ds_schedule_abar(const ds_schedule *s, double t) {
    if (!(t > 0)) return 1.0;
    if (t >= s->T) return s->alpha_bar[s->T - 1];
    const int lo = (int)t;
    const double a_lo = lo == 0 ? 1.0 : s->alpha_bar[lo - 1], f = t - lo;
    return f == 0 ? a_lo : a_lo + f * (s->alpha_bar[lo] - a_lo);
}

int ds_schedule_kind_parse(const char *name, ds_schedule_kind *kind) {
    if (name && strcmp(name, "linear") == 0) { *kind = DS_SCHEDULE_LINEAR; return DS_OK; }
    if (name && strcmp(name, "cosine") == 0) { *kind = DS_SCHEDULE_COSINE; return DS_OK; }
    return ds_fail("unknown schedule '%s' (expected linear or cosine)", name ? name : "(null)");
}

const char *ds_schedule_kind_name(ds_schedule_kind kind) {
    return kind == DS_SCHEDULE_COSINE ? "cosine" : "linear";
}

int ds_schedule_table(int kind, int T, int rows, double *out) {
    static ds_schedule s; /* 64 KB: too big for the default WASM stack */
    if (ds_check_range_int(rows, 1, DS_SCHEDULE_ROWS, "schedule table rows")) return DS_ERR;
    if (!out) return ds_fail("schedule table: null output");
    if (ds_schedule_init(&s, (ds_schedule_kind)kind, T)) return DS_ERR;
    const double *table[DS_SCHEDULE_ROWS] = {s.beta, s.alpha_bar, s.sqrt_alpha_bar, s.sqrt_one_minus_alpha_bar,
                                             s.snr, s.posterior_variance, s.posterior_coef_x0, s.posterior_coef_xt};
    for (int r = 0; r < rows; r++) memcpy(out + (long)r * T, table[r], sizeof(double) * T);
    return DS_OK;
}
