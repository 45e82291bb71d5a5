/* shapes.c — the shipped shapes, drawings and images as normalised point sets (see shapes.h). */
#include "shapes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detmath.h"
#include "error.h"
#include "rng.h"

static const double PI = 3.14159265358979323846;

/* The cow, facing left with its head lowered, in its own units (x 5..93, y 0..52, y up),
 * traced clockwise from the top of the neck: back, tail with its tuft, rear legs, udder with
 * teats, belly, front legs, chest, dewlap, muzzle, face, ear, horns, second ear. */
static const float COW[][2] = {
    {31, 46.5f}, {38, 47}, {45, 47.5f}, {55, 47.5f}, {65, 47}, {75, 47.5f}, {82, 47}, {84, 46},
    /* tail */
    {86, 45}, {88.5f, 45.5f}, {90, 40}, {90.5f, 34}, {91, 27}, {91, 23}, {93, 21}, {92.5f, 16.5f},
    {90, 15.5f}, {87.5f, 16.5f}, {87, 21}, {88.5f, 23}, {88.5f, 27}, {88, 34}, {87.5f, 40}, {86.5f, 42},
    /* rump and rear legs */
    {86, 37}, {85.5f, 31}, {84.5f, 26}, {83.5f, 20}, {83, 12}, {83.5f, 6}, {84.5f, 2}, {84.5f, 0},
    {78.5f, 0}, {79, 2}, {78.5f, 6}, {78, 12}, {77.5f, 17}, {76, 18.5f}, {74.5f, 17}, {74, 12},
    {74, 6}, {74.5f, 2}, {74.5f, 0}, {68.5f, 0}, {69, 2}, {69.5f, 6}, {69.5f, 12}, {69, 18},
    /* udder and teats */
    {68, 20}, {67.5f, 18}, {67, 16}, {66.6f, 13.5f}, {65.4f, 13.5f}, {65, 16}, {63.8f, 16},
    {63.4f, 13.5f}, {62.2f, 13.5f}, {61.8f, 16.5f}, {60.5f, 18.5f}, {59, 20.5f},
    /* belly and front legs */
    {52, 21.5f}, {44, 21.5f}, {41.5f, 20}, {41, 12}, {40.5f, 6}, {41, 2}, {41, 0}, {35.5f, 0},
    {36, 2}, {36.5f, 6}, {36.5f, 12}, {36, 17}, {34.5f, 18.5f}, {33, 17}, {32.5f, 12}, {32.5f, 6},
    {33, 2}, {33, 0}, {27.5f, 0}, {28, 2}, {28.5f, 6}, {28.5f, 12}, {28, 19},
    /* chest, dewlap, jaw, muzzle, face */
    {27, 23}, {24.5f, 25}, {21, 24}, {17, 21.5f}, {13, 18.5f}, {9.5f, 16.5f}, {6.5f, 16.5f},
    {4.5f, 18.5f}, {4, 22}, {5, 25.5f}, {7, 29.5f}, {9.5f, 34}, {12, 38}, {13.5f, 40.5f},
    /* ear, horn, poll, horn, second ear, neck */
    {11, 41.5f}, {7.5f, 42}, {6, 43.5f}, {8, 45.5f}, {12.5f, 45}, {15, 44}, {15, 47}, {13.5f, 50},
    {14.5f, 52}, {17, 50}, {18.5f, 46}, {20.5f, 46}, {22, 50}, {24.5f, 52}, {25, 50}, {23.5f, 46},
    {25.5f, 45.5f}, {28.5f, 47.5f}, {29.5f, 46.5f}, {27.5f, 44.5f},
};
#define COW_N ((int)(sizeof COW / sizeof COW[0]))

/* A capital "A": outer outline (8 vertices) then the triangular counter (3), even-odd. */
static const float LETTER_A[][2] = {
    {0, 0}, {2, 0}, {2.8f, 2.5f}, {5.2f, 2.5f}, {6, 0}, {8, 0}, {5, 10}, {3, 10},
    {3.38f, 4.3f}, {4.62f, 4.3f}, {4, 6.25f},
};
static const int LETTER_A_RINGS[] = {8, 3};

