// <diffuscope-edit> — editing with a trained UNet (the Fashion one by default), computed in the
// worker (src/edit.h).
//   <diffuscope-edit weights="../weights/fashion-unet.dsw" mode="sdedit" strength="800" class="0">
// SDEdit: draw on the pad (mouse, touch or keyboard; brush size, eraser, clear) or pick a
// start image, choose a class and a strength t₀: the image is noised to t₀ with
// q(x_t₀ | x_0) and denoised from there to an image of that class. Inpainting: paint a mask
// over an image; the masked pixels are regenerated (for any class), the rest kept exactly
// (RePaint resampling r = 1..10). Every step's x_t and x̂_0 are kept in a filmstrip, which
// scrubs and exports as a PNG strip or an animated GIF.
// The widget follows the weights file (fashion.js imageLook): its class names, its image side
// (the pad is side × side pixels at the same CSS size) and channels (grey ink is copied to every
// channel of an RGB model, the mask covers every channel, the results are drawn in colour). The
// shipped test images are offered only for a file of their look (28 × 28 grey, FASHION_LOOK);
// for another the start image is the drawing or an image the model generated from the seed.
// Attributes: weights, sample, mode (sdedit|inpaint), class (0..9), strength (t₀, 0..1000),
// steps, guidance, seed, resample (1..10); live after connect (an edit shown runs again).
// Removed from the page it stops and gives the shared network back; put back, it loads it again.
import { DiffuscopeElement, h, labelled, readoutCell, whenVisible, defineElement, checkedInput } from '../core.js';
import { FASHION_WEIGHTS, FASHION_SAMPLE } from '../assets.js';
import { CLASS_NAMES, FASHION_LOOK, UNET_WANT, loadFashionSample, loadNetwork } from '../fashion.js';
import { Filmstrip } from '../filmstrip.js';
import { hiDpiCanvas, theme, font, imageTile } from '../plot.js';

const PAD = 224; // CSS px of the side x side pad (8 px per pixel at Fashion's 28)
// number attributes: [default, min, max, whole]
const NUMBERS = { strength: [800, 0, 1000, true], steps: [20, 1, 1000, true], guidance: [2, 0, 20, false], seed: [1, 0, 2 ** 31, true], resample: [1, 1, 10, true] };

class EditWidget extends DiffuscopeElement {
  static attributeNames = ['weights', 'sample', 'mode', 'class', ...Object.keys(NUMBERS)];

