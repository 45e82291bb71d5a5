// score.test.mjs — scores, Langevin, reverse SDE / PF-ODE and flow matching in WebAssembly: the
// paths equal the native CLI's byte for byte (every path sampler, both builds), the in-page
// flow trainer writes the weights `points train --objective flow` writes, the score is
// −ε̂/√(1 − ᾱ_t) of the model's own forward, the exact mixture's fields agree between the SIMD
// and scalar builds, and a drag of the start point changes the paths.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModule, call, cli, ROOT } from './wasm.mjs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-score-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const EPS = path.join(ROOT, 'weights', 'points-moons.dsw');
const FLOW = path.join(ROOT, 'weights', 'points-moons-flow.dsw');

function load(M, file) {
  const bytes = new Uint8Array(fs.readFileSync(file));
  return call(M, 'model_load', [bytes, bytes.length]).ret;
}

function sameBytes(a, b, what) {
  assert.equal(a.length, b.length, `${what}: ${a.length} vs ${b.length} values`);
  const ua = new Uint8Array(a.buffer, a.byteOffset, a.byteLength), ub = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  let first = -1;
  for (let i = 0; i < ua.length && first < 0; i++) if (ua[i] !== ub[i]) first = i;
  assert.equal(first, -1, `${what}: first difference at byte ${first}`);
  // equal arrays prove nothing if they are trivial
  assert.ok(new Set(a).size > a.length / 4, `${what}: too few distinct values`);
}

// [weights, sampler, steps, extra CLI flags, step_size, per_level]
const CASES = [
  [FLOW, 'flow-euler', 12, [], 0, 0],
  [FLOW, 'flow-heun', 7, [], 0, 0],
  [EPS, 'sde', 40, [], 0, 0],
  [EPS, 'ode-heun', 25, [], 0, 0],
  [EPS, 'langevin', 15, ['--step-size', '0.3', '--per-level', '4'], 0.3, 4],
];

for (const variant of ['simd', 'scalar']) {
  test(`${variant}: every path sampler's frames equal the native CLI's byte for byte`, async () => {
    const M = await loadModule(variant);
    const n = 300, seed = 5;
    for (const [weights, kind, steps, flags, stepSize, perLevel] of CASES) {
      const raw = path.join(tmp, `${kind}-${variant}.f32`);
      cli(['points', 'sample', '--weights', weights, '--sampler', kind, '--steps', String(steps), '-n', String(n),
        '--seed', String(seed), ...flags, '--raw', raw]);
      const native = new Float32Array(new Uint8Array(fs.readFileSync(raw)).buffer);
      const model = load(M, weights);
      const start = call(M, 'points_noise', [n, seed], [['f32', 2 * n]]).outs[0];
      const F = steps + 1;
      const r = call(M, 'paths', [model, kind, steps, 0, 0, stepSize, perLevel, seed, start, n], [['f32', F * 2 * n], ['f64', F]]);
      assert.equal(r.ret, F);
      sameBytes(r.outs[0], native, `${variant} ${kind}`);
      const times = Array.from(r.outs[1]);
      assert.equal(times[0], kind.startsWith('flow') ? 1 : 1000);
      assert.equal(times[F - 1], kind === 'langevin' ? 1 : 0);
      call(M, 'free', [model]);
    }
  });
}

test('in-page flow trainer: the same weights as `points train --objective flow`', async () => {
  const M = await loadModule('simd');
  const n = 500, file = path.join(tmp, 'flow.dsw');
  cli(['points', 'train', '--points', 'moons', '-n', String(n), '--steps', '300', '--batch', '64', '--hidden', '32',
    '--layers', '2', '--lr', '3e-3', '--seed', '1', '--objective', 'flow', '-o', file], { stdio: ['ignore', 'pipe', 'ignore'] });
  const pts = call(M, 'shape_points', ['moons', n, 1], [['f32', 2 * n]]).outs[0];
  const h = call(M, 'trainer_objective_new', ['flow', pts, n, 32, 2, 64, 3e-3, 300, 1]).ret;
  const started = performance.now();
  call(M, 'trainer_run', [h, 300], [['rec', 'trainer_run']]);
  console.log(`300 flow-matching steps (batch 64, width 32) in WASM: ${(performance.now() - started).toFixed(0)} ms`);
  const size = call(M, 'trainer_save', [h, 1, 0, null]).ret;
  const bytes = call(M, 'trainer_save', [h, 1, size], [['u8', size]]).outs[0];
  assert.deepEqual(Buffer.from(bytes), fs.readFileSync(file), 'trainer bytes equal the CLI file');
  const model = call(M, 'model_load', [bytes, size]).ret;
  assert.equal(call(M, 'model_info', [model], [['rec', 'model_info']]).outs[0].prediction, 'flow');
  // the diffusion objective by name is the old constructor: same weights as trainer_new
  const a = call(M, 'trainer_objective_new', ['diffusion', pts, n, 32, 2, 64, 3e-3, 50, 1]).ret;
  const b = call(M, 'trainer_new', [pts, n, 32, 2, 64, 3e-3, 50, 1]).ret;
  for (const t of [a, b]) call(M, 'trainer_run', [t, 50], [['rec', 'trainer_run']]);
  const save = (t) => { const s = call(M, 'trainer_save', [t, 1, 0, null]).ret; return call(M, 'trainer_save', [t, 1, s], [['u8', s]]).outs[0]; };
  assert.deepEqual(save(a), save(b));
  for (const x of [h, model, a, b]) call(M, 'free', [x]);
});

