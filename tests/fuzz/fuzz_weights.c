/* fuzz_weights.c — libFuzzer target for the .dsw weights loader (weights.h, model.h).
 *
 * Input: .dsw bytes + one mode byte (see fuzz_util.h). Loads through ds_model_from_bytes,
 * the path both the CLI and the page take, and on success runs one forward of batch 1 so
 * that a config the loader accepted also builds a working network. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "model.h"
#include "weights.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t mode = data[size - 1];
    size_t n = size - 1;
    uint8_t *bytes = malloc(n ? n : 1);
    if (!bytes) abort();
    memcpy(bytes, data, n);
    if ((mode & 1) && n >= 8) fuzz_put_u64(bytes + n - 8, ds_weights_checksum(bytes, n - 8));
    ds_model *m = ds_model_from_bytes(bytes, n);
    free(bytes);
    if (!m) return 0;
    /* a loaded model must forward: zeros in, finite-size out (a config with a huge image
     * size is rejected by the loader, so this stays cheap) */
    int item = ds_model_item_floats(m);
    if (item > 0 && item <= (1 << 16) && ds_model_mflop(m) < 50.0) {
        float *x = calloc((size_t)item, sizeof(float)), *eps = calloc((size_t)item, sizeof(float));
        float t = 500.0f;
        int cls = 0;
        if (!x || !eps) abort();
        ds_model_forward(m, x, &t, &cls, 1, eps);
        free(x);
        free(eps);
    }
    ds_model_free(m);
    return 0;
}
