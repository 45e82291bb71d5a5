/* fuzz_fashion_sample.c — libFuzzer target for the Fashion sample file (sampler_models.h),
 * the bytes the page fetches for the mixture fallback. A file that parses is turned into
 * the per-image mixture the fallback samples from. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sampler_models.h"
#include "schedule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *bytes = malloc(size ? size : 1);
    if (!bytes) abort();
    memcpy(bytes, data, size);
    ds_fashion_sample s;
    if (ds_fashion_sample_parse(bytes, size, &s) == 0 && (long)s.count * s.rows * s.cols <= (1 << 16)) {
        ds_schedule sched;
        if (ds_schedule_init(&sched, DS_SCHEDULE_COSINE, 1000) == 0) {
            ds_gmm *g = ds_gmm_from_images(&sched, s.pixels, s.labels, s.count, s.rows * s.cols, 0.01);
            if (g) ds_gmm_free(g);
        }
    }
    free(bytes);
    return 0;
}
