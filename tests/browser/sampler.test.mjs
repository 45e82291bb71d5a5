// sampler.test.mjs — <diffuscope-sampler> and <diffuscope-noising> in headless Chromium:
// a 20-step DDIM sampling stepped one step at a time (every step redraws the canvas; the final
// images are garments, neither blank nor noise, judged by pixel statistics read back from the
// canvas), scrubbing back, the missing-weights message, the forward-noising view, and the
// time of a 20-step DDIM sample of 1 and 16 images with the Fashion UNet in WebAssembly.
// The trained weights are used when weights/fashion-unet.dsw exists; otherwise the exact
// mixture of the shipped test images (which also gives clean garments) stands in.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openBrowser, ARTIFACTS } from './browser.mjs';
import { ROOT, cliJSON } from '../wasm/wasm.mjs';

const HAVE_WEIGHTS = fs.existsSync(path.join(ROOT, 'weights', 'fashion-unet.dsw'));
const linear = cliJSON(['schedule', '--kind', 'linear', '--steps', '1000']);

let browser;
test.before(async () => { browser = await openBrowser(); });
test.after(async () => { await browser.close(); });

// Puts a fresh widget at the top of the page (visible, so it starts at once).
async function addWidget(page, tag, attrs) {
  await page.evaluate(([tag, attrs]) => {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    el.id = 'under-test';
    document.querySelector('main').prepend(el);
  }, [tag, attrs]);
  const w = page.locator('#under-test');
  await w.and(page.locator('[data-ready]')).waitFor({ timeout: 60000 });
  return w;
}

// Per image of the canvas grid (layout of sampler.js: pairs of x_t | x̂_0, up to 4 per row, the
// tile size and pairs per row in the canvas's data-tile and data-cols, as the widget's width
// allows): back to 28 x 28 greyscale by sampling tile pixel centres, then statistics.
async function tileStats(widget, which) {
  return widget.locator('canvas.ds-sampler-canvas').evaluate((canvas, which) => {
    const ctx = canvas.getContext('2d');
    const ratio = canvas.width / parseFloat(canvas.style.width);
    const tile = Number(canvas.dataset.tile), cols = Number(canvas.dataset.cols), gap = 4, pairW = 2 * tile + gap, padX = 14, capH = 18;
    const n = Number(canvas.getRootNode().host.querySelector('input[name=batch]').value);
    const out = [];
    for (let b = 0; b < n; b++) {
      const x0 = (b % cols) * (pairW + padX) + (which === 'x0' ? tile + gap : 0), y0 = capH + Math.floor(b / cols) * (tile + capH);
      const data = ctx.getImageData(Math.round(x0 * ratio), Math.round(y0 * ratio), Math.round(tile * ratio), Math.round(tile * ratio)).data;
      const w = Math.round(tile * ratio), px = [];
      const cell = (tile / 28) * ratio;
      for (let i = 0; i < 28; i++) for (let j = 0; j < 28; j++) px.push(data[4 * (Math.floor((i + 0.5) * cell) * w + Math.floor((j + 0.5) * cell))]);
      const mean = px.reduce((a, v) => a + v, 0) / px.length;
      const std = Math.sqrt(px.reduce((a, v) => a + (v - mean) ** 2, 0) / px.length);
      let rough = 0; // mean |horizontal neighbour difference| / std: ~1.1 for white noise, small for images
      for (let i = 0; i < 28; i++) for (let j = 0; j < 27; j++) rough += Math.abs(px[i * 28 + j] - px[i * 28 + j + 1]);
      rough /= 28 * 27 * Math.max(std, 1e-9);
      const dark = px.filter((v) => v < 30).length / px.length; // Fashion backgrounds are black
      out.push({ mean, std, rough, dark });
    }
    return out;
  }, which);
}

const canvasBytes = (widget) => widget.locator('canvas.ds-sampler-canvas').evaluate((c) => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let hash = 0;
  for (let i = 0; i < d.length; i += 4) hash = (hash * 31 + d[i]) | 0;
  return { hash, length: d.length };
});

