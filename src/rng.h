/* rng.h — the project's random numbers, bit-identical natively and in WebAssembly.
 *
 * xoshiro256** seeded through splitmix64; normals by the Marsaglia polar method using
 * detmath's ds_log, so a seed gives the same stream on every target. The state is a plain
 * struct (32 bytes) so checkpoints can store it and resume exactly. */
#ifndef DS_RNG_H
#define DS_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];         /* xoshiro256** state */
    double spare_normal;   /* second value of the last polar pair */
    int has_spare;         /* 1 if spare_normal is unused */
} ds_rng;

void ds_rng_seed(ds_rng *rng, uint64_t seed);
uint64_t ds_rng_u64(ds_rng *rng);
double ds_rng_uniform(ds_rng *rng);              /* [0, 1), 53 random bits */
uint32_t ds_rng_below(ds_rng *rng, uint32_t n);  /* uniform integer in [0, n), unbiased; n > 0 */
double ds_rng_normal(ds_rng *rng);               /* N(0, 1) */
void ds_rng_fill_normal_f32(ds_rng *rng, float *out, long n);

/* The one check of a seed given as a double (JS numbers, CLI flags): a whole number in
 * [0, 2^53], else DS_ERR naming it. */
int ds_seed_from_double(double seed, uint64_t *out);

/* n standard normals from a fresh generator seeded with `seed` (the
 * cross-target test compares these bit for bit). Returns DS_OK or DS_ERR. */
int ds_rng_normals(double seed, int n, double *out);

#endif
