/* fuzz_api_shapes.c — libFuzzer target for the exported face (wasm_api.h) with models and
 * callers that disagree on shapes: the page's bug class of a Fashion UNet loaded where 2-D
 * points were expected, or a 56x56 UNet handed to the 28x28 image sampler.
 *
 * Input bytes pick a source (a random UNet of image size 4..28 with 1..3 channels, an MLP of
 * 1..4 dimensions, or a mixture), then a caller: a batch, an item size it believes in (right,
 * off by one, or another model's), and array lengths for each call. Every array is allocated
 * at exactly the length the caller announces through ds_api_bounds, as web/api.js does, so
 * ASan reports any wrapper that reads or writes past what the caller gave. The tail of the
 * input also goes to weights_peek (the page's header check before downloading a body).
 * Not here: the loader itself (fuzz_weights.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wasm_api.h"

typedef struct {
    const uint8_t *data;
    size_t size, at;
} bytes_in;

static int next(bytes_in *in) { return in->at < in->size ? in->data[in->at++] : 0; }

/* A caller's length: usually the right one, sometimes one off, another model's, or 0. */
static int guess(bytes_in *in, int right) {
    static const int OTHERS[] = {2, 64, 784, 3136};
    const int c = next(in) % 8;
    if (c < 3) return right;
    if (c == 3) return right + 1;
    if (c == 4) return right > 0 ? right - 1 : 0;
    if (c == 5) return 0;
    return OTHERS[next(in) % 4] * (1 + next(in) % 3);
}

static void *alloc(int n, size_t size) {
    void *p = malloc(n > 0 ? (size_t)n * size : 1);
    if (!p) abort();
    memset(p, 0, n > 0 ? (size_t)n * size : 1);
    return p;
}

static void bounds(int n, const int *lens) { ds_api_bounds(lens, n); }

static int make_source(bytes_in *in) {
    const int pick = next(in) % 3;
    if (pick == 0) { /* image_size, in_channels, base, levels, mult[4], res blocks, groups, temb, classes (unet.h) */
        static const int SIZES[] = {4, 8, 12, 16, 28};
        int cfg[12] = {SIZES[next(in) % 5], 1 + next(in) % 3, 8, 1 + next(in) % 2, 1, 2, 0, 0, 1, 4, 16, 10};
        const int lens[4] = {-1, 12, -1, -1};
        bounds(4, lens);
        return ds_api_model_random(1, cfg, 12, next(in));
    }
    if (pick == 1) { /* data_dim, hidden, n_layers, temb_dim (mlp.h) */
        int cfg[4] = {1 + next(in) % 4, 16, 2, 16};
        const int lens[4] = {-1, 4, -1, -1};
        bounds(4, lens);
        return ds_api_model_random(2, cfg, 4, next(in));
    }
    const int D = 1 + next(in) % 40, K = 1 + next(in) % 3;
    double *w = alloc(K, sizeof *w);
    float *mean = alloc(K * D, sizeof *mean), *var = alloc(K * D, sizeof *var);
    for (int i = 0; i < K; i++) w[i] = 1;
    for (int i = 0; i < K * D; i++) mean[i] = (float)(next(in) - 128) / 64, var[i] = 0.1f;
    const int lens[7] = {-1, -1, K, K * D, K * D, 0, -1};
    bounds(7, lens);
    const int h = ds_api_mixture_new(K, D, w, mean, var, NULL, 0);
    free(w), free(mean), free(var);
    return h;
}

