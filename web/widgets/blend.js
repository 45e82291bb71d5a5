// <diffuscope-blend> — one garment morphing into another, computed in the worker (src/edit.h).
//   <diffuscope-blend weights="../weights/fashion-unet.dsw" seed-a="1" seed-b="2" class-a="0" class-b="7">
// Two seeds and two classes; the slider u moves x_T along the great circle from seed A's noise
// to seed B's (spherical interpolation: Gaussian noise lives near the sphere of radius √D) and
// the class embedding from class A to class B, and DDIM with η = 0 maps each x_T to its image,
// so the images change continuously. A row of nine images along u shows the whole path; the
// large pair is the slider's own u (x_T and the image), with its run in a filmstrip.
// Attributes: weights, seed-a, seed-b, class-a, class-b (0..9), steps, guidance, u (0..1); live
// after connect. Removed from the page it stops and gives the shared network back; put back, it
// loads it again and recomputes.
import { DiffuscopeElement, h, labelled, readoutCell, whenVisible, defineElement, checkedInput } from '../core.js';
import { FASHION_WEIGHTS } from '../assets.js';
import { CLASS_NAMES, FASHION_LOOK, UNET_WANT, loadNetwork } from '../fashion.js';
import { Filmstrip } from '../filmstrip.js';
import { hiDpiCanvas, theme, font, imageTile, short } from '../plot.js';

const PATH_N = 9; // images along u in the row
// number attributes: [default, min, max, whole]
const NUMBERS = { 'seed-a': [1, 0, 2 ** 31, true], 'seed-b': [2, 0, 2 ** 31, true], 'class-a': [0, 0, 9, true], 'class-b': [7, 0, 9, true],
  steps: [20, 1, 1000, true], guidance: [2, 0, 20, false], u: [0.5, 0, 1, false] };

class BlendWidget extends DiffuscopeElement {
  static attributeNames = ['weights', ...Object.keys(NUMBERS)];

  build() {
    this.weightsUrl = this.urlAttr('weights', FASHION_WEIGHTS);
    this.look = FASHION_LOOK; // until the file says what its images are
    const num = (name, min, max, step) => h('input', { type: 'number', name, min, max, step, 'aria-label': name });
    const classSel = (name) => h('select', { 'aria-label': name }, ...CLASS_NAMES.map((n, i) => h('option', { value: i }, n)));
    this.seedA = num('seed A', 0, 2 ** 31, 1);
    this.seedB = num('seed B', 0, 2 ** 31, 1);
    this.classA = classSel('class-a');
    this.classB = classSel('class-b');
    this.stepsIn = num('steps', 1, 1000, 1);
    this.guidanceIn = num('guidance', 0, 20, 0.5);
    this.slider = h('input', { type: 'range', class: 'ds-blend-u', min: 0, max: 1, step: 0.025, 'aria-label': 'interpolation u from A to B' });
    this.inputs = { 'seed-a': this.seedA, 'seed-b': this.seedB, 'class-a': this.classA, 'class-b': this.classB, steps: this.stepsIn, guidance: this.guidanceIn, u: this.slider };
    for (const name of Object.keys(NUMBERS)) this.readNumber(name);
    this.uOut = h('output', {}, short(Number(this.slider.value)));
    this.pathCanvas = h('canvas', { class: 'ds-blend-path', role: 'img', 'aria-label': 'nine images from A to B' });
    this.canvas = h('canvas', { class: 'ds-blend-canvas', role: 'img', 'aria-label': 'x_T and the image at the slider' });
    this.progress = h('progress', { class: 'ds-progress', max: 1, value: 0, hidden: true, 'aria-label': 'loading the weights' });
    this.strip = new Filmstrip({ onPick: (i) => this.drawPair(i), engine: () => this.engine(), name: 'diffuscope-blend' });
    this.readout = {};
    this.append(
      h('div', { class: 'ds-controls' }, labelled('seed A', this.seedA), labelled('class A', this.classA), labelled('seed B', this.seedB),
        labelled('class B', this.classB), labelled('steps', this.stepsIn), labelled('guidance', this.guidanceIn)),
      h('label', { class: 'ds-control' }, 'A ', this.slider, ' B  u = ', this.uOut),
      this.progress,
      this.pathCanvas,
      this.canvas,
      h('div', { class: 'ds-readouts' }, readoutCell(this.readout, 'ms', 'ms per image:')),
      this.strip.element,
    );
    this.slider.addEventListener('input', () => {
      this.uOut.textContent = short(Number(this.slider.value));
      this.queue(() => this.showU());
    });
    for (const el of [this.seedA, this.seedB, this.classA, this.classB, this.stepsIn, this.guidanceIn])
      el.addEventListener('change', () => this.queue(() => this.refresh()));
    this.showNotice('The interpolation starts when it scrolls into view.');
    whenVisible(this, () => { this.seen = true; if (!this.suspended) this.queue(() => this.refresh()); });
  }

