// check.mjs — what every browser test of an embedded page shares: a static server for a built
// site at a base path (`/` or `/blog/`), the in-page report (pageReport: runs in the page, in
// any engine, through playwright, puppeteer or WebDriver) and the assertions on it.
// Not here: building the sites (sites.mjs).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.wasm': 'application/wasm', '.svg': 'image/svg+xml', '.png': 'image/png', '.jpg': 'image/jpeg', '.xml': 'application/xml',
  '.json': 'application/json', '.woff2': 'font/woff2',
};

// Serves `dir` under `base` on 127.0.0.1 (any other path is a 404, as on a host where the site
// lives in a subfolder). Resolves {url (of base), origin, close()}.
export function serveSite(dir, base = '/') {
  const server = http.createServer((req, res) => {
    let rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (!rel.startsWith(base)) return res.writeHead(404).end('not under ' + base);
    rel = rel.slice(base.length);
    let file = path.resolve(dir, '.' + path.sep + rel);
    if (!file.startsWith(path.resolve(dir))) return res.writeHead(404).end();
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (!fs.existsSync(file)) return res.writeHead(404).end('not found');
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream', 'Content-Length': fs.statSync(file).size });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const origin = `http://127.0.0.1:${server.address().port}`;
    resolve({ origin, url: origin + base, close: () => new Promise((r) => server.close(r)) });
  }));
}

// Runs in the page (self-contained: it is serialised into the browser). Waits for every
// <diffuscope-*> element to be defined and ready (scrolling each into view: some load when
// seen), moves the VI widget's μ slider, runs every sampler to its last step, and reports per
// widget: errors shown, whether its canvases hold a drawing, the theme's reach into it.
export async function pageReport({ timeoutMs = 90000, themedPanel = '' } = {}) {
  const deadline = Date.now() + timeoutMs;
  // meanwhile(): called each second while waiting (a reader scrolling back to a widget)
  const until = async (what, ok, meanwhile = () => {}) => {
    for (let i = 1; !ok(); i++) {
      if (Date.now() > deadline) throw new Error('timed out waiting for ' + what());
      if (i % 20 === 0) meanwhile();
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const state = (w) => `${w.localName}: status "${w.shadowRoot?.querySelector('.ds-status')?.textContent ?? ''}"`;
  const widgets = [...document.querySelectorAll('*')].filter((e) => e.localName.startsWith('diffuscope-'));
  const report = { widgets: [], vi: null, sampler: null };
  for (const w of widgets) {
    await until(() => `${w.localName} to be defined`, () => customElements.get(w.localName));
    w.scrollIntoView();
    await until(() => `${state(w)} to be ready`, () => 'ready' in w.dataset || (w.shadowRoot && w.shadowRoot.querySelector('.ds-error:not(:empty)')), () => w.scrollIntoView());
  }
  const vi = widgets.find((w) => w.localName === 'diffuscope-vi');
  if (vi) {
    const cell = () => vi.shadowRoot.querySelector('td[data-value=kl_q_p]').textContent;
    const before = cell();
    const slider = vi.shadowRoot.querySelector('input[aria-label="mean μ of q"]');
    slider.value = String(Number(slider.value) + 1);
    slider.dispatchEvent(new Event('input', { bubbles: true }));
    await until(() => 'the VI readout to move', () => cell() !== before).catch(() => {});
    report.vi = { before, after: cell() };
  }
  for (const s of widgets.filter((w) => w.localName === 'diffuscope-sampler')) {
    // an autoplaying sampler runs by itself; any other one is played as a reader would: in view
    // (a playing sampler scrolled out of view pauses until it is back)
    s.scrollIntoView();
    if (!s.hasAttribute('autoplay')) [...s.shadowRoot.querySelectorAll('button')].find((b) => b.textContent === 'Play').click();
    await until(() => `${state(s)} to finish`, () => s.done && s.done() && !s.playing, () => s.scrollIntoView());
    const c = s.shadowRoot.querySelector('canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let sum = 0, sum2 = 0, n = 0;
    for (let i = 0; i < d.length; i += 4) sum += d[i], sum2 += d[i] * d[i], n++;
    report.sampler = { std: Math.sqrt(sum2 / n - (sum / n) ** 2), step: s.dataset.step };
    s.scrollIntoView(); // the screenshot shows its images
  }
  for (const w of widgets) {
    const root = w.shadowRoot;
    const all = root ? [...root.querySelectorAll('*')] : [];
    const leaks = [];
    for (const el of all) {
      const cs = getComputedStyle(el);
      if (/^(table|td|th)$/.test(el.localName) && cs.borderTopColor === 'rgb(255, 0, 0)' && cs.borderTopWidth === '3px') leaks.push(el.localName + ' border');
      if (el.localName === 'input' && cs.marginTop === '9px') leaks.push('input margin');
      if (el.localName === 'canvas' && (cs.width === '13px' || cs.borderTopWidth === '5px')) leaks.push('canvas size');
      if (el.localName === 'img' && cs.display === 'none') leaks.push('img display');
    }
    // a canvas holds a drawing when it has more than two colours
    const drawn = all.filter((el) => el.localName === 'canvas' && el.width > 0 && el.height > 0).map((c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const colours = new Set();
      for (let i = 0; i < d.length && colours.size < 3; i += 4 * 7) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2] | (d[i + 3] << 24));
      return colours.size >= 3;
    });
    report.widgets.push({
      tag: w.localName,
      ready: 'ready' in w.dataset,
      version: w.dataset.version || null,
      shadow: !!root,
      errors: all.filter((el) => el.classList.contains('ds-error') && el.textContent.trim()).map((el) => el.textContent.trim()),
      canvases: drawn.length,
      drawn: drawn.filter(Boolean).length,
      leaks,
      panel: getComputedStyle(w).backgroundColor,
      themed: !themedPanel || getComputedStyle(w).backgroundColor === themedPanel,
    });
  }
  return report;
}

// The assertions every embedded page must pass; `label` names the page in messages.
export function assertReport(report, { label, tags, version, themed = true }) {
  assert.deepEqual(report.widgets.map((w) => w.tag).sort(), [...tags].sort(), `${label}: the widgets on the page`);
  for (const w of report.widgets) {
    const where = `${label} <${w.tag}>`;
    assert.ok(w.shadow, `${where}: defined, with its shadow root`);
    assert.deepEqual(w.errors, [], `${where}: no error shown`);
    assert.ok(w.ready, `${where}: ready`);
    if (version) assert.equal(w.version, version, `${where}: data-version`);
    assert.ok(w.canvases === 0 || w.drawn > 0, `${where}: a canvas with a drawing (${w.drawn}/${w.canvases})`);
    assert.deepEqual(w.leaks, [], `${where}: no theme rule reaches inside`);
    if (themed) assert.ok(w.themed, `${where}: --ds-panel themes it (background ${w.panel})`);
  }
  if (tags.includes('diffuscope-vi')) assert.notEqual(report.vi.after, report.vi.before, `${label}: the VI readout moves with the slider`);
  if (report.sampler) assert.ok(report.sampler.std > 20, `${label}: sampler images not blank (std ${report.sampler.std.toFixed(1)})`);
}
