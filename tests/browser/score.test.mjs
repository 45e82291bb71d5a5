// score.test.mjs — <diffuscope-score> in headless Chromium: dragging the start point with the
// mouse (and moving it with the arrow keys) recomputes the reverse-SDE and ODE paths from the new
// point; the learned score shows its error against the exact one; Langevin chains restart with
// new noise, and stay finite and on the shape at small t for both scores (issue 16: at t = 40 the
// learned chains diverged). Printed, not asserted (timed tests fail on a shared machine): the drag-to-redraw
// time (goal ≤ 50 ms). Screenshots: tests/artifacts/score-desktop.png, score-360.png.
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openBrowser, countPixels, ARTIFACTS } from './browser.mjs';

let browser;
test.before(async () => { browser = await openBrowser(); });
test.after(async () => { await browser.close(); });

// the paths are frame-major: vertex j of path k of K at 2 (j K + k)
const state = (widget) => widget.evaluate((el) => ({
  start: [...el.start], V: el.pathData.V, K: el.pathData.K, sde: Array.from(el.pathData.sde), ode: Array.from(el.pathData.ode), t: el.shownT,
}));

// page coordinates of data point (x, y) on the widget's square plot
async function pagePoint(canvas, x, y) {
  const b = await canvas.boundingBox(), size = Math.min(b.width, b.height), extent = 3.5;
  const ox = b.x + (b.width - size) / 2, oy = b.y + (b.height - size) / 2;
  return [ox + ((x + extent) / (2 * extent)) * size, oy + ((extent - y) / (2 * extent)) * size];
}

test('score widget: dragging the start point redraws the SDE and ODE paths from it', async () => {
  const page = await browser.newPage();
  await page.goto(new URL('examples/score.html', browser.url).href);
  const widget = page.locator('diffuscope-score');
  await widget.and(page.locator('[data-ready]')).waitFor({ timeout: 60000 });
  const canvas = widget.locator('canvas');
  const before = await state(widget);
  const K = before.K, V = before.V;
  assert.equal(before.sde.length, 2 * K * V);
  assert.ok(K >= 2 && V >= 2, `several SDE paths (${K}) of ${V} vertices`);
  // every path starts at the handle; the SDE paths differ from each other (their own noise)
  for (let k = 0; k < K; k++)
    assert.ok(Math.hypot(before.sde[2 * k] - before.start[0], before.sde[2 * k + 1] - before.start[1]) < 1e-5, `SDE path ${k} starts at the handle`);
  assert.ok(Math.hypot(before.ode[0] - before.start[0], before.ode[1] - before.start[1]) < 1e-5, 'the ODE path starts at the handle');
  const end = (arr, k, n = K) => [arr[2 * ((V - 1) * n + k)], arr[2 * ((V - 1) * n + k) + 1]];
  assert.notDeepEqual(end(before.sde, 0), end(before.sde, 1), 'two SDE paths end at different points');

  // drag from the handle to (-1.5, -1), in mouse events
  await canvas.scrollIntoViewIfNeeded();
  await page.mouse.move(...(await pagePoint(canvas, ...before.start)));
  await page.mouse.down();
  const times = [];
  for (let i = 1; i <= 10; i++) {
    const x = before.start[0] + ((-1.5 - before.start[0]) * i) / 10, y = before.start[1] + ((-1 - before.start[1]) * i) / 10;
    await page.mouse.move(...(await pagePoint(canvas, x, y)));
    await page.waitForFunction(([x, y]) => {
      const el = document.querySelector('diffuscope-score');
      return !el.busy && Math.abs(el.pathData.ode[0] - x) < 0.05 && Math.abs(el.pathData.ode[1] - y) < 0.05;
    }, [x, y]);
    times.push(Number(await widget.getAttribute('data-redraw-ms')));
  }
  await page.mouse.up();
  const after = await state(widget);
  assert.ok(Math.hypot(after.start[0] + 1.5, after.start[1] + 1) < 0.05, `the handle followed the mouse: ${after.start}`);
  assert.ok(Math.hypot(after.ode[0] - after.start[0], after.ode[1] - after.start[1]) < 1e-5 &&
    Math.hypot(after.sde[0] - after.start[0], after.sde[1] - after.start[1]) < 1e-5, 'the new paths start at the new point');
  assert.notDeepEqual(end(after.ode, 0, 1), end(before.ode, 0, 1), 'the ODE path ends elsewhere');
  assert.notDeepEqual(end(after.sde, 0), end(before.sde, 0), 'the SDE paths end elsewhere');
  times.sort((a, b) => a - b);
  console.log(`score widget: drag-to-redraw ${times[Math.floor(times.length / 2)].toFixed(1)} ms median, ${times[times.length - 1].toFixed(1)} ms worst ` +
    `over ${times.length} moves (t = ${after.t}, ${K} SDE paths + 1 ODE path; goal ≤ 50 ms)`);

  // the arrow keys move it by 0.1
  await canvas.focus();
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction((x) => Math.abs(document.querySelector('diffuscope-score').pathData.ode[0] - x) < 1e-4, after.start[0] + 0.1);
  assert.ok((await countPixels(canvas, [42, 157, 98], 50)) > 200, 'score arrows drawn');
  await widget.screenshot({ path: path.join(ARTIFACTS, 'score-desktop.png') });
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});

