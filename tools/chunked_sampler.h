/* chunked_sampler.h — n images sampled in chunks, the chunks spread over threads.
 *
 * Chunk c holds images c·chunk .. ; each is one ds_sampler run on its worker's denoiser (a model
 * forward is not reentrant, so each thread has its own), and each image draws from its own
 * noise stream (seed, image index): the images are the same for any chunk size or thread
 * count. Used by `sample` (pixels, a filmstrip, progress) and `eval` (floats for the judge).
 * Not here: the samplers (src/sampler.h), the threads (parallel.h), what is kept of a result. */
#ifndef DS_CHUNKED_SAMPLER_H
#define DS_CHUNKED_SAMPLER_H

#include "sampler.h"
#include "schedule.h"

typedef struct {
    const ds_schedule *schedule;
    ds_sampler_params params;   /* all but batch and first_image, which each chunk sets */
    long n;                     /* images */
    int chunk;                  /* images per chunk (the sampler's batch) */
    int D;                      /* floats per image */
    const int *cls;             /* (n) class of each image, or NULL (none) */
    ds_eps_fn fn;
    void *const *ctx;           /* (workers) each worker's denoiser */
    int workers;
    /* called right after a chunk's sampler is made (step -1) and after each of its steps
     * (0..steps-1); may be NULL. DS_OK or DS_ERR stops the run. */
    int (*on_step)(void *user, int worker, long first, int count, int step, const ds_sampler *s);
    /* the finished chunk of `count` images starting at image `first` (required) */
    void (*on_done)(void *user, long first, int count, const ds_sampler *s);
    void *user;
    double *step_seconds;       /* (workers) seconds inside ds_sampler_step are added here, or NULL */
} chunked_sampling;

/* ds_sampler_params_init, then the flags sample and eval share. */
void chunked_params(ds_sampler_params *p, ds_sampler_kind kind, long steps, double eta, double guidance, double clip,
                    long seed);

/* Every chunk, on min(workers, chunks) threads. DS_OK, or DS_ERR after ds_fail naming the chunk
 * ("shard S: step K: ..."). */
int chunked_sample(const chunked_sampling *c);

#endif
