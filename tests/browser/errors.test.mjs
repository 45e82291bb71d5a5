// errors.test.mjs — the widget rows of docs/errors.md ("ui-..." ids): bad attributes and bad
// typed values show a message in the widget, engine.call rejects with the C library's message,
// missing or corrupt weights are named, and a browser without WebAssembly (SIMD) is told so.
// A test checks that docs/errors.md lists exactly these rows and quotes these messages.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openBrowser } from './browser.mjs';
import { ROOT } from '../wasm/wasm.mjs';

// [id, element markup attributes, selector of the message inside the widget, fragment]
const ATTRIBUTE_ROWS = [
  ['ui-attr-number', 'diffuscope-schedule', { steps: 'abc' }, '.ds-attr-error', 'attribute steps="abc" must be a number between 1 and 1000; using 1000'],
  ['ui-attr-sigma', 'diffuscope-vi', { sigma: '0' }, '.ds-attr-error', 'attribute sigma="0" must be a number between 0.05 and 20; using 1'],
  ['ui-attr-target', 'diffuscope-vi', { target: '1:0:0' }, '.ds-error', 'attribute target="1:0:0": target component 1: std must be between 0.01 and 100 (got 0); using the default target'],
  ['ui-attr-sampler', 'diffuscope-sampler', { sampler: 'euler', model: 'mixture' }, '.ds-attr-error', 'attribute sampler="euler" must be one of ddpm, ddim, dpmpp2m; using ddim'],
  ['ui-attr-steps', 'diffuscope-sampler', { steps: '0', model: 'mixture' }, '.ds-attr-error', 'attribute steps="0" must be a number between 1 and 1000; using 20'],
  ['ui-attr-eta', 'diffuscope-sampler', { eta: '1.5', model: 'mixture' }, '.ds-attr-error', 'attribute eta="1.5" must be a number between 0 and 1; using 0'],
  ['ui-attr-class', 'diffuscope-sampler', { class: '11', model: 'mixture' }, '.ds-attr-error', 'attribute class="11" must be one of mixed, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10; using mixed'],
  ['ui-attr-guidance-interval', 'diffuscope-sampler', { 'guidance-interval': '700:300', model: 'mixture' }, '.ds-attr-error', 'attribute guidance-interval="700:300" must be LO:HI, two whole numbers with 0 ≤ LO ≤ HI ≤ 1000; using 100:500'],
  ['ui-attr-batch', 'diffuscope-sampler', { batch: '0', model: 'mixture' }, '.ds-attr-error', 'attribute batch="0" must be a number between 1 and 16; using 4'],
  ['ui-attr-model', 'diffuscope-sampler', { model: 'gan' }, '.ds-attr-error', 'attribute model="gan" must be one of network, mixture; using network'],
  ['ui-attr-schedule', 'diffuscope-noising', { schedule: 'quadratic' }, '.ds-attr-error', 'attribute schedule="quadratic" must be one of linear, cosine; using linear'],
  ['ui-attr-shape', 'diffuscope-points', { shape: 'unicorn' }, '.ds-attr-error', 'attribute shape="unicorn" must be one of cow, moons, spiral, rings, letter; using cow'],
  ['ui-attr-forward-shape', 'diffuscope-forward', { shape: 'unicorn' }, '.ds-attr-error', 'attribute shape="unicorn" must be one of cow, moons, spiral, rings, letter; using cow'],
  ['ui-weights-missing', 'diffuscope-sampler', { weights: 'no-such-file.dsw' }, '.ds-notice', 'The weights file /web/examples/no-such-file.dsw is missing (not trained or not shipped yet); showing the exact mixture of test images instead.'],
  ['ui-weights-corrupt', 'diffuscope-sampler', { weights: '../data/fashion-sample.bin' }, '.ds-error', 'bad magic: a Diffuscope weights file (.dsw) starts with "DSCW"'],
];

// [id, function, args, outs, fragment of the rejection]
const ENGINE_ROWS = [
  ['ui-engine-reject', 'vi_evaluate', [2, 'target', 0, -1, 0], [['rec', 'vi_evaluate']], 'sigma must be between 0.01 and 100 (got -1)'],
  ['ui-engine-nan', 'schedule_table', ['linear', NaN, 1], [['f64', 5]], 'schedule_table: argument 2 is NaN, not a finite number'],
  ['ui-engine-enum', 'schedule_table', ['quadratic', 10, 1], [['f64', 10]], '"quadratic" is not a schedule: one of linear, cosine'],
  ['ui-engine-function', 'no_such_function', [], [], 'no exported function no_such_function'],
];

let browser;
test.before(async () => { browser = await openBrowser(); });
test.after(async () => { await browser.close(); });

// A page with nothing but the library on it, served under web/ like the real ones.
async function emptyPage() {
  const page = await browser.newPage();
  const url = new URL('examples/errors-empty.html', browser.url).href;
  await page.route(url, (route) => route.fulfill({
    contentType: 'text/html',
    body: '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>errors</title>' +
      '<script type="module" src="../diffuscope.js"></script></head><body></body></html>',
  }));
  await page.goto(url);
  await page.waitForFunction(() => customElements.get('diffuscope-schedule'));
  return page;
}

