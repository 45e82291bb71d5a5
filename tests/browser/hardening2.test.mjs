// hardening2.test.mjs — the page rows of docs/errors.md ("page-..." ids, issue 19): a weights
// file of the wrong kind or size is refused by name and no error reaches another widget; widgets
// free their engine handles and stop their work when removed (40 samplers come and go with the
// WebAssembly memory flat) and start again when put back; one model per weights URL; gzip
// transfer; huge files refused from their header; live attributes; a far VI target; long bad
// values shortened; a narrow sampler; a late schedule; reduced motion; the kit included twice;
// a cross-origin folder under strict CSP; the drawing pad by keyboard; VI updates with 20
// samplers running. A test checks that docs/errors.md lists exactly these rows.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { openBrowser, emptyPage as emptyPageOf } from './browser.mjs';
import { ROOT } from '../wasm/wasm.mjs';

// image_size, in_channels, base, levels, mult[4], res blocks, groups, temb, classes (unet.h)
const unetConfig = (size, channels = 1) => [size, channels, 8, 2, 1, 2, 0, 0, 1, 4, 16, 10];
const FASHION = fs.readFileSync(path.join(ROOT, 'weights', 'fashion-unet.dsw'));
const POINTS_COW = fs.readFileSync(path.join(ROOT, 'weights', 'points-cow.dsw'));

// [id, fragment] of every row tested here (docs/errors.md quotes each)
const ROWS = new Map();
const row = (id, fragment) => (ROWS.set(id, fragment), fragment);

let browser, other;
// A second origin: gzip transfer, huge files, no CORS unless asked. Counts the bytes it sends.
const sent = new Map();
function startOther() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const cors = url.searchParams.has('cors') ? { 'Access-Control-Allow-Origin': '*' } : {};
    const count = (n) => sent.set(url.pathname, (sent.get(url.pathname) || 0) + n);
    if (url.pathname.startsWith('/gz/')) {
      const body = zlib.gzipSync(url.pathname.endsWith('/fashion-unet.dsw') ? FASHION : POINTS_COW);
      res.writeHead(200, { ...cors, 'Content-Type': 'application/octet-stream', 'Content-Encoding': 'gzip', 'Content-Length': body.length });
      count(body.length);
      return res.end(body);
    }
    if (url.pathname.startsWith('/huge/')) { // a Fashion header announcing 1.5 GB, then zeros for ever
      const head = Buffer.from(FASHION.subarray(0, 256));
      head.writeBigUInt64LE(1_500_000_000n, 152);
      res.writeHead(200, { ...cors, 'Content-Type': 'application/octet-stream' });
      res.write(head);
      count(head.length);
      const zeros = Buffer.alloc(1 << 16);
      const more = () => {
        while (!res.destroyed && sent.get(url.pathname) < 1.5e9) {
          const flowing = res.write(zeros);
          count(zeros.length);
          if (!flowing) break;
        }
      };
      res.on('drain', more);
      req.on('close', () => res.destroy());
      return more();
    }
    res.writeHead(404, cors);
    res.end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` })));
}

test.before(async () => {
  browser = await openBrowser();
  other = await startOther();
});
test.after(async () => {
  await browser.close();
  other.server.close();
});

// A page with nothing but the library on it, served under web/examples/ (browser.mjs).
const emptyPage = () => emptyPageOf(browser, 'hardening2', ['diffuscope-sampler']);

// A page our server serves (loopback, so Chromium lets it fetch from the other loopback
// origin when that one sends CORS headers; a routed page counts as public and may not).
async function servedPage(name) {
  const page = await browser.newPage();
  await page.goto(new URL(`examples/${name}`, browser.url).href);
  await page.waitForFunction(() => customElements.get('diffuscope-sampler'));
  return page;
}

// Adds <tag attrs> with the given id, scrolled into view (the sampler starts when seen), and
// returns its locator.
async function add(page, tag, attrs = {}, id = tag) {
  await page.evaluate(([tag, attrs, id]) => {
    const el = document.createElement(tag);
    el.id = id;
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    document.body.append(el);
    el.scrollIntoView();
  }, [tag, attrs, id]);
  return page.locator(`#${id}`);
}

