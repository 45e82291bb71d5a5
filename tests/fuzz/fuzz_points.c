/* fuzz_points.c — libFuzzer target for point files and drawings (shapes.h).
 *
 * Input: text. Parsed as a point file (ds_points_parse, then normalised) and as a drawing
 * (ds_drawing_parse); a drawing that parses is turned into points along and inside its
 * strokes (ds_drawing_points), as `diffuscope png2points --drawing` does. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "shapes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1 << 16)) return 0;
    char *text = fuzz_cstring(data, size);
    float *xy = NULL;
    int n = 0;
    if (ds_points_parse(text, &xy, &n) == 0) {
        ds_points_normalise(xy, n);
        free(xy);
    }
    int *lens = NULL, S = 0;
    xy = NULL;
    if (ds_drawing_parse(text, &xy, &lens, &S) == 0) {
        /* sampling draws a large fixed reference set first (slow), so only every fourth
         * input size samples, alternating strokes / filled, to keep the parser fuzzed fast */
        float out[2 * 64];
        if (size % 4 == 0) ds_drawing_points(xy, lens, S, (int)(size / 4 % 2), 0.05, 64, 1.0, out);
        free(xy);
        free(lens);
    }
    free(text);
    return 0;
}