static const char *const SHAPE_NAMES[DS_SHAPE_COUNT] = {"cow", "moons", "spiral", "rings", "letter"};

int ds_shape_parse(const char *name, ds_shape_kind *kind) {
    for (int k = 0; k < DS_SHAPE_COUNT; k++)
        if (name && strcmp(name, SHAPE_NAMES[k]) == 0) {
            *kind = (ds_shape_kind)k;
            return DS_OK;
        }
    return ds_fail("unknown shape '%s' (expected cow, moons, spiral, rings or letter)", name ? name : "(null)");
}

const char *ds_shape_name(ds_shape_kind kind) {
    return kind >= 0 && kind < DS_SHAPE_COUNT ? SHAPE_NAMES[kind] : "unknown";
}

/* ---- raw samplers (shape units, before normalisation) ---- */

/* A set of polygons ("rings") filled under the even-odd rule. */
typedef struct {
    const float *xy;   /* (V, 2) vertices of all rings, one after another */
    const int *rings;  /* (R) vertex count of each ring */
    int R;
    float lo[2], hi[2]; /* bounding box */
} polygon_set;

static int polygon_contains(const polygon_set *p, double x, double y) {
    int inside = 0;
    const float *v = p->xy;
    for (int r = 0; r < p->R; r++) {
        int n = p->rings[r];
        for (int i = 0, j = n - 1; i < n; j = i++) {
            double xi = v[2 * i], yi = v[2 * i + 1], xj = v[2 * j], yj = v[2 * j + 1];
            if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
        }
        v += 2 * n;
    }
    return inside;
}

static void polygon_bounds(polygon_set *p) {
    int V = 0;
    for (int r = 0; r < p->R; r++) V += p->rings[r];
    p->lo[0] = p->hi[0] = p->xy[0];
    p->lo[1] = p->hi[1] = p->xy[1];
    for (int i = 1; i < V; i++)
        for (int d = 0; d < 2; d++) {
            float c = p->xy[2 * i + d];
            if (c < p->lo[d]) p->lo[d] = c;
            if (c > p->hi[d]) p->hi[d] = c;
        }
}

/* Rejection sampling in the bounding box; gives up (DS_ERR) if the polygons enclose
 * (almost) nothing, rather than looping for ever. */
static int sample_polygon(const polygon_set *p, ds_rng *rng, int n, float *out) {
    long tries = 0, limit = 2000L * n + 100000;
    double w = p->hi[0] - p->lo[0], hgt = p->hi[1] - p->lo[1];
    for (int i = 0; i < n;) {
        if (++tries > limit) return ds_fail("the polygon encloses (almost) no area: nothing to fill");
        double x = p->lo[0] + w * ds_rng_uniform(rng), y = p->lo[1] + hgt * ds_rng_uniform(rng);
        if (!polygon_contains(p, x, y)) continue;
        out[2 * i] = (float)x;
        out[2 * i + 1] = (float)y;
        i++;
    }
    return DS_OK;
}

static void sample_moons(ds_rng *rng, int n, float *out) {
    for (int i = 0; i < n; i++) {
        double th = PI * ds_rng_uniform(rng), x, y;
        if (ds_rng_uniform(rng) < 0.5) { x = ds_cos(th); y = ds_sin(th); }
        else { x = 1.0 - ds_cos(th); y = 0.5 - ds_sin(th); }
        out[2 * i] = (float)(x + 0.06 * ds_rng_normal(rng));
        out[2 * i + 1] = (float)(y + 0.06 * ds_rng_normal(rng));
    }
}

/* r = theta over 1.5 turns; theta drawn so points are roughly uniform along the arc
 * (arc length grows like theta^2, so theta = sqrt of a uniform between the squared ends). */
static void sample_spiral(ds_rng *rng, int n, float *out) {
    const double a = 1.5 * PI, b = 4.5 * PI;
    for (int i = 0; i < n; i++) {
        double th = sqrt(a * a + (b * b - a * a) * ds_rng_uniform(rng));
        out[2 * i] = (float)(th * ds_cos(th) + 0.3 * ds_rng_normal(rng));
        out[2 * i + 1] = (float)(th * ds_sin(th) + 0.3 * ds_rng_normal(rng));
    }
}

