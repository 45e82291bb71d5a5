// foundation.test.mjs — the WebAssembly builds compute what the native build computes, and
// the SIMD build really contains SIMD instructions.
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadModule, call, api, cliJSON, maxAbsDiff, WASM_DIR } from './wasm.mjs';

const ROWS = ['beta', 'alpha_bar', 'sqrt_alpha_bar', 'sqrt_one_minus_alpha_bar', 'snr', 'posterior_variance', 'posterior_coef_x0', 'posterior_coef_xt'];

for (const variant of ['simd', 'scalar']) {
  test(`${variant} build: schedules equal the native CLI bit for bit`, async () => {
    const M = await loadModule(variant);
    for (const kind of ['linear', 'cosine']) {
      for (const T of [1, 7, 1000]) {
        const native = cliJSON(['schedule', '--kind', kind, '--steps', String(T)]);
        const { outs } = call(M, 'schedule_table', [kind, T, ROWS.length], [['rows', 'schedule_table', T]]);
        ROWS.forEach((row) => {
          const wasm = outs[0][row];
          assert.equal(maxAbsDiff(wasm, native[row]), 0, `${kind} T=${T} ${row}: max |wasm - native| = ${maxAbsDiff(wasm, native[row])}`);
        });
      }
    }
  });

  test(`${variant} build: bad input is refused with the library's message`, async () => {
    const M = await loadModule(variant);
    assert.throws(() => call(M, 'schedule_table', ['linear', 0, 1], [['f64', 5]]), /T must be between 1 and 1000 \(got 0\)/);
    assert.throws(() => call(M, 'schedule_table', ['quadratic', 10, 5], [['f64', 50]]), /"quadratic" is not a schedule: one of linear, cosine/);
    assert.throws(() => call(M, 'rng_normals', [1.5, 4], [['f64', 4]]), /seed must be a whole number/);
  });

  test(`${variant} build: the RNG gives the golden normals`, async () => {
    const M = await loadModule(variant);
    const { outs } = call(M, 'rng_normals', [42, 4], [['f64', 4]]);
    // the same constants are checked natively in tests/test_detmath.c
    assert.deepEqual(Array.from(outs[0]), GOLDEN_NORMALS_SEED_42);
  });
}

test('the SIMD build contains v128 instructions and the scalar build none', () => {
  const count = (variant) => {
    const text = execFileSync('wasm-dis', [path.join(WASM_DIR, `diffuscope_${variant}.wasm`)], { encoding: 'utf8', maxBuffer: 512 << 20 });
    return (text.match(/\b(v128|[if](8x16|16x8|32x4|64x2))\.[a-z_]+/g) || []).length;
  };
  const simd = count('simd'), scalar = count('scalar');
  console.log(`SIMD instructions: simd build ${simd}, scalar build ${scalar}`);
  assert.ok(simd >= 20, `expected SIMD instructions in diffuscope_simd.wasm, found ${simd}`);
  assert.equal(scalar, 0, `the scalar build must have no SIMD instructions, found ${scalar}`);
});

export const GOLDEN_NORMALS_SEED_42 = [-0.72621913824478568, -0.21119691823195985, 0.22162270150359331, 0.52277168775601457];

// The module's description (ds_api_describe) and its exports name the same functions, and every
// record field and enum the JS relies on comes from C: web/api.js has no list of its own.
test('the description lists exactly the exported face', async () => {
  const M = await loadModule('simd');
  const a = api(M);
  const exported = Object.keys(M).filter((k) => k.startsWith('_ds_')).map((k) => k.slice('_ds_api_'.length)).sort();
  const described = [...Object.keys(a.functions), 'describe', 'last_error', 'clear_error'].sort();
  assert.deepEqual(exported, described, 'every export is described and every described function exported (all ds_api_*)');
  assert.ok(Object.keys(M).filter((k) => k.startsWith('_ds_')).every((k) => k.startsWith('_ds_api_')), 'only the face is exported');
  for (const [fn, params] of Object.entries(a.functions))
    for (const p of params) assert.ok(['h', 'i', 'd', 'p'].includes(p) || a.enums[p.slice(2)], `${fn}: parameter kind ${p}`);
  for (const [name, fields] of Object.entries(a.records))
    for (const f of fields) assert.ok(f.count >= 1 && (!f.enum || a.enums[f.enum]), `${name}.${f.name}`);
});
