// <diffuscope-flow shape="moons" steps="10"> — one shape under diffusion and under flow matching,
// side by side, at the same step count. Left: the ε-network of the diffusion chapters sampled
// deterministically (DDIM, or the probability-flow ODE with Heun); right: a flow-matching
// network, trained on the straight path x_t = (1 − t) x_0 + t ε to predict the velocity ε − x_0,
// integrated from t = 1 to 0 (Euler or Heun). Each panel shows the samples with a few
// trajectories, or the mesh view: a grid of the noise plane pushed through the sampler, showing
// how each map warps space. The step slider (1–100) shows that straighter paths need fewer
// steps; under each panel the quality of its 1000 samples (Chamfer and MMD² against fresh points
// of the shape, beside the same measures between two draws of the shape itself) with C's verdict.
//
// Train your own: draw a shape (or pick one), choose the objective, press Train: the same C
// trainer that made the shipped weights runs in the worker, a chunk of steps per call.
//
// Attributes: shape (cow|moons|spiral|rings|letter), steps (1–100), diffusion (ddim|ode-heun),
// flow (euler|heun), view (paths|mesh), n (samples), seed, train-steps, weights (the folder
// holding points-SHAPE.dsw and points-SHAPE-flow.dsw); live after connect. Removed from the
// page it stops (sampling, training) and gives its models back; put back, it samples again.
// Not here: the score view (widgets/score.js), the samplers and the trainer (C, in the worker).
import { DiffuscopeElement, h, whenVisible, defineElement } from '../core.js';
import { SHAPES, EXTENT } from '../shapes.js';
import { pointsWeights } from '../assets.js';
import { DrawingPad, drawLossCurve } from '../pad.js';
import { hiDpiCanvas, theme, font, squareBox, frame, polyline, dots, fixed } from '../plot.js';

const QUALITY_N = 1000; // the threshold's sample size (point_metrics.h)
const TRACKS = 24; // points whose paths are drawn
const MESH = 24; // mesh nodes per side (C's grid_points over [-MESH_LIM, MESH_LIM]²)
const MESH_LIM = 2.5; // where nearly all of N(0, I) lies
// the in-page trainer: small and quick (the shipped weights are trained longer, natively)
const TRAIN = { hidden: 64, layers: 3, batch: 128, lr: 1e-2, points: 2000, chunk: 250 };
const SIDES = ['diffusion', 'flow']; // also the trainer's objective names
// what a points-SHAPE(-flow).dsw must hold (its header is checked before the body is read)
const WANT = { kind: 'mlp', item_floats: 2 };
const CHOICES = { shape: [SHAPES, 'moons'], diffusion: [['ddim', 'ode-heun'], 'ddim'], flow: [['euler', 'heun'], 'euler'], view: [['paths', 'mesh'], 'paths'] };

class FlowWidget extends DiffuscopeElement {
  static attributeNames = ['shape', 'steps', 'diffusion', 'flow', 'view', 'n', 'seed', 'train-steps', 'weights'];