/* Two circles, radii 1 and 0.5, points split 2:1 by circumference so the ink is even. */
static void sample_rings(ds_rng *rng, int n, float *out) {
    for (int i = 0; i < n; i++) {
        double r = ds_rng_uniform(rng) < 2.0 / 3.0 ? 1.0 : 0.5, th = 2 * PI * ds_rng_uniform(rng);
        out[2 * i] = (float)(r * ds_cos(th) + 0.04 * ds_rng_normal(rng));
        out[2 * i + 1] = (float)(r * ds_sin(th) + 0.04 * ds_rng_normal(rng));
    }
}

/* Ink along strokes: a segment chosen by length (a lone vertex counts as a dot of length
 * `width`), a point uniform along it, plus an offset uniform in the pen's disk. */
typedef struct {
    const float *xy;
    double width;
    double *cum;            /* (V) cumulative weight of the pieces, one per vertex */
    unsigned char *is_dot;  /* (V) 1 where the vertex is a one-vertex stroke */
    int V;
} ink_set;

static void sample_ink(const ink_set *k, ds_rng *rng, int n, float *out) {
    double total = k->cum[k->V - 1];
    for (int i = 0; i < n; i++) {
        double u = total * ds_rng_uniform(rng);
        int lo = 0, hi = k->V - 1; /* first piece whose cumulative weight exceeds u */
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (k->cum[mid] > u) hi = mid; else lo = mid + 1;
        }
        /* piece `lo` is a dot at vertex lo, or the segment from vertex lo to lo + 1 */
        double s = ds_rng_uniform(rng), x = k->xy[2 * lo], y = k->xy[2 * lo + 1];
        if (!k->is_dot[lo]) {
            x += s * (k->xy[2 * lo + 2] - x);
            y += s * (k->xy[2 * lo + 3] - y);
        }
        double ox, oy;
        do {
            ox = 2 * ds_rng_uniform(rng) - 1;
            oy = 2 * ds_rng_uniform(rng) - 1;
        } while (ox * ox + oy * oy > 1);
        out[2 * i] = (float)(x + 0.5 * k->width * ox);
        out[2 * i + 1] = (float)(y + 0.5 * k->width * oy);
    }
}

/* ---- normalisation ---- */

typedef struct {
    double mean[2], scale;
} affine_map;

static int map_from_points(const float *xy, int n, affine_map *m) {
    double mx = 0, my = 0, ss = 0;
    for (int i = 0; i < n; i++) { mx += xy[2 * i]; my += xy[2 * i + 1]; }
    mx /= n;
    my /= n;
    for (int i = 0; i < n; i++) {
        double dx = xy[2 * i] - mx, dy = xy[2 * i + 1] - my;
        ss += dx * dx + dy * dy;
    }
    ss /= n;
    if (!(ss > 1e-20) || !isfinite(ss)) return ds_fail("the points all coincide (or are not finite): nothing to normalise");
    m->mean[0] = mx;
    m->mean[1] = my;
    m->scale = sqrt(2.0 / ss);
    return DS_OK;
}

static void map_apply(const affine_map *m, float *xy, int n) {
    for (int i = 0; i < n; i++) {
        xy[2 * i] = (float)((xy[2 * i] - m->mean[0]) * m->scale);
        xy[2 * i + 1] = (float)((xy[2 * i + 1] - m->mean[1]) * m->scale);
    }
}

int ds_points_normalise(float *xy, int n) {
    if (!xy) return ds_fail("normalise: null points");
    if (n < 2) return ds_fail("normalise: need at least 2 points (got %d)", n);
    affine_map m = {{0, 0}, 1};
    if (map_from_points(xy, n, &m)) return DS_ERR;
    map_apply(&m, xy, n);
    return DS_OK;
}

#define REF_N 8192
#define REF_SEED 0x5eedc0ffeeULL

/* One raw sampler for every kind of source, so the reference draw and the real draw go
 * through the same code. */
typedef struct {
    int kind; /* ds_shape_kind, or -1 polygon set, -2 ink */
    const polygon_set *poly;
    const ink_set *ink;
} source;

