// bench_wasm.mjs — one command for every speed figure of the README's performance section:
//
//   node tools/bench_wasm.mjs [--weights W.dsw] [--seconds S] [--no-native] [--no-browser]
//
// The same UNet with the same weights (weights/fashion-unet.dsw when present, else a random UNet of
// the default config, seed 1) runs through (1) our WASM SIMD build in Node, one thread,
// (2) onnxruntime-web (wasm backend, SIMD, numThreads = 1) on an ONNX export of that weights
// file (tools/export_onnx.py), (3) our native build (`diffuscope bench --json`). First it
// checks that onnxruntime's output equals ours (max abs diff printed, exit 1 above 1e-3);
// then it prints ms per forward at batch 1 and 16 (median and min-max of interleaved repeats),
// GFLOP/s and the ratios (per repeat pair: median, min-max); the simd128 mul + add peak, each
// conv layer against it, and a profile of the whole WASM forward layer by layer (every conv,
// GroupNorm + SiLU, add ...: ms, share, GFLOP/s, % of peak), so it shows where a machine loses;
// and, in
// Chromium (web/examples/bench.html), a 20-step DDIM sample of one image and a 16-image batch
// on 1 vs 2 workers. DS_BUILD_DIR / DS_WASM_DIR pick the build folders (default build/,
// web/wasm/). It starts with the machine (CPU model, vector flags, cores, load average) and ends
// with the load again. Run it on a quiet machine; the figures on a shared one move by 20% or more.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { loadModule, call, CLI, WASM_DIR } from '../tests/wasm/wasm.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ITEM = 784;
const BATCHES = [1, 16];
const REPEATS = 7;
const WARMUP_MS = 1500;

function usage(msg) {
  if (msg) console.error('bench_wasm: ' + msg);
  console.error('usage: node tools/bench_wasm.mjs [--weights W.dsw] [--seconds S] [--no-native] [--no-browser]');
  process.exit(2);
}

function parseArgs(argv) {
  const opt = { weights: null, seconds: 1.5, native: true, browser: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--weights') opt.weights = argv[++i] ?? usage('--weights needs a file');
    else if (a === '--seconds') {
      opt.seconds = Number(argv[++i]);
      if (!(opt.seconds >= 0.2 && opt.seconds <= 60)) usage('--seconds must be between 0.2 and 60');
    } else if (a === '--no-native') opt.native = false;
    else if (a === '--no-browser') opt.browser = false;
    else usage(`unknown argument ${a}`);
  }
  return opt;
}

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const fmt = (v, d = 2) => v.toFixed(d);
// a figure over repeats: median (min-max)
const spread = (v, d = 2, unit = '') => `${fmt(median(v), d)}${unit} (${fmt(Math.min(...v), d)}-${fmt(Math.max(...v), d)})`;

// The CPU as /proc/cpuinfo names it (model, the vector extensions that matter here), the cores
// and the load: a speed figure means little without them.
function machine() {
  let model = os.cpus()[0]?.model ?? 'unknown CPU', flags = [];
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    model = /^model name\s*:\s*(.*)$/m.exec(info)?.[1] ?? model;
    const have = new Set((/^flags\s*:\s*(.*)$/m.exec(info)?.[1] ?? '').split(/\s+/));
    flags = ['sse4_2', 'avx', 'avx2', 'fma', 'avx512f', 'avx512vl', 'avx512_vnni'].filter((f) => have.has(f));
  } catch {
    flags = ['(no /proc/cpuinfo)'];
  }
  return `${model}; ${flags.join(' ') || 'no SSE4.2/AVX flags'}; ${os.cpus().length} cores (logical)`;
}
const load = () => `load average ${os.loadavg().map((v) => fmt(v)).join(' ')} (1, 5, 15 min)`;

function inputs(B) {
  const x = new Float32Array(B * ITEM);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 37) % 101) / 50 - 1;
  const t = Float32Array.from({ length: B }, (_, b) => 10 + ((60 * b) % 990));
  const cls = Int32Array.from({ length: B }, (_, b) => b % 11);
  return { x, t, cls };
}

