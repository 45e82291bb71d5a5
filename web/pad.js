// pad.js — what an in-page training panel shows: the drawing pad (a square canvas the reader
// draws strokes on with a mouse, pen or finger, or a pick of a shipped shape instead) with the
// data sets training and measuring need from it (the training points, and a reference set with
// its real-vs-real floor, made in C by ds_drawing_points: ink along the strokes, or the inside of
// closed ones), and the live loss curve. Without a pointer: Tab to the pad, Space (or Enter)
// puts the pen down or lifts it, the arrow keys move it (Shift: further), Delete clears.
// Not here: training or sampling (the widgets), the point maths (C, in the worker).
import { h } from './core.js';
import { SHAPES, EXTENT } from './shapes.js';
import { hiDpiCanvas, theme, font, plotBox, frame, ticks, polyline, dots } from './plot.js';

const PEN = 0.06; // pen width in units of the pad's side
const PEN_STEP = 0.02; // the keyboard pen's step, in units of the pad's side (Shift: 5x)
const MOVES = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };

export class DrawingPad {
  // host: the element whose theme colours the pad uses; engine(): resolves the engine.
  constructor(host, engine) {
    this.host = host;
    this.engine = engine;
    this.strokes = [];
    this.preview = null;
    this.canvas = h('canvas', {
      class: 'ds-pts-pad', tabindex: 0, role: 'application',
      'aria-label': 'drawing pad: draw a shape with the mouse, a pen or a finger; or with the keyboard: Space puts the pen down or lifts it, the arrow keys move it (Shift: further), Delete clears',
    });
    this.shape = h('select', { 'aria-label': 'or start from a shape' }, h('option', { value: '' }, 'your drawing'), SHAPES.map((s) => h('option', { value: s }, s)));
    this.fill = h('input', { type: 'checkbox' });
    this.clear = h('button', { type: 'button' }, 'Clear');
    this.element = h('div', {}, this.canvas,
      h('div', { class: 'ds-control' }, h('label', {}, 'data ', this.shape), h('label', {}, this.fill, ' fill closed strokes'), this.clear));
    this.clear.addEventListener('click', () => { this.strokes = []; this.shape.value = ''; this.preview = null; this.changed(); });
    this.shape.addEventListener('change', () => this.showShape().catch(() => {}));
    this.listen();
  }

  // A stroke begun (pointer or keyboard) replaces a picked shape.
  begin(point) {
    if (this.shape.value) { this.shape.value = ''; this.strokes = []; this.preview = null; }
    const stroke = [point];
    this.strokes.push(stroke);
    return stroke;
  }

  changed() {
    this.canvas.dataset.strokes = String(this.strokes.length);
    this.draw();
  }

  listen() {
    let stroke = null;
    const at = (e) => {
      const r = this.canvas.getBoundingClientRect();
      return [(e.clientX - r.left) / r.width, 1 - (e.clientY - r.top) / r.height]; // unit square, y up
    };
    this.canvas.addEventListener('pointerdown', (e) => {
      e.preventDefault();
      this.canvas.setPointerCapture?.(e.pointerId);
      stroke = this.begin(at(e));
      this.changed();
    });
    this.canvas.addEventListener('pointermove', (e) => {
      if (!stroke) return;
      const p = at(e), last = stroke[stroke.length - 1];
      if (Math.hypot(p[0] - last[0], p[1] - last[1]) < 0.004) return;
      stroke.push(p);
      this.draw();
    });
    const end = () => { stroke = null; };
    this.canvas.addEventListener('pointerup', end);
    this.canvas.addEventListener('pointercancel', end);
    this.canvas.style.touchAction = 'none';
    this.canvas.addEventListener('keydown', (e) => this.key(e));
    this.canvas.addEventListener('focus', () => this.draw());
    this.canvas.addEventListener('blur', () => { this.pen = null; this.draw(); });
  }

  // The keyboard pen: a cursor at this.cursor (unit square, y up); this.pen is the stroke it
  // draws while down.
  key(e) {
    this.cursor ??= [0.5, 0.5];
    if (e.key === ' ' || e.key === 'Enter') this.pen = this.pen ? null : this.begin([...this.cursor]);
    else if (MOVES[e.key]) {
      const step = PEN_STEP * (e.shiftKey ? 5 : 1), [dx, dy] = MOVES[e.key];
      this.cursor = [Math.min(1, Math.max(0, this.cursor[0] + dx * step)), Math.min(1, Math.max(0, this.cursor[1] + dy * step))];
      if (this.pen) this.pen.push([...this.cursor]);
    } else if (e.key === 'Delete' || e.key === 'Backspace') {
      this.strokes = [];
      this.pen = null;
    } else if (e.key === 'Escape') this.pen = null;
    else return;
    e.preventDefault();
    this.changed();
  }

