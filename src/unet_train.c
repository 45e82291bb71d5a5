/* unet_train.c — the UNet backward pass over the cached activations (see unet_train.h). */
#include "unet_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kernels.h"
#include "kernels_grad.h"

/* ---- UNet grad state ---- */

static size_t conv_bwd_scratch(int cin, int size, int cout, int K, int stride) {
    return ds_conv2d_backward_scratch_floats(cin, size, size, cout, K, stride);
}

int ds_unet_grad_state_alloc(ds_unet_grad_state *g, const ds_unet *m, int max_batch) {
    if (!g || !m) return ds_fail("unet grad state: null argument");
    memset(g, 0, sizeof *g);
    if (max_batch < 1 || max_batch > 4096) return ds_fail("unet grad state: max batch must be 1..4096 (got %d)", max_batch);
    const ds_unet_config *c = &m->config;
    int L = c->n_levels, S = c->image_size, E = c->temb_dim, B = max_batch;
    long S2 = (long)S * S;
    int cmax = 0;
    for (int i = 0; i < m->n_blocks; i++) cmax = m->block[i].cin > cmax ? m->block[i].cin : cmax;
    for (int l = 0; l < L; l++) cmax = m->level_channels[l] > cmax ? m->level_channels[l] : cmax;

    /* sizes in floats, in the order the pointers are assigned below */
    long total = 0;
    long n_h_in = (long)B * m->level_channels[0] * S2;
    long n_block[DS_UNET_MAX_BLOCKS], n_down[DS_UNET_MAX_LEVELS] = {0}, n_concat[DS_UNET_MAX_LEVELS] = {0},
         n_up[DS_UNET_MAX_LEVELS] = {0};
    total += n_h_in;
    for (int i = 0; i < m->n_blocks; i++) {
        long s = m->block[i].size;
        n_block[i] = (long)B * m->block[i].cout * s * s;
        total += n_block[i];
    }
    size_t scratch = conv_bwd_scratch(c->in_channels, S, m->level_channels[0], 3, 1);
    size_t sc = conv_bwd_scratch(m->level_channels[0], S, c->in_channels, 3, 1); /* conv_out */
    if (sc > scratch) scratch = sc;
    for (int i = 0; i < m->n_blocks; i++) {
        const ds_unet_block_shape *b = &m->block[i];
        size_t s1 = conv_bwd_scratch(b->cin, b->size, b->cout, 3, 1), s2 = conv_bwd_scratch(b->cout, b->size, b->cout, 3, 1);
        /* the transposed convs' Winograd (ds_unet_backward_weights): cout channels in */
        size_t w1 = ds_winograd_scratch_floats(b->cout, b->size, b->cin), w2 = ds_winograd_scratch_floats(b->cout, b->size, b->cout);
        if (s1 > scratch) scratch = s1;
        if (s2 > scratch) scratch = s2;
        if (w1 > scratch) scratch = w1;
        if (w2 > scratch) scratch = w2;
        if (b->concat) {
            long s = b->size;
            n_concat[b->level] = (long)B * b->cin * s * s;
            total += n_concat[b->level];
        }
    }
    if (c->attention) { /* the mid attention's 1x1 convs */
        const int Cm = m->level_channels[L - 1], sm = m->level_size[L - 1];
        size_t sa = conv_bwd_scratch(Cm, sm, 3 * Cm, 1, 1);
        if (sa > scratch) scratch = sa;
    }
    for (int l = 0; l < L; l++) {
        long s = m->level_size[l];
        if (l < L - 1) {
            long s1 = m->level_size[l + 1];
            n_down[l] = (long)B * m->level_channels[l] * s1 * s1;
            size_t sd = conv_bwd_scratch(m->level_channels[l], (int)s, m->level_channels[l], 3, 2);
            if (sd > scratch) scratch = sd;
            total += n_down[l];
        }
        if (l > 0) {
            long s0 = m->level_size[l - 1];
            n_up[l] = (long)B * m->level_channels[l] * s0 * s0;
            total += n_up[l];
        }
    }
    long n_big = (long)B * cmax * S2;
    /* the mid attention: its output's gradient, one image's scores; q, k, v and the rest in d_big */
    const long C_mid = m->level_channels[L - 1], N_mid = (long)m->level_size[L - 1] * m->level_size[L - 1];
    const long n_attn = c->attention ? B * C_mid * N_mid : 0, n_scores = c->attention ? N_mid * N_mid : 0;
    if (c->attention && 3 * C_mid * N_mid > cmax * S2) return ds_fail("unet grad state: attention's q, k, v outgrow the temporaries");
    total += 3 * n_big + (long)B * cmax + 4L * B * E + n_attn + n_scores + (long)scratch;

    g->buf = malloc((size_t)total * sizeof(float));
    if (!g->buf) return ds_fail("unet grad state: out of memory (%ld floats)", total);
    g->buf_floats = total;
    g->max_batch = B;
    float *p = g->buf;
    g->d_h_in = p, p += n_h_in;
    for (int i = 0; i < m->n_blocks; i++) g->d_block_out[i] = p, p += n_block[i];
    for (int l = 0; l < L; l++) {
        if (n_concat[l]) g->d_concat[l] = p, p += n_concat[l];
        if (n_down[l]) g->d_down[l] = p, p += n_down[l];
        if (n_up[l]) g->d_up[l] = p, p += n_up[l];
    }
    for (int k = 0; k < 3; k++) g->d_big[k] = p, p += n_big;
    g->d_emb_proj = p, p += (long)B * cmax;
    g->d_emb_act = p, p += (long)B * E;
    g->d_emb = p, p += (long)B * E;
    g->d_temb_act1 = p, p += (long)B * E;
    g->d_temb_h1 = p, p += (long)B * E;
    g->d_attn_out = c->attention ? p : NULL, p += n_attn;
    g->d_scores = c->attention ? p : NULL, p += n_scores;
    g->scratch = p, p += (long)scratch;
    g->scratch_floats = (long)scratch;
    return DS_OK;
}

