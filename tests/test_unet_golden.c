/* test_unet_golden.c — golden outputs of a tiny UNet and a tiny MLP.
 *
 * The weights come from an integer formula (exact in float, the same on every target), the
 * inputs too. Three checks per network:
 *   1. the weights file the test generates equals tests/golden/NAME.dsw byte for byte (the
 *      WASM test loads that file, so both builds see the same model);
 *   2. the engine's forward equals an independent forward written here from docs/model.md
 *      with the scalar reference kernels and tensors looked up by name;
 *   3. the output equals the stored tests/golden/NAME_eps.txt.
 * "Equal" means max |got - want| <= 1e-5 * max |want|. To regenerate the stored files after a
 * deliberate change of the model: DS_GOLDEN_WRITE=1 build/test_unet_golden. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "test_files.h"
#include "error.h"
#include "kernels.h"
#include "model.h"
#include "unet.h"

#define TOL 1e-5

/* value j of tensor k: an integer hash mapped to [-1, 1] in steps of 1/1000 */
static double unit(long j, int k) { return (double)((j * 7919 + (long)k * 104729 + 13) % 2001 - 1000) / 1000.0; }

static void fill_formula(ds_model *m) {
    const ds_param_table *t = ds_model_table(m);
    float *p = ds_model_params(m);
    for (int k = 0; k < t->n; k++) {
        const ds_param_info *q = &t->p[k];
        int is_norm = strstr(q->name, "norm") != NULL, is_bias = strstr(q->name, ".bias") != NULL;
        long fan_in = q->ndim >= 2 ? q->numel / q->shape[0] : 1;
        for (long j = 0; j < q->numel; j++) {
            double u = unit(j, k), v;
            if (is_norm) v = is_bias ? 0.1 * u : 1.0 + 0.2 * u;
            else if (is_bias) v = 0.1 * u;
            else if (!strcmp(q->name, "class_emb.weight")) v = u;
            else v = 1.5 * u / sqrt((double)fan_in);
            p[q->offset + j] = (float)v;
        }
    }
}

static const float *T(const ds_model *m, const char *name) {
    const ds_param_table *t = ds_model_table(m);
    int k = ds_param_table_find(t, name);
    if (k < 0) {
        fprintf(stderr, "golden reference: no tensor %s\n", name);
        exit(1);
    }
    return ds_model_params((ds_model *)m) + t->p[k].offset;
}

/* ---- the reference UNet forward, from docs/model.md ---- */

static float *alloc_f(long n) { return calloc((size_t)n, sizeof(float)); }

static float *ref_resblock(const ds_model *m, const char *pre, const float *h, int B, int cin, int cout, int s, const float *eact,
                           int E, int G) {
    char n[96];
    const long HW = (long)s * s;
    float *a = alloc_f(B * cin * HW), *h1 = alloc_f(B * cout * HW), *proj = alloc_f((long)B * cout);
    float *a2 = alloc_f(B * cout * HW), *out = alloc_f(B * cout * HW);
#define W(suffix) (snprintf(n, sizeof n, "%s%s", pre, suffix), T(m, n))
    ds_groupnorm_ref(h, W("norm1.weight"), W("norm1.bias"), a, NULL, NULL, B, cin, (int)HW, G, 1e-5f);
    ds_silu_ref(a, a, B * cin * HW);
    ds_conv2d_ref(a, W("conv1.weight"), W("conv1.bias"), h1, B, cin, s, s, cout, 3, 1);
    ds_linear_ref(eact, W("emb.weight"), W("emb.bias"), proj, B, E, cout);
    ds_add_channel_bias_ref(h1, proj, B, cout, (int)HW);
    ds_groupnorm_ref(h1, W("norm2.weight"), W("norm2.bias"), a2, NULL, NULL, B, cout, (int)HW, G, 1e-5f);
    ds_silu_ref(a2, a2, B * cout * HW);
    ds_conv2d_ref(a2, W("conv2.weight"), W("conv2.bias"), out, B, cout, s, s, cout, 3, 1);
    if (cin != cout) {
        float *sk = alloc_f(B * cout * HW);
        ds_conv2d_ref(h, W("skip.weight"), W("skip.bias"), sk, B, cin, s, s, cout, 1, 1);
        ds_add_ref(out, sk, out, B * cout * HW);
        free(sk);
    } else {
        ds_add_ref(out, h, out, B * cout * HW);
    }
#undef W
    free(a), free(h1), free(proj), free(a2);
    return out;
}

