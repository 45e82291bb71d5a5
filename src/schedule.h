/* schedule.h — the forward-process noise schedule of DDPM.
 *
 * q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I), and in closed form
 * q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I) with abar_t = prod_{s<=t} (1 - beta_s).
 * Two kinds: linear (Ho et al. 2020: beta from 1e-4 to 0.02 over 1000 steps, both ends
 * scaled by 1000/T for other T) and cosine (Nichol & Dhariwal 2021: abar_t = f(t)/f(0),
 * f(t) = cos^2(((t/T + s)/(1 + s)) * pi/2), s = 0.008, beta clipped to 0.999).
 * Arrays are indexed by t - 1 for t = 1..T; t = 0 (clean data) has abar = 1 and is implicit.
 * Not here: samplers (sampler.h) pick sub-sequences of these steps. */
#ifndef DS_SCHEDULE_H
#define DS_SCHEDULE_H

#define DS_MAX_T 1000

typedef enum { DS_SCHEDULE_LINEAR = 0, DS_SCHEDULE_COSINE = 1 } ds_schedule_kind;

typedef struct {
    ds_schedule_kind kind;
    int T;                                  /* number of diffusion steps, 1..DS_MAX_T */
    double beta[DS_MAX_T];                  /* (T) beta_t */
    double alpha_bar[DS_MAX_T];             /* (T) abar_t */
    double sqrt_alpha_bar[DS_MAX_T];        /* (T) sqrt(abar_t): signal scale of x_0 in x_t */
    double sqrt_one_minus_alpha_bar[DS_MAX_T]; /* (T) sqrt(1 - abar_t): noise scale */
    double snr[DS_MAX_T];                   /* (T) abar_t / (1 - abar_t) */
    /* The forward posterior q(x_{t-1} | x_t, x_0) = N(c0_t x_0 + ct_t x_t, var_t I), with
     * abar_0 = 1: var_t = beta_t (1 - abar_{t-1}) / (1 - abar_t),
     * c0_t = sqrt(abar_{t-1}) beta_t / (1 - abar_t), ct_t = sqrt(1 - beta_t) (1 - abar_{t-1}) / (1 - abar_t). */
    double posterior_variance[DS_MAX_T];    /* (T) var_t (0 at t = 1: x_0 is then determined) */
    double posterior_coef_x0[DS_MAX_T];     /* (T) c0_t */
    double posterior_coef_xt[DS_MAX_T];     /* (T) ct_t */
} ds_schedule;

#define DS_SCHEDULE_ROWS 8

/* Fills s for the given kind and T. Returns DS_OK, or DS_ERR (ds_last_error says why). */
int ds_schedule_init(ds_schedule *s, ds_schedule_kind kind, int T);

/* abar at timestep t in [0, T]: 1 at t <= 0, abar_t at an integer t, and between two integers
 * the straight line between their abar (the network takes t as a float). */
double ds_schedule_abar(const ds_schedule *s, double t);

/* Parses "linear" or "cosine". Returns DS_OK and sets *kind, or DS_ERR naming the input. */
int ds_schedule_kind_parse(const char *name, ds_schedule_kind *kind);
const char *ds_schedule_kind_name(ds_schedule_kind kind);

/* writes the first `rows` (1..DS_SCHEDULE_ROWS) rows of T doubles into out
 * (rows*T), in this order: beta, abar, sqrt(abar), sqrt(1-abar), snr, posterior variance,
 * posterior coef of x_0, posterior coef of x_t. Returns DS_OK or DS_ERR. */
int ds_schedule_table(int kind, int T, int rows, double *out);

#endif
