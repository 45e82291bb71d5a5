/* model.h — a denoiser of either kind behind one handle: load, forward, save, free.
 *
 * This is what the sampler, the CLI and the page use. A ds_model owns its network (UNet or
 * MLP) and a run state that grows to the largest batch seen, so repeated forwards of the
 * same batch size allocate nothing. The trainer uses the networks directly (unet.h, mlp.h)
 * and reaches them through ds_model_unet() / ds_model_mlp().
 *
 * Inputs per item: UNet x (C_img, S, S) = 784 floats for Fashion, class 0..9 or 10 (none);
 * MLP x (2), class ignored. t is the timestep as a float in [0, 1000].
 * A model also describes how it was trained (the .dsw header's version-2 fields): its noise
 * schedule, what the network predicts, and its class names, so a sampler need not be told. A
 * model from ds_model_random, or from a version-1 file, has version 1's default: linear
 * schedule, T = 1000, eps-prediction, no class names.
 * Not here: the file format (weights.h), the networks (unet.h, mlp.h). */
#ifndef DS_MODEL_H
#define DS_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "mlp.h"
#include "unet.h"
#include "weights.h"

typedef struct ds_model ds_model;

/* Parses a .dsw file held in memory (the bytes are copied; the caller may free them).
 * Every failure names what is wrong (see weights.h). Returns the model or NULL. */
ds_model *ds_model_from_bytes(const uint8_t *bytes, size_t n);

/* What a .dsw file holds, from its first DS_WEIGHTS_HEADER_BYTES alone: a reader that fetches
 * a file (the page) checks the kind and the announced size before it reads the body. */
typedef struct {
    ds_model_kind kind;
    int image_size, channels;  /* a UNet's S and C_img; 0 for the MLP */
    int item_floats;           /* floats per x / eps item: C_img * S * S, or the MLP's data_dim */
    uint64_t file_size;        /* what the header announces, checksum included */
    uint64_t max_file_size;    /* the most a file of this kind and config can take (f32, every class name) */
} ds_model_peek_info;
/* Checks the header's magic, version, kind and config, and that the announced size is
 * possible for that config (at least the header, at most max_file_size). n may be the whole
 * file or only its first bytes (>= DS_WEIGHTS_HEADER_BYTES). DS_OK or DS_ERR naming what is wrong. */
int ds_model_peek(const uint8_t *bytes, size_t n, ds_model_peek_info *out);
/* A randomly initialised model (tests, benchmarks). config: ds_unet_config* or
 * ds_mlp_config* matching kind, or NULL for the default config. NULL on error. */
ds_model *ds_model_random(ds_model_kind kind, const void *config, uint64_t seed);
void ds_model_free(ds_model *m);

/* Serialises to .dsw bytes (malloc'd; caller frees), with the model's description: version
 * 1 when that is version 1's default, else version 2. DS_OK or DS_ERR. */
int ds_model_to_bytes(const ds_model *m, ds_dtype dtype, uint8_t **out, size_t *n);

ds_model_kind ds_model_get_kind(const ds_model *m);
const char *ds_model_kind_name(ds_model_kind kind);             /* "unet" / "mlp" */
long ds_model_num_params(const ds_model *m);
double ds_model_mflop(const ds_model *m);                        /* per item */
int ds_model_item_floats(const ds_model *m);                     /* floats per x / eps item */
int ds_model_image_size(const ds_model *m);                      /* S of a UNet, 0 for the MLP */
int ds_model_channels(const ds_model *m);                        /* C_img of a UNet, 0 for the MLP */
const ds_param_table *ds_model_table(const ds_model *m);
float *ds_model_params(ds_model *m);                             /* (table.total) the blob */
int ds_model_config_ints(const ds_model *m, int *out, int cap);  /* returns count */
ds_unet *ds_model_unet(ds_model *m);                             /* NULL if not a UNet */
ds_mlp *ds_model_mlp(ds_model *m);                               /* NULL if not an MLP */

/* How the model was trained (see weights.h). */
ds_schedule_kind ds_model_schedule_kind(const ds_model *m);
int ds_model_schedule_T(const ds_model *m);
ds_prediction ds_model_prediction(const ds_model *m);
int ds_model_n_class_names(const ds_model *m);                   /* 0 = none */
const char *ds_model_class_name(const ds_model *m, int i);       /* NULL if i is not 0..n-1 */
const ds_weights_meta *ds_model_meta(const ds_model *m);         /* all of the above at once */

/* Setters for whoever creates a model (the trainer): each checks its values and leaves the
 * model unchanged on error. Class names: n = 0 (none) or exactly the UNet's n_classes, each
 * 1..31 bytes of UTF-8 without control characters, all distinct; an MLP takes none. Saving
 * writes them (ds_model_to_bytes). Return DS_OK or DS_ERR naming the bad value. */
int ds_model_set_schedule(ds_model *m, ds_schedule_kind kind, int T);
int ds_model_set_prediction(ds_model *m, ds_prediction prediction);
int ds_model_set_class_names(ds_model *m, const char *const *names, int n);

/* eps_out (B, item) = model(x (B, item), t (B), cls (B) or NULL). The first call with a
 * larger B than before (re)allocates the run state; later calls allocate nothing. Large
 * batches run in chunks (16 images / 4096 points), which bounds the memory and changes no
 * result. Returns DS_OK or DS_ERR. Not reentrant: one forward at a time per model. */
int ds_model_forward(ds_model *m, const float *x, const float *t, const int *cls, int B, float *eps_out);
/* The same with class embeddings mixed per item (ds_unet_forward_mixed; cls2, w2 (B) or NULL;
 * the MLP has no classes and ignores them). */
int ds_model_forward_mixed(ds_model *m, const float *x, const float *t, const int *cls, const int *cls2,
                           const float *w2, int B, float *eps_out);
/* ds_model_forward_mixed with classes spelled as the samplers, the editing calls and the page
 * spell them: 0..K-1, and DS_NO_CLASS (10, Fashion's K) for none whatever the UNet's K. A UNet
 * of K < 10 classes (train --images) has its own "none" at K, so 10 becomes K there and a class
 * K..9 is refused by name; K >= 10 passes as it is (Fashion: the same bits). A v-model's output
 * (DS_PREDICT_V) comes back as the noise it implies, eps = sqrt(1 - abar_t) x + sqrt(abar_t) v
 * (the model's own schedule), so every eps sampler takes it; ds_model_forward gives v itself. */
int ds_model_forward_sampling(ds_model *m, const float *x, const float *t, const int *cls, const int *cls2,
                              const float *w2, int B, float *eps_out);

#endif
