/* unet.c — the class-conditional image denoiser (see unet.h and docs/model.md).
 *
 * Sections: config, parameter walk (one walk builds the table and points the weights),
 * build / init / free, cost, run state layout, forward. */
#include "unet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kernels.h"
#include "rng.h"

/* ---- config ---- */

void ds_unet_config_default(ds_unet_config *c) {
    memset(c, 0, sizeof *c);
    c->image_size = 28;
    c->in_channels = 1;
    c->base_channels = 32;
    c->n_levels = 3;
    c->channel_mult[0] = 1;
    c->channel_mult[1] = 2;
    c->channel_mult[2] = 2;
    c->n_res_blocks = 1;
    c->groups = 8;
    c->temb_dim = 128;
    c->n_classes = 10;
}

/* Shapes of every block and level, from a config already range-checked. */
static void derive_shapes(const ds_unet_config *c, ds_unet_block_shape *blocks, int *level_ch, int *level_size) {
    const int L = c->n_levels, R = c->n_res_blocks;
    for (int l = 0; l < L; l++) {
        level_ch[l] = c->base_channels * c->channel_mult[l];
        level_size[l] = c->image_size >> l;
    }
    int ch = c->base_channels, b = 0;
    for (int l = 0; l < L; l++) {
        for (int r = 0; r < R; r++, b++) {
            blocks[b] = (ds_unet_block_shape){ch, level_ch[l], level_size[l], l, 0};
            ch = level_ch[l];
        }
    }
    blocks[b++] = (ds_unet_block_shape){ch, ch, level_size[L - 1], L - 1, 0};
    for (int l = L - 1; l >= 0; l--) {
        for (int r = 0; r < R; r++, b++) {
            blocks[b] = (ds_unet_block_shape){r == 0 ? ch + level_ch[l] : level_ch[l], level_ch[l], level_size[l], l, r == 0};
            ch = level_ch[l];
        }
    }
}

int ds_unet_config_validate(const ds_unet_config *c) {
    if (!c) return ds_fail("unet config: null");
    if (ds_check_range_int(c->image_size, 4, 256, "unet image_size")) return DS_ERR;
    if (ds_check_range_int(c->in_channels, 1, 4, "unet in_channels")) return DS_ERR;
    if (ds_check_range_int(c->base_channels, 1, 256, "unet base_channels")) return DS_ERR;
    if (ds_check_range_int(c->n_levels, 1, DS_UNET_MAX_LEVELS, "unet n_levels")) return DS_ERR;
    for (int l = 0; l < DS_UNET_MAX_LEVELS; l++) {
        if (l < c->n_levels) {
            if (ds_check_range_int(c->channel_mult[l], 1, 8, "unet channel_mult")) return DS_ERR;
        } else if (c->channel_mult[l] != 0) {
            return ds_fail("unet channel_mult[%d] is %d but must be 0 beyond n_levels = %d", l, c->channel_mult[l], c->n_levels);
        }
    }
    if (c->image_size % (1 << (c->n_levels - 1)))
        return ds_fail("unet image_size %d must be divisible by 2^(n_levels-1) = %d", c->image_size, 1 << (c->n_levels - 1));
    if (ds_check_range_int(c->n_res_blocks, 1, DS_UNET_MAX_RES, "unet n_res_blocks")) return DS_ERR;
    if (ds_check_range_int(c->groups, 1, 64, "unet groups")) return DS_ERR;
    if (ds_check_range_int(c->temb_dim, 2, 1024, "unet temb_dim")) return DS_ERR;
    if (c->temb_dim % 2) return ds_fail("unet temb_dim must be even (got %d)", c->temb_dim);
    if (ds_check_range_int(c->n_classes, 0, 1000, "unet n_classes")) return DS_ERR;
    if (ds_check_range_int(c->attention, 0, 1, "unet attention")) return DS_ERR;
    ds_unet_block_shape blocks[DS_UNET_MAX_BLOCKS];
    int ch[DS_UNET_MAX_LEVELS], size[DS_UNET_MAX_LEVELS];
    derive_shapes(c, blocks, ch, size);
    if (c->base_channels % c->groups) return ds_fail("unet groups %d must divide base_channels %d", c->groups, c->base_channels);
    for (int b = 0; b < 2 * c->n_levels * c->n_res_blocks + 1; b++)
        if (blocks[b].cin % c->groups || blocks[b].cout % c->groups)
            return ds_fail("unet groups %d must divide every block's channels (block %d: %d -> %d)", c->groups, b,
                           blocks[b].cin, blocks[b].cout);
    return DS_OK;
}

int ds_unet_config_to_ints(const ds_unet_config *c, int out[DS_UNET_N_CONFIG]) {
    int v[DS_UNET_N_CONFIG] = {c->image_size,      c->in_channels,     c->base_channels,   c->n_levels,
                               c->channel_mult[0], c->channel_mult[1], c->channel_mult[2], c->channel_mult[3],
                               c->n_res_blocks,    c->groups,          c->temb_dim,        c->n_classes,
                               c->attention};
    memcpy(out, v, sizeof v);
    return c->attention ? DS_UNET_N_CONFIG : DS_UNET_N_CONFIG - 1;
}

