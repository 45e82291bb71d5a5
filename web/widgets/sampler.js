// <diffuscope-sampler> — reverse diffusion, one step at a time, computed in the worker.
//   <diffuscope-sampler weights="../weights/fashion-unet.dsw" sampler="ddim" steps="20" batch="4">
// Pick a class, a sampler (DDPM, DDIM, DPM-Solver++(2M)), steps, guidance, seed and batch;
// play / pause / single-step / scrub back through every step. Each step shows, per image,
// x_t and the model's current guess x̂_0, the noise level and the time the step took. The
// denoiser is the trained UNet (loaded lazily, with progress, when the widget first scrolls
// into view) or the exact denoiser of a mixture of real test images (no training needed).
// With guidance g != 1, what guidance adds is shown beside x̂_0: the map ε̂_cond − ε̂_uncond of
// each step (red above zero, blue below), and the guidance slider re-runs from the same noise.
// guidance-interval="LO:HI" guides only the steps at t in LO..HI (a checkbox turns it on and
// off; Kynkäänniemi et al. 2024: guidance at high noise costs diversity, at low noise it adds little).
// spacing="P" places the steps at t = 1 + (T−1)·u^P, u even from 1 to 0 (1: even in t; 2:
// quadratic, denser at low noise, as Song et al.'s DDIM); 0, the default, keeps the sampler's own
// (even in t; DPM-Solver++: uniform in λ). src/sampler.h.
// pace="MS": a played step takes MS at least, start to start (default 60, for the eye to follow;
// 0: as fast as the machine computes); single steps and re-runs never wait.
// The whole run is kept in a filmstrip (click to scrub) that exports as a PNG strip and a GIF.
// The network's file says what it draws: its class names, image size and channels (an RGB
// model of `train --images` draws in colour), with no other attribute.
import { DiffuscopeElement, h, labelled, readoutCell, whenVisible, defineElement, reducedMotion, shortValue, SCHEDULES, checkedInput } from '../core.js';
import { D, loadFashionSample, imageLook, FASHION_LOOK, UNET_WANT } from '../fashion.js';
import { hiDpiCanvas, theme, font, imageTile, fmt, short } from '../plot.js';
import { FASHION_WEIGHTS, FASHION_SAMPLE } from '../assets.js';
import { Filmstrip, signedTile } from '../filmstrip.js';

const NO_CLASS = 10;
const PACE_MS = 60; // a played step's least time on screen, unless pace="MS" says otherwise
// what the image sampler draws: a UNet of any size and channels (core.js acquireModel)
const WANT = UNET_WANT;
// the numeric attributes: [default, lo, hi, whole number]
// the interval the checkbox offers when no guidance-interval is given (the shipped Fashion UNet's
// best at DDIM 20 by our eval: weights/README.md)
const GUIDANCE_INTERVAL = [100, 500];
const NUMBERS = { steps: [20, 1, 1000, true], guidance: [1, 0, 20, false], eta: [0, 0, 1, false], spacing: [0, 0, 4, false], seed: [1, 0, 2 ** 31, true], batch: [4, 1, 16, true] };
// names as the C face spells them (ds_api_describe: sampler_kind, schedule)
const SAMPLERS = [
  { name: 'ddpm', label: 'DDPM (ancestral)' },
  { name: 'ddim', label: 'DDIM' },
  { name: 'dpmpp2m', label: 'DPM-Solver++(2M)' },
];

class SamplerWidget extends DiffuscopeElement {
  static attributeNames = ['weights', 'sample', 'schedule', 'sampler', 'model', 'class', 'guidance-interval', 'pace', ...Object.keys(NUMBERS)];

