/* kernels_bench.c — microbenchmarks of the kernel layer, the same code natively and in WASM.
 *
 * ds_bench_peak measures what this machine's vector unit can do with the instructions the
 * kernels' GEMM uses (vec.h's vf: 4 lanes, 8 with AVX; mul, add, no FMA): 12 independent chains acc = acc * m + a, so
 * latency never limits and the figure is the mul + add throughput. ds_bench_unet_convs times
 * every convolution layer of a UNet (its exact shapes) the way a prepared model's forward
 * runs it (blocks' 3x3 convs through ds_conv2d_winograd, the others through ds_conv2d), so
 * conv GFLOP/s can be set against that peak. Used by `diffuscope bench` and tools/bench_wasm.mjs.
 * Not here: whole-network timing (the callers time ds_model_forward). */
#define _POSIX_C_SOURCE 200809L
#include "kernels_variant.h" /* first: a dispatching build renames the public functions */

#include <stdlib.h>
#include <time.h>

#include "error.h"
#include "kernels.h"
#include "kernels_bench.h"
#include "unet.h"
#include "vec.h"

#ifdef __EMSCRIPTEN__
#include <emscripten/emscripten.h>
/* Emscripten 3.1.6's clock_gettime fills only whole seconds of its 64-bit timespec */
static double now_s(void) { return emscripten_get_now() * 1e-3; }
#else
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
#endif

#define PEAK_CHAINS 12
#define PEAK_INNER 256
#define PEAK_ROUNDS 256 /* per timed call: 6.3 MFLOP at 4 lanes (12.6 at 8), about 0.3 ms */

/* 12 chains x PEAK_INNER steps of (mul, add) on VF_LANES lanes = 2 * VF_LANES FLOP per chain
 * step. The sum of the lanes is returned so the work cannot be optimised away. */
static float peak_round(int rounds, float m_scalar) {
    const vf m = vf_set1(m_scalar), a = vf_set1(1e-3f);
    vf acc[PEAK_CHAINS];
    for (int c = 0; c < PEAK_CHAINS; c++) acc[c] = vf_set1((float)c);
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < PEAK_INNER; k++) {
#define STEP(c) acc[c] = vf_add(vf_mul(acc[c], m), a)
            STEP(0), STEP(1), STEP(2), STEP(3), STEP(4), STEP(5);
            STEP(6), STEP(7), STEP(8), STEP(9), STEP(10), STEP(11);
#undef STEP
        }
    }
    vf s = acc[0];
    for (int c = 1; c < PEAK_CHAINS; c++) s = vf_add(s, acc[c]);
    float lanes[VF_LANES], sum = 0;
    vf_store(lanes, s);
    for (int i = 0; i < VF_LANES; i++) sum += lanes[i];
    return sum;
}

static volatile float peak_sink;

int ds_bench_peak(double seconds, double *out) {
    if (!out) return ds_fail("bench peak: null output");
    if (!(seconds > 0 && seconds <= 60)) return ds_fail("bench peak: seconds must be in (0, 60] (got %g)", seconds);
    const double flop_per_round = 2.0 * VF_LANES * PEAK_CHAINS * PEAK_INNER;
    const int rounds = PEAK_ROUNDS;
    double best = 0, t_total = 0, check = 0;
    for (int calls = 0; t_total < seconds && calls < 1000000; calls++) {
        double t0 = now_s();
        peak_sink = peak_round(rounds, 0.999f); /* a volatile store keeps the work before the clock */
        double dt = now_s() - t0;
        check += peak_sink;
        t_total += dt;
        double g = dt > 0 ? flop_per_round * rounds / dt / 1e9 : 0;
        if (g > best) best = g;
    }
    out[0] = best;
    out[1] = check;
    return DS_OK;
}

/* One conv layer's shape. */
typedef struct {
    int cin, size, cout, K, stride;
    int winograd; /* run as ds_conv2d_winograd, as a prepared model's forward does */
} conv_shape;

