/* weights.h — parameter tables and the .dsw weights file format.
 *
 * A model's parameters live in ONE float blob. A parameter table lists every tensor in
 * order: (name, shape, offset into the blob). The same table lays out the weights file, the
 * trainer's gradient blob and the optimiser's m / v blobs (llm.c style: one allocation per
 * role, filled by walking the table), so adding a layer means adding one row.
 *
 * File format (.dsw), all integers little-endian:
 *   header, DS_WEIGHTS_HEADER_BYTES = 256 bytes:
 *     0    char[4]  magic "DSCW"
 *     4    u32      format version: 1 or 2 (the writer emits 1 when the model's description
 *                   is version 1's default, below, so such files stay byte-identical and
 *                   readable by older builds; 2 otherwise)
 *     8    u32      model kind (DS_MODEL_UNET = 1, DS_MODEL_MLP = 2)
 *     12   u32      n_config: how many config ints follow (<= DS_WEIGHTS_MAX_CONFIG)
 *     16   i32[32]  config ints (the model's own order, see unet.h / mlp.h); unused ones 0.
 *                   The UNet's image size and channels are config ints 0 and 1.
 *     144  u32      n_tensors
 *     148  u32      header size (256)
 *     152  u64      total file size in bytes, checksum included
 *   version 2 only (zero in version 1):
 *     160  u32      noise schedule kind (ds_schedule_kind: 0 = linear, 1 = cosine)
 *     164  u32      schedule T, the number of diffusion steps trained on (1..DS_MAX_T)
 *     168  u32      prediction target: what the network outputs (ds_prediction: 0 = eps, the
 *                   noise; 1 = v = sqrt(abar_t) ε − sqrt(1 − abar_t) x_0 (model.h turns it into
 *                   ε for the samplers); 2 = the flow-matching velocity ε − x_0 at flow time t = τ / 1000)
 *     172  u32      n_class_names: 0 (none) or the UNet's n_classes (<= DS_WEIGHTS_MAX_CLASS_NAMES)
 *     176  u32      class_names_bytes: size of the class-name block after the header (multiple of 4)
 *     180  zeros up to byte 256 (a reader refuses non-zero bytes here)
 *   version 1 means: linear schedule, T = 1000, eps-prediction, no class names (what every
 *   version-1 file was trained with).
 *   then (version 2, n_class_names > 0) the class-name block at byte 256, one record per class
 *   in class order: u32 len (1..DS_CLASS_NAME_MAX-1), UTF-8 bytes (no control characters, no
 *   NUL; names distinct), zero pad to 4
 *   then n_tensors records, each starting at a multiple of 4:
 *     u32 name_len (1..DS_PARAM_NAME_MAX-1), name bytes (ASCII, no NUL), zero pad to 4
 *     u32 dtype (DS_DTYPE_F32 = 0, DS_DTYPE_F16 = 1, DS_DTYPE_Q8 = 2), u32 ndim (1..4), u32 dims[ndim]
 *     data: prod(dims) values, row-major, little-endian, zero pad to 4; for q8 (ndim >= 2 only):
 *       f32 scale[dims[0]] (one per output channel, finite, >= 0), then i8 q[prod(dims)];
 *       value = q * scale[row], q in -127..127 (symmetric, per output channel)
 *   then u64 checksum: FNV-1a 64 over every byte before it.
 * Tensors appear in parameter-table order when written; the reader accepts any order but
 * requires each table entry exactly once, with the table's shape, and nothing else.
 *
 * Not here: file I/O (the CLI reads or mmaps files; the page hands bytes over from JS), the
 * models themselves (unet.h, mlp.h) and the handle that ties them together (model.h). */
#ifndef DS_WEIGHTS_H
#define DS_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "schedule.h"

#define DS_WEIGHTS_MAGIC "DSCW"
#define DS_WEIGHTS_VERSION_MIN 1 /* the oldest format this build reads */
#define DS_WEIGHTS_VERSION 2     /* the newest format this build reads and writes */
#define DS_WEIGHTS_HEADER_BYTES 256
#define DS_WEIGHTS_MAX_CONFIG 32

#define DS_PARAM_NAME_MAX 48
#define DS_PARAM_MAX_DIMS 4
#define DS_PARAM_MAX_TENSORS 512

typedef enum { DS_MODEL_UNET = 1, DS_MODEL_MLP = 2 } ds_model_kind;
/* Storage of a tensor in a file. Q8 is 8-bit with one f32 scale per output channel (dim 0);
 * a file written "as q8" keeps in f16 the 1-D tensors (biases, norms) and the tensors of
 * fewer than 8 rows or 16 values per row (the UNet's conv_out and conv_in). */
typedef enum { DS_DTYPE_F32 = 0, DS_DTYPE_F16 = 1, DS_DTYPE_Q8 = 2, DS_DTYPE_COUNT } ds_dtype;
const char *ds_dtype_name(ds_dtype d);                 /* "f32", "f16", "q8" */
int ds_dtype_parse(const char *name, ds_dtype *out);   /* DS_ERR naming the choices */
/* What the network outputs. 1 (v) is reserved in the format; a build that does not know a
 * value refuses the file and says to update. */
