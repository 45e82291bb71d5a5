/* figure.h — a small RGB canvas for the CLI's static figures (`diffuscope render ...`).
 *
 * Coordinates are pixels as doubles, origin top-left, y down; a pixel (i, j) covers
 * [i, i+1) x [j, j+1). Everything is anti-aliased by coverage and alpha-blended onto the
 * canvas. Text is ASCII through stb_easy_font (Debian's libstb-dev), scaled up as filled
 * rectangles: scale 1 is about 7 px tall capitals on a 12 px line, 2 is a readable label.
 * A fig_frame maps data coordinates into a plot rectangle. Output: PNG through
 * png_write_atomic. Not here: anything plot-specific (each figure draws its own).
 *
 *   fig_canvas c;
 *   if (fig_canvas_init(&c, 640, 400, FIG_WHITE)) return 1;
 *   fig_frame f = {60, 20, 560, 330, -8, 12, 0, 0.5};
 *   fig_axes(&c, &f, 2, 0.1, FIG_GREY, 1.5);
 *   fig_polyline(&c, xy, n, 2.0, FIG_BLUE);      // xy: (n, 2) pixel coordinates
 *   fig_text(&c, 60, 4, 2, FIG_BLACK, "hello");
 *   int rc = fig_save_png(&c, "out.png");
 *   fig_canvas_free(&c); */
#ifndef DS_FIGURE_H
#define DS_FIGURE_H

typedef struct {
    unsigned char r, g, b;
} fig_color;

#define FIG_WHITE ((fig_color){255, 255, 255})
#define FIG_BLACK ((fig_color){29, 33, 39})
#define FIG_GREY ((fig_color){138, 147, 160})
#define FIG_BLUE ((fig_color){47, 111, 219})   /* --ds-series-1 */
#define FIG_ORANGE ((fig_color){224, 118, 43}) /* --ds-series-2 */
#define FIG_GREEN ((fig_color){42, 157, 98})   /* --ds-series-3 */

typedef struct {
    int w, h;
    unsigned char *rgb; /* (h, w, 3) row-major, one allocation */
} fig_canvas;

/* Allocates a w x h canvas (1..16384 each) filled with background. Returns 0, or -1 after
 * printing an error. */
int fig_canvas_init(fig_canvas *c, int w, int h, fig_color background);
void fig_canvas_free(fig_canvas *c);
void fig_clear(fig_canvas *c, fig_color color);

/* alpha in [0, 1]: 1 paints over, 0.25 tints. */
void fig_fill_rect(fig_canvas *c, double x0, double y0, double x1, double y1, fig_color color, double alpha);
void fig_line(fig_canvas *c, double x0, double y0, double x1, double y1, double width, fig_color color);
/* xy: (n, 2) pixel coordinates */
void fig_polyline(fig_canvas *c, const double *xy, int n, double width, fig_color color);
/* Even-odd filled polygon, xy: (n, 2). For an area under a curve, append the baseline's two
 * end points to the curve's points. */
void fig_fill_polygon(fig_canvas *c, const double *xy, int n, fig_color color, double alpha);

/* Draws text with its top-left corner at (x, y); '\n' starts a new line. Returns the width
 * in pixels of the widest line (fig_text_width measures without drawing). */
double fig_text(fig_canvas *c, double x, double y, double scale, fig_color color, const char *text);
double fig_text_width(const char *text, double scale);
double fig_text_height(double scale); /* of one line */

/* A plot rectangle (pixels) and the data range it shows. */
typedef struct {
    double left, top, width, height;    /* pixels */
    double x_min, x_max, y_min, y_max;  /* data */
} fig_frame;

double fig_px(const fig_frame *f, double x);
double fig_py(const fig_frame *f, double y);
/* The frame's box with ticks and numeric labels every x_tick / y_tick data units (0: none). */
void fig_axes(fig_canvas *c, const fig_frame *f, double x_tick, double y_tick, fig_color color, double text_scale);

/* Writes the canvas as an RGB PNG through png_write_atomic. Returns 0 or -1 (printed). */
int fig_save_png(const fig_canvas *c, const char *path);

#endif
