/* wasm_api.c — the exported face (see wasm_api.h): the handle table, the description, and one
 * thin wrapper per exported function. */
#include "wasm_api.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edit.h"
#include "error.h"
#include "gif.h"
#include "gmm_denoiser.h"
#include "kernels_bench.h"
#include "mlp_train.h"
#include "model.h"
#include "optim.h"
#include "point_metrics.h"
#include "points_forward.h"
#include "rng.h"
#include "sampler.h"
#include "sampler_models.h"
#include "schedule.h"
#include "score.h"
#include "shapes.h"
#include "vi.h"

/* ---- enums: names -> ids, from the library's own name functions ---- */

typedef struct {
    const char *name;
    int first, count;                 /* ids first .. first + count - 1 */
    const char *(*id_name)(int id);
} api_enum;

static const char *model_kind_name(int id) { return ds_model_kind_name((ds_model_kind)id); }
static const char *schedule_name(int id) { return ds_schedule_kind_name((ds_schedule_kind)id); }
static const char *sampler_kind_name(int id) { return ds_sampler_kind_name((ds_sampler_kind)id); }
static const char *view_name(int id) { return ds_sampler_view_name((ds_sampler_view)id); }
static const char *shape_name(int id) { return ds_shape_name((ds_shape_kind)id); }
static const char *vi_direction_name(int id) { return ds_vi_direction_name((ds_vi_direction)id); }
static const char *dtype_name(int id) { return ds_dtype_name((ds_dtype)id); }
static const char *drawing_mode_name(int id) { return id ? "filled" : "ink"; }
static const char *prediction_name(int id) { return ds_prediction_name((ds_prediction)id); }
static const char *path_kind_name(int id) { return ds_path_kind_name((ds_path_kind)id); }
static const char *objective_name(int id) { return ds_mlp_objective_name((ds_mlp_objective)id); }
static const char *unet_layer_name(int id) { return ds_unet_layer_name((ds_unet_layer_kind)id); }

static const api_enum ENUMS[] = {
    {"model_kind", DS_MODEL_UNET, 2, model_kind_name},
    {"schedule", DS_SCHEDULE_LINEAR, 2, schedule_name},
    {"sampler_kind", DS_SAMPLER_DDPM, DS_SAMPLER_COUNT, sampler_kind_name},
    {"view", DS_VIEW_X_T, DS_VIEW_COUNT, view_name},
    {"shape", DS_SHAPE_COW, DS_SHAPE_COUNT, shape_name},
    {"vi_direction", DS_VI_REVERSE, 2, vi_direction_name},
    {"dtype", DS_DTYPE_F32, DS_DTYPE_COUNT, dtype_name},
    {"drawing_mode", 0, 2, drawing_mode_name},
    {"prediction", DS_PREDICT_EPS, DS_PREDICT_COUNT, prediction_name},
    {"path_kind", DS_PATH_LANGEVIN, DS_PATH_COUNT, path_kind_name},
    {"training_objective", DS_MLP_OBJECTIVE_DIFFUSION, DS_MLP_OBJECTIVE_COUNT, objective_name},
    {"unet_layer", DS_LAYER_EMBED, DS_LAYER_COUNT, unet_layer_name},
};
#define N_ENUMS ((int)(sizeof ENUMS / sizeof ENUMS[0]))

static const api_enum *find_enum(const char *name) {
    for (int i = 0; i < N_ENUMS; i++)
        if (!strcmp(ENUMS[i].name, name)) return &ENUMS[i];
    return NULL;
}

/* An int that names an enum value: refused with the choices if it names none. */
static int check_enum(int id, const char *enum_name, const char *what) {
    const api_enum *e = find_enum(enum_name);
    if (id >= e->first && id < e->first + e->count) return DS_OK;
    return ds_fail("%s: %d is not a %s id (%d..%d: see ds_api_describe)", what, id, enum_name, e->first,
                   e->first + e->count - 1);
}

/* ---- records: the field names of every info array ---- */

typedef struct {
    const char *name;
    int count;         /* numbers this field takes (1, or an array such as a model's config) */
    const char *of;    /* the enum its values name, or "" for a number */
} api_field;

/* a UNet's classes (the sampler's "no class" 10 maps onto its own, model.c); 0 for an MLP */
static int unet_classes(ds_model *m) { return ds_model_get_kind(m) == DS_MODEL_UNET ? ds_model_unet(m)->config.n_classes : 0; }

/* Model info, one line per field: name, enum ("" = a number), value for the model m. Adding a
 * field here adds it to ds_api_model_info and to the description; the JS reads it by name. */
#define MODEL_INFO_FIELDS(X)                                  \
    X("kind", "model_kind", ds_model_get_kind(m))             \
    X("params", "", (double)ds_model_num_params(m))           \
    X("mflop", "", ds_model_mflop(m))                         \
    X("item_floats", "", ds_model_item_floats(m))             \
    X("image_size", "", ds_model_image_size(m))               \
    X("channels", "", ds_model_channels(m))                   \
    X("schedule", "schedule", ds_model_schedule_kind(m))      \
    X("T", "", ds_model_schedule_T(m))                        \
    X("prediction", "prediction", ds_model_prediction(m))     \
    X("n_class_names", "", ds_model_n_class_names(m))         \
    X("n_classes", "", unet_classes(m))                       \
    X("n_config", "", ds_model_config_ints(m, NULL, 0))

/* Sampler info (ds_sampler_info, then the shape); snr is -1 where infinite (t = 0). */
#define SAMPLER_INFO_FIELDS(X)                                \
    X("step", "", i.step)                                     \
    X("steps", "", i.steps)                                   \
    X("t", "", i.t)                                           \
    X("t_pred", "", i.t_pred)                                 \
    X("alpha_bar", "", i.alpha_bar)                           \
    X("signal", "", i.signal)                                 \
    X("noise", "", i.noise)                                   \
    X("snr", "", isinf(i.snr) ? -1 : i.snr)                   \
    X("batch", "", batch)                                     \
    X("dim", "", dim)

#define FIELD_DESC(name, of, value) {name, 1, of},
#define FIELD_FILL(name, of, value) out[n++] = (value);

static const api_field MODEL_INFO[] = {MODEL_INFO_FIELDS(FIELD_DESC){"config", DS_WEIGHTS_MAX_CONFIG, ""}};
static const api_field SAMPLER_INFO[] = {SAMPLER_INFO_FIELDS(FIELD_DESC)};
/* The others are filled by the library function each wrapper calls, in this order. */
static const api_field NOISE_INFO[] = {{"alpha_bar", 1, ""}, {"signal", 1, ""}, {"noise", 1, ""}, {"snr", 1, ""}};
static const api_field TRAINER_RUN[] = {{"loss", 1, ""}, {"steps_done", 1, ""}, {"lr", 1, ""}};
static const api_field POINT_QUALITY[] = {{"chamfer", 1, ""}, {"mmd2", 1, ""}};
static const api_field POINT_VERDICT[] = {
    {"chamfer_ratio", 1, ""}, {"pass", 1, ""}, {"max_chamfer_ratio", 1, ""}, {"max_mmd2", 1, ""}};
static const api_field FASHION_SAMPLE[] = {
    {"version", 1, ""}, {"count", 1, ""}, {"rows", 1, ""}, {"cols", 1, ""}, {"labels_offset", 1, ""}, {"pixels_offset", 1, ""}};
static const api_field BENCH_PEAK[] = {{"gflops", 1, ""}, {"checksum", 1, ""}};
static const api_field BENCH_CONV[] = {
    {"cin", 1, ""}, {"size", 1, ""}, {"cout", 1, ""}, {"k", 1, ""}, {"stride", 1, ""}, {"ms", 1, ""},
    {"gflops", 1, ""}, {"mflop", 1, ""}, {"winograd", 1, ""}, {"mflop_executed", 1, ""}};
static const api_field BENCH_LAYER[] = {
    {"kind", 1, "unet_layer"}, {"block", 1, ""}, {"cin", 1, ""}, {"cout", 1, ""}, {"size", 1, ""},
    {"k", 1, ""}, {"stride", 1, ""}, {"ms", 1, ""}, {"mflop_executed", 1, ""}};
static const api_field VI_EVAL[] = {
    {"kl_q_p", 1, ""}, {"kl_p_q", 1, ""}, {"elbo", 1, ""}, {"entropy_q", 1, ""}, {"entropy_p", 1, ""},
    {"cross_q_p", 1, ""}, {"dkl_q_p_dmu", 1, ""}, {"dkl_q_p_dlogsigma", 1, ""}, {"dkl_p_q_dmu", 1, ""},
    {"dkl_p_q_dlogsigma", 1, ""}, {"mean_p", 1, ""}, {"var_p", 1, ""}};
static const api_field VI_MC[] = {{"kl_q_p", 1, ""}, {"kl_q_p_se", 1, ""}, {"kl_p_q", 1, ""},
                                  {"kl_p_q_se", 1, ""}, {"elbo", 1, ""}, {"elbo_se", 1, ""}};
