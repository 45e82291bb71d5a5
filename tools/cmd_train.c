/* cmd_train.c — `diffuscope train`: train the Fashion UNet or the 2-D point MLP.
 *
 * One step: draw a batch (indices, timesteps, label dropout, noise) from the one RNG on the
 * main thread; split it into fixed shards of --shard items; worker threads run forward +
 * backward on shards (each shard into its own gradient buffer); the shard gradients are summed
 * in shard order, then clipped, Adam, EMA. The shard size, not the thread count, fixes the
 * arithmetic, so 1 thread and 16 threads give bit-identical weights.
 * Checkpoints (tools-side files around src/checkpoint.h) every --checkpoint-every seconds and
 * on SIGINT / SIGTERM, written atomically, resume exactly with --resume. The weights file
 * (--out) holds the EMA weights and is rewritten at every checkpoint. */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkpoint.h"
#include "cli.h"
#include "error.h"
#include "fashion.h"
#include "kernels_grad.h"
#include "mlp_train.h"
#include "optim.h"
#include "points_io.h"
#include "schedule.h"
#include "unet_train.h"
#include "util.h"
#include "weights.h"

static const char *USAGE =
    "usage: diffuscope train --model unet|mlp --out W.dsw --checkpoint C.ckpt [--resume] [options]\n"
    "  --model unet          the class-conditional Fashion-MNIST UNet (data: --data DIR)\n"
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
    "  --hidden H --layers N --temb E                             MLP shape (default 128, 4, 32)\n"
    "  --points-n N          points drawn from a shape (default 20000)\n"
    "  --dtype f16|f32       weights file precision (default f16)\n"
    "  --checkpoint-every S  seconds between checkpoints (default 300); --log-every S (default 10)\n"
    "  --data DIR            Fashion-MNIST folder (default $DS_FASHION_DIR or " FASHION_DIR_DEFAULT ")\n"
    "On resume the model, optimiser, schedule, batch and shard come from the checkpoint; --steps,\n"
    "--threads, --out and the intervals may change. Ctrl-C saves a checkpoint and exits.\n";

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
    int32_t pad;
} train_extra;

/* The model description: the checkpoint's `model` blob. */
typedef struct {
    int32_t kind, n_config;
    int32_t config[DS_WEIGHTS_MAX_CONFIG];
} model_blob;

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

/* ---- the network behind one interface ---- */
typedef struct {
    ds_model_kind kind;
    ds_unet unet;
    ds_mlp mlp;
    int item;                   /* floats per item */
    int n_classes;              /* 0 for the MLP */
    float *params;
    const ds_param_table *table;
} net;

typedef struct {
    ds_unet_state us;
    ds_unet_grad_state ug;
    ds_mlp_state ms;
    float *mlp_scratch;         /* (2 shard H) the MLP backward's */
    float *d_eps;               /* (shard, item) */
} net_state;

static int net_build(net *n, const model_blob *mb) {
    memset(n, 0, sizeof *n);
    n->kind = (ds_model_kind)mb->kind;
    if (n->kind == DS_MODEL_UNET) {
        ds_unet_config c;
        if (ds_unet_config_from_ints(mb->config, mb->n_config, &c) || ds_unet_build(&n->unet, &c)) return DS_ERR;
        n->item = c.in_channels * c.image_size * c.image_size;
        n->n_classes = c.n_classes;
        n->params = n->unet.params;
        n->table = &n->unet.table;
    } else if (n->kind == DS_MODEL_MLP) {
        ds_mlp_config c;
        if (ds_mlp_config_from_ints(mb->config, mb->n_config, &c) || ds_mlp_build(&n->mlp, &c)) return DS_ERR;
        n->item = c.data_dim;
        n->params = n->mlp.params;
        n->table = &n->mlp.table;
    } else {
        return ds_fail("unknown model kind %d", mb->kind);
    }
    return DS_OK;
}

