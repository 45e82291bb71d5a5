// <diffuscope-vi target="0.3:-3:0.7,0.5:4:1,0.2:7:0.6" mu="0" sigma="1" log-z="0"> —
// variational inference you can drag: a Gaussian q = N(mu, sigma^2) against a mixture target p.
// Every number (KL(q||p), KL(p||q), the ELBO, the curves, Monte-Carlo estimates, fit paths) is
// computed in C (src/vi.c) in the worker; this file moves numbers and draws. Orange shading is
// where q > p (what KL(q||p) punishes), blue where p > q (what KL(p||q) punishes).
// Target spec: weight:mean:std triples, weights normalised; up to 8 components.
import { DiffuscopeElement, h, defineElement, shortValue, whenVisible } from '../core.js';
import { hiDpiCanvas, theme, font, plotBox, frame, ticks, polyline, fixed, short } from '../plot.js';

const DEFAULT_TARGET = '0.3:-3:0.7,0.5:4:1,0.2:7:0.6';
const QUICK_MU = [-3, 0, 4, 7];
const QUICK_SIGMA = [0.6, 0.8, 1, 3];
const SIGMA_MIN = 0.05, SIGMA_MAX = 20;
const MAX_COMPONENTS = 8;
const FIT_STEPS = 400;
const FIT_SECONDS = 1.6;
const RANGE_LIMIT = 1000; // |x| of the plot: the documented targets (|m| <= 100, s <= 100) fit

class VIWidget extends DiffuscopeElement {
  static attributeNames = ['mu', 'sigma', 'log-z', 'target'];
  static lightEngine = true; // a slider move never waits behind other widgets' UNet steps

