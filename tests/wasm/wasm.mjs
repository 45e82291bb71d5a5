// wasm.mjs — helpers for the Node tests of the WebAssembly build: load a module (SIMD or
// scalar) by handing it the wasm bytes, call exported functions with typed arrays the way
// the worker does (through web/api.js, the worker's own marshalling), and run the native CLI.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Api } from '../../web/api.js';

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

// The worker's marshalling, the same module (web/api.js): one Api per loaded module.
const apis = new WeakMap();
export function api(M) {
  if (!apis.has(M)) apis.set(M, new Api(M));
  return apis.get(M);
}

// Same contract as web/worker.js: returns {ret, outs}; throws with ds_api_last_error() on ret < 0.
export function call(M, fn, args = [], outs = []) {
  return api(M).call(fn, args, outs);
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
