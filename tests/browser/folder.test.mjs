// folder.test.mjs — a model trained by `diffuscope train --images` in <diffuscope-sampler
// weights="..."> with no other attribute: the class menu and captions are the file's names, and
// the canvas is in colour (the three channels differ), from x_T to the last step. The sampler's
// model is trained here, a few steps, on a folder of RGB PNGs this test writes (subfolders
// 'lemons', 'limes', 'plums'); <diffuscope-blend> gets tests/golden/folder_rgb32.dsw (32×32 RGB,
// classes 'circles', 'squares', 'stripes', from tests/test_image_folder_cli.c's folder) and
// follows it the same way (its two class menus, its row of images in colour). <diffuscope-edit> on
// the trained model: the file's class names, no Fashion test images, SDEdit from a drawing made
// with mouse events into a 3x32x32 result drawn in colour, and inpainting over an image the model
// generated that keeps every unmasked channel value exactly.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { openBrowser, widgetPage, ARTIFACTS } from './browser.mjs';
import { ROOT, cli } from '../wasm/wasm.mjs';

const WEIGHTS = fs.readFileSync(path.join(ROOT, 'tests', 'golden', 'folder_rgb32.dsw'));

// an RGB PNG (rgb: Uint8Array (h, w, 3)), filter 0 on every row
function png(file, w, h, rgb) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    for (let k = 0; k < 8; k++) n = n & 1 ? 0xedb88320 ^ (n >>> 1) : n >>> 1;
    return n >>> 0;
  });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 255] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (kind, data) => {
    const body = Buffer.concat([Buffer.from(kind), data]), out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), body.length + 4);
    return out;
  };
  const head = Buffer.alloc(13);
  head.writeUInt32BE(w, 0); head.writeUInt32BE(h, 4); head[8] = 8; head[9] = 2;
  const rows = Buffer.alloc(h * (1 + 3 * w));
  for (let y = 0; y < h; y++) Buffer.from(rgb.subarray(y * w * 3, (y + 1) * w * 3)).copy(rows, y * (1 + 3 * w) + 1);
  fs.writeFileSync(file, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', head),
    chunk('IDAT', zlib.deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]));
}

// three classes of 40x30 pictures: a coloured disc at a random place on a dark ground
const FRUIT = { lemons: [240, 220, 40], limes: [80, 200, 60], plums: [120, 40, 150] };
function trainOnFolder() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-folder-'));
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (const [name, colour] of Object.entries(FRUIT)) {
    fs.mkdirSync(path.join(dir, 'pictures', name), { recursive: true });
    for (let i = 0; i < 8; i++) {
      const w = 40, h = 30, cx = 10 + 20 * rand(), cy = 8 + 14 * rand(), r = 6 + 4 * rand(), rgb = new Uint8Array(w * h * 3);
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          for (let c = 0; c < 3; c++) rgb[(y * w + x) * 3 + c] = (x - cx) ** 2 + (y - cy) ** 2 < r * r ? colour[c] : 20;
      png(path.join(dir, 'pictures', name, `${i}.png`), w, h, rgb);
    }
  }
  const out = path.join(dir, 'fruit.dsw');
  cli(['train', '--model', 'unet', '--images', path.join(dir, 'pictures'), '--out', out, '--checkpoint', path.join(dir, 'fruit.ckpt'),
    '--steps', '30', '--batch', '12', '--shard', '4', '--base', '8', '--mult', '1,2,2', '--groups', '4', '--temb', '16',
    '--warmup', '5', '--lr', '2e-3', '--log-every', '1000']);
  return { bytes: fs.readFileSync(out), dir };
}

let browser, fruit;
test.before(async () => { fruit = trainOnFolder(); browser = await openBrowser(); });
test.after(() => fs.rmSync(fruit.dir, { recursive: true, force: true }));
test.after(async () => { await browser.close(); });

// the share of the canvas's x_t and x̂_0 tiles whose pixels are coloured (channels apart by > 40)
const colouredShare = (widget) => widget.locator('canvas.ds-sampler-canvas').evaluate((canvas) => {
  const ratio = canvas.width / parseFloat(canvas.style.width), tile = Number(canvas.dataset.tile), capH = 18;
  const d = canvas.getContext('2d').getImageData(0, Math.round(capH * ratio), Math.round((2 * tile + 4) * ratio), Math.round(tile * ratio)).data;
  let coloured = 0;
  for (let i = 0; i < d.length; i += 4) coloured += Math.max(Math.abs(d[i] - d[i + 1]), Math.abs(d[i + 1] - d[i + 2]), Math.abs(d[i] - d[i + 2])) > 40;
  return coloured / (d.length / 4);
});