static const api_field VI_TARGET[] = {{"k", 1, ""}, {"params", 3 * DS_VI_MAX_COMPONENTS, ""}};
static const api_field VI_FIT[] = {{"mu", 1, ""}, {"sigma", 1, ""}, {"kl", 1, ""}};
/* Tables of rows, each row one array (schedule_table: T numbers per row; vi_curves: n). */
static const api_field SCHEDULE_TABLE[] = {
    {"beta", 1, ""}, {"alpha_bar", 1, ""}, {"sqrt_alpha_bar", 1, ""}, {"sqrt_one_minus_alpha_bar", 1, ""},
    {"snr", 1, ""}, {"posterior_variance", 1, ""}, {"posterior_coef_x0", 1, ""}, {"posterior_coef_xt", 1, ""}};
static const api_field VI_CURVES[] = {{"p", 1, ""}, {"q", 1, ""}, {"kl_q_p_density", 1, ""}, {"kl_p_q_density", 1, ""}};
static const api_field WEIGHTS_PEEK[] = {{"kind", 1, "model_kind"}, {"image_size", 1, ""}, {"channels", 1, ""},
                                         {"item_floats", 1, ""}, {"file_size", 1, ""}, {"max_file_size", 1, ""}};

typedef struct {
    const char *name;
    const api_field *fields;
    int n_fields;
} api_record;

#define RECORD(name, table) {name, table, (int)(sizeof table / sizeof table[0])}
static const api_record RECORDS[] = {
    RECORD("model_info", MODEL_INFO), RECORD("sampler_info", SAMPLER_INFO), RECORD("noise_info", NOISE_INFO),
    RECORD("trainer_run", TRAINER_RUN), RECORD("point_quality", POINT_QUALITY), RECORD("point_verdict", POINT_VERDICT),
    RECORD("fashion_sample", FASHION_SAMPLE), RECORD("bench_peak", BENCH_PEAK), RECORD("bench_conv", BENCH_CONV),
    RECORD("bench_layer", BENCH_LAYER),
    RECORD("vi_evaluate", VI_EVAL), RECORD("vi_monte_carlo", VI_MC), RECORD("vi_target", VI_TARGET),
    RECORD("vi_fit", VI_FIT), RECORD("schedule_table", SCHEDULE_TABLE), RECORD("vi_curves", VI_CURVES),
    RECORD("weights_peek", WEIGHTS_PEEK),
};
#define N_RECORDS ((int)(sizeof RECORDS / sizeof RECORDS[0]))

/* ---- functions: each export's parameter kinds, for the JS marshalling ----
 * h handle, i int, d double, p pointer (array in or out), e:NAME an int naming an enum value. */
typedef struct {
    const char *name;  /* without the ds_api_ prefix */
    const char *params;
} api_function;

static const api_function FUNCTIONS[] = {
    {"free", "h"},
    {"bounds", "p,i"},
    {"model_load", "p,i"},
    {"weights_peek", "p,i,p"},
    {"model_random", "e:model_kind,p,i,d"},
    {"model_forward", "h,p,p,p,i,p"},
    {"model_info", "h,p"},
    {"model_save", "h,e:dtype,i,p"},
    {"model_class_names", "h,i,p"},
    {"mixture_images", "p,p,i,i,d,e:schedule"},
    {"mixture_new", "i,i,p,p,p,p,e:schedule"},
    {"mixture_predict", "h,e:view,p,p,p,i,p"},
    {"sampler_new", "h,e:schedule,e:sampler_kind,i,d,d,d,d,i,p"},
    {"sampler_guidance_interval", "h,i,i"},
    {"sampler_spacing", "h,d"},
    {"sampler_step", "h,i"},
    {"sampler_read", "h,e:view,p"},
    {"sampler_read_u8", "h,e:view,p"},
    {"sampler_info", "h,p"},
    {"sampler_frame", "h,p,p,p"},
    {"sampler_run", "h,p,p"},
    {"forward_noise", "p,i,i,e:schedule,d,p,p"},
    {"fashion_sample", "p,i,p"},
    {"sampler_sdedit", "h,i,p,p"},
    {"sampler_inpaint", "h,p,p,i,d"},
    {"sampler_slerp", "h,d,d,p"},
    {"sampler_blend", "h,p,p"},
    {"sampler_guidance_map", "h,p"},
    {"edit_run", "h,i,p,p,p,p"},
    {"gif_encode", "p,i,i,i,i,i,i,i,p"},
    {"trainer_new", "p,i,i,i,i,d,i,d"},
    {"trainer_run", "h,i,p"},
    {"trainer_save", "h,i,i,p"},
    {"adam_new", "i,d,d,d,d,d,i"},
    {"adam_update", "h,p,p,p"},
    {"schedule_table", "e:schedule,i,i,p"},
    {"rng_normals", "d,i,p"},
    {"shape_points", "e:shape,i,d,p"},
    {"cow_outline", "i,p"},
    {"drawing_points", "p,p,i,e:drawing_mode,d,i,d,p"},
    {"image_points", "p,i,i,i,i,d,p"},
    {"points_noise", "i,d,p"},
    {"forward_points", "e:schedule,i,i,p,p,i,p"},
    {"forward_trajectory", "e:schedule,i,p,p,p"},
    {"forward_density", "e:schedule,i,i,p,i,d,d,i,p"},
    {"point_quality", "p,i,p,i,p"},
    {"point_floor", "e:shape,i,d,p"},
    {"point_verdict", "d,d,d,p"},
    {"vi_evaluate", "i,p,d,d,d,p"},
    {"vi_parse_target", "p,i,p"},
    {"vi_curves", "i,p,d,d,d,d,i,p"},
    {"vi_monte_carlo", "i,p,d,d,d,d,d,p"},
    {"vi_fit_path", "i,p,e:vi_direction,d,d,i,p"},
    {"bench_peak", "d,p"},
    {"bench_unet_convs", "h,i,d,i,p"},
    {"bench_unet_layers", "h,i,d,i,p"},
    /* scores, Langevin, SDE / ODE and flow matching (score.h) */
    {"trainer_objective_new", "e:training_objective,p,i,i,i,i,d,i,d"},
    {"points_mixture", "p,i,d,e:schedule"},
    {"score", "h,i,p,i,p"},
    {"velocity", "h,d,p,i,p"},
    {"grid_points", "d,d,i,p"},
    {"score_grid", "h,i,d,d,i,p"},
    {"velocity_grid", "h,d,d,d,i,p"},
    {"paths", "h,e:path_kind,i,d,i,d,i,d,p,i,p,p"},
    {"langevin", "h,i,d,i,d,p,i,p"},
};
#define N_FUNCTIONS ((int)(sizeof FUNCTIONS / sizeof FUNCTIONS[0]))

/* ---- the description (JSON), built once ---- */

typedef struct {
    char *text;
    size_t len, cap;
} json_buf;

static void put(json_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0 || !b->text) return;
    if (b->len + (size_t)need + 1 > b->cap) {
        size_t cap = 2 * b->cap + (size_t)need + 1;
        char *t = realloc(b->text, cap);
        if (!t) {
            free(b->text);
            b->text = NULL;
            return;
        }
        b->text = t;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->text + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)need;
}

const char *ds_api_describe(void) {
    static char *description;
    if (description) return description;
    json_buf b = {malloc(4096), 0, 4096};
    put(&b, "{\"version\":1,\"prefix\":\"ds_api_\",\"enums\":{");
    for (int i = 0; i < N_ENUMS; i++) {
        put(&b, "%s\"%s\":{", i ? "," : "", ENUMS[i].name);
        for (int id = ENUMS[i].first; id < ENUMS[i].first + ENUMS[i].count; id++)
            put(&b, "%s\"%s\":%d", id > ENUMS[i].first ? "," : "", ENUMS[i].id_name(id), id);
        put(&b, "}");
    }
    put(&b, "},\"records\":{");
    for (int r = 0; r < N_RECORDS; r++) {
        put(&b, "%s\"%s\":[", r ? "," : "", RECORDS[r].name);
        for (int f = 0; f < RECORDS[r].n_fields; f++) {
            const api_field *fd = &RECORDS[r].fields[f];
            put(&b, "%s{\"name\":\"%s\",\"count\":%d%s%s%s}", f ? "," : "", fd->name, fd->count, *fd->of ? ",\"enum\":\"" : "",
                fd->of, *fd->of ? "\"" : "");
        }
        put(&b, "]");
    }
    put(&b, "},\"functions\":{");
    for (int i = 0; i < N_FUNCTIONS; i++) put(&b, "%s\"%s\":\"%s\"", i ? "," : "", FUNCTIONS[i].name, FUNCTIONS[i].params);
    put(&b, "},\"limits\":{\"max_sampler_batch\":%d,\"max_t\":%d,\"max_points\":%d,\"vi_max_components\":%d,\"weights_header_bytes\":%d}}",
        DS_SAMPLER_MAX_BATCH, DS_MAX_T, DS_POINTS_MAX, DS_VI_MAX_COMPONENTS, DS_WEIGHTS_HEADER_BYTES);
    description = b.text;
    return description ? description : "{}";
}

const char *ds_api_last_error(void) { return ds_last_error(); }
void ds_api_clear_error(void) { ds_clear_error(); }

