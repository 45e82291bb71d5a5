/* test_grad.c — every backward kernel against central finite differences of its forward kernel.
 *
 * For an op y = f(inputs), the scalar loss is L = sum(y * r) (in double) with a fixed random r,
 * so dL/dy = r is what the backward receives. Each input and parameter element (all of them:
 * the shapes are tiny) is nudged by +-h and (L+ - L-)/2h compared with the analytic gradient.
 * Linear ops are exact up to rounding, so they get a large step; non-linear ones (GroupNorm,
 * SiLU) a small one. The figure per op is max|fd - analytic| / max|analytic|, printed, with a
 * tolerance per op. A deliberately wrong gradient is checked to fail (the test can fail). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels.h"
#include "kernels_grad.h"
#include "rng.h"

#define MAXT 4

typedef struct {
    const char *name;
    float *x;  /* (n) the tensor nudged */
    float *g;  /* (n) its analytic gradient */
    long n;
} tensor_ref;

typedef struct op op;
struct op {
    const char *name;
    tensor_ref t[MAXT];
    int nt;
    float *y;   /* (ny) forward output */
    long ny;
    float *r;   /* (ny) dL/dy */
    void (*forward)(op *o);
    void (*backward)(op *o); /* accumulates into the t[].g (zeroed before) */
    void *ctx;
    int dims[8];
};

static ds_rng rng;

/* every test buffer, freed at the end */
static void *allocs[512];
static int n_allocs;
static void *track(void *p) {
    if (n_allocs < 512) allocs[n_allocs++] = p;
    return p;
}

static float *randn(long n, double scale) {
    float *p = track(malloc(sizeof(float) * (size_t)n));
    for (long i = 0; i < n; i++) p[i] = (float)(ds_rng_normal(&rng) * scale);
    return p;
}
static float *zeros(long n) { return track(calloc((size_t)n, sizeof(float))); }

static double loss(op *o) {
    o->forward(o);
    double s = 0.0;
    for (long i = 0; i < o->ny; i++) s += (double)o->y[i] * o->r[i];
    return s;
}

static int expect_failure; /* 1 while checking the planted error: report, do not fail */

/* Returns the worst relative error over all tensors of the op. */
static double gradcheck(op *o, double h, double tol) {
    for (int k = 0; k < o->nt; k++) memset(o->t[k].g, 0, sizeof(float) * (size_t)o->t[k].n);
    o->backward(o);
    double worst = 0.0;
    for (int k = 0; k < o->nt; k++) {
        tensor_ref *t = &o->t[k];
        double max_an = 0.0, max_err = 0.0;
        long at = 0;
        for (long i = 0; i < t->n; i++) {
            float keep = t->x[i];
            t->x[i] = keep + (float)h;
            double lp = loss(o);
            t->x[i] = keep - (float)h;
            double lm = loss(o);
            t->x[i] = keep;
            double fd = (lp - lm) / (2.0 * h), an = t->g[i];
            if (fabs(an) > max_an) max_an = fabs(an);
            if (fabs(fd - an) > max_err) max_err = fabs(fd - an), at = i;
        }
        double rel = max_err / (max_an > 1e-12 ? max_an : 1e-12);
        printf("  %-22s %-6s max|fd-an| %.3e  max|an| %.3e  rel %.2e (tol %.0e)\n", o->name, t->name, max_err, max_an,
               rel, tol);
        if (!expect_failure)
            CHECK(rel <= tol, "%s d%s: rel err %.3g > %.3g at %ld (analytic %g)", o->name, t->name, rel, tol, at,
                  t->g[at]);
        if (rel > worst) worst = rel;
    }
    return worst;
}