void ds_unet_grad_state_free(ds_unet_grad_state *g) {
    if (!g) return;
    free(g->buf);
    memset(g, 0, sizeof *g);
}

/* ---- the transposed convolutions of the input gradients ---- */

int ds_unet_backward_weights_alloc(ds_unet_backward_weights *bw, const ds_unet *m, int workers) {
    if (!bw || !m) return ds_fail("unet backward weights: null argument");
    memset(bw, 0, sizeof *bw);
    if (workers < 1 || workers > 1024) return ds_fail("unet backward weights: workers must be 1..1024 (got %d)", workers);
    size_t total = 0, flipped = 0;
    for (int b = 0; b < m->n_blocks; b++) {
        const ds_unet_block_shape *bs = &m->block[b];
        const int tile = ds_winograd_tile(bs->size, bs->size);
        total += ds_winograd_u_floats(bs->cin, bs->cout, tile) + ds_winograd_u_floats(bs->cout, bs->cout, tile);
        const size_t f1 = (size_t)bs->cin * bs->cout * 9, f2 = (size_t)bs->cout * bs->cout * 9;
        flipped = f1 > flipped ? f1 : flipped;
        flipped = f2 > flipped ? f2 : flipped;
    }
    bw->buf = malloc(sizeof(float) * (total + flipped * workers));
    if (!bw->buf) return ds_fail("unet backward weights: out of memory for %zu floats", total + flipped * workers);
    float *u = bw->buf;
    for (int b = 0; b < m->n_blocks; b++) {
        const ds_unet_block_shape *bs = &m->block[b];
        const int tile = ds_winograd_tile(bs->size, bs->size);
        bw->conv1[b] = u, u += ds_winograd_u_floats(bs->cin, bs->cout, tile);
        bw->conv2[b] = u, u += ds_winograd_u_floats(bs->cout, bs->cout, tile);
    }
    bw->flipped = u, bw->flipped_floats = flipped, bw->workers = workers;
    return DS_OK;
}

/* w (C_out, C_in, 3, 3) -> wt (C_in, C_out, 3, 3), each kernel turned by 180 degrees */
static void transpose_flip(const float *w, float *wt, int C_out, int C_in) {
    for (int o = 0; o < C_out; o++)
        for (int c = 0; c < C_in; c++)
            for (int k = 0; k < 9; k++) wt[((size_t)c * C_out + o) * 9 + (8 - k)] = w[((size_t)o * C_in + c) * 9 + k];
}

void ds_unet_backward_weights_prepare_conv(ds_unet_backward_weights *bw, const ds_unet *m, int b, int conv, int worker) {
    const ds_unet_block_shape *bs = &m->block[b];
    const int tile = ds_winograd_tile(bs->size, bs->size), cin = conv == 1 ? bs->cin : bs->cout;
    float *flipped = bw->flipped + (size_t)worker * bw->flipped_floats;
    transpose_flip(conv == 1 ? m->w.block[b].conv1_weight : m->w.block[b].conv2_weight, flipped, bs->cout, cin);
    ds_winograd_weights(flipped, conv == 1 ? bw->conv1[b] : bw->conv2[b], cin, bs->cout, tile);
}

