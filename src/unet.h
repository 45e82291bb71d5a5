/* unet.h — the class-conditional UNet that predicts the noise ε of an image.
 *
 * eps = unet(x_t (B, C_img, S, S), t (B) float timestep in [0, 1000], class (B) int 0..9 or 10)
 * The full specification (layer order, tensor names and shapes, formulas, MFLOP count) is in
 * docs/model.md; this is the short version, with L levels, R = n_res_blocks, C_l = base *
 * mult[l], S_l = S / 2^l, E = temb_dim:
 *
 *   emb  = fc2(silu(fc1(sinusoidal_E(t)))) + class_emb[class]          (B, E)
 *   eact = silu(emb)                                                    (B, E) shared by all blocks
 *   h = conv_in(x)                                                      3x3, C_img -> C_0
 *   down: for l = 0..L-1: R res blocks (-> C_l); skip_l = h; if l < L-1: h = downsample_l(h)
 *         (3x3 stride 2, C_l -> C_l, S_l -> S_{l+1})
 *   mid:  one res block C_{L-1} -> C_{L-1}; with `attention`, then h = h + attn(h):
 *         n = gn(h), (q, k, v) = qkv1x1(n) (3 C channels), a = softmax_keys(q^T k / sqrt(C)),
 *         h + proj1x1(v a^T), one head over the S_{L-1}^2 positions (49 at 7x7)
 *   up:   for l = L-1..0: h = concat(h, skip_l); R res blocks (-> C_l); if l > 0: h = upsample2x(h)
 *   eps = conv_out(silu(groupnorm(h)))                                  3x3, C_0 -> C_img
 *   res block (cin -> cout): a = conv1(silu(gn1(h))) + emb_proj(eact)[:, :, None, None]
 *                            out = conv2(silu(gn2(a))) + (cin == cout ? h : skip1x1(h))
 * All GroupNorms use `groups` groups and eps DS_UNET_GN_EPS. Convs are 3x3 padding 1 unless
 * stated. Blocks are numbered in execution order: down blocks l*R + r, then the mid block
 * L*R, then the up blocks (ds_unet_up_block). The default ("Fashion") config gives
 * 28 -> 14 -> 7 with 32/64/64 channels.
 *
 * The run state keeps EVERY intermediate activation of the forward pass (llm.c style) so
 * that the trainer can backpropagate through the same structure without recomputing (a
 * forward-only state, for sampling, leaves out the three normalised tensors only it reads).
 * Not here: the weights file (weights.h), the handle used by the sampler and page (model.h),
 * the backward pass (the trainer's). */
#ifndef DS_UNET_H
#define DS_UNET_H

#include <stdint.h>

#include "weights.h"

#define DS_UNET_MAX_LEVELS 4
#define DS_UNET_MAX_RES 3
#define DS_UNET_MAX_BLOCKS (2 * DS_UNET_MAX_LEVELS * DS_UNET_MAX_RES + 1)
#define DS_UNET_GN_EPS 1e-5f
#define DS_UNET_N_CONFIG 13 /* config ints in the weights header, at most (12 without attention) */

/* Hyper-parameters. Serialised into the weights header as 12 ints in this order:
 * image_size, in_channels, base_channels, n_levels, channel_mult[0..3], n_res_blocks,
 * groups, temb_dim, n_classes; a 13th, attention, only when it is 1 (so every file without
 * attention keeps its 12). */
typedef struct {
    int image_size;                      /* S: 28; divisible by 2^(n_levels-1) */
    int in_channels;                     /* C_img: 1 (greyscale) */
    int base_channels;                   /* 32 */
    int n_levels;                        /* L: 1..4; 3 gives 28 -> 14 -> 7 */
    int channel_mult[DS_UNET_MAX_LEVELS]; /* (1, 2, 2, 0): C_l = base * mult[l]; unused = 0 */
    int n_res_blocks;                    /* R: 1..3 per level on each side */
    int groups;                          /* GroupNorm groups: 8; divides every C_l and C_l + skip */
    int temb_dim;                        /* E: 128, even */
    int n_classes;                       /* 10; the class table has n_classes + 1 rows */
    int attention;                       /* 0, or 1: self-attention after the mid block */
} ds_unet_config;

/* The mid block's self-attention (C = C_{L-1}), present when config.attention is 1. */
typedef struct {
    float *norm_weight, *norm_bias;      /* (C) each  "mid.attn.norm.weight" */
    float *qkv_weight;                   /* (3C, C, 1, 1): q, k, v rows in that order */
    float *qkv_bias;                     /* (3C) */
    float *proj_weight;                  /* (C, C, 1, 1) */
    float *proj_bias;                    /* (C) */
} ds_attn_weights;

