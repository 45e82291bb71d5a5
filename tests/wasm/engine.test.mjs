// engine.test.mjs — the denoiser engine in WebAssembly: the golden tiny UNet and MLP give the
// outputs the native build stored (tests/golden/, checked natively by test_unet_golden), the
// loader refuses bad files with the native messages, and the real-size Fashion UNet's forward
// time is printed at batch 1 and 16 for both builds.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadModule, call, cli, ROOT } from './wasm.mjs';

const GOLDEN = path.join(ROOT, 'tests', 'golden');
const TOL = 1e-5; // max |wasm - native| <= TOL * max |native|

function readGolden(name) {
  const bytes = new Uint8Array(fs.readFileSync(path.join(GOLDEN, `${name}.dsw`)));
  const eps = Float32Array.from(fs.readFileSync(path.join(GOLDEN, `${name}_eps.txt`), 'utf8').trim().split(/\s+/).map(Number));
  return { bytes, eps };
}

function relDiff(got, want) {
  assert.equal(got.length, want.length);
  let d = 0, mag = 0;
  for (let i = 0; i < got.length; i++) {
    if (!Number.isFinite(got[i])) return Infinity;
    d = Math.max(d, Math.abs(got[i] - want[i]));
    mag = Math.max(mag, Math.abs(want[i]));
  }
  return d / mag;
}

// the inputs of tests/test_unet_golden.c, computed the same way (double, rounded to float once)
const unetInput = () => ({
  x: Float32Array.from({ length: 3 * 64 }, (_, i) => ((i * 37) % 101) / 50 - 1),
  t: Float32Array.from([0, 37.5, 999]),
  cls: Int32Array.from([3, 10, 0]),
});
const mlpInput = () => ({
  x: Float32Array.from({ length: 5 * 2 }, (_, i) => ((i * 53) % 97) / 24 - 2),
  t: Float32Array.from([0, 1, 250, 500.5, 1000]),
  cls: Int32Array.from([0, 0, 0, 0, 0]),
});

function info(M, handle) {
  const v = call(M, 'model_info', [handle], [['rec', 'model_info']]).outs[0];
  return { kind: v.kind, params: v.params, mflop: v.mflop, item: v.item_floats, config: v.config.slice(0, v.n_config) };
}

