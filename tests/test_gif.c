/* test_gif.c — the GIF encoder against an independent decoder (stb_image's GIF loader, from
 * Debian's libstb-dev): every frame decodes to exactly the grey levels given, scaled as asked,
 * with the delays asked; frames that exercise the LZW's code-width changes, its table reset,
 * long runs (the KwKwK case) and a 1 × 1 image; bad parameters are refused by name; and
 * `diffuscope sample --gif`: its last frame is the --png grid, its first the noise x_T. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "gif.h"
#include "rng.h"

#define STBI_ONLY_GIF
#define STBI_ONLY_PNG
#define STB_IMAGE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

/* Encodes, decodes with stb and compares every pixel (the decoder gives RGBA). */
static void round_trip(const char *what, const uint8_t *frames, int F, int w, int h, int scale, int delay, int last) {
    ds_gif_params p;
    ds_gif_params_init(&p);
    p.width = w, p.height = h, p.scale = scale, p.delay_cs = delay, p.last_delay_cs = last;
    uint8_t *gif = NULL;
    size_t n = 0;
    int rc = ds_gif_encode(&p, frames, F, &gif, &n);
    CHECK(rc == DS_OK, "%s: encode failed: %s", what, ds_last_error());
    if (rc) return;
    int *delays = NULL, W = 0, H = 0, frames_got = 0, comp = 0;
    uint8_t *rgba = stbi_load_gif_from_memory(gif, (int)n, &delays, &W, &H, &frames_got, &comp, 4);
    CHECK(rgba != NULL, "%s: stb could not decode the GIF (%zu bytes): %s", what, n, stbi_failure_reason());
    if (!rgba) { free(gif); return; }
    CHECK(W == w * scale && H == h * scale && frames_got == F, "%s: decoded %d x %d x %d frames, want %d x %d x %d",
          what, W, H, frames_got, w * scale, h * scale, F);
    long bad = 0, first_bad = -1;
    for (int f = 0; f < F && frames_got == F; f++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                long o = (((long)f * H + y) * W + x) * 4;
                uint8_t want = frames[((long)f * h + y / scale) * w + x / scale];
                if (rgba[o] != want || rgba[o + 1] != want || rgba[o + 2] != want || rgba[o + 3] != 255) {
                    if (first_bad < 0) first_bad = o / 4;
                    bad++;
                }
            }
    CHECK(bad == 0, "%s: %ld pixels differ (first at pixel %ld)", what, bad, first_bad);
    for (int f = 0; f < frames_got && f < F; f++) {
        int want = 10 * (f == F - 1 && last ? last : delay);
        CHECK(delays[f] == want, "%s: frame %d delay %d ms, want %d", what, f, delays[f], want);
    }
    printf("%s: %d frames %d x %d -> %zu bytes\n", what, F, W, H, n);
    stbi_image_free(rgba);
    stbi_image_free(delays);
    free(gif);
}

static void test_round_trips(void) {
    ds_rng rng;
    ds_rng_seed(&rng, 7);
    enum { S = 28, F = 21 };
    uint8_t *noise = malloc(F * S * S);
    for (int i = 0; i < F * S * S; i++) noise[i] = (uint8_t)(ds_rng_uniform(&rng) * 256);
    round_trip("noise 28x28 x 21", noise, F, S, S, 1, 8, 150);
    round_trip("noise 28x28 x 3, scale 3", noise, 3, S, S, 3, 5, 0);
    /* few levels, long repeats: the strings grow, the table fills and is reset many times */
    uint8_t *smooth = malloc(F * S * S);
    for (int i = 0; i < F * S * S; i++) smooth[i] = (uint8_t)((i / 7) % 5 * 60);
    round_trip("five levels in runs", smooth, F, S, S, 4, 3, 0);
    uint8_t flat[S * S];
    memset(flat, 200, sizeof flat);
    round_trip("one flat frame (KwKwK)", flat, 1, S, S, 16, 100, 0);
    uint8_t one = 37;
    round_trip("1 x 1", &one, 1, 1, 1, 1, 1, 0);
    uint8_t two[2] = {0, 255};
    round_trip("two frames of 1 x 1", two, 2, 1, 1, 1, 1, 2);
    const int big = 300; /* enough codes for several table resets in one frame */
    uint8_t *wide = malloc((size_t)big * big);
    for (int i = 0; i < big * big; i++) wide[i] = (uint8_t)(ds_rng_uniform(&rng) * 256);
    round_trip("noise 300x300", wide, 1, big, big, 1, 10, 0);
    /* every code width, one length at a time: the last code lands on each width change */
    for (int len = 250; len < 800; len += 37) round_trip("ramp", wide, 1, len, 1, 1, 10, 0);
    for (int len = 509; len < 516; len++) round_trip("ramp near 512 codes", wide, 1, len, 1, 1, 10, 0);
    free(noise), free(smooth), free(wide);
}

