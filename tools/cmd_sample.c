/* cmd_sample.c — `diffuscope sample`: draw Fashion images with DDPM, DDIM or DPM-Solver++(2M)
 * from trained weights or from the exact mixture over the shipped test images, and write a
 * PNG grid, a filmstrip of every step, an animated GIF of the run, and/or an .npy array (+ labels).
 *
 * Images are sampled in chunks of --batch, the chunks spread over --threads threads (each with
 * its own model copy: a forward is not reentrant); each image draws its noise from its own
 * stream (seed, image index), so the output depends neither on the chunk size nor on the
 * thread count.
 * cmd_sample reads parse -> set up (the denoiser, the buffers) -> loop over chunks -> write.
 * `diffuscope sample --points ...` is `points sample` (tools/diffuscope.c routes it).
 * Not here: the samplers (src/sampler.h), PNG encoding (pngout.h), GIF encoding (src/gif.h). */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "error.h"
#include "gif.h"
#include "input_kinds.h"
#include "gmm_denoiser.h"
#include "model.h"
#include "chunked_sampler.h"
#include "pngout.h"
#include "sampler.h"
#include "sampler_models.h"
#include "util.h"

static const char *USAGE =
    "usage: diffuscope sample (--weights W.dsw | --analytic SAMPLE.bin [--analytic-var V])\n"
    "                         [--class C | --classes all] [--n N] [--sampler ddpm|ddim|dpmpp2m] [--steps S]\n"
    "                         [--eta E] [--guidance G] [--clip X] [--schedule linear|cosine] [--batch B]\n"
    "                         [--seed K] [--png FILE] [--frames FILE] [--gif FILE [--gif-delay MS] [--gif-scale K]]\n"
    "                         [--npy FILE.npy] [--quiet]\n"
    "       diffuscope sample --points SHAPE ...   (the 2-D point MLP: see diffuscope points sample --help)\n"
    "  --weights      a trained UNet (.dsw): Fashion-MNIST's, or one of `train --images` (RGB: RGB PNGs)\n"
    "  --analytic     instead of a network, the exact denoiser of a mixture of point masses (or\n"
    "                 Gaussians of variance V, default 0) at the images of a sample file\n"
    "                 (web/data/fashion-sample.bin): the perfect memoriser, no training needed\n"
    "  --class C      class 0..K-1 of the model's K for every image, or 10 / none for unconditional\n"
    "                 (default none)\n"
    "  --classes all  N/K images of each class, in class order (N a multiple of K; K = 10 for Fashion)\n"
    "  --n N          number of images (default 16)     --sampler (default ddim)  --steps (default 20)\n"
    "  --eta E        DDIM noise, 0..1 (default 0; ddim only)  --guidance G  classifier-free scale (default 1)\n"
    "  --clip X       clip x0_hat to [-X, X], 0 = off (default 1: the data range)\n"
    "  --guidance-interval LO:HI  guide only the steps at timesteps LO..HI (default: every step)\n"
    "  --spacing P    steps at t = 1 + (T-1) u^P, u even from 1 to 0: 1 even, 2 quadratic (denser at\n"
    "                 low noise); 1..4, or 0 (default): the sampler's own (even; dpmpp2m: uniform in λ)\n"
    "  --batch B      images per model call (default 16)   --seed K  (default 0)\n"
    "  --threads K    chunks of B images sampled on K threads (default: every core; 1 with --frames\n"
    "                 or --analytic); the images are the same for any K\n"
    "  --schedule     the noise schedule of --analytic (default linear); a weights file records\n"
    "                 its own, and a --schedule that contradicts it is refused\n"
    "  --png FILE     a grid of the samples (one row per class with --classes all)\n"
    "  --frames FILE  a filmstrip: one row per step, x_t and x0_hat side by side for each image\n"
    "  --gif FILE     an animated GIF of the run: the grid of x_t, from the noise x_T to the samples\n"
    "                 (the last frame held 1.5 s); --gif-delay MS per frame (10..10000, default 80,\n"
    "                 in steps of 10 ms), --gif-scale K pixels per pixel (1..16, default 2)\n"
    "  --npy FILE.npy uint8 (N, S, S), (N, 3, S, S) for RGB; class labels (uint8, 10 = none) go to\n"
    "                 FILE_labels.npy\n"
    "  --gif          greyscale models only (an RGB model: --png or --frames)\n";