static void ref_unet(const ds_model *m, const ds_unet_config *c, const float *x, const float *t, const int *cls, int B, float *eps) {
    const int E = c->temb_dim, G = c->groups, L = c->n_levels, R = c->n_res_blocks, S = c->image_size;
    float *e0 = alloc_f((long)B * E), *e1 = alloc_f((long)B * E), *emb = alloc_f((long)B * E), *ce = alloc_f((long)B * E);
    ds_timestep_embedding_ref(t, e0, B, E);
    ds_linear_ref(e0, T(m, "temb.fc1.weight"), T(m, "temb.fc1.bias"), e1, B, E, E);
    ds_silu_ref(e1, e1, (long)B * E);
    ds_linear_ref(e1, T(m, "temb.fc2.weight"), T(m, "temb.fc2.bias"), emb, B, E, E);
    ds_class_embedding_ref(T(m, "class_emb.weight"), cls, ce, B, E);
    ds_add_ref(emb, ce, emb, (long)B * E);
    ds_silu_ref(emb, emb, (long)B * E); /* eact */

    int C0 = c->base_channels * c->channel_mult[0], ch = C0, s = S;
    float *h = alloc_f((long)B * C0 * S * S);
    ds_conv2d_ref(x, T(m, "conv_in.weight"), T(m, "conv_in.bias"), h, B, c->in_channels, S, S, C0, 3, 1);
    float *skips[4];
    int skip_ch[4];
    char pre[64];
    for (int l = 0; l < L; l++) {
        int Cl = c->base_channels * c->channel_mult[l];
        for (int r = 0; r < R; r++) {
            snprintf(pre, sizeof pre, "down.%d.res.%d.", l, r);
            float *nh = ref_resblock(m, pre, h, B, ch, Cl, s, emb, E, G);
            free(h), h = nh, ch = Cl;
        }
        skips[l] = alloc_f((long)B * ch * s * s);
        memcpy(skips[l], h, sizeof(float) * B * ch * s * s);
        skip_ch[l] = ch;
        if (l < L - 1) {
            char wn[64], bn[64];
            snprintf(wn, sizeof wn, "down.%d.downsample.weight", l);
            snprintf(bn, sizeof bn, "down.%d.downsample.bias", l);
            float *nh = alloc_f((long)B * ch * (s / 2) * (s / 2));
            ds_conv2d_ref(h, T(m, wn), T(m, bn), nh, B, ch, s, s, ch, 3, 2);
            free(h), h = nh, s /= 2;
        }
    }
    float *nh = ref_resblock(m, "mid.res.", h, B, ch, ch, s, emb, E, G);
    free(h), h = nh;
    for (int l = L - 1; l >= 0; l--) {
        int Cl = c->base_channels * c->channel_mult[l];
        float *cat = alloc_f((long)B * (ch + skip_ch[l]) * s * s);
        ds_concat_channels_ref(h, ch, skips[l], skip_ch[l], cat, B, s * s);
        free(h), h = cat, ch += skip_ch[l];
        for (int r = 0; r < R; r++) {
            snprintf(pre, sizeof pre, "up.%d.res.%d.", l, r);
            float *o = ref_resblock(m, pre, h, B, ch, Cl, s, emb, E, G);
            free(h), h = o, ch = Cl;
        }
        if (l > 0) {
            float *up = alloc_f((long)B * ch * 4 * s * s);
            ds_upsample2x_ref(h, up, B * ch, s, s);
            free(h), h = up, s *= 2;
        }
        free(skips[l]);
    }
    float *a = alloc_f((long)B * ch * S * S);
    ds_groupnorm_ref(h, T(m, "out_norm.weight"), T(m, "out_norm.bias"), a, NULL, NULL, B, ch, S * S, G, 1e-5f);
    ds_silu_ref(a, a, (long)B * ch * S * S);
    ds_conv2d_ref(a, T(m, "conv_out.weight"), T(m, "conv_out.bias"), eps, B, ch, S, S, c->in_channels, 3, 1);
    free(a), free(h), free(e0), free(e1), free(emb), free(ce);
}

