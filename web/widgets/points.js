// <diffuscope-points shape="cow" sampler="ddpm" steps="200"> — the reverse process on 2-D
// points: cooling the balloon back into a cow. A small MLP (mlp.h) predicts the noise ε̂ of
// every point; the sampler (sampler.h, DDPM or DDIM) moves pure noise back to the shape while
// the plot shows the points, the paths of a few of them, and the learned ε̂ field as arrows on a
// grid (−ε̂: where the denoiser pushes a point at the current t). Scrub through the steps with
// the slider afterwards. The quality of the final points (Chamfer distance and MMD² against the
// shape, beside the same measures between two draws of the shape itself) is shown with the
// threshold every shipped model meets.
//
// Train your own: draw a shape (mouse, pen or touch) or pick one, press Train, and the same C
// trainer that made the shipped weights (mlp_train.h) runs in the worker, a chunk of steps per
// call, with a live loss curve; then the new model samples and is measured the same way.
//
// Without a pointer: Tab to the pad, Space (or Enter) puts the pen down or lifts it, the arrow
// keys move it (Shift: further), Delete clears; or pick a shape in "data" instead of drawing.
//
// Attributes: shape (cow|moons|spiral|rings|letter), sampler (ddpm|ddim), steps, n (points),
// seed, weights (base URL of points-SHAPE.dsw files), train-steps.
import { DiffuscopeElement, h, defineElement, whenOnScreen } from '../core.js';
import { SHAPES, EXTENT } from '../shapes.js';
import { pointsWeights } from '../assets.js';
import { hiDpiCanvas, theme, font, squareBox, frame, polyline, dots, fixed } from '../plot.js';
import { DrawingPad, drawLossCurve } from '../pad.js';

// The quality threshold (README "Point clouds") is C's (point_metrics.h): 1000 samples
// against 1000 fresh points of the shape; point_verdict returns the verdict and the limits.
const QUALITY_N = 1000;
const FIELD = 15; // ε̂ arrows per side
const TRACKS = 12; // points whose paths are drawn
// the in-page trainer: small and quick (the shipped weights are trained longer, natively)
const TRAIN = { hidden: 64, layers: 3, batch: 128, lr: 1e-2, points: 2000, chunk: 250 };
// what a points-SHAPE.dsw must hold (its header is checked before the body is read)
const WANT = { kind: 'mlp', item_floats: 2 };

class PointsWidget extends DiffuscopeElement {
  static attributeNames = ['shape', 'sampler', 'steps', 'n', 'seed', 'weights', 'train-steps'];

