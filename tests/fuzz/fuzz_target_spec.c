/* fuzz_target_spec.c — libFuzzer target for the VI target spec parser "w:m:s,..." (vi.h).
 *
 * Input: the spec text (not NUL-terminated; the parser takes a length, as the WASM export
 * does). Also goes through the export ds_vi_parse_target, and on success evaluates one fit
 * against the parsed mixture, so values the parser lets through must be usable. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "vi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1 << 16)) return 0;
    /* exact-size heap copy: any read past len is an ASan report */
    uint8_t *text = malloc(size ? size : 1);
    if (!text) abort();
    memcpy(text, data, size);
    ds_mixture p;
    if (ds_mixture_parse(&p, (const char *)text, (long)size) == 0) {
        ds_vi_result r;
        ds_vi_eval(&p, 0.0, 1.0, 0.0, &r);
        ds_vi_mc mc;
        ds_vi_mc_estimate(&p, 0.5, 2.0, 0.0, 64, 7, &mc);
    }
    double out[3 * DS_VI_MAX_COMPONENTS + 1];
    ds_vi_parse_target(text, (int)size, out);
    free(text);
    return 0;
}