  build() {
    const [shape, diffusion, flow, view] = ['shape', 'diffusion', 'flow', 'view'].map((name) => this.choice(name));
    this.readNumbers();
    this.weightsFolder = this.folderAttr('weights'); // null: the kit's own (assets.js)
    this.life = 0; // bumped on suspend: work begun before gives up
    this.models = { diffusion: {}, flow: {} }; // side -> shape -> engine model handle
    this.modelUrls = { diffusion: {}, flow: {} }; // side -> shape -> the shared weights URL (core.js)
    this.drawingBytes = {}; // side -> the .dsw trained here (loaded again after a removal)
    this.refs = {}; // shape -> {ref, floor}
    this.schedules = {}; // model handle -> the schedule its file records (the page's trainer: linear)
    this.results = {}; // side -> {frames, mesh, quality}

    this.shapeSelect = h('select', { 'aria-label': 'model' }, SHAPES.map((s) => h('option', { value: s, selected: s === shape }, `${s} (shipped)`)));
    this.stepsSlider = h('input', { type: 'range', min: 1, max: 100, step: 1, value: this.readSteps(), 'aria-label': 'sampling steps' });
    this.stepsLabel = h('output', { class: 'ds-t' });
    this.diffusionSelect = h('select', { 'aria-label': 'diffusion sampler' },
      h('option', { value: 'ddim', selected: diffusion === 'ddim' }, 'DDIM (η = 0)'),
      h('option', { value: 'ode-heun', selected: diffusion === 'ode-heun' }, 'PF-ODE, Heun'));
    this.flowSelect = h('select', { 'aria-label': 'flow solver' },
      h('option', { value: 'euler', selected: flow === 'euler' }, 'Euler'), h('option', { value: 'heun', selected: flow === 'heun' }, 'Heun'));
    this.viewSelect = h('select', { 'aria-label': 'view' },
      h('option', { value: 'paths', selected: view === 'paths' }, 'samples and paths'), h('option', { value: 'mesh', selected: view === 'mesh' }, 'mesh (a warped grid)'));
    this.panels = {};
    for (const side of SIDES) {
      const canvas = h('canvas', { class: 'ds-plot ds-pts-square ds-flow-plot', role: 'img', 'aria-label': `${side}: samples, paths or the warped grid` });
      const quality = h('p', { class: 'ds-pts-readout ds-pts-quality ds-flow-quality', 'aria-live': 'polite', 'data-side': side });
      const title = h('h3', { class: 'ds-flow-title' });
      this.panels[side] = { canvas, quality, title, figure: h('figure', { class: 'ds-flow-panel', 'data-side': side }, title, canvas, quality) };
    }

    this.pad = new DrawingPad(this, () => this.engine());
    this.objectiveSelect = h('select', { 'aria-label': 'training objective' },
      h('option', { value: 'flow' }, 'flow matching (velocity)'), h('option', { value: 'diffusion' }, 'diffusion (noise ε)'));
    this.trainButton = h('button', { type: 'button', class: 'ds-flow-train' }, 'Train');
    this.progress = h('progress', { max: this.trainSteps, value: 0, 'aria-label': 'training progress' });
    this.trainInfo = h('p', { class: 'ds-pts-readout ds-flow-train-info', 'aria-live': 'polite' });
    this.lossCanvas = h('canvas', { class: 'ds-plot ds-pts-loss', role: 'img', 'aria-label': 'training loss against step' });

    this.append(
      h('div', { class: 'ds-control' },
        h('label', {}, 'model ', this.shapeSelect), h('label', {}, 'diffusion ', this.diffusionSelect),
        h('label', {}, 'flow ', this.flowSelect), h('label', {}, 'show ', this.viewSelect)),
      h('label', { class: 'ds-control' }, 'steps ', this.stepsLabel, this.stepsSlider),
      h('div', { class: 'ds-row ds-flow-pair' }, SIDES.map((s) => this.panels[s].figure)),
      h('div', { class: 'ds-pts-panel' },
        h('div', { class: 'ds-row' },
          this.pad.element,
          h('div', {}, this.lossCanvas, this.progress,
            h('div', { class: 'ds-control' }, h('label', {}, 'objective ', this.objectiveSelect), this.trainButton), this.trainInfo))),
    );
    const resample = () => this.sampleBoth().catch((e) => this.showError(e.message));
    this.stepsSlider.addEventListener('input', resample);
    this.shapeSelect.addEventListener('change', resample);
    this.diffusionSelect.addEventListener('change', resample);
    this.flowSelect.addEventListener('change', resample);
    this.viewSelect.addEventListener('change', resample);
    this.trainButton.addEventListener('click', () => this.train());
    new ResizeObserver(() => { this.drawAll(); this.pad.draw(); this.drawLoss(); }).observe(this);
    this.showNotice('loading the models…');
    whenVisible(this, () => {
      this.seen = true;
      if (this.suspended) return;
      this.sampleBoth().then(() => { this.clearStatus(); this.dataset.ready = ''; }).catch((e) => this.showError(e.message));
    });
  }