/* ---- the handle table ----
 * handle = generation * API_SLOTS + slot, slot 1 .. API_SLOTS - 1 (slot 0 stays empty, so 0 and
 * every multiple of API_SLOTS are never handles). Freeing bumps the slot's generation, so the
 * old handle is refused as freed even after the slot is reused. */

typedef enum { OBJ_FREE = 0, OBJ_MODEL, OBJ_MIXTURE, OBJ_SAMPLER, OBJ_TRAINER, OBJ_ADAM } obj_kind;
static const char *const OBJ_NAMES[] = {"free slot", "model", "mixture", "sampler", "trainer", "optimiser"};

#define API_SLOTS 256
#define API_MAX_GENERATION (0x7fffffff / API_SLOTS)

typedef struct {
    obj_kind kind;
    int generation;  /* >= 1 once used */
    void *object;
} api_slot;

static api_slot g_slots[API_SLOTS];

/* A sampler with the handle of what it samples: each evaluation looks the source up, so
 * freeing the model first makes the next step fail cleanly instead of reading freed memory. */
typedef struct {
    ds_sampler *sampler;
    int source;
    char source_desc[96];  /* what it samples, for size messages: "a unet of 28x28 images, 1 channel" */
    ds_inpaint *inpaint;     /* sampler_inpaint: the steps go through it; NULL = none */
    ds_class_blend *blend;   /* sampler_blend: the model's class embeddings mixed; NULL = none */
} api_sampler;

static void free_api_sampler(api_sampler *as) {
    ds_inpaint_free(as->inpaint);
    ds_class_blend_free(as->blend);
    ds_sampler_free(as->sampler);
    free(as);
}

static void free_object(obj_kind kind, void *object) {
    switch (kind) {
    case OBJ_MODEL: ds_model_free(object); break;
    case OBJ_MIXTURE: ds_gmm_free(object); break;
    case OBJ_SAMPLER: free_api_sampler(object); break;
    case OBJ_TRAINER: ds_mlp_trainer_free(object), free(object); break;
    case OBJ_ADAM: ds_optim_free(object), free(object); break;
    case OBJ_FREE: break;
    }
}

/* Stores the object (NULL: its constructor failed, the error is set). Returns the handle. */
static int store(obj_kind kind, void *object) {
    if (!object) return DS_ERR;
    for (int s = 1; s < API_SLOTS; s++) {
        api_slot *sl = &g_slots[s];
        if (sl->kind != OBJ_FREE) continue;
        if (sl->generation < 1 || sl->generation > API_MAX_GENERATION - 1) sl->generation = 1;
        sl->kind = kind;
        sl->object = object;
        return sl->generation * API_SLOTS + s;
    }
    free_object(kind, object);
    return ds_fail("too many objects at once (%d); free some with ds_api_free first", API_SLOTS - 1);
}

/* The object behind handle h if it is of kind `want` (OBJ_FREE: any kind), else NULL and why. */
static api_slot *lookup(int h, obj_kind want) {
    const int s = h % API_SLOTS, gen = h / API_SLOTS;
    if (h <= 0 || s == 0) {
        ds_fail("%d is not a %s handle (handles are > 0; 0 means none)", h, want ? OBJ_NAMES[want] : "valid");
        return NULL;
    }
    api_slot *sl = &g_slots[s];
    if (sl->kind == OBJ_FREE || sl->generation != gen) {
        ds_fail("%s handle %d was freed already (or never made)", want ? OBJ_NAMES[want] : "the", h);
        return NULL;
    }
    if (want != OBJ_FREE && sl->kind != want) {
        ds_fail("handle %d is a %s, expected a %s", h, OBJ_NAMES[sl->kind], OBJ_NAMES[want]);
        return NULL;
    }
    return sl;
}

static void *get(int h, obj_kind want) {
    api_slot *sl = lookup(h, want);
    return sl ? sl->object : NULL;
}

/* ---- what the caller's arrays hold (ds_api_bounds) ---- */

#define API_MAX_ARGS 16
static int g_lens[API_MAX_ARGS];  /* (g_n_lens) elements per argument of the current call, -1: a number */
static int g_n_lens;              /* 0: unchecked */

int ds_api_bounds(const int *lens, int n) {
    g_n_lens = 0;
    if (n < 0 || n > API_MAX_ARGS || (n > 0 && !lens)) return ds_fail("bounds: %d argument lengths (0..%d allowed)", n, API_MAX_ARGS);
    if (n > 0) memcpy(g_lens, lens, sizeof(int) * (size_t)n);
    g_n_lens = n;
    return DS_OK;
}

/* Argument `arg` (0-based) of `fn` must hold `need` elements: exactly (exact = 1: the size
 * comes from an object, so any other size means the caller holds another kind of object) or
 * at least (a count the caller gave). `why` says where the need comes from. An argument of
 * unknown length (no bounds set) is not checked. */
static int check_len(const char *fn, int arg, const char *what, long long need, int exact, const char *why) {
    if (arg >= g_n_lens || g_lens[arg] < 0) return DS_OK;
    const long long have = g_lens[arg];
    if (exact ? have == need : have >= need) return DS_OK;
    return ds_fail("%s: %s holds %lld values, but %s: %s%lld", fn, what, have, why, exact ? "exactly " : "at least ", need);
}

static const char *model_desc(const ds_model *m, char *buf, size_t cap) {
    const int S = ds_model_image_size(m), C = ds_model_channels(m);
    if (ds_model_get_kind(m) == DS_MODEL_UNET) snprintf(buf, cap, "a unet of %dx%d images, %d channel%s", S, S, C, C == 1 ? "" : "s");
    else snprintf(buf, cap, "an mlp of %d-D points", ds_model_item_floats(m));
    return buf;
}

/* "B items of D values (SOURCE) take" */
static const char *items_of(char *buf, size_t cap, long long B, long long D, const char *source) {
    snprintf(buf, cap, "%lld item%s of %lld values (%s) take", B, B == 1 ? "" : "s", D, source);
    return buf;
}

#define REC_LEN(table) record_len(table, (int)(sizeof table / sizeof table[0]))
static int record_len(const api_field *f, int n) {
    int len = 0;
    for (int i = 0; i < n; i++) len += f[i].count;
    return len;
}

int ds_api_free(int h) {
    api_slot *sl = lookup(h, OBJ_FREE);
    if (!sl) return DS_ERR;
    free_object(sl->kind, sl->object);
    sl->kind = OBJ_FREE;
    sl->object = NULL;
    sl->generation++;
    return DS_OK;
}

/* ---- helpers shared by the wrappers ---- */

/* Copies n bytes into out (cap) and frees them; cap = 0 only asks the size. */
static int give_bytes(uint8_t *bytes, size_t n, int cap, uint8_t *out, const char *what) {
    int rc = (int)n;
    if (cap < 0 || (cap > 0 && !out)) rc = ds_fail("%s: bad output buffer (capacity %d)", what, cap);
    else if (cap > 0 && (size_t)cap < n) rc = ds_fail("%s: %zu bytes do not fit in %d", what, n, cap);
    else if (cap > 0) memcpy(out, bytes, n);
    free(bytes);
    return rc;
}

/* A schedule for one call: 40 KB, too big for the default WASM stack, hence static (one
 * call at a time: the module runs on one thread). */
static const ds_schedule *schedule_of(int kind) {
    static ds_schedule sch;
    if (check_enum(kind, "schedule", "schedule") || ds_schedule_init(&sch, (ds_schedule_kind)kind, DS_MAX_T)) return NULL;
    return &sch;
}

/* ---- models ---- */

int ds_api_model_load(const uint8_t *bytes, int n) {
    if (!bytes || n < 0) return ds_fail("model load: no bytes");
    if (check_len("model_load", 0, "bytes", n, 0, "the byte count says")) return DS_ERR;
    return store(OBJ_MODEL, ds_model_from_bytes(bytes, (size_t)n));
}

int ds_api_weights_peek(const uint8_t *bytes, int n, double *out) {
    ds_model_peek_info p;
    if (!bytes || n < 0 || !out) return ds_fail("weights peek: no bytes or null output");
    if (check_len("weights_peek", 0, "bytes", n, 0, "the byte count says") ||
        check_len("weights_peek", 2, "out", REC_LEN(WEIGHTS_PEEK), 0, "the record weights_peek takes") ||
        ds_model_peek(bytes, (size_t)n, &p))
        return DS_ERR;
    const double v[] = {p.kind, p.image_size, p.channels, p.item_floats, (double)p.file_size, (double)p.max_file_size};
    memcpy(out, v, sizeof v);
    return DS_OK;
}

int ds_api_model_random(int kind, const int *config, int n, double seed) {
    uint64_t s = 0;
    if (check_enum(kind, "model_kind", "model kind") || ds_seed_from_double(seed, &s)) return DS_ERR;
    if (n > 0 && check_len("model_random", 1, "config", n, 0, "the config count says")) return DS_ERR;
    ds_unet_config uc;
    ds_mlp_config mc;
    const void *cfg = NULL;
    if (n > 0) {
        int rc = kind == DS_MODEL_UNET ? ds_unet_config_from_ints(config, n, &uc) : ds_mlp_config_from_ints(config, n, &mc);
        if (rc) return DS_ERR;
        cfg = kind == DS_MODEL_UNET ? (const void *)&uc : (const void *)&mc;
    }
    return store(OBJ_MODEL, ds_model_random((ds_model_kind)kind, cfg, s));
}

