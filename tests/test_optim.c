/* test_optim.c — Adam(W), clipping, lr schedule, EMA against hand-computed references, and the
 * checkpoint's exact resume: N steps == k steps + save + load + (N - k) steps, bit for bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "checkpoint.h"
#include "error.h"
#include "optim.h"
#include "rng.h"

/* A toy problem whose minibatches come from the RNG: least squares y = a.x with a fixed a,
 * so the run depends on the RNG state as a real trainer's does. */
#define DIM 7
static void toy_grad(const float *w, float *g, ds_rng *rng) {
    static const float a[DIM] = {0.5f, -1.f, 2.f, 0.25f, -0.75f, 1.5f, 3.f};
    memset(g, 0, sizeof(float) * DIM);
    for (int b = 0; b < 8; b++) {
        float x[DIM], pred = 0, y = 0;
        for (int i = 0; i < DIM; i++) {
            x[i] = (float)ds_rng_normal(rng);
            pred += w[i] * x[i];
            y += a[i] * x[i];
        }
        for (int i = 0; i < DIM; i++) g[i] += 2.f * (pred - y) * x[i] / 8.f;
    }
}

static void run_steps(ds_optim *opt, float *w, ds_rng *rng, int steps) {
    float g[DIM];
    for (int s = 0; s < steps; s++) {
        toy_grad(w, g, rng);
        CHECK(ds_optim_step(opt, w, g) == DS_OK, "step: %s", ds_last_error());
    }
}