  get steps() { return Number(this.stepsSlider.value); }

  choice(name) {
    return this.choiceAttr(name, ...CHOICES[name]);
  }

  readSteps() { return Math.round(this.numberAttr('steps', 10, 1, 100)); }

  readNumbers() {
    this.n = Math.round(this.numberAttr('n', QUALITY_N, 10, 4096));
    this.seed = Math.round(this.numberAttr('seed', 1, 0, 2 ** 31));
    this.trainSteps = Math.round(this.numberAttr('train-steps', 12000, 100, 200000));
    if (this.progress) this.progress.max = this.trainSteps;
    this.noise = null; // drawn again for the new n and seed
  }

  // A changed attribute: the same checks as at build, then both sides sampled again.
  attributeUpdated(name) {
    const select = { shape: this.shapeSelect, diffusion: this.diffusionSelect, flow: this.flowSelect, view: this.viewSelect }[name];
    if (select) select.value = this.choice(name);
    else if (name === 'steps') this.stepsSlider.value = this.readSteps();
    else if (name === 'weights') {
      this.dropModels({ drawing: false });
      this.weightsFolder = this.folderAttr('weights');
    } else this.readNumbers();
    if (name !== 'train-steps' && this.seen && !this.suspended) this.sampleBoth().catch((e) => this.showError(e.message));
  }

  // Removed from the page: sampling and training stop, the models are given back (one trained
  // here keeps its bytes, to be loaded again on resume).
  suspend() {
    this.life++;
    this.busy = null; // the sampling in flight gives up at its next step
    this.dropModels({ drawing: true });
  }

  resume() {
    if (this.seen) this.sampleBoth().catch((e) => this.showError(e.message));
  }

  // Gives the shipped models back (shared, core.js); the drawing's too when asked (new
  // weights keep it).
  dropModels({ drawing }) {
    const models = this.models, urls = this.modelUrls, freed = [];
    this.models = { diffusion: {}, flow: {} };
    this.modelUrls = { diffusion: {}, flow: {} };
    for (const side of SIDES)
      if (models[side].drawing !== undefined) {
        if (drawing) freed.push(models[side].drawing);
        else this.models[side].drawing = models[side].drawing;
      }
    this.engine().then((engine) => {
      for (const side of SIDES) for (const url of Object.values(urls[side])) engine.releaseModel(url, WANT);
      for (const handle of freed) engine.call('free', [handle]).catch(() => {});
    }).catch(() => {});
  }

  // Work begun before a removal (life: the count then) stops at its next step.
  removed(life) {
    if (life !== this.life) throw new Error('Stopped: the widget left the page.');
  }

  // ---- models and references ----

  weightsUrl(side, name) {
    const stem = side === 'flow' ? `${name}-flow` : name; // points-STEM.dsw
    return this.weightsFolder ? new URL(`points-${stem}.dsw`, this.weightsFolder).href : pointsWeights(stem);
  }

  async model(side, name) {
    if (this.models[side][name] !== undefined) return this.models[side][name];
    const engine = await this.engine(), life = this.life;
    if (name === 'drawing') {
      const bytes = this.drawingBytes[side];
      if (!bytes) return null; // this objective was not trained on the drawing
      const handle = (await engine.call('model_load', [bytes, bytes.length])).ret;
      if (life !== this.life || this.models[side][name] !== undefined) engine.call('free', [handle]).catch(() => {});
      this.removed(life);
      this.schedules[handle] = 'linear'; // the page's trainer
      return this.models[side][name] ?? (this.models[side][name] = handle);
    }
    const url = this.weightsUrl(side, name);
    const model = await engine.acquireModel(url, WANT);
    if (life !== this.life || url !== this.weightsUrl(side, name) || this.models[side][name] !== undefined) {
      engine.releaseModel(url, WANT);
      this.removed(life);
      return this.model(side, name); // new weights meanwhile
    }
    // the file names the schedule it was trained with; DDIM must use that one
    this.schedules[model.handle] = model.info.schedule;
    this.modelUrls[side][name] = url;
    return (this.models[side][name] = model.handle);
  }

