/* cmd_sample.c — `diffuscope sample`: draw Fashion images with DDPM, DDIM or DPM-Solver++(2M)
 * from trained weights or from the exact mixture over the shipped test images, and write a
 * PNG grid, a filmstrip of every step, and/or an .npy array (+ labels).
 *
 * Images are sampled in chunks of --batch; each image draws its noise from its own stream
 * (seed, image index), so the output does not depend on the chunk size. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "error.h"
#include "gmm_denoiser.h"
#include "model.h"
#include "pngout.h"
#include "sampler.h"
#include "sampler_models.h"
#include "util.h"

static const char *USAGE =
    "usage: diffuscope sample (--weights W.dsw | --analytic SAMPLE.bin [--analytic-var V])\n"
    "                         [--class C | --classes all] [--n N] [--sampler ddpm|ddim|dpmpp2m] [--steps S]\n"
    "                         [--eta E] [--guidance G] [--clip X] [--schedule linear|cosine] [--batch B]\n"
    "                         [--seed K] [--png FILE] [--frames FILE] [--npy FILE.npy] [--quiet]\n"
    "       diffuscope sample --points SHAPE ...   (the 2-D point MLP: see diffuscope points sample --help)\n"
    "  --weights      a trained Fashion UNet (.dsw)\n"
    "  --analytic     instead of a network, the exact denoiser of a mixture of point masses (or\n"
    "                 Gaussians of variance V, default 0) at the images of a sample file\n"
    "                 (web/data/fashion-sample.bin): the perfect memoriser, no training needed\n"
    "  --class C      class 0..9 for every image, or 10 / none for unconditional (default none)\n"
    "  --classes all  N/10 images of each class, in class order (N a multiple of 10)\n"
    "  --n N          number of images (default 16)     --sampler (default ddim)  --steps (default 20)\n"
    "  --eta E        DDIM noise, 0..1 (default 0)      --guidance G  classifier-free scale (default 1)\n"
    "  --clip X       clip x0_hat to [-X, X], 0 = off (default 1: the data range)\n"
    "  --batch B      images per model call (default 16)   --seed K  (default 0)\n"
    "  --png FILE     a grid of the samples (one row per class with --classes all)\n"
    "  --frames FILE  a filmstrip: one row per step, x_t and x0_hat side by side for each image\n"
    "  --npy FILE.npy uint8 (N, 28, 28); class labels (uint8, 10 = none) go to FILE_labels.npy\n";

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

/* Copies a side x side tile into an image of width W at (x0, y0). */
static void put_tile(uint8_t *img, int W, int x0, int y0, const uint8_t *tile, int side) {
    for (int y = 0; y < side; y++) memcpy(img + (long)(y0 + y) * W + x0, tile + (long)y * side, side);
}

