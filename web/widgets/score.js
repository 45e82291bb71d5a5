// <diffuscope-score shape="cow" t="300" score="exact"> — the score field of a 2-D point set and
// the samplers that follow it. At the t slider the plot shows the density of x_t (the shape
// noised by the VP schedule) with the score s(x, t) = ∇ log q_t(x) as arrows; a start point
// the reader drags (mouse, touch, or focus the plot and press the arrow keys) sends several
// reverse-SDE paths (Euler–Maruyama, each with its own noise) and the one probability-flow ODE
// path (Heun) from x_t down to t = 0; Langevin chains at the slider's noise level walk into
// q_t and can be restarted. The score is either the exact one of the shape's Gaussian-mixture
// stand-in or the trained network's, s = −ε̂ / √(1 − ᾱ_t): the toggle shows where the network
// is wrong. Every number (scores, paths, chains, density) is computed in C, in the worker.
//
// Attributes: shape (cow|moons|spiral|rings|letter), t (1–1000), score (exact|learned),
// paths (reverse-SDE paths, 1–16), seed, weights (the folder holding points-SHAPE.dsw); live
// after connect. Removed from the page it stops (playback, recomputes) and frees its models
// and mixtures; put back, it computes again.
// Not here: flow matching (widgets/flow.js), the samplers' maths (src/, through the face).
import { DiffuscopeElement, h, whenVisible, defineElement } from '../core.js';
import { SHAPES, EXTENT } from '../shapes.js';
import { pointsWeights } from '../assets.js';
import { hiDpiCanvas, theme, font, rgbOf, squareBox, frame, polyline, dots, heatMap, fixed } from '../plot.js';

const T = 1000;
const GRID = 64; // density cells per side
const FIELD = 15; // score arrows per side
const WRONG = 0.25; // a learned arrow this far off the exact one (relative) is drawn as wrong
const KEY_STEP = 0.1; // how far an arrow key moves the start point
const PATH_STEPS = 50; // steps of the SDE and ODE paths (fewer when t is smaller): a drag redraws them
// Langevin: δ = 0.2 (1 − ᾱ_t) at every level. The chains start on a grid over the plot, far from
// q_t's support at small t, where a learned ε̂ was never trained and points outward (at t = 40 the
// chains diverged): they are first annealed from T down to the slider's t (`levels` levels of
// `perLevel` steps, NCSN-style), then run `steps` steps at t. The playback shows both.
const LANGEVIN = { levels: 20, perLevel: 2, steps: 80, stepSize: 0.2 };
const CHAIN_GRID = 20; // the chains start on a CHAIN_GRID² grid over the plot
// The exact score's stand-in for a shape: one Gaussian N(p_i, VAR I) per point of a fixed draw.
const MIXTURE = { n: 400, seed: 7, variance: 0.01 };
// what a points-SHAPE.dsw must hold (its header is checked before the body is read)
const WANT = { kind: 'mlp', item_floats: 2 };

class ScoreWidget extends DiffuscopeElement {
  static attributeNames = ['shape', 't', 'score', 'paths', 'seed', 'weights'];