  async reference(name) {
    if (this.refs[name]) return this.refs[name];
    const engine = await this.engine();
    const ref = (await engine.call('shape_points', [name, QUALITY_N, 7919], [['f32', 2 * QUALITY_N]])).outs[0];
    const floor = (await engine.call('point_floor', [name, QUALITY_N, 1], [['rec', 'point_quality']])).outs[0];
    return (this.refs[name] = { ref, floor });
  }

  // ---- sampling: both sides at the slider's step count (requests made meanwhile coalesce) ----

  async sampleBoth() {
    this.stepsLabel.textContent = String(this.steps);
    if (this.busy) { this.again = true; return this.busy; }
    const life = this.life;
    const run = (async () => {
      do {
        this.again = false;
        delete this.dataset.sampled;
        const name = this.shapeSelect.value, steps = this.steps, view = this.viewSelect.value;
        for (const side of SIDES) {
          const result = await this.sampleSide(side, name, steps, view, life);
          this.removed(life);
          this.results[side] = result;
        }
        this.shown = { name, steps, view };
        this.drawAll();
        this.dataset.steps = String(steps);
        this.dataset.sampled = '';
      } while (this.again);
    })();
    // removed from the page meanwhile: the work just stops, without an error
    const done = this.busy = run.catch((err) => { if (life === this.life) throw err; }).finally(() => { if (this.busy === done) this.busy = null; });
    return done;
  }

  // One side's samples (frames of every step, for the paths), its mesh when shown, and quality.
  async sampleSide(side, name, steps, view, life) {
    const model = await this.model(side, name);
    if (model == null) return { missing: true };
    const engine = await this.engine();
    this.removed(life);
    const kind = side === 'flow' ? `flow-${this.flowSelect.value}` : this.diffusionSelect.value;
    const B = this.n, F = steps + 1;
    let frames;
    if (kind === 'ddim') { // the sampler of the diffusion chapters, from its own noise
      const sampler = (await engine.call('sampler_new', [model, this.schedules[model] ?? 'linear', 'ddim', steps, 0, 1, 0, this.seed, B, new Int32Array(B).fill(10)])).ret;
      try {
        frames = (await engine.call('sampler_run', [sampler], [['f32', F * 2 * B], ['recs', 'sampler_info', F]])).outs[0];
      } finally {
        await engine.call('free', [sampler]);
      }
    } else {
      this.noise ??= (await engine.call('points_noise', [B, this.seed], [['f32', 2 * B]])).outs[0];
      frames = (await engine.call('paths', [model, kind, steps, 0, 0, 0, 0, 0, this.noise, B], [['f32', F * 2 * B], ['f64', F]])).outs[0];
    }
    const result = { frames, F, kind, steps };
    if (view === 'mesh') {
      // the grid through the deterministic map from given starts: DDIM draws its own noise, so
      // its side shows the map of the ODE that DDIM discretises (Heun)
      const meshKind = kind === 'ddim' ? 'ode-heun' : kind, n = MESH * MESH;
      this.meshStart ??= (await engine.call('grid_points', [-MESH_LIM, MESH_LIM, MESH], [['f32', 2 * n]])).outs[0];
      const run = (await engine.call('paths', [model, meshKind, steps, 0, 0, 0, 0, 0, this.meshStart, n], [['f32', F * 2 * n], ['f64', F]])).outs[0];
      result.mesh = run.subarray((F - 1) * 2 * n);
      result.meshKind = meshKind;
    }
    this.removed(life);
    result.quality = await this.measure(name, frames.subarray((F - 1) * 2 * B));
    return result;
  }