// measured on the mixture's garments: roughness 0.14-0.66, dark fraction 0.39-0.79; on x_T
// noise: roughness 1.11-1.19, dark fraction (clamped negatives) 0.22-0.24. Roughness tells
// noise from images; std > 25 rules out blank tiles; some black background must be there.
const isGarment = (s) => s.std > 25 && s.rough < 0.8 && s.dark > 0.1;
const isNoise = (s) => s.rough > 0.95;

test('20 DDIM steps, one at a time: every step redraws, the result is garments', async () => {
  const page = await browser.newPage();
  await page.goto(browser.url);
  const w = await addWidget(page, 'diffuscope-sampler',
    { model: HAVE_WEIGHTS ? 'network' : 'mixture', sampler: 'ddim', steps: '20', batch: '8', class: 'mixed', seed: '3', guidance: HAVE_WEIGHTS ? '2' : '1' });
  assert.equal(await w.locator('output[data-value=step]').textContent(), '0 / 20');
  const start = await tileStats(w, 'xt');
  assert.ok(start.every(isNoise), `x_T is noise: ${JSON.stringify(start.map((s) => s.rough.toFixed(2)))}`);
  assert.ok(!start.some(isGarment), 'x_T is not mistaken for a garment');

  let prev = await canvasBytes(w), prevT = 1001;
  const step = w.locator('button.ds-step');
  for (let k = 1; k <= 20; k++) {
    await step.click();
    await page.waitForFunction((k) => document.querySelector('#under-test').dataset.step === String(k), k);
    const now = await canvasBytes(w);
    assert.notEqual(now.hash, prev.hash, `step ${k} changed the canvas`);
    prev = now;
    const t = Number(await w.locator('output[data-value=t]').textContent());
    assert.ok(t < prevT, `t decreases (step ${k}: ${t} after ${prevT})`);
    prevT = t;
  }
  assert.equal(prevT, 0, 'sampling ends at t = 0');
  assert.ok(await step.isDisabled(), 'Step is disabled once done');
  assert.equal(await w.locator('output[data-value=snr]').textContent(), '∞');

  const end = await tileStats(w, 'xt');
  for (const [b, s] of end.entries())
    assert.ok(isGarment(s), `image ${b} is a garment: std ${s.std.toFixed(1)}, roughness ${s.rough.toFixed(2)}, dark ${s.dark.toFixed(2)}`);
  await w.scrollIntoViewIfNeeded();
  await w.screenshot({ path: path.join(ARTIFACTS, 'sampler.png') });

  // scrub back to step 10: the readouts and the picture follow
  const scrub = w.locator('input.ds-scrub');
  await scrub.focus();
  await page.keyboard.press('Home');
  assert.equal(await w.locator('output[data-value=step]').textContent(), '0 / 20');
  for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowRight');
  assert.equal(await w.locator('output[data-value=step]').textContent(), '10 / 20');
  const mid = await tileStats(w, 'xt');
  assert.ok(mid.some((s, b) => Math.abs(s.std - end[b].std) > 1 || Math.abs(s.rough - end[b].rough) > 0.02), 'step 10 differs from the end');
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});

test('play runs to the end in the worker while the page stays responsive', async () => {
  const page = await browser.newPage();
  await page.goto(browser.url);
  const w = await addWidget(page, 'diffuscope-sampler', { model: 'mixture', sampler: 'dpmpp2m', steps: '8', batch: '2', class: '5' });
  await w.locator('button.ds-play').click();
  // the main thread answers while sampling runs (how fast is a figure, not an assertion)
  const t0 = Date.now();
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(r)));
  console.log(`sampler: a frame was drawn ${Date.now() - t0} ms into playback`);
  await page.waitForFunction(() => document.querySelector('#under-test').dataset.step === '8', null, { timeout: 30000 });
  assert.equal(await w.locator('output[data-value=step]').textContent(), '8 / 8');
  assert.match(await w.locator('output[data-value=ms]').textContent(), /\d+\.\d \(mean \d+\.\d\)/);
  const end = await tileStats(w, 'xt');
  assert.ok(end.every(isGarment), 'class 5 (sandals) come out as images');
  await page.close();
});