static void ref_mlp(const ds_model *m, const ds_mlp_config *c, const float *x, const float *t, int B, float *eps) {
    const int E = c->temb_dim, H = c->hidden, in0 = 2 + E;
    float *in = alloc_f((long)B * in0), *h = alloc_f((long)B * H), *g = alloc_f((long)B * H);
    for (int b = 0; b < B; b++) {
        in[b * in0] = x[2 * b], in[b * in0 + 1] = x[2 * b + 1];
        ds_timestep_embedding_ref(t + b, in + b * in0 + 2, 1, E);
    }
    char wn[32], bn[32];
    const float *cur = in;
    int width = in0;
    for (int i = 0; i < c->n_layers; i++) {
        snprintf(wn, sizeof wn, "fc.%d.weight", i);
        snprintf(bn, sizeof bn, "fc.%d.bias", i);
        float *dst = i % 2 ? g : h;
        ds_linear_ref(cur, T(m, wn), T(m, bn), dst, B, width, H);
        ds_silu_ref(dst, dst, (long)B * H);
        cur = dst, width = H;
    }
    ds_linear_ref(cur, T(m, "fc_out.weight"), T(m, "fc_out.bias"), eps, B, H, 2);
    free(in), free(h), free(g);
}

/* ---- files ---- */

static double rel_diff(const float *got, const float *want, long n) {
    double d = 0, mag = 0;
    for (long i = 0; i < n; i++) {
        if (!isfinite(got[i])) return INFINITY;
        d = fmax(d, fabs((double)got[i] - want[i]));
        mag = fmax(mag, fabs(want[i]));
    }
    return d / fmax(mag, 1e-30);
}

/* The common part: file identity, reference agreement, stored output. */
static void check_golden(const char *name, ds_model *m, const float *eps, const float *eps_ref, long n) {
    int write = getenv("DS_GOLDEN_WRITE") != NULL;
    char file[64];
    uint8_t *bytes;
    size_t size;
    CHECK(ds_model_to_bytes(m, DS_DTYPE_F32, &bytes, &size) == DS_OK, "%s: to_bytes: %s", name, ds_last_error());
    double d = rel_diff(eps, eps_ref, n);
    CHECK(d <= TOL, "%s: engine vs reference forward: relative difference %.3g > %g (first %g vs %g)", name, d, TOL, eps[0], eps_ref[0]);
    printf("%s: engine vs reference forward: %.3g relative\n", name, d);

    snprintf(file, sizeof file, "%s.dsw", name);
    if (write) {
        FILE *f = fopen(golden_path(file), "wb");
        CHECK(f && fwrite(bytes, 1, size, f) == size, "write %s", golden_path(file));
        if (f) fclose(f);
        snprintf(file, sizeof file, "%s_eps.txt", name);
        f = fopen(golden_path(file), "w");
        CHECK(f != NULL, "write %s", golden_path(file));
        if (f) {
            for (long i = 0; i < n; i++) fprintf(f, "%.9g\n", eps[i]);
            fclose(f);
        }
        printf("%s: golden files written\n", name);
    } else {
        size_t stored_n;
        uint8_t *stored = read_file(golden_path(file), &stored_n);
        CHECK(stored && stored_n == size && !memcmp(stored, bytes, size),
              "%s: the generated weights differ from %s (regenerate with DS_GOLDEN_WRITE=1 if intended)", name, golden_path(file));
        free(stored);
        snprintf(file, sizeof file, "%s_eps.txt", name);
        FILE *f = fopen(golden_path(file), "r");
        CHECK(f != NULL, "%s: cannot open %s", name, golden_path(file));
        if (f) {
            float *want = calloc((size_t)n, sizeof(float));
            long got = 0;
            while (got < n && fscanf(f, "%f", &want[got]) == 1) got++;
            fclose(f);
            CHECK(got == n, "%s: %s holds %ld values, expected %ld", name, file, got, n);
            double s = rel_diff(eps, want, n);
            CHECK(s <= TOL, "%s: output vs stored golden: relative difference %.3g > %g (first %.9g vs %.9g)", name, s, TOL, eps[0], want[0]);
            printf("%s: output vs stored golden: %.3g relative\n", name, s);
            free(want);
        }
    }
    free(bytes);
}

