/* gif.c — GIF89a with LZW for grey frames (see gif.h). */
#include "gif.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

/* a growing byte buffer; `failed` once an allocation fails (later writes do nothing) */
typedef struct {
    uint8_t *data;
    size_t len, cap;
    int failed;
} gif_buf;

static void put_bytes(gif_buf *b, const void *bytes, size_t n) {
    if (b->failed) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        uint8_t *d = realloc(b->data, cap);
        if (!d) { b->failed = 1; return; }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, bytes, n);
    b->len += n;
}

static void put_byte(gif_buf *b, int v) {
    uint8_t c = (uint8_t)v;
    put_bytes(b, &c, 1);
}

static void put_u16(gif_buf *b, int v) {
    put_byte(b, v & 0xff);
    put_byte(b, (v >> 8) & 0xff);
}

/* ---- LZW ---- */

#define LZW_MIN_BITS 8                /* grey levels are 8-bit indices */
#define LZW_CLEAR 256
#define LZW_END 257
#define LZW_MAX_CODE 4095
#define LZW_HASH 8192                 /* open addressing, at most 4096 entries */

typedef struct {
    gif_buf *out;
    uint8_t block[256];               /* block[0] = length, then up to 255 data bytes */
    uint32_t bits;                    /* pending bits, lowest first */
    int n_bits;
    int width;                        /* current code width, 9..12 */
    int next_code;                    /* the code the next new string gets */
    uint32_t key[LZW_HASH];           /* (prefix << 8 | byte) + 1, 0 = empty */
    uint16_t code[LZW_HASH];
} lzw_state;

static void flush_block(lzw_state *z) {
    if (!z->block[0]) return;
    put_bytes(z->out, z->block, (size_t)z->block[0] + 1);
    z->block[0] = 0;
}

static void put_code(lzw_state *z, int code) {
    z->bits |= (uint32_t)code << z->n_bits;
    z->n_bits += z->width;
    while (z->n_bits >= 8) {
        z->block[1 + z->block[0]++] = (uint8_t)(z->bits & 0xff);
        if (z->block[0] == 255) flush_block(z);
        z->bits >>= 8;
        z->n_bits -= 8;
    }
}

static void reset_table(lzw_state *z) {
    memset(z->key, 0, sizeof z->key);
    z->width = LZW_MIN_BITS + 1;
    z->next_code = LZW_END + 1;
}

/* slot of (prefix, byte): where it is, or the empty slot where it would go */
static int find_slot(const lzw_state *z, int prefix, int byte) {
    const uint32_t k = ((uint32_t)prefix << 8 | (uint32_t)byte) + 1;
    int h = (int)((k * 2654435761u) >> 19) & (LZW_HASH - 1);
    while (z->key[h] && z->key[h] != k) h = (h + 1) & (LZW_HASH - 1);
    return h;
}

/* The decoder adds a string after every code but the first after a clear, and widens its
 * codes once the next free one reaches 2^width: the encoder mirrors that count exactly. */
static void after_code(lzw_state *z) {
    if (z->next_code <= LZW_MAX_CODE) z->next_code++;
    if (z->next_code >= (1 << z->width) && z->width < 12) z->width++;
}

static void lzw_pixels(gif_buf *out, const uint8_t *px, long n) {
    lzw_state *z = malloc(sizeof *z);
    if (!z) { out->failed = 1; return; }
    z->out = out;
    z->block[0] = 0;
    z->bits = 0;
    z->n_bits = 0;
    reset_table(z);
    put_code(z, LZW_CLEAR);
    int prefix = px[0], first = 1; /* first: no string is added after the first code */
    for (long i = 1; i < n; i++) {
        const int c = px[i], h = find_slot(z, prefix, c);
        if (z->key[h]) { prefix = z->code[h]; continue; }
        put_code(z, prefix);
        if (!first) after_code(z);
        first = 0;
        if (z->next_code <= LZW_MAX_CODE) { /* the decoder will know prefix + c as this code */
            z->key[h] = ((uint32_t)prefix << 8 | (uint32_t)c) + 1;
            z->code[h] = (uint16_t)z->next_code;
        }
        if (z->next_code > LZW_MAX_CODE) { /* table full (the decoder's too): start again */
            put_code(z, LZW_CLEAR);
            reset_table(z);
            first = 1;
        }
        prefix = c;
    }
    put_code(z, prefix);
    if (!first) after_code(z);
    put_code(z, LZW_END);
    if (z->n_bits > 0) {
        z->block[1 + z->block[0]++] = (uint8_t)(z->bits & 0xff);
        if (z->block[0] == 255) flush_block(z);
    }
    flush_block(z);
    free(z);
}

