// vi.test.mjs — <diffuscope-vi> in headless Chromium: the displayed KLs and ELBO are the
// native CLI's numbers, they follow the μ/σ sliders (keyboard) and quick picks, the fits move q
// where each KL direction should, dragging a component edits the target, bad attributes are
// reported, and the time per slider update (compute in the worker + redraw) is measured.
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openBrowser, countPixels, ARTIFACTS } from './browser.mjs';
import { cliJSON } from '../wasm/wasm.mjs';

let browser;
test.before(async () => { browser = await openBrowser(); });
test.after(async () => { await browser.close(); });

// waits until the widget shows the state it holds (no update in flight or pending)
const settled = (page) => page.waitForFunction(() => {
  const w = document.querySelector('diffuscope-vi');
  return w && w.shown && !w.busy && w.dirtySince === null && w.shown.mu === w.mu && w.shown.sigma === w.sigma;
}, null, { timeout: 20000 });

async function shownState(widget) {
  return widget.evaluate((w) => ({
    mu: Number(w.querySelector('output[data-value=mu]').dataset.exact),
    sigma: Number(w.querySelector('output[data-value=sigma]').dataset.exact),
    target: w.components.map((c) => `${c.w}:${c.m}:${c.s}`).join(','),
    cells: Object.fromEntries(['kl_q_p', 'kl_p_q', 'elbo'].map((k) => {
      const td = w.querySelector(`td[data-value=${k}]`);
      return [k, { text: td.textContent, exact: Number(td.dataset.exact) }];
    })),
  }));
}

// the widget's numbers against `diffuscope vi` at the same q and target
async function assertMatchesCli(widget, label) {
  const s = await shownState(widget);
  const cli = cliJSON(['vi', '--mu', String(s.mu), '--sigma', String(s.sigma), '--target', s.target]);
  for (const k of ['kl_q_p', 'kl_p_q', 'elbo']) {
    assert.equal(s.cells[k].text, cli[k].toFixed(4), `${label}: displayed ${k}`);
    assert.equal(s.cells[k].exact, cli[k], `${label}: ${k} from WASM ${s.cells[k].exact} vs native ${cli[k]}`);
  }
  return s;
}

