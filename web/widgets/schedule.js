// <diffuscope-schedule steps="1000" t="500"> — the noise schedules side by side.
// Plots abar_t (signal kept) for the linear and cosine schedules, both computed in C
// (schedule_table), with a t slider that reads out abar_t, sqrt(abar_t),
// sqrt(1 - abar_t), the SNR, and the forward posterior q(x_{t-1} | x_t, x_0) of each.
import { DiffuscopeElement, h, hiDpiCanvas, cssVar } from '../core.js';

const KINDS = [
  { name: 'linear', color: '--ds-series-1', fallback: '#2f6fdb' },
  { name: 'cosine', color: '--ds-series-2', fallback: '#e0762b' },
];
// the table's rows, in the order shown (the names are C's: the schedule_table record)
const ROWS = ['beta', 'alpha_bar', 'sqrt_alpha_bar', 'sqrt_one_minus_alpha_bar', 'snr', 'posterior_variance', 'posterior_coef_x0', 'posterior_coef_xt'];

function fmt(v) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(3) : v.toPrecision(4);
}

class ScheduleWidget extends DiffuscopeElement {
  build() {
    this.T = Math.round(this.numberAttr('steps', 1000, 1, 1000));
    const t0 = Math.round(this.numberAttr('t', Math.ceil(this.T / 2), 1, this.T));
    this.canvas = h('canvas', { class: 'ds-plot', role: 'img', 'aria-label': 'abar_t against t for the linear and cosine schedules' });
    this.slider = h('input', { type: 'range', min: 1, max: this.T, step: 1, value: t0, 'aria-label': 'diffusion step t' });
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
    this.load().catch((err) => this.showError(err.message));
    new ResizeObserver(() => this.tables && this.draw()).observe(this.canvas);
  }

  async load() {
    const engine = await this.engine();
    this.tables = {};
    for (const k of KINDS) {
      const { outs } = await engine.call('schedule_table', [k.name, this.T, ROWS.length], [['rows', 'schedule_table', this.T]]);
      this.tables[k.name] = outs[0];
    }
    this.clearStatus();
    this.dataset.ready = '';
    this.update();
  }

  update() {
    const t = Number(this.slider.value);
    this.tLabel.textContent = `${t} / ${this.T}`;
    if (!this.tables) return;
    for (const k of KINDS) for (const r of ROWS) this.cells[`${k.name}.${r}`].textContent = fmt(this.tables[k.name][r][t - 1]);
    this.draw();
  }

  draw() {
    const { ctx, width, height } = hiDpiCanvas(this.canvas);
    const pad = { l: 40, r: 10, t: 10, b: 28 };
    const pw = width - pad.l - pad.r, ph = height - pad.t - pad.b;
    const x = (t) => pad.l + ((t - 1) / Math.max(1, this.T - 1)) * pw;
    const y = (v) => pad.t + (1 - v) * ph;
    ctx.clearRect(0, 0, width, height);
    ctx.strokeStyle = cssVar(this, '--ds-axis', '#888');
    ctx.fillStyle = cssVar(this, '--ds-text', '#222');
    ctx.font = '12px system-ui, sans-serif';
    ctx.lineWidth = 1;
    ctx.strokeRect(pad.l, pad.t, pw, ph);
    for (const v of [0, 0.5, 1]) ctx.fillText(v.toFixed(1), 8, y(v) + 4);
    ctx.fillText('t', pad.l + pw / 2, height - 8);
    ctx.fillText('1', pad.l, height - 8);
    ctx.fillText(String(this.T), pad.l + pw - 24, height - 8);
    KINDS.forEach((k, i) => {
      const series = this.tables[k.name].alpha_bar;
      ctx.strokeStyle = cssVar(this, k.color, k.fallback);
      ctx.lineWidth = 2;
      ctx.beginPath();
      for (let t = 1; t <= this.T; t++) (t === 1 ? ctx.moveTo : ctx.lineTo).call(ctx, x(t), y(series[t - 1]));
      ctx.stroke();
      ctx.fillStyle = ctx.strokeStyle;
      ctx.fillText(`ᾱ_t ${k.name}`, pad.l + pw - 100, pad.t + 16 + 16 * i);
    });
    const t = Number(this.slider.value);
    ctx.strokeStyle = cssVar(this, '--ds-axis', '#888');
    ctx.setLineDash([4, 4]);
    ctx.beginPath();
    ctx.moveTo(x(t), pad.t);
    ctx.lineTo(x(t), pad.t + ph);
    ctx.stroke();
    ctx.setLineDash([]);
  }
}

customElements.define('diffuscope-schedule', ScheduleWidget);