void ds_unet_backward_weights_prepare(ds_unet_backward_weights *bw, const ds_unet *m) {
    for (int b = 0; b < m->n_blocks; b++)
        ds_unet_backward_weights_prepare_conv(bw, m, b, 1, 0), ds_unet_backward_weights_prepare_conv(bw, m, b, 2, 0);
}

void ds_unet_backward_weights_free(ds_unet_backward_weights *bw) {
    if (!bw) return;
    free(bw->buf);
    memset(bw, 0, sizeof *bw);
}

/* dL/d(input) of a block's 3x3 conv into d_in (overwritten): through ut, the transposed conv's
 * Winograd weights, or (ut NULL) the GEMM path of ds_conv2d_backward into the zeroed buffer;
 * then the conv's weight and bias gradients (+=) */
static void conv3x3_backward(const float *x, const float *w, const float *ut, const float *dy, float *d_in, float *dw,
                             float *db, float *scratch, int B, int cin, int s, int cout) {
    if (ut) {
        ds_conv2d_winograd(dy, ut, NULL, d_in, scratch, B, cout, s, s, cin);
        ds_conv2d_backward(x, w, dy, NULL, dw, db, scratch, B, cin, s, s, cout, 3, 1);
    } else {
        memset(d_in, 0, sizeof(float) * (size_t)B * cin * s * s);
        ds_conv2d_backward(x, w, dy, d_in, dw, db, scratch, B, cin, s, s, cout, 3, 1);
    }
}

/* One residual block backward. d_out (B, cout, s, s) -> d_in (B, cin, s, s) +=, block grads +=,
 * d_emb_act (B, E) +=. ut1, ut2: the transposed conv1 and conv2 (ds_unet_backward_weights) or NULL. */
static void resblock_backward(const ds_unet *m, const ds_unet_block_shape *shape, const ds_resblock_weights *w,
                              ds_resblock_weights *gw, const ds_resblock_acts *a, const float *ut1, const float *ut2,
                              const float *d_out, float *d_in, const float *emb_act, ds_unet_grad_state *g, int B) {
    int cin = shape->cin, cout = shape->cout, s = shape->size, HW = s * s, G = m->config.groups;
    int E = m->config.temb_dim;
    long n_out = (long)B * cout * HW;
    float *d_act = g->d_big[0], *d_norm = g->d_big[1], *d_h1 = g->d_big[2];

    /* out = h2 + (skip ? skip1x1(in) : in) */
    if (w->skip_weight)
        ds_conv2d_backward(a->in, w->skip_weight, d_out, d_in, gw->skip_weight, gw->skip_bias, g->scratch, B, cin, s, s,
                           cout, 1, 1);
    else
        ds_accumulate(d_out, d_in, n_out);
    /* h2 = conv2(act2), act2 = silu(norm2), norm2 = gn2(h1) */
    conv3x3_backward(a->act2, w->conv2_weight, ut2, d_out, d_act, gw->conv2_weight, gw->conv2_bias, g->scratch, B, cout,
                     s, cout);
    memset(d_h1, 0, sizeof(float) * n_out);
    ds_groupnorm_silu_backward(a->h1, w->norm2_weight, a->norm2_mean, a->norm2_rstd, a->norm2, d_act, d_norm, d_h1,
                               gw->norm2_weight, gw->norm2_bias, B, cout, HW, G);
    /* h1 = conv1(act1) + emb_proj[:, :, None, None], emb_proj = linear(emb_act) */
    memset(g->d_emb_proj, 0, sizeof(float) * B * cout);
    ds_add_channel_bias_backward(d_h1, g->d_emb_proj, B, cout, HW);
    ds_linear_backward(emb_act, w->emb_weight, g->d_emb_proj, g->d_emb_act, gw->emb_weight, gw->emb_bias, B, E, cout);
    conv3x3_backward(a->act1, w->conv1_weight, ut1, d_h1, d_act, gw->conv1_weight, gw->conv1_bias, g->scratch, B, cin, s,
                     cout);
    /* act1 = silu(norm1), norm1 = gn1(in) */
    ds_groupnorm_silu_backward(a->in, w->norm1_weight, a->norm1_mean, a->norm1_rstd, a->norm1, d_act, d_norm, d_in,
                               gw->norm1_weight, gw->norm1_bias, B, cin, HW, G);
}