test('vi widget: values from WASM equal the CLI and follow the sliders; fits; dragging; timing', async () => {
  const page = await browser.newPage();
  await page.goto(browser.url);
  const widget = page.locator('diffuscope-vi');
  await widget.scrollIntoViewIfNeeded(); // it computes as it comes near the screen
  await widget.and(page.locator('[data-ready]')).waitFor({ timeout: 20000 });
  await settled(page);
  let s = await assertMatchesCli(widget, 'initial (mu 0, sigma 1)');
  assert.equal(s.mu, 0);
  assert.equal(s.sigma, 1);

  // keyboard on the mu slider: ten steps right
  const muSlider = widget.locator('input[aria-label="mean μ of q"]');
  await muSlider.focus();
  for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowRight');
  await settled(page);
  s = await assertMatchesCli(widget, 'after ArrowRight x10');
  assert.ok(Math.abs(s.mu - 0.5) < 1e-9, `mu moved to ${s.mu}`);

  // quick picks: the seed's (4, 3)
  await widget.getByRole('button', { name: 'μ 4' }).click();
  await widget.getByRole('button', { name: 'σ 3' }).click();
  await settled(page);
  s = await assertMatchesCli(widget, 'quick picks mu 4 sigma 3');
  assert.equal(s.mu, 4);
  assert.equal(s.sigma, 3);

  // Monte Carlo from the widget: the CLI's estimate for the same n and seed, to the digit
  await widget.getByRole('checkbox', { name: 'estimate by Monte Carlo' }).check();
  await widget.locator('.ds-vi-mc', { hasText: '±' }).waitFor({ timeout: 10000 });
  const mc = cliJSON(['vi', '--mu', '4', '--sigma', '3', '--mc', '1000', '--seed', '1']).mc;
  const mcText = await widget.locator('.ds-vi-mc').textContent();
  assert.ok(mcText.includes(`KL(q ‖ p) ≈ ${mc.kl_q_p.toFixed(4)} ± ${mc.kl_q_p_se.toFixed(4)}`), `MC text: ${mcText}`);
  assert.ok(mcText.includes(`KL(p ‖ q) ≈ ${mc.kl_p_q.toFixed(4)} ± ${mc.kl_p_q_se.toFixed(4)}`), `MC text: ${mcText}`);
  await widget.getByRole('checkbox', { name: 'estimate by Monte Carlo' }).uncheck();
  await settled(page);
  assert.equal(await widget.locator('.ds-vi-mc').textContent(), '', 'unchecking clears the estimate');

  // both curves and both shadings are drawn
  const canvas = widget.locator('canvas');
  const blue = await countPixels(canvas, [47, 111, 219], 30), orange = await countPixels(canvas, [224, 118, 43], 30);
  assert.ok(blue > 300 && orange > 300, `curve pixels: p ${blue}, q ${orange}`);

  // timing: 60 keyboard moves of the sigma slider, 50 ms apart (a slow drag); the test does not
  // poll the page meanwhile, which would compete with the page for the CPU and skew the figure
  await widget.evaluate((w) => { w.timings.length = 0; w.timingParts.length = 0; });
  const sigmaSlider = widget.locator('input[aria-label^="standard deviation"]');
  await sigmaSlider.focus();
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press(i < 30 ? 'ArrowLeft' : 'ArrowRight');
    await page.waitForTimeout(50);
  }
  await settled(page);
  const times = (await widget.evaluate((w) => w.timings.slice())).sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)], p95 = times[Math.floor(times.length * 0.95)];
  console.log(`vi widget: time per slider update (compute in WASM worker + redraw), ${times.length} updates: median ${median.toFixed(2)} ms, p95 ${p95.toFixed(2)} ms, max ${times[times.length - 1].toFixed(2)} ms`);
  const parts = await widget.evaluate((w) => w.timingParts.slice());
  const med = (k) => parts.map((q) => q[k]).sort((a, b) => a - b)[Math.floor(parts.length / 2)].toFixed(2);
  console.log(`vi widget: split (medians): waiting ${med('queued')} ms, worker round trip ${med('compute')} ms, redraw ${med('draw')} ms`);
  assert.ok(times.length >= 50, `recorded ${times.length} updates`);
  await assertMatchesCli(widget, 'after sigma keyboard moves');

  // fits from the seed's (-3, 0.6): reverse stays on the left mode, forward covers all three
  for (const [dir, check] of [
    ['q ‖ p', (m, sg) => Math.abs(m + 3) < 0.1 && Math.abs(sg - 0.7) < 0.1],
    ['p ‖ q', (m, sg) => Math.abs(m - 2.5) < 0.01 && Math.abs(sg - 3.869) < 0.01],
  ]) {
    await widget.getByRole('button', { name: 'μ -3' }).click();
    await widget.getByRole('button', { name: 'σ 0.6' }).click();
    await settled(page);
    await widget.getByRole('button', { name: `Fit: minimise KL(${dir})` }).click();
    await widget.locator('.ds-status', { hasText: `KL(${dir}) fit:` }).waitFor({ timeout: 10000 });
    await settled(page);
    s = await assertMatchesCli(widget, `after the KL(${dir}) fit`);
    assert.ok(check(s.mu, s.sigma), `KL(${dir}) fit ended at mu ${s.mu}, sigma ${s.sigma}`);
  }
  await widget.locator('details summary').click(); // show the target editor too
  await widget.screenshot({ path: path.join(ARTIFACTS, 'vi.png') });

  // drag the middle component's handle (at x = 4) to the right with the mouse
  await widget.evaluate((w) => w.scrollIntoView());
  const handle = await widget.evaluate((w) => {
    const r = w.canvas.getBoundingClientRect();
    return { x: r.left + w.handles[1].x, y: r.top + w.handles[1].y, dx: w.f.x(6) - w.f.x(4) };
  });
  await page.mouse.move(handle.x, handle.y);
  await page.mouse.down();
  await page.mouse.move(handle.x + handle.dx / 2, handle.y, { steps: 4 });
  await page.mouse.move(handle.x + handle.dx, handle.y, { steps: 4 });
  await page.mouse.up();
  await settled(page);
  s = await assertMatchesCli(widget, 'after dragging a component');
  const moved = await widget.evaluate((w) => w.components[1].m);
  assert.ok(Math.abs(moved - 6) < 0.25, `component 2 dragged to mean ${moved}`);

  // touch: a finger dragged across empty plot space moves q's mean to where it lifts
  await widget.evaluate((w) => {
    const r = w.canvas.getBoundingClientRect(), y = r.top + w.f.top + 5;
    const fire = (type, x) => w.canvas.dispatchEvent(new PointerEvent(type, { pointerId: 7, pointerType: 'touch', isPrimary: true, clientX: r.left + x, clientY: y, bubbles: true }));
    fire('pointerdown', w.f.x(-6));
    fire('pointermove', w.f.x(-4));
    fire('pointermove', w.f.x(-1));
    fire('pointerup', w.f.x(-1));
  });
  await settled(page);
  s = await assertMatchesCli(widget, 'after a touch drag');
  assert.ok(Math.abs(s.mu + 1) < 0.05, `touch drag moved mu to ${s.mu}`);
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});

test('vi widget: author attributes set the target and q; a bad target is reported', async () => {
  const page = await browser.newPage();
  await page.goto(browser.url);
  await page.evaluate(() => {
    const good = document.createElement('diffuscope-vi');
    good.id = 'good';
    good.setAttribute('target', '1:-2:0.5, 3:5:2');
    good.setAttribute('mu', '1.5');
    good.setAttribute('sigma', '2');
    const bad = document.createElement('diffuscope-vi');
    bad.id = 'bad';
    bad.setAttribute('target', '1:0:1,1:nan:1');
    document.body.prepend(good, bad);
  });
  const good = page.locator('#good');
  await good.and(page.locator('[data-ready]')).waitFor({ timeout: 20000 });
  await page.waitForFunction(() => document.querySelector('#good').shown && !document.querySelector('#good').busy);
  const st = await good.evaluate((w) => ({ mu: w.mu, sigma: w.sigma, klqp: Number(w.querySelector('td[data-value=kl_q_p]').dataset.exact) }));
  const cli = cliJSON(['vi', '--mu', '1.5', '--sigma', '2', '--target', '1:-2:0.5,3:5:2']);
  assert.equal(st.mu, 1.5);
  assert.equal(st.sigma, 2);
  assert.equal(st.klqp, cli.kl_q_p);
  const status = page.locator('#bad .ds-status.ds-error');
  await status.waitFor({ timeout: 20000 });
  assert.match(await status.textContent(), /target="1:0:1,1:nan:1": target spec: expected the mean of component 2.*using the default target/);
  await page.close();
});
