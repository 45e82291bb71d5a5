// onnx.test.mjs — tools/export_onnx.py writes the same network as the engine runs: random
// UNets (the default Fashion config and a small one with other settings everywhere) are saved
// from WebAssembly, exported to ONNX by the tool, run by onnxruntime-web (wasm backend, one
// thread), and must give our WASM outputs within 1e-4. This is what lets tools/bench_wasm.mjs
// set the two runtimes side by side; a UNet with the mid self-attention exports too. An MLP
// file is refused with a clear message.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as ort from 'onnxruntime-web';
import { loadModule, call, ROOT } from './wasm.mjs';

const EXPORT = path.join(ROOT, 'tools', 'export_onnx.py');
const TOL = 1e-4;
ort.env.wasm.numThreads = 1;

let M, tmp;
test.before(async () => {
  M = await loadModule('simd');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuscope-onnx-'));
});
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function saveRandom(kind, config, seed) {
  const handle = call(M, 'model_random', [kind, Int32Array.from(config), config.length, seed]).ret;
  const size = call(M, 'model_save', [handle, 'f32', 0, null]).ret;
  const bytes = call(M, 'model_save', [handle, 'f32', size], [['u8', size]]).outs[0];
  const file = path.join(tmp, `model-${kind}-${seed}.dsw`);
  fs.writeFileSync(file, bytes);
  return { handle, file };
}

function exportOnnx(dsw) {
  const out = dsw.replace(/\.dsw$/, '.onnx');
  const r = spawnSync('/usr/bin/python3', [EXPORT, dsw, out], { encoding: 'utf8' });
  return { ...r, out };
}

async function compare(config, seed, B) {
  const { handle, file } = saveRandom('unet', config, seed);
  const info = call(M, 'model_info', [handle], [['rec', 'model_info']]).outs[0];
  const [S, C] = [info.image_size, info.channels], nClasses = info.config[11], item = info.item_floats;
  const r = exportOnnx(file);
  assert.equal(r.status, 0, `export failed: ${r.stderr}`);
  const x = Float32Array.from({ length: B * item }, (_, i) => Math.sin(0.37 * i + seed));
  const t = Float32Array.from({ length: B }, (_, b) => [0, 1, 37.5, 500, 999.5, 1000][b % 6]);
  const cls = Int32Array.from({ length: B }, (_, b) => b % (nClasses + 1));
  const ours = call(M, 'model_forward', [handle, x, t, cls, B], [['f32', B * item]]).outs[0];
  const session = await ort.InferenceSession.create(fs.readFileSync(r.out), { executionProviders: ['wasm'] });
  const res = await session.run({
    x: new ort.Tensor('float32', x, [B, C, S, S]),
    t: new ort.Tensor('float32', t, [B]),
    cls: new ort.Tensor('int64', BigInt64Array.from(cls, (c) => BigInt(c)), [B]),
  });
  const theirs = res.eps.data;
  assert.equal(theirs.length, ours.length);
  let diff = 0, mag = 0;
  for (let i = 0; i < ours.length; i++) diff = Math.max(diff, Math.abs(ours[i] - theirs[i])), (mag = Math.max(mag, Math.abs(ours[i])));
  call(M, 'free', [handle]);
  return { diff, mag };
}

test('the default (Fashion) UNet exported to ONNX gives our outputs', async () => {
  const { diff, mag } = await compare([], 11, 3);
  console.log(`default UNet: max |ours - onnxruntime| = ${diff.toExponential(2)} (max |eps| ${mag.toFixed(3)})`);
  assert.ok(mag > 0.1, 'the outputs are not trivially small');
  assert.ok(diff <= TOL, `max diff ${diff} > ${TOL}`);
});

test('a small UNet with other settings (2 channels, 2 levels, 2 res blocks, 4 groups) exports too', async () => {
  // image 8, 2 channels, base 8, 2 levels (1, 2), 2 res blocks, 4 groups, temb 16, 3 classes
  const { diff, mag } = await compare([8, 2, 8, 2, 1, 2, 0, 0, 2, 4, 16, 3], 5, 4);
  console.log(`small UNet: max |ours - onnxruntime| = ${diff.toExponential(2)} (max |eps| ${mag.toFixed(3)})`);
  assert.ok(mag > 0.1);
  assert.ok(diff <= TOL, `max diff ${diff} > ${TOL}`);
});

test('a UNet with the mid self-attention (13th config int) exports, attention and all', async () => {
  // the shipped network's shape: 28, 1 channel, base 32, 3 levels (1, 2, 3), 1 res block, 8 groups, temb 128, 10 classes
  const { diff, mag } = await compare([28, 1, 32, 3, 1, 2, 3, 0, 1, 8, 128, 10, 1], 9, 3);
  console.log(`UNet with attention: max |ours - onnxruntime| = ${diff.toExponential(2)} (max |eps| ${mag.toFixed(3)})`);
  assert.ok(mag > 0.1);
  assert.ok(diff <= TOL, `max diff ${diff} > ${TOL}`);
});

test('the exporter refuses an MLP and a broken file with a message', () => {
  const { file } = saveRandom('mlp', [], 3);
  let r = exportOnnx(file);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /only the UNet/);
  const bad = path.join(tmp, 'bad.dsw');
  fs.writeFileSync(bad, 'not a weights file');
  r = exportOnnx(bad);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad magic/);
});
