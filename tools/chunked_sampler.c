/* chunked_sampler.c — n images in chunks over threads (see chunked_sampler.h). */
#include "chunked_sampler.h"

#include <stddef.h>

#include "error.h"
#include "parallel.h"
#include "util.h"

static int run_chunk(void *ctx, int worker, int shard) {
    const chunked_sampling *c = ctx;
    const long first = (long)shard * c->chunk;
    const int count = (int)(c->n - first < c->chunk ? c->n - first : c->chunk);
    ds_sampler_params p = c->params;
    p.batch = count;
    p.first_image = first;
    ds_sampler *s = ds_sampler_create(c->schedule, c->D, c->fn, c->ctx[worker], &p, c->cls ? c->cls + first : NULL);
    if (!s) return DS_ERR;
    int rc = c->on_step ? c->on_step(c->user, worker, first, count, -1, s) : DS_OK;
    for (int k = 0; rc == DS_OK && !ds_sampler_done(s); k++) {
        double t0 = util_now_s();
        if (ds_sampler_step(s)) rc = ds_fail("step %d: %s", k + 1, ds_last_error());
        if (c->step_seconds) c->step_seconds[worker] += util_now_s() - t0;
        if (rc == DS_OK && c->on_step) rc = c->on_step(c->user, worker, first, count, k, s);
    }
    if (rc == DS_OK) c->on_done(c->user, first, count, s);
    ds_sampler_free(s);
    return rc;
}

void chunked_params(ds_sampler_params *p, ds_sampler_kind kind, long steps, double eta, double guidance, double clip,
                    long seed) {
    ds_sampler_params_init(p);
    p->kind = kind;
    p->steps = (int)steps;
    p->eta = eta;
    p->guidance = guidance;
    p->clip = clip;
    p->seed = (uint64_t)seed;
}

int chunked_sample(const chunked_sampling *c) {
    if (!c || !c->on_done || !c->ctx || c->chunk < 1 || c->n < 1 || c->workers < 1)
        return ds_fail("chunked sampling: bad arguments");
    return parallel_run_shards(NULL, c->workers, (int)((c->n + c->chunk - 1) / c->chunk), run_chunk, (void *)c);
}