  build() {
    const shape = this.choiceAttr('shape', SHAPES, 'cow');
    const source = this.choiceAttr('score', ['exact', 'learned'], 'exact');
    const t0 = this.readT();
    this.readNumbers();
    this.nChains = CHAIN_GRID * CHAIN_GRID;
    this.weightsFolder = this.folderAttr('weights'); // null: the kit's own (assets.js)
    this.start = [2.2, 2.0];
    this.life = 0; // bumped on suspend: work begun before gives up
    this.models = {}; // shape -> engine model handle (the learned score)
    this.modelUrls = {}; // shape -> the shared weights URL it was acquired from (core.js)
    this.mixtures = {}; // shape -> engine mixture handle (the exact score)
    this.langevinRun = 0;
    this.points = {}; // shape -> the points its exact mixture and its density are made of

    this.shapeSelect = h('select', { 'aria-label': 'shape' }, SHAPES.map((s) => h('option', { value: s, selected: s === shape }, s)));
    this.sourceSelect = h('select', { 'aria-label': 'score' },
      h('option', { value: 'exact', selected: source === 'exact' }, 'exact (mixture)'),
      h('option', { value: 'learned', selected: source === 'learned' }, 'learned (network)'));
    this.slider = h('input', { type: 'range', min: 1, max: T, step: 1, value: t0, 'aria-label': 'diffusion step t' });
    this.tLabel = h('output', { class: 'ds-t' });
    this.show = {};
    const toggle = (key, label, on = true) => h('label', {}, (this.show[key] = h('input', { type: 'checkbox', checked: on })), ` ${label}`);
    this.restartButton = h('button', { type: 'button', class: 'ds-score-restart' }, 'Restart Langevin');
    this.canvas = h('canvas', {
      class: 'ds-plot ds-pts-square ds-score-plot', tabindex: 0, role: 'img',
      'aria-label': 'density of x_t with the score as arrows; drag the start point, or press the arrow keys, to move it',
    });
    this.readout = h('p', { class: 'ds-pts-readout ds-score-readout', 'aria-live': 'polite' });
    this.errorReadout = h('p', { class: 'ds-pts-readout ds-score-error' });
    this.append(
      h('div', { class: 'ds-control' },
        h('label', {}, 'shape ', this.shapeSelect), h('label', {}, 'score ', this.sourceSelect), this.restartButton),
      h('label', { class: 'ds-control' }, 't = ', this.tLabel, this.slider),
      h('div', { class: 'ds-control ds-score-toggles' },
        toggle('field', 'score arrows'), toggle('sde', 'reverse-SDE paths'), toggle('ode', 'ODE path'), toggle('langevin', 'Langevin chains')),
      this.canvas, this.readout, this.errorReadout,
    );
    const recompute = () => this.refresh({ langevin: true }).catch((e) => this.showError(e.message));
    this.shapeSelect.addEventListener('change', recompute);
    this.sourceSelect.addEventListener('change', recompute);
    this.slider.addEventListener('input', recompute);
    for (const box of Object.values(this.show)) box.addEventListener('change', () => this.draw());
    this.restartButton.addEventListener('click', () => { this.langevinRun++; recompute(); });
    this.setupDrag();
    new ResizeObserver(() => this.draw()).observe(this.canvas);
    this.showNotice('computing the score…');
    whenVisible(this, () => {
      this.seen = true;
      if (this.suspended) return;
      this.refresh({ langevin: true }).then(() => { this.clearStatus(); this.dataset.ready = ''; }).catch((e) => this.showError(e.message));
    });
  }

  get t() { return Number(this.slider.value); }

  readT() { return Math.round(this.numberAttr('t', 150, 1, T)); }

  readNumbers() {
    this.nPaths = Math.round(this.numberAttr('paths', 6, 1, 16));
    this.seed = Math.round(this.numberAttr('seed', 1, 0, 2 ** 31));
  }

  // A changed attribute: the same checks as at build, then the plot computed again.
  attributeUpdated(name) {
    if (name === 'shape') this.shapeSelect.value = this.choiceAttr('shape', SHAPES, 'cow');
    else if (name === 'score') this.sourceSelect.value = this.choiceAttr('score', ['exact', 'learned'], 'exact');
    else if (name === 't') this.slider.value = this.readT();
    else if (name === 'weights') {
      this.dropHandles({ mixtures: false });
      this.weightsFolder = this.folderAttr('weights');
    } else this.readNumbers();
    this.tLabel.textContent = `${this.t} / ${T}`;
    if (this.seen && !this.suspended) this.refresh({ langevin: true }).catch((e) => this.showError(e.message));
  }

  // Removed from the page: the playback and any recompute stop, the models and mixtures are
  // given back.
  suspend() {
    this.life++;
    this.playing = (this.playing ?? 0) + 1; // the Langevin playback's frame callback ends
    this.busy = null; // the recompute in flight gives up at its next step
    this.dropHandles({ mixtures: true });
  }

  resume() {
    if (this.seen) this.refresh({ langevin: true }).catch((e) => this.showError(e.message));
  }

  // Gives the learned models back (shared, core.js) and, when asked, frees the mixtures.
  dropHandles({ mixtures }) {
    const models = this.modelUrls, mix = mixtures ? Object.values(this.mixtures) : [];
    this.models = {};
    this.modelUrls = {};
    if (mixtures) this.mixtures = {};
    this.engine().then((engine) => {
      for (const url of Object.values(models)) engine.releaseModel(url, WANT);
      for (const handle of mix) engine.call('free', [handle]).catch(() => {});
    }).catch(() => {});
  }

