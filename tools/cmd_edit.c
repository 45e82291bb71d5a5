/* cmd_edit.c — `diffuscope edit`: SDEdit, inpainting and interpolation from the command line
 * (src/edit.h), the native twin of the page's <diffuscope-edit> and <diffuscope-blend>.
 *
 *   from an image: --image K picks a real test image from the sample file; --t0 T noises it
 *     to T and denoises from there (SDEdit), --mask HALF regenerates that half and keeps the
 *     rest exactly (inpainting, --resample R); both may be given.
 *   interpolation: --slerp A,B makes --n images whose x_T moves from seed A's to seed B's
 *     (u = i / (n − 1)); --class-to C2 moves the class embedding from --class to C2 with it.
 * Writes the run as raw bytes (--raw: uint8 x_t frames (F, n, 28, 28), then x̂_0 frames of
 * the same shape), a PNG row of the results and/or an animated GIF of x_t.
 * cmd_edit reads parse -> set up (model, image, sampler, the edit) -> run -> write.
 * Not here: the methods (src/edit.h), the plain sampler's command (cmd_sample.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "edit.h"
#include "error.h"
#include "gif.h"
#include "model.h"
#include "pngout.h"
#include "sampler.h"
#include "sampler_models.h"
#include "util.h"

static const char *USAGE =
    "usage: diffuscope edit --weights W.dsw (--image K [--t0 T] [--mask top|bottom|left|right [--resample R]]\n"
    "                                      | --slerp A,B [--n N] [--class-to C2])\n"
    "                       [--class C] [--sample FILE] [--sampler S] [--steps S] [--eta E] [--guidance G]\n"
    "                       [--clip X] [--seed K] [--raw FILE] [--png FILE] [--gif FILE]\n"
    "  --image K      start from / keep image K of the sample file (default web/data/fashion-sample.bin)\n"
    "  --t0 T         SDEdit: noise the image to t0 = T (0..1000) and denoise from there (default 1000:\n"
    "                 the image is forgotten, unless --mask keeps part of it)\n"
    "  --mask HALF    inpainting: regenerate that half, keep the other exactly; --resample R (1..10)\n"
    "  --slerp A,B    interpolation: --n N images (default 5) whose x_T moves from seed A's to seed B's\n"
    "  --class-to C2  with --slerp: the class embedding moves from --class to C2 as well\n"
    "  --class C      0..K-1 of the model's K classes, or none (default: the image's own class; none with --slerp)\n"
    "  --sampler, --steps, --eta, --guidance, --clip, --seed: as in `sample` (default ddim, 20, 0, 1, 1, 0)\n"
    "  --raw FILE     uint8 x_t frames (F, n, C, S, S), then the x0_hat frames (F, n, C, S, S)\n"
    "  --png FILE     the results in a row (RGB for an RGB model)\n"
    "  --gif FILE     the run of x_t, 80 ms per frame, scale 3 (greyscale models)\n";

/* ---- parse ---- */

typedef struct {
    const char *weights, *sample, *mask, *raw, *png, *gif;
    long image, t0, resample, cls, class_to, n, steps, seed, seed_a, seed_b;
    double eta, guidance, clip;
    int slerp;
    ds_sampler_kind kind;
} edit_opts;