/* The conv layers of a UNet in execution order (conv_in, per block conv1, conv2, skip,
 * downsamples, conv_out). Returns the count (at most cap). */
static int unet_convs(const ds_unet *m, conv_shape *out, int cap) {
    const ds_unet_config *c = &m->config;
    int n = 0;
#define ADD(...) do { if (n < cap) out[n++] = (conv_shape){__VA_ARGS__}; } while (0)
    ADD(c->in_channels, c->image_size, m->level_channels[0], 3, 1, 0);
    for (int b = 0; b < m->n_blocks; b++) {
        const ds_unet_block_shape *s = &m->block[b];
        ADD(s->cin, s->size, s->cout, 3, 1, 1);
        ADD(s->cout, s->size, s->cout, 3, 1, 1);
        if (s->cin != s->cout) ADD(s->cin, s->size, s->cout, 1, 1, 0);
        /* the downsample follows the last down block of a level */
        if (b < c->n_levels * c->n_res_blocks && (b + 1) % c->n_res_blocks == 0 && s->level < c->n_levels - 1)
            ADD(s->cout, s->size, s->cout, 3, 2, 0);
    }
    ADD(m->level_channels[0], c->image_size, c->in_channels, 3, 1, 0);
#undef ADD
    return n;
}

/* One call of a layer, the way the forward runs it (U: w in the Winograd domain). */
static void run_conv(const conv_shape *s, const float *x, const float *w, const float *U, const float *bias, float *y,
                     float *scratch, int B) {
    if (s->winograd)
        ds_conv2d_winograd(x, U, bias, y, scratch, B, s->cin, s->size, s->size, s->cout);
    else
        ds_conv2d(x, w, bias, y, scratch, B, s->cin, s->size, s->size, s->cout, s->K, s->stride);
}

#define BENCH_MAX_CONVS (4 * DS_UNET_MAX_BLOCKS + 8)

/* Winograd's own arithmetic. F(2x2): 16 multiply-adds per tile and channel pair, the input
 * transform's 32 adds per tile and input channel, the output's 28 per tile and output.
 * F(4x4): 36 multiply-adds per tile and pair, 12 x 14 = 168 per tile and input channel (each of
 * the 12 six-value B^T passes: 14 mul/add), 10 x 12 = 120 per tile and output (A^T: 12). */
static double winograd_flop(int B, int cin, int cout, int size) {
    const int m = ds_winograd_tile(size, size), per = (size + m - 1) / m;
    const double tiles = (double)B * per * per;
    if (m == 4) return tiles * (2.0 * 36 * cin * cout + 168.0 * cin + 120.0 * cout);
    return tiles * (2.0 * 16 * cin * cout + 32.0 * cin + 28.0 * cout);
}