  // ---- the score's source: the shipped network or the exact mixture, by shape ----

  // Work begun before a removal (life: the count then) stops at its next step.
  removed(life) {
    if (life !== this.life) throw new Error('the widget was removed from the page');
  }

  weightsUrl(name) {
    return this.weightsFolder ? new URL(`points-${name}.dsw`, this.weightsFolder).href : pointsWeights(name);
  }

  async model(name) {
    if (this.models[name] !== undefined) return this.models[name];
    const engine = await this.engine(), life = this.life, url = this.weightsUrl(name);
    const { handle } = await engine.acquireModel(url, WANT);
    if (life !== this.life || url !== this.weightsUrl(name) || this.models[name] !== undefined) {
      engine.releaseModel(url, WANT);
      this.removed(life);
      return this.model(name); // new weights meanwhile
    }
    this.modelUrls[name] = url;
    return (this.models[name] = handle);
  }

  async shapePoints(name) {
    const engine = await this.engine();
    return (this.points[name] ??= (await engine.call('shape_points', [name, MIXTURE.n, MIXTURE.seed], [['f32', 2 * MIXTURE.n]])).outs[0]);
  }

  async mixture(name) {
    if (this.mixtures[name] !== undefined) return this.mixtures[name];
    const engine = await this.engine(), life = this.life;
    const pts = await this.shapePoints(name);
    this.removed(life);
    const handle = (await engine.call('points_mixture', [pts, MIXTURE.n, MIXTURE.variance, 'linear'])).ret;
    if (life !== this.life) engine.call('free', [handle]).catch(() => {});
    this.removed(life);
    return (this.mixtures[name] = handle);
  }

  async source(kind) {
    return kind === 'exact' ? this.mixture(this.shapeSelect.value) : this.model(this.shapeSelect.value);
  }

  // ---- computing (all in C) ----

  // The score at step t from `handle` (a model or a mixture) on C's FIELD² grid of cell centres.
  async scoreGrid(handle, t) {
    const engine = await this.engine();
    const n = FIELD * FIELD;
    this.grid ??= (await engine.call('grid_points', [-EXTENT, EXTENT, FIELD], [['f32', 2 * n]])).outs[0];
    return (await engine.call('score_grid', [handle, t, -EXTENT, EXTENT, FIELD], [['f32', 2 * n]])).outs[0];
  }

  // From the start point at step t to 0: nPaths reverse-SDE paths and the one PF-ODE path,
  // each V = steps + 1 vertices (frame-major). The SDE paths keep their seed, so a drag moves
  // the same noise.
  async paths(handle, t) {
    const engine = await this.engine();
    const K = this.nPaths, S = Math.min(t, PATH_STEPS), V = S + 1;
    const starts = new Float32Array(2 * K);
    for (let k = 0; k < K; k++) starts.set(this.start, 2 * k);
    const [sde, ode] = await Promise.all([
      engine.call('paths', [handle, 'sde', S, t, 0, 0, 0, this.seed, starts, K], [['f32', 2 * K * V], ['f64', V]]),
      engine.call('paths', [handle, 'ode-heun', S, t, 0, 0, 0, 0, new Float32Array(this.start), 1], [['f32', 2 * V], ['f64', V]]),
    ]);
    return { sde: sde.outs[0], ode: ode.outs[0], V, K };
  }

  // Langevin chains at the noise level of step t, started on a grid over the plot and annealed
  // down to t (see LANGEVIN); a restart draws new noise. frames (L + 1 + LANGEVIN.steps, nChains, 2):
  // the grid, the L annealing levels, then the steps at t.
  async langevin(handle, t, run) {
    const engine = await this.engine(), n = this.nChains;
    this.chainStarts ??= (await engine.call('grid_points', [-EXTENT, EXTENT, CHAIN_GRID], [['f32', 2 * n]])).outs[0];
    const seed = this.seed + 7919 * run, L = Math.min(LANGEVIN.levels, T - t + 1);
    const warm = (await engine.call('paths', [handle, 'langevin', L, T, t, LANGEVIN.stepSize, LANGEVIN.perLevel, seed, this.chainStarts, n],
      [['f32', 2 * n * (L + 1)], ['f64', L + 1]])).outs[0];
    const chain = (await engine.call('langevin', [handle, t, LANGEVIN.stepSize, LANGEVIN.steps, seed, warm.slice(2 * n * L), n],
      [['f32', 2 * n * (LANGEVIN.steps + 1)]])).outs[0];
    const frames = new Float32Array(2 * n * (L + 1 + LANGEVIN.steps));
    frames.set(warm);
    frames.set(chain.subarray(2 * n), 2 * n * (L + 1));
    return frames;
  }

