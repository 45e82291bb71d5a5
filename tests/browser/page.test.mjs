// page.test.mjs — the served page in headless Chromium: the schedule widget computes in the
// worker, shows the same numbers as the native CLI, redraws on slider moves, and falls back to
// the scalar build (with a visible notice) where WebAssembly SIMD is missing.
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openBrowser, countPixels, ARTIFACTS } from './browser.mjs';
import { cliJSON } from '../wasm/wasm.mjs';

const linear = cliJSON(['schedule', '--kind', 'linear', '--steps', '1000']);
const cosine = cliJSON(['schedule', '--kind', 'cosine', '--steps', '1000']);
const fmt = (v) => (Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(3) : v.toPrecision(4));

let browser;
test.before(async () => { browser = await openBrowser(); });
test.after(async () => { await browser.close(); });

test('schedule widget renders values computed in WebAssembly', async () => {
  const page = await browser.newPage();
  await page.goto(browser.url);
  const widget = page.locator('diffuscope-schedule');
  await widget.scrollIntoViewIfNeeded(); // a widget computes as it comes near the screen
  await widget.and(page.locator('[data-ready]')).waitFor({ timeout: 20000 });
  const cell = (k) => widget.locator(`td[data-value="${k}"]`).textContent();
  assert.equal(await cell('linear.alpha_bar'), fmt(linear.alpha_bar[499]));
  assert.equal(await cell('cosine.alpha_bar'), fmt(cosine.alpha_bar[499]));
  assert.equal(await cell('cosine.snr'), fmt(cosine.snr[499]));

  // both curves are drawn: count pixels of the two series colours on the canvas
  const canvas = widget.locator('canvas');
  const blue = await countPixels(canvas, [47, 111, 219]);
  const orange = await countPixels(canvas, [224, 118, 43]);
  assert.ok(blue > 300 && orange > 300, `curve pixels: linear ${blue}, cosine ${orange}`);

  // keyboard: End moves the slider to t = T and the readouts follow
  await widget.locator('input[type=range]').focus();
  await page.keyboard.press('End');
  assert.equal(await cell('linear.alpha_bar'), fmt(linear.alpha_bar[999]));
  assert.equal(await cell('linear.beta'), fmt(0.02));
  await page.screenshot({ path: path.join(ARTIFACTS, 'index.png'), fullPage: true });
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});

test('without WebAssembly SIMD the scalar build loads and the page says so', async () => {
  const page = await browser.newPage();
  // pretend this browser lacks SIMD: the probe module fails validation
  await page.addInitScript(() => {
    const validate = WebAssembly.validate;
    WebAssembly.validate = (bytes) => (bytes.length < 40 ? false : validate(bytes));
  });
  const wasmRequests = [];
  page.on('request', (r) => r.url().endsWith('.wasm') && wasmRequests.push(r.url()));
  await page.goto(browser.url);
  const widget = page.locator('diffuscope-schedule');
  await widget.scrollIntoViewIfNeeded(); // a widget computes as it comes near the screen
  await widget.and(page.locator('[data-ready]')).waitFor({ timeout: 20000 });
  assert.match(await widget.locator('.ds-simd-notice').textContent(), /SIMD is not supported.*scalar/);
  assert.equal(await widget.locator('td[data-value="cosine.alpha_bar"]').textContent(), fmt(cosine.alpha_bar[499]));
  assert.ok(wasmRequests.length && wasmRequests.every((u) => u.endsWith('diffuscope_scalar.wasm')), `loaded: ${wasmRequests}`);
  await page.close();
});

test('without WebAssembly the widget says so instead of failing silently', async () => {
  const page = await browser.newPage();
  await page.addInitScript(() => { delete globalThis.WebAssembly; });
  await page.goto(browser.url);
  const status = page.locator('diffuscope-schedule .ds-status');
  await status.waitFor();
  assert.match(await status.textContent(), /needs WebAssembly/);
  await page.close();
});
