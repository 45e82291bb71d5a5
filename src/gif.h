/* gif.h — an animated GIF encoder for greyscale frames, into memory.
 *
 * One implementation for the CLI (`sample --gif`) and the page (through the WASM face): each
 * frame is a full W × H image of grey levels 0..255, written with a 256-entry grey palette
 * (index = level), so a decoder gives back exactly the levels given. Frames may be enlarged by
 * an integer factor (nearest neighbour: a 28 × 28 run is unreadably small at 1:1). LZW as the
 * GIF89a spec has it (variable code width 9..12 bits, a clear code when the table is full),
 * a NETSCAPE2.0 block for looping, one graphic control block per frame for its delay.
 * Not here: colour quantisation (the frames are grey already), files (the caller writes). */
#ifndef DS_GIF_H
#define DS_GIF_H

#include <stddef.h>
#include <stdint.h>

#define DS_GIF_MAX_SIDE 4096     /* width or height after scaling */
#define DS_GIF_MAX_SCALE 16
#define DS_GIF_MAX_FRAMES 10000

typedef struct {
    int width, height;   /* of each given frame, before scaling */
    int scale;           /* each pixel becomes scale × scale, 1..DS_GIF_MAX_SCALE */
    int delay_cs;        /* time per frame in centiseconds (1/100 s), 1..65535 */
    int last_delay_cs;   /* the last frame's (a pause before the loop starts again), 0: delay_cs */
    int loops;           /* 0: loop forever; n: play n + 1 times (NETSCAPE2.0's count) */
} ds_gif_params;

/* Defaults: scale 1, 10 cs per frame, the last frame as long, looping forever (size unset). */
void ds_gif_params_init(ds_gif_params *p);

/* Encodes n_frames frames (n_frames, height, width) of grey levels. *out is malloc'd (the
 * caller frees) with *n bytes. DS_OK, or DS_ERR naming the bad parameter. */
int ds_gif_encode(const ds_gif_params *p, const uint8_t *frames, int n_frames, uint8_t **out, size_t *n);

#endif