int cmd_sample(int argc, char **argv) {
    static const struct option opts[] = {
        {"weights", required_argument, 0, 'w'}, {"analytic", required_argument, 0, 'a'},
        {"analytic-var", required_argument, 0, 'V'}, {"class", required_argument, 0, 'c'},
        {"classes", required_argument, 0, 'C'}, {"n", required_argument, 0, 'n'},
        {"sampler", required_argument, 0, 'k'}, {"steps", required_argument, 0, 's'},
        {"eta", required_argument, 0, 'e'}, {"guidance", required_argument, 0, 'g'},
        {"clip", required_argument, 0, 'x'}, {"schedule", required_argument, 0, 'S'},
        {"batch", required_argument, 0, 'b'}, {"seed", required_argument, 0, 'r'},
        {"png", required_argument, 0, 'p'}, {"frames", required_argument, 0, 'f'},
        {"npy", required_argument, 0, 'y'}, {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *weights = NULL, *analytic = NULL, *png = NULL, *frames = NULL, *npy = NULL;
    double analytic_var = 0, eta = 0, guidance = 1, clip = 1;
    long cls_one = DS_NO_CLASS, n = 16, steps = 20, batch = 16, seed = 0;
    int all_classes = 0, quiet = 0;
    ds_sampler_kind kind = DS_SAMPLER_DDIM;
    ds_schedule_kind schedule_kind = DS_SCHEDULE_LINEAR;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'w': weights = optarg; break;
        case 'a': analytic = optarg; break;
        case 'V': if (cli_parse_double("--analytic-var", optarg, &analytic_var)) return 2; break;
        case 'c':
            if (!strcmp(optarg, "none")) cls_one = DS_NO_CLASS;
            else if (cli_parse_long("--class", optarg, 0, DS_NO_CLASS, &cls_one)) return 2;
            break;
        case 'C':
            if (strcmp(optarg, "all")) return cli_error(2, "--classes expects 'all', got '%s'", optarg);
            all_classes = 1;
            break;
        case 'n': if (cli_parse_long("--n", optarg, 1, 100000, &n)) return 2; break;
        case 'k': if (ds_sampler_kind_parse(optarg, &kind)) return cli_error(2, "--sampler: %s", ds_last_error()); break;
        case 's': if (cli_parse_long("--steps", optarg, 1, DS_MAX_T, &steps)) return 2; break;
        case 'e': if (cli_parse_double("--eta", optarg, &eta)) return 2; break;
        case 'g': if (cli_parse_double("--guidance", optarg, &guidance)) return 2; break;
        case 'x': if (cli_parse_double("--clip", optarg, &clip)) return 2; break;
        case 'S': if (ds_schedule_kind_parse(optarg, &schedule_kind)) return cli_error(2, "--schedule: %s", ds_last_error()); break;
        case 'b': if (cli_parse_long("--batch", optarg, 1, 1024, &batch)) return 2; break;
        case 'r': if (cli_parse_long("--seed", optarg, 0, 0x7fffffffffffffffL, &seed)) return 2; break;
        case 'p': png = optarg; break;
        case 'f': frames = optarg; break;
        case 'y': npy = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: fputs(USAGE, stderr); return 2;
        }
    }
    if (optind < argc) return cli_error(2, "sample: unexpected argument '%s'", argv[optind]);
    if (!weights == !analytic) return cli_error(2, "sample: give exactly one of --weights or --analytic");
    if (all_classes && n % 10) return cli_error(2, "sample: --classes all needs --n a multiple of 10 (got %ld)", n);
    if (eta < 0 || eta > 1) return cli_error(2, "--eta must be between 0 and 1, got %g", eta);
    if (clip < 0) return cli_error(2, "--clip must be >= 0, got %g", clip);
    if (analytic_var < 0) return cli_error(2, "--analytic-var must be >= 0, got %g", analytic_var);
    if (!png && !frames && !npy) return cli_error(2, "sample: nothing to write (give --png, --frames and/or --npy)");
    size_t npy_len = npy ? strlen(npy) : 0;
    if (npy && (npy_len < 5 || strcmp(npy + npy_len - 4, ".npy")))
        return cli_error(2, "--npy FILE must end in .npy (labels go to FILE minus .npy plus _labels.npy)");
    if (frames && (double)n * steps * 2 * 784 > 512e6)
        return cli_error(2, "--frames for %ld images x %ld steps would exceed 512 MB; sample fewer", n, steps);

    static ds_schedule sched;
    if (ds_schedule_init(&sched, schedule_kind, DS_MAX_T)) return cli_error(1, "%s", ds_last_error());

    int status = 1;
    ds_model *model = NULL;
    ds_gmm *gmm = NULL;
    uint8_t *file = NULL, *images = NULL, *strip = NULL, *labels = NULL, *prev_x = NULL, *tile = NULL;
    int *cls = NULL;
    ds_sampler *s = NULL;
    ds_eps_fn fn;
    void *ctx;
    int D;
    long file_n = 0;
    if (weights) {
        if (!(model = cli_load_model(weights))) { cli_error(1, "%s", ds_last_error()); goto done; }
        if (ds_model_get_kind(model) != DS_MODEL_UNET) {
            cli_error(1, "%s holds a %s, not a Fashion UNet", weights, ds_model_kind_name(ds_model_get_kind(model)));
            goto done;
        }
        D = ds_model_item_floats(model);
        fn = ds_model_eps;
        ctx = model;
    } else {
        ds_fashion_sample fs;
        if (!(file = util_read_file(analytic, UTIL_MAX_WEIGHTS, &file_n))) { cli_error(1, "%s", ds_last_error()); goto done; }
        if (ds_fashion_sample_parse(file, file_n, &fs)) { cli_error(1, "%s: %s", analytic, ds_last_error()); goto done; }
        D = fs.rows * fs.cols;
        if (!(gmm = ds_gmm_from_images(&sched, fs.pixels, fs.labels, fs.count, D, analytic_var))) {
            cli_error(1, "%s", ds_last_error());
            goto done;
        }
        fn = ds_gmm_eps;
        ctx = gmm;
    }
    int side = (int)lround(sqrt((double)D));
    if (side * side != D) { cli_error(1, "sample: items of %d floats are not square greyscale images", D); goto done; }

    const int B = (int)(batch < n ? batch : n);
    const long ND = n * D;
    images = malloc(ND);
    labels = malloc(n);
    cls = malloc(sizeof(int) * B);
    prev_x = malloc((size_t)B * D);
    tile = malloc((size_t)B * D);
    /* filmstrip: one row per step; per image a pair (x_t | x0_hat) with a 2 px gap, 6 px between pairs */
    const int pair_w = 2 * side + 2, strip_w = (int)(n * (pair_w + 6) - 6), row_h = side + 2;
    if (frames) strip = malloc((size_t)strip_w * row_h * steps);
    if (!images || !labels || !cls || !prev_x || !tile || (frames && !strip)) { cli_error(1, "out of memory"); goto done; }
    if (strip) memset(strip, 60, (size_t)strip_w * row_h * steps);
    for (long i = 0; i < n; i++) labels[i] = (uint8_t)(all_classes ? i / (n / 10) : cls_one);

    ds_sampler_params p;
    ds_sampler_params_init(&p);
    p.kind = kind;
    p.steps = (int)steps;
    p.eta = eta;
    p.guidance = guidance;
    p.clip = clip;
    p.seed = (uint64_t)seed;
    double t_start = util_now_s(), t_steps = 0;
    long chunks = 0;
    for (long first = 0; first < n; first += B) {
        int b_now = (int)(n - first < B ? n - first : B);
        for (int b = 0; b < b_now; b++) cls[b] = labels[first + b];
        p.batch = b_now;
        p.first_image = first;
        if (!(s = ds_sampler_create(&sched, D, fn, ctx, &p, cls))) { cli_error(1, "%s", ds_last_error()); goto done; }
        for (int k = 0; k < steps; k++) {
            if (strip) ds_x_to_pixels(ds_sampler_x(s), (long)b_now * D, prev_x);
            double t0 = util_now_s();
            if (ds_sampler_step(s)) { cli_error(1, "step %d: %s", k + 1, ds_last_error()); goto done; }
            t_steps += util_now_s() - t0;
            if (strip) {
                ds_x_to_pixels(ds_sampler_x0(s), (long)b_now * D, tile);
                for (int b = 0; b < b_now; b++) {
                    int x0 = (int)((first + b) * (pair_w + 6)), y0 = k * row_h + 1;
                    put_tile(strip, strip_w, x0, y0, prev_x + (long)b * D, side);
                    put_tile(strip, strip_w, x0 + side + 2, y0, tile + (long)b * D, side);
                }
            }
            if (!quiet) {
                ds_sampler_info info;
                ds_sampler_get_info(s, &info);
                fprintf(stderr, "\rsample: images %ld-%ld of %ld, step %d/%ld (t = %d)   ", first + 1, first + b_now, n, k + 1, steps, info.t);
            }
        }
        ds_x_to_pixels(ds_sampler_x(s), (long)b_now * D, images + first * D);
        ds_sampler_free(s);
        s = NULL;
        chunks++;
    }
    double total = util_now_s() - t_start;
    if (!quiet) fputc('\n', stderr);
    printf("sampled %ld images (%s, %ld steps, guidance %g, batch %d) in %.3f s: %.2f ms per step per batch, %.1f ms per image\n", n,
           ds_sampler_kind_name(kind), steps, guidance, B, total, 1e3 * t_steps / (chunks * steps), 1e3 * total / n);

    if (png) {
        int cols = all_classes ? (int)(n / 10) : (int)ceil(sqrt((double)n)), rows = (int)((n + cols - 1) / cols);
        int W = cols * (side + 2) + 2, H = rows * (side + 2) + 2;
        uint8_t *grid = malloc((size_t)W * H);
        if (!grid) { cli_error(1, "out of memory"); goto done; }
        memset(grid, 60, (size_t)W * H);
        for (long i = 0; i < n; i++) put_tile(grid, W, 2 + (int)(i % cols) * (side + 2), 2 + (int)(i / cols) * (side + 2), images + i * D, side);
        int rc = png_write_atomic(png, W, H, 1, grid);
        free(grid);
        if (rc) goto done;
    }
    if (strip && png_write_atomic(frames, strip_w, row_h * (int)steps, 1, strip)) goto done;
    if (npy) {
        long shape[3] = {n, side, side};
        if (write_npy_u8(npy, images, shape, 3)) goto done;
        char path[4096];
        snprintf(path, sizeof path, "%.*s_labels.npy", (int)(npy_len - 4), npy);
        if (write_npy_u8(path, labels, shape, 1)) goto done;
    }
    status = 0;
done:
    ds_sampler_free(s);
    ds_model_free(model);
    ds_gmm_free(gmm);
    free(file);
    free(images);
    free(strip);
    free(labels);
    free(cls);
    free(prev_x);
    free(tile);
    return status;
}
