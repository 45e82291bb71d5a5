/* cmd_convert.c — `diffuscope convert`: rewrite a .dsw weights file in another precision
 * (f32, f16, or q8: 8-bit with one scale per output channel, weights.h).
 *
 * The model is loaded through the library (every format check applies), written again with
 * the same kind, config and description, and the written bytes are loaded back before they
 * reach the disk, so a file this command writes always loads. It prints both sizes and the
 * largest change of any parameter. Not here: the format (weights.c), training (cmd_train.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "error.h"
#include "input_kinds.h"
#include "model.h"
#include "util.h"

static const char *USAGE =
    "usage: diffuscope convert --weights IN.dsw --out OUT.dsw --dtype f32|f16|q8\n"
    "  Writes the model of IN.dsw to OUT.dsw with its tensors stored as --dtype: f32, f16, or\n"
    "  q8 (8-bit, one f32 scale per output channel; 1-D tensors such as biases, and the thin\n"
    "  input and output convolutions, stay f16).\n"
    "  Prints both file sizes and the largest absolute change of any parameter.\n";

typedef struct {
    const char *in, *out;
    ds_dtype dtype;
    int dtype_given;
} convert_opts;

enum { O_WEIGHTS = 1, O_OUT, O_DTYPE };
static const struct option OPTIONS[] = {{"weights", required_argument, 0, O_WEIGHTS},
                                        {"out", required_argument, 0, O_OUT},
                                        {"dtype", required_argument, 0, O_DTYPE},
                                        {"help", no_argument, 0, 'h'},
                                        {0, 0, 0, 0}};

static int parse_flag(void *opts, int c, const char *arg) {
    convert_opts *o = opts;
    switch (c) {
    case O_WEIGHTS: o->in = arg; break;
    case O_OUT: o->out = arg; break;
    case O_DTYPE:
        if (ds_dtype_parse(arg, &o->dtype)) return cli_error(2, "--dtype: %s", ds_last_error());
        o->dtype_given = 1;
        break;
    default: fputs(USAGE, stderr); return 2;
    }
    return 0;
}

/* largest |a - b| over the two models' parameter blobs (same table) */
static double max_change(ds_model *a, ds_model *b) {
    const float *pa = ds_model_params(a), *pb = ds_model_params(b);
    long n = ds_model_table(a)->total;
    double worst = 0;
    for (long i = 0; i < n; i++) worst = fmax(worst, fabs((double)pa[i] - (double)pb[i]));
    return worst;
}

int cmd_convert(int argc, char **argv) {
    convert_opts o = {0};
    int rc = cli_parse_options(argc, argv, "convert", "h", OPTIONS, USAGE, parse_flag, &o);
    if (rc) return rc < 0 ? 0 : rc;
    if (!o.in || !o.out || !o.dtype_given)
        return cli_error(2, "convert: --weights IN, --out OUT and --dtype are all required\n%s", USAGE);
    const cli_file files[] = {{"--weights", o.in, CLI_IN}, {"--out", o.out, CLI_OUT_FILE}};
    if (cli_check_files(files, 2)) return 1;
    long in_size = 0;
    unsigned char *in_bytes = util_read_kind(o.in, &INPUT_WEIGHTS, &in_size);
    if (!in_bytes) return cli_error(1, "%s", ds_last_error());
    ds_model *m = ds_model_from_bytes(in_bytes, (size_t)in_size), *back = NULL;
    free(in_bytes);
    if (!m) return cli_error(1, "%s: %s", o.in, ds_last_error());
    uint8_t *bytes = NULL;
    size_t n = 0;
    int status = 1;
    if (ds_model_to_bytes(m, o.dtype, &bytes, &n)) {
        cli_error(1, "convert: %s", ds_last_error());
    } else if (!(back = ds_model_from_bytes(bytes, n))) {
        cli_error(1, "convert: the %s file does not load back (%s)", ds_dtype_name(o.dtype), ds_last_error());
    } else if (util_write_atomic(o.out, bytes, (long)n)) {
        cli_error(1, "convert: %s", ds_last_error());
    } else {
        printf("wrote %s: %s, %zu bytes (was %ld), largest parameter change %.3g\n", o.out, ds_dtype_name(o.dtype), n,
               in_size, max_change(m, back));
        status = 0;
    }
    free(bytes);
    ds_model_free(back);
    ds_model_free(m);
    return status;
}