static int sample_source(const source *s, ds_rng *rng, int n, float *out) {
    switch (s->kind) {
    case DS_SHAPE_MOONS: sample_moons(rng, n, out); return DS_OK;
    case DS_SHAPE_SPIRAL: sample_spiral(rng, n, out); return DS_OK;
    case DS_SHAPE_RINGS: sample_rings(rng, n, out); return DS_OK;
    case -2: sample_ink(s->ink, rng, n, out); return DS_OK;
    default: return sample_polygon(s->poly, rng, n, out);
    }
}

/* Draws REF_N points with the fixed reference seed to fix the map, then n with `seed`. */
static int sample_normalised(const source *s, affine_map *cached, int *have_cache, uint64_t seed, int n, float *out) {
    affine_map m = {{0, 0}, 1};
    if (have_cache && *have_cache) {
        m = *cached;
    } else {
        float *ref = malloc(sizeof(float) * 2 * REF_N);
        if (!ref) return ds_fail("shapes: out of memory for the reference draw");
        ds_rng r;
        ds_rng_seed(&r, REF_SEED);
        int rc = sample_source(s, &r, REF_N, ref);
        if (rc == DS_OK) rc = map_from_points(ref, REF_N, &m);
        free(ref);
        if (rc) return DS_ERR;
        if (have_cache) { *cached = m; *have_cache = 1; }
    }
    ds_rng r;
    ds_rng_seed(&r, seed);
    if (sample_source(s, &r, n, out)) return DS_ERR;
    map_apply(&m, out, n);
    return DS_OK;
}

static int check_output(int n, const float *out) {
    if (ds_check_range_int(n, 1, DS_POINTS_MAX, "number of points")) return DS_ERR;
    if (!out) return ds_fail("null output buffer");
    return DS_OK;
}

int ds_shape_points(int kind, int n, double seed, float *out) {
    static affine_map maps[DS_SHAPE_COUNT];
    static int have_map[DS_SHAPE_COUNT];
    uint64_t s = 0;
    if (kind < 0 || kind >= DS_SHAPE_COUNT)
        return ds_fail("unknown shape kind %d (expected 0..%d: cow, moons, spiral, rings, letter)", kind, DS_SHAPE_COUNT - 1);
    if (check_output(n, out) || ds_seed_from_double(seed, &s)) return DS_ERR;
    static const int cow_rings[1] = {COW_N};
    polygon_set poly;
    if (kind == DS_SHAPE_COW) poly = (polygon_set){&COW[0][0], cow_rings, 1, {0, 0}, {0, 0}};
    else poly = (polygon_set){&LETTER_A[0][0], LETTER_A_RINGS, 2, {0, 0}, {0, 0}};
    polygon_bounds(&poly);
    source src = {kind, &poly, NULL};
    return sample_normalised(&src, &maps[kind], &have_map[kind], s, n, out);
}

int ds_cow_outline(int cap, float *xy) {
    if (ds_check_range_int(cap, COW_N, 1 << 20, "outline buffer capacity")) return DS_ERR;
    if (!xy) return ds_fail("cow outline: null output");
    memcpy(xy, COW, sizeof COW);
    return COW_N;
}