// The text of the widget's first line matching selector that includes fragment (waits).
async function message(widget, selector, fragment, timeout = 30000) {
  const line = widget.locator(selector).filter({ hasText: fragment }).first();
  try {
    await line.waitFor({ timeout });
  } catch {
    assert.fail(`no ${selector} with "${fragment}"; lines: ${JSON.stringify(await widget.locator('.ds-status').allTextContents())}`);
  }
  return line.textContent();
}

// The WebAssembly memory of the shared engine, in bytes (any reply carries it).
const memory = (page) => page.evaluate(async () => {
  const { getEngine } = await import('../core.js');
  return (await (await getEngine()).call('rng_normals', [1, 1], [['f64', 1]])).memory;
});

// .dsw bytes of a random model made in the page's engine
async function modelBytes(page, kind, config) {
  return Buffer.from(await page.evaluate(async ([kind, config]) => {
    const { getEngine } = await import('../core.js');
    const engine = await getEngine();
    const h = (await engine.call('model_random', [kind, Int32Array.from(config), config.length, 3])).ret;
    const size = (await engine.call('model_save', [h, 'f32', 0, null])).ret;
    const bytes = (await engine.call('model_save', [h, 'f32', size], [['u8', size]])).outs[0];
    await engine.call('free', [h]);
    return Array.from(bytes);
  }, [kind, config]));
}

test('weights of the wrong kind or size are refused by name, and the page keeps working', async () => {
  const page = await emptyPage();
  const serve = async (name, bytes) => page.route(new URL(`examples/bad/${name}`, browser.url).href,
    (route) => route.fulfill({ contentType: 'application/octet-stream', body: bytes }));
  await serve('points-cow.dsw', FASHION);
  await serve('unet56.dsw', await modelBytes(page, 'unet', unetConfig(56, 2)));
  await serve('mlp.dsw', POINTS_COW);
  const cases = [
    ['page-weights-kind', 'diffuscope-points', { weights: 'bad/', n: '100', steps: '5' },
      '/web/examples/bad/points-cow.dsw holds a UNet of 28×28 images with 1 channel; this widget needs an MLP of 2-D points'],
    ['page-weights-size', 'diffuscope-sampler', { weights: 'bad/unet56.dsw', steps: '2' },
      '/web/examples/bad/unet56.dsw holds a UNet of 56×56 images with 2 channels; this widget needs a UNet of 56×56 images with 1 or 3 channels'],
    ['page-weights-edit', 'diffuscope-edit', { weights: 'bad/unet56.dsw', steps: '2' },
      '/web/examples/bad/unet56.dsw holds a UNet of 56×56 images with 2 channels; this widget needs a UNet of 56×56 images with 1 or 3 channels'],
    ['page-weights-mlp', 'diffuscope-sampler', { weights: 'bad/mlp.dsw', steps: '2' },
      '/web/examples/bad/mlp.dsw holds an MLP of 2-D points; this widget needs a UNet of images of any size with 1 or 3 channels'],
  ];
  for (const [id, tag, attrs, fragment] of cases) {
    const widget = await add(page, tag, attrs, id);
    await message(widget, '.ds-error', row(id, fragment));
    await widget.evaluate((el) => el.remove());
  }
  // the engine itself: buffers sized for another model are refused before C touches them
  const rejected = await page.evaluate(async () => {
    const { getEngine } = await import('../core.js');
    const engine = await getEngine();
    const cfg = Int32Array.from([8, 1, 8, 2, 1, 2, 0, 0, 1, 4, 16, 10]);
    const small = (await engine.call('model_random', ['unet', cfg, cfg.length, 1])).ret;
    const s = (await engine.call('sampler_new', [small, 'linear', 'ddim', 2, 0, 1, 1, 1, 1, Int32Array.of(0)])).ret;
    const out = [];
    for (const [fn, args, outs] of [
      ['sampler_frame', [s], [['u8', 784], ['u8', 784], ['rec', 'sampler_info']]],
      ['model_forward', [small, new Float32Array(2), new Float32Array(1), new Int32Array(1), 1], [['f32', 2]]],
    ]) {
      try { await engine.call(fn, args, outs); out.push(null); } catch (err) { out.push(err.message); }
    }
    await engine.call('free', [s]);
    await engine.call('free', [small]);
    return out;
  });
  assert.equal(rejected[0], row('page-engine-shape', 'sampler_frame: x_out holds 784 values, but 1 item of 64 values (a unet of 8x8 images, 1 channel) take: exactly 64'));
  assert.ok(rejected[1]?.startsWith('model_forward: x holds 2 values, but 1 item of 64 values'), rejected[1]);
  // another widget on the same page: the real model samples
  const good = await add(page, 'diffuscope-sampler', { steps: '3', batch: '2' }, 'good');
  await good.and(page.locator('[data-ready]')).waitFor({ timeout: 60000 });
  await good.locator('.ds-step').click();
  await page.waitForFunction(() => document.querySelector('#good').dataset.step === '1', null, { timeout: 30000 });
  assert.equal(await good.locator('select[aria-label=denoiser]').inputValue(), 'network');
  assert.deepEqual(await good.locator('.ds-error').allTextContents(), []);
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});

