/* vi.c — KL divergences, ELBO, Monte-Carlo estimates and fits of a Gaussian q to a 1-D
 * Gaussian-mixture target (see vi.h for the maths and the accuracy argument). */
#include "vi.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detmath.h"
#include "error.h"
#include "rng.h"

static const double HALF_LOG_2PI = 0.91893853320467274178;   /* log sqrt(2 pi) */
static const double INV_SQRT_2PI = 0.39894228040143267794;
static const double LSE_CUTOFF = 40.0; /* components this many nats below the max add < 1e-17 */

/* ---- the target ---- */

static int check_component(int i, double w, double m, double s) {
    if (!isfinite(w) || !(w > 0) || w > 1e300)
        return ds_fail("target component %d: weight must be a finite number > 0 (got %g)", i + 1, w);
    if (!isfinite(m) || fabs(m) > DS_VI_MAX_ABS_MEAN)
        return ds_fail("target component %d: mean must be between %g and %g (got %g)", i + 1, -DS_VI_MAX_ABS_MEAN, DS_VI_MAX_ABS_MEAN, m);
    if (!isfinite(s) || s < DS_VI_MIN_STD || s > DS_VI_MAX_STD)
        return ds_fail("target component %d: std must be between %g and %g (got %g)", i + 1, DS_VI_MIN_STD, DS_VI_MAX_STD, s);
    return DS_OK;
}

static int expect_log_p(const ds_mixture *p, double a, double b, int n_integrands, double out[3]);

int ds_mixture_init(ds_mixture *p, int k, const double *weight, const double *mean, const double *std) {
    if (!p || !weight || !mean || !std) return ds_fail("target: null pointer");
    if (k < 1 || k > DS_VI_MAX_COMPONENTS)
        return ds_fail("target must have between 1 and %d components (got %d)", DS_VI_MAX_COMPONENTS, k);
    double total = 0;
    for (int i = 0; i < k; i++) {
        if (check_component(i, weight[i], mean[i], std[i])) return DS_ERR;
        total += weight[i];
    }
    if (!isfinite(total)) return ds_fail("target weights sum to infinity");
    ds_mixture t = {.k = k};
    for (int i = 0; i < k; i++) {
        t.weight[i] = weight[i] / total;
        if (t.weight[i] < 1e-12)
            return ds_fail("target component %d: weight %g is too small next to the others (normalised %g < 1e-12)", i + 1, weight[i], t.weight[i]);
        t.mean[i] = mean[i];
        t.std[i] = std[i];
        t.log_coef[i] = ds_log(t.weight[i]) - ds_log(std[i]) - HALF_LOG_2PI;
    }
    for (int i = 0; i < k; i++) t.moment_mean += t.weight[i] * t.mean[i];
    for (int i = 0; i < k; i++) {
        double d = t.mean[i] - t.moment_mean;
        t.moment_var += t.weight[i] * (t.std[i] * t.std[i] + d * d);
    }
    double neg_entropy = 0;
    for (int i = 0; i < k; i++) {
        double e[3];
        expect_log_p(&t, t.mean[i], t.std[i], 1, e);
        neg_entropy += t.weight[i] * e[0];
    }
    t.entropy = -neg_entropy;
    *p = t;
    return DS_OK;
}

int ds_mixture_default(ds_mixture *p) {
    static const double w[] = {0.3, 0.5, 0.2}, m[] = {-3, 4, 7}, s[] = {0.7, 1.0, 0.6};
    return ds_mixture_init(p, 3, w, m, s);
}

/* Component log densities l_k(x) and their log-sum-exp; responsibilities if asked. */
static double log_pdf_terms(const ds_mixture *p, double x, double *score) {
    double l[DS_VI_MAX_COMPONENTS], top = -INFINITY;
    for (int i = 0; i < p->k; i++) {
        double u = (x - p->mean[i]) / p->std[i];
        l[i] = p->log_coef[i] - 0.5 * u * u;
        if (l[i] > top) top = l[i];
    }
    double sum = 0, weighted_score = 0;
    for (int i = 0; i < p->k; i++) {
        if (l[i] < top - LSE_CUTOFF) continue;
        double r = ds_exp(l[i] - top);
        sum += r;
        weighted_score += r * (-(x - p->mean[i]) / (p->std[i] * p->std[i]));
    }
    if (score) *score = weighted_score / sum;
    return top + ds_log(sum);
}

