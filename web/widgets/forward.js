// <diffuscope-forward shape="cow" n="2000" t="0"> — the forward process on a 2-D point
// set: the cow-shaped balloon heated into a Gaussian. Every point keeps one fixed ε, so moving
// t slides it along its own path x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε; the heat map underneath is the
// marginal density q(x_t), the mixture of N(√ᾱ_t x_i, (1−ᾱ_t) I) over the shape's points.
// Hover a point (or focus the plot and press ← →) to see its whole trajectory from t = 0 to T.
// Shapes, x_t, the density and the trajectories are all computed in C (shapes.h, points_forward.h).
import { DiffuscopeElement, h, defineElement, SCHEDULES } from '../core.js';
import { SHAPES, EXTENT } from '../shapes.js';
import { hiDpiCanvas, theme, font, rgbOf, squareBox, frame, polyline, dots, heatMap } from '../plot.js';

const GRID = 64;           // density grid cells per side
const T = 1000;

class PointsForwardWidget extends DiffuscopeElement {
  static attributeNames = ['shape', 'n', 'seed', 't'];

  build() {
    this.readNumbers();
    // a bad name gets a lasting line of its own, not the status line that progress reuses
    const shape = this.choiceAttr('shape', SHAPES, 'cow');
    const t0 = Math.round(this.numberAttr('t', 0, 0, T));
    this.shapeSelect = h('select', { 'aria-label': 'shape' }, SHAPES.map((s) => h('option', { value: s, selected: s === shape }, s)));
    this.scheduleSelect = h('select', { 'aria-label': 'noise schedule' }, SCHEDULES.map((s) => h('option', { value: s }, s)));
    this.slider = h('input', { type: 'range', min: 0, max: T, step: 1, value: t0, 'aria-label': 'diffusion step t' });
    this.playButton = h('button', { type: 'button', class: 'ds-pts-play', 'aria-pressed': 'false' }, 'Play');
    this.tLabel = h('output', { class: 'ds-t' });
    this.readout = h('p', { class: 'ds-pts-readout', 'aria-live': 'off' });
    this.canvas = h('canvas', {
      class: 'ds-plot ds-pts-square', tabindex: 0, role: 'img',
      'aria-label': 'points of the shape at step t over the density of q(x_t); hover or press the arrow keys to trace one point',
    });
    this.append(
      h('div', { class: 'ds-control' },
        h('label', {}, 'shape ', this.shapeSelect), h('label', {}, 'schedule ', this.scheduleSelect), this.playButton),
      h('label', { class: 'ds-control' }, 't = ', this.tLabel, this.slider),
      this.canvas, this.readout,
    );
    this.shapeSelect.addEventListener('change', () => this.loadShape());
    this.scheduleSelect.addEventListener('change', () => this.refresh());
    this.slider.addEventListener('input', () => this.refresh());
    this.playButton.addEventListener('click', () => this.togglePlay());
    this.canvas.addEventListener('pointermove', (e) => this.hover(e));
    this.canvas.addEventListener('pointerleave', () => { this.traced = -1; this.draw(); });
    this.canvas.addEventListener('keydown', (e) => this.key(e));
    this.traced = -1;
    new ResizeObserver(() => this.xt && this.draw()).observe(this.canvas);
    this.showNotice('computing…');
    this.loadShape().catch((err) => this.showError(err.message));
  }

  readNumbers() {
    this.n = Math.round(this.numberAttr('n', 2000, 10, 20000));
    this.seed = Math.round(this.numberAttr('seed', 1, 0, 2 ** 31));
  }

  // A changed attribute: the same checks as at build.
  attributeUpdated(name) {
    if (name === 't') {
      this.slider.value = Math.round(this.numberAttr('t', 0, 0, T));
      return this.refresh().catch((err) => this.showError(err.message));
    }
    if (name === 'shape') this.shapeSelect.value = this.choiceAttr('shape', SHAPES, 'cow');
    else this.readNumbers();
    this.loadShape().catch((err) => this.showError(err.message));
  }

  // Removed from the page: the playback stops.
  suspend() {
    this.stop();
  }

  get t() { return Number(this.slider.value); }
  get kind() { return this.scheduleSelect.value; } // the schedule's name, as C spells it

  async loadShape() {
    const engine = await this.engine();
    // out of view (a reader who opened the page further down), nothing until it is scrolled to:
    // its calls would take turns with the widget the reader is looking at
    await this.onScreen();
    const [pts, noise] = await Promise.all([
      engine.call('shape_points', [this.shapeSelect.value, this.n, this.seed], [['f32', 2 * this.n]]),
      engine.call('points_noise', [this.n, this.seed + 1000], [['f32', 2 * this.n]]),
    ]);
    this.x0 = pts.outs[0];
    this.eps = noise.outs[0];
    this.traced = -1;
    this.trajectory = null;
    await this.refresh();
    this.clearStatus();
    this.dataset.ready = '';
  }