/* The mid attention's backward: d_out (B, C, N) -> d_in (B, C, N) += (the residual and the
 * branch), its weights' gradients +=. d_big[0..2] hold dL/d mixed, dL/d qkv and dL/d norm. */
static void attention_backward(const ds_unet *m, const ds_attn_weights *w, ds_attn_weights *gw, const ds_attn_acts *a,
                               const float *d_out, float *d_in, ds_unet_grad_state *g, int B) {
    const int L = m->config.n_levels, C = m->level_channels[L - 1], S = m->level_size[L - 1], N = S * S;
    const long n = (long)B * C * N;
    float *d_mixed = g->d_big[0], *d_qkv = g->d_big[1], *d_norm = g->d_big[2], *d_scores = g->d_scores;
    const float scale = 1.0f / sqrtf((float)C);
    ds_accumulate(d_out, d_in, n); /* out = in + proj(...) */
    memset(d_mixed, 0, sizeof(float) * n);
    ds_conv2d_backward(a->mixed, w->proj_weight, d_out, d_mixed, gw->proj_weight, gw->proj_bias, g->scratch, B, C, S, S,
                       C, 1, 1);
    for (int b = 0; b < B; b++) {
        const float *q = a->qkv + (long)b * 3 * C * N, *k = q + (long)C * N, *v = k + (long)C * N;
        const float *probs = a->probs + (long)b * N * N, *dm = d_mixed + (long)b * C * N;
        float *dq = d_qkv + (long)b * 3 * C * N, *dk = dq + (long)C * N, *dv = dk + (long)C * N;
        ds_gemm(0, 0, C, N, N, dm, N, probs, N, dv, N, 0);       /* dv (C, N) = d_mixed probs */
        ds_gemm(1, 0, N, N, C, dm, N, v, N, d_scores, N, 0);     /* d_probs (N, N) = d_mixed^T v */
        ds_softmax_rows_backward(probs, d_scores, N, N, scale); /* -> d_scores of q^T k */
        ds_gemm(0, 1, C, N, N, k, N, d_scores, N, dq, N, 0);     /* dq = k d_scores^T */
        ds_gemm(0, 0, C, N, N, q, N, d_scores, N, dk, N, 0);     /* dk = q d_scores */
    }
    memset(d_norm, 0, sizeof(float) * n);
    ds_conv2d_backward(a->norm, w->qkv_weight, d_qkv, d_norm, gw->qkv_weight, gw->qkv_bias, g->scratch, B, C, S, S,
                       3 * C, 1, 1);
    ds_groupnorm_backward(a->in, w->norm_weight, a->norm_mean, a->norm_rstd, d_norm, d_in, gw->norm_weight,
                          gw->norm_bias, B, C, N, m->config.groups);
}

