// pool.js — several engines for one batch: a pool of Web Workers, each with its own WebAssembly
// module instance (no SharedArrayBuffer, so no COOP/COEP headers needed). getEnginePool(n)
// gives one; worker 0 is the shared engine every widget uses (core.js).
// Not here: the engine itself and the worker protocol (core.js, worker.js).
import { Engine, support, sharedEngine, NO_WASM } from './core.js';

// Each worker holds its own module instance, so models must be loaded into every one
// (broadcast) and handles differ per worker. split() cuts a batch of B items into contiguous
// slices, one per worker, calls them at the same time, and returns the slices in order;
// join() concatenates one output of the slices. Items never interact in the engine, so the
// pooled result equals the single-worker one exactly.
class EnginePool {
  constructor(engines) {
    this.engines = engines;
    this.ready = Promise.all(engines.map((e) => e.ready));
  }
  get size() {
    return this.engines.length;
  }
  // The same call on every worker (e.g. model_load); resolves their results in order.
  async broadcast(fn, args = [], outs = []) {
    await this.ready;
    return Promise.all(this.engines.map((e) => e.call(fn, args, outs)));
  }
  // build(worker index, lo, hi) -> {fn, args, outs} for items lo..hi-1; resolves
  // [{ret, outs, lo, hi}, ...] in item order. At most min(size, B) workers take part.
  async split(B, build) {
    await this.ready;
    const n = Math.min(this.engines.length, B);
    const parts = [];
    for (let i = 0; i < n; i++) {
      const lo = Math.floor((B * i) / n), hi = Math.floor((B * (i + 1)) / n);
      const { fn, args = [], outs = [] } = build(i, lo, hi);
      parts.push(this.engines[i].call(fn, args, outs).then((r) => ({ ...r, lo, hi })));
    }
    return Promise.all(parts);
  }
  // Output k of every slice, concatenated in item order.
  static join(parts, k = 0) {
    const total = parts.reduce((s, p) => s + p.outs[k].length, 0);
    const out = new parts[0].outs[k].constructor(total);
    let at = 0;
    for (const p of parts) out.set(p.outs[k], at), (at += p.outs[k].length);
    return out;
  }
  // model_forward over the pool: handles[i] is the model's handle in worker i (from
  // broadcast('model_load', ...)); x (B, item), t (B), cls (B) -> eps (B, item).
  async forward(handles, x, t, cls, B, item) {
    const parts = await this.split(B, (i, lo, hi) => ({
      fn: 'model_forward',
      args: [handles[i], x.subarray(lo * item, hi * item), t.subarray(lo, hi), cls.subarray(lo, hi), hi - lo],
      outs: [['f32', (hi - lo) * item]],
    }));
    return EnginePool.join(parts);
  }
  terminate() {
    for (const e of this.engines) if (e !== sharedEngine()) e.terminate();
  }
}

// A pool of n workers (capped at navigator.hardwareConcurrency, at least 1); worker 0 is the
// shared engine, so a pool of 1 costs nothing extra. Pools are cached by size.
const pools = new Map();
export function getEnginePool(n = navigator.hardwareConcurrency || 1) {
  if (!support.wasm) return Promise.reject(new Error(NO_WASM));
  const size = Math.max(1, Math.min(Math.floor(n) || 1, navigator.hardwareConcurrency || 1));
  if (!pools.has(size)) {
    const engines = [sharedEngine()];
    for (let i = 1; i < size; i++) engines.push(new Engine({ module: engines[0].module })); // instantiated, not compiled again
    pools.set(size, new EnginePool(engines));
  }
  const pool = pools.get(size);
  return pool.ready.then(() => pool);
}
export { EnginePool };
