/* test_shapes.c — point-set shapes, drawings, images, parsers, the forward process on points
 * and the quality measures, against properties that follow from their definitions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "point_metrics.h"
#include "points_forward.h"
#include "schedule.h"
#include "shapes.h"

#define N 4000
static float a[2 * N], b[2 * N];

static void moments(const float *p, int n, double *mx, double *my, double *m2) {
    *mx = *my = *m2 = 0;
    for (int i = 0; i < n; i++) { *mx += p[2 * i]; *my += p[2 * i + 1]; }
    *mx /= n;
    *my /= n;
    for (int i = 0; i < n; i++) *m2 += pow(p[2 * i] - *mx, 2) + pow(p[2 * i + 1] - *my, 2);
    *m2 /= n;
}

/* 1 if segments p1p2 and p3p4 cross properly */
static int segments_cross(const float *p1, const float *p2, const float *p3, const float *p4) {
    double d1 = (p4[0] - p3[0]) * (p1[1] - p3[1]) - (p4[1] - p3[1]) * (p1[0] - p3[0]);
    double d2 = (p4[0] - p3[0]) * (p2[1] - p3[1]) - (p4[1] - p3[1]) * (p2[0] - p3[0]);
    double d3 = (p2[0] - p1[0]) * (p3[1] - p1[1]) - (p2[1] - p1[1]) * (p3[0] - p1[0]);
    double d4 = (p2[0] - p1[0]) * (p4[1] - p1[1]) - (p2[1] - p1[1]) * (p4[0] - p1[0]);
    return ((d1 > 0) != (d2 > 0)) && ((d3 > 0) != (d4 > 0)) && d1 * d2 != 0 && d3 * d4 != 0;
}

static void test_shapes(void) {
    for (int k = 0; k < DS_SHAPE_COUNT; k++) {
        const char *name = ds_shape_name((ds_shape_kind)k);
        ds_shape_kind parsed;
        CHECK(ds_shape_parse(name, &parsed) == DS_OK && (int)parsed == k, "%s parses back", name);
        CHECK(ds_shape_points(k, N, 3, a) == DS_OK, "%s: %s", name, ds_last_error());
        CHECK(ds_shape_points(k, N, 3, b) == DS_OK, "%s again", name);
        CHECK(memcmp(a, b, sizeof a) == 0, "%s: the same seed gives the same points", name);
        CHECK(ds_shape_points(k, N, 4, b) == DS_OK && memcmp(a, b, sizeof a) != 0, "%s: another seed, other points", name);
        /* normalised by the fixed reference draw: any large draw has mean ~0, E|x|^2 ~2 */
        double mx, my, m2;
        moments(a, N, &mx, &my, &m2);
        CHECK(fabs(mx) < 0.06 && fabs(my) < 0.06, "%s: mean (%g, %g) should be ~0", name, mx, my);
        CHECK(fabs(m2 - 2.0) < 0.12, "%s: E|x - mean|^2 = %g should be ~2", name, m2);
        /* a prefix of a draw is the smaller draw: n does not change the stream */
        float small[20];
        CHECK(ds_shape_points(k, 10, 3, small) == DS_OK && memcmp(small, a, sizeof small) == 0, "%s: prefix stable", name);
    }
    ds_shape_kind kind;
    CHECK(ds_shape_parse("horse", &kind) == DS_ERR && strstr(ds_last_error(), "horse"), "unknown shape named");
    CHECK(ds_shape_points(DS_SHAPE_COUNT, 10, 1, a) == DS_ERR, "bad kind refused");
    CHECK(ds_shape_points(0, 0, 1, a) == DS_ERR, "n = 0 refused");
    CHECK(ds_shape_points(0, 10, -1, a) == DS_ERR && strstr(ds_last_error(), "seed"), "negative seed refused");
    CHECK(ds_shape_points(0, 10, 1.5, a) == DS_ERR, "fractional seed refused");
    CHECK(ds_shape_points(0, 10, NAN, a) == DS_ERR, "NaN seed refused");
    CHECK(ds_shape_points(0, 10, 1, NULL) == DS_ERR, "null output refused");
}