  build() {
    this.weightsUrl = this.urlAttr('weights', FASHION_WEIGHTS);
    this.sampleUrl = this.urlAttr('sample', FASHION_SAMPLE);
    this.schedule = this.choiceAttr('schedule', SCHEDULES, 'linear');
    const samplerName = this.choiceAttr('sampler', SAMPLERS.map((s) => s.name), 'ddim');
    this.history = [];
    this.models = {}; // name -> engine handle (network: model handle, mixture: mixture handle)
    this.pace = this.numberAttr('pace', PACE_MS, 0, 10000);

    this.denoiser = h('select', { 'aria-label': 'denoiser' },
      h('option', { value: 'network' }, 'trained UNet'),
      h('option', { value: 'mixture' }, 'exact mixture of test images'));
    this.denoiser.value = this.choiceAttr('model', ['network', 'mixture'], 'network');
    this.classSel = h('select', { 'aria-label': 'class' });
    this.useLook(FASHION_LOOK); // until the network's file says otherwise
    this.readClass();
    this.samplerSel = h('select', { 'aria-label': 'sampler' }, ...SAMPLERS.map((s) => h('option', { value: s.name }, s.label)));
    this.samplerSel.value = samplerName;
    const num = (name, min, max, step) => h('input', { type: 'number', name, min, max, step, 'aria-label': name });
    this.stepsIn = num('steps', 1, 1000, 1);
    this.guidanceIn = num('guidance', 0, 20, 0.5);
    this.etaIn = num('eta', 0, 1, 0.1);
    this.spacingIn = num('spacing', 0, 4, 0.25);
    this.seedIn = num('seed', 0, 2 ** 31, 1);
    this.batchIn = num('batch', 1, 16, 1);
    this.inputs = { steps: this.stepsIn, guidance: this.guidanceIn, eta: this.etaIn, spacing: this.spacingIn, seed: this.seedIn, batch: this.batchIn };
    for (const name of Object.keys(NUMBERS)) this.readNumber(name);

    this.playBtn = h('button', { type: 'button', class: 'ds-play', onclick: () => this.togglePlay() }, 'Play');
    this.stepBtn = h('button', { type: 'button', class: 'ds-step', onclick: () => this.singleStep() }, 'Step');
    this.resetBtn = h('button', { type: 'button', class: 'ds-reset', onclick: () => this.restart() }, 'New sample');
    this.scrub = h('input', { type: 'range', class: 'ds-scrub', min: 0, max: 0, value: 0, step: 1, 'aria-label': 'scrub through the steps' });
    this.scrub.addEventListener('input', () => this.show(Number(this.scrub.value)));
    this.progress = h('progress', { class: 'ds-progress', max: 1, value: 0, hidden: true, 'aria-label': 'loading the weights' });
    this.canvas = h('canvas', { class: 'ds-sampler-canvas', role: 'img', 'aria-label': 'x_t and the predicted x0 for each image' });
    this.guideCanvas = h('canvas', { class: 'ds-sampler-guide', role: 'img', 'aria-label': 'what guidance adds: eps_cond minus eps_uncond for each image' });
    this.guideSlider = h('input', { type: 'range', class: 'ds-guidance-slider', min: 0, max: 6, step: 0.25, value: this.guidanceIn.value, 'aria-label': 'guidance scale (re-runs from the same noise)' });
    this.guideOut = h('output', {}, short(Number(this.guidanceIn.value)));
    this.guideSlider.addEventListener('input', () => (this.guideOut.textContent = short(Number(this.guideSlider.value))));
    this.guideSlider.addEventListener('change', () => {
      this.guidanceIn.value = this.guideSlider.value;
      this.rerun();
    });
    this.intervalBox = h('input', { type: 'checkbox', class: 'ds-guidance-interval', 'aria-label': 'guide only the steps in an interval of t' });
    this.intervalText = h('span', {});
    this.readInterval();
    this.intervalBox.addEventListener('change', () => this.rerun());
    this.strip = new Filmstrip({ onPick: (i) => this.show(i), engine: () => this.engine(), name: 'diffuscope-sampler' });
    this.readout = {};
    const cell = (k, label) => readoutCell(this.readout, k, label);
    this.append(
      h('div', { class: 'ds-controls' }, labelled('denoiser', this.denoiser), labelled('class', this.classSel),
        labelled('sampler', this.samplerSel), labelled('steps', this.stepsIn), labelled('guidance', this.guidanceIn),
        labelled('η (DDIM)', this.etaIn), labelled('spacing p', this.spacingIn), labelled('seed', this.seedIn),
        labelled('batch', this.batchIn)),
      h('div', { class: 'ds-controls' }, this.playBtn, this.stepBtn, this.resetBtn,
        h('label', { class: 'ds-control ds-scrub-label' }, 'step ', this.scrub)),
      h('label', { class: 'ds-control' }, 'guidance ', this.guideSlider, ' g = ', this.guideOut),
      h('label', { class: 'ds-control' }, this.intervalBox, this.intervalText),
      this.progress,
      h('div', { class: 'ds-edit-views' }, this.canvas, this.guideCanvas),
      h('div', { class: 'ds-readouts' }, cell('step', 'step'), cell('t', 't ='), cell('signal', '√ᾱ_t ='),
        cell('noise', 'noise √(1−ᾱ_t) ='), cell('snr', 'SNR ='), cell('ms', 'ms/step:')),
      this.strip.element,
    );
    this.guidanceIn.addEventListener('change', () => {
      this.guideSlider.value = this.guidanceIn.value;
      this.guideOut.textContent = short(Number(this.guidanceIn.value));
    });
    for (const el of [this.denoiser, this.classSel, this.samplerSel, this.stepsIn, this.guidanceIn, this.etaIn, this.spacingIn, this.seedIn, this.batchIn])
      el.addEventListener('change', () => this.restart());
    this.setBusy(true);
    this.showNotice('The sampler starts when it scrolls into view.');
    new ResizeObserver(() => this.history.length && this.show(Number(this.scrub.value))).observe(this);
    // autoplay: run the first sampling to the end once the widget is seen (the article does),
    // unless the reader asked for less motion
    whenVisible(this, () => {
      this.seen = true;
      if (this.suspended) return;
      this.restart().then(() => this.hasAttribute('autoplay') && !reducedMotion() && !this.done() && this.togglePlay());
    });
  }

