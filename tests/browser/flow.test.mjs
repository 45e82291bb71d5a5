// flow.test.mjs — <diffuscope-flow> in headless Chromium: the shipped diffusion and flow-matching
// models side by side at the same step count, each with C's quality verdict; the step slider
// and the mesh view recompute both sides; a shape drawn with the mouse trains in the page with
// flow matching and its quality readout is C's verdict on it. Printed, not asserted: the in-page
// training time of both objectives (goal ≤ 15 s each) and the quality at 2, 5, 10 and 20 steps.
// Screenshots: tests/artifacts/flow-desktop.png, flow-mesh.png, flow-360.png, flow-trained.png.
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openBrowser, countPixels, ARTIFACTS, drawHeart } from './browser.mjs';

let browser;
test.before(async () => { browser = await openBrowser(); });
test.after(async () => { await browser.close(); });

const quality = (widget, side) => widget.evaluate((el, side) => el.results[side].quality, side);

async function setSteps(page, widget, steps) {
  await widget.locator('input[aria-label="sampling steps"]').evaluate((el, v) => {
    el.value = String(v);
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, steps);
  await page.waitForFunction((v) => {
    const el = document.querySelector('diffuscope-flow');
    return el.dataset.steps === String(v) && el.dataset.sampled !== undefined && !el.busy;
  }, steps, { timeout: 60000 });
}

test('flow widget: diffusion and flow side by side, the step slider and the mesh view', async () => {
  const page = await browser.newPage();
  await page.goto(new URL('examples/flow.html', browser.url).href);
  const widget = page.locator('diffuscope-flow');
  await widget.and(page.locator('[data-ready]')).waitFor({ timeout: 60000 });
  for (const side of ['diffusion', 'flow']) {
    const q = await quality(widget, side);
    assert.equal(q.maxRatio, 1.3, 'the threshold is C\'s (point_verdict)');
    assert.match(await widget.locator(`.ds-flow-quality[data-side="${side}"]`).textContent(), /Chamfer .* ratio \d\.\d\d\), MMD² .*(meets|misses) the threshold/);
  }
  await widget.screenshot({ path: path.join(ARTIFACTS, 'flow-desktop.png') });

  const rows = [];
  for (const steps of [2, 5, 10, 20]) {
    await setSteps(page, widget, steps);
    const d = await quality(widget, 'diffusion'), f = await quality(widget, 'flow');
    rows.push(`${steps} steps: diffusion (DDIM) ratio ${d.ratio.toFixed(2)} MMD² ${d.mmd2.toFixed(5)}, flow (Euler) ratio ${f.ratio.toFixed(2)} MMD² ${f.mmd2.toFixed(5)}`);
    assert.equal(await widget.evaluate((el) => el.results.flow.F), steps + 1, 'one frame per step, and the start');
    // the shipped flow models meet the threshold at 20 Euler steps (issue 16)
    if (steps === 20) assert.ok(f.pass, `shipped moons flow model at 20 Euler steps meets the threshold (ratio ${f.ratio}, MMD² ${f.mmd2})`);
  }
  console.log(`flow widget, shipped moons:\n  ${rows.join('\n  ')}`);

  await widget.locator('select[aria-label="view"]').selectOption('mesh');
  await page.waitForFunction(() => document.querySelector('diffuscope-flow').results.flow.mesh != null && !document.querySelector('diffuscope-flow').busy);
  for (const side of ['diffusion', 'flow']) {
    const canvas = widget.locator(`figure[data-side="${side}"] canvas`);
    const lines = (await countPixels(canvas, [47, 111, 219], 50)) + (await countPixels(canvas, [42, 157, 98], 50));
    assert.ok(lines > 500, `${side}: mesh lines drawn (${lines} pixels)`);
  }
  await widget.screenshot({ path: path.join(ARTIFACTS, 'flow-mesh.png') });

  await page.setViewportSize({ width: 360, height: 740 });
  await page.waitForTimeout(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the widget fits a 360 px screen (${overflow} px too wide)`);
  await widget.screenshot({ path: path.join(ARTIFACTS, 'flow-360.png') });
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});

async function trainObjective(page, widget, objective) {
  await widget.locator('select[aria-label="training objective"]').selectOption(objective);
  await widget.locator('button.ds-flow-train').click();
  await page.waitForFunction((o) => {
    const el = document.querySelector('diffuscope-flow');
    return el.dataset.trained !== undefined && el.dataset.trainedObjective === o;
  }, objective, { timeout: 180000 });
  return Number(await widget.getAttribute('data-train-seconds'));
}

// The 15 s goal is printed (and noted), not asserted; what must hold is the readout's verdict.
test('flow widget: a drawing trains in the page with flow matching (and diffusion), with the quality readout', async () => {
  const page = await browser.newPage();
  await page.goto(new URL('examples/flow.html', browser.url).href);
  const widget = page.locator('diffuscope-flow');
  await widget.and(page.locator('[data-ready]')).waitFor({ timeout: 60000 });
  await widget.locator('button.ds-flow-train').click(); // nothing drawn yet: a clear message, not a stuck button
  await widget.locator('.ds-flow-train-info.ds-error').waitFor();
  assert.match(await widget.locator('.ds-flow-train-info').textContent(), /Draw a shape first/);
  assert.equal(await widget.locator('button.ds-flow-train').isDisabled(), false);
  await drawHeart(page, widget.locator('canvas.ds-pts-pad'));
  assert.equal(await widget.evaluate((el) => el.pad.strokes.length), 1);

  const flowSeconds = await trainObjective(page, widget, 'flow');
  assert.equal(await widget.locator('select[aria-label="model"]').inputValue(), 'drawing');
  const readout = widget.locator('.ds-flow-quality[data-side="flow"]');
  const q = await quality(widget, 'flow');
  console.log(`drawn heart, flow matching trained in the page in ${flowSeconds.toFixed(1)} s (goal ≤ 15 s): ${await readout.textContent()}`);
  assert.match(await readout.textContent(), /ratio \d+\.\d\d\), MMD² .*(meets|misses) the threshold/);
  assert.equal(await readout.getAttribute('data-pass'), String(q.pass), 'the readout shows C\'s verdict');
  assert.ok(q.pass, `the flow model trained in the page meets the threshold at 10 Euler steps (ratio ${q.ratio}, MMD² ${q.mmd2})`);
  assert.match(await widget.locator('.ds-flow-quality[data-side="diffusion"]').textContent(), /Train the diffusion objective/);
  assert.ok((await widget.evaluate((el) => el.losses.length)) >= 10, 'the loss curve was drawn');

  const diffusionSeconds = await trainObjective(page, widget, 'diffusion');
  const d = await quality(widget, 'diffusion');
  console.log(`drawn heart, diffusion (ε) trained in the page in ${diffusionSeconds.toFixed(1)} s (goal ≤ 15 s): ` +
    `DDIM at 10 steps ratio ${d.ratio.toFixed(2)}, MMD² ${d.mmd2.toFixed(5)}`);
  assert.ok(Number.isFinite(d.ratio), 'both sides measured');
  await widget.screenshot({ path: path.join(ARTIFACTS, 'flow-trained.png') });
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});
