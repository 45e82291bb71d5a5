/* points_train.c — `diffuscope points train` / `points sample` (the MLP on 2-D points). */
#include <stdio.h>

#include "cli.h"
#include "points_cli.h"

int points_train_main(int argc, char **argv) {
    (void)argc; (void)argv;
    return cli_error(1, "points train: not built yet");
}

int points_sample_main(int argc, char **argv) {
    (void)argc; (void)argv;
    return cli_error(1, "points sample: not built yet");
}