  // The class choices and the drawing follow the denoiser's images (look: fashion.js imageLook).
  useLook(look) {
    const same = this.look && this.look.names.join('\n') === look.names.join('\n');
    this.look = look;
    if (same) return;
    const before = this.classSel.value;
    this.classSel.replaceChildren(h('option', { value: 'mixed' }, 'one of each class'),
      ...look.names.map((n, i) => h('option', { value: i }, n)),
      h('option', { value: NO_CLASS }, 'any (unconditional)'));
    this.classChoices = ['mixed', ...look.names.map((_, i) => String(i)), String(NO_CLASS)];
    this.classSel.value = this.classChoices.includes(before) ? before : 'mixed';
    this.dataset.classes = look.names.join('\n'); // for whoever reads the widget back
  }

  // `class` doubles as the HTML class list (the base class adds ds-widget; a page may add its
  // own): a token that names a choice picks it, a number that does not is an error
  readClass() {
    for (const token of (this.getAttribute('class') || '').split(/\s+/)) {
      if (this.classChoices.includes(token)) this.classSel.value = token;
      else if (/^[-+.\d]/.test(token))
        this.attributeError(`attribute class="${shortValue(token)}" must be one of ${this.classChoices.join(', ')}; using ${this.classSel.value}`, 'class');
    }
  }

  readInterval() {
    const given = this.intervalAttr('guidance-interval', GUIDANCE_INTERVAL, 0, 1000);
    this.interval = given ?? GUIDANCE_INTERVAL;
    this.intervalBox.checked = !!given;
    this.intervalText.textContent = ` only at t ${this.interval[0]}–${this.interval[1]}`;
  }

  readNumber(name) {
    const [fallback, lo, hi, whole] = NUMBERS[name];
    const v = this.numberAttr(name, fallback, lo, hi);
    this.inputs[name].value = whole ? Math.round(v) : v;
  }