int main(void) {
    ds_optim_config cfg;
    ds_optim_config_default(&cfg);

    /* One Adam step by hand, in double: with m = v = 0 the first step moves each weight by
     * lr * g/|g| (bias-corrected), minus the decoupled decay lr*wd*p. */
    {
        cfg.lr = 0.1;
        cfg.weight_decay = 0.01;
        cfg.clip_norm = 0;
        cfg.ema_decay = 0;
        float p[3] = {1.f, -2.f, 0.5f}, g[3] = {0.3f, -4.f, 1e-3f};
        ds_optim opt;
        CHECK(ds_optim_init(&opt, &cfg, 3, p) == DS_OK, "init: %s", ds_last_error());
        double pd[3] = {1, -2, 0.5}, m[3] = {0}, v[3] = {0};
        for (int step = 1; step <= 3; step++) {
            double gd[3];
            for (int i = 0; i < 3; i++) gd[i] = g[i];
            float gcopy[3] = {g[0], g[1], g[2]};
            CHECK(ds_optim_step(&opt, p, gcopy) == DS_OK, "step: %s", ds_last_error());
            for (int i = 0; i < 3; i++) {
                m[i] = 0.9 * m[i] + 0.1 * gd[i];
                v[i] = 0.999 * v[i] + 0.001 * gd[i] * gd[i];
                double mh = m[i] / (1 - pow(0.9, step)), vh = v[i] / (1 - pow(0.999, step));
                pd[i] -= 0.1 * mh / (sqrt(vh) + 1e-8) + 0.1 * 0.01 * pd[i];
                CHECK_NEAR(p[i], pd[i], 1e-5, "Adam step vs double reference");
            }
        }
        CHECK(opt.step == 3, "step count 3 (got %ld)", opt.step);
        float bad[3] = {NAN, 0, 0};
        CHECK(ds_optim_step(&opt, p, bad) == DS_ERR, "a NaN gradient is refused");
        ds_optim_free(&opt);
    }

    /* Clipping scales to the max norm and reports the norm before. */
    {
        float g[2] = {3.f, 4.f};
        double n = ds_grad_clip(g, 2, 1.0);
        CHECK_NEAR(n, 5.0, 1e-12, "norm before clipping");
        CHECK_NEAR(g[0], 0.6, 1e-6, "clipped g0");
        CHECK_NEAR(g[1], 0.8, 1e-6, "clipped g1");
        float h[2] = {0.3f, 0.4f};
        ds_grad_clip(h, 2, 1.0);
        CHECK(h[0] == 0.3f && h[1] == 0.4f, "below the limit nothing changes");
    }

    /* Warm-up is linear, cosine decay ends at the floor. */
    {
        ds_optim_config c;
        ds_optim_config_default(&c);
        c.lr = 1.0;
        c.warmup_steps = 10;
        c.decay_steps = 110;
        c.min_lr_ratio = 0.1;
        CHECK_NEAR(ds_optim_lr(&c, 0), 0.1, 1e-15, "lr at step 0");
        CHECK_NEAR(ds_optim_lr(&c, 4), 0.5, 1e-15, "lr at step 4");
        CHECK_NEAR(ds_optim_lr(&c, 10), 1.0, 1e-15, "lr at end of warm-up");
        CHECK_NEAR(ds_optim_lr(&c, 60), 0.55, 1e-12, "lr half way through the decay");
        CHECK_NEAR(ds_optim_lr(&c, 500), 0.1, 1e-12, "lr after the decay");
        /* a decay added on resume: constant lr until decay_start, then the cosine over the rest */
        c.decay_start = 60;
        c.decay_steps = 160;
        CHECK_NEAR(ds_optim_lr(&c, 59), 1.0, 1e-15, "lr before a late decay starts");
        CHECK_NEAR(ds_optim_lr(&c, 60), 1.0, 1e-15, "lr where a late decay starts");
        CHECK_NEAR(ds_optim_lr(&c, 110), 0.55, 1e-12, "lr half way through a late decay");
        CHECK_NEAR(ds_optim_lr(&c, 160), 0.1, 1e-12, "lr at the end of a late decay");
        c.decay_steps = 60;
        CHECK(ds_optim_config_check(&c) == DS_ERR, "decay ending where it starts refused");
        c.decay_start = 0;
        c.decay_steps = 5;
        CHECK(ds_optim_config_check(&c) == DS_ERR, "decay shorter than warm-up refused");
        c.decay_steps = 0;
        c.lr = NAN;
        CHECK(ds_optim_config_check(&c) == DS_ERR, "NaN lr refused");
    }

    /* EMA without warm-up: ema_s = d ema_{s-1} + (1 - d) p_s. Adam converges on the toy. */
    ds_optim_config_default(&cfg);
    cfg.lr = 0.05;
    cfg.ema_decay = 0.9;
    cfg.ema_warmup = 0;
    {
        float w[DIM] = {0};
        ds_optim opt;
        ds_rng rng;
        ds_rng_seed(&rng, 3);
        CHECK(ds_optim_init(&opt, &cfg, DIM, w) == DS_OK, "init: %s", ds_last_error());
        double ema0 = 0;
        float g[DIM];
        toy_grad(w, g, &rng);
        ds_optim_step(&opt, w, g);
        CHECK_NEAR(opt.ema[0], 0.9 * ema0 + 0.1 * w[0], 1e-7, "EMA after one step");
        run_steps(&opt, w, &rng, 600);
        CHECK(fabsf(w[6] - 3.f) < 0.05f && fabsf(w[1] + 1.f) < 0.05f, "Adam fits the toy (w6 %g, w1 %g)", w[6], w[1]);
        CHECK(fabsf(opt.ema[6] - 3.f) < 0.1f, "EMA follows (ema6 %g)", opt.ema[6]);
        ds_optim_free(&opt);
    }

    /* Exact resume: 40 steps straight vs 17 + checkpoint round trip + 23. */
    cfg.ema_warmup = 1;
    cfg.warmup_steps = 5;
    cfg.decay_steps = 30;
    cfg.weight_decay = 0.01;
    {
        float wa[DIM] = {0}, wb[DIM] = {0};
        ds_optim oa, ob, oc;
        ds_rng ra, rb, rc;
        ds_rng_seed(&ra, 11);
        ds_rng_seed(&rb, 11);
        ds_optim_init(&oa, &cfg, DIM, wa);
        ds_optim_init(&ob, &cfg, DIM, wb);
        run_steps(&oa, wa, &ra, 17);
        ds_rng_normal(&ra); /* leave a spare normal pending: it must survive the round trip */
        run_steps(&oa, wa, &ra, 23);
        run_steps(&ob, wb, &rb, 17);
        ds_rng_normal(&rb);
        const char model[] = "toy-linear-7", extra[] = {1, 2, 3};
        long size = ds_checkpoint_size(&ob, sizeof model, sizeof extra);
        unsigned char *buf = malloc((size_t)size);
        CHECK(ds_checkpoint_write(buf, size, &ob, wb, &rb, model, sizeof model, extra, sizeof extra) == size,
              "write: %s", ds_last_error());
        ds_checkpoint ck;
        CHECK(ds_checkpoint_parse(buf, size, &ck) == DS_OK, "parse: %s", ds_last_error());
        CHECK(ck.step == 17 && ck.n_params == DIM && ck.model_bytes == (long)sizeof model &&
                  !memcmp(ck.model, model, sizeof model) && ck.extra_bytes == 3 && ck.extra[2] == 3,
              "header fields round-trip");
        float wc[DIM];
        CHECK(ds_checkpoint_restore(&ck, &oc, wc, &rc) == DS_OK, "restore: %s", ds_last_error());
        run_steps(&oc, wc, &rc, 23);
        CHECK(!memcmp(wa, wc, sizeof wa), "resumed params bit-identical (w0 %.9g vs %.9g)", wa[0], wc[0]);
        CHECK(!memcmp(oa.ema, oc.ema, sizeof wa), "resumed EMA bit-identical");
        CHECK(!memcmp(oa.m, oc.m, sizeof wa) && !memcmp(oa.v, oc.v, sizeof wa), "resumed Adam moments bit-identical");
        CHECK(oc.step == 40, "resumed step count 40 (got %ld)", oc.step);
        /* Without the round trip's RNG the runs must differ: the test can fail. */
        float wd[DIM];
        ds_optim od;
        ds_rng rd;
        ds_checkpoint_restore(&ck, &od, wd, &rd);
        ds_rng_seed(&rd, 12);
        run_steps(&od, wd, &rd, 23);
        CHECK(memcmp(wa, wd, sizeof wa) != 0, "a different RNG gives different params");

        /* Corruption is caught: one flipped byte, truncation, wrong magic, wrong version. */
        buf[DS_CHECKPOINT_HEADER_BYTES + 20] ^= 1;
        CHECK(ds_checkpoint_parse(buf, size, &ck) == DS_ERR && strstr(ds_last_error(), "checksum"), "flipped byte: %s",
              ds_last_error());
        buf[DS_CHECKPOINT_HEADER_BYTES + 20] ^= 1;
        CHECK(ds_checkpoint_parse(buf, size - 5, &ck) == DS_ERR && strstr(ds_last_error(), "truncated"), "truncated: %s",
              ds_last_error());
        CHECK(ds_checkpoint_parse(buf, 100, &ck) == DS_ERR, "very short buffer refused");
        buf[8] = 9;
        CHECK(ds_checkpoint_parse(buf, size, &ck) == DS_ERR && strstr(ds_last_error(), "version"), "version: %s",
              ds_last_error());
        buf[8] = 1;
        buf[0] = 'X';
        CHECK(ds_checkpoint_parse(buf, size, &ck) == DS_ERR && strstr(ds_last_error(), "magic"), "magic: %s",
              ds_last_error());
        CHECK(ds_checkpoint_write(buf, size - 1, &ob, wb, &rb, model, sizeof model, extra, sizeof extra) == DS_ERR,
              "too small a buffer refused");
        free(buf);
        ds_optim_free(&oa);
        ds_optim_free(&ob);
        ds_optim_free(&oc);
        ds_optim_free(&od);
    }

    /* Adam's first step moves every parameter by lr against the gradient's sign. */
    {
        ds_optim_config cfg;
        ds_optim_config_default(&cfg);
        cfg.lr = 0.1;
        cfg.clip_norm = 0.0;
        cfg.ema_decay = 0.0;
        ds_optim opt;
        CHECK(ds_optim_init(&opt, &cfg, 3, NULL) == DS_OK, "init: %s", ds_last_error());
        float p[3] = {1, 2, 3}, g[3] = {1, -1, 0.5f};
        CHECK(ds_optim_step(&opt, p, g) == DS_OK && opt.step == 1, "one step");
        CHECK_NEAR(p[0], 0.9, 1e-6, "first step moves by lr");
        CHECK_NEAR(p[1], 2.1, 1e-6, "first step moves by lr (negative grad)");
        ds_optim_free(&opt);
        CHECK(ds_optim_init(&opt, &cfg, 0, NULL) == DS_ERR, "n = 0 refused");
        cfg.lr = -1;
        CHECK(ds_optim_init(&opt, &cfg, 3, NULL) == DS_ERR, "negative lr refused");
    }
    return check_summary("test_optim");
}