/* The forward's layer probe: counts each kind and checks the layers arrive in a plausible order. */
typedef struct {
    int n, kinds[DS_LAYER_COUNT], bad;
} probe_count;

static void count_layer(void *ctx, ds_unet_layer_kind kind, int block, int cin, int cout, int size, int K, int stride) {
    probe_count *c = ctx;
    if (kind < 0 || kind >= DS_LAYER_COUNT || cin < 1 || cout < 1 || size < 1 || K < 0 || stride < 0 ||
        (c->n == 0) != (kind == DS_LAYER_EMBED) || block < -1)
        c->bad++;
    else
        c->kinds[kind]++;
    c->n++;
}

/* A probed forward gives the same bits as an unprobed one and reports every layer once:
 * the tiny UNet has 2 levels, 1 res block: blocks 0 (8->8), 1 (8->16), mid 2, up 3 (32->16),
 * 4 (24->8); 3 of them with a 1x1 skip. */
static void check_probe(ds_model *u, const float *x, const float *t, const int *cls, int B, const float *want, long n) {
    ds_unet *un = ds_model_unet(u);
    ds_unet_state st;
    float *got = malloc(sizeof(float) * (size_t)n);
    probe_count c = {0};
    const ds_unet_probe probe = {count_layer, &c};
    CHECK(ds_unet_state_alloc(&st, un, B) == DS_OK, "probe state: %s", ds_last_error());
    st.probe = &probe;
    CHECK(ds_unet_forward(un, &st, x, t, cls, B, got) == DS_OK, "probed forward: %s", ds_last_error());
    CHECK(rel_diff(got, want, n) == 0, "a probed forward differs from the plain one (%.3g)", rel_diff(got, want, n));
    CHECK(c.bad == 0, "probe: %d layers with bad arguments or out of order", c.bad);
    const int nb = un->n_blocks;
    CHECK(c.kinds[DS_LAYER_EMBED] == 1 && c.kinds[DS_LAYER_WINOGRAD] == 2 * nb && c.kinds[DS_LAYER_GN_SILU] == 2 * nb + 1,
          "probe: %d embed, %d winograd, %d gn_silu layers (want 1, %d, %d)", c.kinds[DS_LAYER_EMBED],
          c.kinds[DS_LAYER_WINOGRAD], c.kinds[DS_LAYER_GN_SILU], 2 * nb, 2 * nb + 1);
    /* direct convs: conv_in, 1 downsample, conv_out, 3 skips */
    CHECK(c.kinds[DS_LAYER_CONV] == 6 && c.kinds[DS_LAYER_ADD] == nb && c.kinds[DS_LAYER_CONCAT] == 2 &&
              c.kinds[DS_LAYER_UPSAMPLE] == 1 && c.kinds[DS_LAYER_EMB_PROJ] == nb && c.kinds[DS_LAYER_ADD_EMB] == nb,
          "probe: %d conv, %d add, %d concat, %d upsample layers (want 6, %d, 2, 1)", c.kinds[DS_LAYER_CONV],
          c.kinds[DS_LAYER_ADD], c.kinds[DS_LAYER_CONCAT], c.kinds[DS_LAYER_UPSAMPLE], nb);
    CHECK(!strcmp(ds_unet_layer_name(DS_LAYER_WINOGRAD), "winograd") && !strcmp(ds_unet_layer_name(DS_LAYER_COUNT), "?"),
          "layer names");
    ds_unet_state_free(&st);
    free(got);
}

