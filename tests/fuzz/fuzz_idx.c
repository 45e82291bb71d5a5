/* fuzz_idx.c — libFuzzer target for the IDX reader of the Fashion-MNIST files
 * (tools/fashion.h, fashion_parse_idx): the first input byte picks images (0x803) or
 * labels (0x801); the rest is the decompressed file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fashion.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint32_t magic = (data[0] & 1) ? 0x803 : 0x801;
    size_t n = size - 1;
    uint8_t *bytes = malloc(n ? n : 1);
    if (!bytes) abort();
    memcpy(bytes, data + 1, n);
    int count = 0;
    const uint8_t *items = NULL;
    if (fashion_parse_idx(bytes, (long)n, magic, "fuzz", &count, &items) == 0 && count > 0) {
        /* the view must cover count items inside the buffer */
        size_t item = magic == 0x803 ? 784 : 1;
        volatile uint8_t last = items[(size_t)count * item - 1];
        (void)last;
    }
    free(bytes);
    return 0;
}
