/* mlp.c — the 2-D point denoiser (see mlp.h and docs/model.md). */
#include "mlp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kernels.h"
#include "rng.h"

void ds_mlp_config_default(ds_mlp_config *c) {
    c->data_dim = DS_MLP_DATA_DIM;
    c->hidden = 128;
    c->n_layers = 4;
    c->temb_dim = 32;
}

int ds_mlp_config_validate(const ds_mlp_config *c) {
    if (!c) return ds_fail("mlp config: null");
    if (c->data_dim != DS_MLP_DATA_DIM) return ds_fail("mlp data_dim must be %d (got %d)", DS_MLP_DATA_DIM, c->data_dim);
    if (ds_check_range_int(c->hidden, 1, 2048, "mlp hidden")) return DS_ERR;
    if (ds_check_range_int(c->n_layers, 1, DS_MLP_MAX_LAYERS, "mlp n_layers")) return DS_ERR;
    if (ds_check_range_int(c->temb_dim, 2, 1024, "mlp temb_dim")) return DS_ERR;
    if (c->temb_dim % 2) return ds_fail("mlp temb_dim must be even (got %d)", c->temb_dim);
    return DS_OK;
}

void ds_mlp_config_to_ints(const ds_mlp_config *c, int out[DS_MLP_N_CONFIG]) {
    out[0] = c->data_dim;
    out[1] = c->hidden;
    out[2] = c->n_layers;
    out[3] = c->temb_dim;
}

int ds_mlp_config_from_ints(const int *v, int n, ds_mlp_config *c) {
    if (!v || !c) return ds_fail("mlp config: null");
    if (n != DS_MLP_N_CONFIG) return ds_fail("mlp config: %d ints, expected %d", n, DS_MLP_N_CONFIG);
    *c = (ds_mlp_config){.data_dim = v[0], .hidden = v[1], .n_layers = v[2], .temb_dim = v[3]};
    return ds_mlp_config_validate(c);
}

int ds_mlp_param_table(const ds_mlp_config *c, ds_param_table *t) {
    if (!t) return ds_fail("mlp param table: null output");
    if (ds_mlp_config_validate(c)) return DS_ERR;
    memset(t, 0, sizeof *t);
    char name[DS_PARAM_NAME_MAX];
    const int H = c->hidden, in0 = c->data_dim + c->temb_dim;
    for (int i = 0; i < c->n_layers; i++) {
        int wshape[2] = {H, i == 0 ? in0 : H}, bshape[1] = {H};
        snprintf(name, sizeof name, "fc.%d.weight", i);
        if (ds_param_table_add(t, name, 2, wshape)) return DS_ERR;
        snprintf(name, sizeof name, "fc.%d.bias", i);
        if (ds_param_table_add(t, name, 1, bshape)) return DS_ERR;
    }
    int oshape[2] = {c->data_dim, H}, obshape[1] = {c->data_dim};
    if (ds_param_table_add(t, "fc_out.weight", 2, oshape)) return DS_ERR;
    if (ds_param_table_add(t, "fc_out.bias", 1, obshape)) return DS_ERR;
    return DS_OK;
}

void ds_mlp_point_weights(const ds_mlp *m, float *blob, ds_mlp_weights *w) {
    memset(w, 0, sizeof *w);
    int k = 0;
    for (int i = 0; i < m->config.n_layers; i++) {
        w->fc_weight[i] = blob + m->table.p[k++].offset;
        w->fc_bias[i] = blob + m->table.p[k++].offset;
    }
    w->out_weight = blob + m->table.p[k++].offset;
    w->out_bias = blob + m->table.p[k++].offset;
}

int ds_mlp_build(ds_mlp *m, const ds_mlp_config *c) {
    if (!m) return ds_fail("mlp build: null model");
    memset(m, 0, sizeof *m);
    if (ds_mlp_param_table(c, &m->table)) return DS_ERR;
    m->config = *c;
    m->params = calloc((size_t)m->table.total, sizeof(float));
    if (!m->params) return ds_fail("mlp build: out of memory for %ld parameters", m->table.total);
    ds_mlp_point_weights(m, m->params, &m->w);
    return DS_OK;
}

/* PyTorch's nn.Linear default: weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
void ds_mlp_init_random(ds_mlp *m, uint64_t seed) {
    ds_rng rng;
    ds_rng_seed(&rng, seed);
    for (int k = 0; k < m->table.n; k++) {
        const ds_param_info *p = &m->table.p[k];
        const ds_param_info *wp = p->ndim == 2 ? p : &m->table.p[k - 1]; /* a bias follows its weight */
        double bound = 1.0 / sqrt((double)wp->shape[1]);
        for (long j = 0; j < p->numel; j++) m->params[p->offset + j] = (float)((2.0 * ds_rng_uniform(&rng) - 1.0) * bound);
    }
}