  async measure(name, points) {
    const engine = await this.engine();
    const { ref, floor } = name === 'drawing' ? this.drawingRef : await this.reference(name);
    const q = (await engine.call('point_quality', [points, points.length / 2, ref, ref.length / 2], [['rec', 'point_quality']])).outs[0];
    const v = (await engine.call('point_verdict', [q.chamfer, q.mmd2, floor.chamfer], [['rec', 'point_verdict']])).outs[0];
    return {
      chamfer: q.chamfer, mmd2: q.mmd2, floorChamfer: floor.chamfer, floorMmd2: floor.mmd2, ratio: v.chamfer_ratio,
      pass: v.pass === 1, maxRatio: v.max_chamfer_ratio, maxMmd2: v.max_mmd2,
    };
  }

  // ---- drawing ----

  drawAll() {
    for (const side of SIDES) this.drawSide(side);
  }

  drawSide(side) {
    const r = this.results[side], panel = this.panels[side];
    if (!r) return;
    const { ctx, width, height } = hiDpiCanvas(panel.canvas);
    const box = squareBox(width, height, EXTENT), colors = theme(this);
    frame(ctx, box, colors.axis);
    const label = side === 'flow' ? `flow matching, ${r.kind === 'flow-heun' ? 'Heun' : 'Euler'}` : `diffusion, ${r.kind === 'ddim' ? 'DDIM' : 'PF-ODE (Heun)'}`;
    panel.title.textContent = r.missing ? `${side}: not trained on your drawing` : `${label}, ${r.steps} step${r.steps > 1 ? 's' : ''}`;
    if (r.missing) {
      panel.quality.textContent = `Train the ${side === 'flow' ? 'flow-matching' : 'diffusion'} objective on the drawing to compare.`;
      delete panel.quality.dataset.pass;
      return;
    }
    ctx.save();
    ctx.beginPath();
    ctx.rect(box.left, box.top, box.width, box.height);
    ctx.clip();
    const B = this.n, last = r.frames.subarray((r.F - 1) * 2 * B);
    if (r.mesh) this.drawMesh(ctx, box, r, colors);
    else {
      ctx.strokeStyle = colors.muted;
      ctx.globalAlpha = 0.5;
      ctx.lineWidth = 1;
      const at = (j, i, c) => r.frames[j * 2 * B + 2 * i + c];
      for (let i = 0; i < Math.min(TRACKS, B); i++) polyline(ctx, r.F, (j) => box.x(at(j, i, 0)), (j) => box.y(at(j, i, 1)));
      ctx.globalAlpha = 1;
      dots(ctx, box, last, B, colors.series[1], 2.5);
    }
    ctx.restore();
    const q = r.quality;
    panel.quality.textContent = `Chamfer ${fixed(q.chamfer)} (real vs real ${fixed(q.floorChamfer)}, ratio ${q.ratio.toFixed(2)}), ` +
      `MMD² ${fixed(q.mmd2, 4)} (real ${fixed(q.floorMmd2, 4)}): ${q.pass ? 'meets' : 'misses'} the threshold ` +
      `(ratio ≤ ${q.maxRatio}, MMD² ≤ ${q.maxMmd2}).`;
    panel.quality.dataset.ratio = q.ratio.toFixed(4);
    panel.quality.dataset.mmd2 = q.mmd2.toExponential(3);
    panel.quality.dataset.pass = String(q.pass);
  }

  // The grid of the noise plane after the map: node (r, c) is point r·MESH + c; rows are drawn
  // in one colour, columns in another, so a fold shows where they cross.
  drawMesh(ctx, box, r, colors) {
    const m = r.mesh, X = (i) => box.x(m[2 * i]), Y = (i) => box.y(m[2 * i + 1]);
    ctx.lineWidth = 1;
    ctx.strokeStyle = colors.series[0];
    for (let row = 0; row < MESH; row++) polyline(ctx, MESH, (c) => X(row * MESH + c), (c) => Y(row * MESH + c));
    ctx.strokeStyle = colors.series[2];
    for (let c = 0; c < MESH; c++) polyline(ctx, MESH, (row) => X(row * MESH + c), (row) => Y(row * MESH + c));
    ctx.fillStyle = colors.muted;
    ctx.font = font(11);
    ctx.fillText(`noise grid after the map${r.meshKind !== r.kind ? ' (PF-ODE, Heun)' : ''}`, box.left + 6, box.bottom - 6);
  }

