/* vi.h — variational inference in one dimension: fit a Gaussian q = N(mu, sigma^2) to a
 * target density p(x) that is a mixture of up to 8 Gaussians.
 *
 * What it computes, for q = N(mu, sigma^2) and p = sum_k w_k N(m_k, s_k^2):
 *   KL(q||p) = -H(q) - E_q[log p]            (mode-seeking: large where q puts mass and p has none)
 *   KL(p||q) = -H(p) + E_p[-log q]           (mass-covering: large where p has mass and q has none)
 *   ELBO     = E_q[log p~] + H(q) = log Z - KL(q||p)   for an unnormalised target p~ = Z p
 * plus their gradients with respect to mu and log sigma, Monte-Carlo estimates of the same
 * from n samples (so a reader sees estimator noise), and fits that minimise either KL
 * direction and return the path of (mu, sigma) for animation.
 *
 * How (and why it is accurate):
 *  - log p(x) is a log-sum-exp of the components' log densities (max subtracted, components
 *    more than 40 nats below the max skipped: < 1e-17 relative), so it is finite and exact
 *    to rounding however far out in the tails x lies; nothing underflows.
 *  - E_p[-log q] is closed form: it only needs p's mean and variance.
 *  - E_q[f] and H(p) = -sum_k w_k E_{N(m_k,s_k^2)}[log p] are integrals of a Gaussian times
 *    the smooth (analytic) function log p. They are done in z = (x - a)/b on [-13, 13]
 *    (the tail beyond carries < 1e-30 of the mass, and log p grows only quadratically) by
 *    adaptive Gauss-Kronrod (7-15) quadrature. The initial panels are a uniform grid plus
 *    breakpoints at every component's m_k and m_k +- 3 s_k, +- 8 s_k, so a component that is
 *    narrow relative to sigma is never stepped over; panels are bisected until |K15 - G7|
 *    < 1e-11 (scaled by panel width) or 1e-13 relative. Gauss-Hermite alone is not enough
 *    here: with a multimodal p and a wide q, log p is far from a low-degree polynomial.
 *    tests/test_vi.c checks 1e-6 absolute (the requirement; typical error is < 1e-10)
 *    against closed forms and a 400 000-panel Simpson reference in long double.
 *  - Only +, -, *, /, sqrt and detmath's ds_exp/ds_log are used, so native and WebAssembly
 *    builds return bit-identical numbers.
 * Accuracy is stated for mu in [-20, 20], sigma in [0.05, 20] and targets with means in
 * [-20, 20] and s_k in [0.05, 20]; inputs are accepted over the wider DS_VI_* ranges below.
 *
 * Not here: multivariate targets, other variational families, or drawing (tools/, web/). */
#ifndef DS_VI_H
#define DS_VI_H

#include <stdint.h>

#define DS_VI_MAX_COMPONENTS 8
#define DS_VI_MAX_ABS_MEAN 100.0 /* |mu| and |m_k| at most this */
#define DS_VI_MIN_STD 0.01       /* sigma and s_k in [DS_VI_MIN_STD, DS_VI_MAX_STD] */
#define DS_VI_MAX_STD 100.0
#define DS_VI_MAX_ABS_LOG_Z 1e6
#define DS_VI_MAX_SPEC 1024      /* longest target spec string accepted */
#define DS_VI_MAX_MC 10000000L   /* most Monte-Carlo samples per estimate */
#define DS_VI_MAX_FIT_STEPS 5000

/* p(x) = sum_k weight[k] N(x; mean[k], std[k]^2). Fill with ds_mixture_init or _parse. */
typedef struct {
    int k;                                   /* number of components, 1..DS_VI_MAX_COMPONENTS */
    double weight[DS_VI_MAX_COMPONENTS];     /* (k) normalised to sum 1 */
    double mean[DS_VI_MAX_COMPONENTS];       /* (k) m_k */
    double std[DS_VI_MAX_COMPONENTS];        /* (k) s_k > 0 */
    double log_coef[DS_VI_MAX_COMPONENTS];   /* (k) log w_k - log s_k - log sqrt(2 pi) */
    double moment_mean;                      /* E_p[x] */
    double moment_var;                       /* Var_p[x] */
    double entropy;                          /* H(p) = -E_p[log p], by quadrature */
} ds_mixture;

/* Builds p from k (weight, mean, std) triples. Weights must be > 0 and are normalised to
 * sum 1 (so "3:0:1,1:5:1" means 0.75 and 0.25). Every value must be finite and in range.
 * Returns DS_OK or DS_ERR with a message naming the bad component. */
int ds_mixture_init(ds_mixture *p, int k, const double *weight, const double *mean, const double *std);

/* The default target of the seed post: 0.3 N(-3, 0.7^2) + 0.5 N(4, 1^2) + 0.2 N(7, 0.6^2). */
#define DS_VI_DEFAULT_TARGET "0.3:-3:0.7,0.5:4:1,0.2:7:0.6"
int ds_mixture_default(ds_mixture *p);