int ds_unet_backward(const ds_unet *m, const ds_unet_state *s, ds_unet_grad_state *g,
                     const ds_unet_backward_weights *bw, const float *d_eps, int B, float *grads) {
    if (!m || !s || !g || !g->buf || !d_eps || !grads) return ds_fail("unet backward: null argument");
    if (B < 1 || B > s->max_batch || B > g->max_batch)
        return ds_fail("unet backward: batch %d outside 1..%d", B, s->max_batch < g->max_batch ? s->max_batch : g->max_batch);
    const ds_unet_config *c = &m->config;
    const ds_unet_weights *w = &m->w;
    ds_unet_weights gw;
    ds_unet_point_weights(m, grads, &gw);
    int L = c->n_levels, R = c->n_res_blocks, S = c->image_size, E = c->temb_dim, G = c->groups;
    int C0 = m->level_channels[0];
    long S2 = (long)S * S;

    /* every activation gradient starts at zero (they accumulate from all consumers) */
    memset(g->d_h_in, 0, sizeof(float) * (size_t)B * C0 * S2);
    for (int i = 0; i < m->n_blocks; i++) {
        long sz = m->block[i].size;
        memset(g->d_block_out[i], 0, sizeof(float) * (size_t)B * m->block[i].cout * sz * sz);
    }
    for (int l = 0; l < L; l++) {
        int up0 = ds_unet_up_block(c, l, 0);
        long sz = m->level_size[l];
        memset(g->d_concat[l], 0, sizeof(float) * (size_t)B * m->block[up0].cin * sz * sz);
        if (l < L - 1) {
            long s1 = m->level_size[l + 1];
            memset(g->d_down[l], 0, sizeof(float) * (size_t)B * m->level_channels[l] * s1 * s1);
        }
        if (l > 0) {
            long s0 = m->level_size[l - 1];
            memset(g->d_up[l], 0, sizeof(float) * (size_t)B * m->level_channels[l] * s0 * s0);
        }
    }
    memset(g->d_emb_act, 0, sizeof(float) * (size_t)B * E);
    if (c->attention) memset(g->d_attn_out, 0, sizeof(float) * (size_t)B * m->level_channels[L - 1] *
                                                    m->level_size[L - 1] * m->level_size[L - 1]);

    /* eps = conv_out(silu(gn(h))), h = the last up block's output */
    int last = ds_unet_up_block(c, 0, R - 1);
    float *d_act = g->d_big[0], *d_norm = g->d_big[1];
    long n0 = (long)B * C0 * S2;
    memset(d_act, 0, sizeof(float) * n0);
    ds_conv2d_backward(s->out_act, w->conv_out_weight, d_eps, d_act, gw.conv_out_weight, gw.conv_out_bias, g->scratch,
                       B, C0, S, S, c->in_channels, 3, 1);
    ds_groupnorm_silu_backward(s->block[last].out, w->out_norm_weight, s->out_norm_mean, s->out_norm_rstd, s->out_norm,
                               d_act, d_norm, g->d_block_out[last], gw.out_norm_weight, gw.out_norm_bias, B, C0, (int)S2, G);

    /* up path, in reverse: levels 0..L-1, blocks R-1..0 */
    for (int l = 0; l < L; l++) {
        int top = ds_unet_up_block(c, l, R - 1);
        if (l > 0) /* up[l] = upsample2x(out of level l's last up block) */
            ds_upsample2x_backward(g->d_up[l], g->d_block_out[top], B * m->level_channels[l], m->level_size[l],
                                   m->level_size[l]);
        for (int r = R - 1; r >= 0; r--) {
            int i = ds_unet_up_block(c, l, r);
            float *d_in = r > 0 ? g->d_block_out[ds_unet_up_block(c, l, r - 1)] : g->d_concat[l];
            resblock_backward(m, &m->block[i], &w->block[i], &gw.block[i], &s->block[i], bw ? bw->conv1[i] : NULL,
                              bw ? bw->conv2[i] : NULL, g->d_block_out[i], d_in, s->emb_act, g, B);
        }
        /* concat[l] = concat(h_prev, skip_l) */
        int i0 = ds_unet_up_block(c, l, 0);
        int c_skip = m->level_channels[l], c_prev = m->block[i0].cin - c_skip;
        float *d_prev = l < L - 1 ? g->d_up[l + 1] : c->attention ? g->d_attn_out : g->d_block_out[ds_unet_mid_block(c)];
        float *d_skip = g->d_block_out[ds_unet_down_block(c, l, R - 1)];
        long sz = m->level_size[l];
        ds_concat_channels_backward(g->d_concat[l], d_prev, c_prev, d_skip, c_skip, B, (int)(sz * sz));
    }

    /* mid attention, mid block */
    int mid = ds_unet_mid_block(c);
    if (c->attention)
        attention_backward(m, &w->mid_attn, &gw.mid_attn, &s->mid_attn, g->d_attn_out, g->d_block_out[mid], g, B);
    resblock_backward(m, &m->block[mid], &w->block[mid], &gw.block[mid], &s->block[mid], bw ? bw->conv1[mid] : NULL,
                      bw ? bw->conv2[mid] : NULL, g->d_block_out[mid], g->d_block_out[ds_unet_down_block(c, L - 1, R - 1)],
                      s->emb_act, g, B);

    /* down path, in reverse */
    for (int l = L - 1; l >= 0; l--) {
        int top = ds_unet_down_block(c, l, R - 1);
        int cl = m->level_channels[l], sz = m->level_size[l];
        if (l < L - 1) /* down[l] = conv stride 2 of level l's last block output */
            ds_conv2d_backward(s->block[top].out, w->down_weight[l], g->d_down[l], g->d_block_out[top],
                               gw.down_weight[l], gw.down_bias[l], g->scratch, B, cl, sz, sz, cl, 3, 2);
        for (int r = R - 1; r >= 0; r--) {
            int i = ds_unet_down_block(c, l, r);
            float *d_in = r > 0 ? g->d_block_out[ds_unet_down_block(c, l, r - 1)] : (l == 0 ? g->d_h_in : g->d_down[l - 1]);
            resblock_backward(m, &m->block[i], &w->block[i], &gw.block[i], &s->block[i], bw ? bw->conv1[i] : NULL,
                              bw ? bw->conv2[i] : NULL, g->d_block_out[i], d_in, s->emb_act, g, B);
        }
    }

    /* h_in = conv_in(x): parameters only */
    ds_conv2d_backward(s->x, w->conv_in_weight, g->d_h_in, NULL, gw.conv_in_weight, gw.conv_in_bias, g->scratch, B,
                       c->in_channels, S, S, C0, 3, 1);

    /* emb_act = silu(emb), emb = fc2(silu(fc1(sin(t)))) + class_emb[cls] */
    long nE = (long)B * E;
    memset(g->d_emb, 0, sizeof(float) * nE);
    ds_silu_backward(s->emb, g->d_emb_act, g->d_emb, nE);
    ds_class_embedding_backward(g->d_emb, s->cls, gw.class_emb, B, E);
    memset(g->d_temb_act1, 0, sizeof(float) * nE);
    ds_linear_backward(s->temb_act1, w->temb_fc2_weight, g->d_emb, g->d_temb_act1, gw.temb_fc2_weight,
                       gw.temb_fc2_bias, B, E, E);
    memset(g->d_temb_h1, 0, sizeof(float) * nE);
    ds_silu_backward(s->temb_h1, g->d_temb_act1, g->d_temb_h1, nE);
    ds_linear_backward(s->temb_sin, w->temb_fc1_weight, g->d_temb_h1, NULL, gw.temb_fc1_weight, gw.temb_fc1_bias, B, E,
                       E);
    return DS_OK;
}