static void test_cow(void) {
    float outline[2 * 400];
    int V = ds_cow_outline(400, outline);
    CHECK(V >= 60 && V <= 150, "cow outline has %d vertices (want 60..150)", V);
    if (V < 3) return;
    int crossings = 0;
    for (int i = 0; i < V; i++)
        for (int j = i + 2; j < V; j++) {
            if (i == 0 && j == V - 1) continue; /* neighbours through the closing edge */
            crossings += segments_cross(outline + 2 * i, outline + 2 * ((i + 1) % V), outline + 2 * j, outline + 2 * ((j + 1) % V));
        }
    CHECK(crossings == 0, "the cow outline is a simple polygon (%d edge crossings)", crossings);
    double area = 0;
    for (int i = 0; i < V; i++) {
        const float *p = outline + 2 * i, *q = outline + 2 * ((i + 1) % V);
        area += p[0] * q[1] - q[0] * p[1];
    }
    CHECK(fabs(area) / 2 > 1500, "the cow encloses %g square units", fabs(area) / 2);
    /* side view: wider than tall, and legs: the bottom fifth of the cow is mostly empty
     * between the legs, so it holds far fewer points than the top fifth */
    CHECK(ds_shape_points(DS_SHAPE_COW, N, 9, a) == DS_OK, "cow points");
    float lo[2] = {1e9f, 1e9f}, hi[2] = {-1e9f, -1e9f};
    for (int i = 0; i < N; i++)
        for (int d = 0; d < 2; d++) { lo[d] = fminf(lo[d], a[2 * i + d]); hi[d] = fmaxf(hi[d], a[2 * i + d]); }
    CHECK(hi[0] - lo[0] > 1.4f * (hi[1] - lo[1]), "cow is wider than tall (%g x %g)", hi[0] - lo[0], hi[1] - lo[1]);
    int bottom = 0, middle = 0;
    for (int i = 0; i < N; i++) {
        float y = (a[2 * i + 1] - lo[1]) / (hi[1] - lo[1]);
        bottom += y < 0.2f;
        middle += y > 0.5f && y < 0.7f;
    }
    CHECK(bottom * 2 < middle, "legs: %d points in the bottom fifth vs %d in the body band", bottom, middle);
    CHECK(ds_cow_outline(10, outline) == DS_ERR, "a too small outline buffer is refused");
}