typedef enum { DS_PREDICT_EPS = 0, DS_PREDICT_V = 1, DS_PREDICT_FLOW = 2 } ds_prediction;
#define DS_PREDICT_COUNT 3

#define DS_WEIGHTS_MAX_CLASS_NAMES 256
#define DS_CLASS_NAME_MAX 32 /* bytes with the NUL: a name is 1..31 bytes of UTF-8 */

/* How the network was trained, beyond its architecture: what a sampler must know to use it. */
typedef struct {
    ds_schedule_kind schedule_kind;
    int schedule_T;                      /* 1..DS_MAX_T */
    ds_prediction prediction;
    int n_class_names;                   /* 0 = none */
    char class_names[DS_WEIGHTS_MAX_CLASS_NAMES][DS_CLASS_NAME_MAX]; /* (n_class_names) NUL-terminated UTF-8 */
} ds_weights_meta;

/* Version 1's meaning: linear schedule, T = 1000, eps-prediction, no class names. */
void ds_weights_meta_default(ds_weights_meta *meta);
/* DS_OK if every field is one this build knows and in range and every class name is 1..31
 * bytes of UTF-8 without control characters and distinct; else DS_ERR naming the field. */
int ds_weights_meta_check(const ds_weights_meta *meta);
const char *ds_prediction_name(ds_prediction p); /* "eps", "v", "flow" */

typedef struct {
    char name[DS_PARAM_NAME_MAX]; /* e.g. "down.0.res.0.conv1.weight" */
    int ndim;                     /* 1..4 */
    int shape[DS_PARAM_MAX_DIMS]; /* (ndim) */
    long numel;                   /* prod(shape) */
    long offset;                  /* first float of this tensor in the blob */
} ds_param_info;

typedef struct {
    int n;                                  /* number of tensors */
    long total;                             /* floats in the blob = sum of numel */
    ds_param_info p[DS_PARAM_MAX_TENSORS];  /* (n) in blob order */
} ds_param_table;

/* Table building (used by unet.c / mlp.c): appends a tensor at the end of the blob.
 * Returns DS_OK, or DS_ERR if the table is full or the name too long. */
int ds_param_table_add(ds_param_table *t, const char *name, int ndim, const int *shape);
/* Index of the tensor called name, or -1. */
int ds_param_table_find(const ds_param_table *t, const char *name);

/* What a weights file says before the tensors are matched to a model. */
typedef struct {
    uint32_t version;
    uint32_t kind;                       /* ds_model_kind */
    int n_config;
    int config[DS_WEIGHTS_MAX_CONFIG];
    uint32_t n_tensors;
    uint64_t file_size;
    size_t tensors_at;                   /* offset of the first tensor record */
    ds_weights_meta meta;                /* version 1: ds_weights_meta_default */
} ds_weights_header;

/* FNV-1a 64 of n bytes (the file's checksum; exposed so tests can forge valid files). */
uint64_t ds_weights_checksum(const uint8_t *bytes, size_t n);

/* Reads and checks the header and the file's structure: magic, version, sizes, the version-2
 * description (schedule, prediction target, class names), that every record lies inside the
 * file (truncation), and the checksum. Returns DS_OK or DS_ERR with a message ("bad magic
 * ...", "unknown format version 7 (written by a newer Diffuscope; this build reads formats
 * 1..2): update Diffuscope", "header: unknown noise schedule kind 5 ...", "class name #2 ...",
 * "truncated: ...", "checksum mismatch ..."). Never reads outside bytes[0..n). */
int ds_weights_read_header(const uint8_t *bytes, size_t n, ds_weights_header *h);

/* Fills params (table->total floats) from a file whose header has been read: every table
 * tensor must appear exactly once with the table's shape; f16 is widened to f32; every
 * value must be finite. Errors name the tensor: "missing tensor 'x'", "tensor 'x' has shape
 * (3, 4) but the model expects (3, 5)", "unexpected tensor 'x'", "tensor 'x' holds a
 * non-finite value at index 17", ... Returns DS_OK or DS_ERR. */
int ds_weights_read_tensors(const uint8_t *bytes, size_t n, const ds_param_table *table, float *params);

/* Serialises (kind, config, meta, table, params) as a .dsw file in dtype f32, f16 or q8 (f16
 * rounds to nearest even; values beyond the f16 range are an error; q8 quantises every tensor
 * of 2+ dimensions per output channel, scale = max|w| / 127, q = round(w / scale), and writes
 * 1-D tensors and those of under 8 rows or 16 values per row as f16). meta NULL means
 * ds_weights_meta_default; version 1 is written when meta equals it, else version 2.
 * *out_bytes is malloc'd, the caller frees it. Returns DS_OK or DS_ERR. */
int ds_weights_write(ds_model_kind kind, const int *config, int n_config, const ds_weights_meta *meta,
                     const ds_param_table *table, const float *params, ds_dtype dtype, uint8_t **out_bytes,
                     size_t *out_size);

/* IEEE 754 binary16 <-> float32 (round to nearest even; inf/NaN preserved). */
uint16_t ds_f32_to_f16(float f);
float ds_f16_to_f32(uint16_t h);

#endif