/* ---- conv ---- */
static void conv_fwd(op *o) {
    int *d = o->dims; /* B, Cin, H, W, Cout, K, stride */
    float scratch[4096];
    ds_conv2d(o->t[0].x, o->t[1].x, o->t[2].x, o->y, scratch, d[0], d[1], d[2], d[3], d[4], d[5], d[6]);
}
static void conv_bwd(op *o) {
    int *d = o->dims;
    float scratch[8192];
    ds_conv2d_backward(o->t[0].x, o->t[1].x, o->r, o->t[0].g, o->t[1].g, o->t[2].g, scratch, d[0], d[1], d[2], d[3],
                       d[4], d[5], d[6]);
}
static op make_conv(const char *name, int B, int Cin, int H, int W, int Cout, int K, int stride) {
    op o = {.name = name, .forward = conv_fwd, .backward = conv_bwd, .dims = {B, Cin, H, W, Cout, K, stride}};
    int Ho = ds_conv2d_out_size(H, K, stride), Wo = ds_conv2d_out_size(W, K, stride);
    long nx = (long)B * Cin * H * W, nw = (long)Cout * Cin * K * K;
    o.t[0] = (tensor_ref){"x", randn(nx, 1), zeros(nx), nx};
    o.t[1] = (tensor_ref){"w", randn(nw, 0.3), zeros(nw), nw};
    o.t[2] = (tensor_ref){"b", randn(Cout, 0.1), zeros(Cout), Cout};
    o.nt = 3;
    o.ny = (long)B * Cout * Ho * Wo;
    o.y = zeros(o.ny);
    o.r = randn(o.ny, 1);
    return o;
}

/* ---- linear ---- */
static void linear_fwd(op *o) { ds_linear(o->t[0].x, o->t[1].x, o->t[2].x, o->y, o->dims[0], o->dims[1], o->dims[2]); }
static void linear_bwd(op *o) {
    ds_linear_backward(o->t[0].x, o->t[1].x, o->r, o->t[0].g, o->t[1].g, o->t[2].g, o->dims[0], o->dims[1], o->dims[2]);
}
static op make_linear(int B, int in, int out) {
    op o = {.name = "linear", .forward = linear_fwd, .backward = linear_bwd, .dims = {B, in, out}};
    o.t[0] = (tensor_ref){"x", randn((long)B * in, 1), zeros((long)B * in), (long)B * in};
    o.t[1] = (tensor_ref){"W", randn((long)out * in, 0.5), zeros((long)out * in), (long)out * in};
    o.t[2] = (tensor_ref){"b", randn(out, 0.1), zeros(out), out};
    o.nt = 3;
    o.ny = (long)B * out;
    o.y = zeros(o.ny);
    o.r = randn(o.ny, 1);
    return o;
}

/* ---- GroupNorm, and GroupNorm + SiLU as the network chains them ---- */
static float gn_mean[64], gn_rstd[64];
static void gn_fwd(op *o) {
    int *d = o->dims; /* B, C, HW, G */
    ds_groupnorm(o->t[0].x, o->t[1].x, o->t[2].x, o->y, gn_mean, gn_rstd, d[0], d[1], d[2], d[3], 1e-5f);
}
static void gn_bwd(op *o) {
    int *d = o->dims;
    gn_fwd(o); /* the cached statistics of the unperturbed input */
    ds_groupnorm_backward(o->t[0].x, o->t[1].x, gn_mean, gn_rstd, o->r, o->t[0].g, o->t[1].g, o->t[2].g, d[0], d[1], d[2],
                          d[3]);
}
static void gn_silu_fwd(op *o) {
    int *d = o->dims;
    float *norm = o->ctx;
    ds_groupnorm_silu(o->t[0].x, o->t[1].x, o->t[2].x, norm, o->y, gn_mean, gn_rstd, d[0], d[1], d[2], d[3], 1e-5f);
}
static void gn_silu_bwd(op *o) {
    int *d = o->dims;
    float *norm = o->ctx, *dnorm = malloc(sizeof(float) * (size_t)o->ny);
    gn_silu_fwd(o);
    ds_groupnorm_silu_backward(o->t[0].x, o->t[1].x, gn_mean, gn_rstd, norm, o->r, dnorm, o->t[0].g, o->t[1].g,
                               o->t[2].g, d[0], d[1], d[2], d[3]);
    free(dnorm);
}

