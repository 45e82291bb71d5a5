/* parallel.h — the CLI's shard runner: pthreads over fixed shards (src/shards.h).
 *
 * Worker w runs shards w, w + n, w + 2n, ... on its own thread (worker 0 on the caller's), so
 * each worker can own scratch buffers or a model copy. Shards write only their own outputs and
 * callers combine them in shard order: results are bit-identical for any thread count. Used by
 * `train` (gradients per shard, through the UNet trainer and src/mlp_train.h) and by `sample`
 * and `eval` (image chunks per shard, through chunked_sampler.h). Not here: what a shard computes, or how results are combined. */
#ifndef DS_PARALLEL_H
#define DS_PARALLEL_H

#include "shards.h"

/* A ds_shard_runner (runner_ctx unused, may be NULL). Runs job for every shard on
 * min(n_workers, n_shards) threads. DS_OK, or DS_ERR after ds_fail: "cannot start worker
 * thread K", or "shard S: <the job's message>" for the lowest failed shard's worker. */
int parallel_run_shards(void *runner_ctx, int n_workers, int n_shards, ds_shard_job job, void *job_ctx);

#endif