  build() {
    this.mu = this.numberAttr('mu', 0, -20, 20);
    this.sigma = this.numberAttr('sigma', 1, SIGMA_MIN, SIGMA_MAX);
    this.logZ = this.numberAttr('log-z', 0, -1e6, 1e6);
    this.timings = []; // ms per slider update, input event to finished redraw
    this.timingParts = []; // the same split: {queued, compute (worker round trip), draw}
    this.dirtySince = null;
    this.busy = false;

    this.canvas = h('canvas', { class: 'ds-plot ds-vi-plot', role: 'img', 'aria-label': 'target density p(x) in blue and Gaussian q(x) in orange; drag a blue handle to move a component, drag elsewhere to move q' });
    this.muSlider = h('input', { type: 'range', min: -20, max: 20, step: 0.05, value: this.mu, 'aria-label': 'mean μ of q' });
    this.sigmaSlider = h('input', { type: 'range', min: Math.log10(SIGMA_MIN), max: Math.log10(SIGMA_MAX), step: 0.005, value: Math.log10(this.sigma), 'aria-label': 'standard deviation σ of q (logarithmic)' });
    this.muOut = h('output', { class: 'ds-vi-value', 'data-value': 'mu' });
    this.sigmaOut = h('output', { class: 'ds-vi-value', 'data-value': 'sigma' });
    this.muSlider.addEventListener('input', () => this.setQ(Number(this.muSlider.value), this.sigma, false));
    this.sigmaSlider.addEventListener('input', () => this.setQ(this.mu, Number((10 ** Number(this.sigmaSlider.value)).toPrecision(4)), false));
    const quick = (label, values, set) =>
      h('span', { class: 'ds-vi-quick', role: 'group', 'aria-label': label }, label, ...values.map((v) => h('button', { type: 'button', onclick: () => set(v), 'aria-label': `${label} ${v}` }, String(v))));
    this.logZInput = h('input', { type: 'number', step: 0.1, value: this.logZ, 'aria-label': 'log Z of the unnormalised target', class: 'ds-vi-logz' });
    this.logZInput.addEventListener('input', () => {
      const v = Number(this.logZInput.value);
      if (this.logZInput.value !== '' && Number.isFinite(v) && Math.abs(v) <= 1e6) { this.logZ = v; this.schedule(); }
    });

    this.cells = {};
    const row = (key, label, note) => h('tr', {}, h('th', { scope: 'row' }, label), (this.cells[key] = h('td', { 'data-value': key }, '…')), h('td', { class: 'ds-vi-note' }, note));
    const table = h('table', { class: 'ds-table ds-vi-table' }, h('tbody', {},
      row('kl_q_p', 'KL(q ‖ p)', 'reverse: large where q has mass and p has none'),
      row('kl_p_q', 'KL(p ‖ q)', 'forward: large where p has mass and q has none'),
      row('elbo', 'ELBO', 'log Z − KL(q ‖ p)')));

    this.fitButtons = {
      reverse: h('button', { type: 'button', onclick: () => this.fit('reverse') }, 'Fit: minimise KL(q ‖ p)'),
      forward: h('button', { type: 'button', onclick: () => this.fit('forward') }, 'Fit: minimise KL(p ‖ q)'),
    };

    this.mcN = h('input', { type: 'number', min: 2, max: 100000, step: 1, value: 1000, 'aria-label': 'Monte-Carlo samples n', class: 'ds-vi-n' });
    this.mcSeed = h('input', { type: 'number', min: 0, step: 1, value: 1, 'aria-label': 'Monte-Carlo seed', class: 'ds-vi-n' });
    this.mcOut = h('span', { class: 'ds-vi-mc', 'data-value': 'mc' }, '');
    // while checked, the estimate is redone at every update, so its noise shows as q moves
    this.mcToggle = h('input', { type: 'checkbox', class: 'ds-vi-mc-toggle' });
    this.mcToggle.addEventListener('change', () => { this.mcOn = this.mcToggle.checked; this.mcOut.textContent = ''; this.schedule(); });
    for (const input of [this.mcN, this.mcSeed]) input.addEventListener('input', () => this.mcOn && this.schedule());
    const mcRun = h('label', {}, this.mcToggle, ' estimate by Monte Carlo');
    const mcNew = h('button', { type: 'button', onclick: () => { this.mcSeed.value = Number(this.mcSeed.value || 0) + 1; this.mcToggle.checked = this.mcOn = true; this.schedule(); } }, 'New seed');

    this.editor = h('div', { class: 'ds-vi-editor' });
    this.append(
      h('div', { class: 'ds-row' }, this.canvas),
      h('label', { class: 'ds-control' }, 'μ = ', this.muOut, this.muSlider),
      quick('μ', QUICK_MU, (v) => this.setQ(v, this.sigma, true)),
      h('label', { class: 'ds-control' }, 'σ = ', this.sigmaOut, this.sigmaSlider),
      quick('σ', QUICK_SIGMA, (v) => this.setQ(this.mu, v, true)),
      table,
      h('div', { class: 'ds-control' }, this.fitButtons.reverse, this.fitButtons.forward,
        h('label', {}, 'log Z ', this.logZInput)),
      h('div', { class: 'ds-control' }, mcRun, h('label', {}, 'n ', this.mcN), h('label', {}, 'seed ', this.mcSeed), mcNew),
      h('p', { class: 'ds-vi-mc-line' }, this.mcOut),
      h('details', { class: 'ds-vi-target' }, h('summary', {}, 'Edit the target p(x)'), this.editor),
    );
    this.bindPointer();
    this.showNotice('computing…');
    // computed and drawn as it comes near the screen: on a cold load of the article the main
    // thread is the sampler's, whose first image waits for it
    whenVisible(this, () => this.load().catch((err) => this.showError(err.message)));
    new ResizeObserver(() => this.curves && this.draw()).observe(this.canvas);
  }

