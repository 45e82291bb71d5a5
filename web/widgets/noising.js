// <diffuscope-noising t="250"> — the forward process q(x_t | x_0) on a real Fashion-MNIST
// test image: move t and watch √ᾱ_t x_0 + √(1−ᾱ_t) ε, with √ᾱ_t and the SNR. The noise is
// drawn and added in C (ds_forward_noise); this file picks the image and draws.
import { DiffuscopeElement, h, labelled, readoutCell, whenVisible, defineElement, SCHEDULES } from '../core.js';
import { CLASS_NAMES, SIDE, D, loadFashionSample } from '../fashion.js';
import { hiDpiCanvas, greyTile, fmt } from '../plot.js';
import { FASHION_SAMPLE } from '../assets.js';

class NoisingWidget extends DiffuscopeElement {
  static attributeNames = ['sample', 'schedule', 't'];

  build() {
    this.sampleUrl = this.urlAttr('sample', FASHION_SAMPLE);
    this.schedule = this.choiceAttr('schedule', SCHEDULES, 'linear');
    this.classSel = h('select', { 'aria-label': 'class of the test image' }, ...CLASS_NAMES.map((n, i) => h('option', { value: i }, n)));
    this.indexIn = h('input', { type: 'number', min: 1, max: 8, step: 1, value: 1, 'aria-label': 'which test image of the class' });
    this.slider = h('input', { type: 'range', min: 0, max: 1000, step: 1, value: Math.round(this.numberAttr('t', 250, 0, 1000)), 'aria-label': 'diffusion step t' });
    this.seedIn = h('input', { type: 'number', min: 0, max: 2 ** 31, step: 1, value: 1, 'aria-label': 'noise seed' });
    this.x0Canvas = h('canvas', { class: 'ds-forward-canvas', width: 140, height: 140, role: 'img', 'aria-label': 'the clean test image x0' });
    this.xtCanvas = h('canvas', { class: 'ds-forward-canvas', width: 140, height: 140, role: 'img', 'aria-label': 'the noised image x_t' });
    this.readout = {};
    const cell = (k, label) => readoutCell(this.readout, k, label);
    this.append(
      h('div', { class: 'ds-controls' }, labelled('image', this.classSel), labelled('number', this.indexIn), labelled('noise seed', this.seedIn)),
      h('label', { class: 'ds-control' }, 't = ', (this.tLabel = h('output', {}, '')), this.slider),
      h('div', { class: 'ds-forward-pair' }, h('figure', {}, this.x0Canvas, h('figcaption', {}, 'x_0')),
        h('figure', {}, this.xtCanvas, h('figcaption', {}, 'x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε'))),
      h('div', { class: 'ds-readouts' }, cell('signal', '√ᾱ_t ='), cell('noise', '√(1−ᾱ_t) ='), cell('snr', 'SNR =')),
    );
    for (const el of [this.classSel, this.indexIn, this.seedIn]) el.addEventListener('change', () => this.update());
    this.slider.addEventListener('input', () => this.update());
    whenVisible(this, () => this.update());
  }

  // A changed attribute: the same checks as at build.
  attributeUpdated(name) {
    if (name === 'sample') this.sampleUrl = this.urlAttr('sample', 'data/fashion-sample.bin');
    if (name === 'schedule') this.schedule = this.choiceAttr('schedule', SCHEDULES, 'linear');
    if (name === 't') this.slider.value = Math.round(this.numberAttr('t', 250, 0, 1000));
    this.update();
  }

  async update() {
    const token = (this.token = (this.token || 0) + 1);
    try {
      const engine = await this.engine();
      const sample = await loadFashionSample(this.sampleUrl, engine);
      const perClass = sample.count / 10;
      this.indexIn.max = perClass;
      const c = Number(this.classSel.value), i = Math.min(perClass, Math.max(1, Math.round(Number(this.indexIn.value) || 1)));
      const k = c * perClass + (i - 1); // the sample file is class-major
      const pixels = sample.pixels.subarray(k * D, (k + 1) * D);
      const t = Number(this.slider.value), seed = Math.max(0, Math.round(Number(this.seedIn.value) || 0));
      const { outs } = await engine.call('forward_noise', [pixels, D, t, this.schedule, seed], [['u8', D], ['rec', 'noise_info']]);
      if (token !== this.token) return;
      this.tLabel.textContent = `${t} / 1000`;
      this.drawImage(this.x0Canvas, pixels);
      this.drawImage(this.xtCanvas, outs[0]);
      const { signal, noise, snr } = outs[1];
      this.readout.signal.textContent = fmt(signal);
      this.readout.noise.textContent = fmt(noise);
      this.readout.snr.textContent = snr < 0 ? '∞' : fmt(snr);
      this.clearStatus();
      this.dataset.ready = '';
    } catch (err) {
      this.showError(err.message);
    }
  }

  drawImage(canvas, pixels) {
    const { ctx, width } = hiDpiCanvas(canvas);
    greyTile(ctx, pixels, 0, SIDE, 0, 0, width);
  }
}

defineElement('diffuscope-noising', NoisingWidget);