int ds_unet_config_from_ints(const int *v, int n, ds_unet_config *c) {
    if (!v || !c) return ds_fail("unet config: null");
    if (n != DS_UNET_N_CONFIG - 1 && n != DS_UNET_N_CONFIG)
        return ds_fail("unet config: %d ints, expected %d (or %d with attention)", n, DS_UNET_N_CONFIG - 1, DS_UNET_N_CONFIG);
    *c = (ds_unet_config){.image_size = v[0], .in_channels = v[1], .base_channels = v[2], .n_levels = v[3],
                          .channel_mult = {v[4], v[5], v[6], v[7]}, .n_res_blocks = v[8], .groups = v[9],
                          .temb_dim = v[10], .n_classes = v[11], .attention = n > DS_UNET_N_CONFIG - 1 ? v[12] : 0};
    if (n == DS_UNET_N_CONFIG && v[12] != 1)
        return ds_fail("unet config: a 13th int (attention) must be 1, not %d (files without attention have 12)", v[12]);
    return ds_unet_config_validate(c);
}

/* ---- the parameter walk ----
 * One sequence of tensors in execution order. With a table to build it appends rows; with a
 * finished table it only replays them; either way it points the weight slots into blob. */

typedef struct {
    ds_param_table *build; /* table being built, or NULL */
    const ds_param_table *replay;
    int k;                 /* replay cursor */
    float *blob;           /* NULL: do not point */
    int failed;
} walker;

static void param(walker *wk, float **slot, const char *name, int ndim, int d0, int d1, int d2, int d3) {
    if (wk->failed) return;
    const ds_param_table *t = wk->build ? wk->build : wk->replay;
    int idx;
    if (wk->build) {
        int shape[4] = {d0, d1, d2, d3};
        if (ds_param_table_add(wk->build, name, ndim, shape)) {
            wk->failed = 1;
            return;
        }
        idx = wk->build->n - 1;
    } else {
        idx = wk->k++;
    }
    if (slot) *slot = wk->blob ? wk->blob + t->p[idx].offset : NULL;
}

static void walk_resblock(walker *wk, const char *prefix, const ds_unet_block_shape *s, int E, ds_resblock_weights *w) {
    char name[DS_PARAM_NAME_MAX];
#define P(field, suffix, ...)                                           \
    do {                                                                \
        snprintf(name, sizeof name, "%s%s", prefix, suffix);            \
        param(wk, &w->field, name, __VA_ARGS__);                        \
    } while (0)
    P(norm1_weight, "norm1.weight", 1, s->cin, 0, 0, 0);
    P(norm1_bias, "norm1.bias", 1, s->cin, 0, 0, 0);
    P(conv1_weight, "conv1.weight", 4, s->cout, s->cin, 3, 3);
    P(conv1_bias, "conv1.bias", 1, s->cout, 0, 0, 0);
    P(emb_weight, "emb.weight", 2, s->cout, E, 0, 0);
    P(emb_bias, "emb.bias", 1, s->cout, 0, 0, 0);
    P(norm2_weight, "norm2.weight", 1, s->cout, 0, 0, 0);
    P(norm2_bias, "norm2.bias", 1, s->cout, 0, 0, 0);
    P(conv2_weight, "conv2.weight", 4, s->cout, s->cout, 3, 3);
    P(conv2_bias, "conv2.bias", 1, s->cout, 0, 0, 0);
    if (s->cin != s->cout) {
        P(skip_weight, "skip.weight", 4, s->cout, s->cin, 1, 1);
        P(skip_bias, "skip.bias", 1, s->cout, 0, 0, 0);
    } else {
        w->skip_weight = w->skip_bias = NULL;
    }
#undef P
}

