/* cli.c — error printing, strict flag parsing, the files check and model loading shared by the subcommands. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "input_kinds.h"
#include "rng.h"
#include "util.h"

int cli_error(int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("diffuscope: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return status;
}

int cli_parse_double(const char *flag, const char *text, double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v))
        return cli_error(2, "%s expects a finite number, got '%s'", flag, text);
    *out = v;
    return 0;
}

int cli_parse_long(const char *flag, const char *text, long lo, long hi, long *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE)
        return cli_error(2, "%s expects an integer, got '%s'", flag, text);
    if (v < lo || v > hi) return cli_error(2, "%s must be between %ld and %ld, got %ld", flag, lo, hi, v);
    *out = v;
    return 0;
}

int cli_parse_double_in(const char *flag, const char *text, double lo, double hi, double *out) {
    double v = 0;
    if (cli_parse_double(flag, text, &v)) return 2;
    if (v < lo || v > hi) return cli_error(2, "%s must be between %g and %g, got %s", flag, lo, hi, text);
    *out = v;
    return 0;
}

int cli_parse_interval(const char *flag, const char *text, int *lo, int *hi) {
    const char *colon = strchr(text, ':');
    char first[32];
    if (!colon || colon == text || (size_t)(colon - text) >= sizeof first || !colon[1])
        return cli_error(2, "%s expects LO:HI (two timesteps), got '%s'", flag, text);
    memcpy(first, text, (size_t)(colon - text));
    first[colon - text] = '\0';
    long a, b;
    if (cli_parse_long(flag, first, 0, DS_MAX_T, &a) || cli_parse_long(flag, colon + 1, 0, DS_MAX_T, &b)) return 2;
    if (a > b) return cli_error(2, "%s: the start %ld is above the end %ld", flag, a, b);
    *lo = (int)a, *hi = (int)b;
    return 0;
}

int cli_parse_spacing(const char *text, double *out) {
    double v = 0;
    if (cli_parse_double("--spacing", text, &v)) return 2;
    if (v != 0 && !(v >= 1 && v <= 4))
        return cli_error(2, "--spacing must be 0 (the sampler's own placement) or between 1 and 4, got %s", text);
    *out = v;
    return 0;
}

int cli_parse_seed(const char *flag, const char *text, double *out) {
    uint64_t seed;
    if (cli_parse_double(flag, text, out)) return 2;
    if (ds_seed_from_double(*out, &seed)) return cli_error(2, "%s: %s", flag, ds_last_error());
    return 0;
}

int cli_check_eta_sampler(ds_sampler_kind kind) {
    if (kind == DS_SAMPLER_DDIM) return 0;
    return cli_error(2, "--eta is for --sampler ddim only (%s %s): drop --eta, or use --sampler ddim",
                     ds_sampler_kind_name(kind),
                     kind == DS_SAMPLER_DDPM ? "always adds the posterior's own noise" : "adds no noise");
}

static int is_output(cli_file_role role) { return role != CLI_IN; }

int cli_check_files(const cli_file *files, int n) {
    util_protect_clear();
    char label[4200];
    for (int i = 0; i < n; i++) {
        if (!files[i].path || files[i].role != CLI_IN) continue;
        snprintf(label, sizeof label, "%s %s", files[i].flag, files[i].path);
        if (util_protect_input(label, files[i].path)) return cli_error(1, "%s", ds_last_error());
    }
    for (int i = 0; i < n; i++) {
        const cli_file *f = &files[i];
        if (!f->path || !is_output(f->role)) continue;
        if (!strcmp(f->path, "-") && f->role != CLI_OUT)
            return cli_error(2, "%s cannot be - (standard output): this output must be a file (it is read back, or written more than once)", f->flag);
        if (!strcmp(f->path, "-") && util_stdout_for_data()) return cli_error(1, "%s -: %s", f->flag, ds_last_error());
        if (util_check_output(f->path)) return cli_error(1, "%s %s", f->flag, ds_last_error());
        for (int j = 0; j < i; j++)
            if (files[j].path && is_output(files[j].role) && util_same_file(files[j].path, f->path))
                return cli_error(1, "%s %s and %s %s are the same file: give each output its own name", files[j].flag,
                                 files[j].path, f->flag, f->path);
    }
    return 0;
}

ds_model *cli_load_model_version(const char *path, uint32_t *version) {
    long size = 0;
    unsigned char *bytes = util_read_kind(path, &INPUT_WEIGHTS, &size);
    if (!bytes) return NULL;
    ds_model *m = ds_model_from_bytes(bytes, (size_t)size);
    ds_weights_header h;
    if (!m) ds_fail("%s: %s", path, ds_last_error());
    else if (version && ds_weights_read_header(bytes, (size_t)size, &h) == DS_OK) *version = h.version;
    free(bytes);
    return m;
}

ds_model *cli_load_model(const char *path) { return cli_load_model_version(path, NULL); }

int cli_model_schedule(const ds_model *m, const char *path, const ds_schedule_kind *asked, ds_schedule *out) {
    ds_schedule_kind kind = ds_model_schedule_kind(m);
    int T = ds_model_schedule_T(m);
    if (asked && *asked != kind)
        return cli_error(2, "--schedule %s contradicts %s (trained with the %s schedule, T = %d): drop --schedule",
                         ds_schedule_kind_name(*asked), path, ds_schedule_kind_name(kind), T);
    if (ds_schedule_init(out, kind, T)) return cli_error(1, "%s: %s", path, ds_last_error());
    return 0;
}

int cli_parse_options(int argc, char **argv, const char *name, const char *short_opts, const struct option *opts,
                      const char *usage, int (*flag)(void *o, int c, const char *arg), void *o) {
    int c, rc;
    optind = 1;
    util_protect_clear(); /* a new command: the inputs it declares come with cli_check_files */
    while ((c = getopt_long(argc, argv, short_opts, opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            return -1;
        }
        if ((rc = flag(o, c, optarg))) return rc;
    }
    if (optind < argc) return cli_error(2, "%s: unexpected argument '%s'", name, argv[optind]);
    return 0;
}