static void net_free(net *n) {
    if (n->kind == DS_MODEL_UNET) ds_unet_free(&n->unet);
    if (n->kind == DS_MODEL_MLP) ds_mlp_free(&n->mlp);
}

static int net_state_alloc(net_state *s, const net *n, int shard) {
    memset(s, 0, sizeof *s);
    s->d_eps = malloc(sizeof(float) * (size_t)shard * n->item);
    if (!s->d_eps) return ds_fail("out of memory");
    if (n->kind == DS_MODEL_UNET)
        return ds_unet_state_alloc(&s->us, &n->unet, shard) || ds_unet_grad_state_alloc(&s->ug, &n->unet, shard);
    s->mlp_scratch = malloc(sizeof(float) * 2 * (size_t)shard * n->mlp.config.hidden);
    if (!s->mlp_scratch) return ds_fail("out of memory");
    return ds_mlp_state_alloc(&s->ms, &n->mlp, shard);
}

static void net_state_free(net_state *s, const net *n) {
    if (n->kind == DS_MODEL_UNET) {
        ds_unet_state_free(&s->us);
        ds_unet_grad_state_free(&s->ug);
    } else {
        ds_mlp_state_free(&s->ms);
        free(s->mlp_scratch);
    }
    free(s->d_eps);
}

/* forward + MSE + backward of B items; grads +=; returns the shard's share of the batch loss */
static int net_step(const net *n, net_state *s, const float *xt, const float *tf, const int *cls, const float *eps,
                    int B, long n_total, float *grads, double *loss) {
    long cnt = (long)B * n->item;
    if (n->kind == DS_MODEL_UNET) {
        if (ds_unet_forward(&n->unet, &s->us, xt, tf, cls, B, NULL)) return DS_ERR;
        *loss = ds_mse_backward(s->us.eps, eps, s->d_eps, cnt, n_total);
        return ds_unet_backward(&n->unet, &s->us, &s->ug, s->d_eps, B, grads);
    }
    if (ds_mlp_forward(&n->mlp, &s->ms, xt, tf, B, NULL)) return DS_ERR;
    *loss = ds_mse_backward(s->ms.eps, eps, s->d_eps, cnt, n_total);
    ds_mlp_backward(&n->mlp, &s->ms, s->d_eps, B, grads, s->mlp_scratch);
    return DS_OK;
}

/* ---- the data-parallel step ---- */
typedef struct trainer trainer;
typedef struct {
    trainer *tr;
    int id;
    int rc;
    char err[256];
    net_state st;
} worker;

struct trainer {
    const net *n;
    int batch, shard, n_shards, n_threads;
    long P;                     /* parameter count */
    float *xt, *eps, *tf;       /* (batch, item), (batch, item), (batch) */
    int *cls;                   /* (batch) */
    float *shard_grads;         /* (n_shards, P) */
    double *shard_loss;         /* (n_shards) */
    worker *workers;            /* (n_threads) */
};

static void *worker_run(void *arg) {
    worker *w = arg;
    trainer *tr = w->tr;
    long item = tr->n->item;
    w->rc = DS_OK;
    for (int s = w->id; s < tr->n_shards && w->rc == DS_OK; s += tr->n_threads) {
        int b0 = s * tr->shard, nb = tr->batch - b0 < tr->shard ? tr->batch - b0 : tr->shard;
        float *g = tr->shard_grads + (size_t)s * tr->P;
        memset(g, 0, sizeof(float) * (size_t)tr->P);
        w->rc = net_step(tr->n, &w->st, tr->xt + b0 * item, tr->tf + b0, tr->cls + b0, tr->eps + b0 * item, nb,
                         (long)tr->batch * item, g, &tr->shard_loss[s]);
        if (w->rc) snprintf(w->err, sizeof w->err, "%s", ds_last_error());
    }
    return NULL;
}