  build() {
    const shape = this.choiceAttr('shape', SHAPES, 'cow');
    const sampler = this.choiceAttr('sampler', ['ddpm', 'ddim'], 'ddpm');
    this.readNumbers();
    this.weightsFolder = this.folderAttr('weights'); // null: the kit's own (assets.js)
    this.models = {}; // name -> engine model handle
    this.modelUrls = {}; // name -> the shared weights URL it was acquired from (core.js)
    this.modelSchedule = {}; // name -> the schedule its file records (the page's trainer: linear)

    this.modelSelect = h('select', { 'aria-label': 'model' }, SHAPES.map((s) => h('option', { value: s, selected: s === shape }, `${s} (shipped)`)));
    this.samplerSelect = h('select', { 'aria-label': 'sampler' },
      h('option', { value: 'ddpm', selected: sampler === 'ddpm' }, 'DDPM'), h('option', { value: 'ddim', selected: sampler === 'ddim' }, 'DDIM (η = 0)'));
    this.stepsInput = h('input', { type: 'number', min: 2, max: 1000, value: Math.round(this.numberAttr('steps', sampler === 'ddim' ? 50 : 200, 2, 1000)), 'aria-label': 'sampling steps' });
    this.sampleButton = h('button', { type: 'button', class: 'ds-pts-sample' }, 'Sample');
    this.tracksBox = h('input', { type: 'checkbox', checked: true });
    this.fieldBox = h('input', { type: 'checkbox', checked: true });
    this.frameSlider = h('input', { type: 'range', min: 0, max: 0, value: 0, step: 1, 'aria-label': 'reverse step shown', disabled: true });
    this.frameLabel = h('output', { class: 'ds-t' }, '–');
    this.canvas = h('canvas', { class: 'ds-plot ds-pts-square', role: 'img', 'aria-label': 'reverse diffusion: points, their paths and the learned noise field' });
    this.quality = h('p', { class: 'ds-pts-readout ds-pts-quality', 'aria-live': 'polite' });

    // training panel: the drawing pad (web/pad.js) beside the loss curve
    this.pad = new DrawingPad(this, () => this.engine());
    this.trainButton = h('button', { type: 'button', class: 'ds-pts-train' }, 'Train');
    this.progress = h('progress', { max: this.trainSteps, value: 0, 'aria-label': 'training progress' });
    this.trainInfo = h('p', { class: 'ds-pts-readout ds-pts-train-info', 'aria-live': 'polite' });
    this.lossCanvas = h('canvas', { class: 'ds-plot ds-pts-loss', role: 'img', 'aria-label': 'training loss against step' });

    this.append(
      h('div', { class: 'ds-control' },
        h('label', {}, 'model ', this.modelSelect), h('label', {}, 'sampler ', this.samplerSelect),
        h('label', {}, 'steps ', this.stepsInput), this.sampleButton),
      h('div', { class: 'ds-control' },
        h('label', {}, this.tracksBox, ' paths'), h('label', {}, this.fieldBox, ' ε̂ field'),
        h('label', { class: 'ds-pts-grow' }, 'step ', this.frameLabel, this.frameSlider)),
      this.canvas, this.quality,
      h('div', { class: 'ds-pts-panel' },
        h('div', { class: 'ds-row' },
          this.pad.element,
          h('div', {}, this.lossCanvas, this.progress, h('div', { class: 'ds-control' }, this.trainButton), this.trainInfo))),
    );
    this.sampleButton.addEventListener('click', () => this.sample().catch((e) => this.showError(e.message)));
    this.samplerSelect.addEventListener('change', () => { this.stepsInput.value = this.samplerSelect.value === 'ddim' ? 50 : 200; });
    this.frameSlider.addEventListener('input', () => this.showFrame(Number(this.frameSlider.value)));
    this.tracksBox.addEventListener('change', () => this.draw());
    this.fieldBox.addEventListener('change', () => this.showFrame(this.frame ?? 0));
    this.trainButton.addEventListener('click', () => this.train().catch((e) => this.trainFailed(e)));
    new ResizeObserver(() => { this.draw(); this.pad.draw(); this.drawLoss(); }).observe(this.canvas);
    this.showNotice('loading the model…');
    this.sample().then(() => { this.dataset.ready = ''; }).catch((e) => this.showError(e.message));
  }

  readNumbers() {
    this.n = Math.round(this.numberAttr('n', QUALITY_N, 10, 4096));
    this.seed = Math.round(this.numberAttr('seed', 1, 0, 2 ** 31));
    this.trainSteps = Math.round(this.numberAttr('train-steps', 12000, 100, 200000));
    if (this.progress) this.progress.max = this.trainSteps;
  }

  // A changed attribute: the same checks as at build, then a new sampling.
  attributeUpdated(name) {
    if (name === 'shape') this.modelSelect.value = this.choiceAttr('shape', SHAPES, 'cow');
    else if (name === 'sampler') {
      this.samplerSelect.value = this.choiceAttr('sampler', ['ddpm', 'ddim'], 'ddpm');
      this.stepsInput.value = Math.round(this.numberAttr('steps', this.samplerSelect.value === 'ddim' ? 50 : 200, 2, 1000));
    } else if (name === 'steps') this.stepsInput.value = Math.round(this.numberAttr('steps', this.samplerSelect.value === 'ddim' ? 50 : 200, 2, 1000));
    else if (name === 'weights') {
      this.dropModels(false);
      this.weightsFolder = this.folderAttr('weights');
    } else this.readNumbers();
    if (name !== 'train-steps' && !this.suspended) this.sample().catch((e) => this.showError(e.message));
  }

  // Removed from the page: training stops, the models are given back (a model trained here
  // keeps its bytes, to be loaded again on resume).
  suspend() {
    this.life = (this.life || 0) + 1;
    this.dropModels(true);
  }

  resume() {
    this.sample().catch((e) => this.showError(e.message));
  }

