/* cmd_render.c — `diffuscope render FIGURE [options]`: static PNG figures for the article.
 *
 * Each figure is a function `int render_NAME(int argc, char **argv)` (argv[0] is the figure
 * name, so it parses its own options with getopt_long, --out DIR among them) listed in the
 * FIGURES table below; it draws with tools/figure.h and returns 0, 1 (runtime) or 2 (usage).
 * To add a figure: write its function (here or in tools/render_NAME.c, declared below) and
 * add one row to the table.
 *
 *   vi-grid   the seed post's 4 x 4 grid: p(x) and q = N(mu, sigma^2) for mu in {-3, 0, 4, 7},
 *             sigma in {0.6, 0.8, 1, 3}, with KL(q||p) and KL(p||q) written in each image */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "error.h"
#include "figure.h"
#include "vi.h"

static int render_vi_grid(int argc, char **argv);

typedef struct {
    const char *name;
    int (*render)(int argc, char **argv);
    const char *summary;
} figure_entry;

static const figure_entry FIGURES[] = {
    {"vi-grid", render_vi_grid, "p(x) and 16 Gaussian approximations q with both KLs (the seed's grid)"},
};
static const int N_FIGURES = (int)(sizeof FIGURES / sizeof FIGURES[0]);

static int usage(FILE *f) {
    fputs("usage: diffuscope render FIGURE --out DIR [options]   (diffuscope render FIGURE --help)\n\nfigures:\n", f);
    for (int i = 0; i < N_FIGURES; i++) fprintf(f, "  %-10s %s\n", FIGURES[i].name, FIGURES[i].summary);
    return f == stdout ? 0 : 2;
}

int cmd_render(int argc, char **argv) {
    if (argc < 2) return usage(stderr);
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) return usage(stdout);
    for (int i = 0; i < N_FIGURES; i++)
        if (!strcmp(argv[1], FIGURES[i].name)) return FIGURES[i].render(argc - 1, argv + 1);
    cli_error(2, "render: unknown figure '%s'", argv[1]);
    return usage(stderr);
}

/* Creates dir if it does not exist (one level). Returns 0, or 1 after printing why not. */
static int ensure_dir(const char *dir) {
    struct stat st;
    if (stat(dir, &st) == 0) return S_ISDIR(st.st_mode) ? 0 : cli_error(1, "render: %s exists and is not a directory", dir);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) return cli_error(1, "render: cannot create %s: %s", dir, strerror(errno));
    return 0;
}

/* ---- vi-grid ---- */

enum { VI_W = 720, VI_H = 440, VI_POINTS = 721 };

/* One image: p and q on [-8, 12], the region where q exceeds p (what KL(q||p) punishes)
 * shaded orange, the region where p exceeds q (what KL(p||q) punishes) shaded blue. */