test('guidance-interval: only the steps at t in LO..HI are guided; the checkbox turns it off', async () => {
  const page = await browser.newPage();
  await page.goto(browser.url);
  const w = await addWidget(page, 'diffuscope-sampler',
    // the network: the exact mixture's halves agree to the last bit once its posterior has chosen an image
    { model: HAVE_WEIGHTS ? 'network' : 'mixture', sampler: 'ddim', steps: '10', batch: '2', class: 'mixed', seed: '3', guidance: '3', 'guidance-interval': '300:700' });
  assert.ok(await w.locator('input.ds-guidance-interval').isChecked(), 'the attribute ticks the checkbox');
  await w.locator('button.ds-play').click();
  await page.waitForFunction(() => document.querySelector('#under-test').dataset.step === '10', null, { timeout: 60000 });
  // the guidance map of each step (what guidance added) is 0 exactly where it was not applied
  const guided = () => w.evaluate((el) => el.history.slice(1).map((e) => ({ t: e.info.t_pred, on: e.map.some((v) => v !== 0) })));
  const maps = await guided();
  for (const m of maps) if (HAVE_WEIGHTS || !m.on) assert.equal(m.on, m.t >= 300 && m.t <= 700, `the step at t = ${m.t} is ${m.on ? '' : 'not '}guided`);
  assert.ok(maps.some((m) => m.on) && maps.some((m) => !m.on), `some steps guided, some not: ${JSON.stringify(maps)}`);
  // unticked: the same seed again, every step guided
  await w.locator('input.ds-guidance-interval').uncheck();
  await page.waitForFunction(() => {
    const el = document.querySelector('#under-test');
    return el.history.length === 11 && el.history[1].map.some((v) => v !== 0); // t = 1000 is guided now
  }, null, { timeout: 60000 });
  if (HAVE_WEIGHTS) assert.ok((await guided()).every((m) => m.on), 'every step guided without the interval');
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});

