// edit.test.mjs — the editing face (sampler_sdedit, sampler_inpaint, sampler_slerp,
// sampler_blend, sampler_guidance_map, edit_run, gif_encode) gives the same bytes in
// WebAssembly (SIMD and scalar) as `diffuscope edit` natively, on the shipped Fashion UNet:
// every x_t and x̂_0 frame of an SDEdit, an inpainting with resampling and a seed + class
// interpolation, and the GIF file itself. Plus what the page relies on: unmasked pixels kept,
// guidance maps only for a guided sampler, attachments refused by name.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModule, call, cli, ROOT } from './wasm.mjs';

const WEIGHTS = path.join(ROOT, 'weights', 'fashion-unet.dsw');
const SAMPLE = path.join(ROOT, 'web', 'data', 'fashion-sample.bin');
const D = 784;
const DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-edit-'));

// native: `diffuscope edit ... --raw` -> {x, x0} (F, B, D) pixels each
function native(args, B) {
  const raw = path.join(DIR, 'run.raw');
  cli(['edit', '--weights', WEIGHTS, '--sample', SAMPLE, ...args, '--raw', raw]);
  const bytes = new Uint8Array(fs.readFileSync(raw));
  const half = bytes.length / 2;
  return { x: bytes.subarray(0, half), x0: bytes.subarray(half), F: half / (B * D) };
}

function sampleImage(M, index) {
  const bytes = new Uint8Array(fs.readFileSync(SAMPLE));
  const h = call(M, 'fashion_sample', [bytes, bytes.length], [['rec', 'fashion_sample']]).outs[0];
  return { pixels: bytes.slice(h.pixels_offset + index * D, h.pixels_offset + (index + 1) * D), label: bytes[h.labels_offset + index] };
}

function run(M, h, B, withMap) {
  const F = call(M, 'sampler_info', [h], [['rec', 'sampler_info']]).outs[0];
  const frames = F.steps - F.step + 1;
  const { ret, outs } = call(M, 'edit_run', [h, withMap ? 1 : 0], [['u8', frames * B * D], ['u8', frames * B * D], ['f32', frames * B * D], ['recs', 'sampler_info', frames]]);
  assert.equal(ret, frames);
  return { x: outs[0], x0: outs[1], maps: outs[2], infos: outs[3], F: frames };
}

function assertSame(got, want, what) {
  assert.equal(got.length, want.length, `${what}: length`);
  let diff = 0;
  for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) diff++;
  assert.equal(diff, 0, `${what}: ${diff} of ${got.length} pixels differ from native`);
  assert.ok(new Set(want).size > 40, `${what}: too few distinct values to prove anything`);
}