  dropModels(withDrawing) {
    const models = this.models, urls = this.modelUrls;
    this.models = {};
    this.modelUrls = {};
    if (!withDrawing && models.drawing !== undefined) this.models.drawing = models.drawing;
    this.engine().then((engine) => {
      for (const [name, handle] of Object.entries(models)) {
        if (urls[name]) engine.releaseModel(urls[name], WANT);
        else if (withDrawing) engine.call('free', [handle]).catch(() => {});
      }
    }).catch(() => {});
  }

  // ---- models ----

  async model(name) {
    if (this.models[name] !== undefined) return this.models[name];
    const engine = await this.engine(), life = this.life;
    let handle, schedule, url;
    if (name === 'drawing') { // trained here, given back on suspend: load its bytes again
      handle = (await engine.call('model_load', [this.drawingBytes, this.drawingBytes.length])).ret;
      schedule = 'linear';
    } else {
      url = this.weightsFolder ? new URL(`points-${name}.dsw`, this.weightsFolder).href : pointsWeights(name);
      const model = await engine.acquireModel(url, WANT);
      // the file names the schedule it was trained with; the sampler must use that one
      ({ handle } = model);
      schedule = model.info.schedule;
    }
    if (life !== this.life) { // removed meanwhile
      if (url) engine.releaseModel(url, WANT);
      else engine.call('free', [handle]).catch(() => {});
      throw new Error('the widget was removed from the page');
    }
    this.modelSchedule[name] = schedule;
    this.models[name] = handle;
    if (url) this.modelUrls[name] = url;
    return handle;
  }

  // The reference set and floor for measuring a model: a shipped shape, or the drawing.
  async reference(name) {
    const engine = await this.engine();
    if (name === 'drawing') return this.drawingRef;
    const ref = (await engine.call('shape_points', [name, QUALITY_N, 7919], [['f32', 2 * QUALITY_N]])).outs[0];
    const floor = (await engine.call('point_floor', [name, QUALITY_N, 1], [['rec', 'point_quality']])).outs[0];
    return { ref, floor };
  }

  // ---- reverse sampling ----

  async sample() {
    if (this.sampling) { // a change meanwhile (an attribute, a resume): sample again after
      this.sampleAgain = true;
      return;
    }
    this.sampling = true;
    this.sampleButton.disabled = true;
    delete this.dataset.sampled;
    try {
      const engine = await this.engine();
      // its steps run in one worker call of up to a second: started near the viewport (whenVisible's
      // margin), or as the loading article reflows it through view, it would hold the shared worker
      // while the reader watches the widget below (at #sampler that stalled the sampler 0.36 s)
      await whenOnScreen(this, { settle: 400 });
      const name = this.modelSelect.value;
      const model = await this.model(name);
      this.clearStatus();
      const steps = Math.max(2, Math.min(1000, Math.round(Number(this.stepsInput.value)) || 200));
      const B = this.n;
      let calls = 0; // this run's worker round trips (other widgets share the engine)
      const call = (...a) => (calls++, engine.call(...a));
      const started = performance.now();
      const sampler = (await call('sampler_new',
        [model, this.modelSchedule[name] ?? 'linear', this.samplerSelect.value, steps, 0, 1, 0, this.seed, B, new Int32Array(B).fill(10)])).ret;
      this.currentModel = model;
      let run;
      try { // every step in one worker call: x_t of each frame and its info
        run = await call('sampler_run', [sampler], [['f32', (steps + 1) * 2 * B], ['recs', 'sampler_info', steps + 1]]);
      } finally {
        await call('free', [sampler]);
      }
      this.sampleSeconds = (performance.now() - started) / 1000;
      this.sampleCalls = calls;
      const [all, infos] = run.outs;
      this.frames = infos.map((_, f) => all.subarray(f * 2 * B, (f + 1) * 2 * B));
      this.frameT = infos.map((info) => info.t);
      this.frameSlider.max = steps;
      this.frameSlider.disabled = false;
      this.frameSlider.value = steps;
      await this.showFrame(steps);
      await this.measure(name, this.frames[this.frames.length - 1], this.quality);
      this.dataset.sampled = '';
    } finally {
      this.sampling = false;
      this.sampleButton.disabled = false;
      if (this.sampleAgain && !this.suspended) {
        this.sampleAgain = false;
        this.sample().catch((e) => this.showError(e.message));
      }
    }
  }