/* The fused GroupNorm + SiLU backward against the two passes it replaces, bit for bit. */
static void check_gn_silu_fused(void) {
    enum { B = 3, C = 12, HW = 49, G = 4, N = B * C * HW };
    float *x = randn(N, 1.5), *gamma = randn(C, 1), *beta = randn(C, 0.5), *d_act = randn(N, 1);
    float *norm = zeros(N), *act = zeros(N), *dn1 = zeros(N), *dn2 = zeros(N), *dx1 = randn(N, 1), *dx2 = zeros(N);
    float dg1[C] = {0}, db1[C] = {0}, dg2[C] = {0}, db2[C] = {0};
    memcpy(dx2, dx1, sizeof(float) * N);
    ds_groupnorm_silu(x, gamma, beta, norm, act, gn_mean, gn_rstd, B, C, HW, G, 1e-5f);
    ds_silu_backward(norm, d_act, dn1, N);
    ds_groupnorm_backward(x, gamma, gn_mean, gn_rstd, dn1, dx1, dg1, db1, B, C, HW, G);
    ds_groupnorm_silu_backward(x, gamma, gn_mean, gn_rstd, norm, d_act, dn2, dx2, dg2, db2, B, C, HW, G);
    CHECK(!memcmp(dx1, dx2, sizeof(float) * N) && !memcmp(dn1, dn2, sizeof(float) * N) && !memcmp(dg1, dg2, sizeof dg1) &&
              !memcmp(db1, db2, sizeof db1),
          "groupnorm_silu_backward differs from silu_backward + groupnorm_backward (must be bit-identical)");
}
static op make_gn(const char *name, int fused, int B, int C, int HW, int G) {
    op o = {.name = name, .forward = fused ? gn_silu_fwd : gn_fwd, .backward = fused ? gn_silu_bwd : gn_bwd,
            .dims = {B, C, HW, G}};
    long n = (long)B * C * HW;
    float *x = randn(n, 1.5);
    for (long i = 0; i < n; i++) x[i] += 0.7f; /* a non-zero mean */
    o.t[0] = (tensor_ref){"x", x, zeros(n), n};
    o.t[1] = (tensor_ref){"gamma", randn(C, 1), zeros(C), C};
    o.t[2] = (tensor_ref){"beta", randn(C, 0.5), zeros(C), C};
    o.nt = 3;
    o.ny = n;
    o.y = zeros(n);
    o.r = randn(n, 1);
    o.ctx = zeros(n);
    return o;
}

/* ---- SiLU ---- */
static void silu_fwd(op *o) { ds_silu(o->t[0].x, o->y, o->ny); }
static void silu_bwd(op *o) { ds_silu_backward(o->t[0].x, o->r, o->t[0].g, o->ny); }

/* ---- data movement ---- */
static void up_fwd(op *o) { ds_upsample2x(o->t[0].x, o->y, o->dims[0], o->dims[1], o->dims[2]); }
static void up_bwd(op *o) { ds_upsample2x_backward(o->r, o->t[0].g, o->dims[0], o->dims[1], o->dims[2]); }
static void cat_fwd(op *o) { ds_concat_channels(o->t[0].x, o->dims[1], o->t[1].x, o->dims[2], o->y, o->dims[0], o->dims[3]); }
static void cat_bwd(op *o) {
    ds_concat_channels_backward(o->r, o->t[0].g, o->dims[1], o->t[1].g, o->dims[2], o->dims[0], o->dims[3]);
}
static void chb_fwd(op *o) { /* y = x + v broadcast */
    memcpy(o->y, o->t[0].x, sizeof(float) * (size_t)o->ny);
    ds_add_channel_bias(o->y, o->t[1].x, o->dims[0], o->dims[1], o->dims[2]);
}
static void chb_bwd(op *o) {
    ds_accumulate(o->r, o->t[0].g, o->ny);
    ds_add_channel_bias_backward(o->r, o->t[1].g, o->dims[0], o->dims[1], o->dims[2]);
}
static int emb_cls[3] = {2, 0, 2};
static void emb_fwd(op *o) { ds_class_embedding(o->t[0].x, emb_cls, o->y, 3, o->dims[0]); }
static void emb_bwd(op *o) { ds_class_embedding_backward(o->r, emb_cls, o->t[0].g, 3, o->dims[0]); }
static float mse_target[40];
static void mse_fwd(op *o) { /* y = (1 elt) the MSE; r = 1 */
    o->y[0] = (float)ds_mse_backward(o->t[0].x, mse_target, NULL, 40, 40);
}
static void mse_bwd(op *o) { ds_mse_backward(o->t[0].x, mse_target, o->t[0].g, 40, 40); }
static const float mse_weight[4] = {1.0f, 0.25f, 3.0f, 0.0f}; /* 4 items of 10 */
static void wmse_fwd(op *o) { o->y[0] = (float)ds_mse_backward_weighted(o->t[0].x, mse_target, mse_weight, NULL, 4, 10, 40); }
static void wmse_bwd(op *o) { ds_mse_backward_weighted(o->t[0].x, mse_target, mse_weight, o->t[0].g, 4, 10, 40); }