static int walk(const ds_unet_config *c, walker *wk, ds_unet_weights *w) {
    ds_unet_block_shape blocks[DS_UNET_MAX_BLOCKS];
    int ch[DS_UNET_MAX_LEVELS], size[DS_UNET_MAX_LEVELS];
    derive_shapes(c, blocks, ch, size);
    const int E = c->temb_dim, L = c->n_levels, R = c->n_res_blocks;
    char prefix[DS_PARAM_NAME_MAX], name[DS_PARAM_NAME_MAX];
    memset(w, 0, sizeof *w);
    param(wk, &w->temb_fc1_weight, "temb.fc1.weight", 2, E, E, 0, 0);
    param(wk, &w->temb_fc1_bias, "temb.fc1.bias", 1, E, 0, 0, 0);
    param(wk, &w->temb_fc2_weight, "temb.fc2.weight", 2, E, E, 0, 0);
    param(wk, &w->temb_fc2_bias, "temb.fc2.bias", 1, E, 0, 0, 0);
    param(wk, &w->class_emb, "class_emb.weight", 2, c->n_classes + 1, E, 0, 0);
    param(wk, &w->conv_in_weight, "conv_in.weight", 4, ch[0], c->in_channels, 3, 3);
    param(wk, &w->conv_in_bias, "conv_in.bias", 1, ch[0], 0, 0, 0);
    int b = 0;
    for (int l = 0; l < L; l++) {
        for (int r = 0; r < R; r++, b++) {
            snprintf(prefix, sizeof prefix, "down.%d.res.%d.", l, r);
            walk_resblock(wk, prefix, &blocks[b], E, &w->block[b]);
        }
        if (l < L - 1) {
            snprintf(name, sizeof name, "down.%d.downsample.weight", l);
            param(wk, &w->down_weight[l], name, 4, ch[l], ch[l], 3, 3);
            snprintf(name, sizeof name, "down.%d.downsample.bias", l);
            param(wk, &w->down_bias[l], name, 1, ch[l], 0, 0, 0);
        }
    }
    walk_resblock(wk, "mid.res.", &blocks[b], E, &w->block[b]);
    if (c->attention) {
        const int C = ch[L - 1];
        ds_attn_weights *a = &w->mid_attn;
        param(wk, &a->norm_weight, "mid.attn.norm.weight", 1, C, 0, 0, 0);
        param(wk, &a->norm_bias, "mid.attn.norm.bias", 1, C, 0, 0, 0);
        param(wk, &a->qkv_weight, "mid.attn.qkv.weight", 4, 3 * C, C, 1, 1);
        param(wk, &a->qkv_bias, "mid.attn.qkv.bias", 1, 3 * C, 0, 0, 0);
        param(wk, &a->proj_weight, "mid.attn.proj.weight", 4, C, C, 1, 1);
        param(wk, &a->proj_bias, "mid.attn.proj.bias", 1, C, 0, 0, 0);
    }
    b++;
    for (int l = L - 1; l >= 0; l--) {
        for (int r = 0; r < R; r++, b++) {
            snprintf(prefix, sizeof prefix, "up.%d.res.%d.", l, r);
            walk_resblock(wk, prefix, &blocks[b], E, &w->block[b]);
        }
    }
    param(wk, &w->out_norm_weight, "out_norm.weight", 1, ch[0], 0, 0, 0);
    param(wk, &w->out_norm_bias, "out_norm.bias", 1, ch[0], 0, 0, 0);
    param(wk, &w->conv_out_weight, "conv_out.weight", 4, c->in_channels, ch[0], 3, 3);
    param(wk, &w->conv_out_bias, "conv_out.bias", 1, c->in_channels, 0, 0, 0);
    return wk->failed ? DS_ERR : DS_OK;
}

int ds_unet_param_table(const ds_unet_config *c, ds_param_table *t) {
    if (!t) return ds_fail("unet param table: null output");
    if (ds_unet_config_validate(c)) return DS_ERR;
    memset(t, 0, sizeof *t);
    walker wk = {.build = t};
    ds_unet_weights w;
    return walk(c, &wk, &w);
}

void ds_unet_point_weights(const ds_unet *m, float *blob, ds_unet_weights *w) {
    walker wk = {.replay = &m->table, .blob = blob};
    walk(&m->config, &wk, w);
}

/* ---- build / init / free ---- */

int ds_unet_build(ds_unet *m, const ds_unet_config *c) {
    if (!m) return ds_fail("unet build: null model");
    memset(m, 0, sizeof *m);
    if (ds_unet_param_table(c, &m->table)) return DS_ERR;
    m->config = *c;
    m->n_blocks = 2 * c->n_levels * c->n_res_blocks + 1;
    derive_shapes(c, m->block, m->level_channels, m->level_size);
    m->params = calloc((size_t)m->table.total, sizeof(float));
    if (!m->params) return ds_fail("unet build: out of memory for %ld parameters", m->table.total);
    ds_unet_point_weights(m, m->params, &m->w);
    return DS_OK;
}

/* PyTorch's defaults: conv / linear weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
 * GroupNorm weight 1 bias 0, class embedding rows N(0, 1). Names tell the kinds apart. */
void ds_unet_init_random(ds_unet *m, uint64_t seed) {
    ds_rng rng;
    ds_rng_seed(&rng, seed);
    for (int k = 0; k < m->table.n; k++) {
        const ds_param_info *p = &m->table.p[k];
        float *v = m->params + p->offset;
        const char *leaf = strrchr(p->name, '.');
        int is_norm = strstr(p->name, "norm") != NULL;
        if (!strcmp(p->name, "class_emb.weight")) {
            ds_rng_fill_normal_f32(&rng, v, p->numel);
        } else if (is_norm) {
            for (long j = 0; j < p->numel; j++) v[j] = !strcmp(leaf, ".weight") ? 1.0f : 0.0f;
        } else {
            /* fan_in of the layer this tensor belongs to: the weight's numel / out channels */
            char wname[DS_PARAM_NAME_MAX];
            snprintf(wname, sizeof wname, "%.*s.weight", (int)(leaf - p->name), p->name);
            const ds_param_info *wp = &m->table.p[ds_param_table_find(&m->table, wname)];
            double bound = 1.0 / sqrt((double)(wp->numel / wp->shape[0]));
            for (long j = 0; j < p->numel; j++) v[j] = (float)((2.0 * ds_rng_uniform(&rng) - 1.0) * bound);
        }
    }
}