/* Runs every shard and sums the gradients in shard order into grads. */
static int trainer_step(trainer *tr, float *grads, double *loss) {
    pthread_t th[256];
    for (int k = 1; k < tr->n_threads; k++)
        if (pthread_create(&th[k], NULL, worker_run, &tr->workers[k])) return ds_fail("cannot start worker thread %d", k);
    worker_run(&tr->workers[0]);
    for (int k = 1; k < tr->n_threads; k++) pthread_join(th[k], NULL);
    for (int k = 0; k < tr->n_threads; k++)
        if (tr->workers[k].rc) return ds_fail("worker %d: %s", k, tr->workers[k].err);
    memcpy(grads, tr->shard_grads, sizeof(float) * (size_t)tr->P);
    for (int s = 1; s < tr->n_shards; s++) ds_accumulate(tr->shard_grads + (size_t)s * tr->P, grads, tr->P);
    *loss = 0;
    for (int s = 0; s < tr->n_shards; s++) *loss += tr->shard_loss[s];
    return DS_OK;
}

/* ---- files ---- */
static int save_weights(const char *path, const net *n, const model_blob *mb, const float *params, ds_dtype dtype) {
    uint8_t *bytes = NULL;
    size_t size = 0;
    if (ds_weights_write(n->kind, mb->config, mb->n_config, n->table, params, dtype, &bytes, &size))
        return cli_error(1, "train: writing weights: %s", ds_last_error());
    int rc = util_write_atomic(path, bytes, (long)size);
    free(bytes);
    return rc ? cli_error(1, "train: %s", ds_last_error()) : 0;
}

static int save_checkpoint(const char *path, const ds_optim *opt, const float *params, const ds_rng *rng,
                           const model_blob *mb, const train_extra *ex) {
    long size = ds_checkpoint_size(opt, sizeof *mb, sizeof *ex);
    void *buf = malloc((size_t)size);
    if (!buf) return cli_error(1, "train: out of memory for the checkpoint (%ld bytes)", size);
    if (ds_checkpoint_write(buf, size, opt, params, rng, mb, sizeof *mb, ex, sizeof *ex) != size) {
        free(buf);
        return cli_error(1, "train: checkpoint: %s", ds_last_error());
    }
    int rc = util_write_atomic(path, buf, size);
    free(buf);
    return rc ? cli_error(1, "train: %s", ds_last_error()) : 0;
}

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

