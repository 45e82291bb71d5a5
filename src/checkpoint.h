/* checkpoint.h — the whole training state as one byte buffer, for exact resume.
 *
 * A checkpoint holds everything an update depends on: the step, the RNG state, the optimiser
 * configuration and its running products, the parameters, Adam's m and v, the EMA, plus two
 * opaque blobs the caller owns: `model` (what the parameters are, e.g. the network config, so a
 * resume rebuilds the same network) and `extra` (trainer state such as the schedule kind or the
 * loss average). Training N steps, or k steps + save + load + N-k steps, gives bit-identical
 * parameters (tests/test_optim.c checks it).
 *
 * Layout (little-endian): a 256-byte header (magic "DSCKPT\0\0", version, sizes, step, RNG,
 * optimiser config, zero padding), then model, extra, params, m, v, [ema] as f32, then an
 * FNV-1a 64 checksum of every byte before it. Not here: reading or writing files (the CLI does
 * that atomically through tools/util.h), weights for shipping (weights.h). */
#ifndef DS_CHECKPOINT_H
#define DS_CHECKPOINT_H

#include <stdint.h>

#include "optim.h"
#include "rng.h"

#define DS_CHECKPOINT_VERSION 1
#define DS_CHECKPOINT_HEADER_BYTES 256

typedef struct {
    int version;
    long step;                  /* optimiser updates done */
    long n_params;
    ds_rng rng;
    ds_optim_config cfg;
    double beta1_pow, beta2_pow;
    int has_ema;
    const uint8_t *model;       /* (model_bytes) caller's model description, inside the buffer */
    long model_bytes;
    const uint8_t *extra;       /* (extra_bytes) caller's trainer state, inside the buffer */
    long extra_bytes;
    const uint8_t *params;      /* (n_params) f32 LE, possibly unaligned: read through restore */
    const uint8_t *m, *v, *ema; /* (n_params) each; ema NULL when has_ema == 0 */
} ds_checkpoint;

/* Bytes a checkpoint of this optimiser with these blob sizes takes. */
long ds_checkpoint_size(const ds_optim *opt, long model_bytes, long extra_bytes);

/* Serialises into buf (cap bytes, at least ds_checkpoint_size). Returns the bytes written,
 * or DS_ERR. model/extra may be NULL when their size is 0. */
long ds_checkpoint_write(void *buf, long cap, const ds_optim *opt, const float *params, const ds_rng *rng,
                         const void *model, long model_bytes, const void *extra, long extra_bytes);

/* Validates magic, version, sizes and checksum, and points ck into buf (which must outlive
 * ck). DS_ERR says what is wrong (truncated, corrupt, other version, ...). */
int ds_checkpoint_parse(const void *buf, long size, ds_checkpoint *ck);

/* Initialises opt (ds_optim_init with the stored config; free it with ds_optim_free) and
 * copies the stored params (n_params floats) and RNG state out. Returns DS_OK or DS_ERR. */
int ds_checkpoint_restore(const ds_checkpoint *ck, ds_optim *opt, float *params, ds_rng *rng);

/* FNV-1a 64 of n bytes (exposed for tests). */
uint64_t ds_fnv1a64(const void *data, long n);

#endif