// Our module: the forward with input and output buffers allocated once, as a page would (the
// face's export called directly: the timed loop must not copy the batch in and out each call).
function oursRunner(M, handle, B) {
  const { x, t, cls } = inputs(B);
  const px = M._malloc(x.length * 4), pt = M._malloc(B * 4), pc = M._malloc(B * 4), po = M._malloc(x.length * 4);
  M.HEAPF32.set(x, px / 4), M.HEAPF32.set(t, pt / 4), M.HEAP32.set(cls, pc / 4);
  // the argument lengths go to C before each call, as web/api.js sends them (handle, x, t, cls, B, out)
  const pl = M._malloc(6 * 4);
  M.HEAP32.set([-1, x.length, B, B, -1, x.length], pl / 4);
  return {
    run() {
      if (M._ds_api_bounds(pl, 6) < 0 || M._ds_api_model_forward(handle, px, pt, pc, B, po) < 0)
        throw new Error(M.UTF8ToString(M._ds_api_last_error()));
    },
    output: () => new Float32Array(M.HEAPF32.buffer, po, x.length).slice(),
    free: () => [px, pt, pc, po, pl].forEach((p) => M._free(p)),
  };
}

function ortRunner(session, B) {
  const { x, t, cls } = inputs(B);
  const feeds = {
    x: new ort.Tensor('float32', x, [B, 1, 28, 28]),
    t: new ort.Tensor('float32', t, [B]),
    cls: new ort.Tensor('int64', BigInt64Array.from(cls, (c) => BigInt(c)), [B]),
  };
  let last = null;
  return {
    async run() {
      last = await session.run(feeds);
    },
    output: () => last.eps.data,
  };
}

// Median ms per call of several runners, interleaved so that a busy spell hits all alike.
async function timeInterleaved(runners, seconds) {
  // warm-up: V8 first runs wasm in its baseline tier and optimises hot functions in the
  // background, which takes a while on a busy machine; time only once that is done
  for (const r of runners) {
    const t0 = performance.now();
    for (let i = 0; i < 3 || performance.now() - t0 < WARMUP_MS; i++) await r.run();
  }
  const per = runners.map(() => []);
  for (let rep = 0; rep < REPEATS; rep++) {
    for (let k = 0; k < runners.length; k++) {
      let runs = 0;
      const t0 = performance.now();
      let dt;
      do {
        await runners[k].run();
        runs++;
        dt = performance.now() - t0;
      } while (dt < (seconds * 1000) / REPEATS / runners.length || runs < 2);
      per[k].push(dt / runs);
    }
  }
  return per; // ms per call of each repeat, per runner
}