test('40 samplers added and removed: handles freed, the memory flat, one model per URL', async () => {
  const page = await emptyPage();
  const mem = [];
  const messages = [];
  for (let i = 0; i < 40; i++) {
    const widget = await add(page, 'diffuscope-sampler', { steps: '2', batch: '4' }, `s${i}`);
    await widget.and(page.locator('[data-ready]')).waitFor({ timeout: 60000 });
    messages.push(...(await widget.locator('.ds-error').allTextContents()));
    await widget.evaluate((el) => el.remove());
    await page.waitForTimeout(20);
    mem.push(await memory(page));
  }
  const start = mem[0], end = mem[mem.length - 1];
  console.log(`WebAssembly memory: ${start} B after the first sampler, ${end} B after 40 (${(end / start).toFixed(3)}x); ` +
    `${messages.length} error lines`);
  const models = await page.evaluate(async () => (await import('../core.js')).sharedEngine().models?.size);
  row('page-samplers-40', 'memory within 10% of its start');
  assert.deepEqual(messages, [], 'no widget shows an error (such as too many models)');
  assert.ok(end <= 1.1 * start, `the memory grew from ${start} to ${end} bytes`);
  assert.equal(models, 0, 'the last removal freed the shared model');
  await page.close();
});

test('two samplers share one model; a removed widget stops working and starts again when put back', async () => {
  const page = await emptyPage();
  const a = await add(page, 'diffuscope-sampler', { steps: '200', batch: '1' }, 'a');
  const b = await add(page, 'diffuscope-sampler', { steps: '200', batch: '1' }, 'b');
  await a.and(page.locator('[data-ready]')).waitFor({ timeout: 60000 });
  await b.and(page.locator('[data-ready]')).waitFor({ timeout: 60000 });
  const shared = await page.evaluate(async () => {
    const engine = (await import('../core.js')).sharedEngine();
    return [...engine.models.values()].map((e) => e.refs);
  });
  assert.deepEqual(shared, [2], 'one loaded model with two users');
  await a.locator('.ds-play').click();
  await page.waitForFunction(() => Number(document.querySelector('#a').dataset.step) >= 2, null, { timeout: 30000 });
  const calls = () => page.evaluate(async () => (await import('../core.js')).sharedEngine().calls);
  await a.evaluate((el) => { window.parked = el; el.remove(); });
  await page.waitForTimeout(300);
  const before = await calls();
  await page.waitForTimeout(1500);
  row('page-detached', 'no engine call while detached');
  assert.equal(await calls(), before, 'no engine call while the sampler is detached');
  await page.evaluate(() => document.body.append(window.parked));
  await page.waitForFunction(() => document.querySelector('#a')?.dataset.step === undefined || true);
  await a.locator('.ds-step').click();
  await page.waitForFunction(() => document.querySelector('#a').dataset.step === '1', null, { timeout: 30000 });
  // a training loop stops too
  const pts = await add(page, 'diffuscope-points', { n: '100', steps: '5', 'train-steps': '200000' }, 'pts');
  await pts.and(page.locator('[data-ready]')).waitFor({ timeout: 60000 });
  await pts.locator('select[aria-label="or start from a shape"]').selectOption('moons');
  await pts.locator('.ds-pts-train').click();
  await page.waitForFunction(() => Number(document.querySelector('#pts').querySelector('progress[aria-label="training progress"]').value) >= 500, null, { timeout: 30000 });
  await pts.evaluate((el) => el.remove());
  await page.waitForTimeout(1500); // the chunk in flight and the trainer's free
  const trainBefore = await calls();
  await page.waitForTimeout(1000);
  assert.equal(await calls(), trainBefore, 'training stopped once the widget was removed');
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});