test('spacing: the steps are placed at t = 1 + 999 u^p; p outside 0 or 1..4 is named', async () => {
  const page = await browser.newPage();
  await page.goto(browser.url);
  const w = await addWidget(page, 'diffuscope-sampler', { model: 'mixture', sampler: 'ddim', steps: '10', batch: '1', spacing: '2' });
  await w.locator('button.ds-play').click();
  await page.waitForFunction(() => document.querySelector('#under-test').dataset.step === '10', null, { timeout: 60000 });
  const ts = await w.evaluate((el) => el.history.map((e) => e.info.t));
  // (1 - i/9)^2 * 999 + 1, rounded: the quadratic sequence, denser at low noise
  assert.deepEqual(ts, [1000, 790, 605, 445, 309, 198, 112, 50, 13, 1, 0]);
  await w.evaluate((el) => el.setAttribute('spacing', '0'));
  await page.waitForFunction(() => document.querySelector('#under-test').history.length === 1, null, { timeout: 60000 });
  await w.locator('button.ds-play').click();
  // data-step still says 10 from the first run until this one's first step: wait for its 11 frames
  await page.waitForFunction(() => document.querySelector('#under-test').history.length === 11, null, { timeout: 60000 });
  assert.deepEqual(await w.evaluate((el) => el.history.map((e) => e.info.t)), [1000, 889, 778, 667, 556, 445, 334, 223, 112, 1, 0], 'spacing 0: even in t');
  await w.locator('input[aria-label=spacing]').fill('0.5');
  await w.locator('button.ds-reset').click();
  await w.locator('.ds-status', { hasText: /spacing power must be 0 \(the sampler's own placement\) or between 1 and 4 \(got 0\.5\)/ }).waitFor({ timeout: 60000 });
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});

test('pace: a played step takes pace ms at least; a bad pace is named and 60 used', async () => {
  const page = await browser.newPage();
  await page.goto(browser.url);
  const w = await addWidget(page, 'diffuscope-sampler', { model: 'mixture', sampler: 'ddim', steps: '5', batch: '1', pace: '250' });
  await w.evaluate((el) => {
    window.__stepAt = [];
    new MutationObserver(() => window.__stepAt.push(performance.now())).observe(el, { attributes: true, attributeFilter: ['data-step'] });
  });
  await w.locator('button.ds-play').click();
  await page.waitForFunction(() => document.querySelector('#under-test').dataset.step === '5', null, { timeout: 60000 });
  const at = await page.evaluate(() => window.__stepAt);
  const gaps = at.slice(1).map((t, i) => t - at[i]);
  console.log(`sampler pace="250": step to step ${gaps.map((g) => g.toFixed(0)).join(' ')} ms`);
  assert.equal(gaps.length, 4);
  // start to start (the frames' latencies differ by a few ms): 4 steps take 4 paces at least
  assert.ok(at[4] - at[0] >= 4 * 250 - 25, `the played steps wait out their pace (${gaps.join(', ')})`);
  await w.evaluate((el) => el.setAttribute('pace', 'soon'));
  await w.locator('.ds-attr-error', { hasText: 'attribute pace="soon" must be a number between 0 and 10000; using 60' }).waitFor();
  assert.equal(await w.evaluate((el) => el.pace), 60);
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});

test('play computes ahead: the next step is in the worker while a frame is shown; a pause shows the step computing; none lost', async () => {
  const page = await browser.newPage();
  await page.goto(browser.url);
  const w = await addWidget(page, 'diffuscope-sampler', { model: 'mixture', sampler: 'ddim', steps: '8', batch: '1', pace: '150' });
  await w.evaluate((el) => {
    window.__sent = []; // the frames on screen (history length) as each sampler_step went out
    const lane = el.engineNow(), call = lane.call;
    lane.call = (fn, args, outs) => {
      if (fn === 'sampler_step') window.__sent.push(el.history.length);
      return call(fn, args, outs);
    };
  });
  await w.locator('button.ds-play').click();
  await page.waitForFunction(() => Number(document.querySelector('#under-test').dataset.step) >= 3, null, { timeout: 60000 });
  await w.locator('button.ds-play').click(); // pause
  await page.waitForFunction(() => document.querySelector('#under-test').playBtn.textContent === 'Play', null, { timeout: 60000 });
  const paused = await w.evaluate((el) => ({ shown: el.history.length - 1, step: Number(el.dataset.step), sent: window.__sent.slice() }));
  // step n went out when frames 0..n-2 were on screen (frame n-1 had come in, not yet drawn);
  // played one at a time it would have waited for frame n-1 to be drawn too
  assert.deepEqual(paused.sent, paused.sent.map((_, i) => Math.max(1, i)), `frames on screen as each step went out: ${paused.sent}`);
  assert.equal(paused.shown, paused.sent.length, 'every step computed before the pause is shown');
  assert.equal(paused.step, paused.shown);
  assert.ok(paused.shown < 8, `paused before the end (at ${paused.shown})`);
  await w.locator('button.ds-play').click(); // on from there
  await page.waitForFunction(() => document.querySelector('#under-test').dataset.step === '8', null, { timeout: 60000 });
  const steps = await w.evaluate((el) => el.history.map((f) => f.info.step));
  assert.deepEqual(steps, [0, 1, 2, 3, 4, 5, 6, 7, 8], 'no step lost or repeated across the pause');
  console.log(`play ahead: steps sent with ${paused.sent.join(' ')} frames on screen; paused at step ${paused.shown}, then on to 8`);
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});

test('missing weights: a clear message, and the exact mixture stands in', async () => {
  const page = await browser.newPage();
  await page.goto(browser.url);
  const w = await addWidget(page, 'diffuscope-sampler', { weights: '../weights/no-such-file.dsw', steps: '5', batch: '1' });
  assert.match(await w.locator('.ds-status').textContent(), /no-such-file\.dsw is missing.*exact mixture/);
  assert.equal(await w.locator('select[aria-label=denoiser]').inputValue(), 'mixture');
  await page.close();
});

test('forward view: q(x_t | x_0) on a real test image, with sqrt(abar_t) and the SNR', async () => {
  const page = await browser.newPage();
  await page.goto(browser.url);
  const w = await addWidget(page, 'diffuscope-noising', { t: '0' });
  assert.equal(await w.locator('output[data-value=signal]').textContent(), '1.00');
  assert.equal(await w.locator('output[data-value=snr]').textContent(), '∞');
  const pixels = (sel) => w.locator(sel).evaluate((c) => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 === 0)));
  const clean = await pixels('canvas[aria-label="the clean test image x0"]');
  assert.deepEqual(await pixels('canvas[aria-label="the noised image x_t"]'), clean, 't = 0 shows the image itself');
  const slider = w.locator('input[type=range]');
  await slider.focus();
  for (let i = 0; i < 3; i++) await page.keyboard.press('PageUp'); // 3 x 10% of 1000
  await page.waitForFunction(() => document.querySelector('#under-test').querySelector('output').textContent.startsWith('300'));
  await page.waitForFunction((want) => document.querySelector('#under-test').querySelector('output[data-value=signal]').textContent === want,
    linear.sqrt_alpha_bar[299].toPrecision(3));
  const noisy = await pixels('canvas[aria-label="the noised image x_t"]');
  let differ = 0;
  for (let i = 0; i < clean.length; i++) differ += Math.abs(clean[i] - noisy[i]) > 20;
  assert.ok(differ > clean.length / 3, `t = 300 visibly noised (${differ} of ${clean.length} pixels changed)`);
  assert.equal(await w.locator('output[data-value=snr]').textContent(), linear.snr[299].toPrecision(3));
  await w.screenshot({ path: path.join(ARTIFACTS, 'forward.png') });
  await page.close();
});

test('timing: 20-step DDIM with the Fashion UNet in WebAssembly, batches of 1 and 16', async () => {
  const page = await browser.newPage();
  await page.goto(browser.url);
  const result = await page.evaluate(async (haveWeights) => {
    const { getEngine } = await import('./core.js');
    const engine = await getEngine();
    let model;
    if (haveWeights) {
      const bytes = new Uint8Array(await (await fetch('../weights/fashion-unet.dsw')).arrayBuffer());
      model = (await engine.call('model_load', [bytes, bytes.length])).ret;
    } else {
      model = (await engine.call('model_random', ['unet', new Int32Array(1), 0, 1])).ret; // default (Fashion) config
    }
    const out = {};
    for (const B of [1, 16]) {
      const cls = Int32Array.from({ length: B }, (_, i) => i % 10);
      const h = (await engine.call('sampler_new', [model, 'linear', 'ddim', 20, 0, 1, 1, 7, B, cls])).ret;
      await engine.call('sampler_step', [h, 1]); // warm-up: the model grows its run state once
      const t0 = performance.now();
      await engine.call('sampler_step', [h, 19]);
      out[B] = ((performance.now() - t0) / 19) * 20;
      await engine.call('free', [h]);
    }
    await engine.call('free', [model]);
    return out;
  }, HAVE_WEIGHTS);
  console.log(`Chromium (WASM SIMD), 20-step DDIM, ${HAVE_WEIGHTS ? 'trained' : 'random default-config'} UNet: ` +
    `1 image ${result[1].toFixed(0)} ms, 16 images ${result[16].toFixed(0)} ms`);
  assert.ok(result[1] > 0 && result[16] > result[1], 'timings are positive and grow with the batch');
  await page.close();
});
