/* points_forward.h — the forward process on 2-D point sets, which needs no model.
 *
 * x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, with one fixed eps per point, so moving t
 * moves every point smoothly along its own straight-to-noise path (the "heated balloon").
 * The marginal q(x_t) is the mixture over the shape's points of N(sqrt(abar_t) x_i,
 * (1 - abar_t) I); it is evaluated on a grid for the page to draw as a heat map.
 * Steps: t = 0 is the clean data (abar = 1), t = 1..T follow schedule.h.
 * Not here: the reverse process (sampler.h) or any learning. */
#ifndef DS_POINTS_FORWARD_H
#define DS_POINTS_FORWARD_H

/* n x 2 standard normals as float (one fixed eps per point) from `seed`. */
int ds_points_noise(int n, double seed, float *out);

/* x_t (n, 2) of every point at step t (0..T) of schedule `kind` (0 linear,
 * 1 cosine) with T steps, from x0 (n, 2) and eps (n, 2). Returns DS_OK or DS_ERR. */
int ds_forward_points(int kind, int T, int t, const float *x0, const float *eps, int n, float *xt);

/* one point's whole path, out (T + 1, 2) for t = 0..T, from x0 (2) and eps (2). */
int ds_forward_trajectory(int kind, int T, const float *x0, const float *eps, float *out);

/* the density of q(x_t) on a G x G grid over the square [lo, hi]^2, cell centres,
 * row 0 at the top (y = hi), out (G, G). The mixture is over the n points of x0 (n, 2). At
 * small t the mixture is a set of spikes that no grid can show, so each component's
 * variance gets one grid cell squared added (a kernel density estimate at t = 0). */
int ds_forward_density(int kind, int T, int t, const float *x0, int n, double lo, double hi, int G, float *out);

#endif
