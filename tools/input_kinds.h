/* input_kinds.h — every kind of file the CLI reads: its size cap and the check of its first
 * bytes (magic, declared size), run by util_read_kind before the rest is read.
 *
 * So a wrong file costs a few bytes, not its size: a 900 MB disk image given as weights is
 * refused after 264 bytes ("bad magic"), a cut checkpoint before its gigabytes are allocated,
 * and every command reading the same kind says the same thing about the same file. The
 * messages are the library's own where the library has one (weights.h, checkpoint.h,
 * sampler_models.h), so a file refused here reads as the parser would have refused it.
 * Not here: the parsers themselves (src/), reading (util.h). */
#ifndef DS_INPUT_KINDS_H
#define DS_INPUT_KINDS_H

#include "util.h"

extern const util_input_kind INPUT_WEIGHTS;        /* .dsw: "DSCW", the header's total size; 1 GiB */
extern const util_input_kind INPUT_CHECKPOINT;     /* training checkpoints: "DSCKPT", the sizes the header describes; 8 GiB */
extern const util_input_kind INPUT_FASHION_SAMPLE; /* the --analytic sample file: "DSFS", count x rows x cols; 256 MB */
extern const util_input_kind INPUT_POINTS;         /* point files and drawings: text (no NUL byte up front); 1 GiB */
extern const util_input_kind INPUT_PNG;            /* PNGs for png2points: the signature, IHDR at most 4096 x 4096; 256 MB */
extern const util_input_kind INPUT_IMAGE;          /* train --images: a PNG or JPEG signature, not empty; 64 MB */
extern const util_input_kind INPUT_FASHION_GZ;     /* the Fashion-MNIST IDX files: gzip's 1f 8b; 256 MB compressed */

#endif