  // Everything the plot shows at the current t; the Langevin chains too when asked (not on a
  // drag, which moves only the paths). Coalesces requests made while one runs.
  async refresh({ langevin = false, pathsOnly = false } = {}) {
    this.tLabel.textContent = `${this.t} / ${T}`;
    this.wantLangevin ||= langevin;
    this.wantAll ||= !pathsOnly;
    if (this.busy) { this.again = true; return this.busy; }
    const life = this.life;
    const run = (async () => {
      do {
        this.again = false;
        const all = this.wantAll, chains = this.wantLangevin;
        this.wantAll = this.wantLangevin = false;
        const asked = this.movedAt ?? performance.now(); // a drag: from the pointer event on
        const t = this.t, kind = this.sourceSelect.value, engine = await this.engine();
        this.removed(life);
        const handle = await this.source(kind);
        const jobs = [this.paths(handle, t)];
        if (all) {
          const exact = await this.source('exact');
          jobs.push(this.scoreGrid(handle, t), kind === 'learned' ? this.scoreGrid(exact, t) : null,
            engine.call('forward_density', ['linear', T, t, await this.shapePoints(this.shapeSelect.value), MIXTURE.n, -EXTENT, EXTENT, GRID], [['f32', GRID * GRID]]),
            this.sigmas ??= engine.call('schedule_table', ['linear', T, engine.description.records.schedule_table.length],
              [['rows', 'schedule_table', T]]).then((r) => r.outs[0].sqrt_one_minus_alpha_bar));
        }
        const [paths, field, exactField, density, sigmas] = await Promise.all(jobs);
        this.removed(life);
        this.pathData = paths;
        if (all) {
          this.field = field;
          this.exactField = exactField;
          this.density = density.outs[0];
          this.sigma = sigmas[t - 1]; // √(1 − ᾱ_t), row t − 1
          this.shownT = t;
          this.shownKind = kind;
          this.shownPoints = this.points[this.shapeSelect.value];
        }
        this.draw();
        if (!all) { // a drag: the time from the pointer event to its paths on screen
          this.redrawMs = performance.now() - asked;
          this.dataset.redrawMs = this.redrawMs.toFixed(1);
        }
        if (chains) {
          const run = this.langevinRun, frames = await this.langevin(handle, t, run);
          this.removed(life);
          this.chains = frames;
          this.chainsRun = run;
          this.chainFrames = frames.length / (2 * this.nChains);
          this.playChains();
        }
        this.dataset.t = String(t);
      } while (this.again);
    })();
    // removed from the page meanwhile: the work just stops, without an error
    const done = this.busy = run.catch((err) => { if (life === this.life) throw err; }).finally(() => { if (this.busy === done) this.busy = null; });
    return done;
  }

  // ---- the start point: drag it, or move it with the arrow keys ----

