/* test_edit.c — the editing methods (edit.h), exactly, on the shipped Fashion UNet.
 *
 * SDEdit at t0 = 0 returns the input unchanged and at t0 = T is the plain sampler bit for bit;
 * inpainting keeps every unmasked pixel exactly (with and without RePaint's resampling, DDPM,
 * DDIM and DPM-Solver++); seed interpolation at u = 0 and 1 is each seed's own sample bit for
 * bit, and class interpolation at w = 0 and 1 each class's, guided or not; the guidance map is
 * ε̂_cond − ε̂_uncond of the model called directly; bad input is refused by name. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "edit.h"
#include "error.h"
#include "model.h"
#include "sampler.h"
#include "sampler_models.h"
#include "schedule.h"

enum { D = 784 };
static ds_model *model;
static ds_schedule sched;

static void params(ds_sampler_params *p, ds_sampler_kind kind, int steps, double guidance, uint64_t seed, int B) {
    ds_sampler_params_init(p);
    p->kind = kind, p->steps = steps, p->guidance = guidance, p->seed = seed, p->batch = B, p->clip = 1.0;
}

static ds_sampler *make(const ds_sampler_params *p, const int *cls) {
    ds_sampler *s = ds_sampler_create(&sched, D, ds_model_eps, model, p, cls);
    CHECK(s != NULL, "sampler create: %s", ds_last_error());
    return s;
}

/* runs s to the end (through ip if given); the final x, malloc'd (B, D) */
static float *finish(ds_sampler *s, ds_inpaint *ip) {
    while (!ds_sampler_done(s)) {
        int rc = ip ? ds_inpaint_step(ip) : ds_sampler_step(s);
        CHECK(rc == DS_OK, "step: %s", ds_last_error());
        if (rc) break;
    }
    long n = (long)ds_sampler_batch(s) * D;
    float *x = malloc(sizeof(float) * n);
    memcpy(x, ds_sampler_x(s), sizeof(float) * n);
    return x;
}

static float *plain(const ds_sampler_params *p, const int *cls) {
    ds_sampler *s = make(p, cls);
    float *x = finish(s, NULL);
    ds_sampler_free(s);
    return x;
}

static int same_bits(const float *a, const float *b, long n) { return !memcmp(a, b, sizeof(float) * n); }

/* a real test image from the shipped sample file, as x in [-1, 1] */
static void test_image(int index, float *x, int *label) {
    char path[1024];
    const char *src = getenv("DS_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/web/data/fashion-sample.bin", src ? src : ".");
    FILE *f = fopen(path, "rb");
    static uint8_t bytes[1 << 17];
    size_t n = f ? fread(bytes, 1, sizeof bytes, f) : 0;
    if (f) fclose(f);
    ds_fashion_sample fs;
    int rc = ds_fashion_sample_parse(bytes, (long)n, &fs);
    CHECK(rc == DS_OK, "%s: %s", path, ds_last_error());
    if (rc) { memset(x, 0, sizeof(float) * D); *label = 0; return; }
    ds_pixels_to_x(fs.pixels + (long)index * D, D, x);
    *label = fs.labels[index];
}

