// bench.js — the browser half of tools/bench_wasm.mjs (see bench.html). Leaves its figures
// in window.benchResult for the Node side and prints them in the page.
import { getEnginePool } from '../pool.js';
import { fetchBytes } from '../core.js';

const ITEM = 784;
const log = document.getElementById('bench-log');
const lines = [];
const say = (s) => ((lines.push(s), (log.textContent = lines.join('\n'))));
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

// f32x4 fma on three v128 params: the prototype opcode 0xfd 0xaf 0x01 that Emscripten 3.1.6
// (LLVM 14) emits for __builtin_wasm_fma_f32x4, and the standard relaxed_madd 0xfd 0x85 0x02.
const fmaModule = (op) => new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0,
  10, 13, 1, 11, 0, 32, 0, 32, 1, 32, 2, 253, ...op, 11]);
const RELAXED_PROTOTYPE = fmaModule([175, 1]);
const RELAXED_STANDARD = fmaModule([133, 2]);

async function loadEverywhere(pool, weights) {
  if (weights) {
    const bytes = await fetchBytes(new URL('../../' + weights, import.meta.url));
    return (await pool.broadcast('model_load', [bytes, bytes.length])).map((r) => r.ret);
  }
  return (await pool.broadcast('model_random', ['unet', new Int32Array(12), 0, 1])).map((r) => r.ret);
}

async function run() {
  const weights = new URLSearchParams(location.search).get('weights');
  const result = { cores: navigator.hardwareConcurrency || 1 };
  result.relaxedValid = WebAssembly.validate(RELAXED_PROTOTYPE);
  result.relaxedStandardValid = WebAssembly.validate(RELAXED_STANDARD);
  say(`relaxed SIMD: Emscripten 3.1.6's f32x4.fma validates: ${result.relaxedValid}; standard relaxed_madd: ${result.relaxedStandardValid}`);

  const pool1 = await getEnginePool(1);
  const pool2 = await getEnginePool(2);
  if (pool2.size < 2) say(`only ${pool2.size} hardware thread reported: the two-worker figure uses one worker`);
  const h1 = await loadEverywhere(pool1, weights), h2 = await loadEverywhere(pool2, weights);

  // 20-step DDIM of one image on one worker, start to finish (creation, steps, result)
  const engine = pool1.engines[0];
  const ddim = async (seed) => {
    const t0 = performance.now();
    const s = (await engine.call('sampler_new', [h1[0], 'linear', 'ddim', 20, 0, 1, 1, seed, 1, new Int32Array([0])])).ret;
    await engine.call('sampler_step', [s, 20]);
    await engine.call('sampler_read_u8', [s, 'x_t'], [['u8', ITEM]]);
    await engine.call('free', [s]);
    return performance.now() - t0;
  };
  // warm-up: the engine optimises hot wasm functions in the background after their first runs
  for (let t0 = performance.now(), i = 0; i < 2 || performance.now() - t0 < 1500; i++) await ddim(100 + i);
  const ddimTimes = [];
  for (let i = 0; i < 9; i++) ddimTimes.push(await ddim(2 + i));
  result.ddimMs = median(ddimTimes);
  result.ddimRuns = ddimTimes.length;
  result.ddimMinMs = Math.min(...ddimTimes);
  result.ddimMaxMs = Math.max(...ddimTimes);
  say(`20-step DDIM, 1 image: ${result.ddimMs.toFixed(0)} ms (median of ${ddimTimes.length}; range ${result.ddimMinMs.toFixed(0)}–${result.ddimMaxMs.toFixed(0)} ms)`);

  // 16 images on 1 vs 2 workers, interleaved; the pooled output must equal the single one
  const B = 16;
  const x = new Float32Array(B * ITEM).map((_, i) => ((i * 37) % 101) / 50 - 1);
  const t = Float32Array.from({ length: B }, (_, b) => 10 + 60 * b);
  const cls = Int32Array.from({ length: B }, (_, b) => b % 11);
  const one = await pool1.forward(h1, x, t, cls, B, ITEM);
  const two = await pool2.forward(h2, x, t, cls, B, ITEM);
  result.poolEqual = one.length === two.length && one.every((v, i) => Object.is(v, two[i]));
  for (const [pool, hs] of [[pool1, h1], [pool2, h2]])
    for (let t0 = performance.now(); performance.now() - t0 < 1500; ) await pool.forward(hs, x, t, cls, B, ITEM);
  const t1 = [], t2 = [];
  for (let rep = 0; rep < 7; rep++) {
    let t0 = performance.now();
    await pool1.forward(h1, x, t, cls, B, ITEM);
    t1.push(performance.now() - t0);
    t0 = performance.now();
    await pool2.forward(h2, x, t, cls, B, ITEM);
    t2.push(performance.now() - t0);
  }
  result.pool1Ms = median(t1);
  result.pool2Ms = median(t2);
  say(`16 images: 1 worker ${result.pool1Ms.toFixed(1)} ms, ${pool2.size} workers ${result.pool2Ms.toFixed(1)} ms (${(result.pool1Ms / result.pool2Ms).toFixed(2)}x); results equal: ${result.poolEqual}`);
  window.benchResult = result;
}

run().catch((err) => {
  say('failed: ' + err.message);
  window.benchResult = { error: err.message };
});