  // ---- training on the drawing ----

  // One training run at a time; a failure (no drawing, a C error) is shown under the button.
  async train() {
    if (this.training) return;
    this.training = true;
    this.trainButton.disabled = true;
    this.trainInfo.classList.remove('ds-error');
    delete this.dataset.trained;
    try {
      await this.trainObjective(this.objectiveSelect.value);
      this.dataset.trained = '';
    } catch (err) {
      this.trainInfo.textContent = err.message;
      this.trainInfo.classList.add('ds-error');
    } finally {
      this.training = false;
      this.trainButton.disabled = false;
    }
  }

  async trainObjective(side) {
    const engine = await this.engine(), life = this.life;
    const started = performance.now();
    const sets = await this.pad.sets(TRAIN.points, QUALITY_N);
    this.pad.preview = null;
    if (this.drawingLabel !== sets.label) { // new data: the other objective's drawing model is stale
      this.drawingBytes = {};
      for (const s of SIDES) if (this.models[s].drawing != null) { await engine.call('free', [this.models[s].drawing]); delete this.models[s].drawing; }
    }
    this.removed(life);
    this.drawingLabel = sets.label;
    this.drawingRef = { ref: sets.ref, floor: sets.floor };
    const handle = (await engine.call('trainer_objective_new', [side, sets.train, sets.train.length / 2, TRAIN.hidden, TRAIN.layers,
      TRAIN.batch, TRAIN.lr, this.trainSteps, this.seed])).ret;
    this.losses = [];
    try {
      for (let done = 0; done < this.trainSteps;) {
        await this.onScreen(); // scrolled out of view: training waits for the reader (a removal wakes it)
        if (life !== this.life) throw new Error('Training stopped: the widget left the page. Press Train to start again.');
        const run = (await engine.call('trainer_run', [handle, Math.min(TRAIN.chunk, this.trainSteps - done)], [['rec', 'trainer_run']])).outs[0];
        done = run.steps_done;
        this.losses.push([done, run.loss]);
        this.progress.value = done;
        this.trainInfo.textContent = `${side}: step ${done} / ${this.trainSteps}, loss ${run.loss.toFixed(4)}, ${((performance.now() - started) / 1000).toFixed(1)} s`;
        this.drawLoss();
      }
      const size = (await engine.call('trainer_save', [handle, 1, 0, null])).ret;
      this.drawingBytes[side] = (await engine.call('trainer_save', [handle, 1, size], [['u8', size]])).outs[0];
    } finally {
      await engine.call('free', [handle]);
    }
    const old = this.models[side].drawing; // loaded again from the new bytes when sampled
    delete this.models[side].drawing;
    if (old != null) await engine.call('free', [old]);
    this.removed(life);
    const trainSeconds = (performance.now() - started) / 1000;
    if (!this.shapeSelect.querySelector('option[value="drawing"]'))
      this.shapeSelect.append(h('option', { value: 'drawing' }, 'your drawing (trained here)'));
    this.shapeSelect.value = 'drawing';
    await this.sampleBoth();
    const q = this.results[side].quality;
    this.trainInfo.textContent = `${side === 'flow' ? 'flow matching' : 'diffusion'}: trained ${this.trainSteps} steps in ${trainSeconds.toFixed(1)} s; ` +
      `at ${this.steps} steps Chamfer ratio ${q.ratio.toFixed(2)}, MMD² ${fixed(q.mmd2, 4)}: ${q.pass ? 'meets' : 'misses'} the threshold.`;
    this.dataset.trainSeconds = trainSeconds.toFixed(2);
    this.dataset.trainedObjective = side;
  }

  drawLoss() {
    drawLossCurve(this.lossCanvas, this, this.losses ?? [], this.trainSteps);
  }
}

defineElement('diffuscope-flow', FlowWidget);
