// core.js — what every widget shares: the engine (the WebAssembly module running in a Web
// Worker, SIMD build where supported, scalar otherwise), the custom-element base class, and
// small DOM/canvas helpers. Pages include diffuscope.js, which imports this and the widgets.
// Widgets call engine functions by name and draw; all the computing happens in C.

const BASE = new URL('./', import.meta.url);

// The smallest module that uses a v128 instruction; validate() says whether SIMD is there.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

export const support = {
  wasm: typeof WebAssembly === 'object' && typeof WebAssembly.validate === 'function',
  get simd() {
    return this.wasm && WebAssembly.validate(SIMD_PROBE);
  },
};

class Engine {
  constructor(options = {}) {
    this.simd = options.simd ?? support.simd;
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    this.pending = new Map();
    this.nextId = 1;
    this.calls = 0;
    this.worker.onmessage = (e) => {
      const p = this.pending.get(e.data.id);
      if (!p) return;
      this.pending.delete(e.data.id);
      if (e.data.ok) p.resolve(e.data);
      else p.reject(new Error(e.data.error));
    };
    this.worker.onerror = (e) => {
      const err = new Error('the Diffuscope worker failed: ' + (e.message || 'unknown error'));
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    // the module's description (enums, records, functions: web/api.js), once per worker
    this.ready = this.post({ type: 'init', simd: this.simd, base: BASE.href }).then((r) => {
      this.description = r.info.description;
      return r.info;
    });
  }
  post(msg, transfer = []) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...msg }, transfer);
    });
  }
  // Calls the face's function `fn` (src/wasm_api.h, without the ds_api_ prefix). args:
  // numbers, enum names, typed arrays (copied in); outs: output specs appended to the
  // arguments (web/api.js: ['f32', n], ['rec', 'model_info'], ...). Resolves {ret, outs}
  // with records as objects keyed by field name; rejects with the C library's message.
  async call(fn, args = [], outs = []) {
    this.calls++; // worker round trips, for measuring (the points widget reports its own)
    await this.ready;
    return this.post({ type: 'call', fn, args, outs });
  }
  terminate() {
    this.worker.terminate();
  }
}

let sharedEngine = null;
export function getEngine() {
  if (!support.wasm) return Promise.reject(new Error('This widget needs WebAssembly, which this browser does not support.'));
  sharedEngine ??= new Engine();
  return sharedEngine.ready.then(() => sharedEngine);
}
export { Engine };

// ---- several engines for one batch (no SharedArrayBuffer needed) ----
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
    for (const e of this.engines) if (e !== sharedEngine) e.terminate();
  }
}

// A pool of n workers (capped at navigator.hardwareConcurrency, at least 1); worker 0 is the
// shared engine, so a pool of 1 costs nothing extra. Pools are cached by size.
const pools = new Map();
export function getEnginePool(n = navigator.hardwareConcurrency || 1) {
  if (!support.wasm) return Promise.reject(new Error('This widget needs WebAssembly, which this browser does not support.'));
  const size = Math.max(1, Math.min(Math.floor(n) || 1, navigator.hardwareConcurrency || 1));
  if (!pools.has(size)) {
    sharedEngine ??= new Engine();
    const engines = [sharedEngine];
    for (let i = 1; i < size; i++) engines.push(new Engine());
    pools.set(size, new EnginePool(engines));
  }
  const pool = pools.get(size);
  return pool.ready.then(() => pool);
}
export { EnginePool };

// ---- the custom-element base ----

function ensureStylesheet() {
  if (document.querySelector('link[data-diffuscope]')) return;
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = new URL('./diffuscope.css', import.meta.url).href;
  link.dataset.diffuscope = '';
  document.head.appendChild(link);
}

// h('div', {class: 'x', 'aria-label': 'y'}, child, 'text') — builds DOM without innerHTML, so
// attribute values and strings are always treated as text, never as markup.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v == null) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c != null) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

export class DiffuscopeElement extends HTMLElement {
  connectedCallback() {
    if (this._built) return;
    this._built = true;
    ensureStylesheet();
    this.classList.add('ds-widget');
    this.status = h('p', { class: 'ds-status', role: 'status', 'aria-live': 'polite' });
    this.append(this.status);
    if (!support.wasm) return this.showError('This widget needs WebAssembly, which this browser does not support.');
    if (!support.simd)
      this.prepend(h('p', { class: 'ds-status ds-notice ds-simd-notice' }, 'WebAssembly SIMD is not supported here: using the scalar build, which is slower.'));
    try {
      this.build();
    } catch (err) {
      this.showError(err.message);
    }
  }
  // Subclasses: build() creates the DOM; engine() gives the shared engine.
  build() {}
  engine() {
    return getEngine();
  }
  showError(message) {
    this.status.textContent = message;
    this.status.className = 'ds-status ds-error';
  }
  showNotice(message) {
    this.status.textContent = message;
    this.status.className = 'ds-status ds-notice';
  }
  // A bad attribute stays visible (the transient status line is reused for progress).
  attributeError(message) {
    this.prepend(h('p', { class: 'ds-status ds-error ds-attr-error', role: 'alert' }, message));
  }
  clearStatus() {
    this.status.textContent = '';
    this.status.className = 'ds-status';
  }
  // A name from a fixed list (sampler, schedule, shape...): anything else gives the default
  // and a visible message, never a silent substitute.
  choiceAttr(name, choices, fallback) {
    const raw = this.getAttribute(name);
    if (raw == null || raw === '') return fallback;
    if (choices.includes(raw)) return raw;
    this.attributeError(`attribute ${name}="${raw}" must be one of ${choices.join(', ')}; using ${fallback}`);
    return fallback;
  }
  // A numeric attribute, validated: a bad value gives the default and a visible message.
  numberAttr(name, fallback, lo = -Infinity, hi = Infinity) {
    const raw = this.getAttribute(name);
    if (raw == null || raw === '') return fallback;
    const v = Number(raw);
    if (!Number.isFinite(v) || v < lo || v > hi) {
      this.attributeError(`attribute ${name}="${raw}" must be a number between ${lo} and ${hi}; using ${fallback}`);
      return fallback;
    }
    return v;
  }
}

// A canvas that keeps its backing store at device resolution; draw in CSS pixels.
export function hiDpiCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || canvas.width, hgt = canvas.clientHeight || canvas.height;
  canvas.width = Math.round(w * ratio);
  canvas.height = Math.round(hgt * ratio);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return { ctx, width: w, height: hgt };
}

export function cssVar(el, name, fallback) {
  return getComputedStyle(el).getPropertyValue(name).trim() || fallback;
}