/* One residual block's weights (pointers into the blob). skip_* are NULL when cin == cout. */
typedef struct {
    float *norm1_weight, *norm1_bias; /* (cin) each */
    float *conv1_weight;              /* (cout, cin, 3, 3) */
    float *conv1_bias;                /* (cout) */
    float *emb_weight;                /* (cout, E) */
    float *emb_bias;                  /* (cout) */
    float *norm2_weight, *norm2_bias; /* (cout) each */
    float *conv2_weight;              /* (cout, cout, 3, 3) */
    float *conv2_bias;                /* (cout) */
    float *skip_weight;               /* (cout, cin, 1, 1) or NULL */
    float *skip_bias;                 /* (cout) or NULL */
} ds_resblock_weights;

typedef struct {
    float *temb_fc1_weight;              /* (E, E)   "temb.fc1.weight" */
    float *temb_fc1_bias;                /* (E) */
    float *temb_fc2_weight;              /* (E, E) */
    float *temb_fc2_bias;                /* (E) */
    float *class_emb;                    /* (n_classes + 1, E) "class_emb.weight" */
    float *conv_in_weight;               /* (C_0, C_img, 3, 3) */
    float *conv_in_bias;                 /* (C_0) */
    ds_resblock_weights block[DS_UNET_MAX_BLOCKS]; /* (n_blocks) in execution order */
    float *down_weight[DS_UNET_MAX_LEVELS]; /* level l < L-1: (C_l, C_l, 3, 3), stride 2 */
    float *down_bias[DS_UNET_MAX_LEVELS];   /* (C_l) */
    float *out_norm_weight, *out_norm_bias; /* (C_0) each */
    float *conv_out_weight;              /* (C_img, C_0, 3, 3) */
    float *conv_out_bias;                /* (C_img) */
    ds_attn_weights mid_attn;            /* NULL pointers without attention */
} ds_unet_weights;

/* Shape of one residual block, derived from the config. */
typedef struct {
    int cin, cout; /* channels in (after any concat) and out */
    int size;      /* spatial H = W */
    int level;     /* 0..L-1 */
    int concat;    /* 1 if the block's input is concat(h, skip_level) (first up block of a level) */
} ds_unet_block_shape;

typedef struct {
    ds_unet_config config;
    int n_blocks;                                    /* 2 * L * R + 1 */
    ds_unet_block_shape block[DS_UNET_MAX_BLOCKS];   /* (n_blocks) */
    int level_channels[DS_UNET_MAX_LEVELS];          /* C_l */
    int level_size[DS_UNET_MAX_LEVELS];              /* S_l */
    ds_param_table table;                            /* every tensor: name, shape, offset */
    float *params;                                   /* (table.total) the one blob */
    ds_unet_weights w;                               /* pointers into params */
    /* Winograd-domain weights of the blocks' 3x3 convs (ds_unet_prepare), or NULL: then the
     * forward runs direct convs. wino_conv1[b] (P, cout, cin), wino_conv2[b] (P, cout, cout),
     * P = (m + 2)^2 for the block's tile m = ds_winograd_tile(size): 36 at 28x28 and 14x14
     * (F(4x4)), 16 at 7x7 (F(2x2)), point into the one allocation wino. conv_in and conv_out (one image channel in or out)
     * and the stride-2 downsamples stay direct: faster there in WASM (tools/bench_wasm.mjs).
     * A snapshot: stale once params change. */
    float *wino;
    float *wino_conv1[DS_UNET_MAX_BLOCKS], *wino_conv2[DS_UNET_MAX_BLOCKS];
} ds_unet;

/* Activations of one residual block, every pointer (B, ...) for the state's max batch. */
typedef struct {
    const float *in;          /* (B, cin, s, s) the block input: another tensor of the state */
    float *norm1;             /* (B, cin, s, s) gn1(in); NULL in a forward-only state */
    float *norm1_mean, *norm1_rstd; /* (B, groups) */
    float *act1;              /* (B, cin, s, s) silu(norm1) */
    float *emb_proj;          /* (B, cout) emb_weight . eact + emb_bias */
    float *h1;                /* (B, cout, s, s) conv1(act1) + emb_proj broadcast */
    float *norm2;             /* (B, cout, s, s) gn2(h1); NULL in a forward-only state */
    float *norm2_mean, *norm2_rstd; /* (B, groups) */
    float *act2;              /* (B, cout, s, s) silu(norm2) */
    float *h2;                /* (B, cout, s, s) conv2(act2) */
    float *skip;              /* (B, cout, s, s) skip1x1(in), or NULL when cin == cout */
    float *out;               /* (B, cout, s, s) h2 + (skip ? skip : in) */
} ds_resblock_acts;