void ds_unet_free(ds_unet *m) {
    if (!m) return;
    free(m->params);
    free(m->wino);
    m->params = m->wino = NULL;
}

int ds_unet_prepare_alloc(ds_unet *m) {
    if (!m || !m->params) return ds_fail("unet prepare: unbuilt model");
    if (m->wino) return DS_OK;
    size_t total = 0;
    for (int b = 0; b < m->n_blocks; b++) {
        const ds_unet_block_shape *bs = &m->block[b];
        const int tile = ds_winograd_tile(bs->size, bs->size);
        total += ds_winograd_u_floats(bs->cout, bs->cin, tile) + ds_winograd_u_floats(bs->cout, bs->cout, tile);
    }
    m->wino = malloc(sizeof(float) * total);
    if (!m->wino) return ds_fail("unet prepare: out of memory for %zu Winograd weights", total);
    float *u = m->wino;
    for (int b = 0; b < m->n_blocks; b++) {
        const ds_unet_block_shape *bs = &m->block[b];
        const int tile = ds_winograd_tile(bs->size, bs->size);
        m->wino_conv1[b] = u, u += ds_winograd_u_floats(bs->cout, bs->cin, tile);
        m->wino_conv2[b] = u, u += ds_winograd_u_floats(bs->cout, bs->cout, tile);
    }
    return DS_OK;
}

void ds_unet_prepare_conv(ds_unet *m, int b, int conv) {
    const ds_unet_block_shape *bs = &m->block[b];
    const int tile = ds_winograd_tile(bs->size, bs->size);
    if (conv == 1)
        ds_winograd_weights(m->w.block[b].conv1_weight, m->wino_conv1[b], bs->cout, bs->cin, tile);
    else
        ds_winograd_weights(m->w.block[b].conv2_weight, m->wino_conv2[b], bs->cout, bs->cout, tile);
}

int ds_unet_prepare(ds_unet *m) {
    if (ds_unet_prepare_alloc(m)) return DS_ERR;
    for (int b = 0; b < m->n_blocks; b++) ds_unet_prepare_conv(m, b, 1), ds_unet_prepare_conv(m, b, 2);
    return DS_OK;
}

long ds_unet_num_params(const ds_unet *m) { return m->table.total; }

/* ---- cost ----
 * 2 FLOP per multiply-add of convs and linears; per element: GroupNorm 8 (mean, variance,
 * normalise, affine), SiLU 4, add 1. Gathers (embedding lookup, concat, upsample) count 0. */
static double conv_flop(int cin, int cout, int K, int out_size) { return 2.0 * cin * K * K * cout * out_size * out_size + (double)cout * out_size * out_size; }

double ds_unet_mflop(const ds_unet_config *c) {
    if (ds_unet_config_validate(c)) return -1.0;
    ds_unet_block_shape blocks[DS_UNET_MAX_BLOCKS];
    int ch[DS_UNET_MAX_LEVELS], size[DS_UNET_MAX_LEVELS];
    derive_shapes(c, blocks, ch, size);
    const double E = c->temb_dim;
    double f = 2 * (2 * E * E + 2 * E) + 4 * E + E + 4 * E; /* fc1, fc2 (+bias), silu, class add, silu */
    f += conv_flop(c->in_channels, ch[0], 3, c->image_size);
    for (int b = 0; b < 2 * c->n_levels * c->n_res_blocks + 1; b++) {
        const ds_unet_block_shape *s = &blocks[b];
        double pin = (double)s->cin * s->size * s->size, pout = (double)s->cout * s->size * s->size;
        f += 12 * pin;                                      /* gn1 + silu */
        f += conv_flop(s->cin, s->cout, 3, s->size);        /* conv1 */
        f += 2 * E * s->cout + s->cout + pout;              /* emb projection, broadcast add */
        f += 12 * pout;                                     /* gn2 + silu */
        f += conv_flop(s->cout, s->cout, 3, s->size);       /* conv2 */
        if (s->cin != s->cout) f += conv_flop(s->cin, s->cout, 1, s->size);
        f += pout;                                          /* residual add */
    }
    for (int l = 0; l < c->n_levels - 1; l++) f += conv_flop(ch[l], ch[l], 3, size[l + 1]);
    if (c->attention) { /* gn, qkv, scores, softmax (about 5 per score), mix, proj, add */
        const double C = ch[c->n_levels - 1], N = (double)size[c->n_levels - 1] * size[c->n_levels - 1];
        f += 8 * C * N + conv_flop((int)C, 3 * (int)C, 1, size[c->n_levels - 1]) + 2 * C * N * N + 5 * N * N +
             2 * C * N * N + conv_flop((int)C, (int)C, 1, size[c->n_levels - 1]) + C * N;
    }
    f += 12.0 * ch[0] * c->image_size * c->image_size;     /* out gn + silu */
    f += conv_flop(ch[0], c->in_channels, 3, c->image_size);
    return f / 1e6;
}

