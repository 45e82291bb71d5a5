/* rng.c — xoshiro256** and polar-method normals (see rng.h). */
#include "rng.h"

#include <math.h>

#include "detmath.h"
#include "error.h"

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void ds_rng_seed(ds_rng *rng, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&x);
    rng->spare_normal = 0.0;
    rng->has_spare = 0;
}

uint64_t ds_rng_u64(ds_rng *rng) {
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double ds_rng_uniform(ds_rng *rng) { return (double)(ds_rng_u64(rng) >> 11) * 0x1.0p-53; }

uint32_t ds_rng_below(ds_rng *rng, uint32_t n) {
    /* rejection keeps it unbiased: draw from the largest multiple of n below 2^32 */
    uint32_t limit = (uint32_t)(0x100000000ULL - (0x100000000ULL % n));
    for (;;) {
        uint32_t r = (uint32_t)(ds_rng_u64(rng) >> 32);
        if (limit == 0 || r < limit) return r % n;
    }
}

double ds_rng_normal(ds_rng *rng) {
    if (rng->has_spare) {
        rng->has_spare = 0;
        return rng->spare_normal;
    }
    double u, v, s;
    do {
        u = 2.0 * ds_rng_uniform(rng) - 1.0;
        v = 2.0 * ds_rng_uniform(rng) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double f = sqrt(-2.0 * ds_log(s) / s);
    rng->spare_normal = v * f;
    rng->has_spare = 1;
    return u * f;
}

void ds_rng_fill_normal_f32(ds_rng *rng, float *out, long n) {
    for (long i = 0; i < n; i++) out[i] = (float)ds_rng_normal(rng);
}

int ds_seed_from_double(double seed, uint64_t *out) {
    if (!isfinite(seed) || seed < 0 || seed > 9007199254740992.0 || seed != floor(seed))
        return ds_fail("seed must be a whole number between 0 and 2^53 (got %g)", seed);
    *out = (uint64_t)seed;
    return DS_OK;
}

int ds_rng_normals(double seed, int n, double *out) {
    uint64_t s = 0;
    if (ds_seed_from_double(seed, &s)) return DS_ERR;
    if (ds_check_range_int(n, 0, 1 << 24, "count") || (n && !out)) return DS_ERR;
    ds_rng r;
    ds_rng_seed(&r, s);
    for (int i = 0; i < n; i++) out[i] = ds_rng_normal(&r);
    return DS_OK;
}