  // A changed attribute: the same checks as at build, then a new sampling.
  attributeUpdated(name) {
    if (name === 'pace') return void (this.pace = this.numberAttr('pace', PACE_MS, 0, 10000)); // the next step's wait
    if (name in NUMBERS) this.readNumber(name);
    else if (name === 'guidance-interval') this.readInterval();
    else if (name === 'sampler') this.samplerSel.value = this.choiceAttr('sampler', SAMPLERS.map((s) => s.name), 'ddim');
    else if (name === 'model') this.denoiser.value = this.choiceAttr('model', ['network', 'mixture'], 'network');
    else if (name === 'class') { // also the page's own CSS classes: only a changed choice samples again
      const before = this.classSel.value;
      this.classList.add('ds-widget'); // a page that sets class="7" keeps the widget's own styles
      this.readClass();
      if (this.classSel.value === before) return;
    } else {
      this.dropModels(); // weights, sample, schedule: the denoisers are made again
      if (name === 'weights') this.weightsUrl = this.urlAttr('weights', '../weights/fashion-unet.dsw');
      if (name === 'sample') this.sampleUrl = this.urlAttr('sample', 'data/fashion-sample.bin');
      if (name === 'schedule') this.schedule = this.choiceAttr('schedule', SCHEDULES, 'linear');
    }
    if (this.seen && !this.suspended) this.restart();
  }

  // Removed from the page: stop playing, free the sampler and the denoisers.
  suspend() {
    this.token = (this.token || 0) + 1; // a restart in flight gives up
    this.playing = false;
    const handle = this.handle;
    this.handle = null;
    if (handle != null) this.engine().then((e) => e.call('free', [handle])).catch(() => {});
    this.dropModels();
  }

  resume() {
    if (this.seen) this.restart();
  }

  // Frees the denoisers: the mixture is this widget's, the network is shared (core.js).
  dropModels() {
    this.life = (this.life || 0) + 1; // a load in flight frees what it made
    const { network, mixture } = this.models;
    this.models = {};
    this.engine().then((engine) => {
      if (network) engine.releaseModel(network.url, WANT);
      if (mixture) engine.call('free', [mixture.handle]).catch(() => {});
    }).catch(() => {});
  }

  setBusy(busy) {
    this.busy = busy;
    this.stepBtn.disabled = busy || this.done();
  }

  done() {
    const last = this.history[this.history.length - 1];
    return !last || last.info.step === last.info.steps;
  }

  params() {
    // a value typed out of range stops the restart with a message (the widget shows it)
    const checked = checkedInput;
    return {
      kind: this.samplerSel.value,
      steps: Math.round(checked(this.stepsIn, 1, 1000)),
      guidance: checked(this.guidanceIn, 0, 20),
      interval: this.intervalBox.checked ? this.interval : null, // null: guidance at every step
      eta: checked(this.etaIn, 0, 1),
      spacing: checked(this.spacingIn, 0, 4), // 0 < p < 1: C's message names the range
      seed: Math.round(checked(this.seedIn, 0, 2 ** 31)),
      batch: Math.round(checked(this.batchIn, 1, 16)),
      cls: this.classSel.value,
    };
  }

  // The engine handle of the chosen denoiser, loading it on first use. A network file that
  // cannot be fetched gives the mixture and a notice; one that is not a UNet (or is corrupt)
  // is an error.
  async model(engine) {
    const name = this.denoiser.value, life = this.life;
    if (name in this.models) return this.models[name];
    if (name === 'network') {
      this.progress.hidden = false;
      this.showNotice('loading the trained weights…');
      const url = this.weightsUrl;
      let model;
      try {
        model = await engine.acquireModel(url, WANT, (f) => (this.progress.value = f));
      } catch (err) {
        this.progress.hidden = true;
        if (err.content || err.reason === undefined) throw err;
        const why = err.status === 404 ? 'is missing (not trained or not shipped yet)' : `could not be loaded (${err.reason})`;
        this.denoiser.value = 'mixture';
        this.denoiserNote = `The weights file ${new URL(url).pathname} ${why}; showing the exact mixture of test images instead.`;
        return this.model(engine);
      }
      this.progress.hidden = true;
      if (life !== this.life) { // removed or given new weights meanwhile
        engine.releaseModel(url, WANT);
        throw new Error('the sampler was stopped');
      }
      // the file names the schedule it was trained with; the schedule attribute is for the mixture
      this.models.network = { kind: 'network', handle: model.handle, schedule: model.info.schedule, url, look: imageLook(model.info) };
    } else {
      const s = await loadFashionSample(this.sampleUrl, engine);
      const handle = (await engine.call('mixture_images', [s.pixels, s.labels, s.count, D, 0, this.schedule])).ret;
      if (life !== this.life) {
        engine.call('free', [handle]).catch(() => {});
        throw new Error('the sampler was stopped');
      }
      this.models.mixture = { kind: 'mixture', handle, schedule: this.schedule, look: FASHION_LOOK };
    }
    return this.models[name];
  }

