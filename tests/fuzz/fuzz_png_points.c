/* fuzz_png_points.c — libFuzzer target for `diffuscope png2points IMAGE.png`: PNG bytes are
 * decoded by stb_image (PNG only, at most 4096 pixels a side) and sampled into points by
 * ds_image_points, through points_from_png (tools/points_io.h), the CLI's own path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "points_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > (1 << 20)) return 0;
    unsigned char *bytes = malloc(size);
    if (!bytes) abort();
    memcpy(bytes, data, size);
    float out[2 * 32];
    points_from_png(bytes, (long)size, 128, 32, 1.0, out);
    free(bytes);
    return 0;
}