double ds_mixture_log_pdf(const ds_mixture *p, double x) { return log_pdf_terms(p, x, NULL); }

double ds_mixture_score(const ds_mixture *p, double x) {
    double g;
    log_pdf_terms(p, x, &g);
    return g;
}

/* ---- the target spec parser: "w:m:s,w:m:s,..." ---- */

/* Length of a plain decimal number at s (sign, digits, one '.', exponent), 0 if none. */
static long number_length(const char *s, long n) {
    long i = 0, digits = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    }
    if (!digits) return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        long j = i + 1, exp_digits = 0;
        if (j < n && (s[j] == '+' || s[j] == '-')) j++;
        while (j < n && s[j] >= '0' && s[j] <= '9') j++, exp_digits++;
        if (!exp_digits) return 0;
        i = j;
    }
    return i;
}

int ds_mixture_parse(ds_mixture *p, const char *text, long len) {
    static const char *FIELD[3] = {"weight", "mean", "std"};
    if (!p || !text) return ds_fail("target spec: null pointer");
    if (len < 0) return ds_fail("target spec: negative length");
    long n = 0;
    while (n < len && text[n]) n++;
    if (n > DS_VI_MAX_SPEC) return ds_fail("target spec is too long (%ld characters, at most %d)", n, DS_VI_MAX_SPEC);
    double w[DS_VI_MAX_COMPONENTS], m[DS_VI_MAX_COMPONENTS], s[DS_VI_MAX_COMPONENTS];
    double *dest[3] = {w, m, s};
    int k = 0, field = 0;
    long i = 0;
    for (;;) {
        while (i < n && (text[i] == ' ' || text[i] == '\t')) i++;
        long len_num = number_length(text + i, n - i);
        if (!len_num || len_num > 64)
            return ds_fail("target spec: expected the %s of component %d as a number at character %ld "
                           "(format w:m:s,w:m:s,...)", FIELD[field], k + 1, i + 1);
        char buf[72];
        memcpy(buf, text + i, (size_t)len_num);
        buf[len_num] = '\0';
        double v = strtod(buf, NULL);
        if (!isfinite(v)) return ds_fail("target spec: the %s of component %d is not finite ('%s')", FIELD[field], k + 1, buf);
        dest[field][k] = v;
        i += len_num;
        while (i < n && (text[i] == ' ' || text[i] == '\t')) i++;
        if (field < 2) {
            if (i >= n || text[i] != ':')
                return ds_fail("target spec: expected ':' after the %s of component %d at character %ld "
                               "(format w:m:s,w:m:s,...)", FIELD[field], k + 1, i + 1);
            i++;
            field++;
            continue;
        }
        k++;
        if (i >= n) break;
        if (text[i] != ',')
            return ds_fail("target spec: expected ',' or the end after component %d at character %ld", k, i + 1);
        if (k == DS_VI_MAX_COMPONENTS)
            return ds_fail("target spec: more than %d components", DS_VI_MAX_COMPONENTS);
        i++;
        field = 0;
    }
    return ds_mixture_init(p, k, w, m, s);
}

/* ---- quadrature: E_{N(a, b^2)}[log p] (and the two gradient integrands) ---- */

enum { GK_MAX_POINTS = 64, GK_MAX_STACK = 256, GK_MAX_PANELS = 20000, GK_MAX_DEPTH = 50 };
static const double Z_RANGE = 13.0;   /* integrate z over [-13, 13] */
static const double TOL_ABS = 1e-11;  /* per unit z-width share of the absolute error */
static const double TOL_REL = 1e-13;

/* Gauss-Kronrod 15 nodes (positive half; the last is 0) and weights; Gauss 7 weights
 * belong to the odd-indexed Kronrod nodes. */
static const double XGK[8] = {0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
                              0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
                              0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
                              0.207784955007898467600689403773245, 0.0};
static const double WGK[8] = {0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
                              0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
                              0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
                              0.204432940075298892414161999234649, 0.209482141084727828012999174891714};
static const double WG[4] = {0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
                             0.381830050505118944950369775488975, 0.417959183673469387755102040816327};

