// sampler.test.mjs — the same seed gives the same samples natively and in WebAssembly, byte
// for byte: the exact mixture model (all three samplers, guided and not) and a tiny random
// UNet saved to a .dsw and sampled by the native CLI. Both builds (SIMD and scalar).
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModule, call, cli, ROOT } from './wasm.mjs';

const SAMPLE = path.join(ROOT, 'web', 'data', 'fashion-sample.bin');
// image_size, in_channels, base, levels, mult[4], res blocks, groups, temb, classes
const TINY_UNET = [28, 1, 8, 2, 1, 2, 0, 0, 1, 4, 16, 10];

// the header is C's to read (with its version check), as in the page
function parseSample(M, bytes) {
  const h = call(M, 'fashion_sample', [bytes, bytes.length], [['rec', 'fashion_sample']]).outs[0];
  const D = h.rows * h.cols;
  return { count: h.count, D, labels: bytes.slice(h.labels_offset, h.labels_offset + h.count), pixels: bytes.slice(h.pixels_offset, h.pixels_offset + h.count * D) };
}

function readNpy(file) {
  const b = fs.readFileSync(file);
  const headerLen = b.readUInt16LE(8);
  return new Uint8Array(b.subarray(10 + headerLen));
}

// equal arrays prove nothing if both are constant: demand spread-out pixel values
function assertNotTrivial(pixels, what) {
  const seen = new Set(pixels);
  assert.ok(seen.size > 50, `${what}: only ${seen.size} distinct pixel values`);
}

function tmpdir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ds-sampler-'));
}

// Samples n images (classes: all) in WASM on a sampler handle factory; returns (n, D) pixels.
function wasmSample(M, create, { n, D, batch }) {
  const out = new Uint8Array(n * D);
  for (let first = 0; first < n; first += batch) {
    const b = Math.min(batch, n - first);
    const cls = Int32Array.from({ length: b }, (_, i) => Math.floor((first + i) / (n / 10)));
    const h = create(cls, b, first).ret;
    try {
      let done = 0, steps = 0;
      while (!done) {
        steps = call(M, 'sampler_step', [h, 1]).ret;
        const info = call(M, 'sampler_info', [h], [['rec', 'sampler_info']]).outs[0];
        done = info.step === info.steps;
      }
      assert.ok(steps > 0);
      out.set(call(M, 'sampler_read_u8', [h, 'x_t'], [['u8', b * D]]).outs[0], first * D);
    } finally {
      call(M, 'free', [h]);
    }
  }
  return out;
}


