/* shapes.h — 2-D point sets to diffuse: the cow, a few classics, drawings and images.
 *
 * Every shape is a probability distribution on the plane, drawn from deterministically with
 * rng.h, so a (shape, n, seed) triple gives the same points natively and in the browser.
 * Shapes:
 *   cow     a side-view cow silhouette (a vector outline shipped below as data), filled
 *           uniformly by rejection sampling inside the polygon
 *   moons   two interleaved half circles, Gaussian jitter
 *   spiral  a two-turn spiral, jitter growing a little with the radius
 *   rings   two concentric circles
 *   letter  a filled capital "A" (outer outline with a triangular hole, even-odd rule)
 * Drawings (strokes from a mouse, or closed polygons) and black-on-white images become
 * shapes too. Every shape is normalised by an affine map computed once from a fixed
 * reference draw, so that a shape's points have zero mean and E|x|^2 = 2 (the same second
 * moment as N(0, I) in 2-D); two draws of one shape share that map exactly.
 * Not here: the forward process (points_forward.h) and the quality measure (point_metrics.h).
 * Points are float (n, 2) arrays, row-major (x0, y0, x1, y1, ...). */
#ifndef DS_SHAPES_H
#define DS_SHAPES_H

#include <stdint.h>

#include "rng.h" /* ds_seed_from_double */

typedef enum {
    DS_SHAPE_COW = 0,
    DS_SHAPE_MOONS = 1,
    DS_SHAPE_SPIRAL = 2,
    DS_SHAPE_RINGS = 3,
    DS_SHAPE_LETTER = 4,
    DS_SHAPE_COUNT
} ds_shape_kind;

#define DS_POINTS_MAX (1 << 20) /* the most points any one call makes */

/* "cow", "moons", ... -> kind. Returns DS_OK, or DS_ERR naming the input and the choices. */
int ds_shape_parse(const char *name, ds_shape_kind *kind);
const char *ds_shape_name(ds_shape_kind kind);

/* n points of shape `kind` from a generator seeded with `seed` (a whole number
 * in [0, 2^53]) into out (n, 2). Returns DS_OK or DS_ERR. */
int ds_shape_points(int kind, int n, double seed, float *out);

/* The cow's outline as shipped, in the cow's own units (before normalisation):
 * writes up to cap vertices into xy (cap, 2) and returns the vertex count (or DS_ERR). */
int ds_cow_outline(int cap, float *xy);

/* a drawing as a point set. xy (V, 2) holds the vertices of S strokes one after
 * another, stroke s having lens[s] >= 1 vertices (sum = V). mode 0: ink — points uniform
 * along the strokes (by length) spread uniformly over a pen of diameter `width`; mode 1:
 * filled — each stroke is a closed polygon (at least 3 vertices) and points are uniform
 * inside the union, even-odd rule (a stroke inside another makes a hole). Coordinates are
 * any finite units (y up); the result is normalised like every shape. Returns DS_OK/DS_ERR. */
int ds_drawing_points(const float *xy, const int *lens, int S, int mode, double width, int n,
                                double seed, float *out);

/* a grey image (h, w) uint8, row-major, top row first, as a point set: pixels
 * darker than `threshold` (1..255) are ink; points are uniform over the ink (pixel chosen
 * uniformly, position uniform inside it), y pointing up, normalised exactly by the ink's
 * moments. Returns DS_OK, or DS_ERR if there is no ink or an argument is bad. */
int ds_image_points(const uint8_t *grey, int w, int h, int threshold, int n, double seed, float *out);

/* Parses a point file: one "x y" (or "x,y") pair per line, '#' starts a comment, blank lines
 * ignored. On success *xy (n, 2) is malloc'ed (caller frees) and *n set. Values must be finite;
 * the error names the line. Returns DS_OK or DS_ERR. */
int ds_points_parse(const char *text, float **xy, int *n);

/* Parses a drawing: the same "x y" lines, strokes separated by one or more blank lines.
 * *xy (V, 2) and *lens (S) are malloc'ed (caller frees). Returns DS_OK or DS_ERR. */
int ds_drawing_parse(const char *text, float **xy, int **lens, int *S);

/* Zero mean and E|x|^2 = 2 for the given set, in place (used for files of raw points).
 * Returns DS_OK, or DS_ERR if n < 2 or all points coincide. */
int ds_points_normalise(float *xy, int n);

#endif
