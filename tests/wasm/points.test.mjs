// points.test.mjs — the point-cloud pieces in WebAssembly: shapes equal the native CLI's,
// the forward process and its density behave, the quality measure agrees with the native
// one, and the in-page trainer learns (its weights load as an engine model).
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModule, call, cli, cliJSON, ROOT } from './wasm.mjs';

const SHAPES = ['cow', 'moons', 'spiral', 'rings', 'letter'];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-points-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function readPoints(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).flatMap((l) => l.split(' ').map(Number));
}

for (const variant of ['simd', 'scalar']) {
  test(`${variant}: every shape's points equal the native CLI's`, async () => {
    const M = await loadModule(variant);
    for (const name of SHAPES) {
      const file = path.join(tmp, `${name}-${variant}.txt`);
      cli(['points', 'shape', '--shape', name, '-n', '500', '--seed', '7', '-o', file]);
      const native = readPoints(file);
      const { outs } = call(M, 'shape_points', [name, 500, 7], [['f32', 1000]]);
      assert.equal(native.length, 1000);
      // the CLI prints 7 significant digits: equal to that precision
      for (let i = 0; i < 1000; i++)
        assert.ok(Math.abs(outs[0][i] - native[i]) <= 1e-6 * Math.max(1, Math.abs(native[i])), `${name}[${i}]: wasm ${outs[0][i]} native ${native[i]}`);
    }
  });
}

test('forward process: x_t, trajectories and the density of q(x_t)', async () => {
  const M = await loadModule('simd');
  const n = 2000;
  const x0 = call(M, 'shape_points', ['cow', n, 1], [['f32', 2 * n]]).outs[0];
  const eps = call(M, 'points_noise', [n, 2], [['f32', 2 * n]]).outs[0];
  const sched = call(M, 'schedule_table', ['linear', 1000, 8], [['rows', 'schedule_table', 1000]]).outs[0];
  const xt = call(M, 'forward_points', ['linear', 1000, 300, x0, eps, n], [['f32', 2 * n]]).outs[0];
  const a = sched.sqrt_alpha_bar[299], s = sched.sqrt_one_minus_alpha_bar[299];
  for (let i = 0; i < 2 * n; i++) assert.ok(Math.abs(xt[i] - (a * x0[i] + s * eps[i])) < 1e-5);
  const traj = call(M, 'forward_trajectory', ['linear', 1000, x0.subarray(10, 12), eps.subarray(10, 12)], [['f32', 2002]]).outs[0];
  assert.equal(traj[600], xt[10]);
  assert.equal(traj[601], xt[11]);
  // the density integrates to ~1 over a wide grid, at t = 0 and at t = T
  for (const t of [0, 1000]) {
    const G = 80, ext = 5, d = call(M, 'forward_density', ['linear', 1000, t, x0, n, -ext, ext, G], [['f32', G * G]]).outs[0];
    const cell = (2 * ext) / G;
    const mass = d.reduce((acc, v) => acc + v, 0) * cell * cell;
    assert.ok(Math.abs(mass - 1) < 0.01, `t=${t}: mass ${mass}`);
  }
  assert.throws(() => call(M, 'forward_points', ['linear', 1000, 1001, x0, eps, n], [['f32', 2 * n]]), /step t must be between 0 and 1000/);
});

test('quality measure: the wasm floor equals the native one', async () => {
  const M = await loadModule('simd');
  const native = cliJSON(['points', 'floor', '--shape', 'moons', '-n', '400']).floor.moons;
  const q = call(M, 'point_floor', ['moons', 400, 1], [['rec', 'point_quality']]).outs[0];
  assert.ok(Math.abs(q.chamfer - native.chamfer) < 1e-5 * native.chamfer, `chamfer wasm ${q.chamfer} native ${native.chamfer}`);
  assert.ok(Math.abs(q.mmd2 - native.mmd2) < 1e-5, `mmd2 wasm ${q.mmd2} native ${native.mmd2}`);
  // the verdict is C's: thresholds by name, pass as 1 or 0
  const v = call(M, 'point_verdict', [1.2 * q.chamfer, 0.001, q.chamfer], [['rec', 'point_verdict']]).outs[0];
  assert.deepEqual(v, { chamfer_ratio: v.chamfer_ratio, pass: 1, max_chamfer_ratio: 1.3, max_mmd2: 0.002 });
  assert.ok(Math.abs(v.chamfer_ratio - 1.2) < 1e-12);
  assert.equal(call(M, 'point_verdict', [1.4 * q.chamfer, 0.001, q.chamfer], [['rec', 'point_verdict']]).outs[0].pass, 0);
  assert.equal(call(M, 'point_verdict', [q.chamfer, 0.003, q.chamfer], [['rec', 'point_verdict']]).outs[0].pass, 0);
  assert.throws(() => call(M, 'point_verdict', [q.chamfer, 0.001, 0], [['rec', 'point_verdict']]), /real-vs-real Chamfer must be a positive number/);
});