/* ---- run state ----
 * Two passes over the same layout: the first counts floats, the second hands out pointers. */

static float *take(float **cursor, long *count, long n) {
    float *p = *cursor;
    if (p) *cursor += n;
    *count += n;
    return p;
}

/* backward: also the tensors only the backward reads (each GroupNorm's normalised values) */
static long layout(ds_unet_state *s, const ds_unet *m, int B, float *base, int backward) {
    const ds_unet_config *c = &m->config;
    const long E = c->temb_dim, G = c->groups, S = c->image_size;
    long n = 0;
    float *cur = base;
    s->x = take(&cur, &n, (long)B * c->in_channels * S * S);
    s->t = take(&cur, &n, B);
    s->temb_sin = take(&cur, &n, B * E);
    s->temb_h1 = take(&cur, &n, B * E);
    s->temb_act1 = take(&cur, &n, B * E);
    s->emb = take(&cur, &n, B * E);
    s->emb_act = take(&cur, &n, B * E);
    s->h_in = take(&cur, &n, (long)B * m->level_channels[0] * S * S);
    for (int b = 0; b < m->n_blocks; b++) {
        const ds_unet_block_shape *bs = &m->block[b];
        ds_resblock_acts *a = &s->block[b];
        const long pin = (long)B * bs->cin * bs->size * bs->size, pout = (long)B * bs->cout * bs->size * bs->size;
        a->in = NULL;
        a->norm1 = backward ? take(&cur, &n, pin) : NULL;
        a->norm1_mean = take(&cur, &n, B * G);
        a->norm1_rstd = take(&cur, &n, B * G);
        a->act1 = take(&cur, &n, pin);
        a->emb_proj = take(&cur, &n, (long)B * bs->cout);
        a->h1 = take(&cur, &n, pout);
        a->norm2 = backward ? take(&cur, &n, pout) : NULL;
        a->norm2_mean = take(&cur, &n, B * G);
        a->norm2_rstd = take(&cur, &n, B * G);
        a->act2 = take(&cur, &n, pout);
        a->h2 = take(&cur, &n, pout);
        a->skip = bs->cin != bs->cout ? take(&cur, &n, pout) : NULL;
        a->out = take(&cur, &n, pout);
    }
    if (c->attention) {
        const long C = m->level_channels[c->n_levels - 1], N = (long)m->level_size[c->n_levels - 1] * m->level_size[c->n_levels - 1];
        ds_attn_acts *a = &s->mid_attn;
        a->in = NULL;
        a->norm = take(&cur, &n, B * C * N);
        a->norm_mean = take(&cur, &n, B * G);
        a->norm_rstd = take(&cur, &n, B * G);
        a->qkv = take(&cur, &n, 3 * B * C * N);
        a->probs = take(&cur, &n, B * N * N);
        a->mixed = take(&cur, &n, B * C * N);
        a->proj = take(&cur, &n, B * C * N);
        a->out = take(&cur, &n, B * C * N);
    }
    for (int l = 0; l < c->n_levels; l++) {
        const long sl = m->level_size[l];
        s->down[l] = l < c->n_levels - 1 ? take(&cur, &n, (long)B * m->level_channels[l] * (sl / 2) * (sl / 2)) : NULL;
        const ds_unet_block_shape *first_up = &m->block[ds_unet_up_block(c, l, 0)];
        s->concat[l] = take(&cur, &n, (long)B * first_up->cin * sl * sl);
        s->up[l] = l > 0 ? take(&cur, &n, (long)B * m->level_channels[l] * (2 * sl) * (2 * sl)) : NULL;
    }
    s->out_norm = backward ? take(&cur, &n, (long)B * m->level_channels[0] * S * S) : NULL;
    s->out_norm_mean = take(&cur, &n, B * G);
    s->out_norm_rstd = take(&cur, &n, B * G);
    s->out_act = take(&cur, &n, (long)B * m->level_channels[0] * S * S);
    s->eps = take(&cur, &n, (long)B * c->in_channels * S * S);
    s->scratch = take(&cur, &n, s->scratch_floats);
    return n;
}

static long max_scratch(const ds_unet *m) {
    const ds_unet_config *c = &m->config;
    size_t most = ds_conv2d_scratch_floats(c->in_channels, c->image_size, c->image_size, 3, 1);
#define MAX_OF(v) do { size_t v_ = (v); if (v_ > most) most = v_; } while (0)
    MAX_OF(ds_conv2d_scratch_floats(m->level_channels[0], c->image_size, c->image_size, 3, 1));
    for (int b = 0; b < m->n_blocks; b++) {
        const ds_unet_block_shape *bs = &m->block[b];
        MAX_OF(ds_conv2d_scratch_floats(bs->cin, bs->size, bs->size, 3, 1));
        MAX_OF(ds_conv2d_scratch_floats(bs->cout, bs->size, bs->size, 3, 1));
        MAX_OF(ds_winograd_scratch_floats(bs->cin, bs->size, bs->cout));
        MAX_OF(ds_winograd_scratch_floats(bs->cout, bs->size, bs->cout));
    }
    for (int l = 0; l < c->n_levels - 1; l++)
        MAX_OF(ds_conv2d_scratch_floats(m->level_channels[l], m->level_size[l], m->level_size[l], 3, 2));
#undef MAX_OF
    return (long)most;
}