void ds_mlp_free(ds_mlp *m) {
    if (!m) return;
    free(m->params);
    m->params = NULL;
}

long ds_mlp_num_params(const ds_mlp *m) { return m->table.total; }

/* 2 FLOP per multiply-add, +1 per bias, SiLU 4 per element (as for the UNet). */
double ds_mlp_mflop(const ds_mlp_config *c) {
    if (ds_mlp_config_validate(c)) return -1.0;
    const double H = c->hidden, in0 = c->data_dim + c->temb_dim;
    double f = 2 * in0 * H + H + 4 * H;
    f += (c->n_layers - 1) * (2 * H * H + H + 4 * H);
    f += 2 * H * c->data_dim + c->data_dim;
    return f / 1e6;
}

static long layout(ds_mlp_state *s, const ds_mlp *m, int B, float *base) {
    const ds_mlp_config *c = &m->config;
    long n = 0;
    float *cur = base;
#define TAKE(ptr, count)                 \
    do {                                 \
        (ptr) = cur;                     \
        if (cur) cur += (count);         \
        n += (count);                    \
    } while (0)
    TAKE(s->t, B);
    TAKE(s->in, (long)B * (c->data_dim + c->temb_dim));
    for (int i = 0; i < c->n_layers; i++) {
        TAKE(s->pre[i], (long)B * c->hidden);
        TAKE(s->act[i], (long)B * c->hidden);
    }
    TAKE(s->eps, (long)B * c->data_dim);
#undef TAKE
    return n;
}

int ds_mlp_state_alloc(ds_mlp_state *s, const ds_mlp *m, int max_batch) {
    if (!s || !m || !m->params) return ds_fail("mlp state: null state or unbuilt model");
    if (ds_check_range_int(max_batch, 1, 1 << 20, "mlp batch size")) return DS_ERR;
    memset(s, 0, sizeof *s);
    s->max_batch = max_batch;
    s->acts_floats = layout(s, m, max_batch, NULL);
    s->acts = malloc(sizeof(float) * (size_t)s->acts_floats);
    if (!s->acts) return ds_fail("mlp state: out of memory for %ld activations (batch %d)", s->acts_floats, max_batch);
    layout(s, m, max_batch, s->acts);
    return DS_OK;
}

void ds_mlp_state_free(ds_mlp_state *s) {
    if (!s) return;
    free(s->acts);
    memset(s, 0, sizeof *s);
}

int ds_mlp_forward(const ds_mlp *m, ds_mlp_state *s, const float *x, const float *t, int B, float *eps_out) {
    if (!m || !m->params || !s || !s->acts) return ds_fail("mlp forward: null or unbuilt model / state");
    if (!x || !t) return ds_fail("mlp forward: null input");
    if (B < 1 || B > s->max_batch) return ds_fail("mlp forward: batch %d must be between 1 and %d (the state's size)", B, s->max_batch);
    const ds_mlp_config *c = &m->config;
    const int D = c->data_dim, E = c->temb_dim, H = c->hidden, in0 = D + E;
    for (long i = 0; i < (long)B * D; i++)
        if (!isfinite(x[i])) return ds_fail("mlp forward: x[%ld] is not finite (point %ld)", i, i / D);
    for (int b = 0; b < B; b++)
        if (!(t[b] >= 0.0f && t[b] <= 1000.0f)) return ds_fail("mlp forward: t[%d] = %g must be in [0, 1000]", b, t[b]);
    memcpy(s->t, t, sizeof(float) * B);
    /* in = [x | sinusoidal(t)]: the embedding is written in place after each point's x */
    for (int b = 0; b < B; b++) {
        memcpy(s->in + (long)b * in0, x + (long)b * D, sizeof(float) * D);
        ds_timestep_embedding(s->t + b, s->in + (long)b * in0 + D, 1, E);
    }
    const float *h = s->in;
    int width = in0;
    for (int i = 0; i < c->n_layers; i++) {
        ds_linear(h, m->w.fc_weight[i], m->w.fc_bias[i], s->pre[i], B, width, H);
        ds_silu(s->pre[i], s->act[i], (long)B * H);
        h = s->act[i];
        width = H;
    }
    ds_linear(h, m->w.out_weight, m->w.out_bias, s->eps, B, H, D);
    if (eps_out) memcpy(eps_out, s->eps, sizeof(float) * B * D);
    return DS_OK;
}
