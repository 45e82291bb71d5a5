/* kernels_bench.h — microbenchmarks of the kernel layer (kernels_bench.c): the vector unit's
 * mul + add peak and per-layer convolution speed, natively and in WASM (wasm_api.h exports them).
 * Not here: whole-network timing (`diffuscope bench`, tools/bench_wasm.mjs time the forward). */
#ifndef DS_KERNELS_BENCH_H
#define DS_KERNELS_BENCH_H

#include "unet.h"

/* Values per row of ds_bench_unet_convs' output. */
#define DS_BENCH_ROW 10

/* Runs 12 independent chains of 4-lane float mul + add for about `seconds` (0 < s <= 60).
 * out (2): [0] GFLOP/s (best repeat), [1] a checksum of the chains. DS_OK or DS_ERR. */
int ds_bench_peak(double seconds, double *out);

/* Times each convolution layer of the UNet m (conv_in, each block's conv1,
 * conv2 and skip, the downsamples, conv_out: execution order) at batch B
 * (1..64) for about `seconds` (0 < s <= 10) each, keeping the fastest call (like the peak).
 * out (cap_rows, DS_BENCH_ROW) rows: cin, size, cout, K, stride, ms of the fastest call,
 * its GFLOP/s counted as a direct convolution, that MFLOP per call, 1 if the layer runs as
 * Winograd (the blocks' 3x3 convs, as in a prepared model's forward) else 0, and the MFLOP
 * it actually executes (Winograd: its GEMMs and transforms; direct: the same as column 7).
 * Returns the number of rows written or DS_ERR. */
int ds_bench_unet_convs(const ds_unet *m, int B, double seconds, int cap_rows, double *out);

/* Values per row of ds_bench_unet_layers' output. */
#define DS_BENCH_LAYER_ROW 9

/* Runs m's whole forward (ds_unet_forward, the network's own code path: Winograd blocks when
 * m is prepared) at batch B (1..64) for about `seconds` (0 < s <= 10), timing every layer
 * through the state's probe and keeping each layer's fastest call. out (cap_rows,
 * DS_BENCH_LAYER_ROW) rows in execution order: kind (ds_unet_layer_kind), block (-1 outside
 * the blocks), cin, cout, size (input H = W), K, stride (0 where no kernel), ms, MFLOP the
 * layer executes (Winograd: its GEMMs and transforms). Returns the rows written or DS_ERR. */
int ds_bench_unet_layers(const ds_unet *m, int B, double seconds, int cap_rows, double *out);

#endif