  // A changed attribute: the same checks as at build.
  attributeUpdated(name) {
    if (name === 'target') return this.eng && this.loadTarget().catch((err) => this.showError(err.message));
    if (name === 'log-z') {
      this.logZ = this.numberAttr('log-z', 0, -1e6, 1e6);
      this.logZInput.value = this.logZ;
      return this.schedule();
    }
    this.setQ(this.numberAttr('mu', 0, -20, 20), this.numberAttr('sigma', 1, SIGMA_MIN, SIGMA_MAX), true);
  }

  // Removed from the page: a fit animation stops (requestAnimationFrame would keep it going).
  suspend() {
    this.animating = null;
  }

  async load() {
    this.eng = await this.engine();
    await this.loadTarget();
  }

  async loadTarget() {
    const spec = this.getAttribute('target') || DEFAULT_TARGET;
    let parsed;
    try {
      parsed = await this.parseTarget(spec);
      this.clearStatus();
    } catch (err) {
      parsed = await this.parseTarget(DEFAULT_TARGET);
      this.showError(`attribute target="${shortValue(spec)}": ${err.message}; using the default target`);
    }
    this.components = parsed;
    this.initialComponents = parsed.map((c) => ({ ...c }));
    this.setRange();
    this.buildEditor();
    this.dataset.ready = '';
    this.setQ(this.mu, this.sigma, true);
  }

  async parseTarget(spec) {
    const bytes = new TextEncoder().encode(spec);
    const { ret, outs } = await this.eng.call('vi_parse_target', [bytes, bytes.length], [['rec', 'vi_target']]);
    const p = outs[0].params; // (w, m, s) per component
    return Array.from({ length: ret }, (_, i) => ({ w: p[3 * i], m: p[3 * i + 1], s: p[3 * i + 2] }));
  }

  // the plot's x range (and the mean sliders'): the target's components +- 4 std and q's
  // allowed means [-20, 20] where they overlap that, at least 20 wide; it stays put while the
  // reader edits the target. A target far out (m = 100) widens it to take q's start too, so
  // the reader sees both and can move q there.
  setRange() {
    let lo = Math.min(...this.components.map((c) => c.m - 4 * c.s)), hi = Math.max(...this.components.map((c) => c.m + 4 * c.s));
    lo = Math.min(lo, this.mu - 3 * this.sigma);
    hi = Math.max(hi, this.mu + 3 * this.sigma);
    if (hi - lo < 20) { const mid = (lo + hi) / 2; lo = mid - 10; hi = mid + 10; }
    this.x0 = Math.max(-RANGE_LIMIT, Math.floor(lo));
    this.x1 = Math.min(RANGE_LIMIT, Math.ceil(hi));
    this.muSlider.min = this.x0;
    this.muSlider.max = this.x1;
  }

  params() {
    return new Float64Array(this.components.flatMap((c) => [c.w, c.m, c.s]));
  }

  buildEditor() {
    const total = this.components.reduce((a, c) => a + c.w, 0);
    const rows = this.components.map((c, i) => {
      const slider = (key, min, max, step, label) => {
        const el = h('input', { type: 'range', min, max, step, value: c[key], 'aria-label': `component ${i + 1} ${label}`, 'data-component': i, 'data-field': key });
        el.addEventListener('input', () => {
          c[key] = Number(el.value);
          this.refreshEditorLabels();
          this.schedule();
        });
        return el;
      };
      return h('div', { class: 'ds-vi-component' },
        h('span', { class: 'ds-vi-cname' }, `#${i + 1}`),
        h('label', {}, 'weight ', h('output', { 'data-label': `w${i}` }, (c.w / total).toFixed(2)), slider('w', 0.02, 1, 0.01, 'weight')),
        h('label', {}, 'mean ', h('output', { 'data-label': `m${i}` }, short(c.m)), slider('m', this.x0, this.x1, 0.1, 'mean')),
        h('label', {}, 'std ', h('output', { 'data-label': `s${i}` }, short(c.s)), slider('s', 0.1, 5, 0.05, 'std')),
        h('button', { type: 'button', 'aria-label': `remove component ${i + 1}`, disabled: this.components.length === 1, onclick: () => this.editComponents(() => this.components.splice(i, 1)) }, 'Remove'));
    });
    this.editor.replaceChildren(...rows, h('div', { class: 'ds-control' },
      h('button', { type: 'button', disabled: this.components.length >= MAX_COMPONENTS, onclick: () => this.editComponents(() => this.components.push({ w: 0.2, m: (this.x0 + this.x1) / 2, s: 1 })) }, 'Add a component'),
      h('button', { type: 'button', onclick: () => this.editComponents(() => { this.components = this.initialComponents.map((c) => ({ ...c })); }) }, 'Reset the target')));
  }