  async restart() {
    const token = (this.token = (this.token || 0) + 1); // a newer restart wins
    this.playing = false;
    this.playBtn.textContent = 'Play';
    this.setBusy(true);
    try {
      const model = await this.model(this.engineNow()); // the weights download overlaps the module's compile
      const engine = await this.engine();
      if (token !== this.token) return;
      if (this.handle != null) {
        const old = this.handle;
        this.handle = null;
        await engine.call('free', [old]);
      }
      this.useLook(model.look);
      const p = this.params(), K = model.look.names.length;
      const cls = Int32Array.from({ length: p.batch }, (_, i) => (p.cls === 'mixed' ? i % K : Number(p.cls)));
      const clip = 1;
      const guided = p.guidance !== 1, interval = guided ? p.interval : null; // outside the interval the map is 0
      // the sampler, its interval, its step spacing and its first frame in one round trip
      const made = { ret: 0 };
      const setup = [
        ['sampler_new', [model.handle, model.schedule, p.kind, p.steps, p.eta, p.guidance, clip, p.seed, p.batch, cls]],
        ...(interval ? [['sampler_guidance_interval', [made, ...interval]]] : []),
        ...(p.spacing !== 0 ? [['sampler_spacing', [made, p.spacing]]] : []),
      ];
      const results = await engine.makeAll([...setup, ...this.frameCalls(made, p.batch, guided)]);
      const ret = results[0].ret;
      if (token !== this.token) {
        await engine.call('free', [ret]);
        return;
      }
      this.handle = ret;
      this.cls = cls;
      this.guided = guided;
      this.runInterval = interval;
      this.history = [];
      this.capture(results.slice(setup.length), 0);
      if (this.denoiserNote && this.denoiser.value === 'mixture') this.showNotice(this.denoiserNote);
      else this.clearStatus();
      this.dataset.ready = '';
    } catch (err) {
      if (token === this.token) this.showError(err.message);
    } finally {
      if (token === this.token) this.setBusy(false);
    }
  }

  // The calls that read the current frame of sampler `handle` (a handle or {ret: i}): x_t and x̂_0
  // with the step's record, and the guidance map when guided; one round trip (engine.callAll),
  // with the sampler's start at a restart.
  frameCalls(handle, B, guided) {
    const n = B * this.look.D;
    return [
      ['sampler_frame', [handle], [['u8', n], ['u8', n], ['rec', 'sampler_info']]],
      ...(guided ? [['sampler_guidance_map', [handle], [['f32', n]]]] : []),
    ];
  }

  // The frame those calls read (their results), into the history, and shows it.
  capture(results, ms) {
    const outs = results[0].outs, look = this.look, B = this.cls.length;
    const map = this.guided ? channelMean(results[1].outs[0], look) : null;
    this.history.push({ x: outs[0], x0: outs[1], info: outs[2], ms, map });
    this.scrub.max = this.history.length - 1;
    this.strip.set(this.history, B, look);
    this.show(this.history.length - 1);
  }

  async stepOnce() {
    const stepped = await this.step();
    return stepped !== null && this.showStep(stepped);
  }

