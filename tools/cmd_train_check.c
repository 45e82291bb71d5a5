/* cmd_train_check.c — `diffuscope train-check --out DIR`: one training batch of the Fashion UNet, as
 * our trainer computes it, written out for a peer to recompute (tools/bench_train.py, PyTorch).
 *
 * Writes DIR/unet.dsw (a randomly initialised UNet of the default config, f32) and
 * DIR/batch.bin: the noised batch the trainer draws first (x_t, ε, t, class after label
 * dropout) with the loss and the global gradient norm our forward and backward give for it,
 * before any update. Format of batch.bin (little-endian): "DSTB", u32 version 1, u32 B, C, S,
 * f64 loss, f64 gradient norm, then x_t (B, C, S, S) f32, ε (B, C, S, S) f32, t (B) f32,
 * class (B) i32. Not here: the timing (bench_train.py runs `diffuscope train` for that). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "fashion.h"
#include "unet_trainer.h"
#include "util.h"
#include "weights.h"

static const char *USAGE =
    "usage: diffuscope train-check --out DIR [--batch B] [--seed K] [--data DIR]\n"
    "  Writes DIR/unet.dsw (a random default UNet, f32) and DIR/batch.bin (the first training batch\n"
    "  our trainer draws, with its loss and gradient norm) for tools/bench_train.py to recompute.\n"
    "  --batch B (default 64)  --seed K (default 1)  --data the Fashion-MNIST folder\n";

typedef struct {
    const char *dir, *data;
    long batch, seed;
} check_opts;

static int parse_flag(void *opts, int c, const char *arg) {
    check_opts *o = opts;
    switch (c) {
    case 'b': return cli_parse_long("--batch", arg, 1, 1024, &o->batch) ? 2 : 0;
    case 's': return cli_parse_long("--seed", arg, 0, 1L << 53, &o->seed) ? 2 : 0;
    case 'd': o->data = arg; return 0;
    case 'o': o->dir = arg; return 0;
    default: fputs(USAGE, stderr); return 2;
    }
}

static int write_batch(const char *path, const unet_trainer *tr, double loss, double gnorm) {
    const long B = tr->cfg.batch, n = B * tr->item;
    const int C = tr->unet.config.in_channels, S = tr->unet.config.image_size;
    long size = 36 + 4 * (2 * n + 2 * B);
    uint8_t *buf = malloc((size_t)size);
    if (!buf) return cli_error(1, "train-check: out of memory");
    uint32_t head[5] = {0x42545344u /* "DSTB" */, 1, (uint32_t)B, (uint32_t)C, (uint32_t)S};
    double figures[2] = {loss, gnorm};
    uint8_t *p = buf;
    memcpy(p, head, sizeof head), p += sizeof head;
    memcpy(p, figures, sizeof figures), p += sizeof figures;
    memcpy(p, tr->xt, 4 * (size_t)n), p += 4 * n;
    memcpy(p, tr->eps, 4 * (size_t)n), p += 4 * n;
    memcpy(p, tr->tf, 4 * (size_t)B), p += 4 * B;
    memcpy(p, tr->cls, 4 * (size_t)B);
    int rc = util_write_atomic(path, buf, size);
    free(buf);
    return rc ? cli_error(1, "train-check: %s", ds_last_error()) : 0;
}

static int write_weights(const char *path, const unet_trainer *tr) {
    int config[DS_UNET_N_CONFIG];
    const int n_config = ds_unet_config_to_ints(&tr->unet.config, config);
    const ds_weights_meta meta = {.schedule_kind = tr->cfg.schedule, .schedule_T = tr->cfg.T, .prediction = DS_PREDICT_EPS};
    uint8_t *bytes = NULL;
    size_t size = 0;
    if (ds_weights_write(DS_MODEL_UNET, config, n_config, &meta, &tr->unet.table, tr->unet.params, DS_DTYPE_F32,
                         &bytes, &size))
        return cli_error(1, "train-check: %s", ds_last_error());
    int rc = util_write_atomic(path, bytes, (long)size);
    free(bytes);
    return rc ? cli_error(1, "train-check: %s", ds_last_error()) : 0;
}

int cmd_train_check(int argc, char **argv) {
    static const struct option opts[] = {{"batch", required_argument, 0, 'b'}, {"seed", required_argument, 0, 's'},
                                         {"data", required_argument, 0, 'd'}, {"out", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    check_opts o = {.data = FASHION_DIR_DEFAULT, .batch = 64, .seed = 1};
    int rc = cli_parse_options(argc, argv, "train-check", "h", opts, USAGE, parse_flag, &o);
    if (rc) return rc < 0 ? 0 : rc;
    if (!o.dir) return cli_error(2, "train-check: --out DIR is required (see --help)");

    fashion_set data;
    if (fashion_load(o.data, "train", &data)) return cli_error(1, "train-check: %s", ds_last_error());
    ds_unet_config uc;
    ds_unet_config_default(&uc);
    int config[DS_UNET_N_CONFIG];
    const int n_config = ds_unet_config_to_ints(&uc, config);
    unet_trainer_config c = {.batch = (int)o.batch, .shard = 8 < o.batch ? 8 : (int)o.batch, .workers = 1,
                             .p_uncond = 0.1, .schedule = DS_SCHEDULE_LINEAR, .T = 1000, .seed = (uint64_t)o.seed};
    ds_optim_config_default(&c.optim);
    unet_trainer tr;
    double loss = 0, sq = 0;
    const unet_train_data td = unet_train_data_fashion(&data);
    if (unet_trainer_init(&tr, &c, config, n_config, &td) || unet_trainer_gradients(&tr, &loss)) {
        rc = cli_error(1, "train-check: %s", ds_last_error());
    } else {
        for (long i = 0; i < tr.unet.table.total; i++) sq += (double)tr.grads[i] * tr.grads[i];
        char path[4096];
        snprintf(path, sizeof path, "%s/unet.dsw", o.dir);
        rc = write_weights(path, &tr);
        snprintf(path, sizeof path, "%s/batch.bin", o.dir);
        if (!rc) rc = write_batch(path, &tr, loss, sqrt(sq));
        if (!rc) printf("train-check: batch of %ld, loss %.7f, gradient norm %.6f -> %s\n", o.batch, loss, sqrt(sq), o.dir);
    }
    unet_trainer_free(&tr);
    fashion_free(&data);
    return rc;
}
