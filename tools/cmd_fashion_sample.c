/* cmd_fashion_sample.c — `diffuscope fashion-sample`: cut the small set of real Fashion-MNIST
 * test images that the page ships (the forward-noising view and the exact mixture model).
 * Takes the first N images of each class in test-set order, so the output is reproducible. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "fashion.h"
#include "sampler_models.h"
#include "util.h"

static const char *USAGE =
    "usage: diffuscope fashion-sample [--data DIR] [--per-class N] [--out FILE]\n"
    "  Reads the Fashion-MNIST test split from DIR (default $DS_FASHION_DIR or\n"
    "  /usr/share/datasets/fashion-mnist), keeps the first N images of each class (default 8)\n"
    "  and writes them in the sample format of src/sampler_models.h (default web/data/fashion-sample.bin).\n";

int cmd_fashion_sample(int argc, char **argv) {
    static const struct option opts[] = {{"data", required_argument, 0, 'd'}, {"per-class", required_argument, 0, 'n'},
                                         {"out", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *dir = NULL, *out = "web/data/fashion-sample.bin";
    long per_class = 8;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'n': if (cli_parse_long("--per-class", optarg, 1, 100, &per_class)) return 2; break;
        case 'o': out = optarg; break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: fputs(USAGE, stderr); return 2;
        }
    }
    if (optind < argc) return cli_error(2, "fashion-sample: unexpected argument '%s'", argv[optind]);
    const cli_file files[] = {{"--out", out, CLI_OUT}};
    if (cli_check_files(files, 1)) return 1;
    fashion_set set;
    if (fashion_load(dir, "test", &set)) return cli_error(1, "%s", ds_last_error());
    int status = 1;
    uint8_t *file = NULL;
    const long D = FASHION_PIXELS;
    const uint32_t rows = FASHION_SIDE, cols = FASHION_SIDE;
    int K = (int)(10 * per_class), taken[10] = {0}, k = 0;
    long size = DS_FASHION_SAMPLE_HEADER + K + (long)K * D;
    file = calloc(1, size);
    if (!file) { cli_error(1, "out of memory"); goto done; }
    uint32_t header[5] = {0, DS_FASHION_SAMPLE_VERSION, (uint32_t)K, rows, cols};
    for (int i = 1; i < 5; i++) for (int b = 0; b < 4; b++) file[4 * i + b] = (uint8_t)(header[i] >> (8 * b));
    memcpy(file, DS_FASHION_SAMPLE_MAGIC, 4);
    /* class-major order: image k = class * per_class + j */
    for (int cls = 0; cls < 10; cls++)
        for (int i = 0; i < set.n && taken[cls] < per_class; i++) {
            if (set.labels[i] != cls) continue;
            k = cls * (int)per_class + taken[cls]++;
            file[DS_FASHION_SAMPLE_HEADER + k] = (uint8_t)cls;
            memcpy(file + DS_FASHION_SAMPLE_HEADER + K + (long)k * D, set.pixels + (long)i * D, D);
        }
    for (int cls = 0; cls < 10; cls++)
        if (taken[cls] < per_class) { cli_error(1, "fashion-sample: only %d images of class %d", taken[cls], cls); goto done; }
    ds_fashion_sample check;
    if (ds_fashion_sample_parse(file, size, &check)) { cli_error(1, "%s", ds_last_error()); goto done; }
    if (util_write_atomic(out, file, size)) { cli_error(1, "%s", ds_last_error()); goto done; }
    printf("wrote %s: %d images (%ld per class), %ld bytes\n", out, K, per_class, size);
    status = 0;
done:
    free(file);
    fashion_free(&set);
    return status;
}