  build() {
    this.weightsUrl = this.urlAttr('weights', FASHION_WEIGHTS);
    this.sampleUrl = this.urlAttr('sample', FASHION_SAMPLE);
    this.picked = null;               // a start image's pixels (a test or generated image), or null: the drawing
    this.generated = null;            // {key, pixels (D)}: the model's own image from the seed (a non-Fashion file)
    const num = (name, value, min, max, step) => h('input', { type: 'number', name, value, min, max, step, 'aria-label': name });

    this.modeSel = h('select', { 'aria-label': 'mode' }, h('option', { value: 'sdedit' }, 'SDEdit: denoise a drawing or an image'),
      h('option', { value: 'inpaint' }, 'inpaint: regenerate a painted mask'));
    this.modeSel.value = this.choiceAttr('mode', ['sdedit', 'inpaint'], 'sdedit');
    this.classSel = h('select', { 'aria-label': 'class' }, ...CLASS_NAMES.map((n, i) => h('option', { value: i }, n)));
    this.readClass();
    this.strengthIn = h('input', { type: 'range', name: 'strength', min: 0, max: 1000, step: 10, 'aria-label': 'strength t0' });
    this.strengthOut = h('output', {});
    this.strengthIn.addEventListener('input', () => (this.strengthOut.textContent = this.strengthIn.value));
    this.stepsIn = num('steps', 0, 1, 1000, 1);
    this.guidanceIn = num('guidance', 0, 0, 20, 0.5);
    this.seedIn = num('seed', 0, 0, 2 ** 31, 1);
    this.resampleIn = num('resample', 0, 1, 10, 1);
    this.inputs = { strength: this.strengthIn, steps: this.stepsIn, guidance: this.guidanceIn, seed: this.seedIn, resample: this.resampleIn };
    for (const name of Object.keys(NUMBERS)) this.readNumber(name);
    this.brushIn = h('input', { type: 'range', name: 'brush', min: 1, max: 4, step: 1, value: 2, 'aria-label': 'brush size' });
    this.eraser = h('input', { type: 'checkbox', name: 'eraser', 'aria-label': 'eraser' });
    this.sourceSel = h('select', { 'aria-label': 'start from' });
    this.imageIn = num('image', 0, 0, 79, 1);
    this.pad = h('canvas', { class: 'ds-edit-pad', tabindex: 0, role: 'img' });
    this.result = h('canvas', { class: 'ds-edit-result', role: 'img', 'aria-label': 'x_t and the predicted x0 at the chosen step' });
    this.runBtn = h('button', { type: 'button', class: 'ds-edit-run', onclick: () => this.edit() }, 'Edit');
    this.clearBtn = h('button', { type: 'button', class: 'ds-edit-clear', onclick: () => this.clear() }, 'Clear');
    this.progress = h('progress', { class: 'ds-progress', max: 1, value: 0, hidden: true, 'aria-label': 'loading the weights' });
    this.strip = new Filmstrip({ onPick: (i) => this.show(i), engine: () => this.engine(), name: 'diffuscope-edit' });
    this.readout = {};
    this.append(
      h('div', { class: 'ds-controls' }, labelled('mode', this.modeSel), labelled('start from', this.sourceSel), labelled('test image', this.imageIn),
        labelled('class', this.classSel), labelled('steps', this.stepsIn), labelled('guidance', this.guidanceIn), labelled('seed', this.seedIn),
        labelled('resample r', this.resampleIn)),
      h('div', { class: 'ds-controls' }, h('label', { class: 'ds-control ds-edit-strength' }, 'strength t₀ ', this.strengthIn, this.strengthOut),
        h('label', { class: 'ds-control' }, 'brush ', this.brushIn), h('label', { class: 'ds-control' }, this.eraser, ' eraser'), this.clearBtn, this.runBtn),
      this.progress,
      h('div', { class: 'ds-edit-views' }, this.pad, this.result),
      h('div', { class: 'ds-readouts' }, readoutCell(this.readout, 'step', 'step'), readoutCell(this.readout, 't', 't ='),
        readoutCell(this.readout, 'ms', 'click to image (ms):')),
      this.strip.element,
    );
    this.modeSel.addEventListener('change', () => this.defaultSource());
    for (const el of [this.modeSel, this.sourceSel, this.imageIn]) el.addEventListener('change', () => this.pickSource());
    this.seedIn.addEventListener('change', () => this.pickSource());
    this.padEvents();
    this.useLook(FASHION_LOOK); // until the file says what its images are
    this.drawResult(null);
    this.pickSource();
    whenVisible(this, () => { this.seen = true; if (!this.suspended) this.prepare(); });
  }

  // the class as a digit among the page's own CSS class names (class="0" or "shirt-demo 6")
  readClass() {
    const clsAttr = (this.getAttribute('class') || '').split(/\s+/).find((t) => /^\d+$/.test(t));
    if (clsAttr === undefined) return;
    if (Number(clsAttr) <= 9) this.classSel.value = clsAttr;
    else this.attributeError(`attribute class="${clsAttr}" must be a class 0..9; using 0`, 'class');
  }

  readNumber(name) {
    const [fallback, lo, hi, whole] = NUMBERS[name], v = this.numberAttr(name, fallback, lo, hi);
    this.inputs[name].value = whole ? Math.round(v) : v;
    if (name === 'strength') this.strengthOut.textContent = this.strengthIn.value;
  }

  // A changed attribute: the same checks as at build; an edit on show runs again with it.
  attributeUpdated(name) {
    if (name in NUMBERS) this.readNumber(name);
    else if (name === 'mode') {
      this.modeSel.value = this.choiceAttr('mode', ['sdedit', 'inpaint'], 'sdedit');
      this.defaultSource();
    }
    else if (name === 'class') {
      const before = this.classSel.value;
      this.readClass();
      if (this.classSel.value === before) return; // the page's own CSS classes changed
    } else { // weights, sample: loaded again
      this.dropNetwork();
      this.sample = null;
      if (name === 'weights') this.weightsUrl = this.urlAttr('weights', FASHION_WEIGHTS);
      else this.sampleUrl = this.urlAttr('sample', FASHION_SAMPLE);
      if (this.seen && !this.suspended) this.prepare();
    }
    this.pickSource();
    if (this.run && !this.suspended) this.edit();
  }

  // Removed from the page: an edit in flight stops at its next call, the network is given back.
  suspend() {
    this.dropNetwork();
  }

  resume() {
    if (this.seen) this.prepare();
  }

  dropNetwork() {
    this.life = (this.life || 0) + 1; // work begun before gives up
    const net = this.net;
    this.net = null;
    this.generated = null; // the old network's image
    if (net) this.engine().then((engine) => engine.releaseModel(net.url, UNET_WANT)).catch(() => {});
  }