test('in-page trainer: the loss falls and the weights load as an engine model', async () => {
  const M = await loadModule('simd');
  const n = 1000;
  const pts = call(M, 'shape_points', ['moons', n, 1], [['f32', 2 * n]]).outs[0];
  const h = call(M, 'trainer_new', [pts, n, 32, 2, 64, 3e-3, 300, 1]).ret;
  assert.ok(h > 0);
  const first = call(M, 'trainer_run', [h, 20], [['rec', 'trainer_run']]).outs[0].loss;
  call(M, 'trainer_run', [h, 260], [['rec', 'trainer_run']]);
  const { ret, outs } = call(M, 'trainer_run', [h, 20], [['rec', 'trainer_run']]);
  assert.equal(ret, 300);
  assert.equal(outs[0].steps_done, 300);
  assert.ok(outs[0].loss < 0.8 * first, `loss ${first} -> ${outs[0].loss}`);
  const size = call(M, 'trainer_save', [h, 1, 0, null]).ret;
  const bytes = call(M, 'trainer_save', [h, 1, size], [['u8', size]]).outs[0];
  assert.throws(() => call(M, 'trainer_save', [h, 1, size - 1], [['u8', size - 1]]), /bytes do not fit/);
  const model = call(M, 'model_load', [bytes, size]).ret;
  const eps = call(M, 'model_forward', [model, new Float32Array([0.1, 0.2]), new Float32Array([500]), null, 1], [['f32', 2]]).outs[0];
  assert.ok(Number.isFinite(eps[0]) && Number.isFinite(eps[1]));
  // one handle table: a trainer is not a model, a model not a trainer, a freed handle is refused
  assert.throws(() => call(M, 'model_forward', [h, new Float32Array(2), new Float32Array([5]), null, 1], [['f32', 2]]), /handle \d+ is a trainer, expected a model/);
  assert.throws(() => call(M, 'trainer_run', [model, 1], [['rec', 'trainer_run']]), /handle \d+ is a model, expected a trainer/);
  call(M, 'free', [model]);
  call(M, 'free', [h]);
  assert.throws(() => call(M, 'trainer_run', [h, 1], [['rec', 'trainer_run']]), /trainer handle \d+ was freed already/);
  assert.throws(() => call(M, 'free', [h]), /handle \d+ was freed already/);
  assert.throws(() => call(M, 'free', [0]), /0 is not a valid handle/);
});

test('png2points: a rendered PNG of a shape turns back into that shape', () => {
  const png = path.join(tmp, 'letter.png'), pts = path.join(tmp, 'letter.txt');
  cli(['points', 'shape', '--shape', 'letter', '-n', '20000', '--png', png]);
  cli(['png2points', png, '-n', '1000', '--threshold', '160', '-o', pts]);
  const q = cliJSON(['points', 'quality', '--shape', 'letter', '--samples', pts, '-n', '1000']);
  const floor = cliJSON(['points', 'floor', '--shape', 'letter', '-n', '1000']).floor.letter;
  assert.ok(q.chamfer < 1.5 * floor.chamfer && q.mmd2 < 0.003, `PNG round trip: Chamfer ${q.chamfer} (floor ${floor.chamfer}), MMD² ${q.mmd2}`);
  // and a blank image is refused with the library's message
  const blank = path.join(tmp, 'blank.png');
  cli(['points', 'shape', '--shape', 'letter', '-n', '2', '--png', blank]); // two dots; threshold 1 sees no ink
  assert.throws(() => cli(['png2points', blank, '--threshold', '1', '-o', pts], { stdio: 'pipe' }), /no pixel is darker than the threshold 1/);
});

test('every shipped point model meets the quality threshold (1000 samples, DDIM 50 steps)', () => {
  for (const name of SHAPES) {
    const q = cliJSON(['points', 'sample', '--weights', path.join(ROOT, 'weights', `points-${name}.dsw`), '--sampler', 'ddim',
      '--steps', '50', '-n', '1000', '--shape', name]);
    console.log(`${name}: Chamfer ${q.chamfer} (floor ${q.floor_chamfer}, ratio ${q.chamfer_ratio}), MMD² ${q.mmd2}`);
    assert.ok(q.chamfer_ratio <= 1.3 && q.mmd2 <= 0.002, `${name}: ratio ${q.chamfer_ratio}, MMD² ${q.mmd2}`);
    assert.equal(q.meets_threshold, true);
  }
});