static int xent_labels[4] = {2, 0, 4, 4};
static void xent_fwd(op *o) { o->y[0] = (float)ds_softmax_xent_backward(o->t[0].x, xent_labels, NULL, 4, 5, 4); }
static void xent_bwd(op *o) { ds_softmax_xent_backward(o->t[0].x, xent_labels, o->t[0].g, 4, 5, 4); }

/* softmax of 3 rows of 7, scale 0.6 (an attention's 1/sqrt(C)) */
static void softmax_fwd(op *o) {
    memcpy(o->y, o->t[0].x, sizeof(float) * (size_t)o->ny);
    ds_softmax_rows(o->y, 3, 7, 0.6f);
}
static void softmax_bwd(op *o) {
    float d[21];
    softmax_fwd(o);
    memcpy(d, o->r, sizeof d);
    ds_softmax_rows_backward(o->y, d, 3, 7, 0.6f);
    ds_accumulate(d, o->t[0].g, 21);
}

static op make_simple(const char *name, void (*f)(op *), void (*b)(op *), long nx, long ny) {
    op o = {.name = name, .forward = f, .backward = b};
    o.t[0] = (tensor_ref){"x", randn(nx, 1.5), zeros(nx), nx};
    o.nt = 1;
    o.ny = ny;
    o.y = zeros(ny);
    o.r = randn(ny, 1);
    return o;
}

static void wrong_bwd(op *o) { /* SiLU backward with one element off by ~1%: the checker must catch it */
    ds_silu_backward(o->t[0].x, o->r, o->t[0].g, o->ny);
    o->t[0].g[3] += 0.02f * fabsf(o->r[3]) + 0.02f;
}

