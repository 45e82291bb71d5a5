// plot.js — the drawing scaffolding every widget shares: a canvas at device resolution, the
// theme colours (diffuscope.css's variables), a plot box (padding around a data area) with
// linear scales, its frame and tick labels, lines, dots, heat maps and greyscale tiles, and
// the number formats of readouts and labels. All sizes are CSS pixels.
// Not here: what a widget plots (web/widgets/*.js), computing anything (C, in the worker).

// A cleared canvas whose backing store is at device resolution; draw in CSS pixels. With `size`
// ({width, height}) the canvas is also given that CSS size (plots that size themselves to
// their content); without it, the CSS size comes from the page (falling back to the canvas's
// own width and height attributes).
// A canvas already at that size keeps its backing store: it is cleared and its context put
// back to the default state (saved once, just after the store was made) instead of being
// reallocated, and its CSS size is not written again (on a cold load of the article, a new
// store per sampler frame and the style writes cost the main thread 80 ms in layouts).
export function hiDpiCanvas(canvas, size) {
  const ratio = window.devicePixelRatio || 1;
  if (size) {
    const w = `${size.width}px`, h = `${size.height}px`;
    if (canvas.style.width !== w) canvas.style.width = w;
    if (canvas.style.height !== h) canvas.style.height = h;
  }
  const width = size ? size.width : canvas.clientWidth || canvas.width;
  const height = size ? size.height : canvas.clientHeight || canvas.height;
  const bw = Math.round(width * ratio), bh = Math.round(height * ratio);
  const ctx = canvas.getContext('2d');
  if (canvas.width === bw && canvas.height === bh && fresh.get(canvas) === ctx) {
    ctx.restore(); // the default state saved below (draws leave their own saves balanced)
    ctx.save();
    ctx.clearRect(0, 0, bw, bh);
  } else {
    canvas.width = bw; // a new store: cleared, the context at its defaults
    canvas.height = bh;
    ctx.save();
    fresh.set(canvas, ctx);
  }
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return { ctx, width, height };
}
const fresh = new WeakMap(); // canvas -> its context, whose default state is on the stack

// The colours of diffuscope.css (light and dark themes), read once per draw from the element
// (a page may override the variables); the fallbacks hold when the stylesheet is missing.
export function theme(el) {
  const style = getComputedStyle(el);
  const v = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
  return {
    bg: v('--ds-bg', '#fff'),
    text: v('--ds-text', '#222'),
    muted: v('--ds-muted', '#5b6470'),
    axis: v('--ds-axis', '#888'),
    accent: v('--ds-accent', '#2f6fdb'),
    series: [v('--ds-series-1', '#2f6fdb'), v('--ds-series-2', '#e0762b'), v('--ds-series-3', '#2a9d62')],
  };
}

export const font = (px = 12) => `${px}px system-ui, sans-serif`;

