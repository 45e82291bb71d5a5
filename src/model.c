/* model.c — one handle over either denoiser (see model.h). */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "sampler.h"

struct ds_model {
    ds_model_kind kind;
    ds_unet unet;         /* kind == DS_MODEL_UNET */
    ds_unet_state unet_state;
    ds_mlp mlp;           /* kind == DS_MODEL_MLP */
    ds_mlp_state mlp_state;
    int state_batch;      /* max batch of the allocated run state, 0 = none yet */
    int prepared;         /* the UNet's Winograd weights match params (ds_unet_prepare) */
    ds_weights_meta meta; /* schedule, prediction target, class names */
    ds_schedule *v_schedule; /* a v-model's schedule (meta's), made by the first sampling forward; else NULL */
};

static ds_model *model_new(ds_model_kind kind, const void *config) {
    ds_model *m = calloc(1, sizeof *m);
    if (!m) {
        ds_fail("model: out of memory");
        return NULL;
    }
    m->kind = kind;
    ds_weights_meta_default(&m->meta);
    int rc;
    if (kind == DS_MODEL_UNET) {
        ds_unet_config def;
        ds_unet_config_default(&def);
        rc = ds_unet_build(&m->unet, config ? (const ds_unet_config *)config : &def);
    } else if (kind == DS_MODEL_MLP) {
        ds_mlp_config def;
        ds_mlp_config_default(&def);
        rc = ds_mlp_build(&m->mlp, config ? (const ds_mlp_config *)config : &def);
    } else {
        rc = ds_fail("unknown model kind %d (1 = unet, 2 = mlp)", (int)kind);
    }
    if (rc) {
        ds_model_free(m);
        return NULL;
    }
    return m;
}

/* Class names must name every class of the UNet, or be absent. */
static int check_class_count(const ds_model *m, int n) {
    if (n == 0) return DS_OK;
    if (m->kind != DS_MODEL_UNET) return ds_fail("%d class names for an %s model, which has no classes", n, ds_model_kind_name(m->kind));
    if (n != m->unet.config.n_classes)
        return ds_fail("%d class names for a UNet of %d classes (give one name per class, or none)", n, m->unet.config.n_classes);
    return DS_OK;
}

ds_model *ds_model_from_bytes(const uint8_t *bytes, size_t n) {
    ds_weights_header h;
    if (ds_weights_read_header(bytes, n, &h)) return NULL;
    ds_unet_config uc;
    ds_mlp_config mc;
    const int unet = h.kind == DS_MODEL_UNET;
    const void *config = unet ? (const void *)&uc : (const void *)&mc;
    if (unet ? ds_unet_config_from_ints(h.config, h.n_config, &uc) : ds_mlp_config_from_ints(h.config, h.n_config, &mc)) {
        ds_fail("bad config in the header: %s", ds_last_error()); /* ds_fail may quote its own buffer */
        return NULL;
    }
    ds_model *m = model_new((ds_model_kind)h.kind, config);
    if (!m) return NULL;
    if (check_class_count(m, h.meta.n_class_names)) {
        ds_fail("header: %s", ds_last_error());
        ds_model_free(m);
        return NULL;
    }
    m->meta = h.meta;
    if (ds_weights_read_tensors(bytes, n, ds_model_table(m), ds_model_params(m))) {
        ds_model_free(m);
        return NULL;
    }
    return m;
}

/* ---- the header alone ---- */

