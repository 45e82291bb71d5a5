// folder.test.mjs — a model of `train --images` (tests/golden/folder_rgb32.dsw: 32×32 RGB, three
// classes named after the folders of tests/test_image_folder_cli.c's shapes) in WebAssembly:
// the file's class names, size and channels reach JS; guided sampling (class 10 = none maps
// onto the model's own "no class", 3) gives the native CLI's bytes in both builds; a class the
// model does not have is refused by name.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModule, call, cli, ROOT } from './wasm.mjs';

const WEIGHTS = path.join(ROOT, 'tests', 'golden', 'folder_rgb32.dsw');
const NAMES = ['circles', 'squares', 'stripes'];

function readNpy(file) {
  const b = fs.readFileSync(file);
  return { header: b.subarray(10, 10 + b.readUInt16LE(8)).toString(), data: new Uint8Array(b.subarray(10 + b.readUInt16LE(8))) };
}

function sampleWasm(M, model, cls, { steps, guidance, seed }) {
  const B = cls.length, D = 3 * 32 * 32;
  const h = call(M, 'sampler_new', [model, 'linear', 'ddim', steps, 0, guidance, 1, seed, B, Int32Array.from(cls)]).ret;
  try {
    call(M, 'sampler_step', [h, steps]);
    return call(M, 'sampler_read_u8', [h, 'x_t'], [['u8', B * D]]).outs[0];
  } finally {
    call(M, 'free', [h]);
  }
}

for (const variant of ['simd', 'scalar']) {
  test(`${variant}: an RGB 32x32 folder model: its names, size and channels; samples equal to native`, async () => {
    const M = await loadModule(variant);
    const bytes = new Uint8Array(fs.readFileSync(WEIGHTS));
    const model = call(M, 'model_load', [bytes, bytes.length]).ret;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-folder-'));
    try {
      const info = call(M, 'model_info', [model], [['rec', 'model_info']]).outs[0];
      assert.equal(info.image_size, 32);
      assert.equal(info.channels, 3);
      assert.equal(info.n_classes, 3);
      assert.equal(info.item_floats, 3 * 32 * 32);
      const n = call(M, 'model_class_names', [model, 0, null]).ret;
      const names = call(M, 'model_class_names', [model, n], [['u8', n]]).outs[0];
      assert.deepEqual(new TextDecoder().decode(names).split('\n').slice(0, -1), NAMES);

      const file = path.join(dir, 's.npy');
      cli(['sample', '--weights', WEIGHTS, '--classes', 'all', '--n', '6', '--sampler', 'ddim', '--steps', '4',
        '--guidance', '2', '--seed', '3', '--batch', '6', '--npy', file, '--quiet']);
      const native = readNpy(file);
      assert.match(native.header, /'shape': \(6, 3, 32, 32\)/);
      assert.ok(new Set(native.data).size > 50, 'the samples are not trivial');
      const wasm = sampleWasm(M, model, [0, 0, 1, 1, 2, 2], { steps: 4, guidance: 2, seed: 3 });
      let diff = 0;
      for (let i = 0; i < wasm.length; i++) diff += wasm[i] !== native.data[i];
      assert.equal(diff, 0, `${diff} of ${wasm.length} bytes differ from the native CLI`);

      cli(['sample', '--weights', WEIGHTS, '--class', 'none', '--n', '2', '--steps', '3', '--seed', '1', '--npy', file, '--quiet']);
      const uncond = sampleWasm(M, model, [10, 10], { steps: 3, guidance: 1, seed: 1 });
      assert.deepEqual(uncond, readNpy(file).data, 'class none (10) samples as natively');

      assert.throws(() => sampleWasm(M, model, [5], { steps: 1, guidance: 1, seed: 1 }), /class\[0\] = 5 but the model has classes 0\.\.2/);
    } finally {
      call(M, 'free', [model]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