/* ---- the file ---- */

void ds_gif_params_init(ds_gif_params *p) {
    memset(p, 0, sizeof *p);
    p->scale = 1;
    p->delay_cs = 10;
}

static int check_params(const ds_gif_params *p, const uint8_t *frames, int n_frames) {
    if (!p || !frames) return ds_fail("gif: null parameters or frames");
    if (ds_check_range_int(p->scale, 1, DS_GIF_MAX_SCALE, "gif scale")) return DS_ERR;
    if (ds_check_range_int(p->width, 1, DS_GIF_MAX_SIDE / p->scale, "gif frame width (after scaling <= 4096)")) return DS_ERR;
    if (ds_check_range_int(p->height, 1, DS_GIF_MAX_SIDE / p->scale, "gif frame height (after scaling <= 4096)")) return DS_ERR;
    if (ds_check_range_int(p->delay_cs, 1, 65535, "gif frame delay (centiseconds)")) return DS_ERR;
    if (ds_check_range_int(p->last_delay_cs, 0, 65535, "gif last frame delay (centiseconds)")) return DS_ERR;
    if (ds_check_range_int(p->loops, 0, 65535, "gif loop count")) return DS_ERR;
    if (ds_check_range_int(n_frames, 1, DS_GIF_MAX_FRAMES, "gif frame count")) return DS_ERR;
    if ((double)n_frames * p->width * p->height * p->scale * p->scale > 1e9)
        return ds_fail("gif: %d frames of %d x %d at scale %d exceed 1e9 pixels", n_frames, p->width, p->height, p->scale);
    return DS_OK;
}

static void put_header(gif_buf *b, int W, int H, int loops) {
    put_bytes(b, "GIF89a", 6);
    put_u16(b, W);
    put_u16(b, H);
    put_byte(b, 0xF7); /* a global colour table of 2^(7+1) entries, 8 bits per primary */
    put_byte(b, 0);    /* background: index 0 */
    put_byte(b, 0);    /* no aspect ratio */
    for (int i = 0; i < 256; i++) {
        uint8_t rgb[3] = {(uint8_t)i, (uint8_t)i, (uint8_t)i};
        put_bytes(b, rgb, 3);
    }
    put_bytes(b, "\x21\xFF\x0BNETSCAPE2.0\x03\x01", 16);
    put_u16(b, loops);
    put_byte(b, 0);
}

int ds_gif_encode(const ds_gif_params *p, const uint8_t *frames, int n_frames, uint8_t **out, size_t *n) {
    if (!out || !n) return ds_fail("gif: null output");
    if (check_params(p, frames, n_frames)) return DS_ERR;
    const int s = p->scale, w = p->width, h = p->height, W = w * s, H = h * s;
    uint8_t *big = malloc((size_t)W * H);
    if (!big) return ds_fail("gif: out of memory for a %d x %d frame", W, H);
    gif_buf b = {0};
    put_header(&b, W, H, p->loops);
    for (int f = 0; f < n_frames; f++) {
        const uint8_t *src = frames + (long)f * w * h;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) big[(long)y * W + x] = src[(long)(y / s) * w + x / s];
        const int delay = f == n_frames - 1 && p->last_delay_cs ? p->last_delay_cs : p->delay_cs;
        put_bytes(&b, "\x21\xF9\x04\x04", 4); /* graphic control: disposal 1 (leave), no transparency */
        put_u16(&b, delay);
        put_bytes(&b, "\x00\x00", 2);
        put_byte(&b, 0x2C); /* image descriptor: the whole screen, no local table, not interlaced */
        put_u16(&b, 0), put_u16(&b, 0), put_u16(&b, W), put_u16(&b, H);
        put_byte(&b, 0);
        put_byte(&b, LZW_MIN_BITS);
        lzw_pixels(&b, big, (long)W * H);
        put_byte(&b, 0); /* end of the image's data blocks */
    }
    put_byte(&b, 0x3B);
    free(big);
    if (b.failed) {
        free(b.data);
        return ds_fail("gif: out of memory for %d frames of %d x %d", n_frames, W, H);
    }
    *out = b.data;
    *n = b.len;
    return DS_OK;
}