/* Activations of the mid attention, N = S_{L-1}^2 positions, C channels. */
typedef struct {
    const float *in;          /* (B, C, N) the mid block's output */
    float *norm;              /* (B, C, N) gn(in) */
    float *norm_mean, *norm_rstd; /* (B, groups) */
    float *qkv;               /* (B, 3C, N) per image: q (C, N), k (C, N), v (C, N) */
    float *probs;             /* (B, N, N) row i: softmax over keys j of q_i . k_j / sqrt(C) */
    float *mixed;             /* (B, C, N) v probs^T */
    float *proj;              /* (B, C, N) proj(mixed) */
    float *out;               /* (B, C, N) in + proj */
} ds_attn_acts;

/* The forward's per-layer hook (kernels_bench.c's ds_bench_unet_layers times each layer with
 * it): when a state's probe is non-NULL, the forward calls probe->layer after every layer with
 * what just ran. Layer kinds, in the names ds_unet_layer_name gives them: */
typedef enum {
    DS_LAYER_EMBED,     /* input checks and copies, time + class embedding: cin = cout = E */
    DS_LAYER_CONV,      /* direct convolution (im2col panels): K x K, stride */
    DS_LAYER_WINOGRAD,  /* a block's 3x3 convolution in Winograd F(2x2, 3x3) */
    DS_LAYER_GN_SILU,   /* GroupNorm + SiLU of cin channels */
    DS_LAYER_EMB_PROJ,  /* a block's projection of the embedding: cin = E -> cout */
    DS_LAYER_ADD_EMB,   /* that projection added to every pixel of its channel */
    DS_LAYER_ADD,       /* the residual add */
    DS_LAYER_CONCAT,    /* skip concat: cin -> cout channels */
    DS_LAYER_UPSAMPLE,  /* nearest 2x: size is the input's */
    DS_LAYER_ATTN,      /* the mid attention's scores, softmax and mix (its norm and 1x1 convs report themselves) */
    DS_LAYER_COUNT
} ds_unet_layer_kind;
const char *ds_unet_layer_name(ds_unet_layer_kind kind); /* "?" when out of range */

typedef struct {
    /* block: the residual block's index, -1 outside the blocks; size: the input's H = W */
    void (*layer)(void *ctx, ds_unet_layer_kind kind, int block, int cin, int cout, int size, int K, int stride);
    void *ctx;
} ds_unet_probe;

/* Run state for up to max_batch images: all activations in one allocation, plus the conv
 * scratch. After ds_unet_forward(..., B, ...) the first B items of each tensor are valid. */
typedef struct {
    int max_batch;
    float *x;                 /* (B, C_img, S, S) copy of the input */
    float *t;                 /* (B) copy of the timesteps */
    int *cls;                 /* (B) copy of the classes */
    float *temb_sin;          /* (B, E) sinusoidal(t) */
    float *temb_h1;           /* (B, E) fc1 output */
    float *temb_act1;         /* (B, E) silu(temb_h1) */
    float *emb;               /* (B, E) fc2 output + class_emb[cls] */
    float *emb_act;           /* (B, E) silu(emb): the input of every block's emb projection */
    float *h_in;              /* (B, C_0, S, S) conv_in(x) */
    ds_resblock_acts block[DS_UNET_MAX_BLOCKS];
    ds_attn_acts mid_attn;    /* NULL pointers without attention */
    float *down[DS_UNET_MAX_LEVELS];     /* l < L-1: (B, C_l, S_{l+1}, S_{l+1}) downsample output */
    float *concat[DS_UNET_MAX_LEVELS];   /* (B, cin of the first up block of level l, S_l, S_l) */
    float *up[DS_UNET_MAX_LEVELS];       /* l > 0: (B, C_l, S_{l-1}, S_{l-1}) upsampled output of level l */
    float *out_norm;          /* (B, C_0, S, S) */
    float *out_norm_mean, *out_norm_rstd; /* (B, groups) */
    float *out_act;           /* (B, C_0, S, S) silu(out_norm) */
    float *eps;               /* (B, C_img, S, S) the prediction (also copied to eps_out) */
    float *scratch;           /* conv im2col scratch, scratch_floats */
    long scratch_floats;
    float *acts;              /* the one allocation the pointers above point into */
    long acts_floats;
    const ds_unet_probe *probe; /* NULL (ds_unet_state_alloc's default), or the per-layer hook */
} ds_unet_state;