int main(void) {
    /* the tiny UNet: 8x8, 2 levels (8 -> 4), channels 8 / 16, 1 res block, 2 groups, E = 16 */
    ds_unet_config uc = {.image_size = 8, .in_channels = 1, .base_channels = 8, .n_levels = 2, .channel_mult = {1, 2},
                         .n_res_blocks = 1, .groups = 2, .temb_dim = 16, .n_classes = 10};
    ds_model *u = ds_model_random(DS_MODEL_UNET, &uc, 0);
    CHECK(u != NULL, "tiny unet: %s", ds_last_error());
    if (!u) return check_summary("test_unet_golden");
    fill_formula(u);
    enum { B = 3, N = 64 };
    float x[B * N], t[B] = {0.0f, 37.5f, 999.0f}, eps[B * N], eps_ref[B * N];
    int cls[B] = {3, 10, 0};
    for (int i = 0; i < B * N; i++) x[i] = (float)(((i * 37) % 101) / 50.0 - 1.0);
    CHECK(ds_model_forward(u, x, t, cls, B, eps) == DS_OK, "unet forward: %s", ds_last_error());
    ref_unet(u, &uc, x, t, cls, B, eps_ref);
    check_golden("unet_tiny", u, eps, eps_ref, B * N);
    check_probe(u, x, t, cls, B, eps, B * N);

    /* batch independence: item 1 alone gives what it gave inside the batch */
    float one[N];
    CHECK(ds_model_forward(u, x + N, t + 1, cls + 1, 1, one) == DS_OK, "unet forward B=1");
    CHECK(rel_diff(one, eps + N, N) == 0, "unet: item 1 alone differs from item 1 in a batch of 3");
    /* the class matters, and NULL classes mean "no class" (row 10) */
    float other[N], none[N];
    int cls7 = 7;
    ds_model_forward(u, x + N, t + 1, &cls7, 1, other);
    CHECK(rel_diff(other, one, N) > 1e-3, "unet: changing the class changes the output");
    ds_model_forward(u, x + N, t + 1, NULL, 1, none);
    CHECK(rel_diff(none, one, N) == 0, "unet: cls = NULL equals class 10 (no class)");
    /* The engine runs the 3x3 convs as Winograd from weights transformed at the first forward.
     * Weights changed through ds_model_params must reach the next forward (the transform is
     * redone): scale every block's conv1 and conv_out and compare with a fresh model holding
     * the same weights. The direct convs of an unprepared ds_unet_forward agree to rounding. */
    {
        ds_model *v = ds_model_random(DS_MODEL_UNET, &uc, 0);
        fill_formula(v);
        float before[N], after[N], fresh[N], direct[N];
        CHECK(ds_model_forward(v, x, t, cls, 1, before) == DS_OK, "forward before the change");
        const ds_param_table *tab = ds_model_table(v);
        float *pv = ds_model_params(v);
        for (int k = 0; k < tab->n; k++)
            if (strstr(tab->p[k].name, "conv1.weight") || !strcmp(tab->p[k].name, "conv_out.weight"))
                for (long j = 0; j < tab->p[k].numel; j++) pv[tab->p[k].offset + j] *= 0.5f;
        CHECK(ds_model_forward(v, x, t, cls, 1, after) == DS_OK, "forward after the change");
        uint8_t *bytes;
        size_t nb;
        CHECK(ds_model_to_bytes(v, DS_DTYPE_F32, &bytes, &nb) == DS_OK, "to bytes: %s", ds_last_error());
        ds_model *w = ds_model_from_bytes(bytes, nb);
        free(bytes);
        CHECK(w && ds_model_forward(w, x, t, cls, 1, fresh) == DS_OK, "fresh model forward");
        CHECK(rel_diff(after, before, N) > 1e-3, "changed weights change the output (%.3g)", rel_diff(after, before, N));
        CHECK(rel_diff(after, fresh, N) == 0, "after a weight change the forward equals a fresh model's (%.3g): stale Winograd weights?",
              rel_diff(after, fresh, N));
        ds_unet *un = ds_model_unet(w);
        ds_unet plain = *un; /* the same weights, no Winograd weights: direct convs */
        plain.wino = NULL;
        ds_unet_state st;
        CHECK(ds_unet_state_alloc(&st, &plain, 1) == DS_OK && ds_unet_forward(&plain, &st, x, t, cls, 1, direct) == DS_OK,
              "direct forward: %s", ds_last_error());
        CHECK(rel_diff(direct, fresh, N) <= TOL, "direct and Winograd convs agree to %.3g (> %g)", rel_diff(direct, fresh, N), TOL);
        printf("unet: Winograd vs direct convs, relative difference %.3g\n", rel_diff(direct, fresh, N));
        ds_unet_state_free(&st);
        /* the trainer's full state and the sampler's forward-only one (no normalised tensors)
         * give the same bits */
        ds_unet_state full, lean;
        CHECK(ds_unet_state_alloc(&full, un, 1) == DS_OK && ds_unet_state_alloc_forward(&lean, un, 1) == DS_OK, "states");
        CHECK(lean.acts_floats < full.acts_floats && !lean.block[0].norm1 && !lean.out_norm, "the forward-only state keeps no norms");
        CHECK(ds_unet_forward(un, &full, x, t, cls, 1, direct) == DS_OK && ds_unet_forward(un, &lean, x, t, cls, 1, after) == DS_OK,
              "forwards: %s", ds_last_error());
        CHECK(!memcmp(direct, after, sizeof(float) * N) && !memcmp(direct, fresh, sizeof(float) * N),
              "forward-only state and full state give the same bits");
        printf("unet: forward-only state %ld floats, full %ld: the same bits\n", lean.acts_floats, full.acts_floats);
        ds_unet_state_free(&full);
        ds_unet_state_free(&lean);
        ds_model_free(v);
        ds_model_free(w);
    }
    /* a batch larger than the forward chunk (16) gives what each item gives alone */
    enum { BIG = 21 };
    float *bx = malloc(sizeof(float) * BIG * N), *be = malloc(sizeof(float) * BIG * N), bt[BIG];
    int bc[BIG], same = 1;
    for (int i = 0; i < BIG * N; i++) bx[i] = (float)(((i * 53) % 89) / 40.0 - 1.1);
    for (int b2 = 0; b2 < BIG; b2++) bt[b2] = (float)(47 * b2), bc[b2] = b2 % 11;
    CHECK(ds_model_forward(u, bx, bt, bc, BIG, be) == DS_OK, "unet forward B=%d: %s", BIG, ds_last_error());
    for (int b2 = 0; b2 < BIG; b2++) {
        ds_model_forward(u, bx + b2 * N, bt + b2, bc + b2, 1, one);
        same &= rel_diff(one, be + b2 * N, N) == 0;
    }
    CHECK(same, "unet: a batch of %d (run in chunks) differs from its items run alone", BIG);
    bt[18] = -1.0f;
    CHECK(ds_model_forward(u, bx, bt, bc, BIG, be) == DS_ERR && strstr(ds_last_error(), "t[2]") &&
              strstr(ds_last_error(), "chunk starting at item 16"),
          "a bad item in the second chunk is named: %s", ds_last_error());
    free(bx), free(be);
    /* bad input is refused */
    float bad_t = 1001.0f;
    CHECK(ds_model_forward(u, x, &bad_t, cls, 1, eps) == DS_ERR && strstr(ds_last_error(), "t[0]"), "t out of range refused");
    int bad_c = 11;
    CHECK(ds_model_forward(u, x, t, &bad_c, 1, eps) == DS_ERR && strstr(ds_last_error(), "class[0] = 11"), "class 11 refused");
    float xn[N];
    memcpy(xn, x, sizeof xn);
    xn[5] = NAN;
    CHECK(ds_model_forward(u, xn, t, cls, 1, eps) == DS_ERR && strstr(ds_last_error(), "x[5]"), "NaN input refused");
    ds_model_free(u);

    /* the tiny MLP: hidden 16, 3 layers, E = 8 */
    ds_mlp_config mc = {.data_dim = 2, .hidden = 16, .n_layers = 3, .temb_dim = 8};
    ds_model *p = ds_model_random(DS_MODEL_MLP, &mc, 0);
    CHECK(p != NULL, "tiny mlp: %s", ds_last_error());
    if (!p) return check_summary("test_unet_golden");
    fill_formula(p);
    enum { PB = 5 };
    float px[PB * 2], pt[PB] = {0.0f, 1.0f, 250.0f, 500.5f, 1000.0f}, pe[PB * 2], pe_ref[PB * 2];
    for (int i = 0; i < PB * 2; i++) px[i] = (float)(((i * 53) % 97) / 24.0 - 2.0);
    CHECK(ds_model_forward(p, px, pt, NULL, PB, pe) == DS_OK, "mlp forward: %s", ds_last_error());
    ref_mlp(p, &mc, px, pt, PB, pe_ref);
    check_golden("mlp_tiny", p, pe, pe_ref, PB * 2);
    ds_model_free(p);
    return check_summary("test_unet_golden");
}