/* ---- the diffusion noising of a batch ---- */

void ds_diffusion_draw(ds_rng *rng, const ds_schedule *sch, const float *x0, const int *cls_in, int n_classes,
                       double p_uncond, int B, int item, float *xt, float *eps, float *tf, int *cls_out) {
    for (int b = 0; b < B; b++) {
        int t = 1 + (int)ds_rng_below(rng, (uint32_t)sch->T);
        double u = ds_rng_uniform(rng);
        if (cls_out) cls_out[b] = (!cls_in || u < p_uncond) ? n_classes : cls_in[b];
        tf[b] = (float)t;
        float a = (float)sch->sqrt_alpha_bar[t - 1], sg = (float)sch->sqrt_one_minus_alpha_bar[t - 1];
        const float *x = x0 + (size_t)b * item;
        float *e = eps + (size_t)b * item, *o = xt + (size_t)b * item;
        for (int i = 0; i < item; i++) {
            e[i] = (float)ds_rng_normal(rng);
            o[i] = a * x[i] + sg * e[i];
        }
    }
}

int ds_diffusion_target_check(ds_prediction prediction, double min_snr_gamma) {
    if (prediction != DS_PREDICT_EPS && prediction != DS_PREDICT_V)
        return ds_fail("diffusion target: the UNet trains eps or v, not %s", ds_prediction_name(prediction));
    if (!(min_snr_gamma >= 0 && min_snr_gamma <= 1e6))
        return ds_fail("diffusion target: min-SNR gamma %g is outside 0..1e6 (0 = every item weighs 1)", min_snr_gamma);
    return DS_OK;
}

int ds_diffusion_target(const ds_schedule *sch, ds_prediction prediction, double min_snr_gamma, const float *x0,
                        const float *eps, const float *tf, int B, int item, float *target, float *weight) {
    if (ds_diffusion_target_check(prediction, min_snr_gamma)) return DS_ERR;
    for (int b = 0; b < B; b++) {
        const int t = (int)tf[b];
        if (t < 1 || t > sch->T || (float)t != tf[b])
            return ds_fail("diffusion target: timestep %g of item %d is not an integer in 1..%d", (double)tf[b], b, sch->T);
        const double snr = sch->snr[t - 1];
        weight[b] = min_snr_gamma == 0 ? 1.0f
                    : (float)((snr < min_snr_gamma ? snr : min_snr_gamma) / (prediction == DS_PREDICT_V ? snr + 1.0 : snr));
        const size_t at = (size_t)b * item;
        if (prediction == DS_PREDICT_EPS) {
            memcpy(target + at, eps + at, sizeof(float) * (size_t)item);
            continue;
        }
        const float a = (float)sch->sqrt_alpha_bar[t - 1], s = (float)sch->sqrt_one_minus_alpha_bar[t - 1];
        for (int i = 0; i < item; i++) target[at + i] = a * eps[at + i] - s * x0[at + i];
    }
    return DS_OK;
}
