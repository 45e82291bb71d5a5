/* cmd_classify.c — `diffuscope classify`: the project's Fashion-MNIST classifier (classifier.h)
 * judges given images: raw uint8 (n, 28, 28), 0 = background, as the page and `edit --raw` have
 * them. Prints JSON: the predicted class of each image and the classifier's probability for it.
 * The classifier is the one `diffuscope eval` trains and caches; classify never trains.
 * cmd_classify reads parse -> set up (classifier, images) -> judge -> print.
 * Not here: training the classifier (cmd_eval.c), sampling (cmd_sample.c, cmd_edit.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classifier.h"
#include "cli.h"
#include "error.h"
#include "fashion.h"
#include "util.h"

static const char *USAGE =
    "usage: diffuscope classify --images FILE [--classifier FILE]\n"
    "  --images FILE      raw uint8 images (n, 28, 28), 0 = background (n = size / 784)\n"
    "  --classifier FILE  the cached classifier (default out/fashion-classifier.bin, written by\n"
    "                     `diffuscope eval`)\n"
    "Prints JSON: {\"n\": N, \"pred\": [class per image], \"prob\": [its softmax probability]}.\n";

typedef struct {
    const char *images, *classifier;
} classify_opts;

static const struct option OPTIONS[] = {
    {"images", required_argument, 0, 'i'}, {"classifier", required_argument, 0, 'c'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

static int parse_flag(void *opts, int c, const char *arg) {
    classify_opts *o = opts;
    switch (c) {
    case 'i': o->images = arg; break;
    case 'c': o->classifier = arg; break;
    default: fputs(USAGE, stderr); return 2;
    }
    return 0;
}

/* the softmax probability of logit k among 10 */
static double prob_of(const float *z, int k) {
    double m = z[0], sum = 0;
    for (int c = 1; c < 10; c++) m = z[c] > m ? z[c] : m;
    for (int c = 0; c < 10; c++) sum += exp(z[c] - m);
    return exp(z[k] - m) / sum;
}

static int judge(const classifier *cl, const uint8_t *pixels, int n) {
    cl_state s;
    float *x = malloc(sizeof(float) * 784 * (size_t)n);
    if (!x || cl_state_alloc(&s, 1)) {
        free(x);
        return cli_error(1, "classify: out of memory");
    }
    fashion_to_float(pixels, n, x);
    printf("{\"n\": %d, \"pred\": [", n);
    double *prob = malloc(sizeof(double) * (size_t)n);
    for (int i = 0; i < n; i++) {
        int pred = 0;
        cl_run(cl, &s, x + (size_t)i * 784, NULL, 1, NULL, &pred);
        if (prob) prob[i] = prob_of(s.logits, pred);
        printf("%s%d", i ? ", " : "", pred);
    }
    printf("], \"prob\": [");
    for (int i = 0; prob && i < n; i++) printf("%s%.4f", i ? ", " : "", prob[i]);
    printf("]}\n");
    free(prob), free(x), free(s.buf);
    return 0;
}

int cmd_classify(int argc, char **argv) {
    classify_opts o = {.classifier = CL_DEFAULT_PATH};
    int rc = cli_parse_options(argc, argv, "classify", "h", OPTIONS, USAGE, parse_flag, &o);
    if (rc) return rc < 0 ? 0 : rc;
    if (!o.images) return cli_error(2, "classify: --images FILE is required");
    long size = 0;
    uint8_t *pixels = util_read_file(o.images, UTIL_MAX_WEIGHTS, &size);
    if (!pixels) return cli_error(1, "%s", ds_last_error());
    classifier cl = {0};
    if (size == 0 || size % 784) rc = cli_error(1, "classify: %s has %ld bytes, not a whole number of 28 x 28 images", o.images, size);
    else if (cl_build(&cl)) rc = cli_error(1, "%s", ds_last_error());
    else if (cl_load(&cl, o.classifier)) rc = cli_error(1, "classify: no classifier at %s (train it once with `diffuscope eval --weights W.dsw`)", o.classifier);
    else rc = judge(&cl, pixels, (int)(size / 784));
    free(cl.params);
    free(pixels);
    return rc;
}
