// memory.test.mjs — 200 consecutive samplings in the page's engine (the widgets' worker) leave
// the WebAssembly memory size flat after warm-up: every sampler, model run state and output
// buffer a sampling allocates is given back. Alternates the two paths the sampler widget
// takes: a (tiny, random) UNet through ds_sampling_new_model, and the exact mixture of the
// shipped test images through ds_sampling_new_gmm, each DDIM with 3 steps, batch 8:
// a sampling holds a few hundred kB, so leaking it would outgrow the initial 16 MiB within the run.
import test from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser } from './browser.mjs';

const SAMPLINGS = 200, WARM_UP = 20, BATCH = 8;
// image_size, in_channels, base, levels, mult[4], res blocks, groups, temb, classes (unet.h)
const TINY_UNET = [28, 1, 8, 2, 1, 2, 0, 0, 1, 4, 16, 10];

let browser;
test.before(async () => { browser = await openBrowser(); });
test.after(async () => { await browser.close(); });

test(`${SAMPLINGS} samplings leave the WebAssembly memory flat`, async () => {
  // a page with the library and no widget, so nothing else allocates in the engine meanwhile
  const page = await browser.newPage();
  const url = new URL('examples/memory-empty.html', browser.url).href;
  await page.route(url, (route) => route.fulfill({
    contentType: 'text/html',
    body: '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>memory</title>' +
      '<script type="module" src="../diffuscope.js"></script></head><body></body></html>',
  }));
  await page.goto(url);
  const result = await page.evaluate(async ([SAMPLINGS, WARM_UP, BATCH, TINY_UNET]) => {
    const { getEngine } = await import('../core.js');
    const engine = await getEngine();
    const bytes = new Uint8Array(await (await fetch('../data/fashion-sample.bin')).arrayBuffer());
    const head = (await engine.call('fashion_sample', [bytes, bytes.length], [['rec', 'fashion_sample']])).outs[0];
    const count = head.count, D = head.rows * head.cols;
    const labels = bytes.slice(head.labels_offset, head.labels_offset + count);
    const pixels = bytes.slice(head.pixels_offset, head.pixels_offset + count * D);
    const gmm = (await engine.call('mixture_images', [pixels, labels, count, D, 0, 'linear'])).ret;
    const model = (await engine.call('model_random', ['unet', Int32Array.from(TINY_UNET), TINY_UNET.length, 7])).ret;
    const memory = [];
    let distinct = 0;
    const t0 = performance.now();
    for (let i = 0; i < SAMPLINGS; i++) {
      const cls = Int32Array.from({ length: BATCH }, (_, b) => (i + b) % 11);
      const created = await engine.call('sampler_new', [i % 2 ? gmm : model, 'linear', 'ddim', 3, 0, 1, 1, i, BATCH, cls]);
      await engine.call('sampler_step', [created.ret, 3]);
      const frame = await engine.call('sampler_frame', [created.ret], [['u8', BATCH * D], ['u8', BATCH * D], ['rec', 'sampler_info']]);
      if (new Set(frame.outs[0]).size > 20) distinct++; // real images came out, not a blank buffer
      const freed = await engine.call('free', [created.ret]);
      memory.push(freed.memory);
    }
    const ms = performance.now() - t0;
    await engine.call('free', [gmm]);
    await engine.call('free', [model]);
    return { memory, distinct, ms, warm: memory[WARM_UP - 1] };
  }, [SAMPLINGS, WARM_UP, BATCH, TINY_UNET]);
  const { memory, distinct, ms, warm } = result;
  const last = memory[memory.length - 1];
  console.log(`memory: ${memory[0]} B after the first sampling, ${warm} B after ${WARM_UP}, ${last} B after ${SAMPLINGS} ` +
    `(${(ms / SAMPLINGS).toFixed(1)} ms per sampling)`);
  assert.equal(memory.length, SAMPLINGS);
  assert.equal(distinct, SAMPLINGS, 'every sampling produced an image');
  assert.ok(memory.every((m) => m > 0), 'the worker reports its memory');
  assert.equal(last, warm, `the memory grew from ${warm} to ${last} bytes after warm-up`);
  await page.close();
});