/* model_forward or mixture_predict with the caller's lengths. */
static void predict(bytes_in *in, int source, int is_model, int B, int item) {
    const int nx = guess(in, B * item), nt = guess(in, B), nc = guess(in, B), no = guess(in, B * item);
    float *x = alloc(nx, sizeof(float)), *t = alloc(nt, sizeof(float)), *out = alloc(no, sizeof(float));
    int *cls = alloc(nc, sizeof(int));
    for (int i = 0; i < nt; i++) t[i] = (float)(1 + next(in) * 3);
    for (int i = 0; i < nc; i++) cls[i] = next(in) % 11;
    if (is_model) {
        const int lens[6] = {-1, nx, nt, nc, -1, no};
        bounds(6, lens);
        ds_api_model_forward(source, x, t, cls, B, out);
    } else {
        const int lens[7] = {-1, -1, nx, nt, nc, -1, no};
        bounds(7, lens);
        ds_api_mixture_predict(source, 1, x, t, cls, B, out);
    }
    free(x), free(t), free(out), free(cls);
}

/* A sampler over the source, read every way with the caller's lengths. */
static void sample(bytes_in *in, int source, int B, int item) {
    const int steps = 1 + next(in) % 3, nc = guess(in, B);
    int *cls = alloc(nc, sizeof(int));
    for (int i = 0; i < nc; i++) cls[i] = next(in) % 11;
    const int lens_new[10] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, nc};
    bounds(10, lens_new);
    const int s = ds_api_sampler_new(source, 0, next(in) % 3, steps, 0, 1 + next(in) % 2, 1, next(in), B, cls);
    free(cls);
    if (s <= 0) return;
    const int lens_step[2] = {-1, -1};
    bounds(2, lens_step);
    ds_api_sampler_step(s, 1);
    const int n = guess(in, B * item), n0 = guess(in, B * item), ni = guess(in, 10);
    float *xf = alloc(n, sizeof(float));
    uint8_t *xu = alloc(n, 1), *x0u = alloc(n0, 1);
    double *info = alloc(ni, sizeof(double));
    const int lens_read[3] = {-1, -1, n}, lens_frame[4] = {-1, n, n0, ni}, lens_info[2] = {-1, ni};
    bounds(3, lens_read);
    ds_api_sampler_read(s, 0, xf);
    ds_api_sampler_read_u8(s, 1, xu);
    bounds(4, lens_frame);
    ds_api_sampler_frame(s, xu, x0u, info);
    bounds(2, lens_info);
    ds_api_sampler_info(s, info);
    const int F = steps, nf = guess(in, F * B * item), nr = guess(in, F * 10);
    float *frames = alloc(nf, sizeof(float));
    double *infos = alloc(nr, sizeof(double));
    const int lens_run[3] = {-1, nf, nr};
    bounds(3, lens_run);
    ds_api_sampler_run(s, frames, infos);
    free(xf), free(xu), free(x0u), free(info), free(frames), free(infos);
    bounds(0, NULL);
    ds_api_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bytes_in in = {data, size, 0};
    const int source = make_source(&in);
    if (source > 0) {
        double info[64];
        const int lens_info[2] = {-1, 64};
        bounds(2, lens_info);
        const int is_model = ds_api_model_info(source, info) == 0;
        const int item = is_model ? (int)info[3] : -1;
        const int B = 1 + next(&in) % 4;
        if (is_model) {
            const int ni = guess(&in, 43);
            double *rec = alloc(ni, sizeof(double));
            const int lens[2] = {-1, ni};
            bounds(2, lens);
            ds_api_model_info(source, rec);
            free(rec);
        }
        /* the mixture's dimension is not in a record: the caller guesses it like any other */
        const int caller_item = item > 0 ? item : 1 + next(&in) % 40;
        predict(&in, source, is_model, B, caller_item);
        sample(&in, source, B, caller_item);
        bounds(0, NULL);
        ds_api_free(source);
    }
    /* the rest of the input as the first bytes of a downloaded weights file */
    const int cap = guess(&in, 6), n = (int)(size - in.at);
    uint8_t *head = alloc(n, 1);
    double *peek = alloc(cap, sizeof(double));
    if (n > 0) memcpy(head, data + in.at, (size_t)n);
    const int lens[3] = {n, -1, cap};
    bounds(3, lens);
    ds_api_weights_peek(head, n, peek);
    free(head), free(peek);
    bounds(0, NULL);
    return 0;
}