  refreshEditorLabels() {
    const total = this.components.reduce((a, c) => a + c.w, 0);
    this.components.forEach((c, i) => {
      const set = (k, v) => { const o = this.editor.querySelector(`output[data-label="${k}${i}"]`); if (o) o.textContent = v; };
      set('w', (c.w / total).toFixed(2));
      set('m', short(c.m));
      set('s', short(c.s));
      const slider = this.editor.querySelector(`input[data-component="${i}"][data-field="m"]`);
      if (slider && Number(slider.value) !== c.m) slider.value = c.m;
    });
  }

  editComponents(change) {
    change();
    this.buildEditor();
    this.schedule();
  }

  // Sets q; `exact` moves the sliders to the value (quick picks, fits), otherwise they led.
  setQ(mu, sigma, exact) {
    this.mu = Math.min(Math.max(20, this.x1 ?? 20), Math.max(Math.min(-20, this.x0 ?? -20), mu));
    this.sigma = Math.min(SIGMA_MAX, Math.max(SIGMA_MIN, sigma));
    if (exact) {
      this.muSlider.value = this.mu;
      this.sigmaSlider.value = Math.log10(this.sigma);
    }
    this.muOut.textContent = this.mu.toFixed(2);
    this.sigmaOut.textContent = this.sigma.toPrecision(3);
    this.muOut.dataset.exact = String(this.mu);
    this.sigmaOut.dataset.exact = String(this.sigma);
    this.sigmaSlider.setAttribute('aria-valuetext', `σ = ${this.sigma.toPrecision(3)}`);
    this.schedule();
  }

  // Coalesces updates: at most one computation in flight, the latest state wins.
  schedule() {
    this.dirtySince ??= performance.now();
    if (!this.busy && this.eng) this.run();
  }

  async run() {
    this.busy = true;
    try {
      while (this.dirtySince !== null) {
        const since = this.dirtySince;
        this.dirtySince = null;
        const k = this.components.length, p = this.params(), { mu, sigma, logZ } = this;
        const n = Math.max(200, Math.round(this.canvas.clientWidth || 600));
        const jobs = [
          this.eng.call('vi_evaluate', [k, p, mu, sigma, logZ], [['rec', 'vi_evaluate']]),
          this.eng.call('vi_curves', [k, p, mu, sigma, this.x0, this.x1, n], [['rows', 'vi_curves', n]]),
        ];
        const mcN = Math.round(Number(this.mcN.value)), mcSeed = Math.round(Number(this.mcSeed.value));
        if (this.mcOn) jobs.push(this.eng.call('vi_monte_carlo', [k, p, mu, sigma, logZ, Math.min(100000, Math.max(2, mcN || 2)), Math.max(0, mcSeed || 0)], [['rec', 'vi_monte_carlo']]));
        const sent = performance.now();
        const [ev, cv, mc] = await Promise.all(jobs);
        const computed = performance.now();
        this.values = ev.outs[0];
        this.curves = { p: cv.outs[0].p, q: cv.outs[0].q, n };
        this.shown = { mu, sigma, logZ };
        this.showValues(mc && mc.outs[0]);
        this.draw();
        const drawn = performance.now();
        this.timings.push(drawn - since);
        this.timingParts.push({ queued: sent - since, compute: computed - sent, draw: drawn - computed });
        if (this.timings.length > 500) this.timings.shift(), this.timingParts.shift();
      }
    } catch (err) {
      this.showError(err.message);
    } finally {
      this.busy = false;
    }
  }