test('weights sent with Content-Encoding: gzip load; a 1.5 GB file is refused from its header', async () => {
  const page = await servedPage('schedule.html');
  const gz = await add(page, 'diffuscope-sampler', { weights: `${other.url}/gz/fashion-unet.dsw?cors`, steps: '2', batch: '1' }, 'gz');
  await gz.and(page.locator('[data-ready]')).waitFor({ timeout: 60000 });
  row('page-gzip', 'gzip');
  assert.equal(await gz.locator('select[aria-label=denoiser]').inputValue(), 'network', 'the gzip weights loaded');
  assert.deepEqual(await gz.locator('.ds-notice').allTextContents(), []);
  const before = await memory(page);
  const huge = await add(page, 'diffuscope-sampler', { weights: `${other.url}/huge/fashion-unet.dsw?cors`, steps: '2' }, 'huge');
  const text = await message(huge, '.ds-error', row('page-weights-huge', 'header: the file announces 1500000000 bytes, but a unet of this config takes'));
  assert.ok(text.includes('/huge/fashion-unet.dsw'), text);
  await page.waitForTimeout(500);
  const read = sent.get('/huge/fashion-unet.dsw');
  console.log(`huge weights: the server sent ${read} bytes before the page stopped reading; memory ${before} -> ${await memory(page)} B`);
  assert.ok(read < 64 << 20, `the page read ${read} bytes of a 1.5 GB file`);
  assert.ok((await memory(page)) <= before * 1.1, 'no 1.5 GB in WebAssembly memory');
  await page.close();
});

test('a cross-origin points folder says why it failed, under strict CSP and without CORS', async () => {
  const page = await servedPage('csp.html'); // connect-src 'self'
  const widget = await add(page, 'diffuscope-points', { weights: `${other.url}/w/?cors`, n: '100' }, 'csp');
  row('page-csp-cross-origin', "blocked by this page's Content-Security-Policy: its connect-src does not allow");
  await message(widget, '.ds-error', `blocked by this page's Content-Security-Policy: its connect-src does not allow ${other.url}`);
  await page.close();
  const open = await servedPage('schedule.html');
  const nocors = await add(open, 'diffuscope-points', { weights: `${other.url}/w/`, n: '100' }, 'nocors');
  row('page-cross-origin', "is another origin: the page's Content-Security-Policy (connect-src) and that server's CORS headers must both allow it");
  await message(nocors, '.ds-error', `${other.url} is another origin: the page's Content-Security-Policy (connect-src) and that server's CORS headers must both allow it`);
  await open.close();
});