  async measure(name, points, target) {
    const engine = await this.engine();
    const { ref, floor } = await this.reference(name);
    const q = (await engine.call('point_quality', [points, points.length / 2, ref, ref.length / 2], [['rec', 'point_quality']])).outs[0];
    const v = (await engine.call('point_verdict', [q.chamfer, q.mmd2, floor.chamfer], [['rec', 'point_verdict']])).outs[0];
    const result = {
      chamfer: q.chamfer, mmd2: q.mmd2, floorChamfer: floor.chamfer, floorMmd2: floor.mmd2, ratio: v.chamfer_ratio,
      pass: v.pass === 1, maxRatio: v.max_chamfer_ratio, maxMmd2: v.max_mmd2,
    };
    target.textContent = `${points.length / 2} samples vs the ${name === 'drawing' ? 'drawing' : name}: Chamfer ${fixed(result.chamfer)} ` +
      `(real vs real ${fixed(result.floorChamfer)}, ratio ${result.ratio.toFixed(2)}), MMD² ${fixed(result.mmd2, 4)} ` +
      `(real vs real ${fixed(result.floorMmd2, 4)}) — ${result.pass ? 'meets' : 'misses'} the threshold ` +
      `(ratio ≤ ${result.maxRatio}, MMD² ≤ ${result.maxMmd2}).`;
    target.dataset.ratio = result.ratio.toFixed(4);
    target.dataset.pass = String(result.pass);
    this.lastQuality = result;
    return result;
  }

  async showFrame(k) {
    if (!this.frames?.length) return;
    k = Math.max(0, Math.min(k, this.frames.length - 1));
    this.frame = k;
    const t = this.frameT[k];
    this.frameLabel.textContent = `${k} / ${this.frames.length - 1} (t = ${t})`;
    this.field = null;
    if (this.fieldBox.checked && t > 0) {
      const engine = await this.engine();
      const grid = new Float32Array(2 * FIELD * FIELD);
      for (let r = 0; r < FIELD; r++)
        for (let c = 0; c < FIELD; c++) {
          grid[2 * (r * FIELD + c)] = -3 + (6 * c) / (FIELD - 1);
          grid[2 * (r * FIELD + c) + 1] = 3 - (6 * r) / (FIELD - 1);
        }
      const ts = new Float32Array(FIELD * FIELD).fill(t);
      const eps = (await engine.call('model_forward', [this.currentModel, grid, ts, new Int32Array(FIELD * FIELD), FIELD * FIELD], [['f32', 2 * FIELD * FIELD]])).outs[0];
      if (this.frame !== k) return; // a newer frame was asked for meanwhile
      this.field = { grid, eps };
    }
    this.draw();
  }

  draw() {
    if (!this.frames?.length) return;
    const { ctx, width, height } = hiDpiCanvas(this.canvas);
    const box = squareBox(width, height, EXTENT), colors = theme(this);
    frame(ctx, box, colors.axis);
    const k = this.frame ?? this.frames.length - 1, x = this.frames[k];
    if (this.field) {
      const { grid, eps } = this.field;
      ctx.strokeStyle = colors.series[2];
      ctx.lineWidth = 1.2;
      for (let i = 0; i < FIELD * FIELD; i++) {
        const x0 = box.x(grid[2 * i]), y0 = box.y(grid[2 * i + 1]);
        const dx = -eps[2 * i] * box.width * 0.025, dy = eps[2 * i + 1] * box.width * 0.025; // −ε̂, y flipped
        const len = Math.hypot(dx, dy);
        if (len < 0.5) continue;
        const ux = dx / len, uy = dy / len;
        ctx.beginPath();
        ctx.moveTo(x0, y0);
        ctx.lineTo(x0 + dx, y0 + dy);
        ctx.lineTo(x0 + dx - 4 * ux + 3 * uy, y0 + dy - 4 * uy - 3 * ux);
        ctx.moveTo(x0 + dx, y0 + dy);
        ctx.lineTo(x0 + dx - 4 * ux - 3 * uy, y0 + dy - 4 * uy + 3 * ux);
        ctx.stroke();
      }
    }
    if (this.tracksBox.checked && k > 0) {
      ctx.strokeStyle = colors.muted;
      ctx.globalAlpha = 0.35;
      ctx.lineWidth = 1;
      // at most ~60 vertices per path: DDPM's per-step noise would otherwise draw a hairball
      const stride = Math.max(1, Math.ceil(k / 60)), vertices = Math.ceil(k / stride) + 1;
      const frameAt = (j) => this.frames[Math.min(j * stride, k)];
      for (let i = 0; i < Math.min(TRACKS, this.n); i++)
        polyline(ctx, vertices, (j) => box.x(frameAt(j)[2 * i]), (j) => box.y(frameAt(j)[2 * i + 1]));
      ctx.globalAlpha = 1;
    }
    dots(ctx, box, x, this.n, colors.series[1]);
    ctx.fillStyle = colors.text;
    ctx.font = font();
    ctx.fillText(`x_t at t = ${this.frameT[k]}${this.field ? '; arrows: −ε̂ at this t' : ''}`, box.left + 6, box.top + 16);
  }