  setupDrag() {
    let dragging = false;
    const toData = (e) => {
      const r = this.canvas.getBoundingClientRect(), box = squareBox(r.width, r.height, EXTENT);
      const clamp = (v) => Math.max(-EXTENT, Math.min(EXTENT, v));
      return [clamp(box.x.invert(e.clientX - r.left)), clamp(box.y.invert(e.clientY - r.top))];
    };
    const move = (p) => {
      this.start = p;
      this.movedAt = performance.now();
      this.dataset.start = p.map((v) => v.toFixed(3)).join(',');
      this.draw(); // the handle follows at once; the paths follow when C has them
      this.refresh({ pathsOnly: true }).catch((err) => this.showError(err.message));
    };
    this.canvas.addEventListener('pointerdown', (e) => {
      e.preventDefault();
      this.canvas.setPointerCapture?.(e.pointerId);
      this.canvas.focus();
      dragging = true;
      move(toData(e));
    });
    this.canvas.addEventListener('pointermove', (e) => { if (dragging) move(toData(e)); });
    const end = () => { dragging = false; };
    this.canvas.addEventListener('pointerup', end);
    this.canvas.addEventListener('pointercancel', end);
    this.canvas.addEventListener('keydown', (e) => {
      const d = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] }[e.key];
      if (!d) return;
      e.preventDefault();
      move(this.start.map((v, i) => Math.max(-EXTENT, Math.min(EXTENT, v + d[i] * KEY_STEP))));
    });
  }

  // ---- Langevin chains: played back frame by frame ----

  playChains() {
    const run = this.playing = (this.playing ?? 0) + 1;
    const started = performance.now();
    this.chainFrame = 0;
    const tick = () => {
      if (run !== this.playing || !this.chains) return;
      this.chainFrame = Math.min(this.chainFrames - 1, Math.floor((performance.now() - started) / 25));
      this.draw();
      if (this.chainFrame < this.chainFrames - 1) requestAnimationFrame(tick);
      else this.dataset.langevinDone = String(this.chainsRun); // the restart these chains were drawn for
    };
    requestAnimationFrame(tick);
  }

  // ---- drawing ----

  // colorOf(i): arrow i's colour
  arrows(ctx, box, field, colorOf, width) {
    const grid = this.grid, cell = box.width / FIELD;
    ctx.lineWidth = width;
    for (let i = 0; i < FIELD * FIELD; i++) {
      ctx.strokeStyle = colorOf(i);
      // σ_t s is the negative noise guess, of order 1 at every t: one length scale for all t
      const sx = this.sigma * field[2 * i], sy = this.sigma * field[2 * i + 1];
      const len = Math.hypot(sx, sy);
      if (!(len > 1e-3)) continue;
      const L = (0.9 * cell * len) / (1 + len), ux = sx / len, uy = -sy / len; // long arrows squashed, never past a cell
      const x0 = box.x(grid[2 * i]), y0 = box.y(grid[2 * i + 1]), x1 = x0 + L * ux, y1 = y0 + L * uy;
      ctx.beginPath();
      ctx.moveTo(x0, y0);
      ctx.lineTo(x1, y1);
      ctx.lineTo(x1 - 4 * ux + 3 * uy, y1 - 4 * uy - 3 * ux);
      ctx.moveTo(x1, y1);
      ctx.lineTo(x1 - 4 * ux - 3 * uy, y1 - 4 * uy + 3 * ux);
      ctx.stroke();
    }
  }

  // The plot: the still layers (density, frame, the mixture's points, arrows, caption) come from a
  // cached bitmap, made again only when one of them changes, so a drag or a frame of the Langevin
  // playback draws just the chains, the paths and the handle over it.
  draw() {
    if (!this.density) return;
    const { ctx, width, height } = hiDpiCanvas(this.canvas);
    const box = squareBox(width, height, EXTENT), colors = theme(this);
    const still = [this.canvas.width, this.canvas.height, this.density, this.field, this.exactField, this.shownPoints,
      this.show.field.checked, this.sigma, this.shownT, this.shownKind, JSON.stringify(colors)]; // a theme change too
    if (!this.stillKey || still.some((v, i) => v !== this.stillKey[i])) {
      this.stillKey = still;
      this.still ??= document.createElement('canvas');
      this.still.width = this.canvas.width;
      this.still.height = this.canvas.height;
      const sctx = this.still.getContext('2d'), ratio = this.canvas.width / width;
      sctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      this.drawStill(sctx, box, colors);
    }
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(this.still, 0, 0);
    ctx.restore();
    ctx.save();
    ctx.beginPath();
    ctx.rect(box.left, box.top, box.width, box.height);
    ctx.clip();
    if (this.show.langevin.checked && this.chains) {
      const n = this.nChains, f = this.chainFrame ?? this.chainFrames - 1;
      dots(ctx, box, this.chains.subarray(2 * n * f, 2 * n * (f + 1)), n, colors.series[1], 2.5);
    }
    const p = this.pathData;
    if (p) {
      // frame-major: vertex j of path k of K is at (j K + k)
      const V = p.V, at = (arr, k, j, K) => [box.x(arr[2 * (j * K + k)]), box.y(arr[2 * (j * K + k) + 1])];
      if (this.show.sde.checked) {
        ctx.strokeStyle = ctx.fillStyle = colors.accent;
        ctx.globalAlpha = 0.55;
        ctx.lineWidth = 1;
        for (let k = 0; k < p.K; k++) polyline(ctx, V, (j) => at(p.sde, k, j, p.K)[0], (j) => at(p.sde, k, j, p.K)[1]);
        ctx.globalAlpha = 1;
        for (let k = 0; k < p.K; k++) endDot(ctx, at(p.sde, k, V - 1, p.K), 3);
      }
      if (this.show.ode.checked) {
        ctx.strokeStyle = ctx.fillStyle = colors.text;
        ctx.lineWidth = 2.2;
        polyline(ctx, V, (j) => at(p.ode, 0, j, 1)[0], (j) => at(p.ode, 0, j, 1)[1]);
        endDot(ctx, at(p.ode, 0, V - 1, 1), 4);
      }
    }
    ctx.restore();
    // the handle: where the paths start, at step t
    const hx = box.x(this.start[0]), hy = box.y(this.start[1]);
    ctx.fillStyle = colors.bg;
    ctx.strokeStyle = colors.accent;
    ctx.lineWidth = 3;
    ctx.beginPath();
    ctx.arc(hx, hy, 8, 0, 2 * Math.PI);
    ctx.fill();
    ctx.stroke();
    this.drawReadouts();
  }

  // density, frame, the data the paths should land on, the arrows and the caption
  drawStill(ctx, box, colors) {
    heatMap(ctx, box, this.density, GRID, rgbOf(colors.series[0]));
    frame(ctx, box, colors.axis);
    ctx.save();
    ctx.beginPath();
    ctx.rect(box.left, box.top, box.width, box.height);
    ctx.clip();
    ctx.globalAlpha = 0.35; // the mixture's points, faint
    dots(ctx, box, this.shownPoints, MIXTURE.n, colors.text, 1.5);
    ctx.globalAlpha = 1;
    if (this.show.field.checked && this.field) {
      const f = this.field, e = this.exactField;
      if (e) this.arrows(ctx, box, e, () => colors.muted, 1);
      // learned: an arrow off the exact one by more than WRONG (relative) is drawn in the error colour
      const wrong = getComputedStyle(this).getPropertyValue('--ds-error').trim() || '#b3261e';
      const off = (i) => Math.hypot(f[2 * i] - e[2 * i], f[2 * i + 1] - e[2 * i + 1]) > WRONG * Math.hypot(e[2 * i], e[2 * i + 1]);
      this.arrows(ctx, box, f, e ? (i) => (off(i) ? wrong : colors.series[2]) : () => colors.series[2], 1.4);
    }
    ctx.restore();
    ctx.fillStyle = colors.text;
    ctx.font = font();
    ctx.fillText(`t = ${this.shownT}: shading q(x_t), arrows ${this.shownKind} score`, box.left + 6, box.top + 16);
  }

  drawReadouts() {
    const s = this.start;
    this.readout.textContent = `start (${s[0].toFixed(2)}, ${s[1].toFixed(2)}) at t = ${this.shownT}: ` +
      `${this.nPaths} reverse-SDE paths (blue, one noise each) and the probability-flow ODE path (black) to t = 0. ` +
      `Arrows: σ_t·s(x, t), the ${this.shownKind} score scaled by the noise level σ_t = ${fixed(this.sigma)}.`;
    if (this.exactField && this.field) {
      // how far the network's arrows are from the exact ones, where the density has mass
      let num = 0, den = 0;
      for (let i = 0; i < this.field.length; i++) { num += (this.field[i] - this.exactField[i]) ** 2; den += this.exactField[i] ** 2; }
      const rel = Math.sqrt(num / Math.max(den, 1e-30));
      this.errorReadout.textContent = `learned vs exact score on the grid: relative error ${(100 * rel).toFixed(1)} % ` +
        `(grey arrows: exact; red: the network is more than ${100 * WRONG} % off)`;
      this.errorReadout.dataset.relError = rel.toFixed(4);
    } else {
      this.errorReadout.textContent = 'Switch the score to "learned" to see the network\'s field over the exact one.';
      delete this.errorReadout.dataset.relError;
    }
  }
}

function endDot(ctx, [x, y], r) {
  ctx.beginPath();
  ctx.arc(x, y, r, 0, 2 * Math.PI);
  ctx.fill();
}

defineElement('diffuscope-score', ScoreWidget);
