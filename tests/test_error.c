/* test_error.c — the error channel (src/error.h): a message that quotes the previous error keeps
 * it intact, directly and through the checkpoint reader, which wraps the optimiser's message
 * ("checkpoint: stored optimiser config is invalid: <why>"). Before ds_fail formatted into a
 * buffer of its own, vsnprintf read the previous message from the buffer it was writing. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "checkpoint.h"
#include "error.h"
#include "optim.h"
#include "rng.h"

int main(void) {
    ds_fail("inner reason %d", 42);
    ds_fail("outer: %s", ds_last_error());
    CHECK(!strcmp(ds_last_error(), "outer: inner reason 42"), "nested message: got '%s'", ds_last_error());

    /* a long previous message is cut at the buffer's end, not garbled */
    char longer[600];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    ds_fail("%s", longer);
    ds_fail("wrapped: %s", ds_last_error());
    const char *m = ds_last_error();
    CHECK(!strncmp(m, "wrapped: xxxx", 13) && strspn(m + 9, "x") == strlen(m) - 9, "long nested message: '%.40s...'", m);

    /* through the checkpoint reader: an optimiser config that fails its check on load */
    float params[4] = {1, 2, 3, 4};
    ds_optim_config oc;
    ds_optim_config_default(&oc);
    ds_optim opt;
    CHECK(ds_optim_init(&opt, &oc, 4, params) == DS_OK, "optim init: %s", ds_last_error());
    opt.cfg.weight_decay = 20; /* out of range: the stored config is refused with a reason */
    ds_rng rng;
    ds_rng_seed(&rng, 1);
    long size = ds_checkpoint_size(&opt, 0, 0);
    void *buf = malloc((size_t)size);
    CHECK(buf && ds_checkpoint_write(buf, size, &opt, params, &rng, NULL, 0, NULL, 0) == size, "write: %s", ds_last_error());
    ds_checkpoint ck;
    CHECK(ds_checkpoint_parse(buf, size, &ck) == DS_ERR, "a checkpoint with weight decay 20 is refused");
    const char *want = "checkpoint: stored optimiser config is invalid: weight decay must be between 0 and 10 (got 20)";
    CHECK(!strcmp(ds_last_error(), want), "checkpoint message: got '%s', want '%s'", ds_last_error(), want);
    free(buf);
    ds_optim_free(&opt);
    return check_summary("test_error");
}
