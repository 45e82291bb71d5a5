// blend.test.mjs — <diffuscope-blend> in headless Chromium with the shipped Fashion UNet: the
// slider, moved with the keyboard from u = 0 to 1 in steps of 0.125, gives images that change
// smoothly: between two seeds of one class, the distance between neighbours (mean |Δ pixel|)
// stays under half the distance between the two ends. With the class moving too (T-shirt to
// sneaker) the garment flips within a narrow range of u; those distances are printed.
// Also the <diffuscope-sampler>'s guidance map and slider, which re-runs from the same noise.
// Screenshots at 360 px and at desktop width in tests/artifacts/.
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openBrowser, ARTIFACTS } from './browser.mjs';

let browser;
test.before(async () => { browser = await openBrowser(); });
test.after(async () => { await browser.close(); });

const dist = (a, b) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;

// Moves the slider from u = 0 to 1 in steps of 0.125 with the keyboard; the image at each u.
async function walk(page, w) {
  await w.locator('input.ds-blend-u').focus();
  await page.keyboard.press('Home');
  const images = [];
  for (let k = 0; k <= 8; k++) {
    if (k) for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowRight'); // 5 x 0.025
    await page.waitForFunction((u) => {
      const el = document.querySelector('diffuscope-blend');
      return el.shown && Math.abs(el.shown.u - u) < 1e-9 && !el.running;
    }, k / 8, { timeout: 60000 });
    images.push(await w.evaluate((el) => Array.from(el.shown.pixels)));
  }
  const steps = images.slice(1).map((im, i) => dist(im, images[i]));
  return { steps, ends: dist(images[0], images[8]) };
}

test('moving the interpolation slider changes the image smoothly', async () => {
  const page = await browser.newPage();
  await page.goto(`${browser.origin}/web/examples/blend.html`);
  const w = page.locator('diffuscope-blend');
  await w.and(page.locator('[data-ready]')).waitFor({ timeout: 180000 });
  // the page's own setting: T-shirt (seed 1) to sneaker (seed 2), seeds and class together
  const both = await walk(page, w);
  console.log(`blend, seed 1 -> 2 and T-shirt -> sneaker: mean |Δpixel| between neighbours (u step 0.125): ${both.steps.map((d) => d.toFixed(1)).join(', ')}; ends ${both.ends.toFixed(1)}`);
  await page.screenshot({ path: path.join(ARTIFACTS, 'blend-desktop.png'), fullPage: true });
  // seeds alone (both classes T-shirt): the path of images is continuous
  await w.locator('select[aria-label=class-b]').selectOption('0');
  await page.waitForFunction(() => !document.querySelector('diffuscope-blend').running, null, { timeout: 120000 });
  const seeds = await walk(page, w);
  console.log(`blend, seed 1 -> 2, T-shirt: mean |Δpixel| between neighbours: ${seeds.steps.map((d) => d.toFixed(1)).join(', ')}; ends ${seeds.ends.toFixed(1)}`);
  assert.ok(seeds.ends > 10, `the two ends are nearly the same image (${seeds.ends.toFixed(1)})`);
  for (const [i, d] of seeds.steps.entries()) assert.ok(d < 0.5 * seeds.ends, `u ${i / 8} -> ${(i + 1) / 8}: a jump of ${d.toFixed(1)} (ends ${seeds.ends.toFixed(1)})`);
  await page.setViewportSize({ width: 360, height: 800 });
  await page.screenshot({ path: path.join(ARTIFACTS, 'blend-360.png'), fullPage: true });
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});

test('the sampler shows the guidance map and its slider re-runs from the same noise', async () => {
  const page = await browser.newPage();
  await page.goto(`${browser.origin}/web/examples/sampler.html`);
  const w = page.locator('diffuscope-sampler');
  await w.and(page.locator('[data-ready]')).waitFor({ timeout: 120000 });
  const x0 = (el) => Array.from(el.history[0].x);
  const noiseBefore = await w.evaluate(x0);
  await w.locator('input.ds-guidance-slider').fill('4');
  await w.locator('input.ds-guidance-slider').dispatchEvent('change');
  await page.waitForFunction(() => {
    const el = document.querySelector('diffuscope-sampler');
    return el.history.length === 21 && !el.busy;
  }, null, { timeout: 120000 });
  const after = await w.evaluate((el) => ({ noise: Array.from(el.history[0].x), g: el.guidanceIn.value, map: Array.from(el.history[12].map ?? []) /* t = 422: inside the page's guidance interval 100–500 */, hidden: el.guideCanvas.hidden }));
  assert.equal(after.g, '4');
  assert.deepEqual(after.noise, noiseBefore, 'the re-run did not start from the same x_T');
  assert.ok(!after.hidden && after.map.some((v) => v !== 0), 'no guidance map shown');
  await w.locator('canvas.ds-filmstrip-canvas').click({ position: { x: 5 * 30 + 10, y: 20 } });
  assert.equal(await w.locator('input.ds-scrub').inputValue(), '5', 'clicking the filmstrip did not scrub to step 5');
  await page.screenshot({ path: path.join(ARTIFACTS, 'sampler-guidance-desktop.png'), fullPage: true });
  await page.setViewportSize({ width: 360, height: 800 });
  await page.screenshot({ path: path.join(ARTIFACTS, 'sampler-guidance-360.png'), fullPage: true });
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});
