/* point_metrics.h — how close a set of samples is to a shape: Chamfer distance and MMD.
 *
 * Chamfer: the mean distance from each point of A to its nearest point of B and from each
 * point of B to its nearest in A, averaged: 1/2 (mean_a min_b |a - b| + mean_b min_a |a - b|).
 * It is in the shape's own units (shapes are normalised to E|x|^2 = 2, so 0.05 is about
 * 3.5% of the shape's radius), catches both stray points and empty parts of the shape.
 * MMD^2: the unbiased maximum mean discrepancy with a Gaussian kernel averaged over the
 * bandwidths 0.1, 0.2, 0.5 and 1; it also sees wrong densities and
 * global shifts, which Chamfer (a local measure) forgives inside filled shapes.
 * Neither is 0 for two finite samples of the same shape: compare with the "real vs real"
 * floor, two independent draws of the shape (ds_point_floor). Both are O(|A| |B|).
 * Not bit-identical across targets (libm exp); they are measures, not outputs. */
#ifndef DS_POINT_METRICS_H
#define DS_POINT_METRICS_H

/* out[0] = Chamfer, out[1] = MMD^2 between a (na, 2) and b (nb, 2). Returns DS_OK/DS_ERR. */
int ds_point_quality(const float *a, int na, const float *b, int nb, double *out);

/* The quality threshold every shipped point model meets (README "Point clouds"): samples
 * against fresh points of the shape, Chamfer at most 1.3x the real-vs-real Chamfer (the
 * floor) and MMD^2 at most 0.002. Decided here only; the CLI and the page show the verdict. */
#define DS_POINT_MAX_CHAMFER_RATIO 1.3
#define DS_POINT_MAX_MMD2 0.002

typedef struct {
    double chamfer_ratio;     /* chamfer / floor_chamfer */
    int pass;                 /* 1: ratio <= DS_POINT_MAX_CHAMFER_RATIO and mmd2 <= DS_POINT_MAX_MMD2 */
} ds_point_verdict;

/* The verdict on measured (chamfer, mmd2) against the floor's Chamfer (> 0). DS_OK or DS_ERR. */
int ds_point_judge(double chamfer, double mmd2, double floor_chamfer, ds_point_verdict *out);

double ds_chamfer(const float *a, int na, const float *b, int nb);
double ds_mmd2(const float *a, int na, const float *b, int nb);

/* the real-vs-real floor of shape `kind` at n points: out[0..1] as above, between
 * the draws with seeds seed and seed + 1. Returns DS_OK or DS_ERR. */
int ds_point_floor(int kind, int n, double seed, double *out);

#endif