  showValues(mc) {
    for (const key of ['kl_q_p', 'kl_p_q', 'elbo']) {
      const v = this.values[key];
      this.cells[key].textContent = fixed(v, 4);
      this.cells[key].dataset.exact = String(v);
    }
    if (!this.mcOn) this.mcOut.textContent = '';
    if (mc) {
      const pm = (v, se) => `${fixed(v, 4)} ± ${se.toFixed(4)}`;
      this.mcOut.textContent = `KL(q ‖ p) ≈ ${pm(mc.kl_q_p, mc.kl_q_p_se)}, KL(p ‖ q) ≈ ${pm(mc.kl_p_q, mc.kl_p_q_se)}, ELBO ≈ ${pm(mc.elbo, mc.elbo_se)}`;
    }
  }

  // ---- drawing ----
  // The plot box: x over [x0, x1], y from 0 to just above the taller curve (capped at 4, so a
  // narrow q does not flatten p; the curves are clipped there).
  box(width, height) {
    let top = 0;
    for (let i = 0; i < this.curves.n; i++) top = Math.max(top, this.curves.p[i], this.curves.q[i]);
    top = Math.min(top, 4) * 1.08 || 1;
    const box = plotBox(width, height, { l: 44, r: 12, t: 12, b: 28 }, [this.x0, this.x1], [0, top]);
    const y = box.y;
    return { ...box, yMax: top, y: (v) => y(Math.min(v, top)) };
  }

  draw() {
    if (!this.curves) return;
    const { ctx, width, height } = hiDpiCanvas(this.canvas);
    const f = (this.f = this.box(width, height)), colors = theme(this);
    const { p, q, n } = this.curves;
    const X = (i) => f.x(this.x0 + ((this.x1 - this.x0) * i) / (n - 1));
    const [blue, orange] = colors.series;
    // shading: min(p, q) up to q (orange where q > p), and up to p (blue where p > q)
    for (const [upper, color] of [[q, orange], [p, blue]]) {
      ctx.beginPath();
      for (let i = 0; i < n; i++) ctx.lineTo(X(i), f.y(upper[i]));
      for (let i = n - 1; i >= 0; i--) ctx.lineTo(X(i), f.y(Math.min(p[i], q[i])));
      ctx.closePath();
      ctx.globalAlpha = 0.28;
      ctx.fillStyle = color;
      ctx.fill();
      ctx.globalAlpha = 1;
    }
    ctx.font = font();
    frame(ctx, f, colors.axis);
    const step = this.x1 - this.x0 > 24 ? 5 : 2, xs = [];
    for (let v = Math.ceil(this.x0 / step) * step; v <= this.x1; v += step) xs.push([v, String(v)]);
    ticks(ctx, f, { x: xs, y: [[f.yMax, f.yMax.toPrecision(2)], [0, '0']] }, colors.text);
    ctx.lineWidth = 2.5;
    for (const [curve, color] of [[p, blue], [q, orange]]) {
      ctx.strokeStyle = color;
      polyline(ctx, n, X, (i) => f.y(curve[i]));
    }
    // component handles at each mean, on p
    this.handles = this.components.map((c, i) => {
      const idx = Math.round(((c.m - this.x0) / (this.x1 - this.x0)) * (n - 1));
      const hx = f.x(c.m), hy = f.y(idx >= 0 && idx < n ? p[idx] : 0);
      ctx.beginPath();
      ctx.arc(hx, hy, i === this.dragging ? 8 : 6, 0, 2 * Math.PI);
      ctx.fillStyle = colors.bg;
      ctx.fill();
      ctx.strokeStyle = blue;
      ctx.lineWidth = 2.5;
      ctx.stroke();
      return { x: hx, y: hy };
    });
    // legend
    ctx.font = font(13);
    const qLabel = `q(x) = N(${this.shown.mu.toFixed(2)}, ${this.shown.sigma.toPrecision(3)}²)`;
    ctx.globalAlpha = 0.8;
    ctx.fillStyle = colors.bg;
    ctx.fillRect(f.left + 4, f.top + 3, Math.max(ctx.measureText('p(x) target').width, ctx.measureText(qLabel).width) + 8, 38);
    ctx.globalAlpha = 1;
    ctx.fillStyle = blue;
    ctx.fillText('p(x) target', f.left + 8, f.top + 16);
    ctx.fillStyle = orange;
    ctx.fillText(qLabel, f.left + 8, f.top + 34);
  }