int ds_api_model_forward(int h, const float *x, const float *t, const int *cls, int B, float *out) {
    ds_model *m = get(h, OBJ_MODEL);
    if (!m) return DS_ERR;
    if (B >= 1) {
        char desc[96], why[160];
        const long long item = ds_model_item_floats(m);
        items_of(why, sizeof why, B, item, model_desc(m, desc, sizeof desc));
        if (check_len("model_forward", 1, "x", B * item, 1, why) || check_len("model_forward", 5, "out", B * item, 1, why) ||
            check_len("model_forward", 2, "t", B, 1, "one timestep per item") ||
            (cls && check_len("model_forward", 3, "cls", B, 1, "one class per item")))
            return DS_ERR;
    }
    return ds_model_forward(m, x, t, cls, B, out);
}

int ds_api_model_info(int h, double *out) {
    ds_model *m = get(h, OBJ_MODEL);
    if (!m || !out) return m ? ds_fail("model info: null output") : DS_ERR;
    if (check_len("model_info", 1, "out", REC_LEN(MODEL_INFO), 0, "the record model_info takes")) return DS_ERR;
    int n = 0, config[DS_WEIGHTS_MAX_CONFIG] = {0};
    MODEL_INFO_FIELDS(FIELD_FILL)
    ds_model_config_ints(m, config, DS_WEIGHTS_MAX_CONFIG);
    for (int i = 0; i < DS_WEIGHTS_MAX_CONFIG; i++) out[n++] = config[i];
    return DS_OK;
}

int ds_api_model_save(int h, int dtype, int cap, uint8_t *out) {
    ds_model *m = get(h, OBJ_MODEL);
    if (!m || check_enum(dtype, "dtype", "model save dtype")) return DS_ERR;
    if (cap > 0 && check_len("model_save", 3, "out", cap, 0, "the capacity says")) return DS_ERR;
    uint8_t *bytes;
    size_t n;
    if (ds_model_to_bytes(m, (ds_dtype)dtype, &bytes, &n)) return DS_ERR;
    return give_bytes(bytes, n, cap, out, "model save");
}

int ds_api_model_class_names(int h, int cap, uint8_t *out) {
    ds_model *m = get(h, OBJ_MODEL);
    if (!m) return DS_ERR;
    if (cap > 0 && check_len("model_class_names", 2, "out", cap, 0, "the capacity says")) return DS_ERR;
    const int n = ds_model_n_class_names(m);
    uint8_t *bytes = malloc((size_t)n * DS_CLASS_NAME_MAX + 1);
    if (!bytes) return ds_fail("model class names: out of memory");
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        const char *name = ds_model_class_name(m, i);
        memcpy(bytes + len, name, strlen(name));
        len += strlen(name);
        bytes[len++] = '\n';
    }
    return give_bytes(bytes, len, cap, out, "model class names");
}

/* ---- mixtures ---- */

int ds_api_mixture_images(const uint8_t *pixels, const uint8_t *labels, int count, int D, double var, int schedule) {
    if (count > 0 && D > 0 &&
        (check_len("mixture_images", 0, "pixels", (long long)count * D, 0, "count x D pixels") ||
         check_len("mixture_images", 1, "labels", count, 0, "one label per image")))
        return DS_ERR;
    const ds_schedule *sch = schedule_of(schedule);
    return sch ? store(OBJ_MIXTURE, ds_gmm_from_images(sch, pixels, labels, count, D, var)) : DS_ERR;
}

int ds_api_mixture_new(int K, int D, const double *weight, const float *mean, const float *var, const int *label,
                       int schedule) {
    if (K > 0 && D > 0 &&
        (check_len("mixture_new", 2, "weight", K, 0, "one weight per component") ||
         check_len("mixture_new", 3, "mean", (long long)K * D, 0, "K x D means") ||
         check_len("mixture_new", 4, "var", (long long)K * D, 0, "K x D variances") ||
         (label && check_len("mixture_new", 5, "label", K, 0, "one label per component"))))
        return DS_ERR;
    const ds_schedule *sch = schedule_of(schedule);
    return sch ? store(OBJ_MIXTURE, ds_gmm_create(sch, K, D, weight, mean, var, label)) : DS_ERR;
}

int ds_api_mixture_predict(int h, int what, const float *x, const float *t, const int *cls, int B, float *out) {
    ds_gmm *g = get(h, OBJ_MIXTURE);
    if (!g || check_enum(what, "view", "mixture predict")) return DS_ERR;
    if (B >= 1) {
        char desc[64], why[160];
        snprintf(desc, sizeof desc, "a mixture of %d-value items", ds_gmm_dim(g));
        items_of(why, sizeof why, B, ds_gmm_dim(g), desc);
        if (check_len("mixture_predict", 2, "x", (long long)B * ds_gmm_dim(g), 1, why) ||
            check_len("mixture_predict", 6, "out", (long long)B * ds_gmm_dim(g), 1, why) ||
            check_len("mixture_predict", 3, "t", B, 1, "one timestep per item") ||
            (cls && check_len("mixture_predict", 4, "cls", B, 1, "one class per item")))
            return DS_ERR;
    }
    return ds_gmm_predict(g, (ds_sampler_view)what, x, t, cls, B, out);
}

/* ---- samplers ---- */

static int source_eps(void *ctx, const float *x, const float *t, const int *cls, int B, float *eps) {
    api_slot *sl = lookup(((api_sampler *)ctx)->source, OBJ_FREE);
    if (!sl) return DS_ERR;
    ds_class_blend *blend = ((api_sampler *)ctx)->blend;
    if (sl->kind == OBJ_MODEL && blend) return ds_class_blend_forward(blend, sl->object, x, t, cls, B, eps);
    if (sl->kind == OBJ_MODEL) return ds_model_forward_sampling(sl->object, x, t, cls, NULL, NULL, B, eps);
    if (sl->kind == OBJ_MIXTURE) return ds_gmm_eps(sl->object, x, t, cls, B, eps);
    return ds_fail("the sampler's source handle %d is now a %s", ((api_sampler *)ctx)->source, OBJ_NAMES[sl->kind]);
}

int ds_api_sampler_new(int source, int schedule, int kind, int steps, double eta, double guidance, double clip,
                       double seed, int batch, const int *cls) {
    api_slot *sl = lookup(source, OBJ_FREE);
    if (!sl) return DS_ERR;
    if (sl->kind != OBJ_MODEL && sl->kind != OBJ_MIXTURE)
        return ds_fail("handle %d is a %s, expected a model or a mixture", source, OBJ_NAMES[sl->kind]);
    ds_sampler_params p;
    ds_sampler_params_init(&p);
    if (check_enum(kind, "sampler_kind", "sampler kind") || ds_seed_from_double(seed, &p.seed)) return DS_ERR;
    if (ds_check_range_int(batch, 1, DS_SAMPLER_MAX_BATCH, "batch")) return DS_ERR;
    if (!cls) return ds_fail("sampler: null class array");
    if (check_len("sampler_new", 9, "cls", batch, 1, "one class per item of the batch")) return DS_ERR;
    const ds_schedule *sch;
    int D;
    static ds_schedule model_sch;
    if (sl->kind == OBJ_MODEL) { /* the model says which schedule it was trained with */
        const ds_model *m = sl->object;
        if (ds_model_prediction(m) == DS_PREDICT_FLOW) /* an ε- or v-model gives ε (model.h) */
            return ds_fail("sampler: the model predicts the flow velocity, not the noise: ddpm, ddim and dpmpp2m need an "
                           "ε- or v-model (sample a flow model with paths: flow-euler or flow-heun)");
        if (check_enum(schedule, "schedule", "schedule")) return DS_ERR;
        if ((int)ds_model_schedule_kind(m) != schedule)
            return ds_fail("sampler: the model was trained with the %s schedule, not %s (its info names it)",
                           ds_schedule_kind_name(ds_model_schedule_kind(m)), schedule_name(schedule));
        if (ds_schedule_init(&model_sch, ds_model_schedule_kind(m), ds_model_schedule_T(m))) return DS_ERR;
        sch = &model_sch;
        D = ds_model_item_floats(m);
    } else { /* the mixture holds its own schedule; the sampler must use the same one */
        sch = ds_gmm_schedule(sl->object);
        if ((int)sch->kind != schedule)
            return ds_fail("sampler: the mixture was made with the %s schedule, not %s", ds_schedule_kind_name(sch->kind),
                           schedule_name(schedule));
        D = ds_gmm_dim(sl->object);
    }
    p.kind = (ds_sampler_kind)kind;
    p.steps = steps;
    p.eta = eta;
    p.guidance = guidance;
    p.clip = clip;
    p.batch = batch;
    api_sampler *as = calloc(1, sizeof *as);
    if (!as) return ds_fail("sampler: out of memory");
    as->source = source;
    if (sl->kind == OBJ_MODEL) model_desc(sl->object, as->source_desc, sizeof as->source_desc);
    else snprintf(as->source_desc, sizeof as->source_desc, "a mixture of %d-value items", D);
    as->sampler = ds_sampler_create(sch, D, source_eps, as, &p, cls);
    if (!as->sampler) {
        free(as);
        return DS_ERR;
    }
    return store(OBJ_SAMPLER, as);
}

