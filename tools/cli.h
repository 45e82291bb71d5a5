/* cli.h — shared pieces of the `diffuscope` command-line tool.
 *
 * Each subcommand lives in tools/cmd_NAME.c as `int cmd_NAME(int argc, char **argv)`
 * (argv[0] is the subcommand name, so getopt_long works as usual) and is listed in the
 * table in tools/diffuscope.c. Subcommands return the process exit status: 0 on success,
 * 2 when the command line itself is wrong (an unknown flag, a value out of range, flags that
 * contradict each other: fixing the command fixes it), 1 when a file or the machine refuses
 * (missing, unreadable or corrupt input, an output that would destroy something, a full disk,
 * out of memory). Errors go to stderr as "diffuscope: message". */
#ifndef DS_CLI_H
#define DS_CLI_H

#include <getopt.h>

#include "model.h"
#include "sampler.h"

int cmd_schedule(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_vi(int argc, char **argv);
int cmd_render(int argc, char **argv);
int cmd_points(int argc, char **argv);
int cmd_png2points(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_edit(int argc, char **argv);
int cmd_fashion_sample(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_train_check(int argc, char **argv);
int cmd_convert(int argc, char **argv);

/* Print "diffuscope: <message>" to stderr; returns 2 (usage) or 1 (runtime) as given. */
int cli_error(int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Strict number parsing: the whole string must be a finite number / an integer in range.
 * On failure they print an error naming the flag and return non-zero. */
int cli_parse_double(const char *flag, const char *text, double *out);
int cli_parse_long(const char *flag, const char *text, long lo, long hi, long *out);
/* A finite number in [lo, hi]: "--clip must be between 0 and 1e+06, got 1e300". */
int cli_parse_double_in(const char *flag, const char *text, double lo, double hi, double *out);

/* "LO:HI", two whole timesteps with 0 <= LO <= HI <= DS_MAX_T (--guidance-interval 200:800):
 * "--guidance-interval expects LO:HI (two timesteps), got '800'". */
int cli_parse_interval(const char *flag, const char *text, int *lo, int *hi);

/* --spacing P: 0 (the sampler's own step placement) or a power 1..4 (sampler.h):
 * "--spacing must be 0 (the sampler's own placement) or between 1 and 4, got 5". */
int cli_parse_spacing(const char *text, double *out);

/* --eta given with a sampler that has no η (only DDIM interpolates its noise): 0 for ddim, else
 * 2 after printing that --eta would be ignored. */
int cli_check_eta_sampler(ds_sampler_kind kind);

/* A seed given as a number (the page's seeds are doubles): a whole number in [0, 2^53]. */
int cli_parse_seed(const char *flag, const char *text, double *out);

/* The files a command names, checked together before any work (cli_check_files). */
typedef enum {
    CLI_IN,       /* read; no output may replace it */
    CLI_OUT,      /* written; "-" is standard output */
    CLI_OUT_FILE, /* written, must be a file (read back, or rewritten during the run): no "-" */
    CLI_IN_OUT,   /* read, then rewritten by design (a checkpoint on --resume, a cache) */
} cli_file_role;

typedef struct {
    const char *flag;   /* "--png" */
    const char *path;   /* NULL: not given, skipped */
    cli_file_role role;
} cli_file;

/* Refuses, before anything is computed, an output that util_write_atomic would refuse (a
 * device, a FIFO, a folder, a symbolic link, a read-only file), one that is the same file as
 * an input (device and inode), and two outputs that are one file ("--out X --checkpoint X");
 * the inputs stay protected for the command's writes. Messages name the flag and the path.
 * Returns 0, or 1 after printing why. */
int cli_check_files(const cli_file *files, int n);

/* The getopt_long loop of a subcommand: each option goes to flag(o, c, optarg), which returns
 * 0 or an exit status after printing; --help (-h) prints usage to stdout. Returns 0, -1 after
 * --help, else the exit status (an unexpected argument: "NAME: unexpected argument 'X'"). */
int cli_parse_options(int argc, char **argv, const char *name, const char *short_opts, const struct option *opts,
                      const char *usage, int (*flag)(void *o, int c, const char *arg), void *o);

/* A model from a .dsw file (util_read_kind with INPUT_WEIGHTS, then ds_model_from_bytes). NULL after ds_fail;
 * the message names the file. */
ds_model *cli_load_model(const char *path);
/* The same, also giving the file's format version (weights.h) in *version when not NULL. */
ds_model *cli_load_model_version(const char *path, uint32_t *version);
/* The noise schedule a sampler over model m (from the file `path`) must use: the one its file
 * records (weights.h: kind and T). asked: the --schedule flag's value, or NULL when not given;
 * one that contradicts the file is refused. Returns 0, or the exit status (2) after printing why. */
int cli_model_schedule(const ds_model *m, const char *path, const ds_schedule_kind *asked, ds_schedule *out);

#endif