for (const variant of ['simd', 'scalar']) {
  test(`${variant} build: the golden tiny UNet and MLP match the native outputs within 1e-5`, async () => {
    const M = await loadModule(variant);
    for (const [name, input, B] of [['unet_tiny', unetInput(), 3], ['mlp_tiny', mlpInput(), 5]]) {
      const { bytes, eps } = readGolden(name);
      const h = call(M, 'model_load', [bytes, bytes.length]).ret;
      const { outs } = call(M, 'model_forward', [h, input.x, input.t, input.cls, B], [['f32', eps.length]]);
      const d = relDiff(outs[0], eps);
      console.log(`${variant} ${name}: max |wasm - native| / max |native| = ${d.toExponential(2)}`);
      assert.ok(d <= TOL, `${name}: relative difference ${d} > ${TOL}`);
      // what `diffuscope info` says natively about the same file
      const native = cli(['info', path.join(GOLDEN, `${name}.dsw`)]);
      const i = info(M, h);
      assert.match(native, new RegExp(`parameters: ${i.params} in `));
      assert.match(native, new RegExp(`forward cost: ${i.mflop.toFixed(2)} MFLOP`));
      // save gives back the same bytes
      const size = call(M, 'model_save', [h, 'f32', 0, null]).ret;
      const saved = call(M, 'model_save', [h, 'f32', size], [['u8', size]]).outs[0];
      assert.deepEqual(saved, bytes);
      call(M, 'free', [h]);
      assert.throws(() => call(M, 'model_forward', [h, input.x, input.t, input.cls, B], [['f32', eps.length]]), /model handle \d+ was freed already/);
    }
  });

  test(`${variant} build: bad files are refused with the loader's message`, async () => {
    const M = await loadModule(variant);
    const { bytes } = readGolden('mlp_tiny');
    const refuse = (b, re) => {
      assert.throws(() => call(M, 'model_load', [b, b.length]), re);
    };
    refuse(bytes.slice(0, 1000), /truncated: the header says the file has \d+ bytes but only 1000 are here/);
    const magic = bytes.slice();
    magic[0] = 0x58;
    refuse(magic, /bad magic/);
    const version = bytes.slice();
    version[4] = 9;
    refuse(version, /unknown format version 9/);
    const flipped = bytes.slice();
    flipped[2000] ^= 1;
    refuse(flipped, /checksum mismatch/);
    // the same message as the native CLI gives for the same bytes
    const tmp = path.join(fs.mkdtempSync('/tmp/ds-engine-'), 'bad.dsw');
    fs.writeFileSync(tmp, flipped);
    let nativeMsg = '';
    try {
      cli(['info', tmp], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      nativeMsg = String(e.stderr);
    }
    const wasmMsg = (() => { try { call(M, 'model_load', [flipped, flipped.length]); } catch (e) { return e.message; } })();
    assert.ok(nativeMsg.includes(wasmMsg), `native "${nativeMsg.trim()}" vs wasm "${wasmMsg}"`);
    fs.rmSync(path.dirname(tmp), { recursive: true });
  });
}

test('the Fashion UNet: simd and scalar builds agree bit for bit; forward timings', async () => {
  const results = {};
  for (const variant of ['simd', 'scalar']) {
    const M = await loadModule(variant);
    const h = call(M, 'model_random', ['unet', new Int32Array(0), 0, 1]).ret;
    const i = info(M, h);
    assert.equal(i.kind, 'unet');
    assert.deepEqual(i.config, [28, 1, 32, 3, 1, 2, 2, 0, 1, 8, 128, 10]);
    assert.match(cli(['info', '--random', 'unet']), new RegExp(`parameters: ${i.params} in .*\\n.*forward cost: ${i.mflop.toFixed(2)} MFLOP`, 's'));
    const timings = [];
    for (const B of [1, 16]) {
      const x = Float32Array.from({ length: B * 784 }, (_, k) => ((k * 37) % 101) / 50 - 1);
      const t = Float32Array.from({ length: B }, (_, b) => 10 + 60 * b);
      const cls = Int32Array.from({ length: B }, (_, b) => b % 11);
      const out = call(M, 'model_forward', [h, x, t, cls, B], [['f32', B * 784]]).outs[0]; // warm-up
      const runs = variant === 'simd' ? (B === 1 ? 20 : 3) : B === 1 ? 5 : 1;
      const t0 = performance.now();
      for (let r = 0; r < runs; r++) call(M, 'model_forward', [h, x, t, cls, B], [['f32', B * 784]]);
      const ms = (performance.now() - t0) / runs;
      timings.push(`batch ${B}: ${ms.toFixed(1)} ms (${(ms / B).toFixed(2)} ms/image, ${((i.mflop * B) / ms).toFixed(2)} GFLOP/s)`);
      results[`${variant}${B}`] = out;
    }
    console.log(`Fashion UNet (${i.params} parameters, ${i.mflop.toFixed(1)} MFLOP/image), ${variant} WASM under Node: ${timings.join('; ')}`);
    call(M, 'free', [h]);
  }
  assert.equal(relDiff(results.simd16, results.scalar16), 0, 'simd and scalar builds differ');
  assert.equal(relDiff(results.simd1, results.simd16.subarray(0, 784)), 0, 'batch 1 differs from item 0 of batch 16');
});

test('docs/model.md is exact: a plain-Python rebuild from it reproduces the golden outputs', () => {
  // tests/golden/docref.py exits 1 unless both networks match within 1e-5 relative (python3 is
  // always there: emscripten's emcc is a Python program)
  const out = execFileSync('python3', [path.join(GOLDEN, 'docref.py')], { encoding: 'utf8' });
  console.log(out.trim());
  assert.match(out, /unet_tiny: .* = /);
  assert.match(out, /mlp_tiny: .* = /);
});
