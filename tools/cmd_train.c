/* cmd_train.c — `diffuscope train`: train the UNet (Fashion-MNIST or a folder of images) or the 2-D point MLP.
 *
 * parse (flags into train_opts) -> set up (a new run from the flags, or a checkpoint; the data;
 * the trainer) -> loop (steps, log lines, checkpoints). One step is the trainer's: the UNet's
 * in unet_trainer.h, the MLP's in src/mlp_train.h; both draw the batch from one RNG on the main
 * thread and run fixed shards on --threads workers (parallel.h), so 1 thread and 16 give
 * bit-identical weights. Checkpoints (src/checkpoint.h, written with util_write_atomic) every
 * --checkpoint-every seconds and on SIGINT / SIGTERM resume exactly with --resume. The weights
 * file (--out) holds the EMA weights and is rewritten at every checkpoint.
 * Not here: the training maths (src/unet_train.h, src/mlp_train.h), the data readers. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "cli.h"
#include "error.h"
#include "input_kinds.h"
#include "fashion.h"
#include "image_folder.h"
#include "mlp_train.h"
#include "optim.h"
#include "parallel.h"
#include "points_io.h"
#include "schedule.h"
#include "unet_trainer.h"
#include "util.h"
#include "weights.h"

static const char *USAGE =
    "usage: diffuscope train --model unet|mlp --out W.dsw --checkpoint C.ckpt [--resume] [options]\n"
    "  --model unet          the class-conditional UNet (data: --data DIR, Fashion-MNIST; or --images DIR)\n"
    "  --model mlp           the 2-D point MLP (data: --points SHAPE|FILE, e.g. cow, moons, pts.txt)\n"
    "  --steps N             train until step N in total (default 10000)\n"
    "  --batch B             items per step (default 64 for unet, 256 for mlp)\n"
    "  --shard S             items per work unit; fixes the arithmetic (default 8 unet, 64 mlp)\n"
    "  --threads K           worker threads (default 2); results do not depend on K\n"
    "  --lr X --warmup N --decay-steps N --min-lr-ratio X --weight-decay X --clip X\n"
    "                        Adam(W): lr 1e-3 (unet), 2e-3 (mlp), warm-up 500 (linear), no decay\n"
    "                        (decay-steps N: cosine to lr*ratio at step N), weight decay 0, clip 1\n"
    "  --ema D               EMA decay of the weights (default 0.999; the EMA is what --out holds)\n"
    "  --schedule linear|cosine  --T N   noise schedule (default linear, 1000 steps)\n"
    "  --p-uncond P          label dropout for classifier-free guidance (default 0.1; unet only)\n"
    "  --seed K              initialisation and data order (default 1)\n"
    "  --base C --mult 1,2,2 --res-blocks R --groups G --temb E   UNet shape (default 32, 1,2,2, 1, 8, 128)\n"
    "  --attention           unet only: one self-attention layer after the mid block (lowest level)\n"
    "  --hidden H --layers N --temb E                             MLP shape (default 128, 4, 32)\n"
    "  --points-n N          points drawn from a shape (default 20000)\n"
    "  --objective diffusion|flow  mlp only: predict the noise (default) or the flow-matching\n"
    "                        velocity (sample with points sample --sampler flow-euler|flow-heun)\n"
    "  --prediction eps|v    unet only: learn the noise (default) or v = sqrt(abar) eps - sqrt(1-abar) x0\n"
    "  --min-snr G           unet only: min-SNR-G loss weighting (e.g. 5; default 0 = off)\n"
    "  --dtype f16|f32|q8    weights file precision (default f16; q8: 8-bit, a scale per output channel)\n"
    "  --checkpoint-every S  seconds between checkpoints (default 300); --log-every S (default 10)\n"
    "  --data DIR            Fashion-MNIST folder (default $DS_FASHION_DIR or " FASHION_DIR_DEFAULT ")\n"
    "  --images DIR          instead, your own PNG / JPEG images: one class per subfolder (at most 10,\n"
    "                        sorted names = class names) or none (one class named after DIR)\n"
    "  --image-size 28|32    the model's image side (default 32); images are area-resized and centred\n"
    "  --channels 1|3        greyscale or RGB (default: the images' own; 1|3 converts them all)\n"
    "  --bad-images refuse|skip  an unreadable, empty, too big or odd-channel image stops the run\n"
    "                        (default refuse: each is listed, nothing is written) or is left out\n"
    "On resume the model, optimiser, schedule, batch and shard come from the checkpoint (except\n"
    "--decay-steps N / --min-lr-ratio X: a cosine decay from the resumed step to step N); --steps,\n"
    "--threads, --out and the intervals may change. Ctrl-C (SIGINT, SIGTERM) saves a checkpoint and\n"
    "exits by the signal (status 130, 143); a second Ctrl-C stops at once.\n";

#define EXTRA_MAGIC 0x44535452u /* "DSTR" */

