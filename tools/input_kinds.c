/* input_kinds.c — size caps and first-bytes checks of the CLI's input files (see input_kinds.h). */
#include "input_kinds.h"

#include <stdint.h>
#include <string.h>

#include "checkpoint.h"
#include "error.h"
#include "sampler_models.h"
#include "weights.h"

static uint64_t le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static uint32_t le32(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint32_t be32(const unsigned char *p) { return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24; }

/* weights.h: magic at 0, the total file size as u64 at 152 */
static int weights_head(const unsigned char *head, long n, long long size) {
    ds_weights_header h;
    if (n < DS_WEIGHTS_HEADER_BYTES + 8 || memcmp(head, DS_WEIGHTS_MAGIC, 4))
        return ds_weights_read_header(head, (size_t)n, &h); /* the parser's message: bad magic, too short */
    unsigned long long declared = le64(head + 152);
    if (declared > (unsigned long long)size)
        return ds_fail("truncated: the header says the file has %llu bytes but only %lld are here", declared, size);
    if (declared < (unsigned long long)size)
        return ds_fail("%lld unexpected bytes after the end of the file (the header says %llu bytes)",
                       size - (long long)declared, declared);
    return DS_OK;
}

/* checkpoint.h: magic, version, step, n_params, model_bytes, extra_bytes, has_ema as u64 */
static int checkpoint_head(const unsigned char *head, long n, long long size) {
    ds_checkpoint ck;
    static const char magic[8] = {'D', 'S', 'C', 'K', 'P', 'T', 0, 0};
    if (n < DS_CHECKPOINT_HEADER_BYTES + 8 || memcmp(head, magic, 8))
        return ds_checkpoint_parse(head, n, &ck); /* the parser's message: too short, bad magic */
    uint64_t params = le64(head + 24), model = le64(head + 32), extra = le64(head + 40), ema = le64(head + 48);
    if (params == 0 || params > 0x7fffffffULL || model > (1ULL << 30) || extra > (1ULL << 30) || ema > 1)
        return ds_fail("checkpoint: corrupt header (params %llu, model %llu B, extra %llu B)", (unsigned long long)params,
                       (unsigned long long)model, (unsigned long long)extra);
    uint64_t want = DS_CHECKPOINT_HEADER_BYTES + model + extra + (3 + ema) * params * 4 + 8;
    if ((uint64_t)size != want)
        return ds_fail("checkpoint: %lld bytes but the header describes %llu (truncated or corrupt file)", size,
                       (unsigned long long)want);
    return DS_OK;
}

/* sampler_models.h: "DSFS", version, count, rows, cols as u32; then count labels and images */
static int fashion_sample_head(const unsigned char *head, long n, long long size) {
    ds_fashion_sample fs;
    if (n < DS_FASHION_SAMPLE_HEADER || memcmp(head, DS_FASHION_SAMPLE_MAGIC, 4))
        return ds_fashion_sample_parse(head, (size_t)n, &fs); /* the parser's message: bad magic */
    unsigned long long count = le32(head + 8), rows = le32(head + 12), cols = le32(head + 16);
    unsigned long long want = DS_FASHION_SAMPLE_HEADER + count + count * rows * cols;
    if (count <= 100000 && rows <= 1024 && cols <= 1024 && want != (unsigned long long)size)
        return ds_fail("fashion sample: %lld bytes, but %llu images of %llux%llu need %llu", size, count, rows, cols, want);
    return DS_OK;
}

/* text: a NUL byte means a binary file given by mistake (weights, an image) */
static int points_head(const unsigned char *head, long n, long long size) {
    (void)size;
    const unsigned char *nul = memchr(head, 0, (size_t)n);
    if (nul) return ds_fail("not a text point file (byte %ld is 0: binary data)", (long)(nul - head));
    return DS_OK;
}

/* the PNG signature, then IHDR's width and height (big-endian, bytes 16..23) */
static int png_head(const unsigned char *head, long n, long long size) {
    (void)size;
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n < 8 || memcmp(head, sig, 8)) return ds_fail("not a readable PNG (it does not start with the PNG signature)");
    if (n >= 24 && !memcmp(head + 12, "IHDR", 4)) {
        uint32_t w = be32(head + 16), h = be32(head + 20);
        if (w > 4096 || h > 4096) return ds_fail("not a readable PNG (%u x %u pixels; png2points reads at most 4096 x 4096)", w, h);
    }
    return DS_OK;
}

/* an image of a training folder: PNG or JPEG by their first bytes (the decoder judges the rest) */
static int image_head(const unsigned char *head, long n, long long size) {
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (size == 0) return ds_fail("empty file (0 bytes)");
    if (n >= 8 && !memcmp(head, png, 8)) return DS_OK;
    if (n >= 3 && head[0] == 0xff && head[1] == 0xd8 && head[2] == 0xff) return DS_OK;
    return ds_fail("not a PNG or JPEG (its first bytes are neither signature)");
}

static int gzip_head(const unsigned char *head, long n, long long size) {
    (void)size;
    if (n < 2 || head[0] != 0x1f || head[1] != 0x8b) return ds_fail("not a gzip file (it does not start with 1f 8b)");
    return DS_OK;
}

const util_input_kind INPUT_WEIGHTS = {"weights file", UTIL_MAX_WEIGHTS, DS_WEIGHTS_HEADER_BYTES + 8, weights_head};
const util_input_kind INPUT_CHECKPOINT = {"checkpoint", UTIL_MAX_CHECKPOINT, DS_CHECKPOINT_HEADER_BYTES + 8, checkpoint_head};
const util_input_kind INPUT_FASHION_SAMPLE = {"Fashion sample file", 256L << 20, DS_FASHION_SAMPLE_HEADER, fashion_sample_head};
const util_input_kind INPUT_POINTS = {"point file", UTIL_MAX_TEXT, 4096, points_head};
const util_input_kind INPUT_PNG = {"PNG", UTIL_MAX_IMAGE, 24, png_head};
const util_input_kind INPUT_IMAGE = {"training image", 64L << 20, 8, image_head};
const util_input_kind INPUT_FASHION_GZ = {"Fashion-MNIST file", 256L << 20, 2, gzip_head};
