/* fuzz_util.h — small helpers shared by the libFuzzer targets in tests/fuzz/.
 *
 * Binary formats end in a checksum that random bytes almost never match, which would stop
 * the fuzzer at the first check. So the targets take the input's LAST byte as a mode byte:
 * bit 0 set = recompute the trailing 8-byte checksum (through the format's own function)
 * before parsing, so the fuzzer reaches the structure checks behind it; bit 0 clear = parse
 * the bytes as given (the checksum path itself). */
#ifndef DS_FUZZ_UTIL_H
#define DS_FUZZ_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A malloc'ed copy of data[0..size) plus a terminating NUL (ASan sees reads past the end). */
static inline char *fuzz_cstring(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) abort();
    memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

/* Store a little-endian u64 (the formats are little-endian on every target we build for). */
static inline void fuzz_put_u64(uint8_t *at, uint64_t v) {
    for (int i = 0; i < 8; i++) at[i] = (uint8_t)(v >> (8 * i));
}

#endif
