// vi.test.mjs — the variational-inference exports of the WebAssembly builds give the same
// numbers as the native CLI (`diffuscope vi`), bit for bit: evaluation, target parsing,
// Monte Carlo and fit paths; the curves are densities; bad input is refused with a message;
// and the CLI's `render vi-grid` writes the seed's 16 images.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadModule, call, cli, cliJSON, CLI } from './wasm.mjs';

const DEFAULT = '0.3:-3:0.7,0.5:4:1,0.2:7:0.6';
const CASES = [
  { target: DEFAULT, mu: 0, sigma: 1, logZ: 0 },
  { target: DEFAULT, mu: -3, sigma: 0.6, logZ: 2.5 },
  { target: DEFAULT, mu: 7, sigma: 3, logZ: -1 },
  { target: '2:-10:0.3, 1:12:5, 1:0:0.05', mu: 19.5, sigma: 0.05, logZ: 0 },
  { target: '1:1.5:2', mu: -20, sigma: 20, logZ: 100 },
];

// the parsed target as the (w, m, s) triples the exports take
function params(M, spec) {
  const bytes = new TextEncoder().encode(spec);
  const { ret, outs } = call(M, 'vi_parse_target', [bytes, bytes.length], [['rec', 'vi_target']]);
  assert.equal(outs[0].k, ret);
  return { k: ret, params: Float64Array.from(outs[0].params.slice(0, 3 * ret)) };
}

for (const variant of ['simd', 'scalar']) {
  test(`${variant} build: KLs, ELBO and gradients equal the native CLI bit for bit`, async () => {
    const M = await loadModule(variant);
    for (const c of CASES) {
      const native = cliJSON(['vi', '--target', c.target, '--mu', String(c.mu), '--sigma', String(c.sigma), '--log-z', String(c.logZ)]);
      const { k, params: p } = params(M, c.target);
      assert.equal(k, native.target.length);
      assert.deepEqual(Array.from(p), native.target.flatMap((t) => [t.weight, t.mean, t.std]), 'parsed target');
      const got = call(M, 'vi_evaluate', [k, p, c.mu, c.sigma, c.logZ], [['rec', 'vi_evaluate']]).outs[0];
      const want = {
        kl_q_p: native.kl_q_p, kl_p_q: native.kl_p_q, elbo: native.elbo, entropy_q: native.entropy_q, entropy_p: native.entropy_p,
        dkl_q_p_dmu: native.grad_kl_q_p[0], dkl_q_p_dlogsigma: native.grad_kl_q_p[1],
        dkl_p_q_dmu: native.grad_kl_p_q[0], dkl_p_q_dlogsigma: native.grad_kl_p_q[1],
      };
      for (const [name, w] of Object.entries(want)) assert.equal(got[name], w, `${JSON.stringify(c)} ${name}: wasm ${got[name]} native ${w}`);
      assert.equal(got.elbo + got.kl_q_p, c.logZ, 'ELBO + KL(q||p) = log Z');
    }
  });

  test(`${variant} build: Monte Carlo and fit paths equal the native CLI`, async () => {
    const M = await loadModule(variant);
    const { k, params: p } = params(M, DEFAULT);
    const native = cliJSON(['vi', '--mu', '4', '--sigma', '0.8', '--log-z', '1', '--mc', '5000', '--seed', '11']);
    const { outs } = call(M, 'vi_monte_carlo', [k, p, 4, 0.8, 1, 5000, 11], [['rec', 'vi_monte_carlo']]);
    const m = native.mc;
    assert.deepEqual(outs[0], { kl_q_p: m.kl_q_p, kl_q_p_se: m.kl_q_p_se, kl_p_q: m.kl_p_q, kl_p_q_se: m.kl_p_q_se, elbo: m.elbo, elbo_se: m.elbo_se });
    assert.ok(Math.abs(m.kl_q_p - native.kl_q_p) < 3 * m.kl_q_p_se, 'MC within 3 standard errors');

    for (const dir of ['reverse', 'forward']) {
      const fit = cliJSON(['vi', '--fit', dir, '--mu', '-3', '--sigma', '0.6', '--steps', '400', '--path']);
      const rows = call(M, 'vi_fit_path', [k, p, dir, -3, 0.6, 400], [['recs', 'vi_fit', 401]]);
      assert.equal(rows.ret, fit.path.length, `${dir}: number of path rows`);
      assert.deepEqual(rows.outs[0].slice(0, rows.ret).map((r) => [r.mu, r.sigma, r.kl]), fit.path, `${dir}: path`);
    }
  });

  test(`${variant} build: the curves are the two densities`, async () => {
    const M = await loadModule(variant);
    const { k, params: p } = params(M, DEFAULT);
    const n = 2001, x0 = -15, x1 = 20;
    const curves = call(M, 'vi_curves', [k, p, 1, 1.5, x0, x1, n], [['rows', 'vi_curves', n]]).outs[0];
    const h = (x1 - x0) / (n - 1);
    const integral = (row) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += curves[row][i] * (i === 0 || i === n - 1 ? 0.5 : 1);
      return s * h;
    };
    assert.ok(Math.abs(integral('p') - 1) < 1e-6, `p integrates to ${integral('p')}`);
    assert.ok(Math.abs(integral('q') - 1) < 1e-6, `q integrates to ${integral('q')}`);
    const klqp = call(M, 'vi_evaluate', [k, p, 1, 1.5, 0], [['rec', 'vi_evaluate']]).outs[0].kl_q_p;
    assert.ok(Math.abs(integral('kl_q_p_density') - klqp) < 1e-5, `the KL(q||p) integrand integrates to ${integral('kl_q_p_density')}, KL ${klqp}`);
  });

  test(`${variant} build: bad targets and inputs are refused with the library's message`, async () => {
    const M = await loadModule(variant);
    const bad = (spec, re) => {
      const bytes = new TextEncoder().encode(spec);
      assert.throws(() => call(M, 'vi_parse_target', [bytes, bytes.length], [['rec', 'vi_target']]), re, spec);
    };
    bad('1:0', /expected ':' after the mean of component 1/);
    bad('0:0:1', /weight must be a finite number > 0/);
    bad('1:0:1,1:nan:1', /expected the mean of component 2/);
    bad(Array(9).fill('1:0:1').join(','), /more than 8 components/);
    const { k, params: p } = params(M, DEFAULT);
    assert.throws(() => call(M, 'vi_evaluate', [k, p, NaN, 1, 0], [['f64', 12]]), /argument 3 is NaN, not a finite number/);
    assert.throws(() => call(M, 'vi_evaluate', [k, p, 0, 0, 0], [['f64', 12]]), /sigma must be between/);
    assert.throws(() => call(M, 'vi_evaluate', [9, new Float64Array(27), 0, 1, 0], [['f64', 12]]), /between 1 and 8 components/);
    assert.throws(() => call(M, 'vi_monte_carlo', [k, p, 0, 1, 0, 1, 0], [['f64', 6]]), /Monte-Carlo samples/);
  });
}