static ds_sampler *get_sampler(int h) {
    api_sampler *as = get(h, OBJ_SAMPLER);
    return as ? as->sampler : NULL;
}

/* Argument `arg` of `fn` must hold `per_item` x the sampler's batch x dim values (frames). */
static int check_sampler_len(int h, const char *fn, int arg, const char *what, long long frames) {
    const api_sampler *as = get(h, OBJ_SAMPLER);
    if (!as) return DS_ERR;
    char why[200];
    const long long B = ds_sampler_batch(as->sampler), D = ds_sampler_dim(as->sampler);
    items_of(why, sizeof why, frames * B, D, as->source_desc);
    return check_len(fn, arg, what, frames * B * D, 1, why);
}

int ds_api_sampler_guidance_interval(int h, int lo, int hi) {
    ds_sampler *s = get_sampler(h);
    return s ? ds_sampler_set_guidance_interval(s, lo, hi) : DS_ERR;
}

int ds_api_sampler_spacing(int h, double spacing) {
    ds_sampler *s = get_sampler(h);
    return s ? ds_sampler_set_spacing(s, spacing) : DS_ERR;
}

int ds_api_sampler_step(int h, int n) {
    ds_sampler *s = get_sampler(h);
    if (!s || ds_check_range_int(n, 0, DS_MAX_T, "number of steps")) return DS_ERR;
    ds_inpaint *ip = ((api_sampler *)get(h, OBJ_SAMPLER))->inpaint;
    for (int i = 0; i < n && !ds_sampler_done(s); i++)
        if (ip ? ds_inpaint_step(ip) : ds_sampler_step(s)) return DS_ERR;
    ds_sampler_info info;
    ds_sampler_get_info(s, &info);
    return info.step;
}

int ds_api_sampler_read(int h, int what, float *out) {
    ds_sampler *s = get_sampler(h);
    if (!s || check_enum(what, "view", "sampler read") || check_sampler_len(h, "sampler_read", 2, "out", 1)) return DS_ERR;
    if (!out) return ds_fail("sampler read: null output");
    memcpy(out, ds_sampler_view_of(s, (ds_sampler_view)what), sizeof(float) * ds_sampler_batch(s) * ds_sampler_dim(s));
    return DS_OK;
}

int ds_api_sampler_read_u8(int h, int what, uint8_t *out) {
    ds_sampler *s = get_sampler(h);
    if (!s || check_enum(what, "view", "sampler read") || check_sampler_len(h, "sampler_read_u8", 2, "out", 1)) return DS_ERR;
    return ds_sampler_read_pixels(s, (ds_sampler_view)what, out);
}

static void fill_sampler_info(const ds_sampler_info *info, int batch, int dim, double *out) {
    const ds_sampler_info i = *info;
    int n = 0;
    SAMPLER_INFO_FIELDS(FIELD_FILL)
}

int ds_api_sampler_info(int h, double *out) {
    ds_sampler *s = get_sampler(h);
    if (!s || !out) return s ? ds_fail("sampler info: null output") : DS_ERR;
    if (check_len("sampler_info", 1, "out", REC_LEN(SAMPLER_INFO), 0, "the record sampler_info takes")) return DS_ERR;
    ds_sampler_info info;
    ds_sampler_get_info(s, &info);
    fill_sampler_info(&info, ds_sampler_batch(s), ds_sampler_dim(s), out);
    return DS_OK;
}

int ds_api_sampler_frame(int h, uint8_t *x_out, uint8_t *x0_out, double *info) {
    if (check_sampler_len(h, "sampler_frame", 1, "x_out", 1) || check_sampler_len(h, "sampler_frame", 2, "x0_out", 1) ||
        check_len("sampler_frame", 3, "info", REC_LEN(SAMPLER_INFO), 0, "the record sampler_info takes"))
        return DS_ERR;
    const int saved = g_n_lens; /* the reads below are this call's, with its own argument order */
    g_n_lens = 0;
    const int rc = ds_api_sampler_read_u8(h, DS_VIEW_X_T, x_out) || ds_api_sampler_read_u8(h, DS_VIEW_X0, x0_out)
                       ? DS_ERR
                       : ds_api_sampler_info(h, info);
    g_n_lens = saved;
    return rc;
}

int ds_api_sampler_run(int h, float *frames, double *infos) {
    ds_sampler *s = get_sampler(h);
    if (!s || !frames || !infos) return s ? ds_fail("sampler run: null frames or infos") : DS_ERR;
    const int F = ds_sampler_frames_left(s);
    if (check_sampler_len(h, "sampler_run", 1, "frames", F) ||
        check_len("sampler_run", 2, "infos", (long long)F * REC_LEN(SAMPLER_INFO), 0, "F records sampler_info take"))
        return DS_ERR;
    ds_sampler_info *info = malloc(sizeof *info * (size_t)F);
    if (!info) return ds_fail("sampler run: out of memory");
    const int rc = ds_edit_run(s, ((api_sampler *)get(h, OBJ_SAMPLER))->inpaint, frames, NULL, NULL, info);
    const int done = rc < 0 ? 0 : rc;
    const int n_fields = (int)(sizeof SAMPLER_INFO / sizeof SAMPLER_INFO[0]);
    for (int f = 0; f < done; f++) fill_sampler_info(&info[f], ds_sampler_batch(s), ds_sampler_dim(s), infos + (size_t)f * n_fields);
    free(info);
    return rc;
}

int ds_api_forward_noise(const uint8_t *pixels, int D, int t, int schedule, double seed, uint8_t *out, double *info) {
    uint64_t s = 0;
    if (D > 0 && (check_len("forward_noise", 0, "pixels", D, 0, "D says") || check_len("forward_noise", 5, "out", D, 0, "D says") ||
                  check_len("forward_noise", 6, "info", REC_LEN(NOISE_INFO), 0, "the record noise_info takes")))
        return DS_ERR;
    const ds_schedule *sch = schedule_of(schedule);
    if (!sch || ds_seed_from_double(seed, &s)) return DS_ERR;
    return ds_forward_noise(sch, pixels, D, t, s, out, info);
}

int ds_api_fashion_sample(const uint8_t *bytes, int n, double *out) {
    ds_fashion_sample fs;
    if (n < 0 || !out) return ds_fail("fashion sample: bad size or null output");
    if (check_len("fashion_sample", 0, "bytes", n, 0, "the byte count says") ||
        check_len("fashion_sample", 2, "out", REC_LEN(FASHION_SAMPLE), 0, "the record fashion_sample takes"))
        return DS_ERR;
    if (ds_fashion_sample_parse(bytes, (size_t)n, &fs)) return DS_ERR;
    const double v[] = {DS_FASHION_SAMPLE_VERSION, fs.count, fs.rows, fs.cols, (double)(fs.labels - bytes), (double)(fs.pixels - bytes)};
    memcpy(out, v, sizeof v);
    return DS_OK;
}

/* ---- editing and the GIF (edit.h, gif.h): <diffuscope-edit>, <diffuscope-blend>,
 * <diffuscope-sampler>. Each wrapper checks the sampler handle, converts pixels to x and calls
 * one edit.h function; the attachments live in api_sampler and are freed with it. ---- */

/* pixels (batch, D) of sampler h as x, malloc'd; NULL with the error set (arg: the pixels'
 * argument index, for the length check) */
static float *sampler_pixels_as_x(ds_sampler *s, const uint8_t *pixels, const char *what, int arg) {
    if (!pixels) { ds_fail("%s: null pixels", what); return NULL; }
    const long n = (long)ds_sampler_batch(s) * ds_sampler_dim(s);
    if (check_len(what, arg, "pixels", n, 0, "the sampler's batch x item takes")) return NULL;
    float *x = malloc(sizeof(float) * n);
    if (!x) { ds_fail("%s: out of memory", what); return NULL; }
    ds_pixels_to_x(pixels, n, x);
    return x;
}

int ds_api_sampler_sdedit(int h, int t0, const uint8_t *pixels, double *info) {
    ds_sampler *s = get_sampler(h);
    if (!s || !info) return s ? ds_fail("sdedit: null info output") : DS_ERR;
    if (check_len("sampler_sdedit", 3, "info", REC_LEN(SAMPLER_INFO), 0, "the record sampler_info takes")) return DS_ERR;
    float *x = sampler_pixels_as_x(s, pixels, "sampler_sdedit", 2);
    if (!x) return DS_ERR;
    int rc = ds_edit_sdedit(s, t0, x);
    free(x);
    if (!rc) rc = ds_api_sampler_info(h, info);
    return rc;
}