  // the network and the test images, loaded when the widget first comes into view (again after
  // a removal or new weights)
  async prepare() {
    const life = this.life;
    try {
      const engine = await this.engine();
      this.progress.hidden = false;
      const url = this.weightsUrl, net = await loadNetwork(url, engine, (f) => (this.progress.value = f), UNET_WANT);
      this.progress.hidden = true;
      if (life !== this.life || this.net) return engine.releaseModel(url, UNET_WANT); // removed, or loaded twice
      this.net = { ...net, url };
      this.useLook(this.net.look);
      this.sample = this.fashionLook() ? await loadFashionSample(this.sampleUrl, engine) : null;
      await this.pickSource();
      this.dataset.ready = '';
    } catch (err) {
      this.progress.hidden = true;
      if (life === this.life) this.showError(err.status === 404 ? `The weights file ${new URL(this.weightsUrl).pathname} is missing (not trained or not shipped yet).` : err.message);
    }
  }

  // the file's class names, its images' side and channels: the pad, the drawing, the mask and
  // the start images follow (drawn anew when the shape changes)
  useLook(look) {
    const before = this.classSel.value, reshaped = this.look?.D !== look.D || this.look?.side !== look.side;
    const wasFashion = this.look ? this.fashionLook() : null;
    this.look = look;
    this.classSel.replaceChildren(...look.names.map((n, i) => h('option', { value: i }, n)));
    this.classSel.value = Number(before) < look.names.length ? before : '0';
    if (reshaped || !this.drawing) {
      this.drawing = new Uint8Array(look.D);              // the pad's ink on every channel, 0 = background (as in Fashion-MNIST)
      this.mask = new Uint8Array(look.side * look.side);  // inpainting: 1 = regenerate (every channel of the pixel)
      this.cursor = { x: look.side >> 1, y: look.side >> 1 }; // the keyboard brush
      this.generated = null;
    }
    const start = this.sourceSel.value;
    this.sourceSel.replaceChildren(h('option', { value: 'drawing' }, 'my drawing'),
      this.fashionLook() ? h('option', { value: 'image' }, 'a test image') : h('option', { value: 'generated' }, 'a generated image'));
    if (wasFashion === this.fashionLook()) this.sourceSel.value = start;
    else this.defaultSource();
    this.imageIn.disabled = !this.fashionLook();
    if (this.imageIn.parentElement) this.imageIn.parentElement.hidden = !this.fashionLook(); // its label too
    this.pad.setAttribute('aria-label', `drawing pad, ${look.side} by ${look.side}: draw with the mouse or a finger, or move with the arrow keys and press space to paint`);
    this.drawPad();
  }

  // a new mode or file: inpainting another file than Fashion paints over the model's own image
  defaultSource() {
    this.sourceSel.value = this.inpainting() && !this.fashionLook() ? 'generated' : 'drawing';
  }

  // the shipped test images fit the file (28 x 28 grey)
  fashionLook() {
    const { side, channels } = this.look;
    return side === FASHION_LOOK.side && channels === FASHION_LOOK.channels;
  }

  inpainting() {
    return this.modeSel.value === 'inpaint';
  }

  // what the pad shows: the drawing, a test image (a Fashion file: inpainting always edits one)
  // or the model's own image from the seed (another file); a failed generation is shown
  pickSource() {
    return this.choosePixels().catch((err) => this.showError(err.message));
  }

  async choosePixels() {
    const fashion = this.fashionLook(), D = this.look.D;
    this.sourceSel.disabled = fashion && this.inpainting();
    this.strengthIn.disabled = this.inpainting();
    this.resampleIn.disabled = !this.inpainting();
    if (fashion) {
      const useImage = this.inpainting() || this.sourceSel.value === 'image';
      const i = Math.max(0, Math.min(79, Math.round(Number(this.imageIn.value) || 0)));
      this.picked = useImage && this.sample ? this.sample.pixels.subarray(i * D, (i + 1) * D) : null;
      if (this.picked && !this.inpainting()) this.classSel.value = String(this.sample.labels[i]);
    } else this.picked = this.sourceSel.value === 'generated' ? await this.generate() : null;
    this.drawPad();
  }

