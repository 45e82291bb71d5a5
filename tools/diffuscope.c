/* diffuscope.c — the native command-line tool: one binary, one subcommand per job.
 *
 *   diffuscope schedule ...   print a noise schedule as JSON
 *
 * `diffuscope help` lists them; `diffuscope CMD --help` explains one; `diffuscope --version`
 * prints the version (DS_VERSION, which CMake reads from package.json, as the web kit does). `--write-through`,
 * anywhere before a `--`, lets every output of the command write into a device or FIFO and
 * through a symbolic link (util.h) instead of refusing it.
 * The exit status is the command's (cli.h: 0, 1 or 2), or 1 when standard output could not be
 * written (a full disk, `> /dev/full`); a command stopped by SIGINT / SIGTERM after saving ends
 * by that signal, so the shell reports 130 / 143 and a calling script stops too. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command COMMANDS[] = {
    {"schedule", cmd_schedule, "print a noise schedule (beta, abar, SNR) as JSON"},
    {"info", cmd_info, "what a .dsw weights file holds: kind, config, parameters, MFLOP; --bench times it"},
    {"convert", cmd_convert, "rewrite a .dsw file as f32, f16 or q8 (8-bit, a scale per output channel)"},
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
    fputs("usage: diffuscope COMMAND [options]   (diffuscope COMMAND --help for details)\n"
          "       diffuscope --version\n\ncommands:\n", f);
    for (int i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-15s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fputs("\noutputs replace only regular files; a device, FIFO or symbolic link is refused unless\n"
          "--write-through is given (anywhere), and \"-\" is standard output (--png -, -o -)\n", f);
    return f == stdout ? 0 : 2;
}

/* `diffuscope sample --points ...` samples the 2-D point MLP: the same as `points sample` */
static int is_points_sample(int argc, char **argv) {
    if (strcmp(argv[1], "sample")) return 0;
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--points") || !strncmp(argv[i], "--points=", 9)) return 1;
    return 0;
}

/* removes every --write-through before a "--" from argv and turns write-through on; the new argc */
static int take_write_through(int argc, char **argv) {
    int kept = 1, rest = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) rest = 1;
        if (!rest && !strcmp(argv[i], "--write-through")) util_set_write_through(1);
        else argv[kept++] = argv[i];
    }
    argv[kept] = NULL;
    return kept;
}

static int run(int argc, char **argv) {
    if (argc < 2) return usage(stderr);
    if (!strcmp(argv[1], "--version")) return printf("diffuscope %s\n", DS_VERSION) < 0;
    if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) return usage(stdout);
    if (is_points_sample(argc, argv)) return cmd_points(argc, argv); /* argv[1] = "sample" is its subcommand */
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "diffuscope: unknown command '%s'\n", argv[1]);
    return usage(stderr);
}

int main(int argc, char **argv) {
    int status = run(take_write_through(argc, argv), argv);
    /* what printf buffered goes out now: a failure here is the command's failure */
    int failed = ferror(stdout);
    errno = 0;
    if (fclose(stdout) != 0 || failed) {
        fprintf(stderr, "diffuscope: writing to standard output failed: %s\n", errno ? strerror(errno) : "write error");
        return 1;
    }
    if (status == 0) util_reraise_stop_signal();
    return status;
}