int ds_api_sampler_inpaint(int h, const uint8_t *pixels, const uint8_t *mask, int resample, double seed) {
    api_sampler *as = get(h, OBJ_SAMPLER);
    uint64_t sd = 0;
    if (!as || ds_seed_from_double(seed, &sd)) return DS_ERR;
    if (as->inpaint) return ds_fail("inpaint: sampler %d inpaints already (make a new sampler)", h);
    const long n_mask = (long)ds_sampler_batch(as->sampler) * ds_sampler_dim(as->sampler);
    if (check_len("sampler_inpaint", 2, "mask", n_mask, 0, "the sampler's batch x item takes")) return DS_ERR;
    float *x = sampler_pixels_as_x(as->sampler, pixels, "sampler_inpaint", 1);
    if (!x) return DS_ERR;
    as->inpaint = ds_inpaint_create(as->sampler, x, mask, resample, sd);
    free(x);
    return as->inpaint ? DS_OK : DS_ERR;
}

int ds_api_sampler_slerp(int h, double seed_a, double seed_b, const double *u) {
    ds_sampler *s = get_sampler(h);
    uint64_t a = 0, b = 0;
    if (!s || ds_seed_from_double(seed_a, &a) || ds_seed_from_double(seed_b, &b)) return DS_ERR;
    const long n = (long)ds_sampler_batch(s) * ds_sampler_dim(s);
    if (check_len("sampler_slerp", 3, "u", ds_sampler_batch(s), 0, "one weight per image takes")) return DS_ERR;
    float *x = malloc(sizeof(float) * n);
    if (!x) return ds_fail("slerp: out of memory");
    int rc = ds_edit_slerp_noise(a, b, u, ds_sampler_batch(s), ds_sampler_dim(s), x);
    if (!rc) rc = ds_sampler_set_x(s, x);
    free(x);
    return rc;
}

int ds_api_sampler_blend(int h, const int *cls_to, const float *weight) {
    api_sampler *as = get(h, OBJ_SAMPLER);
    if (!as) return DS_ERR;
    api_slot *src = lookup(as->source, OBJ_MODEL);
    if (!src) return ds_fail("class blend: %s (class interpolation needs a network)", ds_last_error());
    ds_sampler_info now;
    ds_sampler_get_info(as->sampler, &now);
    if (now.step) return ds_fail("class blend: only before the first step (%d taken)", now.step);
    const int B = ds_sampler_batch(as->sampler);
    if (check_len("sampler_blend", 1, "cls_to", B, 0, "one class per image takes") ||
        check_len("sampler_blend", 2, "weight", B, 0, "one weight per image takes"))
        return DS_ERR;
    ds_class_blend *cb = ds_class_blend_create(NULL, cls_to, weight, ds_sampler_batch(as->sampler));
    if (!cb) return DS_ERR;
    ds_class_blend_free(as->blend);
    as->blend = cb;
    return DS_OK;
}

int ds_api_sampler_guidance_map(int h, float *out) {
    ds_sampler *s = get_sampler(h);
    if (!s) return DS_ERR;
    if (check_len("sampler_guidance_map", 1, "out", (long long)ds_sampler_batch(s) * ds_sampler_dim(s), 0,
                  "the sampler's batch x item takes"))
        return DS_ERR;
    return ds_edit_guidance_map(s, out);
}

int ds_api_edit_run(int h, int with_map, uint8_t *x_frames, uint8_t *x0_frames, float *maps, double *infos) {
    api_sampler *as = get(h, OBJ_SAMPLER);
    if (!as) return DS_ERR;
    if (!x_frames || !x0_frames || !maps || !infos) return ds_fail("edit run: null output");
    ds_sampler *s = as->sampler;
    const int F = ds_sampler_frames_left(s);
    const long item = (long)ds_sampler_batch(s) * ds_sampler_dim(s);
    if (check_len("edit_run", 2, "x_frames", (long long)F * item, 0, "the frames left x batch x item take") ||
        check_len("edit_run", 3, "x0_frames", (long long)F * item, 0, "the frames left x batch x item take") ||
        (with_map && check_len("edit_run", 4, "maps", (long long)F * item, 0, "the frames left x batch x item take")) ||
        check_len("edit_run", 5, "infos", (long long)F * REC_LEN(SAMPLER_INFO), 0, "a sampler_info record per frame takes"))
        return DS_ERR;
    float *x = malloc(sizeof(float) * 2 * item * F);
    ds_sampler_info *info = malloc(sizeof *info * (size_t)F);
    if (!x || !info) {
        free(x), free(info);
        return ds_fail("edit run: out of memory for %d frames", F);
    }
    const int rc = ds_edit_run(s, as->inpaint, x, x + item * F, with_map ? maps : NULL, info);
    const int done = rc < 0 ? 0 : rc;
    const int n_fields = (int)(sizeof SAMPLER_INFO / sizeof SAMPLER_INFO[0]);
    ds_x_to_pixels(x, item * done, x_frames);
    ds_x_to_pixels(x + item * F, item * done, x0_frames);
    for (int f = 0; f < done; f++) fill_sampler_info(&info[f], ds_sampler_batch(s), ds_sampler_dim(s), infos + (size_t)f * n_fields);
    free(x), free(info);
    return rc;
}

int ds_api_gif_encode(const uint8_t *frames, int n, int width, int height, int scale, int delay_cs, int last_delay_cs,
                      int cap, uint8_t *out) {
    ds_gif_params p;
    ds_gif_params_init(&p);
    p.width = width, p.height = height, p.scale = scale, p.delay_cs = delay_cs, p.last_delay_cs = last_delay_cs;
    if (n > 0 && width > 0 && height > 0 &&
        check_len("gif_encode", 0, "frames", (long long)n * width * height, 0, "n frames of width x height take"))
        return DS_ERR;
    if (cap > 0 && check_len("gif_encode", 8, "out", cap, 0, "the capacity says")) return DS_ERR;
    uint8_t *bytes;
    size_t size;
    if (ds_gif_encode(&p, frames, n, &bytes, &size)) return DS_ERR;
    if (size > 0x7fffffff) {
        free(bytes);
        return ds_fail("gif: %zu bytes are too many for one call", size);
    }
    return give_bytes(bytes, size, cap, out, "gif encode");
}

/* ---- trainer and optimiser ---- */

int ds_api_trainer_new(const float *points, int n, int hidden, int n_layers, int batch, double lr, int total_steps,
                       double seed) {
    if (n > 0 && check_len("trainer_new", 0, "points", 2LL * n, 0, "n points of 2 values take")) return DS_ERR;
    return ds_api_trainer_objective_new(DS_MLP_OBJECTIVE_DIFFUSION, points, n, hidden, n_layers, batch, lr, total_steps, seed);
}

int ds_api_trainer_run(int h, int K, double *out) {
    ds_mlp_trainer *tr = get(h, OBJ_TRAINER);
    if (!tr || !out) return tr ? ds_fail("point trainer: null output") : DS_ERR;
    if (check_len("trainer_run", 2, "out", REC_LEN(TRAINER_RUN), 0, "the record trainer_run takes")) return DS_ERR;
    double loss;
    if (ds_mlp_trainer_run(tr, K, &loss)) return DS_ERR;
    out[0] = loss;
    out[1] = (double)tr->opt.step;
    out[2] = tr->opt.last_lr;
    return (int)tr->opt.step;
}

int ds_api_trainer_save(int h, int ema, int cap, uint8_t *out) {
    ds_mlp_trainer *tr = get(h, OBJ_TRAINER);
    if (!tr || ds_check_range_int(ema, 0, 1, "ema")) return DS_ERR;
    if (cap > 0 && check_len("trainer_save", 3, "out", cap, 0, "the capacity says")) return DS_ERR;
    uint8_t *bytes;
    size_t size;
    if (ds_mlp_trainer_save(tr, ema, &bytes, &size)) return DS_ERR;
    return give_bytes(bytes, size, cap, out, "point trainer save");
}

int ds_api_adam_new(int n, double lr, double beta1, double beta2, double weight_decay, double clip_norm, int warmup_steps) {
    ds_optim_config cfg;
    ds_optim_config_default(&cfg);
    cfg.lr = lr;
    cfg.beta1 = beta1;
    cfg.beta2 = beta2;
    cfg.weight_decay = weight_decay;
    cfg.clip_norm = clip_norm;
    cfg.warmup_steps = warmup_steps;
    cfg.ema_decay = 0.0;
    ds_optim *opt = malloc(sizeof *opt);
    if (!opt) return ds_fail("optimiser: out of memory");
    if (ds_optim_init(opt, &cfg, n, NULL)) {
        free(opt);
        return DS_ERR;
    }
    return store(OBJ_ADAM, opt);
}

int ds_api_adam_update(int h, const float *params, const float *grads, float *params_out) {
    ds_optim *opt = get(h, OBJ_ADAM);
    if (!opt) return DS_ERR;
    if (!params || !grads || !params_out) return ds_fail("adam update: null array");
    if (check_len("adam_update", 1, "params", opt->n, 1, "the optimiser's parameters") ||
        check_len("adam_update", 2, "grads", opt->n, 1, "the optimiser's parameters") ||
        check_len("adam_update", 3, "params_out", opt->n, 1, "the optimiser's parameters"))
        return DS_ERR;
    float *g = malloc((size_t)opt->n * sizeof(float)); /* the step clips the gradient in place */
    if (!g) return ds_fail("adam update: out of memory");
    memcpy(g, grads, (size_t)opt->n * sizeof(float));
    if (params_out != params) memcpy(params_out, params, (size_t)opt->n * sizeof(float));
    int rc = ds_optim_step(opt, params_out, g);
    free(g);
    return rc ? DS_ERR : (int)opt->step;
}

