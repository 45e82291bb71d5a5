/* test_mlp_train.c — the point MLP's backward pass against central finite differences, and the
 * training loop: the loss falls, the run is deterministic, the weights round-trip through .dsw. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "mlp_train.h"
#include "model.h"
#include "shapes.h"

/* L = sum(eps_out * r): its gradient with respect to eps_out is r */
static double probe_loss(ds_mlp *m, ds_mlp_state *s, const float *x, const float *t, const float *r, int B) {
    ds_mlp_forward(m, s, x, t, B, NULL);
    double L = 0;
    for (int i = 0; i < 2 * B; i++) L += (double)s->eps[i] * r[i];
    return L;
}

static void test_gradients(void) {
    ds_mlp_config c = {.data_dim = 2, .hidden = 6, .n_layers = 3, .temb_dim = 4};
    ds_mlp m;
    ds_mlp_state s;
    CHECK(ds_mlp_build(&m, &c) == DS_OK, "build: %s", ds_last_error());
    ds_mlp_init_random(&m, 5);
    /* larger weights than the default init so every SiLU works in its curved part */
    for (long i = 0; i < m.table.total; i++) m.params[i] *= 2.5f;
    const int B = 3;
    CHECK(ds_mlp_state_alloc(&s, &m, B) == DS_OK, "state");
    const float x[] = {0.3f, -1.2f, 1.5f, 0.4f, -0.7f, -0.2f}, t[] = {1, 250, 999}, r[] = {0.5f, -1, 0.25f, 2, -0.75f, 1};
    long n = m.table.total;
    float *grads = calloc((size_t)n, sizeof(float)), *scratch = malloc(sizeof(float) * 2 * B * c.hidden);
    probe_loss(&m, &s, x, t, r, B);
    ds_mlp_backward(&m, &s, r, B, grads, scratch);
    const double h = 4e-3;
    double worst = 0, worst_fd = 0, worst_an = 0;
    long worst_i = -1, checked = 0;
    for (long i = 0; i < n; i++) {
        float keep = m.params[i];
        m.params[i] = keep + (float)h;
        double up = probe_loss(&m, &s, x, t, r, B);
        m.params[i] = keep - (float)h;
        double down = probe_loss(&m, &s, x, t, r, B);
        m.params[i] = keep;
        double fd = (up - down) / (2 * h), err = fabs(fd - grads[i]) / (1e-3 + fabs(fd));
        if (err > worst) { worst = err; worst_i = i; worst_fd = fd; worst_an = grads[i]; }
        checked++;
    }
    CHECK(worst < 2e-2, "backward vs finite differences: worst relative error %g at parameter %ld (of %ld): fd %g, backward %g", worst,
          worst_i, checked, worst_fd, worst_an);
    /* accumulation: a second backward doubles the gradient */
    float g0 = grads[n - 3];
    ds_mlp_backward(&m, &s, r, B, grads, scratch);
    CHECK(fabsf(grads[n - 3] - 2 * g0) <= 1e-6f * fabsf(g0) + 1e-7f, "gradients accumulate");
    printf("mlp backward: %ld parameters, worst relative error vs finite differences %.2e\n", checked, worst);
    free(grads);
    free(scratch);
    ds_mlp_state_free(&s);
    ds_mlp_free(&m);
}

static void test_training(void) {
    enum { N = 2000 };
    static float pts[2 * N];
    CHECK(ds_shape_points(DS_SHAPE_MOONS, N, 1, pts) == DS_OK, "moons");
    ds_mlp_train_config c;
    ds_mlp_train_config_default(&c);
    c.batch = 128;
    c.total_steps = 400;
    c.optim.decay_steps = 400;
    ds_mlp_trainer a, b;
    CHECK(ds_mlp_trainer_init(&a, &c, pts, N) == DS_OK, "trainer: %s", ds_last_error());
    CHECK(ds_mlp_trainer_init(&b, &c, pts, N) == DS_OK, "trainer b");
    double first, last, lb;
    CHECK(ds_mlp_trainer_run(&a, 20, &first) == DS_OK, "run: %s", ds_last_error());
    CHECK(ds_mlp_trainer_run(&a, 360, NULL) == DS_OK, "run");
    CHECK(ds_mlp_trainer_run(&a, 20, &last) == DS_OK, "run");
    printf("mlp training on moons: loss %.4f over steps 1-20, %.4f over steps 381-400\n", first, last);
    /* an untrained net predicting 0 has loss 1 (eps ~ N(0, I)); learning the moons gets well below */
    CHECK(first > 0.6 && last < 0.75 * first && last < 0.6, "loss falls: %g -> %g", first, last);
    /* the same seed and steps in different chunks give the same weights */
    CHECK(ds_mlp_trainer_run(&b, 400, &lb) == DS_OK, "run b");
    CHECK(memcmp(a.model.params, b.model.params, sizeof(float) * (size_t)a.model.table.total) == 0, "deterministic in chunks");
    uint8_t *bytes;
    size_t size;
    CHECK(ds_mlp_trainer_save(&a, 1, &bytes, &size) == DS_OK, "save: %s", ds_last_error());
    ds_model *m = ds_model_from_bytes(bytes, size);
    CHECK(m != NULL, "the saved weights load as a model: %s", ds_last_error());
    if (m) {
        CHECK(memcmp(ds_model_params(m), a.opt.ema, sizeof(float) * (size_t)a.model.table.total) == 0, "EMA weights saved");
        /* the loaded model predicts what the trainer's network predicts with the EMA weights */
        float x[4] = {0.5f, 0.5f, -1, 0}, t[2] = {10, 500}, e1[4], e2[4];
        CHECK(ds_model_forward(m, x, t, NULL, 2, e1) == DS_OK, "forward: %s", ds_last_error());
        memcpy(a.model.params, a.opt.ema, sizeof(float) * (size_t)a.model.table.total);
        ds_mlp_forward(&a.model, &a.states[0], x, t, 2, e2);
        CHECK(memcmp(e1, e2, sizeof e1) == 0, "same predictions after loading");
        ds_model_free(m);
    }
    free(bytes);
    ds_mlp_trainer_free(&a);
    ds_mlp_trainer_free(&b);

    /* bad training sets and configs are refused with a reason */
    ds_mlp_trainer bad;
    ds_mlp_train_config bc = c;
    bc.batch = 0;
    CHECK(ds_mlp_trainer_init(&bad, &bc, pts, N) == DS_ERR, "batch 0 refused");
    CHECK(ds_mlp_trainer_init(&bad, &c, pts, 0) == DS_ERR, "no points refused");
    pts[7] = NAN;
    CHECK(ds_mlp_trainer_init(&bad, &c, pts, N) == DS_ERR && strstr(ds_last_error(), "point 3"), "NaN point refused");
}

int main(void) {
    test_gradients();
    test_training();
    return check_summary("test_mlp_train");
}