  // ---- training on a drawing ----

  async train() {
    if (this.training) return;
    this.training = true;
    this.trainButton.disabled = true;
    delete this.dataset.trained;
    const engine = await this.engine();
    const started = performance.now();
    const sets = await this.pad.sets(TRAIN.points, QUALITY_N);
    this.pad.preview = null;
    this.drawingRef = { ref: sets.ref, floor: sets.floor };
    const handle = (await engine.call('trainer_new',
      [sets.train, sets.train.length / 2, TRAIN.hidden, TRAIN.layers, TRAIN.batch, TRAIN.lr, this.trainSteps, this.seed])).ret;
    this.losses = [];
    const life = this.life;
    try {
      for (let done = 0; done < this.trainSteps;) {
        await this.onScreen(); // scrolled out of view: training waits for the reader (a removal wakes it)
        if (life !== this.life) throw new Error('Training stopped: the widget left the page. Press Train to start again.');
        const k = Math.min(TRAIN.chunk, this.trainSteps - done);
        const run = (await engine.call('trainer_run', [handle, k], [['rec', 'trainer_run']])).outs[0];
        done = run.steps_done;
        this.losses.push([done, run.loss]);
        this.progress.value = done;
        this.trainInfo.textContent = `step ${done} / ${this.trainSteps}, loss ${run.loss.toFixed(4)}, ${((performance.now() - started) / 1000).toFixed(1)} s`;
        this.drawLoss();
      }
      const size = (await engine.call('trainer_save', [handle, 1, 0, null])).ret;
      const bytes = (await engine.call('trainer_save', [handle, 1, size], [['u8', size]])).outs[0];
      if (this.models.drawing !== undefined) await engine.call('free', [this.models.drawing]);
      this.drawingBytes = bytes;
      this.models.drawing = (await engine.call('model_load', [bytes, size])).ret;
    } finally {
      await engine.call('free', [handle]);
    }
    this.trainSeconds = (performance.now() - started) / 1000;
    if (!this.modelSelect.querySelector('option[value="drawing"]'))
      this.modelSelect.append(h('option', { value: 'drawing' }, 'your drawing (trained here)'));
    this.modelSelect.value = 'drawing';
    // the drawn or picked data is measured against its own reference set
    if (sets.label !== 'drawing') this.drawingRef = await this.reference(sets.label);
    this.samplerSelect.value = 'ddpm';
    this.stepsInput.value = 1000;
    await this.sample();
    const q = this.lastQuality;
    this.totalSeconds = (performance.now() - started) / 1000;
    this.trainInfo.textContent = `trained ${this.trainSteps} steps in ${this.trainSeconds.toFixed(1)} s; sampled ${this.n} points ` +
      `(DDPM, 1000 steps) in ${this.sampleSeconds.toFixed(1)} s; Chamfer ratio ${q.ratio.toFixed(2)}, MMD² ${fixed(q.mmd2, 4)}: ` +
      `${q.pass ? 'meets' : 'misses'} the threshold. Total ${this.totalSeconds.toFixed(1)} s.`;
    this.dataset.trainSeconds = this.trainSeconds.toFixed(2);
    this.dataset.totalSeconds = this.totalSeconds.toFixed(2);
    this.dataset.trained = '';
    this.training = false;
    this.trainButton.disabled = false;
  }

  trainFailed(err) {
    this.training = false;
    this.trainButton.disabled = false;
    this.trainInfo.textContent = err.message;
    this.trainInfo.classList.add('ds-error');
  }

  drawLoss() { drawLossCurve(this.lossCanvas, this, this.losses ?? [], this.trainSteps); }
}

defineElement('diffuscope-points', PointsWidget);
