/* cmd_bench.c — `diffuscope bench`: how fast the native build runs a UNet, one thread.
 *
 * Times the whole forward pass at batch 1 and 16 (median of timed repeats), the vector
 * unit's mul + add peak (kernels_bench.h) and every conv layer against it. --json prints the
 * same figures as one JSON object for tools/bench_wasm.mjs, which sets them beside our WASM
 * build and onnxruntime-web on the same weights. Not here: the WASM and onnxruntime sides. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "error.h"
#include "kernels_bench.h"
#include "kernels_variant.h"
#include "model.h"
#include "util.h"

static const char *USAGE =
    "usage: diffuscope bench [WEIGHTS.dsw] [--seconds S] [--json]\n"
    "  Times the UNet forward pass (single thread) at batch 1 and 16: median ms per call over\n"
    "  repeats of about S/5 seconds each (default S = 2), ms per image and GFLOP/s; then the\n"
    "  vector unit's mul + add peak and each conv layer's GFLOP/s against it. Without WEIGHTS a\n"
    "  random UNet of the default (Fashion) config is timed. --json prints one JSON object.\n";

#define BENCH_REPEATS 5
#define BENCH_MAX_ROWS 64

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median ms per forward of batch B: a warm-up call, then BENCH_REPEATS repeats of about
 * `seconds` / BENCH_REPEATS each. Returns DS_OK or DS_ERR. */
static int time_forward(ds_model *m, int B, double seconds, double *ms_median) {
    const int item = ds_model_item_floats(m);
    float *x = malloc(sizeof(float) * (size_t)B * item), *eps = malloc(sizeof(float) * (size_t)B * item);
    float *t = malloc(sizeof(float) * (size_t)B);
    int *cls = malloc(sizeof(int) * (size_t)B);
    int rc = DS_OK;
    if (!x || !eps || !t || !cls) {
        rc = ds_fail("bench: out of memory");
        goto done;
    }
    for (long i = 0; i < (long)B * item; i++) x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    for (int b = 0; b < B; b++) t[b] = (float)(10 + (60 * b) % 990), cls[b] = b % 11;
    if ((rc = ds_model_forward(m, x, t, cls, B, eps))) goto done;
    double per[BENCH_REPEATS];
    for (int r = 0; r < BENCH_REPEATS; r++) {
        int runs = 0;
        double t0 = util_now_s(), dt;
        do {
            if ((rc = ds_model_forward(m, x, t, cls, B, eps))) goto done;
            runs++;
            dt = util_now_s() - t0;
        } while (dt < seconds / BENCH_REPEATS);
        per[r] = dt / runs * 1e3;
    }
    qsort(per, BENCH_REPEATS, sizeof per[0], cmp_double);
    *ms_median = per[BENCH_REPEATS / 2];
done:
    free(x), free(eps), free(t), free(cls);
    return rc;
}

int cmd_bench(int argc, char **argv) {
    static const struct option opts[] = {{"seconds", required_argument, 0, 's'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    double seconds = 2.0;
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:jh", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (cli_parse_double("--seconds", optarg, &seconds)) return 2;
            if (seconds < 0.05 || seconds > 120) return cli_error(2, "bench: --seconds must be between 0.05 and 120");
            break;
        case 'j': json = 1; break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: fputs(USAGE, stderr); return 2;
        }
    }
    if (argc - optind > 1) {
        fputs(USAGE, stderr);
        return 2;
    }
    ds_model *m = optind < argc ? cli_load_model(argv[optind]) : ds_model_random(DS_MODEL_UNET, NULL, 1);
    if (!m) return cli_error(1, "bench: %s", ds_last_error());
    if (ds_model_get_kind(m) != DS_MODEL_UNET) {
        ds_model_free(m);
        return cli_error(1, "bench: %s holds a point MLP; bench times the UNet", argv[optind]);
    }
    const int batches[2] = {1, 16};
    double ms[2], peak[2], rows[BENCH_MAX_ROWS * DS_BENCH_ROW];
    const double mflop = ds_model_mflop(m);
    int n_rows = -1;
    for (int k = 0; k < 2; k++)
        if (time_forward(m, batches[k], seconds, &ms[k])) goto fail;
    if (ds_bench_peak(seconds / 4, peak)) goto fail;
    n_rows = ds_bench_unet_convs(ds_model_unet(m), 1, seconds / 40, BENCH_MAX_ROWS, rows);
    if (n_rows < 0) goto fail;

    if (json) {
        printf("{\"kernels\": \"%s\", \"mflop_per_image\": %.4f, \"params\": %ld, \"peak_gflops\": %.3f, \"forward\": [", ds_kernels_variant(), mflop,
               ds_model_num_params(m), peak[0]);
        for (int k = 0; k < 2; k++)
            printf("%s{\"batch\": %d, \"ms\": %.4f, \"ms_per_image\": %.4f, \"gflops\": %.3f}", k ? ", " : "",
                   batches[k], ms[k], ms[k] / batches[k], mflop * batches[k] / ms[k]);
        printf("], \"convs\": [");
        for (int r = 0; r < n_rows; r++) {
            const double *row = rows + r * DS_BENCH_ROW;
            printf("%s{\"cin\": %d, \"size\": %d, \"cout\": %d, \"k\": %d, \"stride\": %d, \"ms\": %.5f, \"gflops\": %.3f, "
                   "\"mflop\": %.4f, \"winograd\": %d, \"mflop_executed\": %.4f}",
                   r ? ", " : "", (int)row[0], (int)row[1], (int)row[2], (int)row[3], (int)row[4], row[5], row[6], row[7],
                   (int)row[8], row[9]);
        }
        printf("]}\n");
    } else {
        printf("UNet: %ld parameters, %.1f MFLOP per image; native build, %s kernels, 1 thread\n", ds_model_num_params(m), mflop,
               ds_kernels_variant());
        for (int k = 0; k < 2; k++)
            printf("forward batch %2d: %8.3f ms per call, %7.3f ms per image, %6.2f GFLOP/s (median of %d)\n",
                   batches[k], ms[k], ms[k] / batches[k], mflop * batches[k] / ms[k], BENCH_REPEATS);
        printf("vector mul+add peak: %.2f GFLOP/s\n", peak[0]);
        printf("conv layers, batch 1, fastest call (cin -> cout, size, kernel/stride, algorithm): ms, GFLOP/s counted\n"
               "as a direct conv, GFLOP/s of the arithmetic executed (Winograd: its GEMMs + transforms), that as %% of peak\n");
        double flop = 0, done = 0, ms_sum = 0;
        for (int r = 0; r < n_rows; r++) {
            const double *row = rows + r * DS_BENCH_ROW;
            printf("  %3d -> %3d  %2dx%-2d  %dx%d/%d  %-8s  %7.3f ms  %6.2f GFLOP/s  %6.2f GFLOP/s  %3.0f%%\n", (int)row[0],
                   (int)row[2], (int)row[1], (int)row[1], (int)row[3], (int)row[3], (int)row[4], row[8] ? "winograd" : "direct",
                   row[5], row[6], row[9] / row[5], 100 * row[9] / row[5] / peak[0]);
            flop += row[7], done += row[9], ms_sum += row[5];
        }
        printf("  all convs: %.3f ms, %.2f GFLOP/s as direct convs, %.2f GFLOP/s executed = %.0f%% of peak\n", ms_sum,
               flop / ms_sum, done / ms_sum, 100 * done / ms_sum / peak[0]);
    }
    ds_model_free(m);
    return 0;
fail:
    ds_model_free(m);
    return cli_error(1, "bench: %s", ds_last_error());
}
