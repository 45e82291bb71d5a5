// <diffuscope-forward shape="cow" n="2000" t="0"> — the forward process on a 2-D point
// set: the cow-shaped balloon heated into a Gaussian. Every point keeps one fixed ε, so moving
// t slides it along its own path x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε; the heat map underneath is the
// marginal density q(x_t), the mixture of N(√ᾱ_t x_i, (1−ᾱ_t) I) over the shape's points.
// Hover a point (or focus the plot and press ← →) to see its whole trajectory from t = 0 to T.
// Shapes, x_t, the density and the trajectories are all computed in C (shapes.h, points_forward.h).
import { DiffuscopeElement, h, hiDpiCanvas, cssVar } from '../core.js';

export const SHAPES = ['cow', 'moons', 'spiral', 'rings', 'letter'];
const SCHEDULES = ['linear', 'cosine'];
export const EXTENT = 3.5; // the plots show [-EXTENT, EXTENT]^2
const GRID = 64;           // density grid cells per side
const T = 1000;

// Maps a colour like '#2f6fdb' or 'rgb(47, 111, 219)' to [r, g, b].
export function rgbOf(color) {
  const m = color.match(/^#([0-9a-f]{6})$/i);
  if (m) return [0, 2, 4].map((i) => parseInt(m[1].slice(i, i + 2), 16));
  const n = color.match(/\d+(\.\d+)?/g);
  return n ? n.slice(0, 3).map(Number) : [47, 111, 219];
}

// Draws a (G, G) density (row 0 at the top) into the square [x0, x0 + size]^2 of ctx as a
// heat map in `rgb`, alpha proportional to density / max.
export function drawDensity(ctx, density, G, x0, y0, size, rgb) {
  let max = 0;
  for (const v of density) max = Math.max(max, v);
  const img = new ImageData(G, G);
  for (let i = 0; i < G * G; i++) {
    img.data[4 * i] = rgb[0];
    img.data[4 * i + 1] = rgb[1];
    img.data[4 * i + 2] = rgb[2];
    img.data[4 * i + 3] = max > 0 ? Math.round(200 * Math.sqrt(density[i] / max)) : 0;
  }
  const off = new OffscreenCanvas(G, G);
  off.getContext('2d').putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, x0, y0, size, size);
}

class PointsForwardWidget extends DiffuscopeElement {
  build() {
    this.n = Math.round(this.numberAttr('n', 2000, 10, 20000));
    this.seed = Math.round(this.numberAttr('seed', 1, 0, 2 ** 31));
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

  get t() { return Number(this.slider.value); }
  get kind() { return this.scheduleSelect.value; } // the schedule's name, as C spells it

  async loadShape() {
    const engine = await this.engine();
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

  geometry() {
    const width = this.canvas.clientWidth || 400, height = this.canvas.clientHeight || 400;
    const size = Math.min(width, height);
    return { size, ox: (width - size) / 2, oy: (height - size) / 2 };
  }

  hover(e) {
    if (!this.xt) return;
    const rect = this.canvas.getBoundingClientRect();
    const { size, ox, oy } = this.geometry();
    const x = ((e.clientX - rect.left - ox) / size) * 2 * EXTENT - EXTENT;
    const y = EXTENT - ((e.clientY - rect.top - oy) / size) * 2 * EXTENT;
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
    const { size, ox, oy } = this.geometry();
    const px = (x) => ox + ((x + EXTENT) / (2 * EXTENT)) * size;
    const py = (y) => oy + ((EXTENT - y) / (2 * EXTENT)) * size;
    ctx.clearRect(0, 0, width, height);
    drawDensity(ctx, this.density, GRID, ox, oy, size, rgbOf(cssVar(this, '--ds-series-1', '#2f6fdb')));
    ctx.strokeStyle = cssVar(this, '--ds-axis', '#888');
    ctx.strokeRect(ox + 0.5, oy + 0.5, size - 1, size - 1);
    ctx.fillStyle = cssVar(this, '--ds-series-2', '#e0762b');
    for (let i = 0; i < this.n; i++) ctx.fillRect(px(this.xt[2 * i]) - 1.5, py(this.xt[2 * i + 1]) - 1.5, 3, 3);
    if (this.traced >= 0 && this.trajectory) {
      const tr = this.trajectory;
      ctx.strokeStyle = cssVar(this, '--ds-text', '#222');
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      for (let t = 0; t <= T; t++) (t ? ctx.lineTo : ctx.moveTo).call(ctx, px(tr[2 * t]), py(tr[2 * t + 1]));
      ctx.stroke();
      ctx.fillStyle = cssVar(this, '--ds-text', '#222');
      ctx.beginPath();
      ctx.arc(px(tr[0]), py(tr[1]), 4, 0, 2 * Math.PI);
      ctx.fill();
      const t = this.shownT;
      ctx.strokeStyle = cssVar(this, '--ds-accent', '#2f6fdb');
      ctx.lineWidth = 2.5;
      ctx.beginPath();
      ctx.arc(px(tr[2 * t]), py(tr[2 * t + 1]), 6, 0, 2 * Math.PI);
      ctx.stroke();
    }
    ctx.fillStyle = cssVar(this, '--ds-text', '#222');
    ctx.font = '12px system-ui, sans-serif';
    ctx.fillText(`x_t at t = ${this.shownT}; shading: q(x_t)`, ox + 6, oy + 16);
    this.readout.textContent = this.traced >= 0
      ? `traced point ${this.traced}: from (${this.trajectory[0].toFixed(2)}, ${this.trajectory[1].toFixed(2)}) at t = 0 to (${this.trajectory[2 * T].toFixed(2)}, ${this.trajectory[2 * T + 1].toFixed(2)}) at t = ${T}`
      : 'Hover a point to see its path from the shape (dot) to the noise.';
  }
}

customElements.define('diffuscope-forward', PointsForwardWidget);
