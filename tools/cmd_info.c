/* cmd_info.c — `diffuscope info WEIGHTS`: what a .dsw weights file holds, and how fast it runs.
 *
 * Reads the file through mmap and hands the bytes to the library's loader, so every check
 * of the format (weights.h) applies; a bad file exits 1 with the loader's message. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "model.h"
#include "util.h"

static const char *USAGE =
    "usage: diffuscope info WEIGHTS.dsw [--tensors] [--bench SECONDS]\n"
    "       diffuscope info --random unet|mlp [--tensors] [--bench SECONDS]\n"
    "  Prints the model kind, its config, how it was trained (noise schedule and T, what the\n"
    "  network predicts, class names), the parameter count and the forward cost in MFLOP per\n"
    "  item (image or point). --tensors lists every tensor (name, shape, offset). --bench times\n"
    "  the forward pass at batch 1 and 16 for about SECONDS each (single thread). --random\n"
    "  describes a randomly initialised model of the default config instead of a file.\n"
    "  Exits 1 with the loader's message if the file is not a valid weights file.\n";

static void print_config(ds_model *m) {
    if (ds_model_get_kind(m) == DS_MODEL_UNET) {
        const ds_unet_config *c = &ds_model_unet(m)->config;
        printf("config: image %dx%d, %d channel(s), base %d, levels %d, mult (", c->image_size, c->image_size,
               c->in_channels, c->base_channels, c->n_levels);
        for (int l = 0; l < c->n_levels; l++) printf("%s%d", l ? ", " : "", c->channel_mult[l]);
        printf("), %d res block(s) per level, GroupNorm %d groups eps %g, time embedding %d, %d classes + none%s\n",
               c->n_res_blocks, c->groups, (double)DS_UNET_GN_EPS, c->temb_dim, c->n_classes,
               c->attention ? ", self-attention after the mid block" : "");
    } else {
        const ds_mlp_config *c = &ds_model_mlp(m)->config;
        printf("config: %d-D points, %d hidden layers of %d, time embedding %d\n", c->data_dim, c->n_layers, c->hidden,
               c->temb_dim);
    }
}

/* How the model was trained: what a sampler takes from the file (format 2; version 1 means
 * the default, and says so). */
static void print_description(const ds_model *m, uint32_t version) {
    const char *origin = version == 1 ? " (format 1: the default)" : "";
    printf("schedule: %s, T = %d%s\n", ds_schedule_kind_name(ds_model_schedule_kind(m)), ds_model_schedule_T(m), origin);
    printf("prediction: %s%s\n", ds_prediction_name(ds_model_prediction(m)), origin);
    const int n = ds_model_n_class_names(m);
    if (!n) {
        printf("class names: none\n");
        return;
    }
    printf("class names (%d):", n);
    for (int i = 0; i < n; i++) printf("%s %d \"%s\"", i ? "," : "", i, ds_model_class_name(m, i));
    printf("\n");
}

static int bench(ds_model *m, double seconds) {
    const int item = ds_model_item_floats(m);
    const int batches[2] = {1, 16};
    for (int k = 0; k < 2; k++) {
        const int B = batches[k];
        float *x = malloc(sizeof(float) * (size_t)B * item), *eps = malloc(sizeof(float) * (size_t)B * item), t[16];
        int cls[16];
        if (!x || !eps) return cli_error(1, "info: out of memory");
        for (long i = 0; i < (long)B * item; i++) x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
        for (int b = 0; b < B; b++) t[b] = 10.0f + 60.0f * b, cls[b] = b % 11;
        if (ds_model_forward(m, x, t, cls, B, eps)) return cli_error(1, "info: %s", ds_last_error()); /* warm-up, allocation */
        int runs = 0;
        double t0 = util_now_s(), dt;
        do {
            if (ds_model_forward(m, x, t, cls, B, eps)) return cli_error(1, "info: %s", ds_last_error());
            runs++;
            dt = util_now_s() - t0;
        } while (dt < seconds || runs < 3);
        double per = dt / runs;
        printf("forward batch %2d: %.3f ms per call, %.3f ms per item, %.2f GFLOP/s (%d runs)\n", B, per * 1e3,
               per * 1e3 / B, ds_model_mflop(m) * B / per / 1e3, runs);
        free(x);
        free(eps);
    }
    return 0;
}

int cmd_info(int argc, char **argv) {
    static const struct option opts[] = {{"tensors", no_argument, 0, 't'},
                                         {"bench", required_argument, 0, 'b'},
                                         {"random", required_argument, 0, 'r'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int list = 0;
    double bench_s = 0;
    const char *random_kind = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't': list = 1; break;
        case 'b':
            if (cli_parse_double("--bench", optarg, &bench_s)) return 2;
            if (bench_s <= 0 || bench_s > 600) return cli_error(2, "info: --bench must be between 0 and 600 seconds");
            break;
        case 'r': random_kind = optarg; break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: fputs(USAGE, stderr); return 2;
        }
    }
    ds_model *m;
    uint32_t version = 1; /* a random model has version 1's description */
    if (random_kind) {
        if (optind < argc) return cli_error(2, "info: give either WEIGHTS or --random, not both");
        ds_model_kind kind;
        if (!strcmp(random_kind, "unet")) kind = DS_MODEL_UNET;
        else if (!strcmp(random_kind, "mlp")) kind = DS_MODEL_MLP;
        else return cli_error(2, "info: --random must be unet or mlp (got '%s')", random_kind);
        m = ds_model_random(kind, NULL, 1);
        if (!m) return cli_error(1, "info: %s", ds_last_error());
        printf("random %s (seed 1)\n", ds_model_kind_name(kind));
    } else {
        if (optind != argc - 1) {
            fputs(USAGE, stderr);
            return 2;
        }
        m = cli_load_model_version(argv[optind], &version);
        if (!m) return cli_error(1, "info: %s", ds_last_error());
        printf("file: %s\n", argv[optind]);
    }
    printf("kind: %s\n", ds_model_kind_name(ds_model_get_kind(m)));
    print_config(m);
    print_description(m, version);
    const ds_param_table *t = ds_model_table(m);
    printf("parameters: %ld in %d tensors\n", ds_model_num_params(m), t->n);
    printf("forward cost: %.2f MFLOP per %s\n", ds_model_mflop(m), ds_model_get_kind(m) == DS_MODEL_UNET ? "image" : "point");
    if (list) {
        for (int k = 0; k < t->n; k++) {
            const ds_param_info *p = &t->p[k];
            printf("  %-34s (", p->name);
            for (int d = 0; d < p->ndim; d++) printf("%s%d", d ? ", " : "", p->shape[d]);
            printf(")  offset %ld\n", p->offset);
        }
    }
    int rc = bench_s > 0 ? bench(m, bench_s) : 0;
    ds_model_free(m);
    return rc;
}