/* Trainer state beyond the optimiser: the checkpoint's `extra` blob. */
typedef struct {
    uint32_t magic;
    int32_t kind;        /* DS_MODEL_UNET / DS_MODEL_MLP */
    int32_t schedule;    /* ds_schedule_kind */
    int32_t T;
    int32_t batch, shard;
    double p_uncond;
    double loss_avg;     /* smoothed loss (EMA 0.98 over steps, bias-corrected on print) */
    double loss_avg_w;   /* 1 - 0.98^steps: the bias correction */
    double seconds;      /* wall time trained so far, over all runs */
    int64_t items;       /* items seen */
    uint64_t data_hash;  /* FNV-1a of the training data: resume refuses other data */
    int32_t data_n;
    int32_t objective;   /* ds_mlp_objective (was padding: older checkpoints read 0 = diffusion) */
    /* --images runs (absent from older checkpoints, which read 0: Fashion-MNIST or points) */
    int32_t images;      /* 1: the UNet trains on a folder, re-read and checked against data_hash on resume */
    int32_t channels_opt; /* --channels as given: 0 (the images' own), 1 or 3 */
    int32_t skip_bad;    /* --bad-images skip */
    int32_t prediction;  /* the UNet's target, ds_prediction (was padding: older checkpoints read 0 = eps) */
    /* absent from checkpoints written before --min-snr, which read 0: no weighting */
    double min_snr;      /* min-SNR gamma, 0 = off */
} train_extra;

/* the extra blob of checkpoints written before --images: the fields up to `images` */
#define EXTRA_BYTES_V1 ((long)offsetof(train_extra, images))
/* ... and before --min-snr */
#define EXTRA_BYTES_V2 ((long)offsetof(train_extra, min_snr))

/* The model description: the checkpoint's `model` blob. */
typedef struct {
    int32_t kind, n_config;
    int32_t config[DS_WEIGHTS_MAX_CONFIG];
} model_blob;

static int parse_mult(const char *text, int mult[DS_UNET_MAX_LEVELS], int *levels) {
    int n = 0;
    const char *p = text;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 8 || n == DS_UNET_MAX_LEVELS) return cli_error(2, "--mult expects 1 to 4 comma-separated integers 1..8, got '%s'", text);
        mult[n++] = (int)v;
        p = end;
        if (*p == ',') p++;
        else if (*p) return cli_error(2, "--mult expects comma-separated integers, got '%s'", text);
    }
    if (!n) return cli_error(2, "--mult is empty");
    *levels = n;
    return 0;
}