/* Only the network's shapes are used; the timed weights and inputs are fixed patterns (speed only). */
int ds_bench_unet_convs(const ds_unet *m, int B, double seconds, int cap_rows, double *out) {
    if (!m) return ds_fail("bench convs: the model is not a UNet");
    if (!out || cap_rows < 0) return ds_fail("bench convs: null output or negative capacity");
    if (ds_check_range_int(B, 1, 64, "bench convs batch")) return DS_ERR;
    if (!(seconds > 0 && seconds <= 10)) return ds_fail("bench convs: seconds must be in (0, 10] (got %g)", seconds);
    conv_shape convs[BENCH_MAX_CONVS];
    const int n = unet_convs(m, convs, BENCH_MAX_CONVS);

    size_t most_x = 1, most_w = 1, most_y = 1, most_scratch = 1;
    for (int i = 0; i < n; i++) {
        const conv_shape *s = &convs[i];
        const int so = ds_conv2d_out_size(s->size, s->K, s->stride);
        size_t nx = (size_t)B * s->cin * s->size * s->size, nw = (size_t)s->cout * s->cin * s->K * s->K;
        size_t ny = (size_t)B * s->cout * so * so, ns = ds_conv2d_scratch_floats(s->cin, s->size, s->size, s->K, s->stride);
        if (s->winograd) {
            nw = ds_winograd_u_floats(s->cout, s->cin, ds_winograd_tile(s->size, s->size));
            ns = ds_winograd_scratch_floats(s->cin, s->size, s->cout);
        }
        if (nx > most_x) most_x = nx;
        if (nw > most_w) most_w = nw;
        if (ny > most_y) most_y = ny;
        if (ns > most_scratch) most_scratch = ns;
    }
    float *x = malloc(sizeof(float) * most_x), *w = malloc(sizeof(float) * most_w), *bias = malloc(sizeof(float) * 1024);
    float *y = malloc(sizeof(float) * most_y), *scratch = malloc(sizeof(float) * most_scratch);
    float *U = malloc(sizeof(float) * most_w);
    if (!x || !w || !bias || !y || !scratch || !U) {
        free(x), free(w), free(bias), free(y), free(scratch), free(U);
        return ds_fail("bench convs: out of memory");
    }
    for (size_t i = 0; i < most_x; i++) x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    for (size_t i = 0; i < most_w; i++) w[i] = (float)((i * 53) % 97) / 970.0f - 0.05f;
    for (int i = 0; i < 1024; i++) bias[i] = 0.01f * (float)(i % 7);
    int rows = 0;
    for (int i = 0; i < n && rows < cap_rows; i++, rows++) {
        const conv_shape *s = &convs[i];
        const int so = ds_conv2d_out_size(s->size, s->K, s->stride);
        if (s->winograd) /* once per weights, outside the timing */
            ds_winograd_weights(w, U, s->cout, s->cin, ds_winograd_tile(s->size, s->size));
        run_conv(s, x, w, U, bias, y, scratch, B); /* warm-up */
        int runs = 0;
        double t_total = 0, best = 1e30;
        do { /* the fastest call, as for the peak: on a shared machine the others include waits */
            double t0 = now_s();
            run_conv(s, x, w, U, bias, y, scratch, B);
            double dt = now_s() - t0;
            if (dt < best) best = dt;
            t_total += dt;
            runs++;
        } while (t_total < seconds || runs < 3);
        const double flop = 2.0 * B * s->cin * s->K * s->K * s->cout * so * so;
        const double done = s->winograd ? winograd_flop(B, s->cin, s->cout, s->size) : flop;
        double *row = out + (size_t)rows * DS_BENCH_ROW;
        row[0] = s->cin, row[1] = s->size, row[2] = s->cout, row[3] = s->K, row[4] = s->stride;
        row[5] = best * 1e3;
        row[6] = flop / best / 1e9;
        row[7] = flop / 1e6;
        row[8] = s->winograd;
        row[9] = done / 1e6;
    }
    free(x), free(w), free(bias), free(y), free(scratch), free(U);
    return rows;
}

/* ---- the whole forward, layer by layer (ds_unet_state's probe) ---- */

#define BENCH_MAX_LAYERS (12 * DS_UNET_MAX_BLOCKS + 24)

typedef struct {
    int n;                                 /* layers seen in the current forward */
    double last;                           /* clock at the end of the previous layer */
    double best[BENCH_MAX_LAYERS];         /* fastest seconds of each layer over the forwards */
    double shape[BENCH_MAX_LAYERS][7];     /* kind, block, cin, cout, size, K, stride */
} layer_clock;

static void clock_layer(void *ctx, ds_unet_layer_kind kind, int block, int cin, int cout, int size, int K, int stride) {
    layer_clock *c = ctx;
    const double dt = now_s() - c->last;
    if (c->n < BENCH_MAX_LAYERS) {
        if (dt < c->best[c->n]) c->best[c->n] = dt;
        const double shape[7] = {kind, block, cin, cout, size, K, stride};
        for (int i = 0; i < 7; i++) c->shape[c->n][i] = shape[i];
    }
    c->n++;
    c->last = now_s(); /* the bookkeeping above is no layer's time */
}

