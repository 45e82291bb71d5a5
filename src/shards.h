/* shards.h — how a trainer hands its work units to threads without knowing about threads.
 *
 * A batch is cut into fixed shards (items per shard set by the caller, not by the thread
 * count); each shard writes only its own outputs, and the caller combines them in shard order,
 * so any runner gives bit-identical results. The library runs shards in order on the calling
 * thread (ds_shards_serial: the page, WebAssembly); the CLI passes a pthread runner
 * (tools/parallel.h). Not here: threads themselves (the library has none). */
#ifndef DS_SHARDS_H
#define DS_SHARDS_H

/* One work unit: shard in 0..n_shards-1, run by worker in 0..n_workers-1 (the index of the
 * per-worker scratch to use). DS_OK or DS_ERR (ds_fail). */
typedef int (*ds_shard_job)(void *job_ctx, int worker, int shard);

/* Runs job once for every shard, at most n_workers at a time, worker w only ever running
 * shards w, w + n_workers, ... Returns DS_OK, or DS_ERR after ds_fail naming a failed shard. */
typedef int (*ds_shard_runner)(void *runner_ctx, int n_workers, int n_shards, ds_shard_job job, void *job_ctx);

#endif