/* phi(z) * (log p(x), score(x), b z score(x)) at x = a + b z. */
static void integrand(const ds_mixture *p, double a, double b, double z, int n_integrands, double f[3]) {
    double x = a + b * z, score;
    double phi = INV_SQRT_2PI * ds_exp(-0.5 * z * z);
    double lp = log_pdf_terms(p, x, n_integrands > 1 ? &score : NULL);
    f[0] = phi * lp;
    if (n_integrands > 1) {
        f[1] = phi * score;
        f[2] = phi * b * z * score;
    }
}

static void gauss_kronrod(const ds_mixture *p, double a, double b, int nf, double z0, double z1, double kronrod[3], double gauss[3]) {
    double c = 0.5 * (z0 + z1), h = 0.5 * (z1 - z0), f[3];
    for (int j = 0; j < nf; j++) kronrod[j] = gauss[j] = 0;
    for (int i = 0; i < 8; i++) {
        double sum[3] = {0, 0, 0};
        integrand(p, a, b, c + h * XGK[i], nf, f);
        for (int j = 0; j < nf; j++) sum[j] = f[j];
        if (i < 7) {
            integrand(p, a, b, c - h * XGK[i], nf, f);
            for (int j = 0; j < nf; j++) sum[j] += f[j];
        }
        for (int j = 0; j < nf; j++) {
            kronrod[j] += WGK[i] * sum[j];
            if (i & 1) gauss[j] += WG[i / 2] * sum[j];
        }
    }
    for (int j = 0; j < nf; j++) kronrod[j] *= h, gauss[j] *= h;
}

typedef struct {
    double z0, z1;
    int depth;
} panel;

/* out[0] = E[log p(x)], and with n_integrands = 3 also out[1] = E[score(x)] and
 * out[2] = E[(x - a) score(x)], for x ~ N(a, b^2). Returns the number of panels used. */
static int expect_log_p(const ds_mixture *p, double a, double b, int n_integrands, double out[3]) {
    double cut[GK_MAX_POINTS];
    int n_cut = 0;
    for (int i = 0; i <= 16; i++) cut[n_cut++] = -Z_RANGE + (2 * Z_RANGE) * i / 16;
    static const double OFFSETS[5] = {-8, -3, 0, 3, 8};
    for (int c = 0; c < p->k; c++)
        for (int o = 0; o < 5; o++) {
            double z = (p->mean[c] + OFFSETS[o] * p->std[c] - a) / b;
            if (z > -Z_RANGE && z < Z_RANGE) cut[n_cut++] = z;
        }
    for (int i = 1; i < n_cut; i++) /* insertion sort: small n, and the same order everywhere */
        for (int j = i; j > 0 && cut[j - 1] > cut[j]; j--) {
            double t = cut[j];
            cut[j] = cut[j - 1];
            cut[j - 1] = t;
        }
    panel stack[GK_MAX_STACK];
    int top = 0;
    for (int i = n_cut - 1; i > 0; i--) /* pushed right to left so panels are summed left to right */
        if (cut[i] - cut[i - 1] > 1e-9) stack[top++] = (panel){cut[i - 1], cut[i], 0};
    for (int j = 0; j < n_integrands; j++) out[j] = 0;
    int panels = 0;
    while (top > 0) {
        panel pn = stack[--top];
        double kr[3], ga[3];
        gauss_kronrod(p, a, b, n_integrands, pn.z0, pn.z1, kr, ga);
        panels++;
        int accept = pn.depth >= GK_MAX_DEPTH || panels >= GK_MAX_PANELS || top + 2 > GK_MAX_STACK;
        for (int j = 0; j < n_integrands && !accept; j++) {
            double allowed = fmax(TOL_ABS * (pn.z1 - pn.z0) / (2 * Z_RANGE), TOL_REL * fabs(kr[j]));
            if (fabs(kr[j] - ga[j]) > allowed) break;
            if (j == n_integrands - 1) accept = 1;
        }
        if (accept) {
            for (int j = 0; j < n_integrands; j++) out[j] += kr[j];
        } else {
            double mid = 0.5 * (pn.z0 + pn.z1);
            stack[top++] = (panel){mid, pn.z1, pn.depth + 1};
            stack[top++] = (panel){pn.z0, mid, pn.depth + 1};
        }
    }
    return panels;
}

/* ---- KL, ELBO and gradients ---- */