test('score of an ε-model is −ε̂/√(1 − ᾱ_t) of its own forward; a grid is forward_density\'s', async () => {
  const M = await loadModule('simd');
  const model = load(M, EPS);
  const G = 12, t = 300;
  const grid = call(M, 'grid_points', [-3, 3, G], [['f32', 2 * G * G]]).outs[0];
  assert.equal(grid[0], -3 + 0.25);
  assert.equal(grid[1], 3 - 0.25);
  assert.equal(grid[2 * G + 1], 3 - 0.75); // row 1
  const s = call(M, 'score_grid', [model, t, -3, 3, G], [['f32', 2 * G * G]]).outs[0];
  const eps = call(M, 'model_forward', [model, grid, new Float32Array(G * G).fill(t), null, G * G], [['f32', 2 * G * G]]).outs[0];
  const abar = call(M, 'schedule_table', ['linear', 1000, 8], [['rows', 'schedule_table', 1000]]).outs[0].alpha_bar[t - 1];
  const inv = 1 / Math.sqrt(1 - abar);
  for (let i = 0; i < s.length; i++) assert.equal(s[i], Math.fround(-eps[i] * inv), `score[${i}]`);
  assert.deepEqual(call(M, 'score', [model, t, grid, G * G], [['f32', 2 * G * G]]).outs[0], s);
  const flow = load(M, FLOW);
  const v = call(M, 'velocity_grid', [flow, 0.5, -3, 3, G], [['f32', 2 * G * G]]).outs[0];
  const v2 = call(M, 'model_forward', [flow, grid, new Float32Array(G * G).fill(500), null, G * G], [['f32', 2 * G * G]]).outs[0];
  assert.deepEqual(v, v2, 'the velocity is the network at τ = 1000 t');
  call(M, 'free', [model]);
  call(M, 'free', [flow]);
});

test('the exact mixture: SIMD and scalar builds agree on score, velocity, paths and Langevin', async () => {
  const results = [];
  for (const variant of ['simd', 'scalar']) {
    const M = await loadModule(variant);
    const n = 400;
    const pts = call(M, 'shape_points', ['spiral', n, 1], [['f32', 2 * n]]).outs[0];
    const mix = call(M, 'points_mixture', [pts, n, 0.01, 'linear']).ret;
    const start = call(M, 'points_noise', [64, 9], [['f32', 128]]).outs[0];
    results.push([
      call(M, 'score_grid', [mix, 200, -3, 3, 16], [['f32', 512]]).outs[0],
      call(M, 'velocity_grid', [mix, 0.3, -3, 3, 16], [['f32', 512]]).outs[0],
      call(M, 'paths', [mix, 'sde', 30, 0, 0, 0, 0, 3, start, 64], [['f32', 31 * 128], ['f64', 31]]).outs[0],
      call(M, 'paths', [mix, 'flow-heun', 10, 0, 0, 0, 0, 0, start, 64], [['f32', 11 * 128], ['f64', 11]]).outs[0],
      call(M, 'langevin', [mix, 100, 0.5, 20, 4, start, 64], [['f32', 21 * 128]]).outs[0],
    ]);
    call(M, 'free', [mix]);
  }
  ['score_grid', 'velocity_grid', 'sde paths', 'flow-heun paths', 'langevin'].forEach((what, i) => sameBytes(results[0][i], results[1][i], what));
});

test('dragging the start point moves the SDE and ODE paths; the seed restarts the SDE', async () => {
  const M = await loadModule('simd');
  const model = load(M, EPS);
  const paths = (x, y, kind, seed, k = 4) => {
    const start = new Float32Array(2 * k);
    for (let i = 0; i < k; i++) start.set([x, y], 2 * i);
    return call(M, 'paths', [model, kind, 50, 400, 0, 0, 0, seed, start, k], [['f32', 51 * 2 * k], ['f64', 51]]).outs[0];
  };
  const a = paths(0.5, 0.5, 'sde', 1), b = paths(0.6, 0.5, 'sde', 1), c = paths(0.5, 0.5, 'sde', 2);
  assert.notDeepEqual(a, b, 'a new start point moves the paths');
  assert.notDeepEqual(a, c, 'a new seed draws other paths');
  assert.notDeepEqual(a.subarray(50 * 8, 50 * 8 + 2), a.subarray(50 * 8 + 2, 50 * 8 + 4), 'paths from one point differ');
  const o = paths(0.5, 0.5, 'ode-heun', 1, 2);
  assert.deepEqual(o.subarray(100, 102), o.subarray(102, 104), 'the ODE path from a point is one path');
  assert.notDeepEqual(o, paths(0.6, 0.5, 'ode-heun', 1, 2));
  call(M, 'free', [model]);
});