  // One step of the sampler in the worker and the read of the frame it makes, both sent before
  // this returns (the engine is ready once there is a sampler): the frame's call goes to the
  // worker as soon as the step's reply comes in. Resolves {handle, ms, frame} (frame: the
  // promise of the read), or null when there is no step to take.
  step() {
    if (this.handle == null || this.done()) return Promise.resolve(null);
    const handle = this.handle, t0 = performance.now(), engine = this.engineNow();
    const stepped = engine.call('sampler_step', [handle, 1]).then(() => performance.now() - t0);
    // The frame in a call of its own, not batched with the step: with several samplers playing,
    // the queue then serves every sampler's step before their frames, and the page draws them
    // in one burst and is idle between (batched, the draws came one per step, all the time, and
    // a slider's input-to-paint latency with six playing went from 63-71 to 123-146 ms).
    const frame = engine.callAll(this.frameCalls(handle, this.cls.length, this.guided));
    frame.catch(() => {}); // a failed step fails first; its frame's failure is awaited in showStep
    return stepped.then((ms) => ({ handle, ms, frame }));
  }

  // Shows the frame a step made; false if the sampler was replaced meanwhile. then(info) runs
  // once the frame has arrived, before it is drawn (play sends the next step there).
  async showStep({ handle, ms, frame }, then = () => {}) {
    const results = await frame;
    if (handle !== this.handle) return false;
    then(results[0].outs[2]);
    this.capture(results, ms);
    this.dataset.step = String(this.history.length - 1);
    return true;
  }

  // the guidance slider: the same seed, so the same x_T, run to the end at once
  async rerun() {
    await this.restart();
    if (this.busy) return;
    this.setBusy(true);
    try {
      while (await this.stepOnce());
    } catch (err) {
      this.showError(err.message);
    } finally {
      this.setBusy(false);
    }
  }

  async singleStep() {
    if (this.busy) return;
    this.setBusy(true);
    try {
      await this.stepOnce();
    } catch (err) {
      this.showError(err.message);
    } finally {
      this.setBusy(false);
    }
  }

  async togglePlay() {
    if (this.playing) {
      this.playing = false;
      return;
    }
    if (this.busy) return;
    if (this.done()) await this.restart();
    this.playing = true;
    const run = (this.run = (this.run || 0) + 1); // a play started later (after a resume) takes over
    this.playBtn.textContent = 'Pause';
    this.setBusy(true);
    // The worker computes the next step while the page draws this one and holds it on screen
    // (ahead): a step of play costs the most of the pace, the step and the drawing, not their sum.
    // A pause lets the step already computing finish and shows it.
    let ahead = null;
    const playOn = () => this.playing && run === this.run;
    try {
      let started = performance.now(), stepped = await this.step();
      while (stepped) {
        const shown = await this.showStep(stepped, (info) => {
          if (playOn() && info.step < info.steps) (ahead = this.step()).catch(() => {}); // its failure is awaited below
        });
        if (!shown || !ahead) break;
        // a step of play takes pace ms at least, start to start: the eye follows
        await new Promise((r) => setTimeout(r, Math.max(0, started + this.pace - performance.now())));
        if (playOn()) await this.onScreen(); // scrolled out of view: no steps until the reader comes back
        started = performance.now();
        [stepped, ahead] = [await ahead, null];
      }
    } catch (err) {
      this.showError(err.message);
    } finally {
      if (run === this.run) {
        this.playing = false;
        this.playBtn.textContent = 'Play';
        this.setBusy(false);
      }
    }
  }

  show(index) {
    const frame = this.history[index];
    if (!frame) return;
    this.scrub.value = index;
    const { step, steps, t, signal, noise, snr } = frame.info;
    this.readout.step.textContent = `${step} / ${steps}`;
    this.readout.t.textContent = String(t);
    this.readout.signal.textContent = fmt(signal);
    this.readout.noise.textContent = fmt(noise);
    this.readout.snr.textContent = snr < 0 ? '∞' : fmt(snr);
    const timed = this.history.slice(1, index + 1).map((f) => f.ms);
    this.readout.ms.textContent = index ? `${frame.ms.toFixed(1)} (mean ${(timed.reduce((a, b) => a + b, 0) / timed.length).toFixed(1)})` : '–';
    this.draw(frame);
    this.drawGuide(frame);
    this.strip.draw(index);
  }