// The whole WASM forward at batch 1, layer by layer (each layer's fastest call), against the peak:
// where the time goes, and which layers run far below what the vector unit can do.
function layerProfile(M, handle, seconds, peak) {
  const cap = 256;
  call(M, 'bench_unet_layers', [handle, 1, 0.05, cap], [['recs', 'bench_layer', cap]]); // warm-up (baseline tier)
  const res = call(M, 'bench_unet_layers', [handle, 1, Math.max(0.1, seconds / 2), cap], [['recs', 'bench_layer', cap]]);
  const layers = res.outs[0].slice(0, res.ret);
  const total = layers.reduce((a, l) => a + l.ms, 0);
  console.log(`\nthe WASM forward layer by layer, batch 1 (each layer's fastest call; sum ${fmt(total, 3)} ms): ` +
    'block, layer, cin -> cout, size, kernel, ms, share of the sum, GFLOP/s executed, % of the simd128 peak');
  const byKind = new Map();
  let convMs = 0, convFlop = 0;
  for (const l of layers) {
    const gf = l.mflop_executed / l.ms; // MFLOP / ms = GFLOP/s
    const kernel = l.k ? `${l.k}x${l.k}/${l.stride}` : '';
    console.log(`  ${(l.block < 0 ? '' : 'b' + l.block).padStart(3)}  ${l.kind.padEnd(8)}  ${String(l.cin).padStart(3)} -> ${String(l.cout).padStart(3)}` +
      `  ${String(l.size).padStart(2)}x${String(l.size).padEnd(2)}  ${kernel.padEnd(5)}  ${fmt(l.ms, 4).padStart(7)} ms  ${fmt((100 * l.ms) / total, 1).padStart(5)}%` +
      `  ${fmt(gf).padStart(6)} GFLOP/s  ${fmt((100 * gf) / peak, 0).padStart(3)}%`);
    const k = byKind.get(l.kind) ?? { ms: 0, mflop: 0, n: 0 };
    byKind.set(l.kind, { ms: k.ms + l.ms, mflop: k.mflop + l.mflop_executed, n: k.n + 1 });
    if (l.kind === 'conv' || l.kind === 'winograd') (convMs += l.ms), (convFlop += l.mflop_executed);
  }
  console.log('  by kind: ' + [...byKind].sort((a, b) => b[1].ms - a[1].ms)
    .map(([kind, k]) => `${kind} ${fmt(k.ms, 3)} ms (${fmt((100 * k.ms) / total, 0)}%, ${k.n}x, ${fmt((100 * k.mflop) / k.ms / peak, 0)}% of peak)`).join('; '));
  return { convShare: convFlop / convMs / peak };
}

async function weightsFile(opt, M, tmp) {
  const file = opt.weights ?? path.join(ROOT, 'weights', 'fashion-unet.dsw');
  if (opt.weights || fs.existsSync(file)) return { file, label: path.relative(ROOT, path.resolve(file)) };
  const handle = call(M, 'model_random', ['unet', new Int32Array(12), 0, 1]).ret;
  const size = call(M, 'model_save', [handle, 'f32', 0, null]).ret;
  const out = path.join(tmp, 'random-unet.dsw');
  fs.writeFileSync(out, call(M, 'model_save', [handle, 'f32', size], [['u8', size]]).outs[0]);
  call(M, 'free', [handle]);
  return { file: out, label: 'random UNet, default config, seed 1 (weights/fashion-unet.dsw not found)' };
}