  // ---- pointer: drag a handle to move that component's mean; drag elsewhere to move q ----
  bindPointer() {
    const c = this.canvas;
    c.style.touchAction = 'none';
    const pos = (e) => { const r = c.getBoundingClientRect(); return { x: e.clientX - r.left, y: e.clientY - r.top }; };
    c.addEventListener('pointerdown', (e) => {
      if (!this.f || !this.handles) return;
      const { x, y } = pos(e);
      let best = -1, bestD = 24;
      this.handles.forEach((hd, i) => { const d = Math.hypot(hd.x - x, (hd.y - y) / 2); if (d < bestD) { best = i; bestD = d; } });
      this.dragging = best >= 0 ? best : 'q';
      try { c.setPointerCapture(e.pointerId); } catch { /* synthetic or already released pointer */ }
      this.dragTo(x);
      e.preventDefault();
    });
    c.addEventListener('pointermove', (e) => this.dragging != null && this.dragTo(pos(e).x));
    const end = () => { if (this.dragging != null) { this.dragging = null; this.draw(); } };
    c.addEventListener('pointerup', end);
    c.addEventListener('pointercancel', end);
  }

  dragTo(px) {
    const v = Math.min(this.x1, Math.max(this.x0, this.f.x.invert(px)));
    if (this.dragging === 'q') return this.setQ(Math.round(v * 100) / 100, this.sigma, true);
    this.components[this.dragging].m = Math.round(v * 10) / 10;
    this.refreshEditorLabels();
    this.schedule();
  }

  // ---- fits: the C side returns the whole path; we play it back ----
  async fit(direction) {
    if (this.animating) { this.animating = null; return; }
    try {
      const k = this.components.length;
      const { ret, outs } = await this.eng.call('vi_fit_path', [k, this.params(), direction, this.mu, this.sigma, FIT_STEPS], [['recs', 'vi_fit', FIT_STEPS + 1]]);
      const path = outs[0];
      const token = (this.animating = {});
      const button = this.fitButtons[direction];
      const label = button.textContent;
      button.textContent = 'Stop';
      const start = performance.now();
      const frame = (now) => {
        if (this.animating !== token) { button.textContent = label; return; }
        // the first frame's timestamp may precede `start`: clamp, or the index would be negative
        const t = Math.max(0, Math.min(1, (now - start) / (FIT_SECONDS * 1000)));
        // ease so the many small late steps do not dominate the playback
        const i = Math.min(ret - 1, Math.round((1 - (1 - t) ** 3) * (ret - 1)));
        this.setQ(path[i].mu, path[i].sigma, true);
        if (t < 1) return requestAnimationFrame(frame);
        this.animating = null;
        button.textContent = label;
        this.showNotice(`${direction === 'forward' ? 'KL(p ‖ q)' : 'KL(q ‖ p)'} fit: μ = ${path[i].mu.toFixed(3)}, σ = ${path[i].sigma.toFixed(3)}, KL = ${path[i].kl.toFixed(4)} after ${ret - 1} steps`);
      };
      requestAnimationFrame(frame);
    } catch (err) {
      this.showError(err.message);
    }
  }
}

defineElement('diffuscope-vi', VIWidget);