/* An .npy (version 1.0) of uint8 with the given shape; header padded to a multiple of 64. */
static int write_npy_u8(const char *path, const uint8_t *data, const long *shape, int ndim) {
    char dict[256];
    int len = snprintf(dict, sizeof dict, "{'descr': '|u1', 'fortran_order': False, 'shape': (");
    long total = 1;
    for (int i = 0; i < ndim; i++) {
        len += snprintf(dict + len, sizeof dict - len, "%s%ld%s", i ? ", " : "", shape[i], ndim == 1 ? "," : "");
        total *= shape[i];
    }
    len += snprintf(dict + len, sizeof dict - len, "), }");
    int header = 10 + len + 1, padded = (header + 63) / 64 * 64;
    uint8_t *buf = malloc(padded + total);
    if (!buf) return cli_error(1, "out of memory writing %s", path);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)((padded - 10) & 0xff);
    buf[9] = (uint8_t)((padded - 10) >> 8);
    memcpy(buf + 10, dict, len);
    memset(buf + 10 + len, ' ', padded - 10 - len - 1);
    buf[padded - 1] = '\n';
    memcpy(buf + padded, data, total);
    int rc = util_write_atomic(path, buf, padded + total) ? cli_error(1, "%s", ds_last_error()) : 0;
    free(buf);
    return rc;
}

/* FILE.npy's labels go to FILE_labels.npy */
static void npy_labels_path(const char *npy, char *out, size_t cap) {
    snprintf(out, cap, "%.*s_labels.npy", (int)(strlen(npy) - 4), npy);
}

/* Copies a tile (C, side, side), planar as the model's images, into an image (.., W, C) with
 * its channels interleaved (what PNG wants) at (x0, y0). */
static void put_tile(uint8_t *img, int W, int x0, int y0, const uint8_t *tile, int side, int C) {
    for (int y = 0; y < side; y++) {
        uint8_t *row = img + ((long)(y0 + y) * W + x0) * C;
        if (C == 1) memcpy(row, tile + (long)y * side, side);
        else
            for (int x = 0; x < side; x++)
                for (int c = 0; c < C; c++) row[x * C + c] = tile[((long)c * side + y) * side + x];
    }
}

/* ---- parse ---- */

typedef struct {
    const char *weights, *analytic, *png, *frames, *gif, *npy;
    double analytic_var, eta, guidance, clip, spacing;
    int guide_lo, guide_hi; /* --guidance-interval */
    long cls_one, n, steps, batch, seed, threads; /* threads 0: every core */
    long gif_delay_ms, gif_scale;
    int all_classes, quiet, schedule_given, eta_given, class_given;
    ds_sampler_kind kind;
    ds_schedule_kind schedule_kind; /* for --analytic; a model's file names its own */
} sample_opts;