test('a VI target far out, long bad values, a late schedule, a narrow sampler, a bad shape', async () => {
  const page = await emptyPage();
  for (const [id, target] of [['vi-far', '1:100:1'], ['vi-far-neg', '1:-100:1']]) {
    const vi = await add(page, 'diffuscope-vi', { target }, id);
    await vi.and(page.locator('[data-ready]')).waitFor({ timeout: 30000 });
    await page.waitForFunction((id) => Number.isFinite(Number(document.querySelector(`#${id}`).querySelector('td[data-value=kl_q_p]').dataset.exact)), id, { timeout: 30000 });
    assert.deepEqual(await vi.locator('.ds-error').allTextContents(), [], `${target}: no error`);
  }
  row('page-vi-far', 'target="1:100:1"');
  // a 100 000-character value is quoted in part
  const long = 'x'.repeat(100000);
  const sch = await add(page, 'diffuscope-schedule', { steps: long }, 'long');
  const text = await message(sch, '.ds-attr-error', row('page-attr-long', `attribute steps="${'x'.repeat(40)}… (100000 characters)" must be a number between 1 and 1000; using 1000`));
  assert.ok(text.length < 200, `message of ${text.length} characters`);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'the page stays as wide as the window');
  // a schedule added once the engine is ready draws (no exception from a half-loaded table)
  const late = await add(page, 'diffuscope-schedule', {}, 'late');
  await late.and(page.locator('[data-ready]')).waitFor({ timeout: 30000 });
  row('page-schedule-late', 'added after the engine is ready');
  // a bad shape, given after connect, is named too
  const fwd = await add(page, 'diffuscope-forward', { n: '200' }, 'fwd');
  await fwd.and(page.locator('[data-ready]')).waitFor({ timeout: 30000 });
  await fwd.evaluate((el) => el.setAttribute('shape', 'unicorn'));
  await message(fwd, '.ds-attr-error', row('page-forward-shape', 'attribute shape="unicorn" must be one of cow, moons, spiral, rings, letter; using cow'));
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
  // the sampler on a 360-px screen: the canvas fits and keeps its shape
  const narrow = await emptyPage();
  await narrow.setViewportSize({ width: 360, height: 800 });
  const s = await add(narrow, 'diffuscope-sampler', { model: 'mixture', steps: '2', batch: '4' }, 'narrow');
  await s.and(narrow.locator('[data-ready]')).waitFor({ timeout: 60000 });
  const box = await s.evaluate((el) => {
    const c = el.querySelector('canvas'), r = c.getBoundingClientRect();
    return { shown: r.width, shownH: r.height, drawn: parseFloat(c.style.width), drawnH: parseFloat(c.style.height), room: el.clientWidth };
  });
  row('page-sampler-narrow', '360 px');
  assert.ok(box.drawn <= box.room, `drawn ${box.drawn} px wide in ${box.room} px`);
  assert.ok(Math.abs(box.shown - box.drawn) < 1 && Math.abs(box.shownH - box.drawnH) < 1, `squeezed: drawn ${box.drawn}x${box.drawnH}, shown ${box.shown}x${box.shownH}`);
  await narrow.close();
});