static int check_q(double mu, double sigma) {
    if (ds_check_range(mu, -DS_VI_MAX_ABS_MEAN, DS_VI_MAX_ABS_MEAN, "mu")) return DS_ERR;
    if (ds_check_range(sigma, DS_VI_MIN_STD, DS_VI_MAX_STD, "sigma")) return DS_ERR;
    return DS_OK;
}

int ds_vi_eval(const ds_mixture *p, double mu, double sigma, double log_z, ds_vi_result *out) {
    if (!p || !out) return ds_fail("vi: null pointer");
    if (check_q(mu, sigma) || ds_check_range(log_z, -DS_VI_MAX_ABS_LOG_Z, DS_VI_MAX_ABS_LOG_Z, "log Z")) return DS_ERR;
    double e[3];
    expect_log_p(p, mu, sigma, 3, e);
    double log_sigma = ds_log(sigma);
    ds_vi_result r = {.mu = mu, .sigma = sigma, .log_z = log_z};
    r.entropy_q = log_sigma + HALF_LOG_2PI + 0.5;
    r.entropy_p = p->entropy;
    r.cross_q_p = -e[0];
    r.kl_q_p = -r.entropy_q - e[0];
    r.elbo = log_z - r.kl_q_p;
    r.grad_kl_q_p[0] = -e[1];
    r.grad_kl_q_p[1] = -1.0 - e[2];
    /* E_p[-log q] = log sigma + log sqrt(2 pi) + (Var_p + (E_p x - mu)^2) / (2 sigma^2) */
    double d = p->moment_mean - mu, spread = (p->moment_var + d * d) / (sigma * sigma);
    r.kl_p_q = log_sigma + HALF_LOG_2PI + 0.5 * spread - p->entropy;
    r.grad_kl_p_q[0] = -d / (sigma * sigma);
    r.grad_kl_p_q[1] = 1.0 - spread;
    *out = r;
    return DS_OK;
}

/* ---- Monte Carlo ---- */

typedef struct {
    long n;
    double mean, m2; /* Welford running mean and sum of squared deviations */
} running_stats;

static void stats_push(running_stats *s, double v) {
    s->n++;
    double d = v - s->mean;
    s->mean += d / s->n;
    s->m2 += d * (v - s->mean);
}
static double stats_se(const running_stats *s) { return sqrt(s->m2 / (s->n - 1) / s->n); }

int ds_vi_mc_estimate(const ds_mixture *p, double mu, double sigma, double log_z, long n, uint64_t seed, ds_vi_mc *out) {
    if (!p || !out) return ds_fail("vi: null pointer");
    if (check_q(mu, sigma) || ds_check_range(log_z, -DS_VI_MAX_ABS_LOG_Z, DS_VI_MAX_ABS_LOG_Z, "log Z")) return DS_ERR;
    if (ds_check_range_int(n, 2, DS_VI_MAX_MC, "number of Monte-Carlo samples")) return DS_ERR;
    ds_rng rng;
    ds_rng_seed(&rng, seed);
    double log_sigma = ds_log(sigma);
    running_stats from_q = {0}, from_p = {0};
    for (long i = 0; i < n; i++) { /* x ~ q: log q(x) - log p(x) */
        double z = ds_rng_normal(&rng), x = mu + sigma * z;
        stats_push(&from_q, (-0.5 * z * z - log_sigma - HALF_LOG_2PI) - ds_mixture_log_pdf(p, x));
    }
    for (long i = 0; i < n; i++) { /* x ~ p (component by weight, then its normal): log p(x) - log q(x) */
        double u = ds_rng_uniform(&rng), cum = 0;
        int c = p->k - 1;
        for (int j = 0; j < p->k - 1; j++) {
            cum += p->weight[j];
            if (u < cum) { c = j; break; }
        }
        double x = p->mean[c] + p->std[c] * ds_rng_normal(&rng), z = (x - mu) / sigma;
        stats_push(&from_p, ds_mixture_log_pdf(p, x) - (-0.5 * z * z - log_sigma - HALF_LOG_2PI));
    }
    out->n = n;
    out->kl_q_p = from_q.mean;
    out->kl_q_p_se = stats_se(&from_q);
    out->kl_p_q = from_p.mean;
    out->kl_p_q_se = stats_se(&from_p);
    out->elbo = log_z - from_q.mean;
    out->elbo_se = out->kl_q_p_se;
    return DS_OK;
}