  async showShape() {
    const name = this.shape.value;
    this.preview = null;
    if (name) this.preview = (await (await this.engine()).call('shape_points', [name, 2000, 1], [['f32', 4000]])).outs[0];
    this.draw();
  }

  draw() {
    const { ctx, width, height } = hiDpiCanvas(this.canvas);
    const none = { l: 0, r: 0, t: 0, b: 0 }, colors = theme(this.host);
    const unit = plotBox(width, height, none, [0, 1], [0, 1]);
    frame(ctx, unit, colors.axis);
    if (this.preview) {
      dots(ctx, plotBox(width, height, none, [-EXTENT, EXTENT], [-EXTENT, EXTENT]), this.preview, this.preview.length / 2, colors.series[1], 2);
      return;
    }
    const focused = document.activeElement === this.canvas;
    if (this.cursor && focused) { // the keyboard pen
      ctx.strokeStyle = colors.accent;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.arc(unit.x(this.cursor[0]), unit.y(this.cursor[1]), this.pen ? 6 : 9, 0, 2 * Math.PI);
      ctx.stroke();
    }
    if (!this.strokes.length) {
      ctx.fillStyle = colors.muted;
      ctx.font = font(14);
      ctx.fillText(focused ? 'Space: pen down/up, arrows: move' : 'draw a shape here', 12, 24);
      return;
    }
    ctx.strokeStyle = colors.text;
    ctx.lineCap = ctx.lineJoin = 'round';
    ctx.lineWidth = PEN * width;
    for (const s of this.strokes) {
      if (s.length > 1) polyline(ctx, s.length, (i) => unit.x(s[i][0]), (i) => unit.y(s[i][1]));
      else polyline(ctx, 2, (i) => unit.x(s[0][0]) + 0.01 * i, () => unit.y(s[0][1])); // a dot
    }
  }

  // {train (nTrain, 2), ref (nRef, 2), floor: point_quality of a second draw vs ref, label}:
  // three independent draws of the drawing (or of the picked shape).
  async sets(nTrain, nRef) {
    const engine = await this.engine();
    const name = this.shape.value;
    if (name) {
      const pts = async (n, seed) => (await engine.call('shape_points', [name, n, seed], [['f32', 2 * n]])).outs[0];
      const floor = (await engine.call('point_floor', [name, nRef, 1], [['rec', 'point_quality']])).outs[0];
      return { train: await pts(nTrain, 1), ref: await pts(nRef, 7919), floor, label: name };
    }
    const strokes = this.strokes.filter((s) => s.length > 0);
    const fill = this.fill.checked;
    if (!strokes.length) throw new Error('Draw a shape first (or pick one).');
    if (fill && !strokes.some((s) => s.length >= 3)) throw new Error('To fill, draw at least one closed stroke.');
    const used = fill ? strokes.filter((s) => s.length >= 3) : strokes;
    const xy = new Float32Array(used.flat(2)), lens = new Int32Array(used.map((s) => s.length));
    const draw = async (n, seed) =>
      (await engine.call('drawing_points', [xy, lens, lens.length, fill ? 'filled' : 'ink', PEN, n, seed], [['f32', 2 * n]])).outs[0];
    const train = await draw(nTrain, 1), ref = await draw(nRef, 2), other = await draw(nRef, 3);
    const floor = (await engine.call('point_quality', [other, nRef, ref, nRef], [['rec', 'point_quality']])).outs[0];
    return { train, ref, floor, label: 'drawing' };
  }
}

// The loss so far, losses [[step, loss], ...], against step 0..total on `canvas`.
export function drawLossCurve(canvas, host, losses, total) {
  const { ctx, width, height } = hiDpiCanvas(canvas);
  const maxL = Math.max(...losses.map((l) => l[1]), 0.1);
  const box = plotBox(width, height, { l: 36, r: 8, t: 8, b: 18 }, [0, total], [0, maxL]), colors = theme(host);
  frame(ctx, box, colors.axis);
  ctx.font = font(11);
  ticks(ctx, box, { xName: 'step', yName: 'loss', y: losses.length ? [[maxL, maxL.toFixed(2)], [0, '0']] : [] }, colors.text);
  if (!losses.length) return;
  ctx.strokeStyle = colors.series[0];
  ctx.lineWidth = 2;
  polyline(ctx, losses.length, (i) => box.x(losses[i][0]), (i) => box.y(losses[i][1]));
}
