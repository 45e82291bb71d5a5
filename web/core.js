// core.js — what every widget shares: the engine (the WebAssembly module running in a Web
// Worker, SIMD build where supported, scalar otherwise), the custom-element base class, and
// small DOM and file helpers. Pages include diffuscope.js, which imports this and the widgets.
// Widgets call engine functions by name and draw; all the computing happens in C.
// Not here: the worker pool (pool.js), drawing and number formats (plot.js).

import { VERSION } from './wasm/version.js';

const BASE = new URL(/* @vite-ignore */ './', import.meta.url);

// The kit's version (package.json's, written beside the modules by the build; `diffuscope
// --version` prints the same). Every widget also carries it as data-version.
export const version = VERSION;

// The noise schedules the engine knows, in C's order (a call takes the index).
export const SCHEDULES = ['linear', 'cosine'];

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
    this.ready = this.post({ type: 'init', simd: this.simd }).then((r) => {
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

export const NO_WASM = 'This widget needs WebAssembly, which this browser does not support.';

// The engine every widget shares, made on first use (also worker 0 of every pool, pool.js).
let theEngine = null;
export function sharedEngine() {
  return (theEngine ??= new Engine());
}
export function getEngine() {
  if (!support.wasm) return Promise.reject(new Error(NO_WASM));
  const engine = sharedEngine();
  return engine.ready.then(() => engine);
}
export { Engine };

// ---- the custom-element base ----

const STYLESHEET = new URL('./diffuscope.css', import.meta.url).href;

// The page gets diffuscope.css once, for its :root defaults of the --ds-* properties (they
// inherit into every widget); the widget rules in it apply inside each shadow root.
function ensureStylesheet() {
  if (document.querySelector('link[data-diffuscope]')) return;
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = STYLESHEET;
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

// A widget's DOM lives in its open shadow root, inside one <div class="ds-widget"
// part="widget">, so a theme's global rules (table, td, input, canvas, img, ...) cannot reach
// it; only inherited properties (reset on :host) and the --ds-* custom properties cross.
// append, prepend and querySelector(All) act on that div, so a widget is written as for a
// plain element: this.append(...), this.querySelector(...). Light-DOM children a page puts in
// the tag are not shown once the element is defined (a fallback for readers without scripts).
export class DiffuscopeElement extends HTMLElement {
  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    this.body = document.createElement('div');
    this.body.className = 'ds-widget';
    this.body.setAttribute('part', 'widget');
    // hidden until its styles load, so nothing unstyled flashes or gets measured unstyled
    this.body.style.visibility = 'hidden';
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = STYLESHEET;
    const show = () => this.body.style.removeProperty('visibility');
    link.addEventListener('load', show, { once: true });
    link.addEventListener('error', show, { once: true });
    root.append(link, this.body);
  }
  append(...nodes) {
    this.body.append(...nodes);
  }
  prepend(...nodes) {
    this.body.prepend(...nodes);
  }
  querySelector(selector) {
    return this.body.querySelector(selector);
  }
  querySelectorAll(selector) {
    return this.body.querySelectorAll(selector);
  }
  connectedCallback() {
    if (this._built) return;
    this._built = true;
    ensureStylesheet();
    this.dataset.version = version;
    this.status = h('p', { class: 'ds-status', role: 'status', 'aria-live': 'polite' });
    this.append(this.status);
    if (!support.wasm) return this.showError(NO_WASM);
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
  // A URL attribute, resolved against the page (as an <img src> is); without it, `fallback`
  // (assets.js: the kit's own file).
  urlAttr(name, fallback) {
    const v = this.getAttribute(name);
    return v ? new URL(v, document.baseURI).href : new URL(fallback, BASE).href;
  }
  // A folder URL attribute, resolved against the page, always ending in '/' (so "x/weights"
  // means the folder weights, not its parent); null without it.
  folderAttr(name) {
    const v = this.getAttribute(name);
    return v ? new URL(v.endsWith('/') ? v : v + '/', document.baseURI).href : null;
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

// A control with its caption above it (the sampler-style control rows).
export function labelled(text, control) {
  return h('label', { class: 'ds-field' }, h('span', {}, text), control);
}

// A labelled readout: its <output> (data-value = key) goes into outputs[key].
export function readoutCell(outputs, key, label) {
  return h('span', { class: 'ds-readout' }, label, ' ', (outputs[key] = h('output', { 'data-value': key }, '–')));
}

// Runs fn once, when el first comes near the viewport (heavy widgets start lazily).
export function whenVisible(el, fn) {
  if (typeof IntersectionObserver === 'undefined') return fn();
  const io = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) {
      io.disconnect();
      fn();
    }
  }, { rootMargin: '200px' });
  io.observe(el);
}

// Fetches a binary file, reporting progress (0..1) when the size is known. Fails with
// "could not load PATH (reason)", err.reason the reason alone and, for an HTTP error, err.status.
export async function fetchBytes(url, onProgress = () => {}) {
  const fail = (reason, status) =>
    Object.assign(new Error(`could not load ${new URL(url, document.baseURI).pathname} (${reason})`), { reason, status });
  let res;
  try {
    res = await fetch(url);
  } catch (err) {
    throw fail(err.message);
  }
  if (!res.ok) throw fail(`HTTP ${res.status}`, res.status);
  const total = Number(res.headers.get('Content-Length')) || 0;
  if (!res.body || !total) return new Uint8Array(await res.arrayBuffer());
  const out = new Uint8Array(total);
  const reader = res.body.getReader();
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (got + value.length > total) throw new Error('the server sent more bytes than it announced');
    out.set(value, got);
    got += value.length;
    onProgress(got / total);
  }
  return out.subarray(0, got);
}