int ds_drawing_points(const float *xy, const int *lens, int S, int mode, double width, int n, double seed, float *out) {
    uint64_t s = 0;
    if (!xy || !lens) return ds_fail("drawing: null vertices or stroke lengths");
    if (ds_check_range_int(S, 1, 1 << 16, "number of strokes")) return DS_ERR;
    if (ds_check_range_int(mode, 0, 1, "drawing mode (0 ink, 1 filled)")) return DS_ERR;
    if (check_output(n, out) || ds_seed_from_double(seed, &s)) return DS_ERR;
    long V = 0;
    for (int i = 0; i < S; i++) {
        if (lens[i] < (mode ? 3 : 1) || lens[i] > (1 << 20))
            return ds_fail("drawing: stroke %d has %d vertices (a %s needs %d to 2^20)", i, lens[i],
                           mode ? "filled polygon" : "stroke", mode ? 3 : 1);
        V += lens[i];
    }
    if (V > (1 << 20)) return ds_fail("drawing: too many vertices (%ld > 2^20)", V);
    for (long i = 0; i < 2 * V; i++)
        if (!isfinite(xy[i])) return ds_fail("drawing: vertex %ld has a coordinate that is not finite", i / 2);
    if (mode == 1) {
        polygon_set poly = {xy, lens, S, {0, 0}, {0, 0}};
        polygon_bounds(&poly);
        /* Rejection sampling costs (tries x vertices): measure the filled share of the bounding
         * box first (even-odd, as sampled) and refuse a polygon that fills under 0.5% of it
         * (a hairline or a retraced outline) at once, rather than after millions of tries. */
        ds_rng probe;
        ds_rng_seed(&probe, REF_SEED);
        const int probes = 16384;
        int hits = 0;
        double w = (double)poly.hi[0] - poly.lo[0], hgt = (double)poly.hi[1] - poly.lo[1];
        for (int i = 0; i < probes && w > 0 && hgt > 0; i++)
            hits += polygon_contains(&poly, poly.lo[0] + w * ds_rng_uniform(&probe), poly.lo[1] + hgt * ds_rng_uniform(&probe));
        if (hits < probes / 200)
            return ds_fail("drawing: the polygon encloses (almost) no area (%.2g%% of its bounding box): nothing to fill",
                           100.0 * hits / probes);
        source src = {-1, &poly, NULL};
        return sample_normalised(&src, NULL, NULL, s, n, out);
    }
    if (ds_check_range(width, 0, 1e30, "pen width")) return DS_ERR;
    double *cum = malloc(sizeof(double) * (size_t)V);
    unsigned char *is_dot = calloc((size_t)V, 1);
    if (!cum || !is_dot) { free(cum); free(is_dot); return ds_fail("drawing: out of memory"); }
    double total = 0;
    for (int st = 0, v = 0; st < S; v += lens[st++]) {
        for (int i = 0; i < lens[st]; i++) {
            int k = v + i;
            double piece;
            if (lens[st] == 1) { piece = width; is_dot[k] = 1; } /* a dot */
            else if (i == lens[st] - 1) piece = 0;     /* last vertex starts no segment */
            else piece = hypot(xy[2 * k + 2] - xy[2 * k], xy[2 * k + 3] - xy[2 * k + 1]);
            total += piece;
            cum[k] = total;
        }
    }
    int rc;
    if (!(total > 0)) {
        rc = ds_fail("drawing: the strokes have no length and the pen no width: nothing to sample");
    } else {
        ink_set ink = {xy, width, cum, is_dot, (int)V};
        source src = {-2, NULL, &ink};
        rc = sample_normalised(&src, NULL, NULL, s, n, out);
    }
    free(cum);
    free(is_dot);
    return rc;
}

int ds_image_points(const uint8_t *grey, int w, int h, int threshold, int n, double seed, float *out) {
    uint64_t s = 0;
    if (!grey) return ds_fail("image: null pixels");
    if (ds_check_range_int(w, 1, 1 << 15, "image width") || ds_check_range_int(h, 1, 1 << 15, "image height")) return DS_ERR;
    if (ds_check_range_int(threshold, 1, 255, "ink threshold")) return DS_ERR;
    if (check_output(n, out) || ds_seed_from_double(seed, &s)) return DS_ERR;
    long ink = 0;
    double mx = 0, my = 0;
    for (long i = 0; i < (long)w * h; i++)
        if (grey[i] < threshold) {
            ink++;
            mx += i % w + 0.5;
            my += h - i / w - 0.5;
        }
    if (!ink) return ds_fail("image: no pixel is darker than the threshold %d: nothing to sample", threshold);
    mx /= ink;
    my /= ink;
    int *where = malloc(sizeof(int) * (size_t)ink);
    if (!where) return ds_fail("image: out of memory");
    double ss = 1.0 / 6.0; /* E|jitter|^2 of a uniform offset inside a unit pixel */
    long k = 0;
    double acc = 0;
    for (long i = 0; i < (long)w * h; i++)
        if (grey[i] < threshold) {
            double dx = i % w + 0.5 - mx, dy = h - i / w - 0.5 - my;
            acc += dx * dx + dy * dy;
            where[k++] = (int)i;
        }
    ss += acc / ink;
    double scale = sqrt(2.0 / ss);
    ds_rng r;
    ds_rng_seed(&r, s);
    for (int i = 0; i < n; i++) {
        int p = where[ds_rng_below(&r, (uint32_t)ink)];
        double x = p % w + ds_rng_uniform(&r), y = h - p / w - ds_rng_uniform(&r);
        out[2 * i] = (float)((x - mx) * scale);
        out[2 * i + 1] = (float)((y - my) * scale);
    }
    free(where);
    return DS_OK;
}