/* Config helpers. Defaults: the Fashion denoiser (28, 1, 32, 3, (1,2,2), 1, 8, 128, 10). */
void ds_unet_config_default(ds_unet_config *c);
int ds_unet_config_validate(const ds_unet_config *c);        /* DS_OK or DS_ERR naming the field */
/* writes the header's ints and returns how many: 12, or 13 with attention */
int ds_unet_config_to_ints(const ds_unet_config *c, int out[DS_UNET_N_CONFIG]);
int ds_unet_config_from_ints(const int *v, int n, ds_unet_config *c); /* 12 or 13 ints; validates */

/* Block numbering (execution order). */
static inline int ds_unet_down_block(const ds_unet_config *c, int level, int r) { return level * c->n_res_blocks + r; }
static inline int ds_unet_mid_block(const ds_unet_config *c) { return c->n_levels * c->n_res_blocks; }
static inline int ds_unet_up_block(const ds_unet_config *c, int level, int r) {
    return c->n_levels * c->n_res_blocks + 1 + (c->n_levels - 1 - level) * c->n_res_blocks + r;
}

/* Fills the parameter table of a config (blob order = table order = execution order).
 * Returns DS_OK or DS_ERR. */
int ds_unet_param_table(const ds_unet_config *c, ds_param_table *t);

/* Allocates the blob (zeros) and sets shapes and weight pointers. DS_OK or DS_ERR. */
int ds_unet_build(ds_unet *m, const ds_unet_config *c);
/* Points m->w into an external blob laid out by m->table (the trainer's gradient blob can be
 * viewed the same way). */
void ds_unet_point_weights(const ds_unet *m, float *blob, ds_unet_weights *w);
/* Deterministic random init (rng.h), PyTorch's defaults: conv / linear weights and biases
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)), GroupNorm weight 1 bias 0, class rows N(0, 1). */
void ds_unet_init_random(ds_unet *m, uint64_t seed);
void ds_unet_free(ds_unet *m);
/* Precomputes the Winograd-domain weights of the blocks' 3x3 convs from m->params, so that
 * later forwards run them as ds_conv2d_winograd (4x fewer multiplies at 28x28 and 14x14, 2.25x
 * at 7x7; the same result up to float rounding). Call it again after changing params (the
 * trainer does, every step); never called, the forward stays on direct convs. DS_OK or DS_ERR. */
int ds_unet_prepare(ds_unet *m);
/* ds_unet_prepare in pieces, for a caller that spreads them over threads: the allocation (once;
 * DS_OK or DS_ERR), then each block b's conv 1 or 2, which writes only its own weights. */
int ds_unet_prepare_alloc(ds_unet *m);
void ds_unet_prepare_conv(ds_unet *m, int b, int conv);

long ds_unet_num_params(const ds_unet *m);
/* Forward cost per image in MFLOP (2 per multiply-add; convs, linears, norms, activations). */
double ds_unet_mflop(const ds_unet_config *c);

/* Run state for batches of up to max_batch images, with every tensor the backward reads
 * (the trainer's). DS_OK or DS_ERR. */
int ds_unet_state_alloc(ds_unet_state *s, const ds_unet *m, int max_batch);
/* The same for forwards only (sampling): the GroupNorms' normalised values (norm1, norm2,
 * out_norm), which only the backward reads, are not kept (NULL), so each GroupNorm + SiLU
 * stores one tensor instead of two. The forward's results are the same bits. */
int ds_unet_state_alloc_forward(ds_unet_state *s, const ds_unet *m, int max_batch);
void ds_unet_state_free(ds_unet_state *s);

/* The forward pass. x (B, C_img, S, S), t (B) in [0, 1000], cls (B) in 0..n_classes
 * (n_classes = no class) or NULL for all "no class"; eps_out (B, C_img, S, S) may be NULL
 * (the result stays in s->eps). 1 <= B <= s->max_batch. Inputs are validated (finite x,
 * t in range, class in range). Returns DS_OK or DS_ERR. */
int ds_unet_forward(const ds_unet *m, ds_unet_state *s, const float *x, const float *t, const int *cls, int B,
                    float *eps_out);
/* The same with each item's class embedding mixed from two classes (class interpolation,
 * edit.h): row b = (1 − w2[b]) class_emb[cls[b]] + w2[b] class_emb[cls2[b]], w2 in [0, 1];
 * w2[b] = 0 gives ds_unet_forward's result bit for bit. cls2, w2 NULL: no mixing. */
int ds_unet_forward_mixed(const ds_unet *m, ds_unet_state *s, const float *x, const float *t, const int *cls,
                          const int *cls2, const float *w2, int B, float *eps_out);

#endif
