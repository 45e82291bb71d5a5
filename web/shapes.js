// shapes.js — what the 2-D point widgets (<diffuscope-forward>, <diffuscope-points>) share:
// the point sets of src/shapes.h by name, in C's order (a call takes the index), and the
// square of the plane their plots show.
// Not here: drawing (plot.js), making the points (C, in the worker).
export const SHAPES = ['cow', 'moons', 'spiral', 'rings', 'letter'];
export const EXTENT = 3.5; // the plots show [-EXTENT, EXTENT]^2
