/* fuzz_checkpoint.c — libFuzzer target for the training checkpoint parser (checkpoint.h).
 *
 * Input: checkpoint bytes + one mode byte (see fuzz_util.h). A checkpoint that parses is
 * restored (optimiser allocated, parameters copied out) and freed again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "fuzz_util.h"
#include "optim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t mode = data[size - 1];
    size_t n = size - 1;
    uint8_t *bytes = malloc(n ? n : 1);
    if (!bytes) abort();
    memcpy(bytes, data, n);
    if ((mode & 1) && n >= 8) fuzz_put_u64(bytes + n - 8, ds_fnv1a64(bytes, (long)n - 8));
    ds_checkpoint ck;
    if (ds_checkpoint_parse(bytes, (long)n, &ck) == 0) {
        float *params = malloc(sizeof(float) * (size_t)ck.n_params);
        ds_optim opt;
        ds_rng rng;
        if (!params) abort();
        if (ds_checkpoint_restore(&ck, &opt, params, &rng) == 0) ds_optim_free(&opt);
        free(params);
    }
    free(bytes);
    return 0;
}