static int state_alloc(ds_unet_state *s, const ds_unet *m, int max_batch, int backward) {
    if (!s || !m || !m->params) return ds_fail("unet state: null state or unbuilt model");
    if (ds_check_range_int(max_batch, 1, 4096, "unet batch size")) return DS_ERR;
    memset(s, 0, sizeof *s);
    s->max_batch = max_batch;
    s->scratch_floats = max_scratch(m);
    s->acts_floats = layout(s, m, max_batch, NULL, backward);
    s->acts = malloc(sizeof(float) * (size_t)s->acts_floats);
    s->cls = malloc(sizeof(int) * (size_t)max_batch);
    if (!s->acts || !s->cls) {
        ds_unet_state_free(s);
        return ds_fail("unet state: out of memory for %ld activations (batch %d)", s->acts_floats, max_batch);
    }
    layout(s, m, max_batch, s->acts, backward);
    return DS_OK;
}

int ds_unet_state_alloc(ds_unet_state *s, const ds_unet *m, int max_batch) { return state_alloc(s, m, max_batch, 1); }

int ds_unet_state_alloc_forward(ds_unet_state *s, const ds_unet *m, int max_batch) {
    return state_alloc(s, m, max_batch, 0);
}

void ds_unet_state_free(ds_unet_state *s) {
    if (!s) return;
    free(s->acts);
    free(s->cls);
    memset(s, 0, sizeof *s);
}

/* ---- forward ----
 * Tensors are laid out for max_batch but a forward of B items uses only the first B of each,
 * so (B, C, H, W) tensors stay contiguous whatever B is. */

static const char *const LAYER_NAMES[DS_LAYER_COUNT] = {"embed", "conv", "winograd", "gn_silu", "emb_proj",
                                                          "add_emb", "add", "concat", "upsample", "attn"};
const char *ds_unet_layer_name(ds_unet_layer_kind kind) {
    return kind >= 0 && kind < DS_LAYER_COUNT ? LAYER_NAMES[kind] : "?";
}

/* Tells the state's probe (if any) which layer just finished. */
static void layer_done(const ds_unet_probe *p, ds_unet_layer_kind kind, int block, int cin, int cout, int size, int K,
                       int stride) {
    if (p) p->layer(p->ctx, kind, block, cin, cout, size, K, stride);
}

/* A block's 3x3 conv: Winograd when the model is prepared (U non-NULL), else direct. */
static void conv3x3(const float *U, const float *x, const float *w, const float *bias, float *y, float *scratch, int B,
                    int cin, int size, int cout) {
    if (U)
        ds_conv2d_winograd(x, U, bias, y, scratch, B, cin, size, size, cout);
    else
        ds_conv2d(x, w, bias, y, scratch, B, cin, size, size, cout, 3, 1);
}

static void resblock_forward(const ds_unet *m, int b, const float *in, ds_resblock_acts *a, const float *emb_act,
                             float *scratch, int B, const ds_unet_probe *p) {
    const ds_resblock_weights *w = &m->w.block[b];
    const ds_unet_block_shape *bs = &m->block[b];
    const int G = m->config.groups, HW = bs->size * bs->size;
    const float *U1 = m->wino ? m->wino_conv1[b] : NULL, *U2 = m->wino ? m->wino_conv2[b] : NULL;
    const ds_unet_layer_kind conv = m->wino ? DS_LAYER_WINOGRAD : DS_LAYER_CONV;
    const int E = m->config.temb_dim, S = bs->size;
    a->in = in;
    ds_groupnorm_silu(in, w->norm1_weight, w->norm1_bias, a->norm1, a->act1, a->norm1_mean, a->norm1_rstd, B, bs->cin,
                      HW, G, DS_UNET_GN_EPS);
    layer_done(p, DS_LAYER_GN_SILU, b, bs->cin, bs->cin, S, 0, 0);
    conv3x3(U1, a->act1, w->conv1_weight, w->conv1_bias, a->h1, scratch, B, bs->cin, S, bs->cout);
    layer_done(p, conv, b, bs->cin, bs->cout, S, 3, 1);
    ds_linear(emb_act, w->emb_weight, w->emb_bias, a->emb_proj, B, E, bs->cout);
    layer_done(p, DS_LAYER_EMB_PROJ, b, E, bs->cout, 1, 0, 0);
    ds_add_channel_bias(a->h1, a->emb_proj, B, bs->cout, HW);
    layer_done(p, DS_LAYER_ADD_EMB, b, bs->cout, bs->cout, S, 0, 0);
    ds_groupnorm_silu(a->h1, w->norm2_weight, w->norm2_bias, a->norm2, a->act2, a->norm2_mean, a->norm2_rstd, B,
                      bs->cout, HW, G, DS_UNET_GN_EPS);
    layer_done(p, DS_LAYER_GN_SILU, b, bs->cout, bs->cout, S, 0, 0);
    conv3x3(U2, a->act2, w->conv2_weight, w->conv2_bias, a->h2, scratch, B, bs->cout, S, bs->cout);
    layer_done(p, conv, b, bs->cout, bs->cout, S, 3, 1);
    const long n = (long)B * bs->cout * HW;
    if (a->skip) {
        ds_conv2d(in, w->skip_weight, w->skip_bias, a->skip, scratch, B, bs->cin, S, S, bs->cout, 1, 1);
        layer_done(p, DS_LAYER_CONV, b, bs->cin, bs->cout, S, 1, 1);
        ds_add(a->h2, a->skip, a->out, n);
    } else {
        ds_add(a->h2, in, a->out, n);
    }
    layer_done(p, DS_LAYER_ADD, b, bs->cout, bs->cout, S, 0, 0);
}

