/* twin_ref.c — the C engine's side of the PyTorch twin's tests (tests/torch/test_twin.py): what
 * our forward pass, backward pass and optimiser compute for a .dsw file and a batch the Python
 * side wrote, written back as raw little-endian arrays for it to compare.
 *
 *   twin_ref forward WEIGHTS.dsw IN.bin OUT.bin
 *       IN: u32 B, x (B, item) f32, t (B) f32, class (B) i32 (zeros for the MLP);
 *       OUT: eps (B, item) f32 from ds_model_forward, the product's path.
 *   twin_ref step WEIGHTS.dsw IN.bin OUT.bin STEPS LR WEIGHT_DECAY WARMUP DECAY_STEPS MIN_LR_RATIO CLIP EMA
 *       IN: as above, then the target (B, item) f32.
 *       STEPS times on that one batch: forward (the trainer's: Winograd for the UNet), the
 *       mean-squared-error loss, backward, ds_optim_step (Adam(W), warm-up, clip, EMA, as
 *       tools/cmd_train.c configures it). OUT: f64 loss and f64 gradient norm of the first
 *       step, the first step's gradient (P) f32 before clipping, then the parameters (P) and
 *       their EMA (P) after the last step, in the file's tensor order.
 *   twin_ref folder DIR SIZE CHANNELS OUT.bin
 *       the training set `train --images DIR` reads (tools/image_folder.h; CHANNELS 0 = the
 *       images' own). OUT: u32 n, channels, n_classes, then the class names (32 bytes each,
 *       NUL-padded), the pixels (n, channels, SIZE, SIZE) u8 and the labels (n) u8.
 * Not here: the comparison and its tolerances (test_twin.py), the twin (tools/torch/). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "image_folder.h"
#include "kernels_grad.h"
#include "mlp_train.h"
#include "model.h"
#include "optim.h"
#include "unet.h"
#include "unet_train.h"

static uint8_t *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = size > 0 ? malloc((size_t)size) : NULL;
    if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) free(buf), buf = NULL;
    fclose(f);
    *n = buf ? (size_t)size : 0;
    return buf;
}

static int die(const char *what) {
    fprintf(stderr, "twin_ref: %s%s%s\n", what, *ds_last_error() ? ": " : "", ds_last_error());
    return 1;
}

/* the batch file: B, then x, t, class and (with_target) the target, each checked against its size */
typedef struct {
    int B;
    const float *x, *t, *target; /* (B, item), (B), (B, item) or NULL */
    const int *cls;              /* (B) */
} batch;

static int parse_batch(const uint8_t *in, size_t n, int item, int with_target, batch *b) {
    if (n < 4) return ds_fail("the batch file is shorter than its header");
    uint32_t B;
    memcpy(&B, in, 4);
    size_t want = 4 + 4 * (size_t)B * ((size_t)item * (1 + (size_t)with_target) + 2);
    if (B < 1 || B > 4096 || n != want) return ds_fail("the batch file holds %zu bytes, B = %u needs %zu", n, B, want);
    b->B = (int)B;
    b->x = (const float *)(in + 4);
    b->t = b->x + (size_t)B * item;
    b->cls = (const int *)(b->t + B);
    b->target = with_target ? (const float *)(b->cls + B) : NULL;
    return DS_OK;
}

static int write_out(const char *path, const void *a, size_t na, const void *b, size_t nb) {
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(a, 1, na, f) == na && (!nb || fwrite(b, 1, nb, f) == nb);
    if (f && fclose(f)) ok = 0;
    return ok ? DS_OK : ds_fail("cannot write %s", path);
}

/* forward, loss and backward of one batch into grads (zeroed here); returns the loss */
static double loss_and_grads(ds_model *m, void *state, const batch *b, float *d_eps, float *grads, void *gstate,
                             float *scratch) {
    const long P = ds_model_table(m)->total, n = (long)b->B * ds_model_item_floats(m);
    memset(grads, 0, sizeof(float) * (size_t)P);
    ds_unet *u = ds_model_unet(m);
    double loss;
    if (u) {
        ds_unet_state *st = state;
        if (ds_unet_prepare(u) || ds_unet_forward(u, st, b->x, b->t, b->cls, b->B, NULL)) return -1;
        loss = ds_mse_backward(st->eps, b->target, d_eps, n, n);
        if (ds_unet_backward(u, st, gstate, NULL, d_eps, b->B, grads)) return -1;
    } else {
        ds_mlp_state *st = state;
        if (ds_mlp_forward(ds_model_mlp(m), st, b->x, b->t, b->B, NULL)) return -1;
        loss = ds_mse_backward(st->eps, b->target, d_eps, n, n);
        ds_mlp_backward(ds_model_mlp(m), st, d_eps, b->B, grads, scratch);
    }
    return loss;
}