static void test_bad_input(void) {
    ds_gif_params p;
    ds_gif_params_init(&p);
    uint8_t px[4] = {0}, *out = NULL;
    size_t n = 0;
    p.width = 2, p.height = 2;
    CHECK(ds_gif_encode(&p, px, 0, &out, &n) == DS_ERR && strstr(ds_last_error(), "frame count"), "0 frames: %s", ds_last_error());
    p.scale = 17;
    CHECK(ds_gif_encode(&p, px, 1, &out, &n) == DS_ERR && strstr(ds_last_error(), "scale"), "scale 17: %s", ds_last_error());
    p.scale = 1, p.delay_cs = 0;
    CHECK(ds_gif_encode(&p, px, 1, &out, &n) == DS_ERR && strstr(ds_last_error(), "delay"), "delay 0: %s", ds_last_error());
    p.delay_cs = 10, p.width = 0;
    CHECK(ds_gif_encode(&p, px, 1, &out, &n) == DS_ERR && strstr(ds_last_error(), "width"), "width 0: %s", ds_last_error());
    p.width = 2;
    CHECK(ds_gif_encode(&p, NULL, 1, &out, &n) == DS_ERR, "null frames accepted");
    CHECK(ds_gif_encode(&p, px, 1, &out, &n) == DS_OK && out && n > 800, "2x2 frame: %s", ds_last_error());
    free(out);
}

/* the CLI's GIF beside its PNG grid, decoded by stb */
static void test_cli_gif(void) {
    const char *src = getenv("DS_SOURCE_DIR"), *bin = getenv("DS_BINARY_DIR");
    char dir[] = "/tmp/ds-gif-XXXXXX", cmd[4096], gif_path[512], png_path[512];
    if (!src || !bin || !mkdtemp(dir)) { CHECK(0, "DS_SOURCE_DIR / DS_BINARY_DIR unset or no temp folder"); return; }
    snprintf(gif_path, sizeof gif_path, "%s/run.gif", dir);
    snprintf(png_path, sizeof png_path, "%s/grid.png", dir);
    snprintf(cmd, sizeof cmd,
             "%s/diffuscope sample --analytic %s/web/data/fashion-sample.bin --class 3 --n 5 --steps 6 --seed 2 "
             "--gif %s --gif-scale 1 --gif-delay 120 --png %s --quiet > /dev/null",
             bin, src, gif_path, png_path);
    CHECK(system(cmd) == 0, "%s failed", cmd);
    int *delays = NULL, W = 0, H = 0, F = 0, comp = 0, pw = 0, ph = 0;
    size_t n_gif = 0, n_png = 0;
    FILE *f = fopen(gif_path, "rb");
    static uint8_t gif[1 << 20], png[1 << 20];
    if (f) n_gif = fread(gif, 1, sizeof gif, f), fclose(f);
    if ((f = fopen(png_path, "rb"))) n_png = fread(png, 1, sizeof png, f), fclose(f);
    uint8_t *frames = stbi_load_gif_from_memory(gif, (int)n_gif, &delays, &W, &H, &F, &comp, 1);
    uint8_t *grid = stbi_load_from_memory(png, (int)n_png, &pw, &ph, &comp, 1);
    CHECK(frames && grid, "cannot decode the CLI's GIF (%zu bytes) or PNG (%zu bytes)", n_gif, n_png);
    if (frames && grid) {
        CHECK(F == 7 && W == pw && H == ph, "GIF %d frames %d x %d, PNG %d x %d (want 7 frames of the PNG's size)", F, W, H, pw, ph);
        CHECK(F == 7 && !memcmp(frames + (long)(F - 1) * W * H, grid, (size_t)W * H), "the last GIF frame is not the PNG grid");
        CHECK(F == 7 && memcmp(frames, grid, (size_t)W * H), "the first GIF frame (x_T) equals the samples");
        CHECK(F == 7 && delays[0] == 120 && delays[F - 1] == 1500, "delays %d .. %d ms, want 120 and 1500", delays[0], delays[F - 1]);
    }
    stbi_image_free(frames), stbi_image_free(grid), stbi_image_free(delays);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleaning %s", dir);
}

int main(void) {
    test_round_trips();
    test_cli_gif();
    test_bad_input();
    return check_summary("test_gif");
}