/* ---- schedules, random numbers, point sets: the library functions as they are ---- */

/* Each checks its arrays against the counts it was given (2 floats per point). */
int ds_api_schedule_table(int schedule, int T, int rows, double *out) {
    /* counts out of range: the library's own message says so */
    if (T > 0 && T <= DS_MAX_T && rows > 0 && rows <= REC_LEN(SCHEDULE_TABLE) &&
        check_len("schedule_table", 3, "out", (long long)rows * T, 0, "rows x T take"))
        return DS_ERR;
    return ds_schedule_table(schedule, T, rows, out);
}
int ds_api_rng_normals(double seed, int n, double *out) {
    if (n > 0 && check_len("rng_normals", 2, "out", n, 0, "n says")) return DS_ERR;
    return ds_rng_normals(seed, n, out);
}
int ds_api_shape_points(int shape, int n, double seed, float *out) {
    if (n > 0 && check_len("shape_points", 3, "out", 2LL * n, 0, "n points take")) return DS_ERR;
    return ds_shape_points(shape, n, seed, out);
}
int ds_api_cow_outline(int cap, float *xy) {
    if (cap > 0 && check_len("cow_outline", 1, "xy", 2LL * cap, 0, "cap vertices take")) return DS_ERR;
    return ds_cow_outline(cap, xy);
}
int ds_api_drawing_points(const float *xy, const int *lens, int S, int mode, double width, int n, double seed, float *out) {
    if (S > 0 && lens) {
        if (check_len("drawing_points", 1, "lens", S, 0, "one length per stroke")) return DS_ERR;
        long long V = 0;
        for (int i = 0; i < S; i++) V += lens[i] > 0 ? lens[i] : 0;
        if (check_len("drawing_points", 0, "xy", 2 * V, 0, "the strokes' vertices take")) return DS_ERR;
    }
    if (n > 0 && check_len("drawing_points", 7, "out", 2LL * n, 0, "n points take")) return DS_ERR;
    return ds_drawing_points(xy, lens, S, mode, width, n, seed, out);
}
int ds_api_image_points(const uint8_t *grey, int w, int h, int threshold, int n, double seed, float *out) {
    if ((w > 0 && h > 0 && check_len("image_points", 0, "grey", (long long)w * h, 0, "w x h pixels take")) ||
        (n > 0 && check_len("image_points", 6, "out", 2LL * n, 0, "n points take")))
        return DS_ERR;
    return ds_image_points(grey, w, h, threshold, n, seed, out);
}
int ds_api_points_noise(int n, double seed, float *out) {
    if (n > 0 && check_len("points_noise", 2, "out", 2LL * n, 0, "n points take")) return DS_ERR;
    return ds_points_noise(n, seed, out);
}
int ds_api_forward_points(int schedule, int T, int t, const float *x0, const float *eps, int n, float *xt) {
    if (n > 0 && (check_len("forward_points", 3, "x0", 2LL * n, 0, "n points take") ||
                  check_len("forward_points", 4, "eps", 2LL * n, 0, "n points take") ||
                  check_len("forward_points", 6, "xt", 2LL * n, 0, "n points take")))
        return DS_ERR;
    return ds_forward_points(schedule, T, t, x0, eps, n, xt);
}
int ds_api_forward_trajectory(int schedule, int T, const float *x0, const float *eps, float *out) {
    if (check_len("forward_trajectory", 2, "x0", 2, 0, "one point takes") ||
        check_len("forward_trajectory", 3, "eps", 2, 0, "one point takes") ||
        (T > 0 && check_len("forward_trajectory", 4, "out", 2LL * (T + 1), 0, "T + 1 points take")))
        return DS_ERR;
    return ds_forward_trajectory(schedule, T, x0, eps, out);
}
int ds_api_forward_density(int schedule, int T, int t, const float *x0, int n, double lo, double hi, int G, float *out) {
    if ((n > 0 && check_len("forward_density", 3, "x0", 2LL * n, 0, "n points take")) ||
        (G > 0 && check_len("forward_density", 8, "out", (long long)G * G, 0, "G x G cells take")))
        return DS_ERR;
    return ds_forward_density(schedule, T, t, x0, n, lo, hi, G, out);
}

/* ---- point quality ---- */

int ds_api_point_quality(const float *a, int na, const float *b, int nb, double *out) {
    if ((na > 0 && check_len("point_quality", 0, "a", 2LL * na, 0, "na points take")) ||
        (nb > 0 && check_len("point_quality", 2, "b", 2LL * nb, 0, "nb points take")) ||
        check_len("point_quality", 4, "out", REC_LEN(POINT_QUALITY), 0, "the record point_quality takes"))
        return DS_ERR;
    return ds_point_quality(a, na, b, nb, out);
}
int ds_api_point_floor(int shape, int n, double seed, double *out) {
    if (check_len("point_floor", 3, "out", REC_LEN(POINT_QUALITY), 0, "the record point_quality takes")) return DS_ERR;
    return ds_point_floor(shape, n, seed, out);
}

int ds_api_point_verdict(double chamfer, double mmd2, double floor_chamfer, double *out) {
    ds_point_verdict v;
    if (!out) return ds_fail("point verdict: null output");
    if (check_len("point_verdict", 3, "out", REC_LEN(POINT_VERDICT), 0, "the record point_verdict takes")) return DS_ERR;
    if (ds_point_judge(chamfer, mmd2, floor_chamfer, &v)) return DS_ERR;
    const double r[] = {v.chamfer_ratio, v.pass, DS_POINT_MAX_CHAMFER_RATIO, DS_POINT_MAX_MMD2};
    memcpy(out, r, sizeof r);
    return DS_OK;
}

/* ---- variational inference ---- */

/* params (3k): k (weight, mean, std) triples. */
static int check_vi_params(const char *fn, int k) {
    return k > 0 && k <= DS_VI_MAX_COMPONENTS ? check_len(fn, 1, "params", 3LL * k, 0, "k components of 3 values take") : DS_OK;
}
int ds_api_vi_evaluate(int k, const double *params, double mu, double sigma, double log_z, double *out) {
    if (check_vi_params("vi_evaluate", k) || check_len("vi_evaluate", 5, "out", REC_LEN(VI_EVAL), 0, "the record vi_evaluate takes"))
        return DS_ERR;
    return ds_vi_evaluate(k, params, mu, sigma, log_z, out);
}
int ds_api_vi_parse_target(const unsigned char *text, int len, double *out) {
    if ((len > 0 && check_len("vi_parse_target", 0, "text", len, 0, "len says")) ||
        check_len("vi_parse_target", 2, "out", REC_LEN(VI_TARGET), 0, "the record vi_target takes"))
        return DS_ERR;
    return ds_vi_parse_target(text, len, out);
}
int ds_api_vi_curves(int k, const double *params, double mu, double sigma, double x0, double x1, int n, double *out) {
    if (check_vi_params("vi_curves", k) ||
        (n > 0 && check_len("vi_curves", 7, "out", (long long)n * REC_LEN(VI_CURVES), 0, "n rows of vi_curves take")))
        return DS_ERR;
    return ds_vi_curves(k, params, mu, sigma, x0, x1, n, out);
}
int ds_api_vi_monte_carlo(int k, const double *params, double mu, double sigma, double log_z, double n, double seed,
                          double *out) {
    if (check_vi_params("vi_monte_carlo", k) ||
        check_len("vi_monte_carlo", 7, "out", REC_LEN(VI_MC), 0, "the record vi_monte_carlo takes"))
        return DS_ERR;
    return ds_vi_monte_carlo(k, params, mu, sigma, log_z, n, seed, out);
}
int ds_api_vi_fit_path(int k, const double *params, int direction, double mu0, double sigma0, int max_steps, double *path) {
    if (check_enum(direction, "vi_direction", "fit direction") || check_vi_params("vi_fit_path", k)) return DS_ERR;
    if (max_steps >= 0 &&
        check_len("vi_fit_path", 6, "path", (max_steps + 1LL) * REC_LEN(VI_FIT), 0, "max_steps + 1 records vi_fit take"))
        return DS_ERR;
    return ds_vi_fit_path(k, params, direction, mu0, sigma0, max_steps, path);
}

/* ---- kernel benchmarks ---- */

int ds_api_bench_peak(double seconds, double *out) {
    if (check_len("bench_peak", 1, "out", REC_LEN(BENCH_PEAK), 0, "the record bench_peak takes")) return DS_ERR;
    return ds_bench_peak(seconds, out);
}
/* The UNet behind handle h with room for cap_rows records `record` (of rec_len numbers) in
 * argument 4 of fn, or NULL after ds_fail. */
