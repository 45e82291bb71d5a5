/* test_wasm_api.c — the exported face (wasm_api.h) natively, where ASan watches it: the one
 * handle table (0 is never a handle, kinds are checked, freed handles stay refused after their
 * slot is reused, a sampler whose model was freed fails cleanly), the description names every
 * function and record, and the model info record is filled in the order it is described;
 * arrays of the wrong length for the model or sampler are refused before they are touched
 * (ds_api_bounds), and a weights header is judged from its first 256 bytes (weights_peek).
 * What the JS side sends is tested in tests/wasm/ through web/api.js. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "wasm_api.h"

static int error_has(const char *fragment) { return strstr(ds_api_last_error(), fragment) != NULL; }

static void test_handles(void) {
    const float mean[2] = {0, 0}, var[2] = {1, 1};
    const double weight[1] = {1};
    const int label[1] = {-1}, cls[3] = {10, 10, 10};
    int mix = ds_api_mixture_new(1, 2, weight, mean, var, label, 0);
    CHECK(mix > 0, "mixture: %s", ds_api_last_error());
    int s = ds_api_sampler_new(mix, 0, 1, 4, 0, 1, 0, 1, 3, cls);
    CHECK(s > 0 && s != mix, "sampler: %s", ds_api_last_error());

    float out[6];
    double info[10];
    CHECK(ds_api_model_forward(0, mean, mean, NULL, 1, out) == DS_ERR && error_has("0 is not a model handle"), "0 refused: %s",
          ds_api_last_error());
    CHECK(ds_api_model_forward(s, mean, mean, NULL, 1, out) == DS_ERR && error_has("is a sampler, expected a model"),
          "a sampler is not a model: %s", ds_api_last_error());
    CHECK(ds_api_sampler_info(mix, info) == DS_ERR && error_has("is a mixture, expected a sampler"), "a mixture is not a sampler");
    CHECK(ds_api_sampler_step(s, 2) == 2, "two steps: %s", ds_api_last_error());
    CHECK(ds_api_sampler_info(s, info) == DS_OK && info[0] == 2 && info[1] == 4 && info[8] == 3 && info[9] == 2,
          "info: step %g of %g, batch %g, dim %g", info[0], info[1], info[8], info[9]);

    /* a freed handle stays refused, even once its slot holds a new object */
    CHECK(ds_api_free(s) == DS_OK, "free");
    CHECK(ds_api_free(s) == DS_ERR && error_has("freed already"), "double free refused");
    int s2 = ds_api_sampler_new(mix, 0, 1, 4, 0, 1, 0, 1, 3, cls);
    CHECK(s2 > 0 && s2 != s && s2 % 256 == s % 256, "the slot is reused under a new handle (%d, %d)", s, s2);
    CHECK(ds_api_sampler_step(s, 1) == DS_ERR && error_has("freed already"), "the old handle is refused");
    CHECK(ds_api_sampler_step(s2, 1) == 1, "the new one works");

    /* the source freed under a live sampler: the next step fails with a message, no crash */
    CHECK(ds_api_free(mix) == DS_OK, "free the mixture");
    CHECK(ds_api_sampler_step(s2, 1) == DS_ERR && error_has("freed already"), "step after the source was freed: %s",
          ds_api_last_error());
    CHECK(ds_api_free(s2) == DS_OK, "free the sampler");
    CHECK(ds_api_sampler_new(1, 0, 1, 4, 0, 1, 0, 1, 1, cls) == DS_ERR, "a never-made handle is refused");
    CHECK(ds_api_sampler_new(mix, 0, 1, 4, 0, 1, 0, 1.5, 1, cls) == DS_ERR, "a freed source is refused");
}

static void test_model_info(void) {
    int m = ds_api_model_random(2, NULL, 0, 3);
    CHECK(m > 0, "random MLP: %s", ds_api_last_error());
    double info[64];
    CHECK(ds_api_model_info(m, info) == DS_OK, "info");
    /* the record's order as the description gives it: kind, params, mflop, item_floats, ... */
    CHECK(info[0] == 2 && info[1] > 1000 && info[3] == 2 && info[4] == 0, "kind %g, params %g, item %g, size %g", info[0], info[1],
          info[3], info[4]);
    int size = ds_api_model_save(m, 0, 0, NULL);
    uint8_t *bytes = malloc((size_t)size);
    CHECK(size > 0 && ds_api_model_save(m, 0, size, bytes) == size, "save %d bytes", size);
    CHECK(ds_api_model_save(m, 0, size - 1, bytes) == DS_ERR && error_has("do not fit"), "too small a buffer refused");
    int m2 = ds_api_model_load(bytes, size);
    CHECK(m2 > 0, "load the saved bytes");
    free(bytes);
    CHECK(ds_api_model_random(7, NULL, 0, 1) == DS_ERR && error_has("not a model_kind id"), "unknown kind refused");
    CHECK(ds_api_model_random(1, NULL, 0, -1) == DS_ERR && error_has("seed"), "negative seed refused");
    CHECK(ds_api_free(m) == DS_OK && ds_api_free(m2) == DS_OK, "free both");
}