/* ---- fits ---- */

int ds_vi_direction_parse(const char *name, ds_vi_direction *dir) {
    if (name && dir && strcmp(name, "reverse") == 0) { *dir = DS_VI_REVERSE; return DS_OK; }
    if (name && dir && strcmp(name, "forward") == 0) { *dir = DS_VI_FORWARD; return DS_OK; }
    return ds_fail("unknown fit direction '%s' (expected reverse = KL(q||p) or forward = KL(p||q))", name ? name : "(null)");
}

const char *ds_vi_direction_name(ds_vi_direction dir) { return dir == DS_VI_FORWARD ? "forward" : "reverse"; }

static double objective(const ds_vi_result *r, ds_vi_direction dir, double grad[2]) {
    const double *g = dir == DS_VI_FORWARD ? r->grad_kl_p_q : r->grad_kl_q_p;
    grad[0] = g[0];
    grad[1] = g[1];
    return dir == DS_VI_FORWARD ? r->kl_p_q : r->kl_q_p;
}

int ds_vi_fit(const ds_mixture *p, ds_vi_direction dir, double mu0, double sigma0, int max_steps,
              double *path, int *n_points, ds_vi_result *out) {
    if (!p || !n_points || !out) return ds_fail("vi fit: null pointer");
    if (dir != DS_VI_REVERSE && dir != DS_VI_FORWARD) return ds_fail("vi fit: unknown direction %d (0 = reverse, 1 = forward)", (int)dir);
    if (ds_check_range_int(max_steps, 0, DS_VI_MAX_FIT_STEPS, "fit steps")) return DS_ERR;
    ds_vi_result cur;
    if (ds_vi_eval(p, mu0, sigma0, 0.0, &cur)) return DS_ERR;
    double grad[2], f = objective(&cur, dir, grad), lam = ds_log(sigma0);
    if (path) {
        path[0] = cur.mu;
        path[1] = cur.sigma;
        path[2] = f;
    }
    int rows = 1;
    for (int step = 0; step < max_steps; step++) {
        double s2 = cur.sigma * cur.sigma;
        double d_mu = -s2 * grad[0], d_lam = -0.5 * grad[1];
        double g_norm2 = s2 * grad[0] * grad[0] + 0.5 * grad[1] * grad[1]; /* G' F^-1 G */
        if (sqrt(g_norm2) < 1e-7) break; /* below this, KL changes by < 1e-14: rounding */
        double eta = 0.25;
        int moved = 0;
        ds_vi_result next;
        double next_grad[2], next_f = f;
        for (int tries = 0; tries < 40 && !moved; tries++, eta *= 0.5) {
            double mu = cur.mu + eta * d_mu, sigma = ds_exp(lam + eta * d_lam);
            if (fabs(mu) > DS_VI_MAX_ABS_MEAN || sigma < DS_VI_MIN_STD || sigma > DS_VI_MAX_STD) continue;
            if (ds_vi_eval(p, mu, sigma, 0.0, &next)) return DS_ERR;
            next_f = objective(&next, dir, next_grad);
            if (next_f < f - 1e-4 * eta * g_norm2) moved = 1, lam += eta * d_lam;
        }
        if (!moved) break; /* no decrease left at rounding level: converged */
        cur = next;
        f = next_f;
        grad[0] = next_grad[0];
        grad[1] = next_grad[1];
        if (path) {
            path[3 * rows] = cur.mu;
            path[3 * rows + 1] = cur.sigma;
            path[3 * rows + 2] = f;
        }
        rows++;
    }
    *n_points = rows;
    *out = cur;
    return DS_OK;
}

/* ---- flat-array entry points (the CLI; wasm_api.c exports them) ---- */

static int mixture_from_params(int k, const double *params, ds_mixture *p) {
    if (!params) return ds_fail("target: null parameters");
    if (k < 1 || k > DS_VI_MAX_COMPONENTS)
        return ds_fail("target must have between 1 and %d components (got %d)", DS_VI_MAX_COMPONENTS, k);
    double w[DS_VI_MAX_COMPONENTS], m[DS_VI_MAX_COMPONENTS], s[DS_VI_MAX_COMPONENTS];
    for (int i = 0; i < k; i++) w[i] = params[3 * i], m[i] = params[3 * i + 1], s[i] = params[3 * i + 2];
    return ds_mixture_init(p, k, w, m, s);
}