/* h (B, C, N) -> a->out = h + proj(v softmax(q^T k / sqrt(C))^T), (q, k, v) = qkv(gn(h)) */
static void attention_forward(const ds_unet *m, const float *h, ds_attn_acts *a, float *scratch, int B,
                              const ds_unet_probe *p) {
    const ds_attn_weights *w = &m->w.mid_attn;
    const int L = m->config.n_levels, C = m->level_channels[L - 1], S = m->level_size[L - 1], N = S * S;
    a->in = h;
    ds_groupnorm(h, w->norm_weight, w->norm_bias, a->norm, a->norm_mean, a->norm_rstd, B, C, N, m->config.groups,
                 DS_UNET_GN_EPS);
    ds_conv2d(a->norm, w->qkv_weight, w->qkv_bias, a->qkv, scratch, B, C, S, S, 3 * C, 1, 1);
    layer_done(p, DS_LAYER_CONV, -1, C, 3 * C, S, 1, 1);
    for (int b = 0; b < B; b++) {
        const float *q = a->qkv + (long)b * 3 * C * N, *k = q + (long)C * N, *v = k + (long)C * N;
        float *probs = a->probs + (long)b * N * N;
        ds_gemm(1, 0, N, N, C, q, N, k, N, probs, N, 0); /* scores (N, N) = q^T k */
        ds_softmax_rows(probs, N, N, 1.0f / sqrtf((float)C));
        ds_gemm(0, 1, C, N, N, v, N, probs, N, a->mixed + (long)b * C * N, N, 0); /* (C, N) = v probs^T */
    }
    layer_done(p, DS_LAYER_ATTN, -1, C, C, S, 0, 0);
    ds_conv2d(a->mixed, w->proj_weight, w->proj_bias, a->proj, scratch, B, C, S, S, C, 1, 1);
    layer_done(p, DS_LAYER_CONV, -1, C, C, S, 1, 1);
    ds_add(h, a->proj, a->out, (long)B * C * N);
    layer_done(p, DS_LAYER_ADD, -1, C, C, S, 0, 0);
}

int ds_unet_forward(const ds_unet *m, ds_unet_state *s, const float *x, const float *t, const int *cls, int B,
                    float *eps_out) {
    return ds_unet_forward_mixed(m, s, x, t, cls, NULL, NULL, B, eps_out);
}

/* emb_act (B, E) holds class_emb[cls]: item b's row moves to (1 − w_b) of it + w_b class_emb[cls2_b] */
static int mix_class_rows(const ds_unet *m, float *rows, const int *cls2, const float *w2, int B) {
    const int E = m->config.temb_dim, K = m->config.n_classes;
    for (int b = 0; b < B; b++) {
        if (cls2[b] < 0 || cls2[b] > K) return ds_fail("unet forward: second class[%d] = %d must be 0..%d", b, cls2[b], K);
        if (!(w2[b] >= 0.0f && w2[b] <= 1.0f)) return ds_fail("unet forward: class weight[%d] = %g must be in [0, 1]", b, w2[b]);
    }
    for (int b = 0; b < B; b++) {
        if (w2[b] == 0.0f) continue; /* exactly the first class's row */
        const double w = w2[b];
        const float *e2 = m->w.class_emb + (long)cls2[b] * E;
        for (int j = 0; j < E; j++) rows[(long)b * E + j] = (float)((1.0 - w) * rows[(long)b * E + j] + w * e2[j]);
    }
    return DS_OK;
}