static void test_bounds(void) {
    /* an 8x8 UNet: its sampler's frames are 64 bytes an image, not Fashion's 784 */
    const int cfg[12] = {8, 1, 8, 2, 1, 2, 0, 0, 1, 4, 16, 10}, cls[1] = {0};
    int m = ds_api_model_random(1, cfg, 12, 1);
    int s = ds_api_sampler_new(m, 0, 1, 2, 0, 1, 1, 1, 1, cls);
    CHECK(m > 0 && s > 0, "8x8 model and sampler: %s", ds_api_last_error());
    uint8_t *x = calloc(784, 1), *x0 = calloc(784, 1);
    double info[10];
    const int fashion[4] = {-1, 784, 784, 10}, right[4] = {-1, 64, 64, 10};
    CHECK(ds_api_bounds(fashion, 4) == DS_OK, "bounds");
    CHECK(ds_api_sampler_frame(s, x, x0, info) == DS_ERR && error_has("x_out holds 784 values, but 1 item of 64 values (a unet of 8x8 images, 1 channel)"),
          "a Fashion-sized frame refused: %s", ds_api_last_error());
    CHECK(ds_api_bounds(right, 4) == DS_OK && ds_api_sampler_frame(s, x, x0, info) == DS_OK, "the right size reads: %s", ds_api_last_error());
    float xf[2] = {0}, t[1] = {500}, eps[2];
    const int points[6] = {-1, 2, 1, 1, -1, 2};
    CHECK(ds_api_bounds(points, 6) == DS_OK && ds_api_model_forward(m, xf, t, cls, 1, eps) == DS_ERR &&
              error_has("model_forward: x holds 2 values, but 1 item of 64 values"),
          "points into a UNet refused: %s", ds_api_last_error());
    CHECK(ds_api_bounds(NULL, 17) == DS_ERR, "too many lengths refused");
    ds_api_bounds(NULL, 0);
    free(x), free(x0);
    ds_api_free(s), ds_api_free(m);

    /* the header alone says what a file holds and how long it is */
    int mlp = ds_api_model_random(2, NULL, 0, 3), size = ds_api_model_save(mlp, 0, 0, NULL);
    uint8_t *bytes = malloc((size_t)size);
    CHECK(ds_api_model_save(mlp, 0, size, bytes) == size, "save");
    double peek[6];
    CHECK(ds_api_weights_peek(bytes, 256, peek) == DS_OK && peek[0] == 2 && peek[3] == 2 && peek[4] == size && peek[5] >= size,
          "peek: kind %g, item %g, size %g of %d, max %g: %s", peek[0], peek[3], peek[4], size, peek[5], ds_api_last_error());
    for (int i = 0; i < 8; i++) bytes[152 + i] = (uint8_t)((uint64_t)1500000000 >> (8 * i));
    CHECK(ds_api_weights_peek(bytes, 256, peek) == DS_ERR && error_has("the file announces 1500000000 bytes, but an mlp of this config takes"),
          "a 1.5 GB announcement refused: %s", ds_api_last_error());
    CHECK(ds_api_weights_peek(bytes, 100, peek) == DS_ERR && error_has("truncated"), "100 bytes: %s", ds_api_last_error());
    bytes[0] = 'X';
    CHECK(ds_api_weights_peek(bytes, 256, peek) == DS_ERR && error_has("bad magic"), "bad magic: %s", ds_api_last_error());
    free(bytes);
    ds_api_free(mlp);
}

static void test_description(void) {
    const char *d = ds_api_describe();
    CHECK(d == ds_api_describe(), "built once");
    const char *must[] = {"\"sampler_kind\":{\"ddpm\":0,\"ddim\":1,\"dpmpp2m\":2}", "\"schedule\":{\"linear\":0,\"cosine\":1}",
                          "\"model_info\":[{\"name\":\"kind\",\"count\":1,\"enum\":\"model_kind\"}", "\"sampler_run\":\"h,p,p\"",
                          "\"point_verdict\":[{\"name\":\"chamfer_ratio\"", "\"prefix\":\"ds_api_\""};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) CHECK(strstr(d, must[i]) != NULL, "description has %s", must[i]);
}

int main(void) {
    test_handles();
    test_model_info();
    test_bounds();
    test_description();
    return check_summary("test_wasm_api");
}