test('attributes changed after connect take effect, with the same checks', async () => {
  const page = await emptyPage();
  const sch = await add(page, 'diffuscope-schedule', { steps: '1000', t: '500' }, 'sch');
  await sch.and(page.locator('[data-ready]')).waitFor({ timeout: 30000 });
  await sch.evaluate((el) => { el.setAttribute('steps', '100'); el.setAttribute('t', '10'); });
  await page.waitForFunction(() => document.querySelector('#sch').querySelector('output.ds-t').textContent === '10 / 100', null, { timeout: 30000 });
  const vi = await add(page, 'diffuscope-vi', {}, 'vi');
  await vi.and(page.locator('[data-ready]')).waitFor({ timeout: 30000 });
  await vi.evaluate((el) => el.setAttribute('sigma', '2.5'));
  await page.waitForFunction(() => document.querySelector('#vi').querySelector('output[data-value=sigma]').dataset.exact === '2.5', null, { timeout: 30000 });
  await vi.evaluate((el) => el.setAttribute('target', '1:3:0.5'));
  await page.waitForFunction(() => document.querySelector('#vi').querySelectorAll('.ds-vi-component').length === 1, null, { timeout: 30000 });
  await vi.evaluate((el) => el.setAttribute('sigma', '0'));
  await message(vi, '.ds-attr-error', 'attribute sigma="0" must be a number between 0.05 and 20; using 1');
  const s = await add(page, 'diffuscope-sampler', { model: 'mixture', steps: '3', batch: '2' }, 'smp');
  await s.and(page.locator('[data-ready]')).waitFor({ timeout: 60000 });
  await s.evaluate((el) => { el.setAttribute('steps', '5'); el.setAttribute('sampler', 'ddpm'); el.setAttribute('batch', '3'); el.setAttribute('class', '7'); });
  await page.waitForFunction(() => document.querySelector('#smp').querySelector('output[data-value=step]').textContent === '0 / 5', null, { timeout: 30000 });
  assert.equal(await s.locator('select[aria-label=sampler]').inputValue(), 'ddpm');
  assert.equal(await s.locator('input[name=batch]').inputValue(), '3');
  assert.equal(await s.locator('select[aria-label=class]').inputValue(), '7');
  await s.evaluate((el) => el.setAttribute('steps', '0'));
  await message(s, '.ds-attr-error', row('page-attr-live', 'attribute steps="0" must be a number between 1 and 1000; using 20'));
  await page.close();
});

test('prefers-reduced-motion: reduce turns autoplay off', async () => {
  const steps = async (reduce) => {
    const page = await emptyPage();
    await page.emulateMedia({ reducedMotion: reduce ? 'reduce' : 'no-preference' });
    const s = await add(page, 'diffuscope-sampler', { model: 'mixture', steps: '4', batch: '1', autoplay: '' }, 'auto');
    await s.and(page.locator('[data-ready]')).waitFor({ timeout: 60000 });
    await page.waitForTimeout(2500);
    const step = await s.evaluate((el) => el.dataset.step ?? '0');
    await page.close();
    return Number(step);
  };
  row('page-reduced-motion', 'prefers-reduced-motion');
  assert.equal(await steps(true), 0, 'no autoplay with reduced motion');
  assert.equal(await steps(false), 4, 'autoplay otherwise');
});

