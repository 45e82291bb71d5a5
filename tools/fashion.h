/* fashion.h — Fashion-MNIST from Debian's dataset-fashion-mnist, read through zlib.
 *
 * The four files /usr/share/datasets/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
 * hold 60000 + 10000 greyscale 28x28 garments in 10 classes (IDX format: big-endian magic
 * 0x00000803 / 0x00000801, then the dimensions, then unsigned bytes). Everything is checked:
 * magic, dimensions, counts, labels 0..9, images and labels agreeing, nothing missing or
 * extra; a missing, truncated or corrupt file gives a message naming the file.
 * Native only (zlib): src/ is also compiled to WebAssembly and does no file I/O. */
#ifndef DS_FASHION_H
#define DS_FASHION_H

#include <stdint.h>

#define FASHION_DIR_DEFAULT "/usr/share/datasets/fashion-mnist"
#define FASHION_SIDE 28
#define FASHION_PIXELS 784
#define FASHION_CLASSES 10

typedef struct {
    int n;            /* number of images */
    uint8_t *pixels;  /* (n, 28, 28) 0..255 */
    uint8_t *labels;  /* (n) 0..9 */
} fashion_set;

/* The class names, "T-shirt/top" ... "Ankle boot". */
extern const char *const FASHION_CLASS_NAMES[FASHION_CLASSES];

/* Loads split "train" or "test" from dir (NULL: $DS_FASHION_DIR, else FASHION_DIR_DEFAULT).
 * Returns 0, or -1 after setting ds_fail() with a message naming the file and the problem. */
int fashion_load(const char *dir, const char *split, fashion_set *set);
void fashion_free(fashion_set *set);

/* Parses one IDX file already in memory (decompressed): expected_magic 0x803 (images, dims
 * n x 28 x 28) or 0x801 (labels, dim n). *n_out = count; *data points into bytes. name is
 * used in messages. Returns 0 or -1 (ds_fail). Exposed for tests. */
int fashion_parse_idx(const uint8_t *bytes, long size, uint32_t expected_magic, const char *name, int *n_out,
                      const uint8_t **data);

/* Pixels to the model's range: x = p / 127.5 - 1 in [-1, 1], n images into out (n, 784). */
void fashion_to_float(const uint8_t *pixels, int n, float *out);

#endif
