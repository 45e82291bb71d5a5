/* test_weights.c — the .dsw format: round trips (f32 exact, f16 to half precision), the f16
 * conversion on known values, and one corrupt file per failure class, each refused with a
 * message naming the problem. The model's description (format 2: schedule, prediction
 * target, class names): version-1 files load with the default, every field round-trips, a
 * stored version-2 file keeps loading (tests/golden/unet_tiny_v2.dsw; rewrite it with
 * DS_GOLDEN_WRITE=1 only for a deliberate format change), a future version says to update,
 * and each bad field is refused. Truncated copies live in exact-size heap buffers, so under
 * AddressSanitizer any read past the end would abort the test. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "test_files.h"
#include "error.h"
#include "model.h"
#include "rng.h"
#include "weights.h"

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void reseal(uint8_t *b, size_t n) { /* recompute the checksum after an edit */
    uint64_t h = ds_weights_checksum(b, n - 8);
    put_u32(b + n - 8, (uint32_t)h);
    put_u32(b + n - 4, (uint32_t)(h >> 32));
}

/* Loads a copy of bytes[0..n) in a buffer of exactly n bytes; expects failure with `want`
 * in the message. */
static void expect_refused(const uint8_t *bytes, size_t n, const char *want, const char *what) {
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, bytes, n);
    ds_clear_error();
    ds_model *m = ds_model_from_bytes(copy, n);
    CHECK(m == NULL, "%s: loaded although it should be refused", what);
    CHECK(strstr(ds_last_error(), want) != NULL, "%s: message \"%s\" does not mention \"%s\"", what, ds_last_error(), want);
    ds_model_free(m);
    free(copy);
}

/* Of 300 copies of good[0..n) with one random byte changed in its first `span` bytes, how
 * many the loader refuses (each copy in an exact-size buffer, for ASan). */
static int refused_flips(const uint8_t *good, size_t n, size_t span, uint64_t seed) {
    ds_rng rng;
    ds_rng_seed(&rng, seed);
    int refused = 0;
    for (int i = 0; i < 300; i++) {
        uint8_t *copy = malloc(n);
        memcpy(copy, good, n);
        copy[ds_rng_below(&rng, (uint32_t)span)] ^= (uint8_t)(1 + ds_rng_below(&rng, 255));
        ds_model *r = ds_model_from_bytes(copy, n);
        refused += r == NULL;
        ds_model_free(r);
        free(copy);
    }
    return refused;
}

static ds_mlp_config small_mlp(void) { return (ds_mlp_config){.data_dim = 2, .hidden = 12, .n_layers = 2, .temb_dim = 6}; }

/* Writes the MLP's parameters through a modified table (to forge missing / mis-shaped /
 * unexpected tensors with a valid checksum). */
static int write_with_table(const ds_model *m, const ds_param_table *t, const float *params, uint8_t **b, size_t *n) {
    int cfg[DS_WEIGHTS_MAX_CONFIG];
    int nc = ds_model_config_ints(m, cfg, DS_WEIGHTS_MAX_CONFIG);
    return ds_weights_write(ds_model_get_kind(m), cfg, nc, ds_model_meta(m), t, params, DS_DTYPE_F32, b, n);
}

static void test_f16(void) {
    struct { float f; uint16_t h; } known[] = {
        {1.0f, 0x3c00},       {-2.0f, 0xc000},          {65504.0f, 0x7bff},   {0.0f, 0x0000},
        {-0.0f, 0x8000},      {5.9604645e-8f, 0x0001},  {6.1035156e-5f, 0x0400}, {0.1f, 0x2e66},
        {1.0009765625f, 0x3c01}, {1.00048828125f, 0x3c00}, /* a tie rounds to even */
        {1.00146484375f, 0x3c02},                       /* a tie rounds up to even */
        {2.9802322e-8f, 0x0000}, /* 2^-25: tie to even zero */
        {65519.0f, 0x7bff},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        uint16_t h = ds_f32_to_f16(known[i].f);
        CHECK(h == known[i].h, "f32_to_f16(%.10g) = 0x%04x, expected 0x%04x", known[i].f, h, known[i].h);
    }
    CHECK(ds_f16_to_f32(0x3c00) == 1.0f && ds_f16_to_f32(0xc000) == -2.0f && ds_f16_to_f32(0x7bff) == 65504.0f &&
              ds_f16_to_f32(0x0001) == 5.9604644775390625e-8f && ds_f16_to_f32(0x2e66) == 0.0999755859375f,
          "f16 decodes known values");
    CHECK(isinf(ds_f16_to_f32(0x7c00)) && isnan(ds_f16_to_f32(0x7e00)), "f16 inf and NaN decode");
    /* every finite half survives a round trip through float */
    int all = 1;
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00) continue;
        all &= ds_f32_to_f16(ds_f16_to_f32((uint16_t)h)) == h;
    }
    CHECK(all, "f16 -> f32 -> f16 is the identity on finite halves");
}