test('a model trained here by train --images (RGB 32x32): the sampler shows its class names and draws in colour', async () => {
  const { page, widget: w } = await widgetPage(browser, 'folder', 'diffuscope-sampler', {}, 'data/fruit.dsw', fruit.bytes);
  const options = await w.locator('select[aria-label=class] option').allTextContents();
  assert.deepEqual(options, ['one of each class', 'lemons', 'limes', 'plums', 'any (unconditional)']);
  assert.equal(await w.evaluate((el) => el.dataset.classes), 'lemons\nlimes\nplums');
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
  const { page, widget: w } = await widgetPage(browser, 'folder-blend', 'diffuscope-blend', { steps: '4' }, 'data/folder_rgb32.dsw', WEIGHTS);
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

// the pixels (channels, side, side) of the result canvas's x_t tile (160 px under a 16 px caption)
const resultPixels = (widget, side) => widget.locator('canvas.ds-edit-result').evaluate((c, side) => {
  const ratio = c.width / parseFloat(c.style.width), px = new Array(3 * side * side);
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      const cx = Math.floor((((x + 0.5) * 160) / side) * ratio), cy = Math.floor((16 + ((y + 0.5) * 160) / side) * ratio);
      for (let ch = 0; ch < 3; ch++) px[ch * side * side + y * side + x] = d[4 * (cy * c.width + cx) + ch];
    }
  return px;
}, side);

// horizontal mouse strokes over the pad, in the model's pixels
async function stroke(page, pad, side, rows, x0, x1) {
  const box = await pad.boundingBox();
  const at = (x, y) => [box.x + ((x + 0.5) * box.width) / side, box.y + ((y + 0.5) * box.height) / side];
  for (const y of rows) {
    await page.mouse.move(...at(x0, y));
    await page.mouse.down();
    await page.mouse.move(...at(x1, y), { steps: x1 - x0 });
    await page.mouse.up();
  }
}

async function runEdit(page, w) {
  const before = Number((await w.getAttribute('data-edits')) || 0);
  await w.locator('button.ds-edit-run').click();
  await page.waitForFunction((n) => Number(document.querySelector('#under-test').dataset.edits || 0) > n, before, { timeout: 60000 });
}

test('the edit widget on the RGB model: its class names, SDEdit from a drawing and inpainting over its own image, in colour', async () => {
  const { page, widget: w } = await widgetPage(browser, 'folder-edit', 'diffuscope-edit', { steps: '10', strength: '900', class: '2' }, 'data/fruit.dsw', fruit.bytes);
  assert.deepEqual(await w.locator('select[aria-label=class] option').allTextContents(), ['lemons', 'limes', 'plums']);
  assert.equal(await w.locator('select[aria-label=class]').inputValue(), '2');
  // no Fashion test images for a 32x32 RGB file: the drawing or the model's own image
  assert.deepEqual(await w.locator('select[aria-label="start from"] option').allTextContents(), ['my drawing', 'a generated image']);
  const side = 32, plane = side * side, D = 3 * plane;

  // SDEdit from a drawing: grey ink on every channel, the result in colour at 32x32
  const pad = w.locator('canvas.ds-edit-pad');
  await stroke(page, pad, side, [12, 14, 16, 18, 20], 10, 22);
  const drawing = await w.evaluate((el) => Array.from(el.drawing));
  assert.equal(drawing.length, D);
  const inked = drawing.slice(0, plane).filter((v) => v > 0).length;
  assert.ok(inked > 40 && inked < 400, `${inked} pixels inked`);
  for (let i = 0; i < plane; i++) assert.ok(drawing[i] === drawing[plane + i] && drawing[i] === drawing[2 * plane + i], `grey ink at pixel ${i}`);
  await runEdit(page, w);
  const final = await w.evaluate((el) => Array.from(el.finalPixels()));
  assert.equal(final.length, D, 'the result has the model\'s 3 x 32 x 32 pixels');
  const shown = await resultPixels(w, side);
  assert.deepEqual(shown, final, 'the result canvas shows the final image, channel by channel');
  let coloured = 0;
  for (let i = 0; i < plane; i++) coloured += Math.max(Math.abs(final[i] - final[plane + i]), Math.abs(final[plane + i] - final[2 * plane + i]), Math.abs(final[i] - final[2 * plane + i])) > 40;
  assert.ok(coloured > plane / 50, `the SDEdit result is in colour (${coloured} of ${plane} pixels coloured)`);
  assert.equal(await w.evaluate((el) => el.strip.look.channels), 3, 'the filmstrip draws in colour');

  // inpainting over the model's own image: every unmasked pixel, all three channels, kept exactly
  await w.locator('select[aria-label=mode]').selectOption('inpaint');
  assert.equal(await w.locator('select[aria-label="start from"]').inputValue(), 'generated');
  await page.waitForFunction(() => document.querySelector('#under-test').picked?.length === 3 * 32 * 32, null, { timeout: 60000 });
  await w.locator('input[name=brush]').fill('4');
  await stroke(page, pad, side, [16, 20, 24], 8, 24);
  const { mask, original } = await w.evaluate((el) => ({ mask: Array.from(el.mask), original: Array.from(el.startPixels()) }));
  assert.equal(mask.length, plane);
  const masked = mask.reduce((a, v) => a + v, 0);
  assert.ok(masked > 80 && masked < 600, `mask of ${masked} pixels`);
  await runEdit(page, w);
  const after = await resultPixels(w, side);
  let kept = 0;
  const changed = [0, 0, 0]; // per channel: the mask regenerates every channel
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < plane; i++) {
      const j = c * plane + i;
      if (!mask[i]) kept += after[j] === original[j];
      else changed[c] += Math.abs(after[j] - original[j]) > 8;
    }
  assert.equal(kept, 3 * (plane - masked), `${3 * (plane - masked) - kept} unmasked channel values changed on the canvas`);
  for (let c = 0; c < 3; c++) assert.ok(changed[c] > masked / 10, `channel ${c}: only ${changed[c]} of ${masked} masked pixels regenerated`);
  await w.screenshot({ path: path.join(ARTIFACTS, 'edit-folder-rgb.png') });
  assert.deepEqual(browser.pageErrors, []);
  await page.close();
});