test('CLI: render vi-grid writes the seed grid of 720x440 PNGs; bad flags exit 2 with a message', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-vi-grid-'));
  try {
    const listed = cli(['render', 'vi-grid', '--out', dir]).trim().split('\n');
    assert.equal(listed.length, 16);
    const sizes = new Set();
    for (const mu of ['-3.0', '0.0', '4.0', '7.0']) {
      for (const sd of ['0.6', '0.8', '1.0', '3.0']) {
        const file = path.join(dir, `p_x_approx_mean_${mu}_approx_std_${sd}.png`);
        const png = fs.readFileSync(file);
        assert.equal(png.toString('latin1', 1, 4), 'PNG', file);
        assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [720, 440], `${file} is 720x440`);
        sizes.add(png.length);
      }
    }
    assert.ok(sizes.size > 8, 'the 16 images differ');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const fails = (args, re) => {
    const r = spawnSync(CLI, args, { encoding: 'utf8' });
    assert.equal(r.status, 2, `${args.join(' ')} exits 2`);
    assert.match(r.stderr, re);
  };
  fails(['vi', '--target', '1:0:1,'], /expected the weight of component 2/);
  fails(['vi', '--sigma', '0'], /sigma must be between/);
  fails(['vi', '--fit', 'sideways'], /unknown fit direction 'sideways'/);
  fails(['render', 'vi-grid'], /--out DIR is required/);
  fails(['render', 'no-such-figure'], /unknown figure/);
});
