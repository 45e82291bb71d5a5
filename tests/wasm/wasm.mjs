// wasm.mjs — helpers for the Node tests of the WebAssembly build: load a module (SIMD or
// scalar) by handing it the wasm bytes, call exported functions with typed arrays the way
// the worker does, and run the native CLI for comparison.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// DS_BUILD_DIR / DS_WASM_DIR let several checkouts' builds coexist (default: build/, web/wasm/)
export const BUILD_DIR = process.env.DS_BUILD_DIR ? path.resolve(process.env.DS_BUILD_DIR) : path.join(ROOT, 'build');
export const WASM_DIR = process.env.DS_WASM_DIR ? path.resolve(process.env.DS_WASM_DIR) : path.join(ROOT, 'web', 'wasm');
export const CLI = path.join(BUILD_DIR, 'diffuscope');

export async function loadModule(variant = 'simd') {
  const base = path.join(WASM_DIR, `diffuscope_${variant}`);
  const glue = await import(pathToFileURL(base + '.js').href);
  return glue.default({ wasmBinary: fs.readFileSync(base + '.wasm') });
}

const KINDS = { f32: [Float32Array, 'HEAPF32', 4], f64: [Float64Array, 'HEAPF64', 8], u8: [Uint8Array, 'HEAPU8', 1], i32: [Int32Array, 'HEAP32', 4] };

// Same contract as web/worker.js: returns {ret, outs}; throws with ds_last_error() on ret < 0.
export function call(M, fn, args = [], outs = []) {
  const ptrs = [];
  try {
    const a = args.map((x) => {
      if (typeof x === 'number') return x;
      const kind = Object.values(KINDS).find(([C]) => x instanceof C);
      const p = M._malloc(Math.max(1, x.length * kind[2]));
      ptrs.push(p);
      M[kind[1]].set(x, p / kind[2]);
      return p;
    });
    const o = outs.map(([k, n]) => {
      const p = M._malloc(Math.max(1, n * KINDS[k][2]));
      ptrs.push(p);
      return p;
    });
    const ret = M['_' + fn](...a, ...o);
    if (ret < 0) throw new Error(M.UTF8ToString(M._ds_last_error()));
    return { ret, outs: outs.map(([k, n], i) => new KINDS[k][0](M[KINDS[k][1]].buffer, o[i], n).slice()) };
  } finally {
    ptrs.forEach((p) => M._free(p));
  }
}

export function cli(args, options = {}) {
  return execFileSync(CLI, args, { encoding: options.encoding ?? 'utf8', maxBuffer: 256 << 20, ...options });
}
export function cliJSON(args) {
  return JSON.parse(cli(args));
}

export function maxAbsDiff(a, b) {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
