// filmstrip.js — what every sampling widget shares to keep a whole run: a strip of x_t and x̂_0
// per step that the reader clicks or drags (or moves through with the arrow keys) to scrub, and an
// export of the run as a PNG strip and as an animated GIF (encoded in C by src/gif.c through
// the face's gif_encode, the same encoder as `diffuscope sample --gif`). Also the signed
// tile that shows a guidance map ε̂_cond − ε̂_uncond (blue below zero, red above).
// A run is an array of frames {x: Uint8Array (B·D), x0: Uint8Array (B·D)}, B images of a look
// (fashion.js imageLook: side, channels, D = channels·side²); RGB runs export in colour as PNG,
// in grey (luma) as GIF.
// The strip is never wider than its box: a run with more steps than tiles fit (100 or 1000 steps)
// shows evenly spaced steps, the chosen one always among them, while the pointer (by position
// along the strip) and the keys (one step, PageUp/PageDown ten) still reach every step; the
// exports keep every step.
// Not here: computing a run (C, in the worker), the widgets' own views.
import { h } from './core.js';
import { FASHION_LOOK } from './fashion.js';
import { hiDpiCanvas, theme, font, imageTile } from './plot.js';

const PNG_ROW = 100; // steps per row of the PNG strip

// a (side x side) float map centred on 0 as a size x size square at (x, y); scale: |v| at
// full colour (the map's own max |v| if not given). Returns the scale used.
export function signedTile(ctx, values, offset, side, x, y, size, scale) {
  let m = scale || 0;
  if (!m) for (let i = 0; i < side * side; i++) m = Math.max(m, Math.abs(values[offset + i]));
  const img = new ImageData(side, side);
  for (let i = 0; i < side * side; i++) {
    const v = m > 0 ? Math.max(-1, Math.min(1, values[offset + i] / m)) : 0;
    const a = Math.round(255 * Math.abs(v));
    img.data[4 * i] = v > 0 ? 255 : 255 - a;
    img.data[4 * i + 1] = 255 - a;
    img.data[4 * i + 2] = v < 0 ? 255 : 255 - a;
    img.data[4 * i + 3] = 255;
  }
  const tile = document.createElement('canvas');
  tile.width = tile.height = side;
  tile.getContext('2d').putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tile, x, y, size, size);
  return m;
}

// The run's frames composed into images for export: frame f = for each image, x_t then x̂_0,
// side by side with a 2 px gap, 4 px between images. Returns {pixels (F, C, H, W), W, H, C}
// with the look's channels, or C = 1 (luma) when grey is asked for (the GIF).
export function runFrames(run, B, look = FASHION_LOOK, grey = false) {
  const S = look.side, plane = S * S, W = B * (2 * S + 2) + (B - 1) * 4, H = S, F = run.length;
  const C = grey ? 1 : look.channels, LUMA = [0.299, 0.587, 0.114];
  const pixels = new Uint8Array(F * C * W * H).fill(60);
  run.forEach((fr, f) => {
    for (let b = 0; b < B; b++)
      for (const [k, src] of [[0, fr.x], [1, fr.x0]])
        for (let c = 0; c < C; c++)
          for (let y = 0; y < S; y++)
            for (let x = 0; x < S; x++) {
              const i = b * look.D + y * S + x;
              const v = C === look.channels ? src[i + c * plane]
                : Math.round(LUMA.reduce((sum, w, ch) => sum + w * src[i + ch * plane], 0));
              pixels[((f * C + c) * H + y) * W + b * (2 * S + 6) + k * (S + 2) + x] = v;
            }
  });
  return { pixels, W, H, C };
}