static ds_unet *bench_unet(const char *fn, const char *what, int h, int cap_rows, const char *record, long long rec_len) {
    ds_model *m = get(h, OBJ_MODEL);
    if (!m) return NULL;
    if (!ds_model_unet(m)) {
        ds_fail("%s: handle %d is an %s model; the %s needs a unet", fn, h, ds_model_kind_name(ds_model_get_kind(m)), what);
        return NULL;
    }
    char why[64];
    snprintf(why, sizeof why, "cap_rows records %s take", record);
    if (cap_rows > 0 && check_len(fn, 4, "out", (long long)cap_rows * rec_len, 0, why)) return NULL;
    return ds_model_unet(m);
}
int ds_api_bench_unet_convs(int h, int B, double seconds, int cap_rows, double *out) {
    ds_unet *u = bench_unet("bench_unet_convs", "convolution benchmark", h, cap_rows, "bench_conv", REC_LEN(BENCH_CONV));
    return u ? ds_bench_unet_convs(u, B, seconds, cap_rows, out) : DS_ERR;
}
int ds_api_bench_unet_layers(int h, int B, double seconds, int cap_rows, double *out) {
    ds_unet *u = bench_unet("bench_unet_layers", "layer profile", h, cap_rows, "bench_layer", REC_LEN(BENCH_LAYER));
    return u ? ds_bench_unet_layers(u, B, seconds, cap_rows, out) : DS_ERR;
}

/* ---- scores, Langevin, reverse SDE / PF-ODE and flow matching (score.h, mlp_train.h) ----
 * A source is a model handle (an ε-model gives scores and the ε paths, a flow model velocities
 * and the flow paths) or a mixture handle (the exact field: both). */

int ds_api_trainer_objective_new(int objective, const float *points, int n, int hidden, int n_layers, int batch,
                                 double lr, int total_steps, double seed) {
    ds_mlp_train_config c;
    ds_mlp_train_config_default(&c);
    if (check_enum(objective, "training_objective", "training objective")) return DS_ERR;
    if (ds_seed_from_double(seed, &c.seed) || ds_check_range(lr, 1e-6, 1.0, "learning rate")) return DS_ERR;
    if (n > 0 && check_len("trainer_objective_new", 1, "points", 2LL * n, 0, "n points of 2 values take")) return DS_ERR;
    c.objective = (ds_mlp_objective)objective;
    c.model.hidden = hidden;
    c.model.n_layers = n_layers;
    c.batch = batch;
    c.total_steps = total_steps;
    c.optim.lr = lr;
    c.optim.decay_steps = total_steps;
    if (c.optim.warmup_steps > total_steps / 4) c.optim.warmup_steps = total_steps / 4;
    ds_mlp_trainer *tr = malloc(sizeof *tr);
    if (!tr) return ds_fail("point trainer: out of memory");
    if (ds_mlp_trainer_init(tr, &c, points, n)) {
        free(tr);
        return DS_ERR;
    }
    return store(OBJ_TRAINER, tr);
}

int ds_api_points_mixture(const float *points, int n, double var, int schedule) {
    const ds_schedule *sch = schedule_of(schedule);
    if (!sch) return DS_ERR;
    if (!points) return ds_fail("points mixture: null points");
    if (ds_check_range_int(n, 1, 1 << 16, "mixture points") || ds_check_range(var, 0.0, 100.0, "mixture variance")) return DS_ERR;
    if (check_len("points_mixture", 0, "points", 2LL * n, 0, "n points of 2 values take")) return DS_ERR;
    double *weight = malloc(sizeof(double) * (size_t)n);
    float *vars = malloc(sizeof(float) * 2 * (size_t)n);
    if (!weight || !vars) {
        free(weight), free(vars);
        return ds_fail("points mixture: out of memory");
    }
    for (int i = 0; i < n; i++) weight[i] = 1.0, vars[2 * i] = vars[2 * i + 1] = (float)var;
    ds_gmm *g = ds_gmm_create(sch, n, 2, weight, points, vars, NULL);
    free(weight), free(vars);
    return store(OBJ_MIXTURE, g);
}

/* The field behind a model or mixture handle. The model's schedule lives in *sch. */
static int field_of(int h, ds_field *f, ds_schedule *sch) {
    api_slot *sl = lookup(h, OBJ_FREE);
    if (!sl) return DS_ERR;
    if (sl->kind == OBJ_MIXTURE) {
        ds_field_of_gmm(sl->object, f);
        return DS_OK;
    }
    if (sl->kind != OBJ_MODEL) return ds_fail("handle %d is a %s, expected a model or a mixture", h, OBJ_NAMES[sl->kind]);
    return ds_field_of_model(sl->object, sch, f);
}

static ds_schedule g_field_schedule; /* the one model schedule a call needs (64 KB: not on the stack) */

/* x and out of B items of the field's D values (arguments 2 and 4 of score and velocity) */
static int check_items(const char *fn, const ds_field *f, int B) {
    if (B < 1) return DS_OK; /* the library refuses it with its own message */
    char why[64];
    snprintf(why, sizeof why, "%d items of %d values take", B, f->D);
    return check_len(fn, 2, "x", (long long)B * f->D, 0, why) || check_len(fn, 4, "out", (long long)B * f->D, 0, why);
}

int ds_api_score(int h, int t, const float *x, int B, float *out) {
    ds_field f;
    if (field_of(h, &f, &g_field_schedule) || check_items("score", &f, B)) return DS_ERR;
    return ds_score(&f, t, x, B, out);
}

int ds_api_velocity(int h, double t, const float *x, int B, float *out) {
    ds_field f;
    if (field_of(h, &f, &g_field_schedule) || check_items("velocity", &f, B)) return DS_ERR;
    return ds_velocity(&f, t, x, B, out);
}

int ds_api_grid_points(double lo, double hi, int G, float *out) {
    if (G >= 2 && G <= 64 && check_len("grid_points", 3, "out", 2LL * G * G, 0, "a G x G grid of 2-D points takes"))
        return DS_ERR;
    return ds_grid_points(lo, hi, G, out);
}

/* The field at the G×G grid's points: score (velocity = 0) or velocity (1) at time t. */
static int field_grid(int h, int velocity, double t, double lo, double hi, int G, float *out) {
    ds_field f;
    if (field_of(h, &f, &g_field_schedule)) return DS_ERR;
    if (f.D != 2) return ds_fail("a field grid needs 2-D points; this source has %d dimensions", f.D);
    if (ds_check_range_int(G, 2, 64, "field grid size")) return DS_ERR;
    if (check_len(velocity ? "velocity_grid" : "score_grid", 5, "out", 2LL * G * G, 0, "a G x G grid of 2-D vectors takes"))
        return DS_ERR;
    float grid[2 * 64 * 64];
    if (ds_grid_points(lo, hi, G, grid)) return DS_ERR;
    if (!velocity && t != floor(t)) return ds_fail("score timestep t must be a whole number (got %g)", t);
    return velocity ? ds_velocity(&f, t, grid, G * G, out) : ds_score(&f, (int)t, grid, G * G, out);
}

int ds_api_score_grid(int h, int t, double lo, double hi, int G, float *out) { return field_grid(h, 0, t, lo, hi, G, out); }
int ds_api_velocity_grid(int h, double t, double lo, double hi, int G, float *out) {
    return field_grid(h, 1, t, lo, hi, G, out);
}

int ds_api_paths(int h, int kind, int steps, double t_start, int t_end, double step_size, int per_level, double seed,
                 const float *start, int n, float *frames, double *times) {
    ds_field f;
    ds_path_params p;
    ds_path_params_init(&p);
    if (check_enum(kind, "path_kind", "path sampler") || ds_seed_from_double(seed, &p.seed)) return DS_ERR;
    if (field_of(h, &f, &g_field_schedule)) return DS_ERR;
    p.kind = (ds_path_kind)kind;
    p.steps = steps;
    p.t_start = t_start;
    p.t_end = t_end;
    p.step_size = step_size;
    p.per_level = per_level;
    const int S1 = ds_path_frames(&p); /* frames per path, or DS_ERR for bad params (refused below) */
    if (S1 > 0 && n > 0) {
        char why[80];
        snprintf(why, sizeof why, "%d frames of %d points of %d values take", S1, n, f.D);
        if (check_len("paths", 8, "start", (long long)n * f.D, 0, "n start points take") ||
            check_len("paths", 10, "frames", (long long)S1 * n * f.D, 0, why) ||
            check_len("paths", 11, "times", S1, 0, "one time per frame takes"))
            return DS_ERR;
    }
    return ds_paths(&f, &p, start, n, frames, times);
}

int ds_api_langevin(int h, int t, double step_size, int steps, double seed, const float *start, int n, float *frames) {
    ds_field f;
    uint64_t s = 0;
    if (ds_seed_from_double(seed, &s) || field_of(h, &f, &g_field_schedule)) return DS_ERR;
    if (steps > 0 && n > 0 &&
        (check_len("langevin", 5, "start", (long long)n * f.D, 0, "n start points take") ||
         check_len("langevin", 7, "frames", (long long)(steps + 1) * n * f.D, 0, "steps + 1 frames of n points take")))
        return DS_ERR;
    return ds_langevin_chain(&f, t, step_size, steps, s, start, n, frames);
}