static const struct option OPTIONS[] = {
    {"weights", required_argument, 0, 'w'}, {"analytic", required_argument, 0, 'a'},
    {"analytic-var", required_argument, 0, 'V'}, {"class", required_argument, 0, 'c'},
    {"classes", required_argument, 0, 'C'}, {"n", required_argument, 0, 'n'},
    {"sampler", required_argument, 0, 'k'}, {"steps", required_argument, 0, 's'},
    {"eta", required_argument, 0, 'e'}, {"guidance", required_argument, 0, 'g'},
    {"clip", required_argument, 0, 'x'}, {"schedule", required_argument, 0, 'S'},
    {"batch", required_argument, 0, 'b'}, {"seed", required_argument, 0, 'r'},
    {"png", required_argument, 0, 'p'}, {"frames", required_argument, 0, 'f'},
    {"gif", required_argument, 0, 'G'}, {"gif-delay", required_argument, 0, 'D'},
    {"gif-scale", required_argument, 0, 'z'}, {"npy", required_argument, 0, 'y'}, {"quiet", no_argument, 0, 'q'}, {"threads", required_argument, 0, 'T'},
    {"guidance-interval", required_argument, 0, 'I'}, {"spacing", required_argument, 0, 'P'},
    {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

/* one flag; 0, or the exit status after printing an error */
static int parse_flag(void *opts, int c, const char *arg) {
    sample_opts *o = opts;
    switch (c) {
    case 'w': o->weights = arg; break;
    case 'a': o->analytic = arg; break;
    case 'V': if (cli_parse_double_in("--analytic-var", arg, 0, 100, &o->analytic_var)) return 2; break;
    case 'c':
        o->class_given = 1;
        if (!strcmp(arg, "none")) o->cls_one = DS_NO_CLASS;
        else if (cli_parse_long("--class", arg, 0, DS_NO_CLASS, &o->cls_one)) return 2;
        break;
    case 'C':
        if (strcmp(arg, "all")) return cli_error(2, "--classes expects 'all', got '%s'", arg);
        o->all_classes = 1;
        break;
    case 'n': if (cli_parse_long("--n", arg, 1, 100000, &o->n)) return 2; break;
    case 'k': if (ds_sampler_kind_parse(arg, &o->kind)) return cli_error(2, "--sampler: %s", ds_last_error()); break;
    case 's': if (cli_parse_long("--steps", arg, 1, DS_MAX_T, &o->steps)) return 2; break;
    case 'e': if (cli_parse_double_in("--eta", arg, 0, 1, &o->eta)) return 2; o->eta_given = 1; break;
    case 'g': if (cli_parse_double_in("--guidance", arg, -100, 100, &o->guidance)) return 2; break;
    case 'x': if (cli_parse_double_in("--clip", arg, 0, 1e6, &o->clip)) return 2; break;
    case 'I': if (cli_parse_interval("--guidance-interval", arg, &o->guide_lo, &o->guide_hi)) return 2; break;
    case 'P': if (cli_parse_spacing(arg, &o->spacing)) return 2; break;
    case 'S':
        if (ds_schedule_kind_parse(arg, &o->schedule_kind)) return cli_error(2, "--schedule: %s", ds_last_error());
        o->schedule_given = 1;
        break;
    case 'b': if (cli_parse_long("--batch", arg, 1, 1024, &o->batch)) return 2; break;
    case 'r': if (cli_parse_long("--seed", arg, 0, 0x7fffffffffffffffL, &o->seed)) return 2; break;
    case 'p': o->png = arg; break;
    case 'f': o->frames = arg; break;
    case 'G': o->gif = arg; break;
    case 'D': if (cli_parse_long("--gif-delay", arg, 10, 10000, &o->gif_delay_ms)) return 2; break;
    case 'z': if (cli_parse_long("--gif-scale", arg, 1, DS_GIF_MAX_SCALE, &o->gif_scale)) return 2; break;
    case 'y': o->npy = arg; break;
    case 'q': o->quiet = 1; break;
    case 'T': if (cli_parse_long("--threads", arg, 1, 64, &o->threads)) return 2; break;
    default: fputs(USAGE, stderr); return 2;
    }
    return 0;
}

/* 0 to sample, -1 after --help, else the exit status after printing an error */
static int parse_args(int argc, char **argv, sample_opts *o) {
    *o = (sample_opts){.guidance = 1, .guide_hi = DS_GUIDANCE_T_ALL, .clip = 1, .cls_one = DS_NO_CLASS, .n = 16, .steps = 20, .batch = 16,
                       .kind = DS_SAMPLER_DDIM, .schedule_kind = DS_SCHEDULE_LINEAR,
                       .gif_delay_ms = 80, .gif_scale = 2};
    int rc = cli_parse_options(argc, argv, "sample", "h", OPTIONS, USAGE, parse_flag, o);
    if (rc) return rc;
    if (!o->weights == !o->analytic) return cli_error(2, "sample: give exactly one of --weights or --analytic");
    if (o->all_classes && o->class_given) return cli_error(2, "sample: --class and --classes all contradict each other: give one");
    if (o->eta_given && cli_check_eta_sampler(o->kind)) return 2;
    if (o->analytic_var && !o->analytic) return cli_error(2, "sample: --analytic-var is for --analytic (a weights file has no variance)");
    if (!o->png && !o->frames && !o->gif && !o->npy)
        return cli_error(2, "sample: nothing to write (give --png, --frames, --gif and/or --npy)");
    size_t npy_len = o->npy ? strlen(o->npy) : 0;
    if (o->npy && (npy_len < 5 || strcmp(o->npy + npy_len - 4, ".npy")))
        return cli_error(2, "--npy FILE must end in .npy (labels go to FILE minus .npy plus _labels.npy)");
    if (o->frames && (double)o->n * o->steps * 2 * 784 > 512e6)
        return cli_error(2, "--frames for %ld images x %ld steps would exceed 512 MB; sample fewer", o->n, o->steps);
    if (o->gif && (double)o->n * (o->steps + 1) * 900 * o->gif_scale * o->gif_scale > 512e6)
        return cli_error(2, "--gif for %ld images x %ld steps at scale %ld would exceed 512 MB; sample fewer", o->n,
                         o->steps, o->gif_scale);
    return 0;
}

/* ---- set up ---- */

/* everything a run holds, released by run_free whatever path leads there */
typedef struct {
    ds_schedule sched;
    ds_model **models;              /* (workers) one copy per thread: a forward is not reentrant */
    int workers;                    /* threads sampling chunks */
    ds_gmm *gmm;
    uint8_t *file;                  /* the --analytic sample file */
    ds_eps_fn fn;
    void *ctx;                      /* the mixture (--analytic); a model run uses models[worker] */
    int D, side, C, B;              /* floats per image (C x side x side), images per chunk */
    int n_classes;                  /* the model's (10 for --analytic) */
    uint8_t *images, *labels;       /* (n, D) the results as pixels, (n) */
    int *cls;                       /* (n) each image's class */
    double *t_steps_w;              /* (workers) seconds inside ds_sampler_step */
    uint8_t *prev_x, *tile;         /* (B, D) pixels of x_t before a step, of x0_hat after it */
    uint8_t *strip;                 /* (steps, row_h, strip_w) the filmstrip, or NULL */
    int pair_w, strip_w, row_h;
    int grid_cols, grid_w, grid_h;  /* the grid of images (--png, --gif) */
    uint8_t *gif_frames;            /* (steps + 1, grid_h, grid_w) the grid of x_t before and after each step */
    uint8_t *gif_tile;              /* (workers, B, D) pixels of one chunk's x_t */
    double t_steps, total;          /* seconds inside ds_sampler_step, in all */
    long chunks;
} sample_run;

static void run_free(sample_run *r) {
    for (int w = 0; r->models && w < r->workers; w++) ds_model_free(r->models[w]);
    free(r->models), free(r->t_steps_w);
    ds_gmm_free(r->gmm);
    free(r->file), free(r->images), free(r->strip), free(r->labels), free(r->cls), free(r->prev_x), free(r->tile);
    free(r->gif_frames), free(r->gif_tile);
}

/* the denoiser: a trained UNet, or the exact mixture over a sample file's images */
static int load_denoiser(const sample_opts *o, sample_run *r) {
    if (o->weights) {
        long cores = o->threads ? o->threads : sysconf(_SC_NPROCESSORS_ONLN);
        r->workers = o->frames || cores < 1 ? 1 : cores > 64 ? 64 : (int)cores;
        if (!(r->models = calloc((size_t)r->workers, sizeof *r->models))) return cli_error(1, "out of memory");
        for (int w = 0; w < r->workers; w++)
            if (!(r->models[w] = cli_load_model(o->weights))) return cli_error(1, "%s", ds_last_error());
        const ds_model *m = r->models[0];
        if (ds_model_get_kind(m) != DS_MODEL_UNET)
            return cli_error(1, "%s holds a %s, not a Fashion UNet", o->weights, ds_model_kind_name(ds_model_get_kind(m)));
        int rc = cli_model_schedule(m, o->weights, o->schedule_given ? &o->schedule_kind : NULL, &r->sched);
        if (rc) return rc;
        r->D = ds_model_item_floats(m);
        r->side = ds_model_image_size(m), r->C = ds_model_channels(m);
        r->n_classes = ds_model_unet(r->models[0])->config.n_classes;
        if (o->gif && r->C != 1) return cli_error(2, "sample: --gif is for greyscale models; %s is RGB (write --png or --frames)", o->weights);
        r->fn = ds_model_eps;
        return 0;
    }
    r->workers = 1; /* the mixture keeps scratch of its own: one thread */
    ds_fashion_sample fs;
    long file_n = 0;
    if (!(r->file = util_read_kind(o->analytic, &INPUT_FASHION_SAMPLE, &file_n))) return cli_error(1, "%s", ds_last_error());
    if (ds_fashion_sample_parse(r->file, file_n, &fs)) return cli_error(1, "%s: %s", o->analytic, ds_last_error());
    r->D = fs.rows * fs.cols;
    r->side = fs.rows, r->C = 1, r->n_classes = DS_NO_CLASS;
    if (!(r->gmm = ds_gmm_from_images(&r->sched, fs.pixels, fs.labels, fs.count, r->D, o->analytic_var)))
        return cli_error(1, "%s", ds_last_error());
    r->fn = ds_gmm_eps;
    r->ctx = r->gmm;
    return 0;
}

/* grid of n images, a 2 px frame and gaps: one row per class with --classes all */
static void grid_geometry(const sample_opts *o, sample_run *r) {
    r->grid_cols = o->all_classes ? (int)(o->n / r->n_classes) : (int)ceil(sqrt((double)o->n));
    int rows = (int)((o->n + r->grid_cols - 1) / r->grid_cols);
    r->grid_w = r->grid_cols * (r->side + 2) + 2, r->grid_h = rows * (r->side + 2) + 2;
}

/* the GIF's frames, one grid per step (+ x_T) */
static int set_up_gif(const sample_opts *o, sample_run *r) {
    const size_t frame = (size_t)r->grid_w * r->grid_h;
    r->gif_frames = malloc(frame * (o->steps + 1));
    r->gif_tile = malloc((size_t)r->workers * r->B * r->D);
    if (!r->gif_frames || !r->gif_tile) return cli_error(1, "out of memory for the GIF's %ld frames", o->steps + 1);
    memset(r->gif_frames, 60, frame * (o->steps + 1));
    return 0;
}

static int set_up(const sample_opts *o, sample_run *r) {
    if (ds_schedule_init(&r->sched, o->schedule_kind, DS_MAX_T)) return cli_error(1, "%s", ds_last_error());
    int rc = load_denoiser(o, r);
    if (rc) return rc;
    const int D = r->D;
    if (r->C * r->side * r->side != D) return cli_error(1, "sample: items of %d floats are not square images", D);
    if (o->all_classes && o->n % r->n_classes)
        return cli_error(2, "sample: --classes all needs --n a multiple of the model's %d classes (got %ld)", r->n_classes, o->n);
    if (o->cls_one != DS_NO_CLASS && o->cls_one >= r->n_classes)
        return cli_error(2, "sample: --class %ld, but the model has classes 0..%d (or none)", o->cls_one, r->n_classes - 1);
    r->B = (int)(o->batch < o->n ? o->batch : o->n);
    r->images = malloc(o->n * D);
    r->labels = malloc(o->n);
    r->cls = malloc(sizeof(int) * o->n);
    r->t_steps_w = calloc((size_t)r->workers, sizeof(double));
    r->prev_x = malloc((size_t)r->B * D);
    r->tile = malloc((size_t)r->B * D);
    /* filmstrip: one row per step; per image a pair (x_t | x0_hat) with a 2 px gap, 6 px between pairs */
    r->pair_w = 2 * r->side + 2, r->strip_w = (int)(o->n * (r->pair_w + 6) - 6), r->row_h = r->side + 2;
    if (o->frames) r->strip = malloc((size_t)r->strip_w * r->row_h * o->steps * r->C);
    if (!r->images || !r->labels || !r->cls || !r->t_steps_w || !r->prev_x || !r->tile || (o->frames && !r->strip)) return cli_error(1, "out of memory");
    if (r->strip) memset(r->strip, 60, (size_t)r->strip_w * r->row_h * o->steps * r->C);
    for (long i = 0; i < o->n; i++) r->labels[i] = (uint8_t)(o->all_classes ? i / (o->n / r->n_classes) : o->cls_one);
    grid_geometry(o, r);
    return o->gif ? set_up_gif(o, r) : 0;
}

/* ---- loop ---- */

/* after step k of the chunk starting at image first: its row of the filmstrip */
static void add_frame(sample_run *r, const ds_sampler *s, long first, int b_now, int k) {
    ds_x_to_pixels(ds_sampler_x0(s), (long)b_now * r->D, r->tile);
    for (int b = 0; b < b_now; b++) {
        int x0 = (int)((first + b) * (r->pair_w + 6)), y0 = k * r->row_h + 1;
        put_tile(r->strip, r->strip_w, x0, y0, r->prev_x + (long)b * r->D, r->side, r->C);
        put_tile(r->strip, r->strip_w, x0 + r->side + 2, y0, r->tile + (long)b * r->D, r->side, r->C);
    }
}

/* frame f of the GIF: this chunk's x_t in its places of the grid (chunks write apart) */
static void add_gif_frame(sample_run *r, int worker, const ds_sampler *s, long first, int count, int f) {
    uint8_t *tile = r->gif_tile + (size_t)worker * r->B * r->D;
    uint8_t *grid = r->gif_frames + (size_t)f * r->grid_w * r->grid_h;
    ds_x_to_pixels(ds_sampler_x(s), (long)count * r->D, tile);
    for (int b = 0; b < count; b++) {
        long i = first + b;
        put_tile(grid, r->grid_w, 2 + (int)(i % r->grid_cols) * (r->side + 2), 2 + (int)(i / r->grid_cols) * (r->side + 2),
                 tile + (long)b * r->D, r->side, 1);
    }
}

typedef struct {
    const sample_opts *o;
    sample_run *r;
} sample_job;

/* after the sampler is made (step -1) and after each step: the filmstrip row (x_t before the
 * step beside x̂_0 after it) and the progress line */
static int chunk_step(void *user, int worker, long first, int count, int step, const ds_sampler *s) {
    sample_job *j = user;
    sample_run *r = j->r;
    if (r->strip && step >= 0) add_frame(r, s, first, count, step);
    if (r->gif_frames) add_gif_frame(r, worker, s, first, count, step + 1);
    if (r->strip) ds_x_to_pixels(ds_sampler_x(s), (long)count * r->D, r->prev_x); /* x before the next step */
    if (!j->o->quiet && worker == 0 && step >= 0) {
        ds_sampler_info info;
        ds_sampler_get_info(s, &info);
        fprintf(stderr, "\rsample: images %ld-%ld of %ld, step %d/%ld (t = %d)   ", first + 1, first + count, j->o->n,
                step + 1, j->o->steps, info.t);
    }
    return DS_OK;
}

static void keep_pixels(void *user, long first, int count, const ds_sampler *s) {
    sample_run *r = ((sample_job *)user)->r;
    ds_x_to_pixels(ds_sampler_x(s), (long)count * r->D, r->images + first * r->D);
}

static int sample_loop(const sample_opts *o, sample_run *r) {
    sample_job j = {.o = o, .r = r};
    void *const one_ctx[1] = {r->ctx};
    chunked_sampling c = {.schedule = &r->sched, .n = o->n, .chunk = r->B, .D = r->D, .cls = r->cls, .fn = r->fn,
                          .ctx = r->models ? (void *const *)r->models : one_ctx, .workers = r->workers,
                          .on_step = chunk_step, .on_done = keep_pixels, .user = &j, .step_seconds = r->t_steps_w};
    chunked_params(&c.params, o->kind, o->steps, o->eta, o->guidance, o->clip, o->seed);
    c.params.guidance_t_lo = o->guide_lo, c.params.guidance_t_hi = o->guide_hi;
    c.params.spacing = o->spacing;
    r->chunks = (o->n + r->B - 1) / r->B;
    for (long i = 0; i < o->n; i++) r->cls[i] = r->labels[i];
    double t_start = util_now_s();
    int rc = chunked_sample(&c);
    r->total = util_now_s() - t_start;
    if (!o->quiet) fputc('\n', stderr);
    if (rc) return cli_error(1, "%s", ds_last_error());
    for (int w = 0; w < r->workers; w++) r->t_steps += r->t_steps_w[w];
    printf("sampled %ld images (%s, %ld steps, guidance %g, batch %d, %d thread%s) in %.3f s: %.2f ms per step per batch, "
           "%.1f ms per image\n",
           o->n, ds_sampler_kind_name(o->kind), o->steps, o->guidance, r->B, r->workers, r->workers > 1 ? "s" : "", r->total,
           1e3 * r->t_steps / (r->chunks * o->steps), 1e3 * r->total / o->n);
    return 0;
}

/* ---- write ---- */

static int write_grid(const sample_opts *o, const sample_run *r) {
    const long n = o->n;
    const int side = r->side, cols = r->grid_cols, W = r->grid_w, H = r->grid_h;
    uint8_t *grid = malloc((size_t)W * H * r->C);
    if (!grid) return cli_error(1, "out of memory");
    memset(grid, 60, (size_t)W * H * r->C);
    for (long i = 0; i < n; i++)
        put_tile(grid, W, 2 + (int)(i % cols) * (side + 2), 2 + (int)(i / cols) * (side + 2), r->images + i * r->D, side, r->C);
    int rc = png_write_atomic(o->png, W, H, r->C, grid);
    free(grid);
    return rc ? 1 : 0;
}

static int write_gif(const sample_opts *o, const sample_run *r) {
    ds_gif_params p;
    ds_gif_params_init(&p);
    p.width = r->grid_w, p.height = r->grid_h, p.scale = (int)o->gif_scale;
    p.delay_cs = (int)((o->gif_delay_ms + 5) / 10), p.last_delay_cs = 150;
    uint8_t *gif = NULL;
    size_t n = 0;
    double t0 = util_now_s();
    if (ds_gif_encode(&p, r->gif_frames, (int)o->steps + 1, &gif, &n)) return cli_error(1, "--gif: %s", ds_last_error());
    double seconds = util_now_s() - t0;
    int rc = util_write_atomic(o->gif, gif, (long)n) ? cli_error(1, "%s", ds_last_error()) : 0;
    if (!rc && !o->quiet)
        printf("wrote %s: %ld frames of %d x %d, %zu bytes, encoded in %.1f ms\n", o->gif, o->steps + 1,
               p.width * p.scale, p.height * p.scale, n, 1e3 * seconds);
    free(gif);
    return rc;
}

static int write_outputs(const sample_opts *o, const sample_run *r) {
    if (r->gif_frames && write_gif(o, r)) return 1;
    if (o->png && write_grid(o, r)) return 1;
    if (r->strip && png_write_atomic(o->frames, r->strip_w, r->row_h * (int)o->steps, r->C, r->strip)) return 1;
    if (o->npy) {
        long shape[4] = {o->n, r->C, r->side, r->side}, grey[3] = {o->n, r->side, r->side};
        if (r->C == 1 ? write_npy_u8(o->npy, r->images, grey, 3) : write_npy_u8(o->npy, r->images, shape, 4)) return 1;
        char path[4096];
        npy_labels_path(o->npy, path, sizeof path);
        if (write_npy_u8(path, r->labels, shape, 1)) return 1;
    }
    return 0;
}

/* the inputs and outputs, checked together before any sampling (cli.h) */
static int check_files(const sample_opts *o) {
    char labels[4096];
    if (o->npy) npy_labels_path(o->npy, labels, sizeof labels);
    const cli_file files[] = {{"--weights", o->weights, CLI_IN}, {"--analytic", o->analytic, CLI_IN},
                              {"--png", o->png, CLI_OUT},        {"--frames", o->frames, CLI_OUT},
                              {"--npy", o->npy, CLI_OUT_FILE},   {"--npy (its labels)", o->npy ? labels : NULL, CLI_OUT_FILE},
                              {"--gif", o->gif, CLI_OUT}};
    return cli_check_files(files, (int)(sizeof files / sizeof files[0]));
}

int cmd_sample(int argc, char **argv) {
    sample_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    if ((rc = check_files(&o))) return rc;
    sample_run r;
    memset(&r, 0, sizeof r);
    if (!(rc = set_up(&o, &r)) && !(rc = sample_loop(&o, &r))) rc = write_outputs(&o, &r);
    run_free(&r);
    return rc;
}