static int run_steps(ds_model *m, const batch *b, int steps, const ds_optim_config *oc, const char *out_path) {
    const long P = ds_model_table(m)->total, item = ds_model_item_floats(m);
    float *params = ds_model_params(m);
    float *grads = malloc(sizeof(float) * (size_t)P), *first = malloc(sizeof(float) * (size_t)P);
    float *d_eps = malloc(sizeof(float) * (size_t)(b->B * item));
    ds_unet_state ust = {0};
    ds_unet_grad_state ugs = {0};
    ds_mlp_state mst = {0};
    float *scratch = NULL;
    ds_optim opt = {0};
    double head[2] = {0, 0};
    int rc = DS_ERR;
    if (!grads || !first || !d_eps) goto done;
    if (ds_model_unet(m)) {
        if (ds_unet_state_alloc(&ust, ds_model_unet(m), b->B) || ds_unet_grad_state_alloc(&ugs, ds_model_unet(m), b->B)) goto done;
    } else {
        scratch = malloc(sizeof(float) * 2 * (size_t)b->B * ds_model_mlp(m)->config.hidden);
        if (!scratch || ds_mlp_state_alloc(&mst, ds_model_mlp(m), b->B)) goto done;
    }
    if (ds_optim_init(&opt, oc, P, params)) goto done;
    for (int s = 0; s < steps; s++) {
        double loss = loss_and_grads(m, ds_model_unet(m) ? (void *)&ust : (void *)&mst, b, d_eps, grads, &ugs, scratch);
        if (loss < 0) goto done;
        if (s == 0) {
            double sq = 0;
            for (long i = 0; i < P; i++) sq += (double)grads[i] * grads[i];
            head[0] = loss, head[1] = sqrt(sq);
            memcpy(first, grads, sizeof(float) * (size_t)P);
        }
        if (ds_optim_step(&opt, params, grads)) goto done;
    }
    FILE *f = fopen(out_path, "wb");
    int ok = f && fwrite(head, sizeof head, 1, f) == 1 && fwrite(first, sizeof(float), (size_t)P, f) == (size_t)P &&
             fwrite(params, sizeof(float), (size_t)P, f) == (size_t)P &&
             fwrite(opt.ema ? opt.ema : params, sizeof(float), (size_t)P, f) == (size_t)P;
    if (f && fclose(f)) ok = 0;
    rc = ok ? DS_OK : ds_fail("cannot write %s", out_path);
done:
    if (rc && !*ds_last_error()) ds_fail("out of memory");
    ds_optim_free(&opt);
    ds_unet_state_free(&ust);
    ds_unet_grad_state_free(&ugs);
    ds_mlp_state_free(&mst);
    free(scratch), free(grads), free(first), free(d_eps);
    return rc;
}

/* the folder mode: the C trainer's decoded set, for the twin's loader to be compared with */
static int dump_folder(const char *dir, int size, int channels, const char *out) {
    image_folder set;
    const image_folder_opts opts = {.size = size, .channels = channels, .skip_bad = 0, .quiet = 1};
    if (image_folder_load(dir, &opts, &set)) {
        image_folder_free(&set);
        return die(dir);
    }
    uint32_t head[3] = {(uint32_t)set.n, (uint32_t)set.channels, (uint32_t)set.n_classes};
    char names[IMAGE_FOLDER_MAX_CLASSES][32] = {{0}};
    for (int k = 0; k < set.n_classes; k++) strncpy(names[k], set.class_names[k], 31);
    FILE *f = fopen(out, "wb");
    int rc = !f || fwrite(head, sizeof head, 1, f) != 1 || fwrite(names, 32, (size_t)set.n_classes, f) != (size_t)set.n_classes ||
             fwrite(set.pixels, (size_t)set.item, (size_t)set.n, f) != (size_t)set.n ||
             fwrite(set.labels, 1, (size_t)set.n, f) != (size_t)set.n;
    if (f && fclose(f)) rc = 1;
    image_folder_free(&set);
    return rc ? die(out) : 0;
}

int main(int argc, char **argv) {
    if (argc == 6 && !strcmp(argv[1], "folder")) return dump_folder(argv[2], atoi(argv[3]), atoi(argv[4]), argv[5]);
    int is_step = argc == 13 && !strcmp(argv[1], "step");
    if (!is_step && !(argc == 5 && !strcmp(argv[1], "forward"))) {
        fputs("usage: twin_ref forward WEIGHTS IN OUT | twin_ref step WEIGHTS IN OUT STEPS LR WD WARMUP DECAY MIN_LR CLIP EMA | twin_ref folder DIR SIZE CHANNELS OUT\n", stderr);
        return 2;
    }
    size_t nw, nb;
    uint8_t *wbytes = read_all(argv[2], &nw), *in = read_all(argv[3], &nb);
    if (!wbytes || !in) return die("cannot read the weights or the batch file");
    ds_model *m = ds_model_from_bytes(wbytes, nw);
    if (!m) return die(argv[2]);
    const int item = ds_model_item_floats(m);
    batch b;
    if (parse_batch(in, nb, item, is_step, &b)) return die(argv[3]);
    int rc;
    if (!is_step) {
        float *eps = malloc(sizeof(float) * (size_t)b.B * item);
        rc = !eps || ds_model_forward(m, b.x, b.t, b.cls, b.B, eps) ||
             write_out(argv[4], eps, sizeof(float) * (size_t)b.B * item, NULL, 0);
        free(eps);
    } else {
        ds_optim_config oc;
        ds_optim_config_default(&oc);
        oc.lr = atof(argv[6]);
        oc.weight_decay = atof(argv[7]);
        oc.warmup_steps = atol(argv[8]);
        oc.decay_steps = atol(argv[9]);
        oc.min_lr_ratio = atof(argv[10]);
        oc.clip_norm = atof(argv[11]);
        oc.ema_decay = atof(argv[12]);
        rc = run_steps(m, &b, atoi(argv[5]), &oc, argv[4]);
    }
    ds_model_free(m);
    free(wbytes), free(in);
    return rc ? die("failed") : 0;
}