static void test_sdedit(void) {
    float x0[2 * D];
    int label, cls[2];
    test_image(3, x0, &label);
    test_image(17, x0 + D, &cls[1]);
    cls[0] = label;
    ds_sampler_params p;
    /* t0 = 0: no step, the input is the result */
    params(&p, DS_SAMPLER_DDIM, 20, 2.0, 5, 2);
    ds_sampler *s = make(&p, cls);
    CHECK(ds_edit_sdedit(s, 0, x0) == DS_OK, "sdedit t0 0: %s", ds_last_error());
    float frames[2 * D], x0_frames[2 * D];
    ds_sampler_info info;
    CHECK(ds_edit_run(s, NULL, frames, x0_frames, NULL, &info) == 1, "t0 = 0 gives one frame");
    CHECK(same_bits(frames, x0, 2 * D) && same_bits(ds_sampler_x(s), x0, 2 * D), "t0 = 0 changed the input");
    CHECK(same_bits(x0_frames, x0, 2 * D), "t0 = 0: x0_hat is not the input");
    CHECK(info.t == 0 && info.steps == 0, "t0 = 0: info t %d steps %d", info.t, info.steps);
    ds_sampler_free(s);
    /* t0 = T: the plain sampler, bit for bit, for each kind (DDPM injects noise at every step) */
    const ds_sampler_kind kinds[3] = {DS_SAMPLER_DDIM, DS_SAMPLER_DDPM, DS_SAMPLER_DPMPP2M};
    for (int k = 0; k < 3; k++) {
        params(&p, kinds[k], 10, k == 0 ? 2.0 : 1.0, 11, 2);
        float *want = plain(&p, cls);
        s = make(&p, cls);
        CHECK(ds_edit_sdedit(s, sched.T, x0) == DS_OK, "sdedit T: %s", ds_last_error());
        float *got = finish(s, NULL);
        CHECK(same_bits(got, want, 2 * D), "%s: sdedit at t0 = T differs from the plain sample", ds_sampler_kind_name(kinds[k]));
        free(got), free(want);
        ds_sampler_free(s);
    }
    /* t0 = 400: steps spaced from 400, the start is q(x_400 | x0); the result stays near the input */
    params(&p, DS_SAMPLER_DDIM, 20, 1.0, 3, 2);
    s = make(&p, cls);
    float z[2 * D];
    memcpy(z, ds_sampler_x(s), sizeof z);
    CHECK(ds_edit_sdedit(s, 400, x0) == DS_OK, "sdedit 400: %s", ds_last_error());
    const double a = sched.alpha_bar[399];
    CHECK(ds_sampler_x(s)[100] == (float)(sqrt(a) * x0[100] + sqrt(1 - a) * z[100]), "x_400 is not q(x_400 | x0)");
    CHECK(ds_sampler_timestep_at(s, 0) == 400 && ds_sampler_timestep_at(s, 19) == 1 && ds_sampler_timestep_at(s, 20) == 0,
          "steps from 400: %d .. %d", ds_sampler_timestep_at(s, 0), ds_sampler_timestep_at(s, 19));
    float *edited = finish(s, NULL);
    double d_in = 0, d_plain = 0;
    float *other = plain(&p, cls);
    for (int i = 0; i < D; i++) d_in += fabs(edited[i] - x0[i]), d_plain += fabs(other[i] - x0[i]);
    CHECK(d_in < 0.6 * d_plain, "t0 = 400 strays from the input (mean |diff| %.3f vs %.3f for a plain sample)", d_in / D, d_plain / D);
    free(edited), free(other);
    ds_sampler_free(s);
    /* fewer timesteps than steps: every one */
    s = make(&p, cls);
    CHECK(ds_edit_sdedit(s, 5, x0) == DS_OK && ds_sampler_frames_left(s) == 6, "t0 5 with 20 steps: %d frames", ds_sampler_frames_left(s));
    CHECK(ds_edit_sdedit(s, 5, x0) == DS_OK, "sdedit twice before a step: %s", ds_last_error());
    ds_sampler_step(s);
    CHECK(ds_edit_sdedit(s, 5, x0) == DS_ERR && strstr(ds_last_error(), "before the first step"), "after a step: %s", ds_last_error());
    ds_sampler_free(s);
    s = make(&p, cls);
    CHECK(ds_edit_sdedit(s, 1001, x0) == DS_ERR && strstr(ds_last_error(), "t0"), "t0 1001: %s", ds_last_error());
    CHECK(ds_edit_sdedit(s, -1, x0) == DS_ERR, "t0 -1 accepted");
    float bad[2 * D];
    memcpy(bad, x0, sizeof bad);
    bad[7] = NAN;
    CHECK(ds_edit_sdedit(s, 100, bad) == DS_ERR && strstr(ds_last_error(), "not finite"), "NaN image: %s", ds_last_error());
    ds_sampler_free(s);
}

