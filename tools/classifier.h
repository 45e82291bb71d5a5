/* classifier.h — the small Fashion-MNIST classifier the project judges images with: 3 convs
 * (16, 32, 64 channels, SiLU) and 2 linears (128-d features, 10 logits), trained with the same
 * kernels, backward passes and Adam as the denoiser, cached in a file (out/fashion-classifier.bin).
 * `eval` trains and caches it and scores samples with it (accuracy, Fréchet distance of its
 * features); `classify` judges given images (the browser tests' edited drawings).
 * Not here: the data set (fashion.h), the Fréchet distance (frechet.h). */
#ifndef DS_CLASSIFIER_H
#define DS_CLASSIFIER_H

#include <stdint.h>

#include "fashion.h"
#include "weights.h"

#define CL_FEAT 128
#define CL_DEFAULT_PATH "out/fashion-classifier.bin"

typedef struct {
    ds_param_table table;
    float *params;
    /* (pointers into params) */
    float *c1w, *c1b, *c2w, *c2b, *c3w, *c3b, *f1w, *f1b, *f2w, *f2b;
} classifier;

typedef struct {
    int max_batch;
    float *x;              /* (B, 1, 28, 28) */
    float *c1, *a1;        /* (B, 16, 28, 28) conv1, silu */
    float *c2, *a2;        /* (B, 32, 14, 14) */
    float *c3, *a3;        /* (B, 64, 7, 7) */
    float *f1, *feat;      /* (B, 128) fc1, silu: the features */
    float *logits;         /* (B, 10) */
    float *d_big, *d_big2; /* (B, 16, 28, 28) backward temporaries */
    float *d_feat;         /* (B, 128) */
    float *scratch;        /* conv forward/backward scratch */
    float *buf;
} cl_state;

/* The parameter table and its blob (zeros). DS_OK or DS_ERR. */
int cl_build(classifier *c);
/* Run state for batches of up to B images. DS_OK or DS_ERR. */
int cl_state_alloc(cl_state *s, int B);
/* logits (s->logits (B, 10)) and features (s->feat (B, CL_FEAT)) of x (B, 1, 28, 28) in [-1, 1] */
void cl_forward(const classifier *c, cl_state *s, const float *x, int B);
/* accuracy on n images x against labels (may be NULL: 0); feat (n, CL_FEAT) and pred (n) if not NULL */
double cl_run(const classifier *c, cl_state *s, const float *x, const int *labels, int n, float *feat, int *pred);
/* The cached parameters from path: 0, or -1 if absent or invalid (invalid: says so on stderr). */
int cl_load(classifier *c, const char *path);
/* Writes the cache atomically; 0, or the exit status after printing. */
int cl_save(const classifier *c, const char *path);
/* Trains from scratch on a training set: epochs passes of batch 128, Adam. DS_OK or DS_ERR. */
int cl_train(classifier *c, const fashion_set *train, int epochs, uint64_t seed);

#endif