for (const variant of ['simd', 'scalar']) {
  test(`${variant}: SDEdit, inpainting and interpolation equal the native CLI byte for byte`, async () => {
    const M = await loadModule(variant);
    const bytes = new Uint8Array(fs.readFileSync(WEIGHTS));
    const model = call(M, 'model_load', [bytes, bytes.length]).ret;
    try {
      const img = sampleImage(M, 3);
      // SDEdit from t0 = 400, guided: the frames and the guidance maps
      let h = call(M, 'sampler_new', [model, 'linear', 'ddim', 6, 0, 2, 1, 5, 1, Int32Array.from([img.label])]).ret;
      const start = call(M, 'sampler_sdedit', [h, 400, img.pixels], [['rec', 'sampler_info']]).outs[0];
      assert.equal(start.t, 400);
      let got = run(M, h, 1, true);
      let want = native(['--image', '3', '--t0', '400', '--steps', '6', '--guidance', '2', '--seed', '5'], 1);
      assert.equal(got.F, want.F);
      assertSame(got.x, want.x, 'sdedit x_t');
      assertSame(got.x0.subarray(D), want.x0.subarray(D), 'sdedit x0_hat');
      assert.ok(got.maps.subarray(D).some((v) => v !== 0), 'the guidance maps are all zero');
      call(M, 'free', [h]);

      // inpainting the bottom half with r = 2 (DDPM): native seeds the known pixels' noise with seed + 1
      const mask = Uint8Array.from({ length: D }, (_, i) => (Math.floor(i / 28) >= 14 ? 1 : 0));
      h = call(M, 'sampler_new', [model, 'linear', 'ddpm', 5, 0, 1, 1, 7, 1, Int32Array.from([img.label])]).ret;
      call(M, 'sampler_inpaint', [h, img.pixels, mask, 2, 8]);
      got = run(M, h, 1, false);
      want = native(['--image', '3', '--mask', 'bottom', '--resample', '2', '--sampler', 'ddpm', '--steps', '5', '--seed', '7'], 1);
      assertSame(got.x, want.x, 'inpaint x_t');
      const last = got.x.subarray((got.F - 1) * D);
      for (let i = 0; i < D; i++) if (!mask[i]) assert.equal(last[i], img.pixels[i], `unmasked pixel ${i} changed`);
      assert.throws(() => call(M, 'sampler_inpaint', [h, img.pixels, mask, 1, 8]), /inpaints already/);
      call(M, 'free', [h]);

      // seeds 1 -> 2 and class 3 -> 7 together, three images at u = 0, 0.5, 1
      h = call(M, 'sampler_new', [model, 'linear', 'ddim', 6, 0, 2, 1, 1, 3, Int32Array.from([3, 3, 3])]).ret;
      call(M, 'sampler_blend', [h, Int32Array.from([7, 7, 7]), Float32Array.from([0, 0.5, 1])]);
      call(M, 'sampler_slerp', [h, 1, 2, Float64Array.from([0, 0.5, 1])]);
      got = run(M, h, 3, true);
      want = native(['--slerp', '1,2', '--class', '3', '--class-to', '7', '--n', '3', '--steps', '6', '--guidance', '2'], 3);
      assertSame(got.x, want.x, 'slerp + class blend x_t');
      call(M, 'free', [h]);

      // the GIF of the SDEdit run, encoded in WASM, is the file the CLI writes
      const gifFile = path.join(DIR, 'run.gif');
      cli(['edit', '--weights', WEIGHTS, '--sample', SAMPLE, '--image', '3', '--t0', '400', '--steps', '6', '--guidance', '2', '--seed', '5', '--gif', gifFile]);
      const sd = native(['--image', '3', '--t0', '400', '--steps', '6', '--guidance', '2', '--seed', '5'], 1);
      const size = call(M, 'gif_encode', [sd.x, sd.F, 28, 28, 3, 8, 150, 0, null]).ret;
      const gif = call(M, 'gif_encode', [sd.x, sd.F, 28, 28, 3, 8, 150, size], [['u8', size]]).outs[0];
      assert.deepEqual(Buffer.from(gif), fs.readFileSync(gifFile), 'the WASM GIF differs from the native one');
    } finally {
      call(M, 'free', [model]);
    }
  });

  test(`${variant}: the edit calls refuse what they cannot do, by name`, async () => {
    const M = await loadModule(variant);
    const g = call(M, 'mixture_new', [1, 4, Float64Array.from([1]), new Float32Array(4), Float32Array.from([1, 1, 1, 1]), Int32Array.from([-1]), 'linear']).ret;
    const h = call(M, 'sampler_new', [g, 'linear', 'dpmpp2m', 4, 0, 1, 0, 1, 1, Int32Array.from([10])]).ret;
    try {
      assert.throws(() => call(M, 'sampler_guidance_map', [h], [['f32', 4]]), /not guided/);
      assert.throws(() => call(M, 'sampler_blend', [h, Int32Array.from([1]), Float32Array.from([0.5])]), /class interpolation needs a network/);
      assert.throws(() => call(M, 'sampler_inpaint', [h, new Uint8Array(4), new Uint8Array(4), 3, 1]), /one-step sampler/);
      assert.throws(() => call(M, 'sampler_sdedit', [h, 1001, new Uint8Array(4)], [['rec', 'sampler_info']]), /t0 must be between 0 and 1000/);
      assert.throws(() => call(M, 'sampler_slerp', [h, 1, 2, Float64Array.from([2])]), /u\[0\] = 2 must be in \[0, 1\]/);
      assert.throws(() => call(M, 'gif_encode', [new Uint8Array(4), 1, 2, 2, 17, 8, 0, 0, null]), /gif scale/);
      // t0 = 0: the image itself, one frame
      const px = Uint8Array.from([0, 80, 160, 255]);
      call(M, 'sampler_sdedit', [h, 0, px], [['rec', 'sampler_info']]);
      const { ret, outs } = call(M, 'edit_run', [h, 0], [['u8', 4], ['u8', 4], ['f32', 4], ['recs', 'sampler_info', 1]]);
      assert.equal(ret, 1);
      assert.deepEqual(Array.from(outs[0]), Array.from(px));
    } finally {
      call(M, 'free', [h]);
      call(M, 'free', [g]);
    }
  });
}

test.after(() => fs.rmSync(DIR, { recursive: true, force: true }));