static void test_inpaint(void) {
    float known[2 * D];
    int cls[2];
    test_image(8, known, &cls[0]);
    test_image(41, known + D, &cls[1]);
    cls[1] = (cls[1] + 3) % 10; /* a class other than the original's */
    uint8_t mask[2 * D];
    for (int i = 0; i < 2 * D; i++) mask[i] = (i % D) / 28 >= 14; /* regenerate the lower half */
    const struct { ds_sampler_kind kind; int steps, r; double g; } runs[] = {
        {DS_SAMPLER_DDIM, 10, 1, 1.0}, {DS_SAMPLER_DDIM, 6, 3, 2.0}, {DS_SAMPLER_DDPM, 8, 2, 1.0}, {DS_SAMPLER_DPMPP2M, 8, 1, 2.0}};
    for (int k = 0; k < 4; k++) {
        ds_sampler_params p;
        params(&p, runs[k].kind, runs[k].steps, runs[k].g, 21, 2);
        ds_sampler *s = make(&p, cls);
        ds_inpaint *ip = ds_inpaint_create(s, known, mask, runs[k].r, 99);
        CHECK(ip != NULL, "inpaint create: %s", ds_last_error());
        if (!ip) { ds_sampler_free(s); continue; }
        const int F = ds_sampler_frames_left(s);
        float *frames = malloc(sizeof(float) * F * 2 * D);
        CHECK(ds_edit_run(s, ip, frames, NULL, NULL, NULL) == F, "inpaint run: %s", ds_last_error());
        const float *x = frames + (long)(F - 1) * 2 * D;
        long kept = 0, changed = 0, masked = 0;
        for (int i = 0; i < 2 * D; i++) {
            if (!mask[i]) kept += x[i] == known[i] && !memcmp(&x[i], &known[i], sizeof(float));
            else masked++, changed += fabsf(x[i] - known[i]) > 1e-3f;
        }
        CHECK(kept == 2 * D - masked, "%s r %d: %ld of %ld unmasked pixels kept exactly", ds_sampler_kind_name(runs[k].kind),
              runs[k].r, kept, 2 * D - masked);
        CHECK(changed > masked / 4, "%s r %d: only %ld of %ld masked pixels regenerated", ds_sampler_kind_name(runs[k].kind),
              runs[k].r, changed, masked);
        free(frames);
        ds_inpaint_free(ip);
        ds_sampler_free(s);
    }
    ds_sampler_params p;
    params(&p, DS_SAMPLER_DPMPP2M, 8, 1.0, 1, 2);
    ds_sampler *s = make(&p, cls);
    CHECK(!ds_inpaint_create(s, known, mask, 2, 1) && strstr(ds_last_error(), "one-step sampler"), "dpmpp2m r 2: %s", ds_last_error());
    CHECK(!ds_inpaint_create(s, known, mask, 11, 1) && strstr(ds_last_error(), "resampling"), "r 11: %s", ds_last_error());
    mask[5] = 2;
    CHECK(!ds_inpaint_create(s, known, mask, 1, 1) && strstr(ds_last_error(), "mask value 5"), "mask 2: %s", ds_last_error());
    ds_sampler_free(s);
}

static void test_interpolation(void) {
    const uint64_t seed_a = 4, seed_b = 9;
    const int cls7[3] = {7, 7, 7};
    ds_sampler_params p;
    params(&p, DS_SAMPLER_DDIM, 12, 2.0, seed_a, 1);
    float *own_a = plain(&p, cls7);
    p.seed = seed_b;
    float *own_b = plain(&p, cls7);
    /* one batch: u = 0, 0.5, 1 (the sampler's own seed does not matter: x_T is replaced) */
    const double u[3] = {0.0, 0.5, 1.0};
    params(&p, DS_SAMPLER_DDIM, 12, 2.0, 1234, 3);
    ds_sampler *s = make(&p, cls7);
    float xT[3 * D];
    CHECK(ds_edit_slerp_noise(seed_a, seed_b, u, 3, D, xT) == DS_OK, "slerp: %s", ds_last_error());
    double norm_mid = 0, norm_a = 0;
    for (int j = 0; j < D; j++) norm_a += xT[j] * xT[j], norm_mid += xT[D + j] * xT[D + j];
    CHECK(fabs(sqrt(norm_mid / norm_a) - 1) < 0.05, "slerp halfway keeps the norm (ratio %.3f)", sqrt(norm_mid / norm_a));
    ds_sampler_set_x(s, xT);
    float *got = finish(s, NULL);
    CHECK(same_bits(got, own_a, D), "u = 0 differs from seed a's own sample");
    CHECK(same_bits(got + 2 * D, own_b, D), "u = 1 differs from seed b's own sample");
    CHECK(!same_bits(got + D, own_a, D) && !same_bits(got + D, own_b, D), "u = 0.5 is one of the ends");
    free(got), free(own_a), free(own_b);
    ds_sampler_free(s);
    /* classes: w = 0 is class 2's sample, w = 1 class 8's, guided and not */
    for (int guided = 0; guided < 2; guided++) {
        const double g = guided ? 2.0 : 1.0;
        const int c2[3] = {2, 2, 2}, c8[3] = {8, 8, 8};
        params(&p, DS_SAMPLER_DDIM, 10, g, 6, 3);
        float *want2 = plain(&p, c2), *want8 = plain(&p, c8);
        const float w[3] = {0.0f, 0.5f, 1.0f};
        ds_class_blend *cb = ds_class_blend_create(model, c8, w, 3);
        CHECK(cb != NULL, "class blend: %s", ds_last_error());
        s = ds_sampler_create(&sched, D, ds_class_blend_eps, cb, &p, c2);
        float *blend = finish(s, NULL);
        CHECK(same_bits(blend, want2, D), "g %g: class weight 0 differs from class 2's sample", g);
        CHECK(same_bits(blend + 2 * D, want8 + 2 * D, D), "g %g: class weight 1 differs from class 8's sample", g);
        CHECK(!same_bits(blend + D, want2 + D, D) && !same_bits(blend + D, want8 + D, D), "g %g: weight 0.5 is an end", g);
        free(want2), free(want8), free(blend);
        ds_sampler_free(s);
        ds_class_blend_free(cb);
    }
    const double bad_u[1] = {1.5};
    CHECK(ds_edit_slerp_noise(1, 2, bad_u, 1, D, xT) == DS_ERR && strstr(ds_last_error(), "u[0]"), "u 1.5: %s", ds_last_error());
    const float bad_w[1] = {-0.1f};
    const int c1[1] = {1}, c10[1] = {10};
    CHECK(!ds_class_blend_create(model, c1, bad_w, 1) && strstr(ds_last_error(), "weight[0]"), "w -0.1: %s", ds_last_error());
    const float w0[1] = {0};
    CHECK(!ds_class_blend_create(model, c10, w0, 1) && strstr(ds_last_error(), "class"), "class 10: %s", ds_last_error());
}

