// <diffuscope-schedule steps="1000" t="500"> — the noise schedules side by side.
// Plots abar_t (signal kept) for the linear and cosine schedules, both computed in C
// (schedule_table), with a t slider that reads out abar_t, sqrt(abar_t),
// sqrt(1 - abar_t), the SNR, and the forward posterior q(x_{t-1} | x_t, x_0) of each.
import { DiffuscopeElement, h, defineElement, whenVisible } from '../core.js';
import { hiDpiCanvas, theme, font, plotBox, frame, ticks, polyline, fmt } from '../plot.js';

const KINDS = [
  { id: 0, name: 'linear', series: 0 },
  { id: 1, name: 'cosine', series: 1 },
];
// the table's rows, in the order shown (the names are C's: the schedule_table record)
const ROWS = ['beta', 'alpha_bar', 'sqrt_alpha_bar', 'sqrt_one_minus_alpha_bar', 'snr', 'posterior_variance', 'posterior_coef_x0', 'posterior_coef_xt'];

class ScheduleWidget extends DiffuscopeElement {
  static attributeNames = ['steps', 't'];
  static lightEngine = true; // milliseconds per call: never behind a sampler's steps

  build() {
    this.canvas = h('canvas', { class: 'ds-plot', role: 'img', 'aria-label': 'abar_t against t for the linear and cosine schedules' });
    this.slider = h('input', { type: 'range', min: 1, step: 1, 'aria-label': 'diffusion step t' });
    this.readAttributes();
    this.tLabel = h('output', { class: 'ds-t' });
    this.slider.addEventListener('input', () => this.update());
    this.cells = {};
    const head = h('tr', {}, h('th', {}, ''), ...KINDS.map((k) => h('th', { scope: 'col' }, k.name)));
    const labels = {
      alpha_bar: 'ᾱ_t', sqrt_alpha_bar: '√ᾱ_t', sqrt_one_minus_alpha_bar: '√(1−ᾱ_t)', snr: 'SNR', beta: 'β_t',
      posterior_coef_x0: 'posterior mean: × x₀', posterior_coef_xt: 'posterior mean: × x_t', posterior_variance: 'posterior variance β̃_t',
    };
    const body = ROWS.map((row) =>
      h('tr', {}, h('th', { scope: 'row' }, labels[row]), ...KINDS.map((k) => (this.cells[`${k.name}.${row}`] = h('td', { 'data-value': `${k.name}.${row}` }, '…')))),
    );
    this.append(
      h('div', { class: 'ds-row' }, this.canvas),
      h('label', { class: 'ds-control' }, 't = ', this.tLabel, this.slider),
      h('table', { class: 'ds-table' }, h('thead', {}, head), h('tbody', {}, body)),
    );
    this.showNotice('computing…');
    // computed and drawn as it comes near the screen: on a cold load of the article the main
    // thread is the sampler's, whose first image waits for it
    whenVisible(this, () => this.load().catch((err) => this.showError(err.message)));
    new ResizeObserver(() => this.tables && this.tablesT === this.T && this.draw()).observe(this.canvas);
  }

  readAttributes() {
    this.T = Math.round(this.numberAttr('steps', 1000, 1, 1000));
    this.slider.max = this.T;
    this.slider.value = Math.round(this.numberAttr('t', Math.ceil(this.T / 2), 1, this.T));
  }

  attributeUpdated(name) {
    const T = this.T;
    this.readAttributes();
    if (name === 'steps' && this.T !== T) this.load().catch((err) => this.showError(err.message));
    else this.update();
  }

  // The tables appear all at once: a draw (the resize observer fires at any time) sees the
  // previous ones or the new ones, never half of them.
  async load() {
    const engine = await this.engine();
    const T = this.T, tables = {};
    for (const k of KINDS) {
      const { outs } = await engine.call('schedule_table', [k.name, T, ROWS.length], [['rows', 'schedule_table', T]]);
      tables[k.name] = outs[0];
    }
    if (T !== this.T) return; // steps changed meanwhile: that load draws
    this.tables = tables;
    this.tablesT = T;
    this.clearStatus();
    this.dataset.ready = '';
    this.update();
  }

  update() {
    const t = Number(this.slider.value);
    this.tLabel.textContent = `${t} / ${this.T}`;
    if (!this.tables || this.tablesT !== this.T) return;
    for (const k of KINDS) for (const r of ROWS) this.cells[`${k.name}.${r}`].textContent = fmt(this.tables[k.name][r][t - 1], 4);
    this.draw();
  }

  draw() {
    const { ctx, width, height } = hiDpiCanvas(this.canvas);
    const box = plotBox(width, height, { l: 40, r: 10, t: 10, b: 28 }, [1, this.T], [0, 1]);
    const colors = theme(this);
    ctx.font = font();
    frame(ctx, box, colors.axis);
    ticks(ctx, box, { x: [[1, '1'], [this.T, String(this.T)]], y: [0, 0.5, 1].map((v) => [v, v.toFixed(1)]), xName: 't' }, colors.text);
    ctx.lineWidth = 2;
    KINDS.forEach((k, i) => {
      const series = this.tables[k.name].alpha_bar;
      ctx.strokeStyle = ctx.fillStyle = colors.series[k.series];
      polyline(ctx, this.T, (j) => box.x(j + 1), (j) => box.y(series[j]));
      ctx.fillText(`ᾱ_t ${k.name}`, box.right - 100, box.top + 16 + 16 * i);
    });
    const x = box.x(Number(this.slider.value));
    ctx.strokeStyle = colors.axis;
    ctx.setLineDash([4, 4]);
    ctx.beginPath();
    ctx.moveTo(x, box.top);
    ctx.lineTo(x, box.bottom);
    ctx.stroke();
    ctx.setLineDash([]);
  }
}

defineElement('diffuscope-schedule', ScheduleWidget);