/* Parses "w:m:s,w:m:s,..." (the first len bytes of text; a NUL ends it earlier). Fields
 * are plain decimal numbers (digits, sign, '.', exponent; no hex, inf or nan), spaces
 * around fields are allowed, nothing else is; 1..8 components; weights normalised as in
 * ds_mixture_init. Returns DS_OK or DS_ERR naming the position and what was expected. */
int ds_mixture_parse(ds_mixture *p, const char *text, long len);

double ds_mixture_log_pdf(const ds_mixture *p, double x);
/* d/dx log p(x) */
double ds_mixture_score(const ds_mixture *p, double x);

/* Everything about one q = N(mu, sigma^2) against p. */
typedef struct {
    double mu, sigma, log_z;
    double kl_q_p;        /* KL(q||p) */
    double kl_p_q;        /* KL(p||q) */
    double elbo;          /* log_z - kl_q_p */
    double entropy_q;     /* H(q) = log(sigma sqrt(2 pi e)) */
    double entropy_p;     /* H(p) */
    double cross_q_p;     /* E_q[-log p] */
    double grad_kl_q_p[2]; /* (d/dmu, d/dlog sigma) of KL(q||p); the ELBO's are their negatives */
    double grad_kl_p_q[2]; /* (d/dmu, d/dlog sigma) of KL(p||q) */
} ds_vi_result;

/* Returns DS_OK or DS_ERR (mu, sigma, log_z out of range, or null pointers). */
int ds_vi_eval(const ds_mixture *p, double mu, double sigma, double log_z, ds_vi_result *out);

/* Monte-Carlo estimates from n samples of a generator seeded with seed: KL(q||p) and the
 * ELBO from x ~ q, KL(p||q) from x ~ p; each with its standard error (sample sd / sqrt n). */
typedef struct {
    long n;
    double kl_q_p, kl_q_p_se;
    double kl_p_q, kl_p_q_se;
    double elbo, elbo_se;
} ds_vi_mc;

int ds_vi_mc_estimate(const ds_mixture *p, double mu, double sigma, double log_z, long n, uint64_t seed, ds_vi_mc *out);

/* Which KL a fit minimises. */
typedef enum {
    DS_VI_REVERSE = 0, /* KL(q||p): mode-seeking, settles on one mode */
    DS_VI_FORWARD = 1  /* KL(p||q): mass-covering, optimum mu = E_p[x], sigma^2 = Var_p[x] */
} ds_vi_direction;

int ds_vi_direction_parse(const char *name, ds_vi_direction *dir);
const char *ds_vi_direction_name(ds_vi_direction dir);

/* Natural-gradient descent on (mu, log sigma) from (mu0, sigma0): the step is
 * -eta (sigma^2 dKL/dmu, 1/2 dKL/dlog sigma) with eta = 0.25, halved until the KL decreases
 * (Armijo), stopping when the preconditioned gradient is below 1e-7, when no step lowers the KL
 * (rounding level), or after max_steps.
 * path: ((max_steps + 1), 3) rows of (mu, sigma, KL), starting with the start point; may
 * be NULL. Writes the number of rows used to *n_points and the final point to *out.
 * Returns DS_OK or DS_ERR. */
int ds_vi_fit(const ds_mixture *p, ds_vi_direction dir, double mu0, double sigma0, int max_steps,
              double *path, int *n_points, ds_vi_result *out);

/* ---- flat-array entry points (the CLI; wasm_api.h exports them): the target crosses as k and params (3k doubles: w0, m0, s0,
 * w1, ...). Each returns >= 0 on success, DS_ERR with ds_last_error() set on failure. ---- */

#define DS_VI_EVAL_N 12 /* out of ds_vi_evaluate: kl_q_p, kl_p_q, elbo, entropy_q, entropy_p,
                           cross_q_p, dKLqp/dmu, dKLqp/dlogsigma, dKLpq/dmu, dKLpq/dlogsigma,
                           E_p[x], Var_p[x] */
int ds_vi_evaluate(int k, const double *params, double mu, double sigma, double log_z, double *out);

/* Parses a spec string (len bytes of UTF-8) into out (1 + 3 * DS_VI_MAX_COMPONENTS):
 * out[0] = k, then the normalised (w, m, s) triples. Returns k. */
int ds_vi_parse_target(const unsigned char *text, int len, double *out);

/* n points on [x0, x1]; out (4, n): p(x), q(x), q log(q/p) and p log(p/q) (the pointwise
 * integrands of the two KLs, for shading where each is large). */
int ds_vi_curves(int k, const double *params, double mu, double sigma, double x0, double x1, int n, double *out);

/* out (6): kl_q_p, its se, kl_p_q, its se, elbo, its se. n and seed are whole numbers. */
int ds_vi_monte_carlo(int k, const double *params, double mu, double sigma, double log_z, double n, double seed, double *out);

/* path ((max_steps + 1), 3) as ds_vi_fit; returns the number of rows. */
int ds_vi_fit_path(int k, const double *params, int direction, double mu0, double sigma0, int max_steps, double *path);

#endif