test('bad attributes and weights: the widget shows what is wrong', async () => {
  const page = await emptyPage();
  const wrong = [];
  for (const [id, tag, attrs, selector, fragment] of ATTRIBUTE_ROWS) {
    await page.evaluate(([id, tag, attrs]) => {
      const el = document.createElement(tag);
      el.id = id;
      for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
      document.body.append(el);
    }, [id, tag, attrs]);
    const message = page.locator(`#${id} ${selector}`).filter({ hasText: fragment });
    try {
      await message.first().waitFor({ timeout: 20000 });
    } catch {
      const seen = await page.locator(`#${id} .ds-status`).allTextContents();
      wrong.push(`${id}: no ${selector} with "${fragment}" (status lines: ${JSON.stringify(seen)})`);
    }
    await page.evaluate((id) => document.getElementById(id).remove(), id);
  }
  assert.deepEqual(wrong, [], wrong.join('\n'));
  await page.close();
});

// Adds <tag attrs> to the page and waits until it has computed (data-ready).
async function readyWidget(page, tag, attrs) {
  await page.evaluate(([tag, attrs]) => {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    document.body.append(el);
  }, [tag, attrs]);
  const widget = page.locator(tag);
  await widget.and(page.locator('[data-ready]')).waitFor({ timeout: 30000 });
  return widget;
}

// The message must outlive the widget's own progress line ("computing…", then cleared).
test('a bad shape on <diffuscope-forward> stays visible once the widget has computed', async () => {
  const page = await emptyPage();
  const widget = await readyWidget(page, 'diffuscope-forward', { shape: 'unicorn', n: '200' });
  const shown = await widget.locator('.ds-error').allTextContents();
  assert.ok(shown.includes('attribute shape="unicorn" must be one of cow, moons, spiral, rings, letter; using cow'), // ui-attr-shape
    `the error is gone once the widget is ready: ${JSON.stringify(shown)}`);
  assert.equal(await widget.locator('select[aria-label=shape]').inputValue(), 'cow');
  await page.close();
});

test('a value typed out of range stops the sampler with a message', async () => {
  const page = await emptyPage();
  const widget = await readyWidget(page, 'diffuscope-sampler', { model: 'mixture', steps: '3' });
  const steps = widget.locator('input[name="steps"]');
  await steps.fill('0');
  await steps.dispatchEvent('change');
  const error = widget.locator('.ds-status.ds-error');
  await error.waitFor({ timeout: 10000 });
  assert.equal(await error.textContent(), 'steps must be a number between 1 and 1000 (got "0")'); // ui-input-steps
  assert.equal(await steps.getAttribute('aria-invalid'), 'true');
  await page.close();
});

test('engine.call rejects with the C message', async () => {
  const page = await emptyPage();
  const results = await page.evaluate(async (rows) => {
    const { getEngine } = await import('../core.js');
    const engine = await getEngine();
    const out = [];
    for (const [id, fn, args, outs] of rows) {
      const real = args.map((a) => (a === 'target' ? new Float64Array([0.5, -2, 1, 0.5, 2, 1]) : a));
      try {
        await engine.call(fn, real, outs);
        out.push([id, null]);
      } catch (err) {
        out.push([id, err.message]);
      }
    }
    return out;
  }, ENGINE_ROWS);
  for (const [id, message] of results) {
    const fragment = ENGINE_ROWS.find((r) => r[0] === id)[4];
    assert.ok(message != null, `${id}: the call resolved`);
    assert.ok(message.includes(fragment), `${id}: "${message}" lacks "${fragment}"`);
  }
  await page.close();
});

const PLATFORM_ROWS = [
  ['ui-no-simd', (p) => p.addInitScript(() => {
    const validate = WebAssembly.validate;
    WebAssembly.validate = (bytes) => (bytes.length < 40 ? false : validate(bytes));
  }), '.ds-simd-notice', 'WebAssembly SIMD is not supported here: using the scalar build, which is slower.'],
  ['ui-no-wasm', (p) => p.addInitScript(() => { delete globalThis.WebAssembly; }), '.ds-error',
    'This widget needs WebAssembly, which this browser does not support.'],
];

test('without WebAssembly SIMD, or without WebAssembly, the widget says so', async () => {
  for (const [id, setup, selector, fragment] of PLATFORM_ROWS) {
    const page = await browser.newPage();
    await setup(page);
    await page.goto(new URL('examples/csp.html', browser.url).href);
    const message = page.locator(`diffuscope-schedule ${selector}`);
    await message.first().waitFor({ timeout: 20000 });
    assert.ok((await message.first().textContent()).includes(fragment), `${id}: ${await message.first().textContent()}`);
    await page.close();
  }
});

test('docs/errors.md lists exactly the widget rows tested here, with their messages', () => {
  const text = fs.readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8');
  const doc = new Map();
  for (const line of text.split('\n')) {
    const m = line.match(/^\|\s*`(ui-[a-z0-9-]+)`\s*\|(.*)\|\s*$/);
    if (m) doc.set(m[1], m[2]);
  }
  const tested = new Map([
    ...ATTRIBUTE_ROWS.map((r) => [r[0], r[4]]), ...ENGINE_ROWS.map((r) => [r[0], r[4]]), ...PLATFORM_ROWS.map((r) => [r[0], r[3]]),
    ['ui-input-steps', 'steps must be a number between 1 and 1000 (got "0")'],
  ]);
  for (const [id, fragment] of tested) {
    assert.ok(doc.has(id), `docs/errors.md has no row ${id}`);
    assert.ok(doc.get(id).includes(fragment), `docs/errors.md row ${id} does not quote "${fragment}"`);
  }
  for (const id of doc.keys()) assert.ok(tested.has(id), `docs/errors.md row ${id} has no test`);
});