static void test_drawings(void) {
    /* a unit square with a square hole: filled mode puts nothing in the hole */
    const float sq[] = {0, 0, 4, 0, 4, 4, 0, 4, 1, 1, 3, 1, 3, 3, 1, 3};
    const int rings[] = {4, 4};
    CHECK(ds_drawing_points(sq, rings, 2, 1, 0, N, 5, a) == DS_OK, "filled drawing: %s", ds_last_error());
    float m = 0;
    for (int i = 0; i < 2 * N; i++) m = fmaxf(m, fabsf(a[i]));
    int in_hole = 0;
    for (int i = 0; i < N; i++) in_hole += fabsf(a[2 * i]) < 0.47f * m && fabsf(a[2 * i + 1]) < 0.47f * m;
    CHECK(in_hole == 0, "%d points fell in the hole", in_hole);
    CHECK(m > 0.9f && m < 2.0f, "normalised extent %g", m);

    /* ink mode: a horizontal line of length 10 with a pen of width 1 */
    const float line[] = {0, 0, 10, 0};
    const int one[] = {2};
    CHECK(ds_drawing_points(line, one, 1, 0, 1.0, N, 5, a) == DS_OK, "ink drawing: %s", ds_last_error());
    float xlo = 1e9f, xhi = -1e9f, ylo = 1e9f, yhi = -1e9f;
    for (int i = 0; i < N; i++) {
        xlo = fminf(xlo, a[2 * i]); xhi = fmaxf(xhi, a[2 * i]);
        ylo = fminf(ylo, a[2 * i + 1]); yhi = fmaxf(yhi, a[2 * i + 1]);
    }
    float ratio = (yhi - ylo) / (xhi - xlo);
    CHECK(ratio <= 0.1f && ratio > 0.08f, "pen width / stroke extent = %g, want 1/11..1/10", ratio);

    /* two strokes of equal length get equal ink; a lone vertex is a dot */
    const float two[] = {0, 0, 1, 0, 0, 5, 1, 5, 20, 20};
    const int lens[] = {2, 2, 1};
    CHECK(ds_drawing_points(two, lens, 3, 0, 0.2, N, 6, a) == DS_OK, "strokes + dot: %s", ds_last_error());
    int top = 0, dot = 0;
    for (int i = 0; i < N; i++) { top += a[2 * i + 1] > 0 && a[2 * i] < 0.5f; dot += a[2 * i] > 0.5f; }
    CHECK(dot > N / 50 && dot < N / 10, "the dot got %d points (its weight is the pen width, 0.2 of 2.2)", dot);

    CHECK(ds_drawing_points(sq, rings, 2, 1, 0, 10, 1, NULL) == DS_ERR, "null output refused");
    const float bad[] = {0, 0, NAN, 1, 2, 2};
    const int three[] = {3};
    CHECK(ds_drawing_points(bad, three, 1, 1, 0, 10, 1, a) == DS_ERR && strstr(ds_last_error(), "not finite"), "NaN vertex refused");
    const int two_v[] = {2};
    CHECK(ds_drawing_points(line, two_v, 1, 1, 0, 10, 1, a) == DS_ERR, "a 2-vertex polygon is refused");
    const float flat[] = {0, 0, 1, 1, 2, 2};
    CHECK(ds_drawing_points(flat, three, 1, 1, 0, 10, 1, a) == DS_ERR, "a zero-area polygon is refused");
    CHECK(ds_drawing_points(line, one, 1, 2, 0, 10, 1, a) == DS_ERR, "bad mode refused");
}

static void test_image(void) {
    uint8_t img[8 * 6];
    memset(img, 255, sizeof img);
    /* a 2 x 2 dark block at columns 2..3, rows 1..2 */
    img[1 * 8 + 2] = img[1 * 8 + 3] = img[2 * 8 + 2] = img[2 * 8 + 3] = 0;
    CHECK(ds_image_points(img, 8, 6, 128, N, 2, a) == DS_OK, "image: %s", ds_last_error());
    /* centres at +-0.5, jitter in the pixel: E|x|^2 = 0.5 + 1/6, so the block spans +-sqrt(3) */
    double mx, my, m2, lim = sqrt(3.0) + 1e-5;
    int outside = 0;
    for (int i = 0; i < 2 * N; i++) outside += fabs(a[i]) > lim;
    CHECK(outside == 0, "%d coordinates outside the block", outside);
    moments(a, N, &mx, &my, &m2);
    CHECK(fabs(mx) < 0.05 && fabs(my) < 0.05 && fabs(m2 - 2) < 0.08, "image moments mean (%g, %g), E|x|^2 %g", mx, my, m2);
    /* y points up: darken one more pixel at the top-left; it must show up at y > 0 */
    img[0] = 0;
    CHECK(ds_image_points(img, 8, 6, 128, N, 2, a) == DS_OK, "image 2");
    int up_left = 0;
    for (int i = 0; i < N; i++) up_left += a[2 * i] < -0.8f && a[2 * i + 1] > 0.5f;
    CHECK(up_left > N / 10, "the top-left pixel's points are up and left (%d)", up_left);
    memset(img, 255, sizeof img);
    CHECK(ds_image_points(img, 8, 6, 128, 10, 1, a) == DS_ERR && strstr(ds_last_error(), "no pixel"), "blank image refused");
    CHECK(ds_image_points(img, 8, 6, 0, 10, 1, a) == DS_ERR, "threshold 0 refused");
    CHECK(ds_image_points(NULL, 8, 6, 128, 10, 1, a) == DS_ERR, "null image refused");
}

