/* fuzz_image_folder.c — libFuzzer target for the images of `diffuscope train --images DIR`:
 * PNG or JPEG bytes probed and decoded by stb_image (at most 8192 pixels a side), then resized
 * and centred by the area filter, through image_folder_probe / image_folder_decode
 * (tools/image_folder.h), the trainer's own path for every file of the folder. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image_folder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > (1 << 20)) return 0;
    unsigned char *bytes = malloc(size);
    if (!bytes) abort();
    memcpy(bytes, data, size);
    int channels = 0;
    uint8_t out[3 * 32 * 32];
    if (image_folder_probe(bytes, (long)size, &channels) == 0) {
        image_folder_decode(bytes, (long)size, channels, 32, out);
        image_folder_decode(bytes, (long)size, 4 - channels, 28, out); /* the other channel count */
    }
    free(bytes);
    return 0;
}