static void fmt_duration(double s, char *buf, size_t n) {
    if (!(s >= 0) || s > 1e8) {
        snprintf(buf, n, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
}

int cmd_train(int argc, char **argv) {
    enum {
        O_MODEL = 256, O_OUT, O_CKPT, O_RESUME, O_STEPS, O_BATCH, O_SHARD, O_THREADS, O_LR, O_WARMUP, O_DECAY, O_MINLR,
        O_WD, O_CLIP, O_EMA, O_SCHED, O_T, O_PUNCOND, O_SEED, O_BASE, O_MULT, O_RES, O_GROUPS, O_TEMB, O_HIDDEN,
        O_LAYERS, O_POINTS, O_POINTS_N, O_DTYPE, O_CKPT_EVERY, O_LOG_EVERY, O_DATA
    };
    static const struct option opts[] = {
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
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

    const char *model_name = NULL, *out = NULL, *ckpt = NULL, *points = NULL, *data_dir = NULL;
    int resume = 0;
    long steps = 10000, batch = 0, shard = 0, threads = 2, warmup = 500, decay = 0, T = 1000, seed = 1;
    long base = 32, res_blocks = 1, groups = 8, temb = -1, hidden = 128, layers = 4, points_n = 20000;
    int mult[DS_UNET_MAX_LEVELS] = {1, 2, 2, 0}, levels = 3;
    double lr = -1, min_lr = 0.1, wd = 0, clip = 1.0, ema = 0.999, p_uncond = 0.1, ckpt_every = 300, log_every = 10;
    ds_schedule_kind sched = DS_SCHEDULE_LINEAR;
    ds_dtype dtype = DS_DTYPE_F16;
    int c;
    optind = 1;
    int fixed_by_checkpoint = 0; /* flags a resume takes from the checkpoint instead */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == O_BATCH || c == O_SHARD || c == O_LR || c == O_WARMUP || c == O_DECAY || c == O_MINLR || c == O_WD ||
            c == O_CLIP || c == O_EMA || c == O_SCHED || c == O_T || c == O_PUNCOND || c == O_BASE || c == O_MULT ||
            c == O_RES || c == O_GROUPS || c == O_TEMB || c == O_HIDDEN || c == O_LAYERS)
            fixed_by_checkpoint = 1;
        switch (c) {
        case O_MODEL: model_name = optarg; break;
        case O_OUT: out = optarg; break;
        case O_CKPT: ckpt = optarg; break;
        case O_RESUME: resume = 1; break;
        case O_STEPS: if (cli_parse_long("--steps", optarg, 1, 100000000, &steps)) return 2; break;
        case O_BATCH: if (cli_parse_long("--batch", optarg, 1, 65536, &batch)) return 2; break;
        case O_SHARD: if (cli_parse_long("--shard", optarg, 1, 65536, &shard)) return 2; break;
        case O_THREADS: if (cli_parse_long("--threads", optarg, 1, 256, &threads)) return 2; break;
        case O_LR:
            if (cli_parse_double("--lr", optarg, &lr)) return 2;
            if (!(lr > 0 && lr <= 10)) return cli_error(2, "--lr must be in (0, 10], got %s", optarg);
            break;
        case O_WARMUP: if (cli_parse_long("--warmup", optarg, 0, 100000000, &warmup)) return 2; break;
        case O_DECAY: if (cli_parse_long("--decay-steps", optarg, 0, 100000000, &decay)) return 2; break;
        case O_MINLR:
            if (cli_parse_double("--min-lr-ratio", optarg, &min_lr)) return 2;
            if (min_lr < 0 || min_lr > 1) return cli_error(2, "--min-lr-ratio must be in [0, 1], got %s", optarg);
            break;
        case O_WD:
            if (cli_parse_double("--weight-decay", optarg, &wd)) return 2;
            if (wd < 0) return cli_error(2, "--weight-decay must be >= 0, got %s", optarg);
            break;
        case O_CLIP:
            if (cli_parse_double("--clip", optarg, &clip)) return 2;
            if (clip < 0) return cli_error(2, "--clip must be >= 0 (0 = off), got %s", optarg);
            break;
        case O_EMA:
            if (cli_parse_double("--ema", optarg, &ema)) return 2;
            if (!(ema >= 0 && ema < 1)) return cli_error(2, "--ema must be in [0, 1), got %s", optarg);
            break;
        case O_SCHED:
            if (ds_schedule_kind_parse(optarg, &sched)) return cli_error(2, "--schedule: %s", ds_last_error());
            break;
        case O_T: if (cli_parse_long("--T", optarg, 1, DS_MAX_T, &T)) return 2; break;
        case O_PUNCOND: if (cli_parse_double("--p-uncond", optarg, &p_uncond)) return 2; break;
        case O_SEED: if (cli_parse_long("--seed", optarg, 0, 2147483647L, &seed)) return 2; break;
        case O_BASE: if (cli_parse_long("--base", optarg, 1, 256, &base)) return 2; break;
        case O_MULT: if (parse_mult(optarg, mult, &levels)) return 2; break;
        case O_RES: if (cli_parse_long("--res-blocks", optarg, 1, DS_UNET_MAX_RES, &res_blocks)) return 2; break;
        case O_GROUPS: if (cli_parse_long("--groups", optarg, 1, 64, &groups)) return 2; break;
        case O_TEMB: if (cli_parse_long("--temb", optarg, 2, 1024, &temb)) return 2; break;
        case O_HIDDEN: if (cli_parse_long("--hidden", optarg, 1, 4096, &hidden)) return 2; break;
        case O_LAYERS: if (cli_parse_long("--layers", optarg, 1, DS_MLP_MAX_LAYERS, &layers)) return 2; break;
        case O_POINTS: points = optarg; break;
        case O_POINTS_N: if (cli_parse_long("--points-n", optarg, 2, 1 << 20, &points_n)) return 2; break;
        case O_DTYPE:
            if (!strcmp(optarg, "f16")) dtype = DS_DTYPE_F16;
            else if (!strcmp(optarg, "f32")) dtype = DS_DTYPE_F32;
            else return cli_error(2, "--dtype expects f16 or f32, got '%s'", optarg);
            break;
        case O_CKPT_EVERY: if (cli_parse_double("--checkpoint-every", optarg, &ckpt_every)) return 2; break;
        case O_LOG_EVERY: if (cli_parse_double("--log-every", optarg, &log_every)) return 2; break;
        case O_DATA: data_dir = optarg; break;
        case 'h': fputs(USAGE, stdout); return 0;
        default: fputs(USAGE, stderr); return 2;
        }
    }
    if (optind < argc) return cli_error(2, "train: unexpected argument '%s'", argv[optind]);
    if (decay && decay <= warmup) return cli_error(2, "--decay-steps (%ld) must exceed --warmup (%ld)", decay, warmup);
    if (!out || !ckpt) return cli_error(2, "train: --out W.dsw and --checkpoint C.ckpt are required\n%s", USAGE);
    if (!resume && !model_name) return cli_error(2, "train: --model unet|mlp is required (or --resume)");
    if (ckpt_every <= 0 || log_every <= 0) return cli_error(2, "train: --checkpoint-every and --log-every must be > 0");
    if (p_uncond < 0 || p_uncond > 1) return cli_error(2, "--p-uncond must be in [0, 1] (got %g)", p_uncond);

    /* every resource, released at `done` whatever path leads there */
    model_blob mb;
    train_extra ex;
    ds_optim opt;
    ds_rng rng;
    net n;
    trainer tr;
    fashion_set fs = {0};
    memset(&mb, 0, sizeof mb);
    memset(&ex, 0, sizeof ex);
    memset(&opt, 0, sizeof opt);
    memset(&n, 0, sizeof n);
    memset(&tr, 0, sizeof tr);
    unsigned char *ckbuf = NULL;
    ds_checkpoint ck;
    float *pts = NULL, *x0 = NULL, *grads = NULL;
    int *cls_in = NULL;
    ds_schedule *sch = NULL;
    int status = 0;
#define FAIL(expr)        \
    do {                  \
        status = (expr);  \
        goto done;        \
    } while (0)

    if (resume) {
        long size = 0;
        ckbuf = util_read_file(ckpt, UTIL_MAX_CHECKPOINT, &size);
        if (!ckbuf)
            FAIL(cli_error(1, "train: cannot read checkpoint %s (%s); drop --resume to start a new run", ckpt, ds_last_error()));
        if (ds_checkpoint_parse(ckbuf, size, &ck)) FAIL(cli_error(1, "train: %s: %s", ckpt, ds_last_error()));
        if (ck.model_bytes != sizeof mb || ck.extra_bytes != sizeof ex)
            FAIL(cli_error(1, "train: %s was not written by `diffuscope train` (unexpected blob sizes)", ckpt));
        memcpy(&mb, ck.model, sizeof mb);
        memcpy(&ex, ck.extra, sizeof ex);
        if (ex.magic != EXTRA_MAGIC) FAIL(cli_error(1, "train: %s: unknown trainer state", ckpt));
        if (ex.batch < 1 || ex.batch > 65536 || ex.shard < 1 || ex.shard > ex.batch || !(ex.p_uncond >= 0 && ex.p_uncond <= 1))
            FAIL(cli_error(1, "train: %s: corrupt trainer state (batch %d, shard %d, p_uncond %g)", ckpt, ex.batch,
                             ex.shard, ex.p_uncond));
        if (fixed_by_checkpoint)
            fprintf(stderr, "train: note: resuming uses the checkpoint's model, optimiser, schedule, batch and shard; "
                            "the flags given for them are ignored\n");
        if (model_name && strcmp(model_name, mb.kind == DS_MODEL_UNET ? "unet" : "mlp"))
            FAIL(cli_error(2, "train: --model %s but the checkpoint holds a %s", model_name,
                             mb.kind == DS_MODEL_UNET ? "unet" : "mlp"));
    } else {
        if (!strcmp(model_name, "unet")) {
            ds_unet_config uc;
            ds_unet_config_default(&uc);
            uc.base_channels = (int)base;
            uc.n_levels = levels;
            for (int l = 0; l < DS_UNET_MAX_LEVELS; l++) uc.channel_mult[l] = l < levels ? mult[l] : 0;
            uc.n_res_blocks = (int)res_blocks;
            uc.groups = (int)groups;
            if (temb > 0) uc.temb_dim = (int)temb;
            if (ds_unet_config_validate(&uc)) FAIL(cli_error(2, "train: %s", ds_last_error()));
            mb.kind = DS_MODEL_UNET;
            mb.n_config = DS_UNET_N_CONFIG;
            ds_unet_config_to_ints(&uc, mb.config);
            if (!batch) batch = 64;
            if (!shard) shard = 8;
            if (lr < 0) lr = 1e-3;
        } else if (!strcmp(model_name, "mlp")) {
            ds_mlp_config mc;
            ds_mlp_config_default(&mc);
            mc.hidden = (int)hidden;
            mc.n_layers = (int)layers;
            if (temb > 0) mc.temb_dim = (int)temb;
            if (ds_mlp_config_validate(&mc)) FAIL(cli_error(2, "train: %s", ds_last_error()));
            mb.kind = DS_MODEL_MLP;
            mb.n_config = DS_MLP_N_CONFIG;
            ds_mlp_config_to_ints(&mc, mb.config);
            if (!batch) batch = 256;
            if (!shard) shard = 64;
            if (lr < 0) lr = 2e-3;
            p_uncond = 0;
        } else {
            FAIL(cli_error(2, "train: --model must be unet or mlp (got '%s')", model_name));
        }
        ex.magic = EXTRA_MAGIC;
        ex.kind = mb.kind;
        ex.schedule = sched;
        ex.T = (int32_t)T;
        ex.batch = (int32_t)batch;
        ex.shard = (int32_t)(shard < batch ? shard : batch);
        ex.p_uncond = p_uncond;
    }
    if (mb.kind == DS_MODEL_MLP && !points) FAIL(cli_error(2, "train: the MLP needs --points SHAPE|FILE"));
    if (mb.kind == DS_MODEL_UNET && points) FAIL(cli_error(2, "train: --points is for --model mlp"));
    if (net_build(&n, &mb)) FAIL(cli_error(1, "train: %s", ds_last_error()));

    /* data */
    int n_data = 0;
    if (mb.kind == DS_MODEL_UNET) {
        if (n.item != FASHION_PIXELS) FAIL(cli_error(1, "train: the UNet config is not 28x28x1 (Fashion-MNIST)"));
        if (fashion_load(data_dir, "train", &fs)) FAIL(cli_error(1, "train: %s", ds_last_error()));
        n_data = fs.n;
        uint64_t h = ds_fnv1a64(fs.pixels, (long)fs.n * FASHION_PIXELS) ^ ds_fnv1a64(fs.labels, fs.n);
        if (resume && ex.data_hash != h)
            FAIL(cli_error(1, "train: the Fashion-MNIST data differs from the checkpoint's (hash); resume with the same files"));
        ex.data_hash = h;
    } else {
        int rc = points_load_set(points, (int)points_n, (double)seed, &pts, &n_data);
        if (rc) FAIL(rc);
        uint64_t h = ds_fnv1a64(pts, (long)n_data * 2 * (long)sizeof(float));
        if (resume && ex.data_hash != h)
            FAIL(cli_error(1, "train: the points differ from the checkpoint's (hash); pass the same --points, --points-n and --seed"));
        ex.data_hash = h;
    }
    ex.data_n = n_data;

    /* optimiser, RNG */
    if (resume) {
        if (ck.n_params != n.table->total) /* else restore would copy past the network's blob */
            FAIL(cli_error(1, "train: %s holds %ld parameters but the model it describes has %ld (corrupt checkpoint)",
                             ckpt, ck.n_params, n.table->total));
        if (ds_checkpoint_restore(&ck, &opt, n.params, &rng)) FAIL(cli_error(1, "train: %s", ds_last_error()));
        fprintf(stderr, "train: resumed %s at step %ld (%.2f h trained so far)\n", ckpt, opt.step, ex.seconds / 3600);
    } else {
        if (mb.kind == DS_MODEL_UNET) ds_unet_init_random(&n.unet, (uint64_t)seed);
        else ds_mlp_init_random(&n.mlp, (uint64_t)seed);
        ds_optim_config oc;
        ds_optim_config_default(&oc);
        oc.lr = lr;
        oc.warmup_steps = warmup;
        oc.decay_steps = decay;
        oc.min_lr_ratio = min_lr;
        oc.weight_decay = wd;
        oc.clip_norm = clip;
        oc.ema_decay = ema;
        if (ds_optim_init(&opt, &oc, n.table->total, n.params)) FAIL(cli_error(2, "train: %s", ds_last_error()));
        ds_rng_seed(&rng, (uint64_t)seed * 0x9E3779B97F4A7C15ULL + 12345);
    }
    sch = malloc(sizeof *sch);
    if (!sch || ds_schedule_init(sch, (ds_schedule_kind)ex.schedule, ex.T)) FAIL(cli_error(1, "train: %s", ds_last_error()));

    /* trainer buffers: one allocation per role */
    tr.n = &n;
    tr.batch = ex.batch;
    tr.shard = ex.shard;
    tr.n_shards = (tr.batch + tr.shard - 1) / tr.shard;
    tr.n_threads = (int)(threads < tr.n_shards ? threads : tr.n_shards);
    tr.P = n.table->total;
    long bi = (long)tr.batch * n.item;
    x0 = malloc(sizeof(float) * bi);
    cls_in = malloc(sizeof(int) * tr.batch);
    tr.xt = malloc(sizeof(float) * bi);
    tr.eps = malloc(sizeof(float) * bi);
    tr.tf = malloc(sizeof(float) * tr.batch);
    tr.cls = malloc(sizeof(int) * tr.batch);
    tr.shard_grads = malloc(sizeof(float) * (size_t)tr.P * tr.n_shards);
    tr.shard_loss = calloc((size_t)tr.n_shards, sizeof(double));
    tr.workers = calloc((size_t)tr.n_threads, sizeof(worker));
    grads = malloc(sizeof(float) * (size_t)tr.P);
    if (!x0 || !cls_in || !tr.xt || !tr.eps || !tr.tf || !tr.cls || !tr.shard_grads || !tr.shard_loss || !tr.workers || !grads)
        FAIL(cli_error(1, "train: out of memory"));
    for (int k = 0; k < tr.n_threads; k++) {
        tr.workers[k].tr = &tr;
        tr.workers[k].id = k;
        if (net_state_alloc(&tr.workers[k].st, &n, tr.shard)) FAIL(cli_error(1, "train: %s", ds_last_error()));
    }
    fprintf(stderr,
            "train: %s, %ld parameters, %d %s items, batch %d (%d shards of %d, %d threads), %s schedule T=%d, "
            "lr %g, EMA %g, until step %ld\n",
            mb.kind == DS_MODEL_UNET ? "unet" : "mlp", tr.P, n_data, mb.kind == DS_MODEL_UNET ? "Fashion-MNIST" : "point",
            tr.batch, tr.n_shards, tr.shard, tr.n_threads, ds_schedule_kind_name((ds_schedule_kind)ex.schedule), ex.T,
            opt.cfg.lr, opt.cfg.ema_decay, steps);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    double t_start = util_now_s(), t_log = t_start, t_ckpt = t_start, t_run = t_start;
    long step_log = opt.step;
    const float *save_params;
    while (opt.step < steps && !g_stop) {
        /* the batch: indices and classes, then per item (t, dropout, noise) */
        for (int b = 0; b < tr.batch; b++) {
            uint32_t idx = ds_rng_below(&rng, (uint32_t)n_data);
            if (mb.kind == DS_MODEL_UNET) {
                fashion_to_float(fs.pixels + (size_t)idx * FASHION_PIXELS, 1, x0 + (size_t)b * n.item);
                cls_in[b] = fs.labels[idx];
            } else {
                x0[2 * b] = pts[2 * idx];
                x0[2 * b + 1] = pts[2 * idx + 1];
            }
        }
        ds_diffusion_draw(&rng, sch, x0, mb.kind == DS_MODEL_UNET ? cls_in : NULL, n.n_classes, ex.p_uncond, tr.batch,
                          n.item, tr.xt, tr.eps, tr.tf, tr.cls);
        double loss = 0;
        if (trainer_step(&tr, grads, &loss) || ds_optim_step(&opt, n.params, grads)) {
            status = cli_error(1, "train: step %ld: %s", opt.step, ds_last_error());
            break;
        }
        ex.loss_avg = 0.98 * ex.loss_avg + 0.02 * loss;
        ex.loss_avg_w = 0.98 * ex.loss_avg_w + 0.02;
        ex.items += tr.batch;
        double t = util_now_s();
        if (t - t_log >= log_every || opt.step == steps) {
            double ips = (opt.step - step_log) * tr.batch / (t - t_log);
            char eta[32];
            fmt_duration((steps - opt.step) * tr.batch / (ips > 0 ? ips : 1e-9), eta, sizeof eta);
            fprintf(stderr, "step %ld/%ld  loss %.5f  %.1f %s/s  lr %.2e  |g| %.3f  epoch %.2f  ETA %s\n", opt.step, steps,
                    ex.loss_avg / ex.loss_avg_w, ips, mb.kind == DS_MODEL_UNET ? "img" : "pts", opt.last_lr,
                    opt.last_grad_norm, (double)ex.items / n_data, eta);
            t_log = t;
            step_log = opt.step;
        }
        if (t - t_ckpt >= ckpt_every) {
            ex.seconds += t - t_run;
            t_run = t;
            save_params = opt.ema ? opt.ema : n.params;
            if (save_checkpoint(ckpt, &opt, n.params, &rng, &mb, &ex) || save_weights(out, &n, &mb, save_params, dtype)) {
                status = 1;
                break;
            }
            fprintf(stderr, "train: checkpoint at step %ld -> %s, weights (EMA) -> %s\n", opt.step, ckpt, out);
            t_ckpt = t;
        }
    }
    ex.seconds += util_now_s() - t_run;
    save_params = opt.ema ? opt.ema : n.params;
    if (status == 0) {
        if (save_checkpoint(ckpt, &opt, n.params, &rng, &mb, &ex) || save_weights(out, &n, &mb, save_params, dtype)) status = 1;
        else
            fprintf(stderr, "train: %s at step %ld, smoothed loss %.5f, %.2f epochs, %.2f h in total; checkpoint %s, weights %s\n",
                    g_stop ? "stopped" : "done", opt.step, ex.loss_avg_w > 0 ? ex.loss_avg / ex.loss_avg_w : 0.0,
                    (double)ex.items / n_data, ex.seconds / 3600, ckpt, out);
    }
    (void)t_start;

done:
    if (tr.workers)
        for (int k = 0; k < tr.n_threads; k++) net_state_free(&tr.workers[k].st, &n);
    free(tr.workers);
    free(tr.shard_grads);
    free(tr.shard_loss);
    free(tr.xt);
    free(tr.eps);
    free(tr.tf);
    free(tr.cls);
    free(x0);
    free(cls_in);
    free(grads);
    free(sch);
    free(pts);
    fashion_free(&fs);
    ds_optim_free(&opt);
    net_free(&n);
    free(ckbuf);
    return status;
#undef FAIL
}
