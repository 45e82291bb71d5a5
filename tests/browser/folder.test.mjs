// folder.test.mjs — a model trained by `diffuscope train --images` (tests/golden/folder_rgb32.dsw:
// 32×32 RGB, classes 'circles', 'squares', 'stripes', the sorted subfolders of the folder that
// tests/test_image_folder_cli.c draws) in <diffuscope-sampler weights="..."> with no other
// attribute: the class menu and captions are the file's names, and the canvas is in colour
// (the three channels differ), from x_T to the last step. <diffuscope-blend> follows the file
// the same way (its two class menus, its row of images in colour).
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openBrowser, emptyPage, ARTIFACTS } from './browser.mjs';
import { ROOT } from '../wasm/wasm.mjs';

const WEIGHTS = fs.readFileSync(path.join(ROOT, 'tests', 'golden', 'folder_rgb32.dsw'));

let browser;
test.before(async () => { browser = await openBrowser(); });
test.after(async () => { await browser.close(); });

// the share of the canvas's x_t and x̂_0 tiles whose pixels are coloured (channels apart by > 40)
const colouredShare = (widget) => widget.locator('canvas.ds-sampler-canvas').evaluate((canvas) => {
  const ratio = canvas.width / parseFloat(canvas.style.width), tile = Number(canvas.dataset.tile), capH = 18;
  const d = canvas.getContext('2d').getImageData(0, Math.round(capH * ratio), Math.round((2 * tile + 4) * ratio), Math.round(tile * ratio)).data;
  let coloured = 0;
  for (let i = 0; i < d.length; i += 4) coloured += Math.max(Math.abs(d[i] - d[i + 1]), Math.abs(d[i + 1] - d[i + 2]), Math.abs(d[i] - d[i + 2])) > 40;
  return coloured / (d.length / 4);
});

test('a folder-trained RGB 32x32 model: the sampler shows its class names and draws in colour', async () => {
  const page = await emptyPage(browser, 'folder', ['diffuscope-sampler']);
  const url = new URL('data/folder_rgb32.dsw', page.url()).href;
  await page.route(url, (route) => route.fulfill({ contentType: 'application/octet-stream', body: WEIGHTS }));
  await page.evaluate(() => {
    const el = document.createElement('diffuscope-sampler');
    el.setAttribute('weights', 'data/folder_rgb32.dsw');
    el.id = 'under-test';
    document.body.prepend(el);
  });
  const w = page.locator('#under-test');
  await w.and(page.locator('[data-ready]')).waitFor({ timeout: 60000 });
  const options = await w.locator('select[aria-label=class] option').allTextContents();
  assert.deepEqual(options, ['one of each class', 'circles', 'squares', 'stripes', 'any (unconditional)']);
  assert.equal(await w.evaluate((el) => el.dataset.classes), 'circles\nsquares\nstripes');
  const start = await colouredShare(w);
  assert.ok(start > 0.3, `x_T of an RGB model is coloured noise (${(100 * start).toFixed(0)} % coloured pixels)`);

  // the default 20 steps, to the end: the pictures stay in colour
  await w.locator('button.ds-play').click();
  await page.waitForFunction(() => document.querySelector('#under-test').dataset.step === '20', null, { timeout: 60000 });
  const end = await colouredShare(w);
  assert.ok(end > 0.05, `the samples of an RGB model are drawn in colour (${(100 * end).toFixed(1)} % coloured pixels)`);
  assert.equal(await w.locator('output[data-value=step]').textContent(), '20 / 20');
  await w.screenshot({ path: path.join(ARTIFACTS, 'sampler-folder-rgb.png') });
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});

test('the blend widget on the same file: its class names in both menus, the row in colour', async () => {
  const page = await emptyPage(browser, 'folder-blend', ['diffuscope-blend']);
  const url = new URL('data/folder_rgb32.dsw', page.url()).href;
  await page.route(url, (route) => route.fulfill({ contentType: 'application/octet-stream', body: WEIGHTS }));
  await page.evaluate(() => {
    const el = document.createElement('diffuscope-blend');
    el.setAttribute('weights', 'data/folder_rgb32.dsw');
    el.setAttribute('steps', '4');
    el.id = 'under-test';
    document.body.prepend(el);
  });
  const w = page.locator('#under-test');
  await w.and(page.locator('[data-ready]')).waitFor({ timeout: 60000 });
  for (const name of ['class-a', 'class-b'])
    assert.deepEqual(await w.locator(`select[aria-label=${name}] option`).allTextContents(), ['circles', 'squares', 'stripes']);
  const coloured = await w.locator('canvas.ds-blend-path').evaluate((canvas) => {
    const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) n += Math.max(Math.abs(d[i] - d[i + 1]), Math.abs(d[i + 1] - d[i + 2])) > 40;
    return n / (d.length / 4);
  });
  assert.ok(coloured > 0.05, `the row of images is in colour (${(100 * coloured).toFixed(1)} % coloured pixels)`);
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});
