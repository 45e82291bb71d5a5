/* parallel.c — pthreads over fixed shards (see parallel.h). */
#include "parallel.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"

typedef struct {
    ds_shard_job job;
    void *job_ctx;
    int id, n_workers, n_shards;
    int failed_shard;   /* -1 if none */
    char err[512];
} worker;

static void *worker_run(void *arg) {
    worker *w = arg;
    w->failed_shard = -1;
    for (int s = w->id; s < w->n_shards; s += w->n_workers)
        if (w->job(w->job_ctx, w->id, s)) {
            w->failed_shard = s;
            snprintf(w->err, sizeof w->err, "%s", ds_last_error());
            break;
        }
    return NULL;
}

int parallel_run_shards(void *runner_ctx, int n_workers, int n_shards, ds_shard_job job, void *job_ctx) {
    (void)runner_ctx;
    int n = n_workers < n_shards ? n_workers : n_shards;
    if (n < 1) return DS_OK;
    worker *w = calloc((size_t)n, sizeof *w);
    pthread_t *th = calloc((size_t)n, sizeof *th);
    if (!w || !th) {
        free(w), free(th);
        return ds_fail("out of memory for %d worker threads", n);
    }
    int started = 1, rc = DS_OK;
    for (int k = 0; k < n; k++) w[k] = (worker){job, job_ctx, k, n, n_shards, -1, ""};
    for (; started < n; started++)
        if (pthread_create(&th[started], NULL, worker_run, &w[started])) {
            rc = ds_fail("cannot start worker thread %d", started);
            break;
        }
    if (rc == DS_OK) worker_run(&w[0]);
    for (int k = 1; k < started; k++) pthread_join(th[k], NULL);
    int first = -1;
    for (int k = 0; k < n && rc == DS_OK; k++)
        if (w[k].failed_shard >= 0 && (first < 0 || w[k].failed_shard < w[first].failed_shard)) first = k;
    if (first >= 0) rc = ds_fail("shard %d: %s", w[first].failed_shard, w[first].err);
    free(w), free(th);
    return rc;
}