  readNumber(name) {
    const [fallback, lo, hi, whole] = NUMBERS[name], v = this.numberAttr(name, fallback, lo, hi);
    this.inputs[name].value = String(whole ? Math.round(v) : v);
    if (name === 'u' && this.uOut) this.uOut.textContent = short(Number(this.slider.value));
  }

  // A changed attribute: the same checks as at build, then the row (or, for u, the pair) again.
  attributeUpdated(name) {
    if (name in NUMBERS) this.readNumber(name);
    else { // weights: loaded again
      this.dropNetwork();
      this.weightsUrl = this.urlAttr('weights', FASHION_WEIGHTS);
    }
    if (!this.seen || this.suspended) return;
    // u alone redraws the pair, unless a whole row (which shows u too) is still to come
    if (name === 'u' && this.path && !this.rowPending) return this.queue(() => this.showU());
    this.rowPending = true;
    this.queue(() => { this.rowPending = false; return this.refresh(); });
  }

  // Removed from the page: the queued work is dropped, the job in flight stops at its next call,
  // the network is given back.
  suspend() {
    this.next = null;
    this.rowPending = false;
    this.dropNetwork();
  }

  resume() {
    if (this.seen) this.queue(() => this.refresh());
  }

  dropNetwork() {
    this.life = (this.life || 0) + 1; // work begun before gives up
    const net = this.net;
    this.net = null;
    if (net) this.engine().then((engine) => engine.releaseModel(net.url, UNET_WANT)).catch(() => {});
  }

  // One computation at a time; while one runs, only the newest request waits (a dragged
  // slider skips the positions it passed).
  queue(job) {
    this.next = job;
    if (this.running) return this.running;
    this.running = (async () => {
      while (this.next) {
        const j = this.next;
        this.next = null;
        const life = this.life;
        try {
          await j();
        } catch (err) {
          if (life === this.life) this.showError(err.message); // else removed meanwhile: the work just stops
        }
      }
      this.running = null;
    })();
    return this.running;
  }

  params() {
    const checked = checkedInput;
    return {
      seedA: Math.round(checked(this.seedA, 0, 2 ** 31)), seedB: Math.round(checked(this.seedB, 0, 2 ** 31)),
      classA: Number(this.classA.value), classB: Number(this.classB.value),
      steps: Math.round(checked(this.stepsIn, 1, 1000)), guidance: checked(this.guidanceIn, 0, 20),
    };
  }

  // images at u (an array in [0, 1]): DDIM η = 0 from slerped noise and blended classes.
  // Returns the run's frames {x, x0} (F, B, D) pixels.
  async sample(us) {
    const engine = await this.engine(), life = this.life;
    const removed = () => { if (life !== this.life) throw new Error('the widget was removed from the page'); };
    if (!this.net) {
      this.progress.hidden = false;
      const url = this.weightsUrl;
      try {
        const net = await loadNetwork(url, engine, (f) => (this.progress.value = f), UNET_WANT);
        if (life !== this.life || this.net) engine.releaseModel(url, UNET_WANT); // removed, or loaded twice
        else this.net = { ...net, url };
      } finally {
        this.progress.hidden = true;
      }
      removed();
      this.useLook(this.net.look);
    }
    const p = this.params(), B = us.length, D = this.look.D;
    const cls = new Int32Array(B).fill(p.classA);
    const h0 = (await engine.call('sampler_new', [this.net.handle, this.net.schedule, 'ddim', p.steps, 0, p.guidance, 1, p.seedA, B, cls])).ret;
    try {
      removed();
      if (p.classA !== p.classB) await engine.call('sampler_blend', [h0, new Int32Array(B).fill(p.classB), Float32Array.from(us)]);
      removed();
      await engine.call('sampler_slerp', [h0, p.seedA, p.seedB, Float64Array.from(us)]);
      removed();
      const F = p.steps + 1;
      const { outs } = await engine.call('edit_run', [h0, 0], [['u8', F * B * D], ['u8', F * B * D], ['f32', 1], ['recs', 'sampler_info', F]]);
      return Array.from({ length: F }, (_, f) => ({ x: outs[0].subarray(f * B * D, (f + 1) * B * D), x0: outs[1].subarray(f * B * D, (f + 1) * B * D) }));
    } finally {
      await engine.call('free', [h0]);
    }
  }