static void test_parsers(void) {
    float *xy = NULL;
    int *lens = NULL, n = 0, S = 0;
    CHECK(ds_points_parse("# header\n1 2\n3,4\n  -5.5e0\t6 # comment\n\n", &xy, &n) == DS_OK && n == 3, "parse: %s", ds_last_error());
    if (xy && n == 3) CHECK(xy[0] == 1 && xy[3] == 4 && xy[4] == -5.5f && xy[5] == 6, "parsed values");
    free(xy);
    xy = NULL;
    CHECK(ds_points_parse("1 2\n3 x\n", &xy, &n) == DS_ERR && strstr(ds_last_error(), "line 2"), "bad line named");
    CHECK(ds_points_parse("1 2 3\n", &xy, &n) == DS_ERR, "three numbers refused");
    CHECK(ds_points_parse("1 nan\n", &xy, &n) == DS_ERR, "NaN refused");
    CHECK(ds_points_parse("1e99 0\n", &xy, &n) == DS_ERR, "out-of-range refused");
    CHECK(ds_points_parse("# nothing\n\n", &xy, &n) == DS_ERR && strstr(ds_last_error(), "no points"), "empty refused");
    CHECK(ds_drawing_parse("0 0\n1 0\n1 1\n\n\n5 5\n# a comment keeps the stroke going\n6 6\n\n7 7\n", &xy, &lens, &S) == DS_OK,
          "drawing parse: %s", ds_last_error());
    CHECK(S == 3 && lens[0] == 3 && lens[1] == 2 && lens[2] == 1, "strokes split at blank lines (S = %d)", S);
    free(xy);
    free(lens);
    float p[] = {1, 1, 3, 3};
    CHECK(ds_points_normalise(p, 2) == DS_OK && p[0] == -1 && p[3] == 1, "normalise two points to (-1,-1), (1,1)");
    float same[] = {2, 2, 2, 2};
    CHECK(ds_points_normalise(same, 2) == DS_ERR, "coincident points refused");
}

static void test_forward(void) {
    static ds_schedule s;
    ds_schedule_init(&s, DS_SCHEDULE_COSINE, 1000);
    CHECK(ds_shape_points(DS_SHAPE_MOONS, N, 1, a) == DS_OK, "moons");
    static float eps[2 * N], xt[2 * N], traj[2 * 1001];
    CHECK(ds_points_noise(N, 7, eps) == DS_OK, "noise");
    CHECK(ds_forward_points(1, 1000, 0, a, eps, N, xt) == DS_OK && memcmp(xt, a, sizeof a) == 0, "t = 0 is x0");
    CHECK(ds_forward_points(1, 1000, 400, a, eps, N, xt) == DS_OK, "t = 400");
    double worst = 0;
    for (int i = 0; i < 2 * N; i++)
        worst = fmax(worst, fabs(xt[i] - (s.sqrt_alpha_bar[399] * a[i] + s.sqrt_one_minus_alpha_bar[399] * eps[i])));
    CHECK(worst < 1e-6, "x_t = sqrt(abar) x0 + sqrt(1-abar) eps (max diff %g)", worst);
    CHECK(ds_forward_trajectory(1, 1000, a + 10, eps + 10, traj) == DS_OK, "trajectory");
    CHECK(traj[0] == a[10] && traj[1] == a[11] && traj[800] == xt[10] && traj[801] == xt[11], "trajectory passes through x0 and x_400");
    /* at t = T the marginal is (almost) N(0, I): density at the origin ~ 1/(2 pi) */
    const int G = 64;
    static float dens[64 * 64];
    CHECK(ds_forward_density(1, 1000, 1000, a, N, -4, 4, G, dens) == DS_OK, "density: %s", ds_last_error());
    double total = 0, cell = 8.0 / G;
    for (int i = 0; i < G * G; i++) total += dens[i] * cell * cell;
    CHECK(fabs(total - 1) < 0.01, "density integrates to %g over [-4, 4]^2", total);
    double centre = 0.25 * (dens[31 * G + 31] + dens[31 * G + 32] + dens[32 * G + 31] + dens[32 * G + 32]);
    CHECK(fabs(centre - 1 / (2 * 3.14159265358979)) < 0.008, "density at the origin %g vs 1/(2 pi)", centre);
    /* at t = 0 the moons' mass is where the points are: row 0 is the top (y = hi) */
    CHECK(ds_forward_density(1, 1000, 0, a, N, -3, 3, G, dens) == DS_OK, "density t=0");
    double total0 = 0, top = 0;
    for (int r = 0; r < G; r++)
        for (int c = 0; c < G; c++) { total0 += dens[r * G + c]; if (r < G / 2) top += dens[r * G + c]; }
    int upper = 0;
    for (int i = 0; i < N; i++) upper += a[2 * i + 1] > 0;
    CHECK(fabs(top / total0 - (double)upper / N) < 0.03, "upper-half mass %g vs fraction of points %g", top / total0, (double)upper / N);
    CHECK(ds_forward_points(1, 1000, 1001, a, eps, N, xt) == DS_ERR, "t > T refused");
    CHECK(ds_forward_points(3, 1000, 1, a, eps, N, xt) == DS_ERR, "bad schedule refused");
    CHECK(ds_forward_density(1, 1000, 10, a, N, 1, -1, G, dens) == DS_ERR, "empty grid refused");
    a[5] = NAN;
    CHECK(ds_forward_points(1, 1000, 10, a, eps, N, xt) == DS_ERR && strstr(ds_last_error(), "point 2"), "NaN point named");
}