test('the kit included twice from two paths defines each element once, without an error', async () => {
  const page = await browser.newPage();
  const copy = new URL('copy/web/', browser.url).href;
  await page.route(`${copy}**`, (route) => {
    const rel = new URL(route.request().url()).pathname.replace(/^.*\/copy\/web\//, '');
    route.fulfill({ path: path.join(ROOT, 'web', rel) });
  });
  const url = new URL('examples/hardening2-twice.html', browser.url).href;
  await page.route(url, (route) => route.fulfill({
    contentType: 'text/html',
    body: '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>twice</title>' +
      `<script type="module" src="../diffuscope.js"></script><script type="module" src="${copy}diffuscope.js"></script>` +
      '</head><body><diffuscope-schedule steps="100"></diffuscope-schedule></body></html>',
  }));
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.locator('diffuscope-schedule[data-ready]').waitFor({ timeout: 30000 });
  await page.waitForFunction(() => performance.getEntriesByType('resource').some((e) => e.name.includes('/copy/web/widgets/sampler.js')), null, { timeout: 30000 });
  await page.waitForTimeout(500);
  row('page-include-twice', 'diffuscope.js twice');
  assert.deepEqual(errors, []);
  // what makes it so: every widget defines its element through core.js's guard
  const dir = path.join(ROOT, 'web', 'widgets');
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.js')))
    assert.ok(!fs.readFileSync(path.join(dir, f), 'utf8').includes('customElements.define('), `${f} calls customElements.define itself; use defineElement (core.js)`);
  await page.close();
});

test('the drawing pad takes keyboard focus and draws with the keys', async () => {
  const page = await emptyPage();
  const pts = await add(page, 'diffuscope-points', { n: '200', steps: '20', 'train-steps': '300' }, 'kb');
  await pts.and(page.locator('[data-ready]')).waitFor({ timeout: 60000 });
  await pts.locator('.ds-pts-sample').focus();
  const pad = pts.locator('canvas.ds-pts-pad');
  for (let i = 0; i < 20 && !(await pad.evaluate((el) => el === el.getRootNode().activeElement)); i++) await page.keyboard.press('Tab');
  assert.ok(await pad.evaluate((el) => el === el.getRootNode().activeElement), 'Tab reaches the drawing pad');
  // a square, pen down at the start and up at the end
  await page.keyboard.press('Space');
  for (const key of ['ArrowRight', 'ArrowUp', 'ArrowLeft', 'ArrowDown']) for (let i = 0; i < 4; i++) await page.keyboard.press(`Shift+${key}`);
  await page.keyboard.press('Space');
  assert.equal(await pad.getAttribute('data-strokes'), '1');
  await pts.locator('.ds-pts-train').click();
  await pts.and(page.locator('[data-trained]')).waitFor({ timeout: 120000 });
  row('page-pad-keyboard', 'Space puts the pen down or lifts it, the arrow keys move it');
  assert.equal(await pts.locator('select[aria-label=model]').inputValue(), 'drawing');
  await page.close();
});

test('VI slider updates stay fast while 20 samplers run', async () => {
  const page = await emptyPage();
  await page.setViewportSize({ width: 1000, height: 12000 }); // every sampler in view, so all of them run
  for (let i = 0; i < 20; i++) await add(page, 'diffuscope-sampler', { steps: '1000', batch: '4', autoplay: '' }, `busy${i}`);
  const vi = await add(page, 'diffuscope-vi', {}, 'vi');
  await vi.and(page.locator('[data-ready]')).waitFor({ timeout: 60000 });
  await page.waitForFunction(() => document.querySelectorAll('diffuscope-sampler[data-step]').length >= 10, null, { timeout: 120000 });
  // one slider move at a time, each waited for (at most 20 s), as a reader drags and looks
  const ms = await page.evaluate(async () => {
    const el = document.querySelector('#vi'), slider = el.querySelector('input[aria-label="mean μ of q"]');
    el.timings.length = 0;
    for (let i = 0; i < 12; i++) {
      const seen = el.timings.length, t0 = performance.now();
      slider.value = String(-5 + i * 0.5);
      slider.dispatchEvent(new Event('input'));
      while (el.timings.length === seen && performance.now() - t0 < 20000) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 50));
    }
    return el.timings.slice().sort((a, b) => a - b);
  });
  const median = ms[Math.floor(ms.length / 2)];
  console.log(`VI update with 20 samplers running: median ${median.toFixed(1)} ms, max ${ms[ms.length - 1].toFixed(1)} ms (${ms.length} updates)`);
  row('page-vi-busy', '20 samplers');
  assert.ok(ms.length >= 10, `${ms.length} updates measured`);
  assert.ok(median < 250, `median VI update ${median.toFixed(1)} ms with 20 samplers running`);
  await page.close();
});

test('docs/errors.md lists exactly the page rows tested here', () => {
  const text = fs.readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8');
  const doc = new Map();
  for (const line of text.split('\n')) {
    const m = line.match(/^\|\s*`(page-[a-z0-9-]+)`\s*\|(.*)\|\s*$/);
    if (m) doc.set(m[1], m[2]);
  }
  for (const [id, fragment] of ROWS) {
    assert.ok(doc.has(id), `docs/errors.md has no row ${id}`);
    assert.ok(doc.get(id).includes(fragment), `docs/errors.md row ${id} does not quote "${fragment}"`);
  }
  for (const id of doc.keys()) assert.ok(ROWS.has(id), `docs/errors.md row ${id} has no test`);
});