static int draw_vi_panel(const ds_mixture *p, double mu, double sigma, const char *path) {
    static double params[3 * DS_VI_MAX_COMPONENTS], curves[4 * VI_POINTS], poly[2 * (2 * VI_POINTS + 2)];
    static double line_p[2 * VI_POINTS], line_q[2 * VI_POINTS];
    const double x0 = -8, x1 = 12;
    for (int i = 0; i < p->k; i++) params[3 * i] = p->weight[i], params[3 * i + 1] = p->mean[i], params[3 * i + 2] = p->std[i];
    ds_vi_result r;
    if (ds_vi_eval(p, mu, sigma, 0, &r) || ds_vi_curves(p->k, params, mu, sigma, x0, x1, VI_POINTS, curves))
        return cli_error(1, "render vi-grid: %s", ds_last_error());
    const double *pv = curves, *qv = curves + VI_POINTS;
    double top = 0;
    for (int i = 0; i < VI_POINTS; i++) top = fmax(top, fmax(pv[i], qv[i]));
    double y_tick = top > 1.0 ? 0.5 : top > 0.4 ? 0.2 : 0.1;
    fig_frame f = {70, 84, VI_W - 100, VI_H - 84 - 50, x0, x1, 0, top * 1.08};
    fig_canvas c;
    if (fig_canvas_init(&c, VI_W, VI_H, FIG_WHITE)) return 1;

    /* shading: from min(p, q) up to q (orange, nonzero where q > p), then up to p (blue) */
    for (int pass = 0; pass < 2; pass++) {
        const double *upper = pass == 0 ? qv : pv;
        int n = 0;
        for (int i = 0; i < VI_POINTS; i++, n++) {
            poly[2 * n] = fig_px(&f, x0 + (x1 - x0) * i / (VI_POINTS - 1));
            poly[2 * n + 1] = fig_py(&f, upper[i]);
        }
        for (int i = VI_POINTS - 1; i >= 0; i--, n++) {
            poly[2 * n] = fig_px(&f, x0 + (x1 - x0) * i / (VI_POINTS - 1));
            poly[2 * n + 1] = fig_py(&f, fmin(pv[i], qv[i]));
        }
        fig_fill_polygon(&c, poly, n, pass == 0 ? FIG_ORANGE : FIG_BLUE, 0.28);
    }
    for (int i = 0; i < VI_POINTS; i++) {
        double x = fig_px(&f, x0 + (x1 - x0) * i / (VI_POINTS - 1));
        line_p[2 * i] = line_q[2 * i] = x;
        line_p[2 * i + 1] = fig_py(&f, pv[i]);
        line_q[2 * i + 1] = fig_py(&f, qv[i]);
    }
    fig_axes(&c, &f, 2, y_tick, FIG_GREY, 1.5);
    fig_polyline(&c, line_p, VI_POINTS, 2.5, FIG_BLUE);
    fig_polyline(&c, line_q, VI_POINTS, 2.5, FIG_ORANGE);

    char text[160];
    snprintf(text, sizeof text, "q = N(mu = %.1f, sigma = %.1f)", mu, sigma);
    fig_text(&c, 20, 12, 2.2, FIG_BLACK, text);
    snprintf(text, sizeof text, "KL(q || p) = %.3f    KL(p || q) = %.3f    ELBO (Z = 1) = %.3f", r.kl_q_p, r.kl_p_q, r.elbo);
    fig_text(&c, 20, 46, 1.7, FIG_BLACK, text);
    /* legend, top right inside the frame */
    double lx = f.left + f.width - 190, ly = f.top + 10;
    fig_fill_rect(&c, lx - 8, ly - 6, f.left + f.width - 2, ly + 84, FIG_WHITE, 0.85);
    fig_line(&c, lx, ly + 6, lx + 26, ly + 6, 3, FIG_BLUE);
    fig_text(&c, lx + 34, ly, 1.5, FIG_BLACK, "p(x) target");
    fig_line(&c, lx, ly + 28, lx + 26, ly + 28, 3, FIG_ORANGE);
    fig_text(&c, lx + 34, ly + 22, 1.5, FIG_BLACK, "q(x) Gaussian");
    fig_fill_rect(&c, lx, ly + 44, lx + 26, ly + 56, FIG_ORANGE, 0.28);
    fig_text(&c, lx + 34, ly + 44, 1.5, FIG_BLACK, "q > p: KL(q || p)");
    fig_fill_rect(&c, lx, ly + 66, lx + 26, ly + 78, FIG_BLUE, 0.28);
    fig_text(&c, lx + 34, ly + 66, 1.5, FIG_BLACK, "p > q: KL(p || q)");
    fig_text(&c, f.left + f.width / 2 - 4, f.top + f.height + 28, 1.7, FIG_GREY, "x");

    int rc = fig_save_png(&c, path) ? 1 : 0;
    fig_canvas_free(&c);
    return rc;
}

static int render_vi_grid(int argc, char **argv) {
    static const char *USAGE =
        "usage: diffuscope render vi-grid --out DIR [--target w:m:s,...]\n"
        "  Writes DIR/p_x_approx_mean_M_approx_std_S.png for M in {-3.0, 0.0, 4.0, 7.0} and\n"
        "  S in {0.6, 0.8, 1.0, 3.0} (the seed post's file names), 720x440: the target p (default\n"
        "  " DS_VI_DEFAULT_TARGET ") and q = N(M, S^2), the regions where q > p (orange) and p > q\n"
        "  (blue) shaded, and KL(q||p), KL(p||q) and the ELBO written in the image.\n";
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'}, {"target", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *out = NULL;
    ds_mixture p;
    if (ds_mixture_default(&p)) return cli_error(1, "render vi-grid: %s", ds_last_error());
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 't':
            if (ds_mixture_parse(&p, optarg, (long)strlen(optarg))) return cli_error(2, "--target: %s", ds_last_error());
            break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: fputs(USAGE, stderr); return 2;
        }
    }
    if (optind < argc) return cli_error(2, "render vi-grid: unexpected argument '%s'", argv[optind]);
    if (!out || !*out) return cli_error(2, "render vi-grid: --out DIR is required");
    if (ensure_dir(out)) return 1;
    static const double MUS[4] = {-3, 0, 4, 7}, SIGMAS[4] = {0.6, 0.8, 1.0, 3.0};
    char path[4096];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            if (snprintf(path, sizeof path, "%s/p_x_approx_mean_%.1f_approx_std_%.1f.png", out, MUS[i], SIGMAS[j]) >= (int)sizeof path)
                return cli_error(2, "render vi-grid: output path too long");
            if (draw_vi_panel(&p, MUS[i], SIGMAS[j], path)) return 1;
            printf("%s\n", path);
        }
    return 0;
}