int ds_unet_forward_mixed(const ds_unet *m, ds_unet_state *s, const float *x, const float *t, const int *cls,
                          const int *cls2, const float *w2, int B, float *eps_out) {
    if (!m || !m->params || !s || !s->acts) return ds_fail("unet forward: null or unbuilt model / state");
    if (!x || !t) return ds_fail("unet forward: null input");
    if (B < 1 || B > s->max_batch) return ds_fail("unet forward: batch %d must be between 1 and %d (the state's size)", B, s->max_batch);
    const ds_unet_config *c = &m->config;
    const ds_unet_weights *w = &m->w;
    const int S = c->image_size, E = c->temb_dim, G = c->groups, L = c->n_levels, R = c->n_res_blocks;
    const long item = (long)c->in_channels * S * S;
    for (long i = 0; i < B * item; i++)
        if (!isfinite(x[i])) return ds_fail("unet forward: x[%ld] is not finite (item %ld)", i, i / item);
    for (int b = 0; b < B; b++) {
        if (!(t[b] >= 0.0f && t[b] <= 1000.0f)) return ds_fail("unet forward: t[%d] = %g must be in [0, 1000]", b, t[b]);
        int k = cls ? cls[b] : c->n_classes;
        if (k < 0 || k > c->n_classes)
            return ds_fail("unet forward: class[%d] = %d must be 0..%d (%d = no class)", b, k, c->n_classes, c->n_classes);
        s->cls[b] = k;
    }
    memcpy(s->x, x, sizeof(float) * B * item);
    memcpy(s->t, t, sizeof(float) * B);

    /* time + class embedding */
    ds_timestep_embedding(s->t, s->temb_sin, B, E);
    ds_linear(s->temb_sin, w->temb_fc1_weight, w->temb_fc1_bias, s->temb_h1, B, E, E);
    ds_silu(s->temb_h1, s->temb_act1, (long)B * E);
    ds_linear(s->temb_act1, w->temb_fc2_weight, w->temb_fc2_bias, s->emb, B, E, E);
    ds_class_embedding(w->class_emb, s->cls, s->emb_act, B, E); /* emb_act as a temporary */
    if (cls2 && w2 && mix_class_rows(m, s->emb_act, cls2, w2, B)) return DS_ERR;
    ds_add(s->emb, s->emb_act, s->emb, (long)B * E);
    ds_silu(s->emb, s->emb_act, (long)B * E);
    const ds_unet_probe *p = s->probe;
    layer_done(p, DS_LAYER_EMBED, -1, E, E, 1, 0, 0);

    ds_conv2d(s->x, w->conv_in_weight, w->conv_in_bias, s->h_in, s->scratch, B, c->in_channels, S, S,
              m->level_channels[0], 3, 1);
    layer_done(p, DS_LAYER_CONV, -1, c->in_channels, m->level_channels[0], S, 3, 1);
    const float *h = s->h_in;
    const float *skip[DS_UNET_MAX_LEVELS];
    int b = 0;
    for (int l = 0; l < L; l++) {
        for (int r = 0; r < R; r++, b++) {
            resblock_forward(m, b, h, &s->block[b], s->emb_act, s->scratch, B, p);
            h = s->block[b].out;
        }
        skip[l] = h;
        if (l < L - 1) {
            const int sl = m->level_size[l], C = m->level_channels[l];
            ds_conv2d(h, w->down_weight[l], w->down_bias[l], s->down[l], s->scratch, B, C, sl, sl, C, 3, 2);
            layer_done(p, DS_LAYER_CONV, -1, C, C, sl, 3, 2);
            h = s->down[l];
        }
    }
    resblock_forward(m, b, h, &s->block[b], s->emb_act, s->scratch, B, p);
    h = s->block[b].out;
    if (c->attention) {
        attention_forward(m, h, &s->mid_attn, s->scratch, B, p);
        h = s->mid_attn.out;
    }
    int ch = m->block[b].cout;
    b++;
    for (int l = L - 1; l >= 0; l--) {
        const int sl = m->level_size[l], C = m->level_channels[l];
        ds_concat_channels(h, ch, skip[l], C, s->concat[l], B, sl * sl);
        layer_done(p, DS_LAYER_CONCAT, -1, ch, ch + C, sl, 0, 0);
        h = s->concat[l];
        for (int r = 0; r < R; r++, b++) {
            resblock_forward(m, b, h, &s->block[b], s->emb_act, s->scratch, B, p);
            h = s->block[b].out;
        }
        ch = C;
        if (l > 0) {
            ds_upsample2x(h, s->up[l], B * C, sl, sl);
            layer_done(p, DS_LAYER_UPSAMPLE, -1, C, C, sl, 0, 0);
            h = s->up[l];
        }
    }
    ds_groupnorm_silu(h, w->out_norm_weight, w->out_norm_bias, s->out_norm, s->out_act, s->out_norm_mean,
                      s->out_norm_rstd, B, m->level_channels[0], S * S, G, DS_UNET_GN_EPS);
    layer_done(p, DS_LAYER_GN_SILU, -1, m->level_channels[0], m->level_channels[0], S, 0, 0);
    ds_conv2d(s->out_act, w->conv_out_weight, w->conv_out_bias, s->eps, s->scratch, B, m->level_channels[0], S, S,
              c->in_channels, 3, 1);
    if (eps_out) memcpy(eps_out, s->eps, sizeof(float) * B * item);
    layer_done(p, DS_LAYER_CONV, -1, m->level_channels[0], c->in_channels, S, 3, 1);
    return DS_OK;
}