  // A plain sample from the seed (DDIM, the edit's steps and guidance, the class chosen when it is
  // made: a later class is what inpainting paints in, not a new start), made once per seed; null
  // before the network is loaded or when the widget was removed.
  async generate() {
    if (!this.net) return null;
    const p = this.params(), key = `${p.seed}/${p.steps}/${p.guidance}`;
    if (this.generated?.key === key) return this.generated.pixels;
    const engine = await this.engine(), life = this.life, D = this.look.D;
    const handle = (await engine.call('sampler_new', [this.net.handle, this.net.schedule, 'ddim', p.steps, 0, p.guidance, 1, p.seed, 1, Int32Array.from([p.cls])])).ret;
    try {
      const F = p.steps + 1;
      const { outs } = await engine.call('edit_run', [handle, 0], [['u8', F * D], ['u8', F * D], ['f32', 1], ['recs', 'sampler_info', F]]);
      if (life !== this.life) return null;
      this.generated = { key, pixels: outs[0].slice((F - 1) * D, F * D) };
      return this.generated.pixels;
    } finally {
      await engine.call('free', [handle]).catch(() => {});
    }
  }

  padEvents() {
    let down = false;
    const at = (e) => {
      const r = this.pad.getBoundingClientRect(), side = this.look.side;
      return { x: Math.floor(((e.clientX - r.left) / r.width) * side), y: Math.floor(((e.clientY - r.top) / r.height) * side) };
    };
    this.pad.addEventListener('pointerdown', (e) => {
      down = true;
      this.pad.setPointerCapture?.(e.pointerId);
      this.paint(at(e));
      e.preventDefault();
    });
    this.pad.addEventListener('pointermove', (e) => down && this.paint(at(e)));
    const up = () => (down = false);
    this.pad.addEventListener('pointerup', up);
    this.pad.addEventListener('pointercancel', up);
    this.pad.addEventListener('keydown', (e) => {
      const move = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[e.key];
      if (move) {
        const last = this.look.side - 1;
        this.cursor.x = Math.max(0, Math.min(last, this.cursor.x + move[0]));
        this.cursor.y = Math.max(0, Math.min(last, this.cursor.y + move[1]));
        if (e.shiftKey) this.paint(this.cursor); // shift + arrows draws a line
        else this.drawPad();
      } else if (e.key === ' ' || e.key === 'Enter') this.paint(this.cursor);
      else return;
      e.preventDefault();
    });
  }

  // one dab of the brush at pixel (x, y): ink on the drawing (every channel), or the mask when
  // inpainting; the brush's radius is in pad CSS px, so it covers the same share of any side
  paint({ x, y }) {
    if (!this.inpainting() && this.picked) { // drawing over a start image starts from it
      this.drawing.set(this.picked);
      this.sourceSel.value = 'drawing';
      this.picked = null;
    }
    const { side, channels } = this.look, plane = side * side;
    const ink = this.eraser.checked ? 0 : this.inpainting() ? 1 : 255;
    const r = ((Number(this.brushIn.value) - 0.5) * side) / FASHION_LOOK.side, reach = Math.ceil(r);
    for (let dy = -reach; dy <= reach; dy++)
      for (let dx = -reach; dx <= reach; dx++) {
        const px = x + dx, py = y + dy;
        if (px < 0 || py < 0 || px >= side || py >= side || dx * dx + dy * dy > r * r) continue;
        if (this.inpainting()) this.mask[py * side + px] = ink;
        else for (let c = 0; c < channels; c++) this.drawing[c * plane + py * side + px] = ink;
      }
    this.cursor = { x, y };
    this.drawPad();
  }

  clear() {
    (this.inpainting() ? this.mask : this.drawing).fill(0);
    this.drawPad();
  }

  // the mask as the sampler takes it: (channels, side, side), every channel of a painted pixel
  channelMask() {
    const plane = this.mask.length, full = new Uint8Array(this.look.D);
    for (let c = 0; c < this.look.channels; c++) full.set(this.mask, c * plane);
    return full;
  }

  startPixels() {
    return this.picked ?? this.drawing;
  }

  drawPad() {
    const { ctx } = hiDpiCanvas(this.pad, { width: PAD, height: PAD });
    const { side, channels } = this.look, cell = PAD / side;
    imageTile(ctx, this.startPixels(), 0, side, channels, 0, 0, PAD);
    if (this.inpainting()) {
      ctx.fillStyle = 'rgba(224, 64, 64, 0.55)';
      for (let i = 0; i < this.mask.length; i++) if (this.mask[i]) ctx.fillRect((i % side) * cell, Math.floor(i / side) * cell, cell, cell);
    }
    if (document.activeElement === this.pad) {
      ctx.strokeStyle = theme(this).accent;
      ctx.strokeRect(this.cursor.x * cell + 0.5, this.cursor.y * cell + 0.5, cell - 1, cell - 1);
    }
  }