  // the file's class names in both menus (a class beyond them falls back to 0), its images' size and channels
  useLook(look) {
    this.look = look;
    for (const sel of [this.classA, this.classB]) {
      const before = sel.value;
      sel.replaceChildren(...look.names.map((n, i) => h('option', { value: i }, n)));
      sel.value = Number(before) < look.names.length ? before : '0';
    }
  }

  async refresh() {
    const us = Array.from({ length: PATH_N }, (_, i) => i / (PATH_N - 1));
    const run = await this.sample(us);
    this.path = run[run.length - 1].x;
    this.drawPath();
    await this.showU();
    this.clearStatus();
    this.dataset.ready = '';
  }

  async showU() {
    const u = Number(this.slider.value), t0 = performance.now();
    this.run = await this.sample([u]);
    const ms = performance.now() - t0;
    this.readout.ms.textContent = ms.toFixed(0);
    this.shown = { u, pixels: this.run[this.run.length - 1].x };
    this.dataset.u = String(u);
    this.strip.set(this.run, 1, this.look);
    this.drawPair(this.run.length - 1);
    this.drawPath();
  }

  drawPath() {
    const tile = 56, gap = 4, capH = 16, W = PATH_N * (tile + gap) - gap, H = tile + capH + 4;
    const { ctx } = hiDpiCanvas(this.pathCanvas, { width: W, height: H });
    const colors = theme(this);
    ctx.fillStyle = colors.bg;
    ctx.fillRect(0, 0, W, H);
    ctx.fillStyle = colors.text;
    ctx.font = font(11);
    const p = this.params();
    const { names, D, side, channels } = this.look;
    ctx.fillText(`A: ${names[p.classA]}, seed ${p.seedA}`, 0, 12);
    const right = `B: ${names[p.classB]}, seed ${p.seedB}`;
    ctx.fillText(right, W - ctx.measureText(right).width, 12);
    if (!this.path) return;
    for (let i = 0; i < PATH_N; i++) imageTile(ctx, this.path, i * D, side, channels, i * (tile + gap), capH, tile);
    if (this.shown) { // where the slider is along the row
      ctx.fillStyle = colors.accent;
      ctx.fillRect(this.shown.u * (W - 4), capH + tile + 1, 4, 3);
    }
  }

  drawPair(i) {
    const fr = this.run?.[i];
    if (!fr) return;
    const tile = 140, gap = 8, capH = 16, W = 2 * tile + gap, H = tile + capH;
    const { ctx } = hiDpiCanvas(this.canvas, { width: W, height: H });
    const colors = theme(this);
    ctx.fillStyle = colors.bg;
    ctx.fillRect(0, 0, W, H);
    ctx.fillStyle = colors.text;
    ctx.font = font();
    ctx.fillText(`x_t, step ${i} of ${this.run.length - 1}`, 0, 12);
    ctx.fillText(`x̂_0 at u = ${short(this.shown?.u ?? 0)}`, tile + gap, 12);
    const { side, channels } = this.look;
    imageTile(ctx, fr.x, 0, side, channels, 0, capH, tile);
    imageTile(ctx, fr.x0, 0, side, channels, tile + gap, capH, tile);
  }
}

defineElement('diffuscope-blend', BlendWidget);