// Maps a colour like '#2f6fdb' or 'rgb(47, 111, 219)' to [r, g, b].
export function rgbOf(color) {
  const m = color.match(/^#([0-9a-f]{6})$/i);
  if (m) return [0, 2, 4].map((i) => parseInt(m[1].slice(i, i + 2), 16));
  const n = color.match(/\d+(\.\d+)?/g);
  return n ? n.slice(0, 3).map(Number) : [47, 111, 219];
}

// v in [d0, d1] -> [r0, r1]; scale.invert maps back (pointer positions to data).
export function linear(d0, d1, r0, r1) {
  const k = (r1 - r0) / (d1 - d0 || 1);
  const scale = (v) => r0 + (v - d0) * k;
  scale.invert = (p) => d0 + (p - r0) / k;
  return scale;
}

// The data area of a width x height canvas inside pad {l, r, t, b}, showing x in [x0, x1]
// left to right and y in [y0, y1] bottom to top: {left, top, width, height, right, bottom, x, y}
// (and the canvas's own size, for labels that must stay inside it).
export function plotBox(width, height, pad, [x0, x1], [y0, y1]) {
  const w = width - pad.l - pad.r, hgt = height - pad.t - pad.b;
  return {
    left: pad.l, top: pad.t, width: w, height: hgt, right: pad.l + w, bottom: pad.t + hgt,
    canvasWidth: width, canvasHeight: height,
    x: linear(x0, x1, pad.l, pad.l + w), y: linear(y0, y1, pad.t + hgt, pad.t),
  };
}

// The largest centred square of the canvas showing [-extent, extent]^2 (the 2-D point plots).
export function squareBox(width, height, extent) {
  const size = Math.min(width, height), l = (width - size) / 2, t = (height - size) / 2;
  return plotBox(width, height, { l, r: width - l - size, t, b: height - t - size }, [-extent, extent], [-extent, extent]);
}

// The box's outline as a crisp one-pixel line.
export function frame(ctx, box, color) {
  ctx.strokeStyle = color;
  ctx.lineWidth = 1;
  ctx.strokeRect(box.left + 0.5, box.top + 0.5, box.width - 1, box.height - 1);
}

// Tick labels, each [value, text]: x ticks centred under the box (kept inside the canvas),
// y ticks right-aligned left of it; the axis names go under the middle of the x axis and
// at the left edge, half-way up. Uses ctx's current font.
export function ticks(ctx, box, { x = [], y = [], xName, yName }, color) {
  const below = box.bottom + 15;
  ctx.fillStyle = color;
  ctx.textAlign = 'center';
  for (const [v, text] of x) {
    const half = ctx.measureText(text).width / 2;
    ctx.fillText(text, Math.min(Math.max(box.x(v), half), box.canvasWidth - half), below);
  }
  if (xName) ctx.fillText(xName, box.left + box.width / 2, below);
  ctx.textAlign = 'right';
  for (const [v, text] of y) ctx.fillText(text, box.left - 4, box.y(v) + 4);
  ctx.textAlign = 'left';
  if (yName) ctx.fillText(yName, 4, box.top + box.height / 2 + 4);
}

// One stroked line through n vertices (xAt(i), yAt(i)) in the current stroke style.
export function polyline(ctx, n, xAt, yAt) {
  ctx.beginPath();
  for (let i = 0; i < n; i++) (i ? ctx.lineTo : ctx.moveTo).call(ctx, xAt(i), yAt(i));
  ctx.stroke();
}

// n points of xy (x0, y0, x1, y1, ...) as squares of `side` pixels, in box coordinates.
export function dots(ctx, box, xy, n, color, side = 3) {
  ctx.fillStyle = color;
  for (let i = 0; i < n; i++) ctx.fillRect(box.x(xy[2 * i]) - side / 2, box.y(xy[2 * i + 1]) - side / 2, side, side);
}

// ImageData scaled into (x, y, w, h) of ctx, smooth (heat maps) or nearest (pixel images).
let scratch = null;
function blit(ctx, img, x, y, w, h, smooth) {
  scratch ??= document.createElement('canvas');
  scratch.width = img.width;
  scratch.height = img.height;
  scratch.getContext('2d').putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = smooth;
  ctx.drawImage(scratch, x, y, w, h);
}

// A (G, G) density (row 0 at the top) over the whole box as a heat map in `rgb`, alpha
// growing with sqrt(density / max) so thin tails stay visible.
export function heatMap(ctx, box, density, G, rgb) {
  let max = 0;
  for (const v of density) max = Math.max(max, v);
  const img = new ImageData(G, G);
  for (let i = 0; i < G * G; i++) {
    img.data[4 * i] = rgb[0];
    img.data[4 * i + 1] = rgb[1];
    img.data[4 * i + 2] = rgb[2];
    img.data[4 * i + 3] = max > 0 ? Math.round(200 * Math.sqrt(density[i] / max)) : 0;
  }
  blit(ctx, img, box.left, box.top, box.width, box.height, true);
}

// A (side x side) greyscale image (bytes from pixels[offset]) as a size x size square at (x, y).
// An image of `channels` (1 grey, 3 RGB) planar planes (C, side, side), as the models give
// them, at pixels[offset..]: as greyTile, in colour for 3.
export function imageTile(ctx, pixels, offset, side, channels, x, y, size) {
  if (channels === 1) return greyTile(ctx, pixels, offset, side, x, y, size);
  const img = new ImageData(side, side), plane = side * side;
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) img.data[4 * i + c] = pixels[offset + c * plane + i];
    img.data[4 * i + 3] = 255;
  }
  blit(ctx, img, x, y, size, size, false);
}

export function greyTile(ctx, pixels, offset, side, x, y, size) {
  const img = new ImageData(side, side);
  for (let i = 0; i < side * side; i++) {
    const v = pixels[offset + i];
    img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
    img.data[4 * i + 3] = 255;
  }
  blit(ctx, img, x, y, size, size, false);
}

// ---- number formats ----

// A readout to `digits` significant figures; exponent form outside [1e-3, 1e4); ∞ for Infinity.
export function fmt(v, digits = 3) {
  if (v === Infinity) return '∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(digits - 1) : v.toPrecision(digits);
}

// A figure with `digits` decimals; a non-zero value under 1e-3 in exponent form, not as 0.000.
export function fixed(v, digits = 3) {
  return v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential(1) : v.toFixed(digits);
}

// A parameter as typed: at most `digits` decimals, no trailing zeros (0.5, 1.25, -3).
export function short(v, digits = 3) {
  return String(Number(v.toFixed(digits)));
}