enum {
    O_MODEL = 256, O_OUT, O_CKPT, O_RESUME, O_STEPS, O_BATCH, O_SHARD, O_THREADS, O_LR, O_WARMUP, O_DECAY, O_MINLR,
    O_WD, O_CLIP, O_EMA, O_SCHED, O_T, O_PUNCOND, O_SEED, O_BASE, O_MULT, O_RES, O_GROUPS, O_TEMB, O_HIDDEN,
    O_LAYERS, O_POINTS, O_POINTS_N, O_DTYPE, O_CKPT_EVERY, O_LOG_EVERY, O_DATA, O_OBJECTIVE, O_IMAGES, O_IMAGE_SIZE,
    O_CHANNELS, O_BAD_IMAGES, O_PREDICTION, O_MIN_SNR, O_ATTENTION
};
static const struct option OPTIONS[] = {
    {"model", required_argument, 0, O_MODEL}, {"out", required_argument, 0, O_OUT},
    {"checkpoint", required_argument, 0, O_CKPT}, {"resume", no_argument, 0, O_RESUME},
    {"steps", required_argument, 0, O_STEPS}, {"batch", required_argument, 0, O_BATCH},
    {"shard", required_argument, 0, O_SHARD}, {"threads", required_argument, 0, O_THREADS},
    {"lr", required_argument, 0, O_LR}, {"warmup", required_argument, 0, O_WARMUP},
    {"decay-steps", required_argument, 0, O_DECAY}, {"min-lr-ratio", required_argument, 0, O_MINLR},
    {"weight-decay", required_argument, 0, O_WD}, {"clip", required_argument, 0, O_CLIP},
    {"ema", required_argument, 0, O_EMA}, {"schedule", required_argument, 0, O_SCHED},
    {"T", required_argument, 0, O_T}, {"p-uncond", required_argument, 0, O_PUNCOND},
    {"seed", required_argument, 0, O_SEED}, {"base", required_argument, 0, O_BASE},
    {"mult", required_argument, 0, O_MULT}, {"res-blocks", required_argument, 0, O_RES},
    {"groups", required_argument, 0, O_GROUPS}, {"temb", required_argument, 0, O_TEMB},
    {"hidden", required_argument, 0, O_HIDDEN}, {"layers", required_argument, 0, O_LAYERS},
    {"points", required_argument, 0, O_POINTS}, {"points-n", required_argument, 0, O_POINTS_N},
    {"dtype", required_argument, 0, O_DTYPE}, {"checkpoint-every", required_argument, 0, O_CKPT_EVERY},
    {"log-every", required_argument, 0, O_LOG_EVERY}, {"data", required_argument, 0, O_DATA},
    {"objective", required_argument, 0, O_OBJECTIVE}, {"images", required_argument, 0, O_IMAGES},
    {"image-size", required_argument, 0, O_IMAGE_SIZE}, {"channels", required_argument, 0, O_CHANNELS},
    {"bad-images", required_argument, 0, O_BAD_IMAGES}, {"prediction", required_argument, 0, O_PREDICTION},
    {"min-snr", required_argument, 0, O_MIN_SNR}, {"attention", no_argument, 0, O_ATTENTION},
    {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};


/* ---- parse ---- */

typedef struct {
    const char *model_name, *out, *ckpt, *points, *data_dir, *images;
    int resume;
    long image_size, channels; /* --images: 0 = not given (32; the images' own) */
    int skip_bad;              /* --bad-images skip */
    long steps, batch, shard, threads, warmup, decay, T, seed;
    long base, res_blocks, groups, temb, hidden, layers, points_n;
    int attention;            /* --attention: self-attention after the UNet's mid block */
    int mult[DS_UNET_MAX_LEVELS], levels;
    double lr, min_lr, wd, clip, ema, p_uncond, ckpt_every, log_every, min_snr;
    ds_prediction prediction; /* --prediction: the UNet's target */
    int unet_target_given;    /* --prediction or --min-snr was given (refused for the MLP) */
    ds_schedule_kind sched;
    ds_dtype dtype;
    ds_mlp_objective objective;
    int fixed_by_checkpoint; /* flags given that a resume takes from the checkpoint instead */
    int min_lr_given;        /* --min-lr-ratio was given (it and --decay-steps may change on resume) */
} train_opts;

static void opts_default(train_opts *o) {
    *o = (train_opts){.steps = 10000, .threads = 2, .warmup = 500, .T = 1000, .seed = 1, .base = 32, .res_blocks = 1,
                      .groups = 8, .temb = -1, .hidden = 128, .layers = 4, .points_n = 20000, .mult = {1, 2, 2, 0},
                      .levels = 3, .lr = -1, .min_lr = 0.1, .clip = 1.0, .ema = 0.999, .p_uncond = 0.1,
                      .ckpt_every = 300, .log_every = 10, .sched = DS_SCHEDULE_LINEAR, .dtype = DS_DTYPE_F16};
}

static int is_fixed_by_checkpoint(int c) {
    return c == O_BATCH || c == O_SHARD || c == O_LR || c == O_WARMUP || c == O_WD ||
           c == O_CLIP || c == O_EMA || c == O_SCHED || c == O_T || c == O_PUNCOND || c == O_BASE || c == O_MULT ||
           c == O_RES || c == O_GROUPS || c == O_TEMB || c == O_HIDDEN || c == O_LAYERS || c == O_OBJECTIVE ||
           c == O_IMAGE_SIZE || c == O_CHANNELS || c == O_BAD_IMAGES || c == O_PREDICTION || c == O_MIN_SNR ||
           c == O_ATTENTION;
}

/* one flag; 0, or the exit status after printing an error */
static int parse_flag(void *opts, int c, const char *arg) {
    train_opts *o = opts;
    if (is_fixed_by_checkpoint(c)) o->fixed_by_checkpoint = 1;
    switch (c) {
    case O_MODEL: o->model_name = arg; break;
    case O_OUT: o->out = arg; break;
    case O_CKPT: o->ckpt = arg; break;
    case O_RESUME: o->resume = 1; break;
    case O_ATTENTION: o->attention = 1; break;
    case O_STEPS: if (cli_parse_long("--steps", arg, 1, 100000000, &o->steps)) return 2; break;
    case O_BATCH: if (cli_parse_long("--batch", arg, 1, 65536, &o->batch)) return 2; break;
    case O_SHARD: if (cli_parse_long("--shard", arg, 1, 65536, &o->shard)) return 2; break;
    case O_THREADS: if (cli_parse_long("--threads", arg, 1, 256, &o->threads)) return 2; break;
    case O_LR:
        if (cli_parse_double("--lr", arg, &o->lr)) return 2;
        if (!(o->lr >= 1e-12 && o->lr <= 10)) return cli_error(2, "--lr must be in [1e-12, 10], got %s", arg);
        break;
    case O_WARMUP: if (cli_parse_long("--warmup", arg, 0, 100000000, &o->warmup)) return 2; break;
    case O_DECAY: if (cli_parse_long("--decay-steps", arg, 0, 100000000, &o->decay)) return 2; break;
    case O_MINLR:
        if (cli_parse_double("--min-lr-ratio", arg, &o->min_lr)) return 2;
        o->min_lr_given = 1;
        if (o->min_lr < 0 || o->min_lr > 1) return cli_error(2, "--min-lr-ratio must be in [0, 1], got %s", arg);
        break;
    case O_WD:
        if (cli_parse_double_in("--weight-decay", arg, 0, 10, &o->wd)) return 2;
        break;
    case O_CLIP:
        if (cli_parse_double_in("--clip", arg, 0, 1e12, &o->clip)) return 2; /* 0: off */
        break;
    case O_EMA:
        if (cli_parse_double_in("--ema", arg, 0, 0.999999, &o->ema)) return 2;
        break;
    case O_SCHED:
        if (ds_schedule_kind_parse(arg, &o->sched)) return cli_error(2, "--schedule: %s", ds_last_error());
        break;
    case O_T: if (cli_parse_long("--T", arg, 1, DS_MAX_T, &o->T)) return 2; break;
    case O_PUNCOND: if (cli_parse_double_in("--p-uncond", arg, 0, 1, &o->p_uncond)) return 2; break;
    case O_SEED: if (cli_parse_long("--seed", arg, 0, 2147483647L, &o->seed)) return 2; break;
    case O_BASE: if (cli_parse_long("--base", arg, 1, 256, &o->base)) return 2; break;
    case O_MULT: if (parse_mult(arg, o->mult, &o->levels)) return 2; break;
    case O_RES: if (cli_parse_long("--res-blocks", arg, 1, DS_UNET_MAX_RES, &o->res_blocks)) return 2; break;
    case O_GROUPS: if (cli_parse_long("--groups", arg, 1, 64, &o->groups)) return 2; break;
    case O_TEMB: if (cli_parse_long("--temb", arg, 2, 1024, &o->temb)) return 2; break;
    case O_HIDDEN: if (cli_parse_long("--hidden", arg, 1, 4096, &o->hidden)) return 2; break;
    case O_LAYERS: if (cli_parse_long("--layers", arg, 1, DS_MLP_MAX_LAYERS, &o->layers)) return 2; break;
    case O_POINTS: o->points = arg; break;
    case O_POINTS_N: if (cli_parse_long("--points-n", arg, 2, 1 << 20, &o->points_n)) return 2; break;
    case O_DTYPE:
        if (ds_dtype_parse(arg, &o->dtype)) return cli_error(2, "--dtype: %s", ds_last_error());
        break;
    case O_CKPT_EVERY: if (cli_parse_double("--checkpoint-every", arg, &o->ckpt_every)) return 2; break;
    case O_LOG_EVERY: if (cli_parse_double("--log-every", arg, &o->log_every)) return 2; break;
    case O_DATA: o->data_dir = arg; break;
    case O_IMAGES: o->images = arg; break;
    case O_IMAGE_SIZE:
        if (strcmp(arg, "28") && strcmp(arg, "32")) return cli_error(2, "--image-size must be 28 or 32, got '%s'", arg);
        o->image_size = atol(arg);
        break;
    case O_CHANNELS:
        if (strcmp(arg, "1") && strcmp(arg, "3")) return cli_error(2, "--channels must be 1 (greyscale) or 3 (RGB), got '%s'", arg);
        o->channels = atol(arg);
        break;
    case O_BAD_IMAGES:
        if (strcmp(arg, "skip") && strcmp(arg, "refuse")) return cli_error(2, "--bad-images must be skip or refuse, got '%s'", arg);
        o->skip_bad = !strcmp(arg, "skip");
        break;
    case O_OBJECTIVE:
        if (ds_mlp_objective_parse(arg, &o->objective)) return cli_error(2, "--objective: %s", ds_last_error());
        break;
    case O_PREDICTION:
        if (strcmp(arg, "eps") && strcmp(arg, "v")) return cli_error(2, "--prediction must be eps or v, got '%s'", arg);
        o->prediction = !strcmp(arg, "v") ? DS_PREDICT_V : DS_PREDICT_EPS;
        o->unet_target_given = 1;
        break;
    case O_MIN_SNR:
        if (cli_parse_double_in("--min-snr", arg, 0, 1e6, &o->min_snr)) return 2; /* 0: off */
        o->unet_target_given = 1;
        break;
    default: fputs(USAGE, stderr); return 2;
    }
    return 0;
}

/* 0 to train, -1 after --help, else the exit status after printing an error */
static int parse_args(int argc, char **argv, train_opts *o) {
    opts_default(o);
    int rc = cli_parse_options(argc, argv, "train", "h", OPTIONS, USAGE, parse_flag, o);
    if (rc) return rc;
    if (o->decay && o->decay <= o->warmup)
        return cli_error(2, "--decay-steps (%ld) must exceed --warmup (%ld)", o->decay, o->warmup);
    if (!o->out || !o->ckpt) return cli_error(2, "train: --out W.dsw and --checkpoint C.ckpt are required\n%s", USAGE);
    if (!o->resume && !o->model_name) return cli_error(2, "train: --model unet|mlp is required (or --resume)");
    if (o->ckpt_every <= 0 || o->log_every <= 0) return cli_error(2, "train: --checkpoint-every and --log-every must be > 0");
    if (o->images && o->data_dir) return cli_error(2, "train: give --images DIR (your images) or --data DIR (Fashion-MNIST), not both");
    if (!o->images && (o->image_size || o->channels || o->skip_bad))
        return cli_error(2, "train: --image-size, --channels and --bad-images are for --images DIR");
    const cli_file files[] = {{"--points", o->points, CLI_IN},
                              {"--checkpoint", o->ckpt, o->resume ? CLI_IN_OUT : CLI_OUT_FILE},
                              {"--out", o->out, CLI_OUT_FILE}};
    return cli_check_files(files, 3);
}

/* ---- set up ---- */

/* everything a run holds, released by run_free whatever path leads there */
typedef struct {
    model_blob mb;
    train_extra ex;
    unsigned char *ckbuf;
    ds_checkpoint ck;
    fashion_set fs;
    image_folder folder;   /* --images */
    float *pts;
    int n_data;
    ds_mlp_trainer mlp;
    unet_trainer unet;
    /* the running trainer's state, whichever it is */
    ds_optim *opt;
    float *params;
    ds_rng *rng;
    const ds_param_table *table;
} train_run;

static const char *kind_name(const model_blob *mb) { return mb->kind == DS_MODEL_UNET ? "unet" : "mlp"; }

/* model blob and trainer state of a new run, from the flags (fills the per-model defaults);
 * folder: the --images set (its size, channels and classes shape the UNet), or NULL */
static int describe_new_run(train_opts *o, const image_folder *folder, model_blob *mb, train_extra *ex) {
    if (!strcmp(o->model_name, "unet")) {
        ds_unet_config uc;
        ds_unet_config_default(&uc);
        if (folder) uc.image_size = folder->size, uc.in_channels = folder->channels, uc.n_classes = folder->n_classes;
        uc.base_channels = (int)o->base;
        uc.n_levels = o->levels;
        for (int l = 0; l < DS_UNET_MAX_LEVELS; l++) uc.channel_mult[l] = l < o->levels ? o->mult[l] : 0;
        uc.n_res_blocks = (int)o->res_blocks;
        uc.attention = o->attention;
        uc.groups = (int)o->groups;
        if (o->temb > 0) uc.temb_dim = (int)o->temb;
        if (ds_unet_config_validate(&uc)) return cli_error(2, "train: %s", ds_last_error());
        mb->kind = DS_MODEL_UNET;
        mb->n_config = ds_unet_config_to_ints(&uc, mb->config);
        if (!o->batch) o->batch = 64;
        if (!o->shard) o->shard = 8;
        if (o->lr < 0) o->lr = 1e-3;
        if (o->objective != DS_MLP_OBJECTIVE_DIFFUSION)
            return cli_error(2, "train: --objective flow is for --model mlp (the UNet trains the diffusion objective)");
        ex->prediction = (int32_t)o->prediction;
        ex->min_snr = o->min_snr;
    } else if (!strcmp(o->model_name, "mlp")) {
        ds_mlp_config mc;
        ds_mlp_config_default(&mc);
        mc.hidden = (int)o->hidden;
        mc.n_layers = (int)o->layers;
        if (o->temb > 0) mc.temb_dim = (int)o->temb;
        if (ds_mlp_config_validate(&mc)) return cli_error(2, "train: %s", ds_last_error());
        mb->kind = DS_MODEL_MLP;
        mb->n_config = DS_MLP_N_CONFIG;
        ds_mlp_config_to_ints(&mc, mb->config);
        if (!o->batch) o->batch = 256;
        if (!o->shard) o->shard = 64;
        if (o->lr < 0) o->lr = 2e-3;
        o->p_uncond = 0;
        if (o->unet_target_given) return cli_error(2, "train: --prediction and --min-snr are for --model unet");
        if (o->attention) return cli_error(2, "train: --attention is for --model unet");
    } else {
        return cli_error(2, "train: --model must be unet or mlp (got '%s')", o->model_name);
    }
    ex->magic = EXTRA_MAGIC;
    ex->kind = mb->kind;
    ex->schedule = o->sched;
    ex->T = (int32_t)o->T;
    ex->batch = (int32_t)o->batch;
    ex->shard = (int32_t)(o->shard < o->batch ? o->shard : o->batch);
    ex->p_uncond = o->p_uncond;
    ex->objective = (int32_t)o->objective;
    ex->images = folder != NULL;
    ex->channels_opt = (int32_t)o->channels;
    ex->skip_bad = o->skip_bad;
    return 0;
}

/* --decay-steps on resume: a cosine decay from the resumed step to N (a constant-lr run gets its
 * end), or the run's own decay kept when N is the one it already has (a second resume) */
static int add_decay_on_resume(const train_opts *o, ds_checkpoint *ck) {
    ds_optim_config *c = &ck->cfg;
    if (o->decay && o->decay != c->decay_steps) {
        if (o->decay <= ck->step)
            return cli_error(2, "train: --decay-steps %ld must be after the checkpoint's step %ld", o->decay, ck->step);
        c->decay_steps = o->decay;
        c->decay_start = ck->step;
        fprintf(stderr, "train: lr decays (cosine) from step %ld to step %ld\n", ck->step, o->decay);
    } else if (o->min_lr_given && !c->decay_steps) {
        return cli_error(2, "train: --min-lr-ratio on resume needs --decay-steps (the checkpoint's run has no decay)");
    }
    if (o->min_lr_given) c->min_lr_ratio = o->min_lr;
    return ds_optim_config_check(c) ? cli_error(2, "train: %s", ds_last_error()) : 0;
}

/* model blob and trainer state of a run to resume, from its checkpoint */
static int read_checkpoint(const train_opts *o, train_run *r) {
    const char *ckpt = o->ckpt;
    long size = 0;
    r->ckbuf = util_read_kind(ckpt, &INPUT_CHECKPOINT, &size);
    if (!r->ckbuf)
        return cli_error(1, "train: cannot read checkpoint %s (%s); drop --resume to start a new run", ckpt, ds_last_error());
    if (ds_checkpoint_parse(r->ckbuf, size, &r->ck)) return cli_error(1, "train: %s: %s", ckpt, ds_last_error());
    if (r->ck.model_bytes != sizeof r->mb ||
        (r->ck.extra_bytes != sizeof r->ex && r->ck.extra_bytes != EXTRA_BYTES_V2 && r->ck.extra_bytes != EXTRA_BYTES_V1))
        return cli_error(1, "train: %s was not written by `diffuscope train` (unexpected blob sizes)", ckpt);
    memcpy(&r->mb, r->ck.model, sizeof r->mb);
    memcpy(&r->ex, r->ck.extra, (size_t)r->ck.extra_bytes); /* an older blob leaves the later fields 0 */
    const train_extra *ex = &r->ex;
    if (ex->magic != EXTRA_MAGIC) return cli_error(1, "train: %s: unknown trainer state", ckpt);
    if (ex->batch < 1 || ex->batch > 65536 || ex->shard < 1 || ex->shard > ex->batch || !(ex->p_uncond >= 0 && ex->p_uncond <= 1))
        return cli_error(1, "train: %s: corrupt trainer state (batch %d, shard %d, p_uncond %g)", ckpt, ex->batch,
                         ex->shard, ex->p_uncond);
    if ((unsigned)ex->objective >= DS_MLP_OBJECTIVE_COUNT)
        return cli_error(1, "train: %s: corrupt trainer state (objective %d)", ckpt, ex->objective);
    if (ds_diffusion_target_check((ds_prediction)ex->prediction, ex->min_snr) ||
        (r->mb.kind != DS_MODEL_UNET && (ex->prediction || ex->min_snr)))
        return cli_error(1, "train: %s: corrupt trainer state (prediction %d, min-SNR %g)", ckpt, ex->prediction, ex->min_snr);
    if (o->fixed_by_checkpoint)
        fprintf(stderr, "train: note: resuming uses the checkpoint's model, optimiser, schedule, batch and shard; "
                        "the flags given for them are ignored\n");
    if (o->model_name && strcmp(o->model_name, kind_name(&r->mb)))
        return cli_error(2, "train: --model %s but the checkpoint holds a %s", o->model_name, kind_name(&r->mb));
    if (ex->images && !o->images)
        return cli_error(2, "train: %s was trained on a folder of images: give --images DIR again (it is re-read and checked)", ckpt);
    if (!ex->images && o->images)
        return cli_error(2, "train: %s was not trained on --images (it holds a %s run): drop --images", ckpt,
                         r->mb.kind == DS_MODEL_UNET ? "Fashion-MNIST" : "point");
    if (ex->images && ((ex->channels_opt != 0 && ex->channels_opt != 1 && ex->channels_opt != 3) ||
                       (ex->skip_bad != 0 && ex->skip_bad != 1) || r->mb.kind != DS_MODEL_UNET))
        return cli_error(1, "train: %s: corrupt trainer state (images: channels %d, skip %d)", ckpt, ex->channels_opt, ex->skip_bad);
    return add_decay_on_resume(o, &r->ck);
}

/* the --images folder at the model's size: a new run's from the flags, a resumed run's from its
 * checkpoint (the size in the model's config, the channel and bad-image choices in extra) */
static int load_folder(const char *dir, int size, int channels_opt, int skip_bad, image_folder *folder) {
    const image_folder_opts fo = {.size = size, .channels = channels_opt, .skip_bad = skip_bad};
    if (image_folder_load(dir, &fo, folder)) return cli_error(1, "train: %s", ds_last_error());
    fprintf(stderr, "train: %s: %d images (%dx%d, %s) in %d class%s", dir, folder->n, size, size,
            folder->channels == 1 ? "greyscale" : "RGB", folder->n_classes, folder->n_classes > 1 ? "es:" : ":");
    for (int k = 0; k < folder->n_classes; k++) fprintf(stderr, "%s '%s'", k ? "," : "", folder->class_names[k]);
    if (folder->n_bad) fprintf(stderr, "; %d bad image%s left out", folder->n_bad, folder->n_bad > 1 ? "s" : "");
    if (folder->n_ignored) fprintf(stderr, "; %d other file%s ignored", folder->n_ignored, folder->n_ignored > 1 ? "s" : "");
    fputc('\n', stderr);
    return 0;
}

/* the training set, hashed so a resume refuses other data */
static int load_data(const train_opts *o, train_run *r) {
    train_extra *ex = &r->ex;
    uint64_t h;
    if (ex->images) {
        if (!r->folder.n && load_folder(o->images, r->mb.config[0], ex->channels_opt, ex->skip_bad, &r->folder)) return 1;
        r->n_data = r->folder.n;
        h = r->folder.hash;
        if (o->resume && ex->data_hash != h)
            return cli_error(1, "train: the images in %s differ from the checkpoint's (hash of the decoded set; %d images now, "
                                "%d then): resume with the same folder", o->images, r->folder.n, ex->data_n);
    } else if (r->mb.kind == DS_MODEL_UNET) {
        if (fashion_load(o->data_dir, "train", &r->fs)) return cli_error(1, "train: %s", ds_last_error());
        r->n_data = r->fs.n;
        h = ds_fnv1a64(r->fs.pixels, (long)r->fs.n * FASHION_PIXELS) ^ ds_fnv1a64(r->fs.labels, r->fs.n);
        if (o->resume && ex->data_hash != h)
            return cli_error(1, "train: the Fashion-MNIST data differs from the checkpoint's (hash); resume with the same files");
    } else {
        int rc = points_load_set(o->points, (int)o->points_n, (double)o->seed, &r->pts, &r->n_data);
        if (rc) return rc;
        h = ds_fnv1a64(r->pts, (long)r->n_data * 2 * (long)sizeof(float));
        if (o->resume && ex->data_hash != h)
            return cli_error(1, "train: the points differ from the checkpoint's (hash); pass the same --points, --points-n and --seed");
    }
    ex->data_hash = h;
    ex->data_n = r->n_data;
    return 0;
}

/* the optimiser of a new run from the flags, or the checkpoint's */
static void optim_config(const train_opts *o, const train_run *r, ds_optim_config *oc) {
    if (o->resume) {
        *oc = r->ck.cfg;
        return;
    }
    ds_optim_config_default(oc);
    oc->lr = o->lr;
    oc->warmup_steps = o->warmup;
    oc->decay_steps = o->decay;
    oc->min_lr_ratio = o->min_lr;
    oc->weight_decay = o->wd;
    oc->clip_norm = o->clip;
    oc->ema_decay = o->ema;
}

/* the trainer for the run's model, randomly initialised */
static int init_trainer(const train_opts *o, train_run *r) {
    const train_extra *ex = &r->ex;
    int n_shards = (ex->batch + ex->shard - 1) / ex->shard, workers = (int)(o->threads < n_shards ? o->threads : n_shards);
    ds_optim_config oc;
    optim_config(o, r, &oc);
    if (r->mb.kind == DS_MODEL_UNET) {
        unet_trainer_config c = {.batch = ex->batch, .shard = ex->shard, .workers = workers, .p_uncond = ex->p_uncond,
                                 .prediction = (ds_prediction)ex->prediction, .min_snr_gamma = ex->min_snr,
                                 .schedule = (ds_schedule_kind)ex->schedule, .T = ex->T, .optim = oc, .seed = (uint64_t)o->seed};
        const unet_train_data data =
            r->ex.images ? (unet_train_data){.n = r->folder.n, .item = r->folder.item, .pixels = r->folder.pixels,
                                             .labels = r->folder.labels}
                         : unet_train_data_fashion(&r->fs);
        if (unet_trainer_init(&r->unet, &c, r->mb.config, r->mb.n_config, &data)) return DS_ERR;
        r->opt = &r->unet.opt, r->params = r->unet.unet.params, r->rng = &r->unet.rng, r->table = &r->unet.unet.table;
        return DS_OK;
    }
    if (r->mb.kind != DS_MODEL_MLP) return ds_fail("unknown model kind %d", r->mb.kind);
    ds_mlp_train_config c;
    ds_mlp_train_config_default(&c);
    if (ds_mlp_config_from_ints(r->mb.config, r->mb.n_config, &c.model)) return DS_ERR;
    c.batch = ex->batch, c.shard = ex->shard, c.workers = workers, c.runner = parallel_run_shards;
    c.total_steps = o->steps, c.schedule = (ds_schedule_kind)ex->schedule, c.T = ex->T, c.optim = oc;
    c.seed = (uint64_t)o->seed, c.draw = DS_MLP_DRAW_DIFFUSION, c.objective = (ds_mlp_objective)ex->objective;
    if (ds_mlp_trainer_init(&r->mlp, &c, r->pts, r->n_data)) return DS_ERR;
    r->opt = &r->mlp.opt, r->params = r->mlp.model.params, r->rng = &r->mlp.rng, r->table = &r->mlp.model.table;
    return DS_OK;
}

/* the trainer, restored from the checkpoint on --resume */
static int build_trainer(const train_opts *o, train_run *r) {
    if (init_trainer(o, r)) return cli_error(1, "train: %s", ds_last_error());
    if (!o->resume) return 0;
    if (r->ck.n_params != r->table->total) /* else restore would copy past the network's blob */
        return cli_error(1, "train: %s holds %ld parameters but the model it describes has %ld (corrupt checkpoint)", o->ckpt,
                         r->ck.n_params, r->table->total);
    int rc = r->mb.kind == DS_MODEL_UNET ? unet_trainer_restore(&r->unet, &r->ck) : ds_mlp_trainer_restore(&r->mlp, &r->ck);
    if (rc) return cli_error(1, "train: %s", ds_last_error());
    fprintf(stderr, "train: resumed %s at step %ld (%.2f h trained so far)\n", o->ckpt, r->opt->step, r->ex.seconds / 3600);
    return 0;
}

/* ", v-prediction" and ", min-SNR 5 weighting" when the run has them */
static const char *target_note(const train_extra *ex) {
    static char note[64];
    snprintf(note, sizeof note, "%s", ex->prediction == DS_PREDICT_V ? ", v-prediction" : "");
    if (ex->min_snr > 0) snprintf(note + strlen(note), sizeof note - strlen(note), ", min-SNR %g weighting", ex->min_snr);
    return note;
}

static int set_up(const train_opts *opts, train_opts *o, train_run *r) {
    *o = *opts;
    int rc;
    if (o->resume) rc = read_checkpoint(o, r);
    else if (o->images && o->model_name && !strcmp(o->model_name, "unet"))
        rc = load_folder(o->images, o->image_size ? (int)o->image_size : 32, (int)o->channels, o->skip_bad, &r->folder) ||
             describe_new_run(o, &r->folder, &r->mb, &r->ex);
    else if (o->images) rc = cli_error(2, "train: --images is for --model unet");
    else rc = describe_new_run(o, NULL, &r->mb, &r->ex);
    if (rc) return rc;
    if (r->mb.kind == DS_MODEL_MLP && !o->points) return cli_error(2, "train: the MLP needs --points SHAPE|FILE");
    if (r->mb.kind == DS_MODEL_UNET && o->points) return cli_error(2, "train: --points is for --model mlp");
    if ((rc = load_data(o, r)) || (rc = build_trainer(o, r))) return rc;
    fprintf(stderr,
            "train: %s, %ld parameters, %d %s items, batch %d (%d shards of %d, %d threads), %s schedule T=%d, "
            "lr %g, EMA %g, until step %ld%s\n",
            kind_name(&r->mb), r->table->total, r->n_data,
            r->ex.images ? "image" : r->mb.kind == DS_MODEL_UNET ? "Fashion-MNIST" : "point",
            r->ex.batch, (r->ex.batch + r->ex.shard - 1) / r->ex.shard, r->ex.shard,
            r->mb.kind == DS_MODEL_UNET ? r->unet.cfg.workers : r->mlp.cfg.workers,
            ds_schedule_kind_name((ds_schedule_kind)r->ex.schedule), r->ex.T, r->opt->cfg.lr, r->opt->cfg.ema_decay, o->steps,
            target_note(&r->ex));
    return 0;
}

static void run_free(train_run *r) {
    if (r->mb.kind == DS_MODEL_UNET) unet_trainer_free(&r->unet);
    if (r->mb.kind == DS_MODEL_MLP) ds_mlp_trainer_free(&r->mlp);
    free(r->pts);
    fashion_free(&r->fs);
    image_folder_free(&r->folder);
    free(r->ckbuf);
}

/* ---- files ---- */

static int save_weights(const char *path, const train_run *r, ds_dtype dtype) {
    const float *params = r->opt->ema ? r->opt->ema : r->params;
    uint8_t *bytes = NULL;
    size_t size = 0;
    /* the file records the schedule it was trained with (weights.h, format 2) */
    static ds_weights_meta meta; /* 8 KB of class names: not on the stack */
    meta = (ds_weights_meta){.schedule_kind = (ds_schedule_kind)r->ex.schedule, .schedule_T = r->ex.T,
                             .prediction = r->ex.objective == DS_MLP_OBJECTIVE_FLOW ? DS_PREDICT_FLOW
                                                                                    : (ds_prediction)r->ex.prediction};
    if (r->ex.images) { /* the folder's class names: the widgets and `info` show them */
        meta.n_class_names = r->folder.n_classes;
        memcpy(meta.class_names, r->folder.class_names, sizeof r->folder.class_names);
    }
    if (ds_weights_write((ds_model_kind)r->mb.kind, r->mb.config, r->mb.n_config, &meta, r->table, params, dtype, &bytes, &size))
        return cli_error(1, "train: writing weights: %s", ds_last_error());
    int rc = util_write_atomic(path, bytes, (long)size);
    free(bytes);
    return rc ? cli_error(1, "train: %s", ds_last_error()) : 0;
}

static int save_checkpoint(const char *path, const train_run *r) {
    long size = ds_checkpoint_size(r->opt, sizeof r->mb, sizeof r->ex);
    void *buf = malloc((size_t)size);
    if (!buf) return cli_error(1, "train: out of memory for the checkpoint (%ld bytes)", size);
    if (ds_checkpoint_write(buf, size, r->opt, r->params, r->rng, &r->mb, sizeof r->mb, &r->ex, sizeof r->ex) != size) {
        free(buf);
        return cli_error(1, "train: checkpoint: %s", ds_last_error());
    }
    int rc = util_write_atomic(path, buf, size);
    free(buf);
    return rc ? cli_error(1, "train: %s", ds_last_error()) : 0;
}

static int save_both(const train_opts *o, const train_run *r) {
    return save_checkpoint(o->ckpt, r) || save_weights(o->out, r, o->dtype) ? 1 : 0;
}

/* ---- loop ---- */

static void fmt_duration(double s, char *buf, size_t n) {
    if (!(s >= 0) || s > 1e8) {
        snprintf(buf, n, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
}

static void log_step(const train_opts *o, const train_run *r, double seconds, long steps_done) {
    double ips = steps_done * r->ex.batch / seconds;
    char eta[32];
    fmt_duration((o->steps - r->opt->step) * r->ex.batch / (ips > 0 ? ips : 1e-9), eta, sizeof eta);
    fprintf(stderr, "step %ld/%ld  loss %.5f  %.1f %s/s  lr %.2e  |g| %.3f  epoch %.2f  ETA %s\n", r->opt->step, o->steps,
            r->ex.loss_avg / r->ex.loss_avg_w, ips, r->mb.kind == DS_MODEL_UNET ? "img" : "pts", r->opt->last_lr,
            r->opt->last_grad_norm, (double)r->ex.items / r->n_data, eta);
}

static int train_step(train_run *r, double *loss) {
    if (r->mb.kind == DS_MODEL_UNET) return unet_trainer_step(&r->unet, loss);
    return ds_mlp_trainer_run(&r->mlp, 1, loss);
}

/* steps until --steps or a signal, logging and checkpointing on the clock; then the last save */
static int train_loop(const train_opts *o, train_run *r) {
    double t_log = util_now_s(), t_ckpt = t_log, t_run = t_log;
    long step_log = r->opt->step;
    int status = 0;
    while (r->opt->step < o->steps && !util_stop_signal()) {
        double loss = 0;
        if (train_step(r, &loss)) {
            status = cli_error(1, "train: step %ld: %s", r->opt->step, ds_last_error());
            break;
        }
        r->ex.loss_avg = 0.98 * r->ex.loss_avg + 0.02 * loss;
        r->ex.loss_avg_w = 0.98 * r->ex.loss_avg_w + 0.02;
        r->ex.items += r->ex.batch;
        double t = util_now_s();
        if (t - t_log >= o->log_every || r->opt->step == o->steps) {
            log_step(o, r, t - t_log, r->opt->step - step_log);
            t_log = t;
            step_log = r->opt->step;
        }
        if (t - t_ckpt >= o->ckpt_every) {
            r->ex.seconds += t - t_run;
            t_run = t;
            if ((status = save_both(o, r))) break;
            fprintf(stderr, "train: checkpoint at step %ld -> %s, weights (EMA) -> %s\n", r->opt->step, o->ckpt, o->out);
            t_ckpt = t;
        }
    }
    r->ex.seconds += util_now_s() - t_run;
    if (status || (status = save_both(o, r))) return status;
    fprintf(stderr, "train: %s at step %ld, smoothed loss %.5f, %.2f epochs, %.2f h in total; checkpoint %s, weights %s\n",
            util_stop_signal() ? "stopped" : "done", r->opt->step, r->ex.loss_avg_w > 0 ? r->ex.loss_avg / r->ex.loss_avg_w : 0.0,
            (double)r->ex.items / r->n_data, r->ex.seconds / 3600, o->ckpt, o->out);
    return 0;
}

int cmd_train(int argc, char **argv) {
    train_opts flags, o;
    int rc = parse_args(argc, argv, &flags);
    if (rc) return rc < 0 ? 0 : rc;
    train_run r;
    memset(&r, 0, sizeof r);
    if (!(rc = set_up(&flags, &o, &r))) {
        util_catch_stop_signals(); /* Ctrl-C saves, then diffuscope.c ends the process by the signal */
        rc = train_loop(&o, &r);
    }
    run_free(&r);
    return rc;
}