int ds_vi_evaluate(int k, const double *params, double mu, double sigma, double log_z, double *out) {
    ds_mixture p;
    ds_vi_result r;
    if (!out) return ds_fail("vi: null output");
    if (mixture_from_params(k, params, &p) || ds_vi_eval(&p, mu, sigma, log_z, &r)) return DS_ERR;
    double v[DS_VI_EVAL_N] = {r.kl_q_p, r.kl_p_q, r.elbo, r.entropy_q, r.entropy_p, r.cross_q_p,
                              r.grad_kl_q_p[0], r.grad_kl_q_p[1], r.grad_kl_p_q[0], r.grad_kl_p_q[1],
                              p.moment_mean, p.moment_var};
    memcpy(out, v, sizeof v);
    return DS_OK;
}

int ds_vi_parse_target(const unsigned char *text, int len, double *out) {
    ds_mixture p;
    if (!out) return ds_fail("target spec: null output");
    if (ds_mixture_parse(&p, (const char *)text, len)) return DS_ERR;
    out[0] = p.k;
    for (int i = 0; i < p.k; i++) {
        out[1 + 3 * i] = p.weight[i];
        out[2 + 3 * i] = p.mean[i];
        out[3 + 3 * i] = p.std[i];
    }
    return p.k;
}

int ds_vi_curves(int k, const double *params, double mu, double sigma, double x0, double x1, int n, double *out) {
    ds_mixture p;
    if (!out) return ds_fail("vi curves: null output");
    if (mixture_from_params(k, params, &p) || check_q(mu, sigma)) return DS_ERR;
    if (ds_check_range(x0, -1e4, 1e4, "curve start x0") || ds_check_range(x1, -1e4, 1e4, "curve end x1")) return DS_ERR;
    if (!(x1 > x0)) return ds_fail("vi curves: need x0 < x1 (got %g, %g)", x0, x1);
    if (ds_check_range_int(n, 2, 1 << 20, "number of curve points")) return DS_ERR;
    double log_sigma = ds_log(sigma);
    for (int i = 0; i < n; i++) {
        double x = x0 + (x1 - x0) * i / (n - 1), z = (x - mu) / sigma;
        double lp = ds_mixture_log_pdf(&p, x), lq = -0.5 * z * z - log_sigma - HALF_LOG_2PI;
        double pv = ds_exp(lp), qv = ds_exp(lq);
        out[i] = pv;
        out[n + i] = qv;
        out[2 * n + i] = qv * (lq - lp);
        out[3 * n + i] = pv * (lp - lq);
    }
    return DS_OK;
}

static int whole_number(double v, double lo, double hi, const char *what) {
    if (ds_check_range(v, lo, hi, what)) return DS_ERR;
    if (v != floor(v)) return ds_fail("%s must be a whole number (got %g)", what, v);
    return DS_OK;
}

int ds_vi_monte_carlo(int k, const double *params, double mu, double sigma, double log_z, double n, double seed, double *out) {
    ds_mixture p;
    ds_vi_mc mc;
    if (!out) return ds_fail("vi Monte Carlo: null output");
    uint64_t s = 0;
    if (whole_number(n, 2, (double)DS_VI_MAX_MC, "number of Monte-Carlo samples") || ds_seed_from_double(seed, &s))
        return DS_ERR;
    if (mixture_from_params(k, params, &p) || ds_vi_mc_estimate(&p, mu, sigma, log_z, (long)n, s, &mc)) return DS_ERR;
    double v[6] = {mc.kl_q_p, mc.kl_q_p_se, mc.kl_p_q, mc.kl_p_q_se, mc.elbo, mc.elbo_se};
    memcpy(out, v, sizeof v);
    return DS_OK;
}

int ds_vi_fit_path(int k, const double *params, int direction, double mu0, double sigma0, int max_steps, double *path) {
    ds_mixture p;
    ds_vi_result r;
    int rows;
    if (!path) return ds_fail("vi fit: null path");
    if (mixture_from_params(k, params, &p) || ds_vi_fit(&p, (ds_vi_direction)direction, mu0, sigma0, max_steps, path, &rows, &r))
        return DS_ERR;
    return rows;
}