async function browserFigures(weightsPath) {
  const { openBrowser } = await import('../tests/browser/browser.mjs');
  const b = await openBrowser();
  try {
    const page = await b.newPage();
    if (process.env.DS_DEBUG) {
      page.on('console', (m) => console.error('page: ' + m.text()));
      page.on('response', (r) => r.status() >= 400 && console.error(`page: HTTP ${r.status()} ${r.url()}`));
    }
    await page.goto(b.url + 'examples/bench.html' + (weightsPath ? '?weights=' + encodeURIComponent(weightsPath) : ''));
    await page.waitForFunction(() => window.benchResult, null, { timeout: 120000 });
    const result = await page.evaluate(() => window.benchResult);
    if (result.error) throw new Error('in Chromium: ' + result.error);
    return result;
  } finally {
    await b.close();
  }
}

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diffuscope-bench-'));
  try {
    const M = await loadModule('simd');
    const w = await weightsFile(opt, M, tmp);
    const bytes = new Uint8Array(fs.readFileSync(w.file));
    const handle = call(M, 'model_load', [bytes, bytes.length]).ret;
    const info = call(M, 'model_info', [handle], [['rec', 'model_info']]).outs[0];
    if (info.kind !== 'unet') throw new Error(`${w.file} is not a UNet`);
    const mflop = info.mflop;
    console.log(`network: ${w.label}: ${info.params.toLocaleString('en')} parameters, ${fmt(mflop, 1)} MFLOP per image`);
    console.log(`machine: ${machine()}`);
    console.log(`start: ${load()}; node ${process.version}`);

    // onnxruntime-web on the exported graph
    const onnxPath = path.join(tmp, 'unet.onnx');
    execFileSync('/usr/bin/python3', [path.join(ROOT, 'tools', 'export_onnx.py'), w.file, onnxPath], { stdio: 'inherit' });
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.simd = true;
    const session = await ort.InferenceSession.create(fs.readFileSync(onnxPath), { executionProviders: ['wasm'] });

    // 1. same computation: outputs must agree
    const check = { ours: oursRunner(M, handle, 16), ort: ortRunner(session, 16) };
    check.ours.run();
    await check.ort.run();
    const a = check.ours.output(), o = check.ort.output();
    let diff = 0, scale = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - o[i])), (scale = Math.max(scale, Math.abs(a[i])));
    check.ours.free();
    console.log(`\noutput check (batch 16): max |ours - onnxruntime| = ${diff.toExponential(2)} (max |eps| ${fmt(scale, 3)})`);
    if (!(diff <= 1e-3)) throw new Error('onnxruntime and our engine disagree: the export or the engine is wrong');

    // 2. whole forward
    let native = null;
    if (opt.native) {
      if (!fs.existsSync(CLI)) console.log(`(no native CLI at ${CLI}: build it or set DS_BUILD_DIR; skipping native)`);
      else native = JSON.parse(execFileSync(CLI, ['bench', w.file, '--json', '--seconds', String(opt.seconds)], { encoding: 'utf8' }));
    }
    console.log(`\nforward pass, one thread: ms per image, median (min-max) of ${REPEATS} interleaved repeats; ` +
      'the ratio per repeat pair; native: median of its own repeats');
    console.log('batch | ours WASM SIMD ms/img      | onnxruntime-web ms/img     | native ms/img | ours GFLOP/s | ort GFLOP/s | ours vs ort (per repeat)  | native vs ours');
    const rows = [];
    for (const B of BATCHES) {
      const ours = oursRunner(M, handle, B);
      const [msOurs, msOrt] = await timeInterleaved([ours, ortRunner(session, B)], opt.seconds);
      ours.free();
      const nat = native?.forward.find((f) => f.batch === B);
      const perImg = (v) => v.map((ms) => ms / B);
      const row = { B, ours: median(msOurs) / B, ort: median(msOrt) / B, native: nat ? nat.ms_per_image : NaN,
                    ratios: msOrt.map((o, i) => o / msOurs[i]) };
      rows.push(row);
      console.log(`${String(B).padStart(5)} | ${spread(perImg(msOurs)).padEnd(26)} | ${spread(perImg(msOrt)).padEnd(26)} | ` +
        `${fmt(row.native).padStart(13)} | ${fmt(mflop / row.ours).padStart(12)} | ${fmt(mflop / row.ort).padStart(11)} | ` +
        `${spread(row.ratios, 2, 'x').padEnd(25)} | ${(fmt(row.ours / row.native) + 'x').padStart(14)}`);
    }

    // 3. simd128 peak and conv layers
    // the first call runs in V8's baseline tier (no on-stack replacement in wasm): warm-up
    call(M, 'bench_peak', [0.05], [['rec', 'bench_peak']]);
    const peak = call(M, 'bench_peak', [Math.min(2, opt.seconds)], [['rec', 'bench_peak']]).outs[0].gflops;
    call(M, 'bench_unet_convs', [handle, 1, 0.02, 64], [['recs', 'bench_conv', 64]]); // warm-up, as above
    const convRows = call(M, 'bench_unet_convs', [handle, 1, Math.max(0.02, opt.seconds / 40), 64], [['recs', 'bench_conv', 64]]);
    console.log(`\nsimd128 peak (12 independent f32x4 mul+add chains): ${fmt(peak)} GFLOP/s` +
      (native ? `; native SSE peak ${fmt(native.peak_gflops)} GFLOP/s` : ''));
    console.log('conv layers in WASM, batch 1 (fastest call, like the peak): cin -> cout, size, kernel/stride, algorithm, ms,\n' +
      'GFLOP/s counted as a direct conv, GFLOP/s of the arithmetic executed (Winograd: its GEMMs + transforms), that as % of peak');
    let flop = 0, done = 0, ms = 0;
    for (let r = 0; r < convRows.ret; r++) {
      const { cin, size, cout, k, stride, ms: msr, gflops: gf, mflop: mf, winograd: wino, mflop_executed: mfDone } = convRows.outs[0][r];
      flop += mf, (done += mfDone), (ms += msr);
      console.log(`  ${String(cin).padStart(3)} -> ${String(cout).padStart(3)}  ${String(size).padStart(2)}x${String(size).padEnd(2)}  ${k}x${k}/${stride}` +
        `  ${(wino ? 'winograd' : 'direct').padEnd(8)}  ${fmt(msr, 3).padStart(7)} ms  ${fmt(gf).padStart(6)} GFLOP/s` +
        `  ${fmt(mfDone / msr).padStart(6)} GFLOP/s  ${fmt((100 * mfDone) / msr / peak, 0).padStart(3)}%`);
    }
    console.log(`  all convs: ${fmt(ms, 3)} ms per image, ${fmt(flop / ms)} GFLOP/s as direct convs, ` +
      `${fmt(done / ms)} GFLOP/s executed = ${fmt((100 * done) / ms / peak, 0)}% of the simd128 peak`);
    const profile = layerProfile(M, handle, opt.seconds, peak);

    // 4. Chromium: sampling time and workers
    let browser = null;
    if (opt.browser) {
      const rel = path.relative(ROOT, w.file);
      browser = await browserFigures(rel.startsWith('..') || path.isAbsolute(rel) ? null : rel);
      console.log(`\nChromium (web/examples/bench.html, ${browser.cores} hardware threads reported)`);
      console.log(`  20-step DDIM, 1 image, 1 worker: ${fmt(browser.ddimMs, 0)} ms (median of ${browser.ddimRuns})`);
      console.log(`  16-image forward: 1 worker ${fmt(browser.pool1Ms, 1)} ms, 2 workers ${fmt(browser.pool2Ms, 1)} ms: ${fmt(browser.pool1Ms / browser.pool2Ms)}x`);
      console.log(`  pooled output equals single-worker output: ${browser.poolEqual}`);
      console.log(`  relaxed SIMD: Emscripten 3.1.6's f32x4.fma (prototype opcode) validates: ${browser.relaxedValid}; ` +
        `the standard relaxed_madd validates: ${browser.relaxedStandardValid}`);
    }

    console.log('\ntargets');
    const b1 = rows.find((r) => r.B === 1), b16 = rows.find((r) => r.B === 16);
    const line = (ok, text) => console.log(`  [${ok ? 'met' : 'MISSED'}] ${text}`);
    const worst = (r) => Math.min(...r.ratios);
    line(worst(b1) >= 2.5, `WASM vs onnxruntime-web, batch 1: ${spread(b1.ratios, 2, 'x')}, worst repeat >= 2.5x`);
    line(worst(b16) >= 2.2, `WASM vs onnxruntime-web, batch 16: ${spread(b16.ratios, 2, 'x')}, worst repeat >= 2.2x`);
    line(done / ms / peak >= 0.6, `conv layers execute at ${fmt((100 * done) / ms / peak, 0)}% of the simd128 peak (>= 60%)`);
    line(profile.convShare >= 0.6, `convs in the profiled forward: ${fmt(100 * profile.convShare, 0)}% of the simd128 peak (>= 60%)`);
    if (browser) {
      line(browser.pool1Ms / browser.pool2Ms >= 1.8, `2 workers on 16 images: ${fmt(browser.pool1Ms / browser.pool2Ms)}x one worker (>= 1.8x)`);
      line(browser.ddimMs <= 100, `20-step DDIM of one image in Chromium: ${fmt(browser.ddimMs, 0)} ms (<= 100 ms)`);
    }
    console.log(`\nend: ${load()}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error('bench_wasm: ' + (err && err.message ? err.message : err));
  if (process.env.DS_DEBUG) console.error(err.stack);
  process.exit(1);
});