function download(blob, name) {
  const a = h('a', { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

export class Filmstrip {
  // onPick(index): the reader chose frame `index`; engine(): the engine, for the GIF; name: file stem
  constructor({ onPick, engine, name }) {
    this.onPick = onPick;
    this.engineOf = engine;
    this.name = name;
    this.run = [];
    this.B = 1;
    this.look = FASHION_LOOK;
    this.image = 0; // which image of the batch the strip shows
    this.canvas = h('canvas', { class: 'ds-filmstrip-canvas', tabindex: 0, role: 'slider', 'aria-label': 'the whole run: x_t above, x̂_0 below, per step; click or use the arrow keys to scrub', 'aria-valuemin': 0 });
    let dragging = false;
    const scrub = (e) => {
      const i = this.stepAt(e.clientX - this.canvas.getBoundingClientRect().left);
      if (i >= 0 && i < this.run.length && i !== this.selected) this.pick(i);
    };
    this.canvas.addEventListener('pointerdown', (e) => {
      dragging = true;
      this.canvas.setPointerCapture?.(e.pointerId);
      scrub(e);
    });
    this.canvas.addEventListener('pointermove', (e) => dragging && scrub(e));
    this.canvas.addEventListener('pointerup', () => (dragging = false));
    this.canvas.addEventListener('pointercancel', () => (dragging = false));
    this.canvas.addEventListener('keydown', (e) => {
      const step = { ArrowLeft: -1, ArrowRight: 1, PageUp: -10, PageDown: 10, Home: -Infinity, End: Infinity }[e.key];
      if (step === undefined || !this.run.length) return;
      e.preventDefault();
      this.pick(Math.max(0, Math.min(this.run.length - 1, this.selected + step)));
    });
    this.pngBtn = h('button', { type: 'button', class: 'ds-export-png', disabled: true, onclick: () => this.exportPng() }, 'Save PNG strip');
    this.gifBtn = h('button', { type: 'button', class: 'ds-export-gif', disabled: true, onclick: () => this.exportGif() }, 'Save GIF');
    this.note = h('span', { class: 'ds-export-note' });
    this.element = h('div', { class: 'ds-filmstrip' }, h('div', { class: 'ds-filmstrip-scroll' }, this.canvas),
      h('div', { class: 'ds-controls ds-export' }, this.pngBtn, this.gifBtn, this.note));
    this.selected = 0;
    this.width = 0;
    new ResizeObserver(() => {
      const w = this.element.clientWidth;
      if (w && w !== this.width && this.run.length) this.draw(this.selected);
    }).observe(this.element);
  }

  // The steps the tiles show: all of them, or `tiles` evenly spaced ones with the chosen step in
  // the tile nearest its place along the run.
  shownSteps(tiles) {
    const n = this.run.length;
    if (n <= tiles) return Array.from({ length: n }, (_, i) => i);
    const at = (k) => Math.round((k * (n - 1)) / (tiles - 1));
    const steps = Array.from({ length: tiles }, (_, k) => at(k));
    steps[Math.round((this.selected * (tiles - 1)) / (n - 1))] = this.selected;
    return steps;
  }

  // the step under x (CSS px from the strip's left): the tile's, or, subsampled, x's place along the run
  stepAt(x) {
    const n = this.run.length;
    if (n <= this.tiles) return Math.floor(x / this.cell);
    return Math.max(0, Math.min(n - 1, Math.round((x / (this.tiles * this.cell - 2)) * (n - 1))));
  }

  set(run, B, look = FASHION_LOOK) {
    this.run = run;
    this.B = B;
    this.look = look;
    this.image = Math.min(this.image, B - 1);
    this.pngBtn.disabled = this.gifBtn.disabled = !run.length;
    this.canvas.setAttribute('aria-valuemax', Math.max(0, run.length - 1));
    this.draw(run.length - 1);
  }

  pick(i) {
    this.draw(i);
    this.onPick(i);
  }

  draw(selected) {
    this.selected = Math.max(0, selected);
    this.canvas.setAttribute('aria-valuenow', this.selected);
    const tile = 28, gap = 2;
    this.cell = tile + gap;
    this.width = this.element.clientWidth;
    this.tiles = Math.max(2, Math.floor((this.width || 640) / this.cell)); // before layout: 640 px
    const n = this.run.length, steps = this.shownSteps(this.tiles);
    const W = Math.max(1, steps.length * this.cell), H = 2 * tile + gap + 14;
    const { ctx } = hiDpiCanvas(this.canvas, { width: W, height: H });
    const colors = theme(this.canvas);
    ctx.fillStyle = colors.bg;
    ctx.fillRect(0, 0, W, H);
    const { D, side, channels } = this.look;
    steps.forEach((i, k) => {
      imageTile(ctx, this.run[i].x, this.image * D, side, channels, k * this.cell, 0, tile);
      imageTile(ctx, this.run[i].x0, this.image * D, side, channels, k * this.cell, tile + gap, tile);
    });
    this.shown = steps;
    if (n) {
      ctx.strokeStyle = colors.accent;
      ctx.lineWidth = 2;
      ctx.strokeRect(steps.indexOf(this.selected) * this.cell, 1, tile, 2 * tile + gap - 2);
      ctx.fillStyle = colors.muted;
      ctx.font = font(10);
      const every = n > steps.length ? ` (${steps.length} of ${n} shown; ←/→: one step)` : '';
      ctx.fillText(`step ${this.selected} of ${n - 1}${every}`, 0, H - 2);
    }
  }

  // the strip of every step as a PNG: x_t beside x̂_0, all images of the batch, one step after
  // another in rows of at most PNG_ROW steps (a canvas side is limited to 32 767 px: a row of
  // 1000 steps would not fit)
  async exportPng() {
    const { pixels, W, H, C } = runFrames(this.run, this.B, this.look);
    const F = this.run.length, cols = Math.min(F, PNG_ROW);
    const canvas = document.createElement('canvas');
    canvas.width = cols * (W + 2);
    canvas.height = Math.ceil(F / cols) * (H + 2) - 2;
    const ctx = canvas.getContext('2d');
    for (let f = 0; f < F; f++) {
      const img = new ImageData(W, H);
      for (let p = 0; p < W * H; p++) {
        for (let c = 0; c < 3; c++) img.data[4 * p + c] = pixels[(f * C + (C === 1 ? 0 : c)) * W * H + p];
        img.data[4 * p + 3] = 255;
      }
      ctx.putImageData(img, (f % cols) * (W + 2), Math.floor(f / cols) * (H + 2));
    }
    const blob = await new Promise((r) => canvas.toBlob(r, 'image/png'));
    this.lastExport = { kind: 'png', bytes: blob.size, frames: F, width: canvas.width, height: canvas.height };
    download(blob, `${this.name}-strip.png`);
  }

  // the run as an animated GIF, 80 ms a step, the result held 1.5 s, 3 px per pixel
  async exportGif() {
    const t0 = performance.now();
    const { pixels, W, H } = runFrames(this.run, this.B, this.look, true);
    const F = this.run.length, scale = 3, engine = await this.engineOf();
    const args = [pixels, F, W, H, scale, 8, 150];
    const size = (await engine.call('gif_encode', [...args, 0, null])).ret;
    const bytes = (await engine.call('gif_encode', [...args, size], [['u8', size]])).outs[0];
    const ms = performance.now() - t0;
    this.lastExport = { kind: 'gif', bytes: bytes.length, ms, frames: F, width: W * scale, height: H * scale, data: bytes };
    this.note.textContent = `GIF: ${F} frames, ${(bytes.length / 1024).toFixed(1)} KB, encoded in ${ms.toFixed(0)} ms`;
    download(new Blob([bytes], { type: 'image/gif' }), `${this.name}.gif`);
  }
}