int main(void) {
    ds_rng_seed(&rng, 2024);
    double worst;
    printf("finite-difference gradient checks (figure: max|fd - analytic| / max|analytic|)\n");

    /* The backward GEMM against the scalar reference, bit for bit: shapes with row and column
     * remainders, long K, both op(A), both accumulate modes. */
    {
        const int shapes[][3] = {{7, 37, 300}, {4, 16, 5}, {13, 8, 1}, {1, 3, 600}, {33, 49, 64}};
        double worst_gemm = 0;
        for (int si = 0; si < 5; si++)
            for (int ta = 0; ta < 2; ta++)
                for (int acc = 0; acc < 2; acc++) {
                    int M = shapes[si][0], N = shapes[si][1], K = shapes[si][2];
                    float *A = randn((long)M * K, 1), *Bm = randn((long)K * N, 1), *C1 = randn((long)M * N, 1);
                    float *C2 = malloc(sizeof(float) * (size_t)M * N);
                    memcpy(C2, C1, sizeof(float) * (size_t)M * N);
                    ds_gemm(ta, 0, M, N, K, A, ta ? M : K, Bm, N, C1, N, acc);
                    ds_gemm_ref(ta, 0, M, N, K, A, ta ? M : K, Bm, N, C2, N, acc);
                    double e = 0;
                    for (long i = 0; i < (long)M * N; i++) e = fmax(e, fabs(C1[i] - C2[i]));
                    worst_gemm = fmax(worst_gemm, e);
                    CHECK(e == 0, "gemm (trainer shapes) %dx%dx%d trans_a %d acc %d: max diff %.3g (must be bit-identical)", M, N, K, ta, acc, e);
                    free(C2);
                }
        printf("  ds_gemm (op(B) = B, trainer shapes) vs ds_gemm_ref: max |diff| %.2e (bit-identical expected)\n", worst_gemm);
    }

    check_gn_silu_fused();
    op c1 = make_conv("conv3x3", 2, 3, 6, 5, 4, 3, 1);
    gradcheck(&c1, 0.25, 2e-4);
    op c2 = make_conv("conv3x3 stride2", 2, 3, 7, 6, 4, 3, 2);
    gradcheck(&c2, 0.25, 2e-4);
    op c3 = make_conv("conv1x1", 2, 5, 4, 3, 3, 1, 1);
    gradcheck(&c3, 0.25, 2e-4);
    op li = make_linear(3, 7, 5);
    gradcheck(&li, 0.25, 2e-4);
    op gn = make_gn("groupnorm", 0, 2, 6, 5, 3);
    gradcheck(&gn, 1e-2, 3e-3);
    op gs = make_gn("groupnorm+silu", 1, 2, 4, 6, 2);
    gradcheck(&gs, 1e-2, 3e-3);
    op si = make_simple("silu", silu_fwd, silu_bwd, 64, 64);
    gradcheck(&si, 1e-2, 1e-3);
    op sm = make_simple("softmax rows", softmax_fwd, softmax_bwd, 21, 21);
    gradcheck(&sm, 1e-2, 1e-3);
    op up = make_simple("upsample2x", up_fwd, up_bwd, 2 * 3 * 4, 2 * 3 * 4 * 4);
    up.dims[0] = 2, up.dims[1] = 3, up.dims[2] = 4;
    gradcheck(&up, 0.25, 1e-5);
    op ca = make_simple("concat", cat_fwd, cat_bwd, 2 * 2 * 5, 2 * 5 * 5);
    ca.dims[0] = 2, ca.dims[1] = 2, ca.dims[2] = 3, ca.dims[3] = 5;
    ca.t[1] = (tensor_ref){"b", randn(2 * 3 * 5, 1), zeros(2 * 3 * 5), 2 * 3 * 5};
    ca.nt = 2;
    gradcheck(&ca, 0.25, 1e-5);
    op cb = make_simple("add_channel_bias", chb_fwd, chb_bwd, 2 * 3 * 6, 2 * 3 * 6);
    cb.dims[0] = 2, cb.dims[1] = 3, cb.dims[2] = 6;
    cb.t[1] = (tensor_ref){"v", randn(6, 1), zeros(6), 6};
    cb.nt = 2;
    gradcheck(&cb, 0.25, 1e-5);
    op em = make_simple("class_embedding", emb_fwd, emb_bwd, 4 * 5, 3 * 5);
    em.dims[0] = 5;
    gradcheck(&em, 0.25, 1e-5);
    for (int i = 0; i < 40; i++) mse_target[i] = (float)ds_rng_normal(&rng);
    op ms = make_simple("mse", mse_fwd, mse_bwd, 40, 1);
    ms.r[0] = 1.0f;
    gradcheck(&ms, 1e-2, 1e-3);
    op wm = make_simple("mse, weighted per item", wmse_fwd, wmse_bwd, 40, 1);
    wm.r[0] = 1.0f;
    gradcheck(&wm, 1e-2, 1e-3);
    {   /* weights of 1: the plain MSE's loss and gradient exactly */
        static const float ones[4] = {1, 1, 1, 1};
        float g1[40], g2[40];
        double l1 = ds_mse_backward(ms.t[0].x, mse_target, g1, 40, 40),
               l2 = ds_mse_backward_weighted(ms.t[0].x, mse_target, ones, g2, 4, 10, 40);
        CHECK(fabs(l1 - l2) <= 1e-15 * l1 && !memcmp(g1, g2, sizeof g1), "weights of 1: the plain MSE (loss %.17g vs %.17g)", l1, l2);
    }

    op xe = make_simple("softmax_xent", xent_fwd, xent_bwd, 20, 1);
    xe.r[0] = 1.0f;
    gradcheck(&xe, 1e-2, 1e-3);

    /* The checker can fail: one element off by ~1% of the scale must be reported. */
    op bad = make_simple("silu (planted error)", silu_fwd, wrong_bwd, 64, 64);
    expect_failure = 1;
    worst = gradcheck(&bad, 1e-2, 1e-3);
    CHECK(worst > 1e-3, "the planted error was caught (rel %.3g)", worst);
    for (int i = 0; i < n_allocs; i++) free(allocs[i]);
    return check_summary("test_grad");
}
