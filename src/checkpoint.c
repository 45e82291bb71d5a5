/* checkpoint.c — training state to and from one byte buffer (see checkpoint.h). */
#include "checkpoint.h"

#include <string.h>

#include "error.h"

static const char MAGIC[8] = {'D', 'S', 'C', 'K', 'P', 'T', 0, 0};

/* Both targets (x86-64, wasm32) are little-endian, so the fields are copied as they are. */
typedef struct {
    uint8_t *p;
} writer;
static void put(writer *w, const void *src, size_t n) {
    memcpy(w->p, src, n);
    w->p += n;
}
static void put_u64(writer *w, uint64_t v) { put(w, &v, 8); }
static void put_f64(writer *w, double v) { put(w, &v, 8); }

typedef struct {
    const uint8_t *p;
} reader;
static void get(reader *r, void *dst, size_t n) {
    memcpy(dst, r->p, n);
    r->p += n;
}
static uint64_t get_u64(reader *r) {
    uint64_t v;
    get(r, &v, 8);
    return v;
}
static double get_f64(reader *r) {
    double v;
    get(r, &v, 8);
    return v;
}

uint64_t ds_fnv1a64(const void *data, long n) {
    const uint8_t *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (long i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

long ds_checkpoint_size(const ds_optim *opt, long model_bytes, long extra_bytes) {
    long arrays = opt->ema ? 4 : 3;
    return DS_CHECKPOINT_HEADER_BYTES + model_bytes + extra_bytes + arrays * opt->n * 4 + 8;
}

long ds_checkpoint_write(void *buf, long cap, const ds_optim *opt, const float *params, const ds_rng *rng,
                         const void *model, long model_bytes, const void *extra, long extra_bytes) {
    if (!buf || !opt || !opt->m || !params || !rng) return ds_fail("checkpoint write: null buffer, optimiser, params or RNG");
    if (model_bytes < 0 || extra_bytes < 0 || (model_bytes && !model) || (extra_bytes && !extra))
        return ds_fail("checkpoint write: bad model/extra blob (%ld, %ld bytes)", model_bytes, extra_bytes);
    long size = ds_checkpoint_size(opt, model_bytes, extra_bytes);
    if (cap < size) return ds_fail("checkpoint write: buffer of %ld bytes, need %ld", cap, size);
    memset(buf, 0, DS_CHECKPOINT_HEADER_BYTES);
    writer w = {buf};
    const ds_optim_config *c = &opt->cfg;
    put(&w, MAGIC, 8);
    put_u64(&w, DS_CHECKPOINT_VERSION);
    put_u64(&w, (uint64_t)opt->step);
    put_u64(&w, (uint64_t)opt->n);
    put_u64(&w, (uint64_t)model_bytes);
    put_u64(&w, (uint64_t)extra_bytes);
    put_u64(&w, opt->ema ? 1 : 0);
    for (int i = 0; i < 4; i++) put_u64(&w, rng->s[i]);
    put_f64(&w, rng->spare_normal);
    put_u64(&w, (uint64_t)rng->has_spare);
    put_f64(&w, opt->beta1_pow);
    put_f64(&w, opt->beta2_pow);
    put_f64(&w, c->lr);
    put_f64(&w, c->beta1);
    put_f64(&w, c->beta2);
    put_f64(&w, c->eps);
    put_f64(&w, c->weight_decay);
    put_f64(&w, c->clip_norm);
    put_u64(&w, (uint64_t)c->warmup_steps);
    put_u64(&w, (uint64_t)c->decay_steps);
    put_f64(&w, c->min_lr_ratio);
    put_f64(&w, c->ema_decay);
    put_u64(&w, (uint64_t)c->ema_warmup);
    put_u64(&w, (uint64_t)c->decay_start); /* 28 fields * 8 = 224 bytes, then zero padding (older files: start 0) */
    w.p = (uint8_t *)buf + DS_CHECKPOINT_HEADER_BYTES;
    if (model_bytes) put(&w, model, (size_t)model_bytes);
    if (extra_bytes) put(&w, extra, (size_t)extra_bytes);
    size_t arr = (size_t)opt->n * 4;
    put(&w, params, arr);
    put(&w, opt->m, arr);
    put(&w, opt->v, arr);
    if (opt->ema) put(&w, opt->ema, arr);
    put_u64(&w, ds_fnv1a64(buf, size - 8));
    return size;
}

int ds_checkpoint_parse(const void *buf, long size, ds_checkpoint *ck) {
    if (!buf || !ck) return ds_fail("checkpoint: null buffer or output");
    memset(ck, 0, sizeof *ck);
    if (size < DS_CHECKPOINT_HEADER_BYTES + 8)
        return ds_fail("checkpoint: %ld bytes is too short for a checkpoint (truncated file?)", size);
    reader r = {buf};
    char magic[8];
    get(&r, magic, 8);
    if (memcmp(magic, MAGIC, 8)) return ds_fail("checkpoint: not a Diffuscope checkpoint (bad magic)");
    uint64_t version = get_u64(&r);
    if (version != DS_CHECKPOINT_VERSION)
        return ds_fail("checkpoint: version %llu, this build reads version %d; resume with the build that wrote it, "
                       "or start a new run from its exported weights",
                       (unsigned long long)version, DS_CHECKPOINT_VERSION);
    ck->version = (int)version;
    uint64_t step = get_u64(&r), n = get_u64(&r), model_bytes = get_u64(&r), extra_bytes = get_u64(&r);
    uint64_t has_ema = get_u64(&r);
    if (n == 0 || n > 0x7fffffffULL || model_bytes > (1ULL << 30) || extra_bytes > (1ULL << 30) || has_ema > 1 ||
        step > (1ULL << 50))
        return ds_fail("checkpoint: corrupt header (params %llu, model %llu B, extra %llu B)", (unsigned long long)n,
                       (unsigned long long)model_bytes, (unsigned long long)extra_bytes);
    uint64_t want = DS_CHECKPOINT_HEADER_BYTES + model_bytes + extra_bytes + (3 + has_ema) * n * 4 + 8;
    if ((uint64_t)size != want)
        return ds_fail("checkpoint: %ld bytes but the header describes %llu (truncated or corrupt file)", size,
                       (unsigned long long)want);
    uint64_t sum;
    memcpy(&sum, (const uint8_t *)buf + size - 8, 8);
    if (sum != ds_fnv1a64(buf, size - 8)) return ds_fail("checkpoint: checksum mismatch (the file is corrupt)");
    ck->step = (long)step;
    ck->n_params = (long)n;
    ck->model_bytes = (long)model_bytes;
    ck->extra_bytes = (long)extra_bytes;
    ck->has_ema = (int)has_ema;
    for (int i = 0; i < 4; i++) ck->rng.s[i] = get_u64(&r);
    ck->rng.spare_normal = get_f64(&r);
    ck->rng.has_spare = (int)get_u64(&r);
    ck->beta1_pow = get_f64(&r);
    ck->beta2_pow = get_f64(&r);
    ds_optim_config *c = &ck->cfg;
    c->lr = get_f64(&r);
    c->beta1 = get_f64(&r);
    c->beta2 = get_f64(&r);
    c->eps = get_f64(&r);
    c->weight_decay = get_f64(&r);
    c->clip_norm = get_f64(&r);
    c->warmup_steps = (long)get_u64(&r);
    c->decay_steps = (long)get_u64(&r);
    c->min_lr_ratio = get_f64(&r);
    c->ema_decay = get_f64(&r);
    c->ema_warmup = (int)get_u64(&r);
    c->decay_start = (long)get_u64(&r);
    if (ds_optim_config_check(c)) return ds_fail("checkpoint: stored optimiser config is invalid: %s", ds_last_error());
    if ((c->ema_decay > 0) != ck->has_ema) return ds_fail("checkpoint: EMA flag disagrees with the EMA decay");
    const uint8_t *p = (const uint8_t *)buf + DS_CHECKPOINT_HEADER_BYTES;
    ck->model = p;
    p += model_bytes;
    ck->extra = p;
    p += extra_bytes;
    ck->params = p;
    ck->m = p + n * 4;
    ck->v = p + 2 * n * 4;
    ck->ema = has_ema ? p + 3 * n * 4 : NULL;
    return DS_OK;
}

int ds_checkpoint_restore(const ds_checkpoint *ck, ds_optim *opt, float *params, ds_rng *rng) {
    if (!ck || !opt || !params || !rng) return ds_fail("checkpoint restore: null argument");
    size_t arr = (size_t)ck->n_params * 4;
    memcpy(params, ck->params, arr);
    if (ds_optim_init(opt, &ck->cfg, ck->n_params, params)) return DS_ERR;
    memcpy(opt->m, ck->m, arr);
    memcpy(opt->v, ck->v, arr);
    if (opt->ema) memcpy(opt->ema, ck->ema, arr);
    opt->step = ck->step;
    opt->beta1_pow = ck->beta1_pow;
    opt->beta2_pow = ck->beta2_pow;
    *rng = ck->rng;
    return DS_OK;
}