static uint32_t peek_u32(const uint8_t *p) { return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* The largest file a parameter table can make: every tensor as f32 with the longest name,
 * every class name at full length, the header and the checksum. */
static uint64_t max_file_bytes(const ds_param_table *t) {
    uint64_t bytes = DS_WEIGHTS_HEADER_BYTES + 8 + (uint64_t)DS_WEIGHTS_MAX_CLASS_NAMES * (4 + DS_CLASS_NAME_MAX);
    for (int i = 0; i < t->n; i++) bytes += 4 + DS_PARAM_NAME_MAX + 8 + 4 * DS_PARAM_MAX_DIMS + 4 * (uint64_t)t->p[i].numel + 4;
    return bytes;
}

int ds_model_peek(const uint8_t *bytes, size_t n, ds_model_peek_info *out) {
    if (!bytes || !out) return ds_fail("weights header: null input");
    if (n < 4 || memcmp(bytes, DS_WEIGHTS_MAGIC, 4) != 0) {
        if (n < 4) return ds_fail("truncated: %zu bytes is too short for a weights file", n);
        return ds_fail("bad magic: a Diffuscope weights file (.dsw) starts with \"DSCW\", this one with %02x %02x %02x %02x",
                       bytes[0], bytes[1], bytes[2], bytes[3]);
    }
    if (n < DS_WEIGHTS_HEADER_BYTES) return ds_fail("truncated: %zu bytes, but the header alone takes %d", n, DS_WEIGHTS_HEADER_BYTES);
    const uint32_t version = peek_u32(bytes + 4), kind = peek_u32(bytes + 8), n_config = peek_u32(bytes + 12);
    if (version < DS_WEIGHTS_VERSION_MIN || version > DS_WEIGHTS_VERSION)
        return ds_fail("unknown format version %u (this build reads formats %d..%d)", version, DS_WEIGHTS_VERSION_MIN, DS_WEIGHTS_VERSION);
    if (kind != DS_MODEL_UNET && kind != DS_MODEL_MLP) return ds_fail("header: unknown model kind %u (1 = unet, 2 = mlp)", kind);
    if (n_config > DS_WEIGHTS_MAX_CONFIG) return ds_fail("header: %u config ints (at most %d)", n_config, DS_WEIGHTS_MAX_CONFIG);
    int config[DS_WEIGHTS_MAX_CONFIG];
    for (uint32_t i = 0; i < n_config; i++) config[i] = (int32_t)peek_u32(bytes + 16 + 4 * i);
    ds_param_table *table = malloc(sizeof *table); /* 40 KB: too big for the WASM stack */
    if (!table) return ds_fail("weights header: out of memory");
    ds_unet_config uc;
    ds_mlp_config mc;
    int rc = kind == DS_MODEL_UNET ? ds_unet_config_from_ints(config, (int)n_config, &uc) || ds_unet_param_table(&uc, table)
                                   : ds_mlp_config_from_ints(config, (int)n_config, &mc) || ds_mlp_param_table(&mc, table);
    if (rc) {
        free(table);
        return ds_fail("bad config in the header: %s", ds_last_error());
    }
    memset(out, 0, sizeof *out);
    out->kind = (ds_model_kind)kind;
    out->image_size = kind == DS_MODEL_UNET ? uc.image_size : 0;
    out->channels = kind == DS_MODEL_UNET ? uc.in_channels : 0;
    out->item_floats = kind == DS_MODEL_UNET ? uc.in_channels * uc.image_size * uc.image_size : mc.data_dim;
    out->file_size = peek_u32(bytes + 152) | (uint64_t)peek_u32(bytes + 156) << 32;
    out->max_file_size = max_file_bytes(table);
    free(table);
    if (out->file_size < DS_WEIGHTS_HEADER_BYTES + 8 || out->file_size > out->max_file_size)
        return ds_fail("header: the file announces %llu bytes, but %s %s of this config takes %d to %llu (corrupt or not a weights file)",
                       (unsigned long long)out->file_size, kind == DS_MODEL_UNET ? "a" : "an", ds_model_kind_name(out->kind),
                       DS_WEIGHTS_HEADER_BYTES + 8,
                       (unsigned long long)out->max_file_size);
    return DS_OK;
}

ds_model *ds_model_random(ds_model_kind kind, const void *config, uint64_t seed) {
    ds_model *m = model_new(kind, config);
    if (!m) return NULL;
    if (kind == DS_MODEL_UNET)
        ds_unet_init_random(&m->unet, seed);
    else
        ds_mlp_init_random(&m->mlp, seed);
    return m;
}

void ds_model_free(ds_model *m) {
    if (!m) return;
    ds_unet_state_free(&m->unet_state);
    ds_unet_free(&m->unet);
    ds_mlp_state_free(&m->mlp_state);
    ds_mlp_free(&m->mlp);
    free(m->v_schedule);
    free(m);
}

int ds_model_to_bytes(const ds_model *m, ds_dtype dtype, uint8_t **out, size_t *n) {
    if (!m) return ds_fail("model to bytes: null model");
    int config[DS_WEIGHTS_MAX_CONFIG];
    int nc = ds_model_config_ints(m, config, DS_WEIGHTS_MAX_CONFIG);
    const ds_param_table *t = m->kind == DS_MODEL_UNET ? &m->unet.table : &m->mlp.table;
    const float *p = m->kind == DS_MODEL_UNET ? m->unet.params : m->mlp.params;
    return ds_weights_write(m->kind, config, nc, &m->meta, t, p, dtype, out, n);
}

ds_schedule_kind ds_model_schedule_kind(const ds_model *m) { return m->meta.schedule_kind; }
int ds_model_schedule_T(const ds_model *m) { return m->meta.schedule_T; }
ds_prediction ds_model_prediction(const ds_model *m) { return m->meta.prediction; }
int ds_model_n_class_names(const ds_model *m) { return m->meta.n_class_names; }
const char *ds_model_class_name(const ds_model *m, int i) {
    return i >= 0 && i < m->meta.n_class_names ? m->meta.class_names[i] : NULL;
}
const ds_weights_meta *ds_model_meta(const ds_model *m) { return &m->meta; }

/* Every setter checks a changed copy with the one validator the reader uses, then keeps it. */
static int set_meta(ds_model *m, const ds_weights_meta *changed) {
    if (ds_weights_meta_check(changed) || check_class_count(m, changed->n_class_names)) return DS_ERR;
    m->meta = *changed;
    free(m->v_schedule); /* made again from the new schedule when needed */
    m->v_schedule = NULL;
    return DS_OK;
}

int ds_model_set_schedule(ds_model *m, ds_schedule_kind kind, int T) {
    if (!m) return ds_fail("set schedule: null model");
    ds_weights_meta meta = m->meta;
    meta.schedule_kind = kind;
    meta.schedule_T = T;
    return set_meta(m, &meta);
}

int ds_model_set_prediction(ds_model *m, ds_prediction prediction) {
    if (!m) return ds_fail("set prediction: null model");
    ds_weights_meta meta = m->meta;
    meta.prediction = prediction;
    return set_meta(m, &meta);
}

int ds_model_set_class_names(ds_model *m, const char *const *names, int n) {
    if (!m) return ds_fail("set class names: null model");
    if (n < 0 || n > DS_WEIGHTS_MAX_CLASS_NAMES || (n > 0 && !names))
        return ds_fail("set class names: %d names (0..%d allowed)", n, DS_WEIGHTS_MAX_CLASS_NAMES);
    ds_weights_meta meta = m->meta;
    memset(meta.class_names, 0, sizeof meta.class_names);
    meta.n_class_names = n;
    for (int i = 0; i < n; i++) {
        size_t len = names[i] ? strlen(names[i]) : 0;
        if (len < 1 || len >= DS_CLASS_NAME_MAX)
            return ds_fail("class name #%d: length %zu is out of range 1..%d", i, len, DS_CLASS_NAME_MAX - 1);
        memcpy(meta.class_names[i], names[i], len);
    }
    return set_meta(m, &meta);
}

ds_model_kind ds_model_get_kind(const ds_model *m) { return m->kind; }
const char *ds_model_kind_name(ds_model_kind kind) { return kind == DS_MODEL_UNET ? "unet" : kind == DS_MODEL_MLP ? "mlp" : "unknown"; }
long ds_model_num_params(const ds_model *m) { return ds_model_table(m)->total; }

double ds_model_mflop(const ds_model *m) {
    return m->kind == DS_MODEL_UNET ? ds_unet_mflop(&m->unet.config) : ds_mlp_mflop(&m->mlp.config);
}

int ds_model_item_floats(const ds_model *m) {
    if (m->kind == DS_MODEL_MLP) return m->mlp.config.data_dim;
    const ds_unet_config *c = &m->unet.config;
    return c->in_channels * c->image_size * c->image_size;
}

int ds_model_image_size(const ds_model *m) { return m->kind == DS_MODEL_UNET ? m->unet.config.image_size : 0; }
int ds_model_channels(const ds_model *m) { return m->kind == DS_MODEL_UNET ? m->unet.config.in_channels : 0; }

const ds_param_table *ds_model_table(const ds_model *m) { return m->kind == DS_MODEL_UNET ? &m->unet.table : &m->mlp.table; }
/* A writable view of the weights: whoever takes it may change them, so the UNet's derived
 * Winograd weights are recomputed before the next forward. */
float *ds_model_params(ds_model *m) {
    m->prepared = 0;
    return m->kind == DS_MODEL_UNET ? m->unet.params : m->mlp.params;
}

int ds_model_config_ints(const ds_model *m, int *out, int cap) {
    int v[DS_WEIGHTS_MAX_CONFIG], n;
    if (m->kind == DS_MODEL_UNET) {
        n = ds_unet_config_to_ints(&m->unet.config, v);
    } else {
        ds_mlp_config_to_ints(&m->mlp.config, v);
        n = DS_MLP_N_CONFIG;
    }
    for (int i = 0; i < n && i < cap; i++) out[i] = v[i];
    return n;
}

ds_unet *ds_model_unet(ds_model *m) { return m && m->kind == DS_MODEL_UNET ? &m->unet : NULL; }
ds_mlp *ds_model_mlp(ds_model *m) { return m && m->kind == DS_MODEL_MLP ? &m->mlp : NULL; }

/* Items per forward call on the run state: a UNet state keeps every activation (about 4 MB
 * per image), so large batches go through in chunks. Items never interact, and the kernels
 * compute each item the same way whatever the batch, so chunking does not change any bit. */
#define UNET_CHUNK 16
#define MLP_CHUNK 4096

int ds_model_forward(ds_model *m, const float *x, const float *t, const int *cls, int B, float *eps_out) {
    return ds_model_forward_mixed(m, x, t, cls, NULL, NULL, B, eps_out);
}

int ds_model_forward_mixed(ds_model *m, const float *x, const float *t, const int *cls, const int *cls2,
                           const float *w2, int B, float *eps_out) {
    if (!m) return ds_fail("model forward: null model");
    if (!x || !t || !eps_out) return ds_fail("model forward: null input or output");
    if (B < 1) return ds_fail("model forward: batch %d must be at least 1", B);
    const int chunk = m->kind == DS_MODEL_UNET ? UNET_CHUNK : MLP_CHUNK;
    const int need = B < chunk ? B : chunk;
    if (m->kind == DS_MODEL_UNET && !m->prepared) { /* first forward, or the weights were handed out */
        if (ds_unet_prepare(&m->unet)) return DS_ERR;
        m->prepared = 1;
    }
    if (need > m->state_batch) { /* grow once; the same batch size later allocates nothing */
        int rc;
        if (m->kind == DS_MODEL_UNET) {
            ds_unet_state_free(&m->unet_state);
            rc = ds_unet_state_alloc_forward(&m->unet_state, &m->unet, need);
        } else {
            ds_mlp_state_free(&m->mlp_state);
            rc = ds_mlp_state_alloc(&m->mlp_state, &m->mlp, need);
        }
        m->state_batch = rc ? 0 : need;
        if (rc) return DS_ERR;
    }
    const long item = ds_model_item_floats(m);
    for (int b0 = 0; b0 < B; b0 += chunk) {
        const int n = B - b0 < chunk ? B - b0 : chunk;
        const float *xb = x + b0 * item;
        float *eb = eps_out + b0 * item;
        int rc = m->kind == DS_MODEL_UNET
                     ? ds_unet_forward_mixed(&m->unet, &m->unet_state, xb, t + b0, cls ? cls + b0 : NULL,
                                             cls2 ? cls2 + b0 : NULL, w2 ? w2 + b0 : NULL, n, eb)
                     : ds_mlp_forward(&m->mlp, &m->mlp_state, xb, t + b0, n, eb);
        if (rc) {
            if (b0 > 0) /* name the item in the whole batch, not in the chunk */
                return ds_fail("%s (in the chunk starting at item %d)", ds_last_error(), b0);
            return DS_ERR;
        }
    }
    return DS_OK;
}

/* the samplers' class (0..K-1, DS_NO_CLASS = none) as the UNet's own (0..K-1, K = none) */
static int map_no_class(const ds_unet_config *c, const int *cls, int n, int *out) {
    for (int b = 0; b < n; b++) {
        const int k = cls[b];
        if (k >= c->n_classes && k < DS_NO_CLASS)
            return ds_fail("model forward: class[%d] = %d but the model has classes 0..%d (%d = no class)", b, k,
                           c->n_classes - 1, DS_NO_CLASS);
        out[b] = k == DS_NO_CLASS ? c->n_classes : k;
    }
    return DS_OK;
}

/* eps (B, item) = s_t x + a_t v in place of the v the network gave (a = sqrt(abar), s = sqrt(1 - abar)) */
static int v_to_eps(ds_model *m, const float *x, const float *t, int B, float *out) {
    if (!m->v_schedule) {
        m->v_schedule = malloc(sizeof *m->v_schedule);
        if (!m->v_schedule) return ds_fail("model forward: out of memory");
        if (ds_schedule_init(m->v_schedule, m->meta.schedule_kind, m->meta.schedule_T)) {
            free(m->v_schedule);
            m->v_schedule = NULL;
            return DS_ERR;
        }
    }
    const long item = ds_model_item_floats(m);
    for (int b = 0; b < B; b++) {
        const double abar = ds_schedule_abar(m->v_schedule, t[b]), a = sqrt(abar), s = sqrt(1.0 - abar);
        const float *xb = x + b * item;
        float *ob = out + b * item;
        for (long i = 0; i < item; i++) ob[i] = (float)(s * xb[i] + a * ob[i]);
    }
    return DS_OK;
}

int ds_model_forward_sampling(ds_model *m, const float *x, const float *t, const int *cls, const int *cls2,
                              const float *w2, int B, float *eps_out) {
    int rc;
    if (!m || m->kind != DS_MODEL_UNET || m->unet.config.n_classes >= DS_NO_CLASS || B < 1 || (!cls && !cls2)) {
        rc = ds_model_forward_mixed(m, x, t, cls, cls2, w2, B, eps_out);
    } else {
        int *mapped = malloc(sizeof(int) * 2 * (size_t)B);
        rc = mapped ? DS_OK : ds_fail("model forward: out of memory");
        if (!rc && cls) rc = map_no_class(&m->unet.config, cls, B, mapped);
        if (!rc && cls2) rc = map_no_class(&m->unet.config, cls2, B, mapped + B);
        if (!rc) rc = ds_model_forward_mixed(m, x, t, cls ? mapped : NULL, cls2 ? mapped + B : NULL, w2, B, eps_out);
        free(mapped);
    }
    if (!rc && m->meta.prediction == DS_PREDICT_V) rc = v_to_eps(m, x, t, B, eps_out);
    return rc;
}