static void test_guidance_map(void) {
    const int cls[2] = {0, 5};
    ds_sampler_params p;
    params(&p, DS_SAMPLER_DDIM, 4, 3.0, 8, 2);
    p.clip = 0;
    ds_sampler *s = make(&p, cls);
    float xT[2 * D], map[2 * D], ec[2 * D], eu[2 * D], t[2] = {1000, 1000};
    memcpy(xT, ds_sampler_x(s), sizeof xT);
    CHECK(ds_edit_guidance_map(s, map) == DS_OK && map[0] == 0 && map[2 * D - 1] == 0, "map before a step is not zeros");
    ds_sampler_step(s);
    CHECK(ds_edit_guidance_map(s, map) == DS_OK, "map: %s", ds_last_error());
    const int none[2] = {DS_NO_CLASS, DS_NO_CLASS};
    /* the sampler's own forward: the noise it predicts, also from a v-model (the shipped one) */
    ds_model_forward_sampling(model, xT, t, cls, NULL, NULL, 2, ec);
    ds_model_forward_sampling(model, xT, t, none, NULL, NULL, 2, eu);
    long exact = 0;
    double size = 0;
    for (int i = 0; i < 2 * D; i++) exact += map[i] == ec[i] - eu[i], size += fabs(map[i]);
    CHECK(exact == 2 * D, "map = eps_cond - eps_uncond at %ld of %d values", exact, 2 * D);
    CHECK(size > 1e-4 * 2 * D, "the map is all but zero (mean |map| %.4f)", size / (2 * D));
    ds_sampler_free(s);
    params(&p, DS_SAMPLER_DDIM, 4, 1.0, 8, 2);
    s = make(&p, cls);
    CHECK(ds_edit_guidance_map(s, map) == DS_ERR && strstr(ds_last_error(), "not guided"), "unguided: %s", ds_last_error());
    float frames[5 * 2 * D], guide[5 * 2 * D];
    CHECK(ds_edit_run(s, NULL, frames, NULL, guide, NULL) == DS_ERR, "run with a map while unguided accepted");
    ds_sampler_free(s);
    /* a guided run records one map per frame */
    params(&p, DS_SAMPLER_DDIM, 4, 2.0, 8, 2);
    s = make(&p, cls);
    ds_sampler_info infos[5];
    CHECK(ds_edit_run(s, NULL, frames, NULL, guide, infos) == 5 && infos[4].t == 0, "guided run: %s", ds_last_error());
    ds_sampler_free(s);
}

int main(void) {
    char path[1024];
    const char *src = getenv("DS_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/weights/fashion-unet.dsw", src ? src : ".");
    FILE *f = fopen(path, "rb");
    static uint8_t bytes[4 << 20];
    size_t n = f ? fread(bytes, 1, sizeof bytes, f) : 0;
    if (f) fclose(f);
    model = ds_model_from_bytes(bytes, n);
    if (!model) {
        fprintf(stderr, "test_edit: %s: %s\n", path, ds_last_error());
        return 1;
    }
    ds_schedule_init(&sched, ds_model_schedule_kind(model), ds_model_schedule_T(model));
    test_sdedit();
    test_inpaint();
    test_interpolation();
    test_guidance_map();
    ds_model_free(model);
    return check_summary("test_edit");
}
