/* diffuscope.c — the native command-line tool: one binary, one subcommand per job.
 *
 *   diffuscope schedule ...   print a noise schedule as JSON
 *
 * `diffuscope help` lists them; `diffuscope CMD --help` explains one. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command COMMANDS[] = {
    {"schedule", cmd_schedule, "print a noise schedule (beta, abar, SNR) as JSON"},
    {"info", cmd_info, "what a .dsw weights file holds: kind, config, parameters, MFLOP; --bench times it"},
    {"vi", cmd_vi, "KL(q||p), KL(p||q), ELBO of a Gaussian q vs a mixture p; Monte Carlo; fits"},
    {"render", cmd_render, "static PNG figures for the article (vi-grid, ...)"},
    {"points", cmd_points, "point-cloud diffusion: shapes, forward frames, train, sample, quality"},
    {"png2points", cmd_png2points, "a black-on-white PNG or a drawing as a point file"},
    {"sample", cmd_sample, "sample Fashion images (ddpm, ddim, dpmpp2m) to a PNG grid, a filmstrip, .npy, a GIF"},
    {"edit", cmd_edit, "edit with the Fashion UNet: SDEdit from an image, inpainting, seed and class interpolation"},
    {"fashion-sample", cmd_fashion_sample, "cut the shipped sample of real Fashion-MNIST test images"},
    {"train", cmd_train, "train the Fashion UNet or the 2-D point MLP (checkpoints, exact resume)"},
    {"eval", cmd_eval, "judge a Fashion UNet: classifier accuracy per class and FD vs the real-vs-real floor"},
    {"classify", cmd_classify, "judge 28 x 28 images with the project's Fashion-MNIST classifier (trained by eval)"},
    {"bench", cmd_bench, "forward speed of a UNet (batch 1 and 16), the vector peak and each conv layer against it"},
    {"train-check", cmd_train_check, "one training batch, its loss and gradient norm, for a peer to recompute"},
};
static const int N_COMMANDS = (int)(sizeof COMMANDS / sizeof COMMANDS[0]);

static int usage(FILE *f) {
    fputs("usage: diffuscope COMMAND [options]   (diffuscope COMMAND --help for details)\n\ncommands:\n", f);
    for (int i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-15s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    return f == stdout ? 0 : 2;
}

/* `diffuscope sample --points ...` samples the 2-D point MLP: the same as `points sample` */
static int is_points_sample(int argc, char **argv) {
    if (strcmp(argv[1], "sample")) return 0;
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--points") || !strncmp(argv[i], "--points=", 9)) return 1;
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage(stderr);
    if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) return usage(stdout);
    if (is_points_sample(argc, argv)) return cmd_points(argc, argv); /* argv[1] = "sample" is its subcommand */
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "diffuscope: unknown command '%s'\n", argv[1]);
    return usage(stderr);
}