static void test_round_trips(void) {
    ds_unet_config uc = {.image_size = 8, .in_channels = 1, .base_channels = 8, .n_levels = 2, .channel_mult = {1, 2},
                         .n_res_blocks = 1, .groups = 2, .temb_dim = 16, .n_classes = 10};
    ds_mlp_config mc = small_mlp();
    for (int kind = DS_MODEL_UNET; kind <= DS_MODEL_MLP; kind++) {
        ds_model *m = ds_model_random((ds_model_kind)kind, kind == DS_MODEL_UNET ? (const void *)&uc : (const void *)&mc, 7);
        CHECK(m != NULL, "random model: %s", ds_last_error());
        if (!m) continue;
        long np = ds_model_num_params(m);
        for (int dt = DS_DTYPE_F32; dt <= DS_DTYPE_F16; dt++) {
            uint8_t *b;
            size_t n;
            CHECK(ds_model_to_bytes(m, (ds_dtype)dt, &b, &n) == DS_OK, "to_bytes: %s", ds_last_error());
            ds_model *r = ds_model_from_bytes(b, n);
            CHECK(r != NULL, "%s %s round trip: %s", ds_model_kind_name((ds_model_kind)kind), dt ? "f16" : "f32", ds_last_error());
            if (r) {
                const float *p = ds_model_params(m), *q = ds_model_params(r);
                double worst = 0;
                for (long i = 0; i < np; i++) worst = fmax(worst, fabs((double)p[i] - q[i]) / fmax(fabs(p[i]), 6.1e-5));
                if (dt == DS_DTYPE_F32)
                    CHECK(worst == 0, "f32 round trip is not exact (%.3g)", worst);
                else
                    CHECK(worst <= 1.0 / 2048, "f16 round trip relative error %.3g > 2^-11", worst);
                CHECK(ds_model_num_params(r) == np, "parameter count survives");
                int c1[32], c2[32];
                int n1 = ds_model_config_ints(m, c1, 32), n2 = ds_model_config_ints(r, c2, 32);
                CHECK(n1 == n2 && !memcmp(c1, c2, sizeof(int) * n1), "config survives");
            }
            ds_model_free(r);
            free(b);
        }
        ds_model_free(m);
    }
    /* the mid self-attention: a 13th config int, 1, and its 6 tensors survive a round trip;
     * without attention a file keeps its 12 ints */
    int ints[DS_UNET_N_CONFIG];
    CHECK(ds_unet_config_to_ints(&uc, ints) == 12, "no attention: 12 config ints");
    uc.attention = 1;
    CHECK(ds_unet_config_to_ints(&uc, ints) == 13 && ints[12] == 1, "attention: 13 config ints, the last 1");
    ds_model *m = ds_model_random(DS_MODEL_UNET, &uc, 7);
    CHECK(m != NULL, "random attention UNet: %s", ds_last_error());
    uint8_t *b;
    size_t n;
    CHECK(m && ds_model_to_bytes(m, DS_DTYPE_F32, &b, &n) == DS_OK, "attention to_bytes: %s", ds_last_error());
    ds_model *r = m ? ds_model_from_bytes(b, n) : NULL;
    CHECK(r && ds_model_num_params(r) == ds_model_num_params(m) && ds_model_unet(r)->config.attention == 1 &&
              !memcmp(ds_model_params(r), ds_model_params(m), sizeof(float) * ds_model_num_params(m)),
          "attention round trip: config and every weight");
    CHECK(m && ds_param_table_find(&ds_model_unet(m)->table, "mid.attn.qkv.weight") >= 0, "mid.attn tensors in the table");
    ds_model_free(r), ds_model_free(m);
    if (m) free(b);
    ints[12] = 0;
    CHECK(ds_unet_config_from_ints(ints, 13, &uc) == DS_ERR && strstr(ds_last_error(), "a 13th int (attention) must be 1"),
          "a 13th int of 0 refused: %s", ds_last_error());
}