test('score widget: the learned score shows its error against the exact one; Langevin restarts', async () => {
  const page = await browser.newPage();
  await page.goto(new URL('examples/score.html', browser.url).href);
  const widget = page.locator('diffuscope-score');
  await widget.and(page.locator('[data-ready]')).waitFor({ timeout: 60000 });
  await widget.locator('select[aria-label="score"]').selectOption('learned');
  const error = widget.locator('.ds-score-error[data-rel-error]');
  await error.waitFor({ timeout: 30000 });
  const rel = Number(await error.getAttribute('data-rel-error'));
  console.log(`score widget: ${await error.textContent()}`);
  assert.ok(rel > 0 && rel < 1, `the network's score is close to, not equal to, the exact one (relative error ${rel})`);
  // near t = 0 the network is far off away from the data: red arrows
  const slider = widget.locator('input[aria-label="diffusion step t"]');
  await slider.evaluate((el) => { el.value = '10'; el.dispatchEvent(new Event('input', { bubbles: true })); });
  await page.waitForFunction(() => { const el = document.querySelector('diffuscope-score'); return el.shownT === 10 && !el.busy; });
  const relSmallT = Number(await error.getAttribute('data-rel-error'));
  const red = await countPixels(widget.locator('canvas'), [179, 38, 30], 50);
  console.log(`score widget at t = 10: relative error ${(100 * relSmallT).toFixed(1)} %, ${red} red arrow pixels`);
  assert.ok(relSmallT > rel && red > 100, `the error grows towards t = 0 (${relSmallT} vs ${rel}) and shows as red arrows (${red} px)`);
  await widget.screenshot({ path: path.join(ARTIFACTS, 'score-learned-t10.png') });
  await slider.evaluate((el) => { el.value = '150'; el.dispatchEvent(new Event('input', { bubbles: true })); });
  await page.waitForFunction(() => { const el = document.querySelector('diffuscope-score'); return el.shownT === 150 && !el.busy; });

  const chains = () => widget.evaluate((el) => Array.from(el.chains.subarray(el.chains.length - 20))); // the last frame
  await page.waitForFunction(() => document.querySelector('diffuscope-score').dataset.langevinDone === '0');
  const first = await chains();
  await widget.locator('button.ds-score-restart').click();
  await page.waitForFunction(() => document.querySelector('diffuscope-score').dataset.langevinDone === '1');
  assert.notDeepEqual(await chains(), first, 'a restart draws new chains');
  assert.ok((await countPixels(widget.locator('canvas'), [224, 118, 43])) > 100, 'the chains are drawn');

  await page.setViewportSize({ width: 360, height: 740 });
  await page.waitForTimeout(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the widget fits a 360 px screen (${overflow} px too wide)`);
  await widget.screenshot({ path: path.join(ARTIFACTS, 'score-360.png') });
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});

test('score widget: Langevin chains at small t are finite and reach the shape, exact and learned', async () => {
  const page = await browser.newPage();
  await page.goto(new URL('examples/score.html', browser.url).href);
  const widget = page.locator('diffuscope-score');
  await widget.and(page.locator('[data-ready]')).waitFor({ timeout: 60000 });
  for (const score of ['learned', 'exact'])
    for (const t of [1, 10, 40, 90, 300]) {
      await widget.evaluate((el, [score, t]) => { el.setAttribute('score', score); el.setAttribute('t', String(t)); }, [score, t]);
      await page.waitForFunction(([score, t]) => {
        const el = document.querySelector('diffuscope-score');
        return el.shownT === t && el.shownKind === score && el.dataset.t === String(t) && !el.busy && el.chains;
      }, [score, t], { timeout: 60000 });
      // the last frame of the chains: all finite, all but 1 % on the plot, the median near the shape's points
      const { median, off, finite, errors } = await widget.evaluate((el) => {
        const n = el.nChains, last = el.chains.subarray(el.chains.length - 2 * n), pts = el.shownPoints, gaps = [];
        let off = 0, finite = true;
        for (let i = 0; i < n; i++) {
          const x = last[2 * i], y = last[2 * i + 1];
          finite &&= Number.isFinite(x) && Number.isFinite(y);
          if (Math.abs(x) > 3.5 || Math.abs(y) > 3.5) off++;
          let best = Infinity;
          for (let j = 0; j < pts.length / 2; j++) best = Math.min(best, Math.hypot(x - pts[2 * j], y - pts[2 * j + 1]));
          gaps.push(best);
        }
        gaps.sort((a, b) => a - b);
        return { median: gaps[n >> 1], off, finite, errors: [...el.querySelectorAll('.ds-error')].map((e) => e.textContent) };
      });
      const sigma = await widget.evaluate((el) => el.sigma);
      console.log(`score widget, ${score} score, t = ${t}: chains' median distance to the shape ${median.toFixed(3)}, ${off} of 400 off the plot`);
      assert.deepEqual(errors, [], `${score} t = ${t}: no error`);
      assert.ok(finite && off <= 4, `${score} t = ${t}: the chains stay finite and on the plot (${off} off)`);
      assert.ok(median < 0.15 + 1.5 * sigma, `${score} t = ${t}: the chains reach the shape (median distance ${median.toFixed(3)}, σ_t ${sigma.toFixed(3)})`);
      if (score === 'learned' && t === 40) await widget.screenshot({ path: path.join(ARTIFACTS, 'score-learned-t40-chains.png') });
    }
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});