  // ε̂_cond − ε̂_uncond per image, on one colour scale for the whole batch at this step
  drawGuide(frame) {
    const B = this.cls.length, cols = Math.min(B, 4), rows = Math.ceil(B / cols);
    const tile = 84, gap = 4, capH = 18, W = cols * (tile + gap) - gap, H = rows * (tile + capH) + capH;
    this.guideCanvas.hidden = !frame.map;
    if (!frame.map) return;
    const { ctx } = hiDpiCanvas(this.guideCanvas, { width: W, height: H });
    const colors = theme(this);
    ctx.fillStyle = colors.bg;
    ctx.fillRect(0, 0, W, H);
    let m = 0;
    for (const v of frame.map) m = Math.max(m, Math.abs(v));
    ctx.fillStyle = colors.text;
    ctx.font = font();
    const t = frame.info.t_pred, iv = this.runInterval;
    const skipped = iv && t >= 0 && (t < iv[0] || t > iv[1]); // this step ran the conditional half alone
    ctx.fillText(skipped ? `ε̂_c − ε̂_u: not guided at t = ${t} (only ${iv[0]}–${iv[1]})` : `ε̂_c − ε̂_u (±${fmt(m)})`, 0, 13);
    const side = this.look.side;
    for (let b = 0; b < B; b++) signedTile(ctx, frame.map, b * side * side, side, (b % cols) * (tile + gap), capH + Math.floor(b / cols) * (tile + capH), tile, m || 1);
  }

  // Up to 4 (x_t, x̂_0) pairs a row, as many as the widget's width takes; on a narrow one the
  // tiles shrink, so the canvas always fits and is never squeezed out of shape.
  draw(frame) {
    const style = getComputedStyle(this);
    const avail = (this.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)) || Infinity;
    const B = this.cls.length, gap = 4, padX = 14, capH = 18;
    const tile = Math.max(20, Math.min(84, Math.floor((avail - gap) / 2)));
    const pairW = 2 * tile + gap;
    const cols = Math.max(1, Math.min(B, 4, Math.floor((avail + padX) / (pairW + padX)))), rows = Math.ceil(B / cols);
    const W = cols * pairW + (cols - 1) * padX, H = rows * (tile + capH) + capH;
    Object.assign(this.canvas.dataset, { tile, cols }); // the layout, for whoever reads the pixels back
    const { ctx } = hiDpiCanvas(this.canvas, { width: W, height: H });
    const colors = theme(this);
    ctx.fillStyle = colors.bg;
    ctx.fillRect(0, 0, W, H);
    ctx.fillStyle = colors.text;
    ctx.font = font();
    for (let b = 0; b < B; b++) {
      const x = (b % cols) * (pairW + padX), y = capH + Math.floor(b / cols) * (tile + capH);
      if (b < cols) {
        ctx.fillText('x_t', x, 13);
        ctx.fillText('x̂_0', x + tile + gap, 13);
      }
      const { D: item, side, channels, names } = this.look;
      imageTile(ctx, frame.x, b * item, side, channels, x, y, tile);
      imageTile(ctx, frame.x0, b * item, side, channels, x + tile + gap, y, tile);
      const c = this.cls[b];
      ctx.fillText(c === NO_CLASS ? 'any' : names[c], x, y + tile + 13);
    }
  }
}

// a guidance map (B, C, S, S) as one (B, S, S) map: the mean over the channels
function channelMean(map, look) {
  if (look.channels === 1) return map;
  const plane = look.side * look.side, B = map.length / look.D, out = new Float32Array(B * plane);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < look.channels; c++)
      for (let i = 0; i < plane; i++) out[b * plane + i] += map[b * look.D + c * plane + i] / look.channels;
  return out;
}

defineElement('diffuscope-sampler', SamplerWidget);