static void test_corrupt(void) {
    ds_mlp_config mc = small_mlp();
    ds_model *m = ds_model_random(DS_MODEL_MLP, &mc, 3);
    uint8_t *good;
    size_t n;
    CHECK(ds_model_to_bytes(m, DS_DTYPE_F32, &good, &n) == DS_OK, "to_bytes: %s", ds_last_error());
    uint8_t *b = malloc(n + 16);

    memcpy(b, good, n);
    b[0] = 'X';
    expect_refused(b, n, "bad magic", "bad magic");

    memcpy(b, good, n);
    put_u32(b + 4, 7);
    expect_refused(b, n, "unknown format version 7 (written by a newer Diffuscope; this build reads formats 1..2): update Diffuscope",
                   "future version");
    put_u32(b + 4, 0);
    expect_refused(b, n, "unknown format version 0 (this build reads formats 1..2; corrupt file?)", "version 0");

    memcpy(b, good, n);
    b[n / 2] ^= 0x40;
    expect_refused(b, n, "checksum mismatch", "flipped data byte");

    /* truncation at every length up to past the first tensor, and a sample of the rest */
    for (size_t cut = 0; cut < n; cut += cut < 400 ? 1 : 97) expect_refused(good, cut, "truncated", "truncated file");
    expect_refused(good, n - 1, "truncated", "one byte short");

    memcpy(b, good, n);
    memset(b + n, 0, 16);
    expect_refused(b, n + 16, "unexpected bytes after the end", "trailing bytes");

    /* non-finite values, with a valid checksum: NaN in f32, +inf in f16 */
    const size_t first_data = 256 + 4 + 12 + 8 + 8; /* "fc.0.weight": name 11 -> 12 bytes, 2 dims */
    memcpy(b, good, n);
    put_u32(b + first_data + 4 * 5, 0x7fc00000u);
    reseal(b, n);
    expect_refused(b, n, "non-finite value (nan) at index 5", "NaN in f32");
    uint8_t *h;
    size_t hn;
    ds_model_to_bytes(m, DS_DTYPE_F16, &h, &hn);
    h[first_data + 2 * 3] = 0x00;
    h[first_data + 2 * 3 + 1] = 0x7c;
    reseal(h, hn);
    expect_refused(h, hn, "non-finite value (inf) at index 3", "inf in f16");
    free(h);

    /* a bad config in the header (hidden = 0) */
    memcpy(b, good, n);
    put_u32(b + 16 + 4, 0);
    reseal(b, n);
    expect_refused(b, n, "bad config in the header: mlp hidden", "bad config");

    /* missing, mis-shaped and unexpected tensors, forged through edited tables */
    const ds_param_table *t = ds_model_table(m);
    ds_param_table *e = malloc(sizeof *e);
    uint8_t *fb;
    size_t fn;

    *e = *t;
    e->n--; /* drop fc_out.bias */
    CHECK(write_with_table(m, e, ds_model_params(m), &fb, &fn) == DS_OK, "forge missing: %s", ds_last_error());
    expect_refused(fb, fn, "missing tensor 'fc_out.bias'", "missing tensor");
    free(fb);

    *e = *t;
    e->p[2].shape[1] = 11; /* fc.1.weight (12, 12) -> (12, 11): fewer floats, same name */
    e->p[2].numel = 12 * 11;
    CHECK(write_with_table(m, e, ds_model_params(m), &fb, &fn) == DS_OK, "forge mis-shaped: %s", ds_last_error());
    expect_refused(fb, fn, "tensor 'fc.1.weight' has shape (12, 11) but the model expects (12, 12)", "mis-shaped tensor");
    free(fb);

    *e = *t;
    int shape[1] = {3};
    ds_param_table_add(e, "fc.9.bias", 1, shape);
    float *params = calloc((size_t)e->total, sizeof(float));
    memcpy(params, ds_model_params(m), sizeof(float) * (size_t)t->total);
    CHECK(write_with_table(m, e, params, &fb, &fn) == DS_OK, "forge unexpected: %s", ds_last_error());
    expect_refused(fb, fn, "unexpected tensor 'fc.9.bias'", "unexpected tensor");
    free(fb);
    free(params);

    *e = *t;
    strcpy(e->p[1].name, "fc.0.weight"); /* fc.0.bias renamed: a duplicate (and fc.0.bias missing) */
    e->p[1].ndim = 2;
    e->p[1].shape[0] = 12;
    e->p[1].shape[1] = 8;
    e->p[1].numel = 96;
    e->total = 0;
    for (int k = 0; k < e->n; k++) e->p[k].offset = e->total, e->total += e->p[k].numel;
    params = calloc((size_t)e->total, sizeof(float));
    CHECK(write_with_table(m, e, params, &fb, &fn) == DS_OK, "forge duplicate: %s", ds_last_error());
    expect_refused(fb, fn, "appears twice", "duplicate tensor");
    free(fb);
    free(params);
    free(e);

    /* the writer refuses what the reader would refuse */
    float *p = ds_model_params(m);
    float keep = p[0];
    p[0] = NAN;
    CHECK(ds_model_to_bytes(m, DS_DTYPE_F32, &fb, &fn) == DS_ERR && strstr(ds_last_error(), "non-finite"), "writer refuses NaN");
    p[0] = 1e6f;
    CHECK(ds_model_to_bytes(m, DS_DTYPE_F16, &fb, &fn) == DS_ERR && strstr(ds_last_error(), "does not fit in f16"),
          "writer refuses values beyond f16");
    p[0] = keep;

    /* random single-byte corruption anywhere: always refused, never a crash */
    int refused = refused_flips(good, n, n, 99);
    CHECK(refused == 300, "random byte corruption: %d of 300 refused (the checksum should catch all)", refused);

    free(b);
    free(good);
    ds_model_free(m);
}

/* ---- the model's description (format version 2) ---- */