  // Recomputes x_t and q(x_t) for the current t; coalesces requests while one is running.
  async refresh() {
    this.tLabel.textContent = `${this.t} / ${T}`;
    if (!this.x0) return;
    if (this.busy) { this.again = true; return this.busy; }
    this.busy = (async () => {
      do {
        this.again = false;
        const engine = await this.engine();
        const t = this.t, kind = this.kind;
        const [xt, dens] = await Promise.all([
          engine.call('forward_points', [kind, T, t, this.x0, this.eps, this.n], [['f32', 2 * this.n]]),
          engine.call('forward_density', [kind, T, t, this.x0, this.n, -EXTENT, EXTENT, GRID], [['f32', GRID * GRID]]),
        ]);
        this.xt = xt.outs[0];
        this.density = dens.outs[0];
        this.shownT = t;
        this.shownKind = kind;
        if (this.traced >= 0 && this.trajectoryKind !== kind) await this.trace(this.traced);
        this.dataset.t = String(t);
        this.draw();
      } while (this.again);
    })();
    try { await this.busy; } finally { this.busy = null; }
  }

  async trace(i) {
    const engine = await this.engine();
    const kind = this.kind;
    const { outs } = await engine.call('forward_trajectory',
      [kind, T, this.x0.subarray(2 * i, 2 * i + 2), this.eps.subarray(2 * i, 2 * i + 2)], [['f32', 2 * (T + 1)]]);
    this.traced = i;
    this.trajectory = outs[0];
    this.trajectoryKind = kind;
    this.dataset.traced = String(i);
    this.draw();
  }

  hover(e) {
    if (!this.xt) return;
    const rect = this.canvas.getBoundingClientRect();
    const box = squareBox(rect.width, rect.height, EXTENT);
    const x = box.x.invert(e.clientX - rect.left), y = box.y.invert(e.clientY - rect.top);
    let best = -1, bestD = (0.15 * EXTENT) ** 2;
    for (let i = 0; i < this.n; i++) {
      const d = (this.xt[2 * i] - x) ** 2 + (this.xt[2 * i + 1] - y) ** 2;
      if (d < bestD) { bestD = d; best = i; }
    }
    if (best >= 0 && best !== this.traced) this.trace(best).catch((err) => this.showError(err.message));
  }

  key(e) {
    if (!this.xt || (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft')) return;
    e.preventDefault();
    const step = e.key === 'ArrowRight' ? 1 : -1;
    this.trace((Math.max(this.traced, 0) + step + this.n) % this.n).catch((err) => this.showError(err.message));
  }

  togglePlay() {
    if (this.playing) return this.stop();
    this.playing = true;
    this.playButton.textContent = 'Pause';
    this.playButton.setAttribute('aria-pressed', 'true');
    if (this.t >= T) this.slider.value = 0;
    const started = performance.now(), fromT = this.t, duration = 5000 * (1 - fromT / T);
    const tick = async () => {
      if (!this.playing) return;
      const f = Math.min(1, (performance.now() - started) / Math.max(duration, 1));
      this.slider.value = Math.round(fromT + (T - fromT) * f);
      await this.refresh();
      if (f >= 1) this.stop();
      else requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }

  stop() {
    this.playing = false;
    this.playButton.textContent = 'Play';
    this.playButton.setAttribute('aria-pressed', 'false');
  }

  draw() {
    if (!this.xt) return;
    const { ctx, width, height } = hiDpiCanvas(this.canvas);
    const box = squareBox(width, height, EXTENT), colors = theme(this);
    heatMap(ctx, box, this.density, GRID, rgbOf(colors.series[0]));
    frame(ctx, box, colors.axis);
    dots(ctx, box, this.xt, this.n, colors.series[1]);
    if (this.traced >= 0 && this.trajectory) {
      const tr = this.trajectory, at = (t) => [box.x(tr[2 * t]), box.y(tr[2 * t + 1])];
      ctx.strokeStyle = ctx.fillStyle = colors.text;
      ctx.lineWidth = 1.5;
      polyline(ctx, T + 1, (t) => at(t)[0], (t) => at(t)[1]);
      ctx.beginPath();
      ctx.arc(...at(0), 4, 0, 2 * Math.PI);
      ctx.fill();
      ctx.strokeStyle = colors.accent;
      ctx.lineWidth = 2.5;
      ctx.beginPath();
      ctx.arc(...at(this.shownT), 6, 0, 2 * Math.PI);
      ctx.stroke();
    }
    ctx.fillStyle = colors.text;
    ctx.font = font();
    ctx.fillText(`x_t at t = ${this.shownT}; shading: q(x_t)`, box.left + 6, box.top + 16);
    this.readout.textContent = this.traced >= 0
      ? `traced point ${this.traced}: from (${this.trajectory[0].toFixed(2)}, ${this.trajectory[1].toFixed(2)}) at t = 0 to (${this.trajectory[2 * T].toFixed(2)}, ${this.trajectory[2 * T + 1].toFixed(2)}) at t = ${T}`
      : 'Hover a point to see its path from the shape (dot) to the noise.';
  }
}

defineElement('diffuscope-forward', PointsForwardWidget);