  params() {
    const checked = checkedInput;
    return {
      steps: Math.round(checked(this.stepsIn, 1, 1000)),
      guidance: checked(this.guidanceIn, 0, 20),
      seed: Math.round(checked(this.seedIn, 0, 2 ** 31)),
      resample: Math.round(checked(this.resampleIn, 1, 10)),
      t0: Math.round(Number(this.strengthIn.value)),
      cls: Number(this.classSel.value),
    };
  }

  // One edit, start to end in one worker call (edit_run), then the filmstrip.
  async edit() {
    if (this.busy) { this.editAgain = true; return; } // an attribute changed meanwhile: once more after
    const clicked = performance.now();
    this.busy = true;
    this.runBtn.disabled = true;
    let handle = null;
    const engine = await this.engine();
    const life = this.life, removed = () => { if (life !== this.life) throw new Error('the widget was removed from the page'); };
    try {
      if (!this.net) await this.prepare();
      if (!this.net) return;
      removed();
      if (!this.fashionLook() && this.sourceSel.value === 'generated') this.picked = await this.generate(); // seed or class changed
      removed();
      const p = this.params(), D = this.look.D;
      const kind = 'ddim', eta = 0, clip = 1;
      handle = (await engine.call('sampler_new', [this.net.handle, this.net.schedule, kind, p.steps, eta, p.guidance, clip, p.seed, 1, Int32Array.from([p.cls])])).ret;
      removed();
      if (this.inpainting()) await engine.call('sampler_inpaint', [handle, this.startPixels(), this.channelMask(), p.resample, p.seed + 1]);
      else await engine.call('sampler_sdedit', [handle, p.t0, this.startPixels()], [['rec', 'sampler_info']]);
      removed();
      const F = (await engine.call('sampler_info', [handle], [['rec', 'sampler_info']])).outs[0];
      const frames = F.steps + 1;
      removed();
      const { outs } = await engine.call('edit_run', [handle, 0], [['u8', frames * D], ['u8', frames * D], ['f32', 1], ['recs', 'sampler_info', frames]]);
      removed();
      this.run = Array.from({ length: frames }, (_, f) => ({ x: outs[0].subarray(f * D, (f + 1) * D), x0: outs[1].subarray(f * D, (f + 1) * D), info: outs[3][f] }));
      this.strip.set(this.run, 1, this.look);
      this.show(frames - 1);
      const ms = performance.now() - clicked;
      this.readout.ms.textContent = ms.toFixed(0);
      this.dataset.editMs = ms.toFixed(1);
      this.dataset.edits = String(Number(this.dataset.edits || 0) + 1);
      this.clearStatus();
    } catch (err) {
      if (life !== this.life) return; // removed meanwhile: the work just stops
      if (!this.run) this.drawResult(null);
      this.showError(err.message);
    } finally {
      if (handle != null) await engine.call('free', [handle]).catch(() => {});
      this.busy = false;
      this.runBtn.disabled = false;
      if (this.editAgain) {
        this.editAgain = false;
        if (!this.suspended) this.edit();
      }
    }
  }

  // the final image as pixels (what the tests read; null before an edit)
  finalPixels() {
    return this.run ? this.run[this.run.length - 1].x : null;
  }

  show(i) {
    const fr = this.run?.[i];
    if (!fr) return;
    this.readout.step.textContent = `${fr.info.step} / ${fr.info.steps}`;
    this.readout.t.textContent = String(fr.info.t);
    this.drawResult(fr);
  }

  drawResult(fr) {
    const tile = 160, gap = 8, capH = 16, W = 2 * tile + gap, H = tile + capH;
    const { ctx } = hiDpiCanvas(this.result, { width: W, height: H });
    const colors = theme(this);
    ctx.fillStyle = colors.bg;
    ctx.fillRect(0, 0, W, H);
    ctx.fillStyle = colors.text;
    ctx.font = font();
    ctx.fillText(fr ? `x_t (t = ${fr.info.t})` : 'x_t', 0, 12);
    ctx.fillText('x̂_0', tile + gap, 12);
    if (!fr) {
      ctx.fillStyle = colors.muted;
      ctx.fillText('press Edit', 8, capH + tile / 2);
      return;
    }
    const { side, channels } = this.look;
    imageTile(ctx, fr.x, 0, side, channels, 0, capH, tile);
    imageTile(ctx, fr.x0, 0, side, channels, tile + gap, capH, tile);
  }
}

defineElement('diffuscope-edit', EditWidget);
