/* test_weights.c — the .dsw format: round trips (f32 exact, f16 to half precision), the f16
 * conversion on known values, and one corrupt file per failure class, each refused with a
 * message naming the problem. Truncated copies live in exact-size heap buffers, so under
 * AddressSanitizer any read past the end would abort the test. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
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

static ds_mlp_config small_mlp(void) { return (ds_mlp_config){.data_dim = 2, .hidden = 12, .n_layers = 2, .temb_dim = 6}; }

/* Writes the MLP's parameters through a modified table (to forge missing / mis-shaped /
 * unexpected tensors with a valid checksum). */
static int write_with_table(const ds_model *m, const ds_param_table *t, const float *params, uint8_t **b, size_t *n) {
    int cfg[DS_WEIGHTS_MAX_CONFIG];
    int nc = ds_model_config_ints(m, cfg, DS_WEIGHTS_MAX_CONFIG);
    return ds_weights_write(ds_model_get_kind(m), cfg, nc, t, params, DS_DTYPE_F32, b, n);
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
    expect_refused(b, n, "unknown format version 7", "unknown version");

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
    ds_rng rng;
    ds_rng_seed(&rng, 99);
    int refused = 0;
    for (int i = 0; i < 300; i++) {
        memcpy(b, good, n);
        size_t at = ds_rng_below(&rng, (uint32_t)n);
        b[at] ^= (uint8_t)(1 + ds_rng_below(&rng, 255));
        uint8_t *copy = malloc(n);
        memcpy(copy, b, n);
        ds_model *r = ds_model_from_bytes(copy, n);
        refused += r == NULL;
        ds_model_free(r);
        free(copy);
    }
    CHECK(refused == 300, "random byte corruption: %d of 300 refused (the checksum should catch all)", refused);

    free(b);
    free(good);
    ds_model_free(m);
}

int main(void) {
    test_f16();
    test_round_trips();
    test_corrupt();
    return check_summary("test_weights");
}