static uint32_t get_u32(const uint8_t *p) { return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static uint8_t *read_golden(const char *file, size_t *n) { return read_file(golden_path(file), n); }

static const char *const FASHION_NAMES[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

static void expect_default_meta(const ds_model *m, const char *what) {
    CHECK(ds_model_schedule_kind(m) == DS_SCHEDULE_LINEAR && ds_model_schedule_T(m) == 1000 &&
              ds_model_prediction(m) == DS_PREDICT_EPS && ds_model_n_class_names(m) == 0 && ds_model_class_name(m, 0) == NULL,
          "%s: version 1's default (linear, T = 1000, eps, no names); got %s T = %d prediction %d, %d names", what,
          ds_schedule_kind_name(ds_model_schedule_kind(m)), ds_model_schedule_T(m), (int)ds_model_prediction(m),
          ds_model_n_class_names(m));
}

/* Version-1 files (the golden ones, and what the writer emits for the default) load with the
 * default description, and the default writes version 1 byte for byte. */
static void test_version1(void) {
    const char *files[2] = {"unet_tiny.dsw", "mlp_tiny.dsw"};
    for (int k = 0; k < 2; k++) {
        size_t n;
        uint8_t *b = read_golden(files[k], &n);
        CHECK(b && n > 256 && get_u32(b + 4) == 1, "%s is a version-1 file", files[k]);
        if (!b) continue;
        ds_model *m = ds_model_from_bytes(b, n);
        CHECK(m != NULL, "%s loads: %s", files[k], ds_last_error());
        if (m) {
            expect_default_meta(m, files[k]);
            uint8_t *again;
            size_t an;
            CHECK(ds_model_to_bytes(m, DS_DTYPE_F32, &again, &an) == DS_OK && an == n && !memcmp(again, b, n),
                  "%s: the default description is written as version 1, byte for byte", files[k]);
            free(again);
        }
        ds_model_free(m);
        free(b);
    }
    ds_mlp_config mc = small_mlp();
    ds_model *m = ds_model_random(DS_MODEL_MLP, &mc, 5);
    expect_default_meta(m, "random model");
    ds_model_free(m);
}

/* The tiny golden UNet with every field set; shared by the stored-file test and the forgers. */
static ds_model *described_unet(void) {
    size_t n;
    uint8_t *b = read_golden("unet_tiny.dsw", &n);
    ds_model *m = b ? ds_model_from_bytes(b, n) : NULL;
    free(b);
    CHECK(m != NULL, "unet_tiny.dsw loads: %s", ds_last_error());
    if (!m) return NULL;
    const char *names[10];
    for (int i = 0; i < 10; i++) names[i] = FASHION_NAMES[i];
    names[5] = "Sandale \xc3\xa0 l\xe2\x80\x99" "\xc3\xa9t\xc3\xa9"; /* "Sandale à l’été": 2- and 3-byte UTF-8 */
    CHECK(ds_model_set_schedule(m, DS_SCHEDULE_COSINE, 500) == DS_OK, "set schedule: %s", ds_last_error());
    CHECK(ds_model_set_prediction(m, DS_PREDICT_EPS) == DS_OK, "set prediction: %s", ds_last_error());
    CHECK(ds_model_set_class_names(m, names, 10) == DS_OK, "set class names: %s", ds_last_error());
    return m;
}

/* Every field round-trips in f32 and f16, the weights stay bit-identical, and the stored
 * version-2 file still loads to the same model. */
static void test_version2(void) {
    ds_model *m = described_unet();
    if (!m) return;
    for (int dt = DS_DTYPE_F32; dt <= DS_DTYPE_F16; dt++) {
        uint8_t *b;
        size_t n;
        CHECK(ds_model_to_bytes(m, (ds_dtype)dt, &b, &n) == DS_OK, "v2 to_bytes: %s", ds_last_error());
        CHECK(get_u32(b + 4) == 2, "a described model is written as version 2 (got %u)", get_u32(b + 4));
        ds_model *r = ds_model_from_bytes(b, n);
        CHECK(r != NULL, "v2 %s round trip: %s", dt ? "f16" : "f32", ds_last_error());
        if (r) {
            CHECK(ds_model_schedule_kind(r) == DS_SCHEDULE_COSINE && ds_model_schedule_T(r) == 500, "schedule survives");
            CHECK(ds_model_prediction(r) == DS_PREDICT_EPS, "prediction survives");
            CHECK(ds_model_n_class_names(r) == 10, "10 class names survive (got %d)", ds_model_n_class_names(r));
            for (int i = 0; i < 10; i++)
                CHECK(!strcmp(ds_model_class_name(r, i), ds_model_class_name(m, i)), "class name %d: '%s' vs '%s'", i,
                      ds_model_class_name(r, i), ds_model_class_name(m, i));
            CHECK(ds_model_class_name(r, 10) == NULL && ds_model_class_name(r, -1) == NULL, "no name past the classes");
            if (dt == DS_DTYPE_F32)
                CHECK(!memcmp(ds_model_params(r), ds_model_params(m), sizeof(float) * (size_t)ds_model_num_params(m)),
                      "v2 f32 weights are bit-identical");
            uint8_t *again;
            size_t an;
            CHECK(ds_model_to_bytes(r, (ds_dtype)dt, &again, &an) == DS_OK && an == n && !memcmp(again, b, n),
                  "v2 load + save gives the same bytes");
            free(again);
        }
        ds_model_free(r);
        if (dt == DS_DTYPE_F32) { /* the stored file: a version-2 file written today keeps loading */
            if (getenv("DS_GOLDEN_WRITE")) {
                FILE *f = fopen(golden_path("unet_tiny_v2.dsw"), "wb");
                CHECK(f && fwrite(b, 1, n, f) == n, "write %s", golden_path("unet_tiny_v2.dsw"));
                if (f) fclose(f);
            }
            size_t sn;
            uint8_t *stored = read_golden("unet_tiny_v2.dsw", &sn);
            CHECK(stored && sn == n && !memcmp(stored, b, n),
                  "the writer's version-2 bytes differ from tests/golden/unet_tiny_v2.dsw (a format change?)");
            free(stored);
        }
        free(b);
    }
    /* an MLP with a non-default schedule is version 2 without names */
    ds_mlp_config mc = small_mlp();
    ds_model *p = ds_model_random(DS_MODEL_MLP, &mc, 4);
    CHECK(ds_model_set_schedule(p, DS_SCHEDULE_LINEAR, 200) == DS_OK, "mlp schedule: %s", ds_last_error());
    uint8_t *b;
    size_t n;
    CHECK(ds_model_to_bytes(p, DS_DTYPE_F32, &b, &n) == DS_OK && get_u32(b + 4) == 2, "mlp T = 200 is version 2");
    ds_model *r = ds_model_from_bytes(b, n);
    CHECK(r && ds_model_schedule_kind(r) == DS_SCHEDULE_LINEAR && ds_model_schedule_T(r) == 200 && ds_model_n_class_names(r) == 0,
          "mlp v2 round trip: %s", r ? "fields differ" : ds_last_error());
    ds_model_free(r);
    free(b);
    ds_model_free(p);
    ds_model_free(m);
}

static void expect_setter_refused(int rc, const char *want) {
    CHECK(rc == DS_ERR && strstr(ds_last_error(), want), "setter: rc %d, message \"%s\", want \"%s\"", rc, ds_last_error(), want);
}

/* Setters refuse what the reader would refuse and leave the model unchanged. */
static void test_setters(void) {
    ds_model *m = described_unet();
    if (!m) return;
    const char *nine[9] = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
    const char *ten[10] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
    expect_setter_refused(ds_model_set_schedule(m, (ds_schedule_kind)2, 100), "unknown noise schedule kind 2");
    expect_setter_refused(ds_model_set_schedule(m, DS_SCHEDULE_LINEAR, 0), "schedule T = 0 is out of range 1..1000");
    expect_setter_refused(ds_model_set_schedule(m, DS_SCHEDULE_COSINE, 1001), "schedule T = 1001 is out of range 1..1000");
    expect_setter_refused(ds_model_set_prediction(m, (ds_prediction)3), "unknown prediction target 3");
    expect_setter_refused(ds_model_set_class_names(m, nine, 9), "9 class names for a UNet of 10 classes");
    /* one bad name at a time among ten good ones */
    struct { int i; const char *name, *want; } bad[] = {
        {9, "a", "class name #9 'a' repeats class name #0"},
        {2, "", "class name #2: length 0 is out of range 1..31"},
        {3, "0123456789abcdef0123456789abcdef", "class name #3: length 32 is out of range 1..31"},
        {4, "tab\there", "class name #4: control byte 0x09 at byte 3"},
        {5, "\xc0\xaf", "class name #5: not valid UTF-8 at byte 0"},          /* overlong '/' */
        {6, "ok\xe2\x80", "class name #6: not valid UTF-8 at byte 2"},        /* cut short */
        {7, "\xed\xa0\x80", "class name #7: not valid UTF-8 at byte 0"},      /* a surrogate */
        {8, "\xf4\x90\x80\x80", "class name #8: not valid UTF-8 at byte 0"},  /* past U+10FFFF */
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        const char *names[10];
        memcpy(names, ten, sizeof names);
        names[bad[k].i] = bad[k].name;
        expect_setter_refused(ds_model_set_class_names(m, names, 10), bad[k].want);
    }
    CHECK(ds_model_schedule_kind(m) == DS_SCHEDULE_COSINE && ds_model_schedule_T(m) == 500 && ds_model_n_class_names(m) == 10 &&
              !strcmp(ds_model_class_name(m, 0), "T-shirt/top"),
          "refused setters leave the model as it was");
    CHECK(ds_model_set_class_names(m, ten, 10) == DS_OK && !strcmp(ds_model_class_name(m, 9), "j"), "names replaced");
    CHECK(ds_model_set_class_names(m, NULL, 0) == DS_OK && ds_model_n_class_names(m) == 0, "names cleared");
    ds_mlp_config mc = small_mlp();
    ds_model *p = ds_model_random(DS_MODEL_MLP, &mc, 4);
    CHECK(ds_model_set_class_names(p, ten, 1) == DS_ERR && strstr(ds_last_error(), "1 class names for an mlp model"),
          "an MLP takes no class names: %s", ds_last_error());
    ds_model_free(p);
    ds_model_free(m);
}

/* A version-2 file with names, edited at offset `at` (u32 `value`), resealed: refused with `want`. */
static void expect_field_refused(const uint8_t *good, size_t n, size_t at, uint32_t value, const char *want) {
    uint8_t *b = malloc(n);
    memcpy(b, good, n);
    put_u32(b + at, value);
    reseal(b, n);
    expect_refused(b, n, want, want);
    free(b);
}

static void test_bad_fields(void) {
    ds_model *m = described_unet();
    if (!m) return;
    uint8_t *good;
    size_t n;
    CHECK(ds_model_to_bytes(m, DS_DTYPE_F32, &good, &n) == DS_OK, "to_bytes: %s", ds_last_error());
    const size_t names = 256;                  /* the class-name block */
    const size_t names_bytes = get_u32(good + 176);
    /* the header fields */
    expect_field_refused(good, n, 160, 2, "header: unknown noise schedule kind 2 (this build knows 0 = linear, 1 = cosine; "
                                          "a newer Diffuscope may know more: update Diffuscope)");
    expect_field_refused(good, n, 160, 0xffffffffu, "header: unknown noise schedule kind -1");
    expect_field_refused(good, n, 164, 0, "header: schedule T = 0 is out of range 1..1000");
    expect_field_refused(good, n, 164, 1001, "header: schedule T = 1001 is out of range 1..1000");
    expect_field_refused(good, n, 164, 0x80000000u, "header: schedule T = -2147483648 is out of range");
    expect_field_refused(good, n, 168, 3, "header: unknown prediction target 3 (this build knows 0 = eps, 1 = v and 2 = flow "
                                          "velocity; a newer Diffuscope may know more: update Diffuscope)");
    expect_field_refused(good, n, 168, 77, "header: unknown prediction target 77");
    expect_field_refused(good, n, 172, 257, "header: 257 class names (0..256 allowed)");
    expect_field_refused(good, n, 172, 9, "header: 16 stray bytes after the last class name"); /* "Ankle boot": 4 + 12 */
    expect_field_refused(good, n, 172, 11, "class name #10: past the end of the 132-byte class-name block");
    expect_field_refused(good, n, 176, (uint32_t)names_bytes + 2, "class-name block of");
    expect_field_refused(good, n, 176, 0x7ffffffcu, "does not fit the file");
    expect_field_refused(good, n, 176, (uint32_t)names_bytes - 4, "class name #9: its 10 bytes run past the end");
    expect_field_refused(good, n, 200, 1, "header: padding byte 200 is not zero");
    /* the names themselves: "T-shirt/top" is record 0 (len 11, pad 1), "Trouser" record 1 at 256 + 16 */
    expect_field_refused(good, n, names, 0, "class name #0: length 0 is out of range 1..31");
    expect_field_refused(good, n, names, 40, "class name #0: length 40 is out of range 1..31");
    expect_field_refused(good, n, names, 200, "class name #0: its 200 bytes run past the end of the 132-byte class-name block");
    expect_field_refused(good, n, names, 0xfffffffdu, "class name #0: its 4294967293 bytes run past the end");
    uint8_t *b = malloc(n);
    struct { size_t at; uint8_t byte; const char *want; } bytes[] = {
        {names + 4 + 3, 0x00, "class name #0: control byte 0x00 at byte 3"},
        {names + 4 + 0, 0x1b, "class name #0: control byte 0x1b at byte 0"},
        {names + 4 + 10, 0x7f, "class name #0: control byte 0x7f at byte 10"},
        {names + 4 + 11, 0x20, "class name #0: padding byte is not zero"},
        {names + 16 + 4 + 2, 0xff, "class name #1: not valid UTF-8 at byte 2"},
        {names + 16 + 4 + 2, 0x80, "class name #1: not valid UTF-8 at byte 2"}, /* a lone continuation byte */
        {names + 16 + 4 + 6, 0xc3, "class name #1: not valid UTF-8 at byte 6"}, /* a sequence cut by the end */
    };
    for (size_t i = 0; i < sizeof bytes / sizeof bytes[0]; i++) {
        memcpy(b, good, n);
        b[bytes[i].at] = bytes[i].byte;
        reseal(b, n);
        expect_refused(b, n, bytes[i].want, bytes[i].want);
    }
    memcpy(b, good, n); /* "Trouser" (record 1) -> "Prouser": still valid, so it must load */
    b[names + 16 + 4] = 'P';
    reseal(b, n);
    ds_model *r = ds_model_from_bytes(b, n);
    CHECK(r && !strcmp(ds_model_class_name(r, 1), "Prouser"), "an edited but valid name loads: %s", ds_last_error());
    ds_model_free(r);
    /* a duplicate: record 6 "Shirt" becomes "Dress" (record 3), same length */
    memcpy(b, good, n);
    size_t shirt = names;
    for (int i = 0; i < 6; i++) shirt += 4 + (get_u32(b + shirt) + 3) / 4 * 4;
    CHECK(get_u32(b + shirt) == 5 && !memcmp(b + shirt + 4, "Shirt", 5), "record 6 is 'Shirt' at %zu", shirt);
    memcpy(b + shirt + 4, "Dress", 5);
    reseal(b, n);
    expect_refused(b, n, "header: class name #6 'Dress' repeats class name #3", "duplicate name in the file");
    free(b);
    /* a count that does not match the UNet, forged through the writer (which cannot know the UNet) */
    int cfg[DS_WEIGHTS_MAX_CONFIG];
    int nc = ds_model_config_ints(m, cfg, DS_WEIGHTS_MAX_CONFIG);
    ds_weights_meta *meta = malloc(sizeof *meta);
    *meta = *ds_model_meta(m);
    meta->n_class_names = 9;
    uint8_t *fb;
    size_t fn;
    CHECK(ds_weights_write(DS_MODEL_UNET, cfg, nc, meta, ds_model_table(m), ds_model_params(m), DS_DTYPE_F32, &fb, &fn) == DS_OK,
          "forge 9 names: %s", ds_last_error());
    expect_refused(fb, fn, "header: 9 class names for a UNet of 10 classes (give one name per class, or none)", "9 names");
    free(fb);
    *meta = *ds_model_meta(m);
    strcpy(meta->class_names[3], "Trouser");
    CHECK(ds_weights_write(DS_MODEL_UNET, cfg, nc, meta, ds_model_table(m), ds_model_params(m), DS_DTYPE_F32, &fb, &fn) == DS_ERR &&
              strstr(ds_last_error(), "weights write: class name #3 'Trouser' repeats class name #1"),
          "the writer refuses a duplicate name: %s", ds_last_error());
    free(meta);

    /* truncation through the class-name block and the first tensor, and random byte flips */
    for (size_t cut = 0; cut < names + names_bytes + 200; cut += 3) expect_refused(good, cut, "truncated", "truncated v2 file");
    int refused = refused_flips(good, n, names + names_bytes + 64, 17); /* header, names, first tensor */
    CHECK(refused == 300, "random byte corruption of a v2 header: %d of 300 refused", refused);
    free(good);
    ds_model_free(m);
}

/* q8: every 2+-D tensor within half a quantisation step of its row's scale, 1-D tensors and
 * the thin ends (conv_in: 9 values per row; conv_out: one row per image channel) as f16,
 * about half the bytes; the tiny golden UNet's output within 2% (relative RMS) of the f32
 * model's (measured 1.3%) where f16 is within 0.2% (measured 0.10%); corrupt scales and q8 on a 1-D tensor refused. */
static void test_q8(void) {
    size_t gn;
    uint8_t *gb = read_golden("unet_tiny.dsw", &gn);
    ds_model *m = gb ? ds_model_from_bytes(gb, gn) : NULL;
    free(gb);
    CHECK(m != NULL, "unet_tiny.dsw loads: %s", ds_last_error());
    if (!m) return;
    uint8_t *b16, *b8;
    size_t n16, n8;
    CHECK(ds_model_to_bytes(m, DS_DTYPE_F16, &b16, &n16) == DS_OK && ds_model_to_bytes(m, DS_DTYPE_Q8, &b8, &n8) == DS_OK,
          "write f16 and q8: %s", ds_last_error());
    ds_model *m16 = ds_model_from_bytes(b16, n16), *m8 = ds_model_from_bytes(b8, n8);
    CHECK(m16 && m8, "f16 and q8 files load: %s", ds_last_error());
    if (!m16 || !m8) return;
    CHECK(n8 < 0.6 * n16, "q8 file (%zu bytes) is well under the f16 one (%zu)", n8, n16);
    const ds_param_table *t = ds_model_table(m);
    const float *p = ds_model_params(m), *q = ds_model_params(m8);
    int within = 1;
    int n_q8 = 0;
    for (int k = 0; k < t->n; k++) {
        const ds_param_info *pi = &t->p[k];
        long rows = pi->shape[0], cols = pi->numel / rows;
        int as_q8 = pi->ndim >= 2 && rows >= 8 && cols >= 16;
        n_q8 += as_q8;
        if (!strcmp(pi->name, "conv_in.weight") || !strcmp(pi->name, "conv_out.weight")) within &= !as_q8;
        for (long r = 0; r < rows; r++) {
            const float *a = p + pi->offset + r * cols, *c = q + pi->offset + r * cols;
            float amax = 0;
            for (long j = 0; j < cols; j++) amax = fmaxf(amax, fabsf(a[j]));
            for (long j = 0; j < cols; j++) {
                double bound = as_q8 ? amax / 127.0 * 0.5 * (1 + 1e-5) : 0;
                double want = as_q8 ? a[j] : ds_f16_to_f32(ds_f32_to_f16(a[j]));
                within &= fabs((double)c[j] - want) <= bound;
            }
        }
    }
    CHECK(within && n_q8 >= 15, "every q8 value (%d tensors) is within half a step of its row's scale; 1-D tensors, "
          "conv_in and conv_out are exactly f16", n_q8);
    enum { B = 3, N = 64 };
    float x[B * N], tt[B] = {0.0f, 37.5f, 999.0f}, e32[B * N], e16[B * N], e8[B * N];
    int cls[B] = {3, 10, 0};
    for (int i = 0; i < B * N; i++) x[i] = (float)(((i * 37) % 101) / 50.0 - 1.0);
    CHECK(ds_model_forward(m, x, tt, cls, B, e32) == DS_OK && ds_model_forward(m16, x, tt, cls, B, e16) == DS_OK &&
              ds_model_forward(m8, x, tt, cls, B, e8) == DS_OK,
          "forwards: %s", ds_last_error());
    double ss = 0, d16 = 0, d8 = 0;
    for (int i = 0; i < B * N; i++) {
        ss += (double)e32[i] * e32[i];
        d16 += ((double)e16[i] - e32[i]) * ((double)e16[i] - e32[i]);
        d8 += ((double)e8[i] - e32[i]) * ((double)e8[i] - e32[i]);
    }
    double r16 = sqrt(d16 / ss), r8 = sqrt(d8 / ss);
    printf("test_q8: tiny UNet output vs f32, relative RMS: f16 %.2e, q8 %.2e; file %zu vs %zu bytes\n", r16, r8, n8, n16);
    CHECK(r16 <= 2e-3, "f16 output within 0.2%% of f32 (%.3g)", r16);
    CHECK(r8 <= 2e-2 && r8 > r16, "q8 output within 2%% of f32 (%.3g) and coarser than f16", r8);

    /* a negative and a NaN scale (row 0 of the first tensor), q8 on a 1-D tensor */
    ds_mlp_config mc = small_mlp();
    mc.temb_dim = 14; /* fc.0.weight (12, 16): enough rows and columns to be stored as q8 */
    ds_model *mm = ds_model_random(DS_MODEL_MLP, &mc, 3);
    uint8_t *q8b, *f16b;
    size_t q8n, f16n;
    CHECK(ds_model_to_bytes(mm, DS_DTYPE_Q8, &q8b, &q8n) == DS_OK && ds_model_to_bytes(mm, DS_DTYPE_F16, &f16b, &f16n) == DS_OK,
          "mlp q8/f16: %s", ds_last_error());
    const size_t first_data = 256 + 4 + 12 + 8 + 8; /* "fc.0.weight": name 11 -> 12 bytes, 2 dims */
    put_u32(q8b + first_data, 0xbf800000u); /* -1.0f */
    reseal(q8b, q8n);
    expect_refused(q8b, q8n, "tensor 'fc.0.weight': q8 scale of row 0 is -1", "negative q8 scale");
    put_u32(q8b + first_data, 0x7fc00000u);
    reseal(q8b, q8n);
    expect_refused(q8b, q8n, "q8 scale of row 0 is nan", "NaN q8 scale");
    const size_t bias_record = first_data + ((size_t)ds_model_table(mm)->p[0].numel * 2 + 3) / 4 * 4;
    put_u32(f16b + bias_record + 4 + 12, DS_DTYPE_Q8); /* "fc.0.bias": name 9 -> 12 bytes, then dtype */
    reseal(f16b, f16n);
    expect_refused(f16b, f16n, "tensor 'fc.0.bias': q8 needs 2 or more dimensions", "q8 on a 1-D tensor");
    ds_dtype d;
    CHECK(ds_dtype_parse("q8", &d) == DS_OK && d == DS_DTYPE_Q8 && !strcmp(ds_dtype_name(DS_DTYPE_F16), "f16"), "dtype names");
    CHECK(ds_dtype_parse("int4", &d) == DS_ERR && strstr(ds_last_error(), "f32, f16 or q8"), "unknown dtype name refused");
    free(q8b), free(f16b), free(b16), free(b8);
    ds_model_free(mm), ds_model_free(m), ds_model_free(m16), ds_model_free(m8);
}

int main(void) {
    test_f16();
    test_round_trips();
    test_q8();
    test_corrupt();
    test_version1();
    test_version2();
    test_setters();
    test_bad_fields();
    return check_summary("test_weights");
}
