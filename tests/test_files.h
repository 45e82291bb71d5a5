/* test_files.h — the C tests' file helpers: where the golden files are, and reading a whole
 * file. Not here: assertions (check.h). */
#ifndef DS_TEST_FILES_H
#define DS_TEST_FILES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* tests/golden/FILE under the source tree ctest passes as DS_SOURCE_DIR (static buffer). */
static inline char *golden_path(const char *file) {
    static char buf[1024];
    const char *src = getenv("DS_SOURCE_DIR");
    snprintf(buf, sizeof buf, "%s/tests/golden/%s", src ? src : ".", file);
    return buf;
}

/* The whole file, malloc'd with one NUL byte after it (so text can be searched), *n bytes;
 * NULL if it cannot be opened. */
static inline uint8_t *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    *n = 0;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(len > 0 ? (size_t)len + 1 : 1);
    if (b) {
        *n = len > 0 ? fread(b, 1, (size_t)len, f) : 0;
        b[*n] = 0;
    }
    fclose(f);
    return b;
}

#endif
