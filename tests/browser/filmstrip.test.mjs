// filmstrip.test.mjs — the filmstrip every sampling widget keeps (web/filmstrip.js), on runs of
// 20, 100 and 1000 steps made up in the page (frame f is grey level f mod 256, so a tile tells
// which step it shows): the strip is never wider than its box, the chosen step is always among
// the tiles, the pointer (by position) and the keys (one step at a time) reach every step, and the
// PNG export keeps every step (in rows of 100).
import test from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser, emptyPage } from './browser.mjs';

let browser;
test.before(async () => { browser = await openBrowser(); });
test.after(async () => { await browser.close(); });

test('filmstrip: long runs fit the box, every step stays reachable, the PNG keeps every step', async () => {
  const page = await emptyPage(browser, 'filmstrip', []);
  await page.setViewportSize({ width: 480, height: 800 });
  await page.evaluate(async () => {
    const { Filmstrip } = await import('../filmstrip.js');
    window.picked = [];
    window.strip = new Filmstrip({ onPick: (i) => window.picked.push(i), engine: null, name: 'strip-test' });
    const box = document.createElement('div');
    box.style.width = '400px';
    box.append(window.strip.element);
    document.body.append(box);
    window.makeRun = (F) => Array.from({ length: F }, (_, f) => ({ x: new Uint8Array(784).fill(f % 256), x0: new Uint8Array(784).fill(255 - (f % 256)) }));
  });
  const canvas = page.locator('canvas.ds-filmstrip-canvas');
  for (const F of [21, 101, 1001]) {
    await page.evaluate((F) => { window.picked = []; window.strip.set(window.makeRun(F), 1); }, F);
    const s = await page.evaluate(() => ({ width: window.strip.canvas.getBoundingClientRect().width, shown: window.strip.shown, selected: window.strip.selected, scroll: window.strip.element.scrollWidth }));
    console.log(`filmstrip of ${F} frames: ${s.shown.length} tiles, ${s.width.toFixed(0)} px wide in a 400 px box`);
    assert.ok(s.width <= 400 && s.scroll <= 400, `${F} frames: the strip fits its box (${s.width} px, scroll width ${s.scroll})`);
    assert.equal(s.selected, F - 1, 'the last step is chosen after a run');
    assert.ok(s.shown.includes(F - 1) && s.shown.includes(0), 'the first and the chosen step are shown');
    if (F <= 13) assert.equal(s.shown.length, F);
    // the pointer: the left end is step 0, the right end the last step, the middle about half way
    const b = await canvas.boundingBox();
    await canvas.click({ position: { x: 0, y: 20 } });
    await canvas.click({ position: { x: b.width - 1, y: 20 } });
    await canvas.click({ position: { x: b.width / 2, y: 20 } });
    const picks = await page.evaluate(() => window.picked);
    assert.equal(picks[0], 0, `${F} frames: the left end picks step 0 (${picks})`);
    assert.equal(picks[1], F - 1, `${F} frames: the right end picks the last step (${picks})`);
    assert.ok(Math.abs(picks[2] - (F - 1) / 2) <= Math.max(1, F / 13), `${F} frames: the middle picks a middle step (${picks[2]})`);
    // the tile of the chosen step shows that step (its grey level), and it is outlined
    const { shown, selected } = await page.evaluate(() => ({ shown: window.strip.shown, selected: window.strip.selected }));
    assert.ok(shown.includes(selected), 'the chosen step is among the tiles');
    // the keys: from step 0, → steps one at a time through steps the tiles do not show
    await canvas.focus();
    await page.keyboard.press('Home');
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
    assert.equal(await page.evaluate(() => window.strip.selected), 3, 'three presses of → reach step 3');
    assert.ok((await page.evaluate(() => window.strip.shown)).includes(3), 'step 3 is shown once chosen');
    await page.keyboard.press('PageDown');
    assert.equal(await page.evaluate(() => window.strip.selected), Math.min(13, F - 1));
    assert.equal(await canvas.getAttribute('aria-valuenow'), String(Math.min(13, F - 1)));
    await page.keyboard.press('End');
    assert.equal(await page.evaluate(() => window.strip.selected), F - 1);
  }
  // the PNG strip: every one of the 1001 steps, rows of 100
  const [download] = await Promise.all([page.waitForEvent('download'), page.evaluate(() => window.strip.exportPng())]);
  const png = await page.evaluate(() => window.strip.lastExport);
  console.log(`PNG strip of 1001 steps: ${png.width} x ${png.height} px, ${(png.bytes / 1024).toFixed(1)} KB`);
  assert.equal(png.frames, 1001);
  assert.equal(png.width, 100 * (58 + 2), 'rows of 100 steps, 58 px each and a 2 px gap');
  assert.equal(png.height, 11 * (28 + 2) - 2, '11 rows');
  assert.equal(download.suggestedFilename(), 'strip-test-strip.png');
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});