for (const variant of ['simd', 'scalar']) {
  test(`${variant}: exact-mixture samples equal the native CLI byte for byte`, async () => {
    const M = await loadModule(variant);
    const sample = parseSample(M, new Uint8Array(fs.readFileSync(SAMPLE)));
    const gmm = call(M, 'mixture_images', [sample.pixels, sample.labels, sample.count, sample.D, 0.01, 'linear']).ret;
    const dir = tmpdir();
    try {
      const cases = [ // kind, steps, eta, guidance, spacing
        ['ddpm', 30, 0, 1, 0], ['ddim', 12, 0, 1, 1], ['ddim', 12, 0.7, 2.5, 0], ['dpmpp2m', 8, 0, 1, 0],
        ['ddim', 12, 0, 2.5, 1.7], ['ddpm', 30, 0, 1, 2], ['dpmpp2m', 8, 0, 2.5, 2],
      ];
      const results = [];
      for (const [kind, steps, eta, guidance, spacing] of cases) {
        const n = 10, file = path.join(dir, `${kind}.npy`);
        cli(['sample', '--analytic', SAMPLE, '--analytic-var', '0.01', '--classes', 'all', '--n', String(n), '--sampler', kind,
          '--steps', String(steps), ...(kind === 'ddim' ? ['--eta', String(eta)] : []), // only DDIM has an eta
          '--guidance', String(guidance), '--seed', '1234', '--batch', '4', '--spacing', String(spacing),
          '--npy', file, '--quiet']);
        const native = readNpy(file);
        // the CLI ran chunks of 4 (images 0-3, 4-7, 8-9); WASM runs all 10 at once: each
        // image's noise stream depends on its index only, so the chunking must not matter
        const wasm = wasmSample(M, (cls, b) => {
          const s = call(M, 'sampler_new', [gmm, 'linear', kind, steps, eta, guidance, 1, 1234, b, cls]);
          if (spacing !== 0) call(M, 'sampler_spacing', [s.ret, spacing]); // the steps placed as t = 1 + 999 u^spacing
          return s;
        }, { n, D: sample.D, batch: n });
        assertNotTrivial(native, `${kind} native`);
        let diff = 0;
        for (let i = 0; i < native.length; i++) if (native[i] !== wasm[i]) diff++;
        assert.equal(diff, 0, `${kind} ${steps} steps eta ${eta} guidance ${guidance} spacing ${spacing}: ${diff} of ${native.length} pixels differ`);
        const labels = readNpy(file.replace('.npy', '_labels.npy'));
        assert.deepEqual(Array.from(labels), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        results.push(wasm);
      }
      const moved = results[0].filter((v, i) => v !== results[5][i]).length;
      assert.ok(moved > 100, `DDPM 30 steps: quadratic spacing changes the samples (${moved} pixels differ from even spacing)`);
    } finally {
      call(M, 'free', [gmm]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${variant}: a tiny random UNet samples the same natively and in WASM`, async () => {
    const M = await loadModule(variant);
    const model = call(M, 'model_random', ['unet', Int32Array.from(TINY_UNET), TINY_UNET.length, 7]).ret;
    const dir = tmpdir();
    try {
      const size = call(M, 'model_save', [model, 'f32', 0, null]).ret;
      const bytes = call(M, 'model_save', [model, 'f32', size], [['u8', size]]).outs[0];
      const weights = path.join(dir, 'tiny.dsw'), file = path.join(dir, 'tiny.npy');
      fs.writeFileSync(weights, bytes);
      cli(['sample', '--weights', weights, '--classes', 'all', '--n', '10', '--sampler', 'ddim', '--steps', '4',
        '--guidance', '2', '--seed', '5', '--batch', '10', '--npy', file, '--quiet']);
      const native = readNpy(file);
      assertNotTrivial(native, 'tiny UNet native');
      const wasm = wasmSample(M, (cls, b) => call(M, 'sampler_new', [model, 'linear', 'ddim', 4, 0, 2, 1, 5, b, cls]), { n: 10, D: 784, batch: 10 });
      let diff = 0, worst = 0;
      for (let i = 0; i < native.length; i++) if (native[i] !== wasm[i]) { diff++; worst = Math.max(worst, Math.abs(native[i] - wasm[i])); }
      assert.equal(diff, 0, `tiny UNet: ${diff} of ${native.length} pixels differ (worst by ${worst})`);
    } finally {
      call(M, 'free', [model]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${variant}: a 2-D mixture predicts E[x0 | x_t] exactly (one Gaussian: closed form)`, async () => {
    const M = await loadModule(variant);
    const sched = cli(['schedule', '--kind', 'linear', '--steps', '1000']);
    const abar = JSON.parse(sched).alpha_bar;
    const g = call(M, 'mixture_new', [1, 2, Float64Array.from([1]), Float32Array.from([0.5, -1]), Float32Array.from([0.25, 0.5]),
      Int32Array.from([-1]), 'linear']).ret;
    const x = Float32Array.from([0.3, 0.7]), t = Float32Array.from([400]);
    const { outs } = call(M, 'mixture_predict', [g, 'x0', x, t, Int32Array.from([10]), 1], [['f32', 2]]);
    const a = abar[399];
    [[0.5, 0.25], [-1, 0.5]].forEach(([mu, v], j) => {
      const want = mu + (Math.sqrt(a) * v / (a * v + 1 - a)) * (x[j] - Math.sqrt(a) * mu);
      assert.ok(Math.abs(outs[0][j] - want) < 1e-5, `dim ${j}: ${outs[0][j]} vs ${want}`);
    });
    call(M, 'free', [g]);
  });

  test(`${variant}: sampler_run returns every frame in one call, equal to stepping one by one`, async () => {
    const M = await loadModule(variant);
    const g = call(M, 'mixture_new', [2, 2, Float64Array.from([1, 1]), Float32Array.from([1, 1, -1, -1]), Float32Array.from([0.05, 0.05, 0.05, 0.05]),
      Int32Array.from([-1, -1]), 'linear']).ret;
    const B = 50, steps = 25, cls = new Int32Array(B).fill(10);
    const make = () => call(M, 'sampler_new', [g, 'linear', 'ddpm', steps, 0, 1, 0, 3, B, cls]).ret;
    const a = make(), b = make();
    const { ret, outs } = call(M, 'sampler_run', [a], [['f32', (steps + 1) * B * 2], ['recs', 'sampler_info', steps + 1]]);
    assert.equal(ret, steps + 1);
    const [frames, infos] = outs;
    for (let f = 0; f <= steps; f++) {
      if (f) call(M, 'sampler_step', [b, 1]);
      const x = call(M, 'sampler_read', [b, 'x_t'], [['f32', B * 2]]).outs[0];
      assert.deepEqual(frames.subarray(f * B * 2, (f + 1) * B * 2), x, `frame ${f}`);
      assert.deepEqual(infos[f], call(M, 'sampler_info', [b], [['rec', 'sampler_info']]).outs[0], `info ${f}`);
    }
    assert.equal(infos[0].step, 0);
    assert.equal(infos[steps].t, 0);
    assert.equal(call(M, 'sampler_run', [a], [['f32', B * 2], ['recs', 'sampler_info', 1]]).ret, 1, 'a finished sampler has one frame left');
    for (const h of [a, b, g]) call(M, 'free', [h]);
  });

  test(`${variant}: the sampler API refuses bad input with the library's message`, async () => {
    const M = await loadModule(variant);
    const sample = parseSample(M, new Uint8Array(fs.readFileSync(SAMPLE)));
    const gmm = call(M, 'mixture_images', [sample.pixels, sample.labels, sample.count, sample.D, 0, 'linear']).ret;
    const cls = Int32Array.from([0]);
    assert.throws(() => call(M, 'sampler_new', [gmm, 'linear', 'ddim', 0, 0, 1, 1, 1, 1, cls]), /sampler steps must be between 1 and 1000/);
    assert.throws(() => call(M, 'sampler_new', [gmm, 'linear', 'ddim', 10, 2, 1, 1, 1, 1, cls]), /eta/);
    assert.throws(() => call(M, 'sampler_new', [gmm, 'linear', 'euler', 10, 0, 1, 1, 1, 1, cls]), /"euler" is not a sampler_kind: one of ddpm, ddim, dpmpp2m/);
    assert.throws(() => call(M, 'sampler_new', [gmm, 'linear', 'ddim', 10, 0, 1, 1, 0.5, 1, cls]), /seed/);
    assert.throws(() => call(M, 'sampler_new', [gmm, 'linear', 'ddim', 10, 0, 1, 1, 1, 1, Int32Array.from([11])]), /class/);
    assert.throws(() => call(M, 'sampler_step', [63, 1]), /sampler handle 63 was freed already/);
    assert.throws(() => call(M, 'forward_noise', [sample.pixels.subarray(0, 784), 784, 1001, 'linear', 1], [['u8', 784], ['rec', 'noise_info']]), /timestep t/);
    const h = call(M, 'sampler_new', [gmm, 'linear', 'ddim', 3, 0, 1, 1, 1, 1, cls]).ret;
    assert.equal(call(M, 'sampler_step', [h, 10]).ret, 3, 'steps stop at the end');
    call(M, 'free', [h]);
    assert.throws(() => call(M, 'free', [h]), /handle \d+ was freed already/);
    call(M, 'free', [gmm]);
  });
}