static const struct option OPTIONS[] = {
    {"weights", required_argument, 0, 'w'}, {"sample", required_argument, 0, 'f'}, {"image", required_argument, 0, 'i'},
    {"t0", required_argument, 0, 't'}, {"mask", required_argument, 0, 'm'}, {"resample", required_argument, 0, 'r'},
    {"slerp", required_argument, 0, 'l'}, {"n", required_argument, 0, 'n'}, {"class-to", required_argument, 0, 'C'},
    {"class", required_argument, 0, 'c'}, {"sampler", required_argument, 0, 'k'}, {"steps", required_argument, 0, 's'},
    {"eta", required_argument, 0, 'e'}, {"guidance", required_argument, 0, 'g'}, {"clip", required_argument, 0, 'x'},
    {"seed", required_argument, 0, 'S'}, {"raw", required_argument, 0, 'R'}, {"png", required_argument, 0, 'p'},
    {"gif", required_argument, 0, 'G'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

static int parse_seeds(const char *arg, edit_opts *o) {
    const char *comma = strchr(arg, ',');
    char a[64];
    if (!comma || comma == arg || (size_t)(comma - arg) >= sizeof a)
        return cli_error(2, "--slerp expects two seeds A,B, got '%s'", arg);
    memcpy(a, arg, (size_t)(comma - arg));
    a[comma - arg] = 0;
    if (cli_parse_long("--slerp seed A", a, 0, 0x7fffffffffffffffL, &o->seed_a) ||
        cli_parse_long("--slerp seed B", comma + 1, 0, 0x7fffffffffffffffL, &o->seed_b))
        return 2;
    o->slerp = 1;
    return 0;
}

static int parse_flag(void *opts, int c, const char *arg) {
    edit_opts *o = opts;
    switch (c) {
    case 'w': o->weights = arg; break;
    case 'f': o->sample = arg; break;
    case 'i': if (cli_parse_long("--image", arg, 0, 1 << 20, &o->image)) return 2; break;
    case 't': if (cli_parse_long("--t0", arg, 0, DS_MAX_T, &o->t0)) return 2; break;
    case 'm':
        if (strcmp(arg, "top") && strcmp(arg, "bottom") && strcmp(arg, "left") && strcmp(arg, "right"))
            return cli_error(2, "--mask expects top, bottom, left or right, got '%s'", arg);
        o->mask = arg;
        break;
    case 'r': if (cli_parse_long("--resample", arg, 1, DS_INPAINT_MAX_RESAMPLE, &o->resample)) return 2; break;
    case 'l': return parse_seeds(arg, o);
    case 'n': if (cli_parse_long("--n", arg, 2, 256, &o->n)) return 2; break;
    case 'C': if (cli_parse_long("--class-to", arg, 0, DS_NO_CLASS - 1, &o->class_to)) return 2; break;
    case 'c':
        if (!strcmp(arg, "none")) o->cls = DS_NO_CLASS;
        else if (cli_parse_long("--class", arg, 0, DS_NO_CLASS, &o->cls)) return 2;
        break;
    case 'k': if (ds_sampler_kind_parse(arg, &o->kind)) return cli_error(2, "--sampler: %s", ds_last_error()); break;
    case 's': if (cli_parse_long("--steps", arg, 1, DS_MAX_T, &o->steps)) return 2; break;
    case 'e': if (cli_parse_double("--eta", arg, &o->eta)) return 2; break;
    case 'g': if (cli_parse_double("--guidance", arg, &o->guidance)) return 2; break;
    case 'x': if (cli_parse_double("--clip", arg, &o->clip)) return 2; break;
    case 'S': if (cli_parse_long("--seed", arg, 0, 0x7fffffffffffffffL, &o->seed)) return 2; break;
    case 'R': o->raw = arg; break;
    case 'p': o->png = arg; break;
    case 'G': o->gif = arg; break;
    default: fputs(USAGE, stderr); return 2;
    }
    return 0;
}

/* 0 to run, -1 after --help, else the exit status after printing an error */
static int parse_args(int argc, char **argv, edit_opts *o) {
    *o = (edit_opts){.sample = "web/data/fashion-sample.bin", .image = -1, .t0 = -1, .resample = 1, .cls = -1,
                     .class_to = -1, .n = 5, .steps = 20, .guidance = 1, .clip = 1, .kind = DS_SAMPLER_DDIM};
    int rc = cli_parse_options(argc, argv, "edit", "h", OPTIONS, USAGE, parse_flag, o);
    if (rc) return rc;
    if (!o->weights) return cli_error(2, "edit: --weights is required");
    if ((o->image >= 0) == o->slerp) return cli_error(2, "edit: give exactly one of --image K or --slerp A,B");
    if (o->slerp && (o->t0 >= 0 || o->mask)) return cli_error(2, "edit: --t0 and --mask edit an --image, not a --slerp");
    if (!o->slerp && o->class_to >= 0) return cli_error(2, "edit: --class-to goes with --slerp");
    if (o->class_to >= 0 && (o->cls < 0 || o->cls == DS_NO_CLASS))
        return cli_error(2, "edit: --class-to needs a --class 0..9 to start from");
    if (o->eta < 0 || o->eta > 1) return cli_error(2, "--eta must be between 0 and 1, got %g", o->eta);
    if (o->clip < 0) return cli_error(2, "--clip must be >= 0, got %g", o->clip);
    if (!o->raw && !o->png && !o->gif) return cli_error(2, "edit: nothing to write (give --raw, --png and/or --gif)");
    return 0;
}

/* ---- set up ---- */

typedef struct {
    ds_model *model;
    ds_schedule sched;
    uint8_t *file;           /* the sample file */
    ds_sampler *sampler;
    ds_inpaint *inpaint;
    ds_class_blend *blend;
    int B, D, F, side, C;           /* images, floats per image, frames, image side, channels */
    float *x_frames, *x0_frames; /* (F, B, D) */
} edit_run;

static void run_free(edit_run *r) {
    ds_inpaint_free(r->inpaint);
    ds_class_blend_free(r->blend);
    ds_sampler_free(r->sampler);
    ds_model_free(r->model);
    free(r->file), free(r->x_frames), free(r->x0_frames);
}

/* the picked test image as x (D) and its label */
static int load_image(const edit_opts *o, edit_run *r, float *x, int *label) {
    long n = 0;
    ds_fashion_sample fs;
    if (!(r->file = util_read_file(o->sample, UTIL_MAX_WEIGHTS, &n))) return cli_error(1, "%s", ds_last_error());
    if (ds_fashion_sample_parse(r->file, n, &fs)) return cli_error(1, "%s: %s", o->sample, ds_last_error());
    if (fs.rows * fs.cols != r->D) return cli_error(1, "%s: images of %d x %d, the model takes %d values", o->sample, fs.rows, fs.cols, r->D);
    if (o->image >= fs.count) return cli_error(2, "--image %ld: %s has images 0..%d", o->image, o->sample, fs.count - 1);
    ds_pixels_to_x(fs.pixels + o->image * r->D, r->D, x);
    *label = fs.labels[o->image];
    return 0;
}

/* the half --mask names is regenerated (1), the rest kept (0), in every channel: mask (C, side, side) */
static void half_mask(const char *half, int side, int C, uint8_t *mask) {
    for (int c = 0; c < C; c++)
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++)
                mask[(c * side + y) * side + x] = !strcmp(half, "top") ? y < side / 2 : !strcmp(half, "bottom") ? y >= side / 2
                                                  : !strcmp(half, "left") ? x < side / 2 : x >= side / 2;
}

static int set_up_image_edit(const edit_opts *o, edit_run *r) {
    float *x = malloc(sizeof(float) * r->D);
    uint8_t *mask = malloc((size_t)r->D);
    int label = 0, rc = !x || !mask ? cli_error(1, "out of memory") : load_image(o, r, x, &label);
    if (!rc) {
        const int cls = o->cls >= 0 ? (int)o->cls : label;
        ds_sampler_params p;
        ds_sampler_params_init(&p);
        p.kind = o->kind, p.steps = (int)o->steps, p.eta = o->eta, p.guidance = o->guidance, p.clip = o->clip;
        p.seed = (uint64_t)o->seed;
        if (!(r->sampler = ds_sampler_create(&r->sched, r->D, ds_model_eps, r->model, &p, &cls)) ||
            (o->t0 >= 0 && ds_edit_sdedit(r->sampler, (int)o->t0, x)))
            rc = cli_error(2, "%s", ds_last_error());
    }
    if (!rc && o->mask) {
        half_mask(o->mask, r->side, r->C, mask);
        if (!(r->inpaint = ds_inpaint_create(r->sampler, x, mask, (int)o->resample, (uint64_t)o->seed + 1)))
            rc = cli_error(2, "%s", ds_last_error());
    }
    free(x), free(mask);
    return rc;
}

/* n images on the way from seed A to seed B (and from --class to --class-to) */
static int set_up_slerp(const edit_opts *o, edit_run *r) {
    const int B = r->B;
    double *u = malloc(sizeof(double) * B);
    float *w = malloc(sizeof(float) * B), *x = malloc(sizeof(float) * B * r->D);
    int *cls = malloc(sizeof(int) * B), *cls_to = malloc(sizeof(int) * B), rc = 0;
    if (!u || !w || !x || !cls || !cls_to) rc = cli_error(1, "out of memory");
    for (int b = 0; !rc && b < B; b++) {
        u[b] = (double)b / (B - 1);
        w[b] = (float)u[b];
        cls[b] = o->cls >= 0 ? (int)o->cls : DS_NO_CLASS;
        cls_to[b] = (int)o->class_to;
    }
    ds_sampler_params p;
    ds_sampler_params_init(&p);
    p.kind = o->kind, p.steps = (int)o->steps, p.eta = o->eta, p.guidance = o->guidance, p.clip = o->clip, p.batch = B;
    p.seed = (uint64_t)o->seed_a; /* the injected noise (η > 0, DDPM) follows seed A's streams */
    if (!rc && o->class_to >= 0 && !(r->blend = ds_class_blend_create(r->model, cls_to, w, B))) rc = cli_error(2, "%s", ds_last_error());
    ds_eps_fn fn = r->blend ? ds_class_blend_eps : ds_model_eps;
    void *ctx = r->blend ? (void *)r->blend : (void *)r->model;
    if (!rc && (!(r->sampler = ds_sampler_create(&r->sched, r->D, fn, ctx, &p, cls)) ||
                ds_edit_slerp_noise((uint64_t)o->seed_a, (uint64_t)o->seed_b, u, B, r->D, x) ||
                ds_sampler_set_x(r->sampler, x)))
        rc = cli_error(2, "%s", ds_last_error());
    free(u), free(w), free(x), free(cls), free(cls_to);
    return rc;
}

static int set_up(const edit_opts *o, edit_run *r) {
    if (!(r->model = cli_load_model(o->weights))) return cli_error(1, "%s", ds_last_error());
    if (ds_model_get_kind(r->model) != DS_MODEL_UNET)
        return cli_error(1, "%s holds a %s, not a Fashion UNet", o->weights, ds_model_kind_name(ds_model_get_kind(r->model)));
    int rc = cli_model_schedule(r->model, o->weights, NULL, &r->sched);
    if (rc) return rc;
    r->D = ds_model_item_floats(r->model);
    r->side = ds_model_image_size(r->model), r->C = ds_model_channels(r->model);
    if (o->gif && r->C != 1) return cli_error(2, "edit: --gif is for greyscale models; %s is RGB (write --png or --raw)", o->weights);
    r->B = o->slerp ? (int)o->n : 1;
    rc = o->slerp ? set_up_slerp(o, r) : set_up_image_edit(o, r);
    if (rc) return rc;
    r->F = ds_sampler_frames_left(r->sampler);
    r->x_frames = malloc(sizeof(float) * r->F * r->B * r->D);
    r->x0_frames = malloc(sizeof(float) * r->F * r->B * r->D);
    return r->x_frames && r->x0_frames ? 0 : cli_error(1, "out of memory for %d frames", r->F);
}

/* ---- run, write ---- */

static int run_edit(edit_run *r) {
    double t0 = util_now_s();
    if (ds_edit_run(r->sampler, r->inpaint, r->x_frames, r->x0_frames, NULL, NULL) < 0) return cli_error(1, "%s", ds_last_error());
    printf("edited %d image%s in %d steps, %.3f s\n", r->B, r->B > 1 ? "s" : "", r->F - 1, util_now_s() - t0);
    return 0;
}

/* frames (F, B, D) of x as pixels, each frame the B images in a row with 2 px gaps, channels
 * interleaved as PNG has them: (F, side, W, C) */
static uint8_t *row_frames(const edit_run *r, const float *frames, int F, int *W) {
    const int side = r->side, w = r->B * (side + 2) - 2, C = r->C;
    uint8_t *out = malloc((size_t)F * side * w * C), *tile = malloc((size_t)r->D);
    if (!out || !tile) { free(out), free(tile); return NULL; }
    memset(out, 60, (size_t)F * side * w * C);
    for (int f = 0; f < F; f++)
        for (int b = 0; b < r->B; b++) {
            ds_x_to_pixels(frames + ((long)f * r->B + b) * r->D, r->D, tile);
            for (int c = 0; c < C; c++)
                for (int y = 0; y < side; y++)
                    for (int x = 0; x < side; x++)
                        out[(((long)f * side + y) * w + b * (side + 2) + x) * C + c] = tile[(c * side + y) * side + x];
        }
    free(tile);
    *W = w;
    return out;
}

static int write_outputs(const edit_opts *o, const edit_run *r) {
    const long item = (long)r->F * r->B * r->D;
    int rc = 0, W = 0;
    if (o->raw) {
        uint8_t *raw = malloc((size_t)2 * item);
        if (!raw) return cli_error(1, "out of memory");
        ds_x_to_pixels(r->x_frames, item, raw);
        ds_x_to_pixels(r->x0_frames, item, raw + item);
        if (util_write_atomic(o->raw, raw, 2 * item)) rc = cli_error(1, "%s", ds_last_error());
        free(raw);
    }
    uint8_t *rows = rc || (!o->png && !o->gif) ? NULL : row_frames(r, r->x_frames, r->F, &W);
    if (!rc && (o->png || o->gif) && !rows) rc = cli_error(1, "out of memory");
    if (!rc && o->png && png_write_atomic(o->png, W, r->side, r->C, rows + (size_t)(r->F - 1) * r->side * W * r->C)) rc = 1;
    if (!rc && o->gif) {
        ds_gif_params p;
        ds_gif_params_init(&p);
        p.width = W, p.height = r->side, p.scale = 3, p.delay_cs = 8, p.last_delay_cs = 150;
        uint8_t *gif = NULL;
        size_t n = 0;
        if (ds_gif_encode(&p, rows, r->F, &gif, &n)) rc = cli_error(1, "--gif: %s", ds_last_error());
        else if (util_write_atomic(o->gif, gif, (long)n)) rc = cli_error(1, "%s", ds_last_error());
        free(gif);
    }
    free(rows);
    return rc;
}

int cmd_edit(int argc, char **argv) {
    edit_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    edit_run r;
    memset(&r, 0, sizeof r);
    if (!(rc = set_up(&o, &r)) && !(rc = run_edit(&r))) rc = write_outputs(&o, &r);
    run_free(&r);
    return rc;
}