static void test_metrics(void) {
    double q[2], f[2];
    CHECK(ds_shape_points(DS_SHAPE_COW, 1000, 1, a) == DS_OK && ds_shape_points(DS_SHAPE_COW, 1000, 2, b) == DS_OK, "cows");
    CHECK(ds_chamfer(a, 1000, a, 1000) == 0, "a set is at Chamfer distance 0 from itself");
    CHECK(ds_point_floor(DS_SHAPE_COW, 1000, 1, f) == DS_OK, "floor: %s", ds_last_error());
    CHECK(ds_point_quality(a, 1000, b, 1000, q) == DS_OK && q[0] == f[0] && q[1] == f[1], "floor = quality of seeds 1 and 2");
    CHECK(f[0] > 0.02 && f[0] < 0.08, "cow real-vs-real Chamfer %g", f[0]);
    CHECK(fabs(f[1]) < 2e-3, "cow real-vs-real MMD^2 %g ~ 0", f[1]);
    /* a shifted cow is clearly worse (Chamfer only at the outline, MMD everywhere), noise much worse */
    for (int i = 0; i < 1000; i++) b[2 * i] += 0.3f;
    CHECK(ds_point_quality(b, 1000, a, 1000, q) == DS_OK && q[0] > 1.3 * f[0] && q[0] < 0.3 && q[1] > 0.003,
          "shifted by 0.3: Chamfer %g, MMD^2 %g", q[0], q[1]);
    CHECK(ds_points_noise(1000, 3, b) == DS_OK && ds_point_quality(b, 1000, a, 1000, q) == DS_OK && q[0] > 2.5 * f[0] && q[1] > 0.01,
          "Gaussian noise vs cow: Chamfer %g, MMD^2 %g", q[0], q[1]);
    CHECK(ds_point_quality(a, 1, b, 1000, q) == DS_ERR, "one point refused");
    b[0] = INFINITY;
    CHECK(ds_point_quality(a, 1000, b, 1000, q) == DS_ERR, "inf refused");
}

int main(void) {
    test_shapes();
    test_cow();
    test_drawings();
    test_image();
    test_parsers();
    test_forward();
    test_metrics();
    return check_summary("test_shapes");
}