/* ---- text formats ---- */

/* Reads one "x y" / "x,y" line into v; 1 if it held a pair, 0 if blank/comment, -1 if bad. */
static int parse_pair(const char *line, const char *end, float v[2]) {
    char buf[256];
    size_t len = (size_t)(end - line);
    if (len >= sizeof buf) return -1;
    memcpy(buf, line, len);
    buf[len] = '\0';
    char *hash = strchr(buf, '#');
    if (hash) *hash = '\0';
    char *p = buf;
    while (*p == ' ' || *p == '\t' || *p == '\r') p++;
    if (!*p) return 0;
    for (int d = 0; d < 2; d++) {
        char *next;
        double x = strtod(p, &next);
        if (next == p || !isfinite(x) || fabs(x) > 1e30) return -1;
        v[d] = (float)x;
        p = next;
        while (*p == ' ' || *p == '\t' || *p == '\r' || (d == 0 && *p == ',')) p++;
    }
    return *p ? -1 : 1;
}

/* Shared by both parsers: collects pairs; a blank line (not a comment) ends a stroke. */
static int parse_lines(const char *text, float **xy, int **lens, int *n_pairs, int *n_strokes) {
    if (!text) return ds_fail("parse: null text");
    int cap = 1024, n = 0, scap = 16, S = 0, in_stroke = 0;
    float *v = malloc(sizeof(float) * 2 * cap);
    int *l = malloc(sizeof(int) * scap);
    if (!v || !l) { free(v); free(l); return ds_fail("parse: out of memory"); }
    int lineno = 0;
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        if (!end) end = line + strlen(line);
        lineno++;
        float pair[2];
        int got = parse_pair(line, end, pair);
        if (got < 0) {
            free(v); free(l);
            return ds_fail("line %d: expected two finite numbers 'x y' (or a # comment)", lineno);
        }
        const char *q = line;
        while (q < end && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
        if (got == 0 && q == end) in_stroke = 0; /* truly blank: the stroke ends */
        if (got == 1) {
            if (n == DS_POINTS_MAX) { free(v); free(l); return ds_fail("too many points (more than %d)", DS_POINTS_MAX); }
            if (n == cap) {
                float *nv = realloc(v, sizeof(float) * 4 * cap);
                if (!nv) { free(v); free(l); return ds_fail("parse: out of memory"); }
                v = nv;
                cap *= 2;
            }
            v[2 * n] = pair[0];
            v[2 * n + 1] = pair[1];
            n++;
            if (!in_stroke) {
                if (S == scap) {
                    int *nl = realloc(l, sizeof(int) * 2 * scap);
                    if (!nl) { free(v); free(l); return ds_fail("parse: out of memory"); }
                    l = nl;
                    scap *= 2;
                }
                l[S++] = 0;
                in_stroke = 1;
            }
            l[S - 1]++;
        }
        line = *end ? end + 1 : end;
    }
    if (!n) { free(v); free(l); return ds_fail("no points found (expected lines of 'x y')"); }
    *xy = v;
    *n_pairs = n;
    if (lens) { *lens = l; *n_strokes = S; }
    else free(l);
    return DS_OK;
}

int ds_points_parse(const char *text, float **xy, int *n) {
    if (!xy || !n) return ds_fail("parse: null output");
    int S;
    return parse_lines(text, xy, NULL, n, &S);
}

int ds_drawing_parse(const char *text, float **xy, int **lens, int *S) {
    if (!xy || !lens || !S) return ds_fail("parse drawing: null output");
    int n;
    return parse_lines(text, xy, lens, &n, S);
}