/* The arithmetic a layer executes, in MFLOP (2 per multiply-add; GroupNorm + SiLU 12 per
 * value and adds 1, as ds_unet_mflop counts them; concat and upsample only move data). */
static double layer_mflop(const double *sh, int B, int E) {
    const int kind = (int)sh[0], cin = (int)sh[2], cout = (int)sh[3], size = (int)sh[4], K = (int)sh[5];
    const double px = (double)size * size;
    switch (kind) {
    case DS_LAYER_EMBED: return 2.0 * B * 2 * E * E / 1e6;
    case DS_LAYER_CONV: {
        const double so = ds_conv2d_out_size(size, K, (int)sh[6]);
        return 2.0 * B * cin * K * K * cout * so * so / 1e6;
    }
    case DS_LAYER_WINOGRAD: return winograd_flop(B, cin, cout, size) / 1e6;
    case DS_LAYER_GN_SILU: return 12.0 * B * cin * px / 1e6;
    case DS_LAYER_EMB_PROJ: return 2.0 * B * cin * cout / 1e6;
    case DS_LAYER_ADD_EMB:
    case DS_LAYER_ADD: return (double)B * cout * px / 1e6;
    default: return 0;
    }
}

int ds_bench_unet_layers(const ds_unet *m, int B, double seconds, int cap_rows, double *out) {
    if (!m || !m->params) return ds_fail("bench layers: the model is not a built UNet");
    if (!out || cap_rows < 0) return ds_fail("bench layers: null output or negative capacity");
    if (ds_check_range_int(B, 1, 64, "bench layers batch")) return DS_ERR;
    if (!(seconds > 0 && seconds <= 10)) return ds_fail("bench layers: seconds must be in (0, 10] (got %g)", seconds);
    const ds_unet_config *c = &m->config;
    const long item = (long)c->in_channels * c->image_size * c->image_size;
    ds_unet_state st;
    if (ds_unet_state_alloc_forward(&st, m, B)) return DS_ERR;
    float *x = malloc(sizeof(float) * (size_t)(B * item)), *t = malloc(sizeof(float) * (size_t)B);
    layer_clock *clk = malloc(sizeof *clk);
    if (!x || !t || !clk) {
        free(x), free(t), free(clk), ds_unet_state_free(&st);
        return ds_fail("bench layers: out of memory");
    }
    for (long i = 0; i < B * item; i++) x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    for (int b = 0; b < B; b++) t[b] = (float)(10 + (60 * b) % 990);
    for (int i = 0; i < BENCH_MAX_LAYERS; i++) clk->best[i] = 1e30;
    const ds_unet_probe probe = {clock_layer, clk};
    int rc = ds_unet_forward(m, &st, x, t, NULL, B, NULL); /* warm-up, unprobed */
    st.probe = &probe;
    double t_total = 0;
    for (int runs = 0; !rc && (t_total < seconds || runs < 3); runs++) { /* fastest call per layer, as for the convs */
        clk->n = 0;
        const double t0 = clk->last = now_s();
        rc = ds_unet_forward(m, &st, x, t, NULL, B, NULL);
        t_total += now_s() - t0;
    }
    int rows = 0;
    for (; !rc && rows < clk->n && rows < BENCH_MAX_LAYERS && rows < cap_rows; rows++) {
        double *row = out + (size_t)rows * DS_BENCH_LAYER_ROW;
        for (int i = 0; i < 7; i++) row[i] = clk->shape[rows][i];
        row[7] = clk->best[rows] * 1e3;
        row[8] = layer_mflop(clk->shape[rows], B, c->temb_dim);
    }
    free(x), free(t), free(clk), ds_unet_state_free(&st);
    return rc ? DS_ERR : rows;
}
