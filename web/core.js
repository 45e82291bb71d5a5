// core.js — what every widget shares: the engine (the WebAssembly module running in a Web
// Worker, SIMD build where supported, scalar otherwise), the custom-element base class, and
// small DOM and file helpers. Pages include diffuscope.js, which imports this and the widgets.
// Widgets call engine functions by name and draw; all the computing happens in C.
// Lifecycle: a widget removed from the page stops its work and frees its engine handles
// (suspend), and starts again when put back (resume); attributes stay live after connect.
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

let simdSupported = null;
export const support = {
  wasm: typeof WebAssembly === 'object' && typeof WebAssembly.validate === 'function',
  // validated once: every widget asks as it connects, and each validate took 2-10 ms of a cold load
  get simd() {
    return (simdSupported ??= this.wasm && WebAssembly.validate(SIMD_PROBE));
  },
};

// One worker and its module. Calls queue here, not in the worker: one is in the worker at a time,
// and the next is taken from the caller (each widget is a lane, engine.lane(el)) served least
// recently, a widget on screen before one scrolled away. Six playing samplers take turns, and
// a slider's call from a widget that was idle goes next, behind only the call in the worker.
class Engine {
  constructor(options = {}) {
    this.simd = options.simd ?? support.simd;
    this.createdAt = performance.now(); // page ms, for the load timeline (tests/browser/many.test.mjs)
    // the name says which build to compile (and whether to warm it), so the worker starts on it
    // before init arrives (worker.js)
    const name = options.module ? 'diffuscope' : `diffuscope ${this.simd ? 'simd' : 'scalar'}${options.warm ? ' warm' : ''}`;
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name });
    this.pending = new Map(); // id -> {resolve, reject}: the call in the worker (and init)
    this.queues = new Map(); // lane owner (a widget, or DIRECT) -> [calls waiting]
    this.busy = false; // a call is in the worker
    this.lanes = new WeakMap(); // widget -> its lane
    this.served = new WeakMap(); // lane owner -> when its last call was sent (a count of sends)
    this.sends = 0;
    this.models = new Map(); // weights URL -> {refs, loading: Promise<{handle, info}>}
    this.nextId = 1;
    this.calls = 0;
    this.memory = 0; // the module's memory in bytes, as the last reply said
    this.worker.onmessage = (e) => {
      const id = e.data.early ? this.initId : e.data.id; // early: the init reply, sent unasked (worker.js)
      const p = this.pending.get(id);
      if (!p) return; // (the asked-for init reply, after an early one)
      this.pending.delete(id);
      if (e.data.memory) this.memory = e.data.memory;
      if (e.data.ok) p.resolve(e.data);
      else p.reject(Object.assign(new Error(e.data.error), e.data.results ? { results: e.data.results } : {}));
    };
    this.worker.onerror = (e) => {
      const err = new Error('the Diffuscope worker failed: ' + (e.message || 'unknown error'));
      this.failure = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      for (const queue of this.queues.values()) for (const c of queue) c.reject(err);
      this.queues.clear();
    };
    // the module's description (enums, records, functions: web/api.js), once per worker;
    // info also says how the module was compiled (streaming, whole, or shared: options.module,
    // another engine's compiled module, only instantiated here) and when it was ready
    const init = (module) => {
      this.initId = this.nextId; // the id post gives it, which a named worker's early reply stands for
      return this.post({ type: 'init', simd: this.simd, ...(module ? { module } : {}) });
    };
    const inited = options.module
      ? options.module.then((m) => init(m), () => init(null)) // that engine failed: compile our own
      : init(null);
    this.ready = inited.then((r) => {
      this.description = r.info.description;
      this.memory = r.info.memory;
      this.info = r.info;
      return r.info;
    });
    // the compiled module, for another engine of the same build (rejects if this one fails)
    this.module = inited.then((r) => r.module);
    this.module.catch(() => {});
  }
  post(msg, transfer = []) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...msg }, transfer);
    });
  }
  // The calls of `owner` (a widget) as an engine of their own: the same module, models and
  // handles; only the queue knows whose call it is. A lane is the engine with call() marked.
  lane(owner) {
    let lane = this.lanes.get(owner);
    if (!lane) {
      // writable, so a page (or a test) can wrap a lane's call to time it
      lane = Object.create(this, {
        call: { value: (fn, args, outs) => this.call(fn, args, outs, owner), writable: true },
        callAll: { value: (list) => this.callAll(list, owner), writable: true },
        makeAll: { value: (list) => this.makeAll(list, owner), writable: true },
      });
      this.lanes.set(owner, lane);
      watchScreen(owner);
    }
    return lane;
  }
  // Sends the next queued call when the worker is free: of the lanes whose widget is on screen
  // (or of all, if none is), the one served least recently.
  pump() {
    if (this.busy || !this.queues.size) return;
    let owner = null, best = Infinity, bestOn = false;
    for (const o of this.queues.keys()) {
      const on = isOnScreen(o), served = this.served.get(o) ?? 0;
      if ((on && !bestOn) || (on === bestOn && served < best)) [owner, best, bestOn] = [o, served, on];
    }
    this.served.set(owner, ++this.sends);
    const queue = this.queues.get(owner), c = queue.shift();
    if (!queue.length) this.queues.delete(owner);
    this.busy = true;
    const done = () => {
      this.busy = false;
      this.pump();
    };
    this.post(c.msg).then((r) => (done(), c.resolve(r)), (err) => (done(), c.reject(err)));
  }
  // Calls the face's function `fn` (src/wasm_api.h, without the ds_api_ prefix). args:
  // numbers, enum names, typed arrays (copied in); outs: output specs appended to the
  // arguments (web/api.js: ['f32', n], ['rec', 'model_info'], ...). Resolves {ret, outs}
  // with records as objects keyed by field name; rejects with the C library's message.
  // owner: whose call it is, for the queue's order (a lane passes its widget).
  async call(fn, args = [], outs = [], owner = DIRECT) {
    return this.send({ type: 'call', fn, args, outs }, owner);
  }
  // Several calls in one round trip, in order: list [[fn, args, outs], ...]; an argument
  // {ret: i} is call i's return value (a handle call 0 made, say). Resolves [{ret, outs}, ...];
  // a failure rejects with the first failing call's message and err.results, the results of
  // the calls before it (their handles are still to be freed). On a busy page each round trip
  // waits for the main thread to take the reply (50-100 ms on two cores while the article
  // loads), so a widget's chain of small calls is sent as one.
  async callAll(list, owner = DIRECT) {
    const r = await this.send({ type: 'calls', calls: list.map(([fn, args = [], outs = []]) => ({ fn, args, outs })) }, owner);
    return r.results;
  }
  // callAll for a batch whose call 0 makes the handle the others use (model_load + model_info,
  // sampler_new + its first frame): if a later call fails, that handle is freed before the
  // error goes on, so a caller holds a handle only when the whole batch worked.
  async makeAll(list, owner = DIRECT) {
    try {
      return await this.callAll(list, owner);
    } catch (err) {
      if (err.results?.length) this.call('free', [err.results[0].ret], [], owner).catch(() => {});
      throw err;
    }
  }
  async send(msg, owner) {
    this.calls++; // worker round trips, for measuring (the points widget reports its own)
    if (!this.description) await this.ready; // once ready, the call goes out before send returns
    if (this.failure) throw this.failure;
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(owner) ?? [];
      // a call that waits is sent later: its arrays are copied now, as sending at once would
      if (this.busy || this.queues.size) copyArrays(msg);
      queue.push({ msg, resolve, reject });
      if (queue.length === 1) this.queues.set(owner, queue);
      this.pump();
    });
  }
  // A weights file loaded once per URL however many widgets use it: resolves {handle, info}
  // (info: the model_info record). `want` ({kind: 'unet', image_size, channels} or {kind:
  // 'mlp', item_floats}) is checked against the file's header before its body is read, so
  // a file of another kind is refused without being downloaded (shared by URL and want, so
  // one widget's refusal is never another's). Every acquire needs one releaseModel(url,
  // want); the last release frees the model.
  acquireModel(url, want, onProgress = () => {}) {
    const key = modelKey(url, want);
    let entry = this.models.get(key);
    if (!entry) {
      entry = { refs: 0, loading: this.loadModel(url, want, onProgress) };
      this.models.set(key, entry);
      entry.loading.catch(() => this.models.get(key) === entry && this.models.delete(key)); // a failed load may be retried
    }
    entry.refs++;
    return entry.loading.catch((err) => {
      this.releaseModel(url, want);
      throw err;
    });
  }
  releaseModel(url, want) {
    const key = modelKey(url, want), entry = this.models.get(key);
    if (!entry || --entry.refs > 0) return;
    this.models.delete(key);
    entry.loading.then((model) => this.call('free', [model.handle])).catch(() => {});
  }
  // The download starts at once, beside the module's compilation; reading past the header
  // waits for the module, which checks the header.
  async loadModel(url, want, onProgress) {
    const headBytes = this.ready.then(() => this.description.limits.weights_header_bytes);
    headBytes.catch(() => {}); // a failed module fails the load through the header check, or the fetch failed first
    const bytes = await fetchBytes(url, onProgress, {
      headBytes,
      // the header says what the file holds and how long it is: refuse it before the body
      sizeFromHead: async (head) => {
        const peek = (await this.call('weights_peek', [head, head.length], [['rec', 'weights_peek']])).outs[0];
        checkWant(url, peek, want);
        if (peek.file_size > MAX_WEIGHTS_BYTES)
          throw new Error(`its header announces ${peek.file_size} bytes, more than the ${MAX_WEIGHTS_BYTES} a page reads`);
        return peek.file_size;
      },
    });
    const loaded = await this.makeAll([['model_load', [bytes, bytes.length]], ['model_info', [{ ret: 0 }], [['rec', 'model_info']]]]);
    const handle = loaded[0].ret, info = loaded[1].outs[0];
    info.class_names = [];
    if (info.n_class_names > 0) { // the file's own names (train --images writes the folder's)
      const n = (await this.call('model_class_names', [handle, 0, null])).ret;
      const names = (await this.call('model_class_names', [handle, n], [['u8', n]])).outs[0];
      info.class_names = new TextDecoder().decode(names).split('\n').slice(0, -1);
    }
    return { handle, info };
  }
  terminate() {
    this.worker.terminate();
  }
}

// a waiting message's typed-array arguments, copied (the caller may reuse its arrays)
const copyArgs = (args) => args.map((a) => (ArrayBuffer.isView(a) ? a.slice() : a));
function copyArrays(msg) {
  if (msg.args) msg.args = copyArgs(msg.args);
  for (const c of msg.calls ?? []) c.args = copyArgs(c.args);
}

// The owner of calls made on the engine itself, not through a widget's lane (pools, pages that
// script the engine): always counted as on screen.
const DIRECT = {};

const modelKey = (url, want) => `${url} ${JSON.stringify(want ?? null)}`;

// The most a page downloads for one weights file (the shipped ones are at most 1 MB).
const MAX_WEIGHTS_BYTES = 64 * 1024 * 1024;

// a model, or what a widget wants (a field absent: any value; an array: one of its values)
function describeModel(m) {
  if (m.kind === 'mlp') return `an MLP of ${m.item_floats}-D points`;
  const channels = [m.channels].flat(), size = m.image_size === undefined ? 'images of any size' : `${m.image_size}×${m.image_size} images`;
  return `a UNet of ${size} with ${channels.join(' or ')} channel${channels.length === 1 && channels[0] === 1 ? '' : 's'}`;
}

// Refuses a model (a model_info or weights_peek record) that is not what the widget draws.
function checkWant(url, m, want) {
  if (!want) return;
  const fits = (k) => k === 'kind' || (Array.isArray(want[k]) ? want[k].includes(m[k]) : m[k] === want[k]);
  const same = m.kind === want.kind && Object.keys(want).every(fits);
  if (!same) throw new Error(`${new URL(url, document.baseURI).pathname} holds ${describeModel(m)}; this widget needs ${describeModel(m.kind === want.kind ? { ...m, ...want } : want)}`);
}

export const NO_WASM = 'This widget needs WebAssembly, which this browser does not support.';

// The engine every widget shares, made on first use (also worker 0 of every pool, pool.js).
// Calls that answer in milliseconds (VI, schedules) go to a second worker of their own, the
// light lane, so they never wait behind samplers' UNet steps on the shared one.
let theEngine = null, lightEngine = null;
export function sharedEngine() {
  // warm: its worker runs a small UNet once the module is in (worker.js warmUp); the optimised
  // code belongs to the module, so the workers it is handed to (light engine, pools) run it too
  return (theEngine ??= new Engine({ warm: true }));
}
// The light engine instantiates the shared engine's module instead of compiling its own: on a
// 2-core machine two compiles at once delayed the first sampler image by a second.
const engineFor = (light) => (light ? (lightEngine ??= new Engine({ module: sharedEngine().module })) : sharedEngine());
export function getEngine({ light = false } = {}) {
  if (!support.wasm) return Promise.reject(new Error(NO_WASM));
  const engine = engineFor(light);
  return engine.ready.then(() => engine);
}
export { Engine };

// ---- on screen or not ----
// One IntersectionObserver for every widget that asks (every widget with an engine lane):
// playing work waits while its widget is scrolled out of view (whenOnScreen), and the
// engine's queue serves widgets on screen first (isOnScreen). Until the observer's first
// report, a widget counts as on screen for the queue, and whenOnScreen waits for that report
// (a widget just above the reader's place must not start a second-long call). A long call can
// also ask that its widget has stayed on screen a moment: while the article loads, its equations
// are typeset and the page reflows, so a widget next to the reader's place passes through view.
const screen = new WeakMap(); // element -> {on: bool, or null before the first report, since: ms it came on, waiters: [resolve]}
let screenObserver = null;
function watchScreen(el) {
  if (typeof IntersectionObserver === 'undefined' || !(el instanceof Element)) return null;
  let s = screen.get(el);
  if (s) return s;
  screenObserver ??= new IntersectionObserver((entries) => {
    for (const e of entries) {
      const w = screen.get(e.target);
      if (!w) continue; // let go of (removed) after this report was queued
      if (e.isIntersecting && !w.on) w.since = performance.now();
      w.on = e.isIntersecting;
      if (w.on) for (const resolve of w.waiters.splice(0)) resolve();
    }
  });
  screen.set(el, (s = { on: null, since: 0, waiters: [] }));
  screenObserver.observe(el);
  return s;
}
// A widget removed from the page: its waiting work wakes (to see that it was stopped) and the
// observer lets it go; put back, it is watched again.
function unwatchScreen(el) {
  for (const resolve of screen.get(el)?.waiters ?? []) resolve();
  screen.delete(el);
  screenObserver?.unobserve(el);
}
export function isOnScreen(el) {
  return screen.get(el)?.on ?? true;
}
// Resolves at once while el is on screen, else when it is scrolled back into view or removed
// from the page (the waiting work then sees that it was stopped). {settle: ms}: once el has been
// on screen for ms without leaving (for a call that holds the shared worker long).
export async function whenOnScreen(el, { settle = 0 } = {}) {
  for (;;) { // each pass looks again: removed, out of view, or back in view since a later time
    if (el instanceof Element && !el.isConnected) return; // removed: its work sees it was stopped
    const s = watchScreen(el);
    if (!s) return;
    if (s.on !== true) {
      await new Promise((resolve) => s.waiters.push(resolve));
      continue;
    }
    const left = settle - (performance.now() - s.since);
    if (left <= 0) return;
    await new Promise((resolve) => setTimeout(resolve, left));
  }
}

// Whether the reader asked for less motion: no autoplay then.
export function reducedMotion() {
  return typeof matchMedia === 'function' && matchMedia('(prefers-reduced-motion: reduce)').matches;
}

// customElements.define once per name: a page that includes the kit twice (two paths, two
// copies of every module) gets the first definition and no error.
export function defineElement(name, cls) {
  if (!customElements.get(name)) customElements.define(name, cls);
}

// The number typed into a control, in [lo, hi]; otherwise the control is marked invalid and the
// run stops with a message naming it (the widget shows it).
export function checkedInput(input, lo, hi) {
  const v = input.value.trim() === '' ? NaN : Number(input.value);
  const ok = Number.isFinite(v) && v >= lo && v <= hi;
  input.setAttribute('aria-invalid', String(!ok));
  if (!ok) throw new Error(`${input.name} must be a number between ${lo} and ${hi} (got "${input.value}")`);
  return v;
}

// An attribute value as a message quotes it: a long one is cut, with its length said.
export function shortValue(raw, max = 40) {
  const s = String(raw);
  return s.length <= max ? s : `${s.slice(0, max)}… (${s.length} characters)`;
}

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
  // Subclasses list their attributes (static attributeNames); a change after connect goes
  // through attributeUpdated(name) with the same checks the first read had.
  static get observedAttributes() {
    return this.attributeNames ?? [];
  }
  connectedCallback() {
    if (this._built) {
      if (this._suspended) {
        this._suspended = false;
        watchScreen(this);
        this.resume();
      }
      return;
    }
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
      this._ready = true;
    } catch (err) {
      this.showError(err.message);
    }
  }
  // A move within the page disconnects and reconnects at once: only a real removal suspends.
  disconnectedCallback() {
    queueMicrotask(() => {
      if (this.isConnected || !this._built || this._suspended) return;
      this._suspended = true;
      this.suspend();
      unwatchScreen(this);
    });
  }
  attributeChangedCallback(name, old, value) {
    if (!this._ready || old === value) return;
    this.querySelector(`:scope > .ds-attr-error[data-attr="${name}"]`)?.remove();
    try {
      this.attributeUpdated(name);
    } catch (err) {
      this.showError(err.message);
    }
  }
  // Subclasses: build() creates the DOM; suspend() stops timers and loops and frees engine
  // handles, resume() starts again; attributeUpdated(name) applies a changed attribute.
  // engine() gives this widget's lane of the shared engine (of the light one where the class
  // sets lightEngine), once the module is ready.
  build() {}
  suspend() {}
  resume() {}
  attributeUpdated() {}
  get suspended() {
    return !!this._suspended;
  }
  engine() {
    return getEngine({ light: !!this.constructor.lightEngine }).then((engine) => engine.lane(this));
  }
  // The same lane at once, before the module is ready (its calls and model loads wait for it,
  // so a weights download can start while the module compiles); no description yet.
  engineNow() {
    return engineFor(!!this.constructor.lightEngine).lane(this);
  }
  // Resolves at once while the widget is on screen, else when it is scrolled back into view
  // or removed from the page (the waiting loop then sees that it was stopped).
  onScreen() {
    return whenOnScreen(this);
  }
  showError(message) {
    this.status.textContent = message;
    this.status.className = 'ds-status ds-error';
  }
  showNotice(message) {
    this.status.textContent = message;
    this.status.className = 'ds-status ds-notice';
  }
  // A bad attribute stays visible (the transient status line is reused for progress), one
  // line per attribute: a new value replaces its line, a good one removes it.
  attributeError(message, name = '') {
    this.querySelector(`:scope > .ds-attr-error[data-attr="${name}"]`)?.remove();
    this.prepend(h('p', { class: 'ds-status ds-error ds-attr-error', role: 'alert', 'data-attr': name }, message));
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
    this.attributeError(`attribute ${name}="${shortValue(raw)}" must be one of ${choices.join(', ')}; using ${fallback}`, name);
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
  // An interval attribute "LO:HI" of whole numbers with lo <= LO <= HI <= hi: [LO, HI]; without
  // it, null; a bad value gives `fallback` and a visible message.
  intervalAttr(name, fallback, lo, hi) {
    const raw = this.getAttribute(name);
    if (raw == null || raw === '') return null;
    const m = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(raw), a = m && Number(m[1]), b = m && Number(m[2]);
    if (m && lo <= a && a <= b && b <= hi) return [a, b];
    this.attributeError(`attribute ${name}="${shortValue(raw)}" must be LO:HI, two whole numbers with ${lo} ≤ LO ≤ HI ≤ ${hi}; using ${fallback.join(':')}`, name);
    return fallback;
  }
  // A numeric attribute, validated: a bad value gives the default and a visible message.
  numberAttr(name, fallback, lo = -Infinity, hi = Infinity) {
    const raw = this.getAttribute(name);
    if (raw == null || raw === '') return fallback;
    const v = Number(raw);
    if (!Number.isFinite(v) || v < lo || v > hi) {
      this.attributeError(`attribute ${name}="${shortValue(raw)}" must be a number between ${lo} and ${hi}; using ${fallback}`, name);
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
// "could not load PATH (reason)", err.reason the reason alone and, for an HTTP error, err.status;
// err.content is set when the file arrived but is not what was asked for (header, size).
// The body is read as the browser gives it, decoded: with Content-Encoding (gzip) the
// Content-Length counts compressed bytes, so it is only a hint. options: maxBytes (refused
// beyond, before reading more), and for a file that announces its size: headBytes and
// sizeFromHead(first headBytes bytes) -> the file's size (or throws), checked before the rest
// is read; the body must then have exactly that size. headBytes may be a promise (the request
// goes out first; the body is read once it is known).
export async function fetchBytes(url, onProgress = () => {}, { maxBytes = MAX_FETCH_BYTES, headBytes = 0, sizeFromHead = null } = {}) {
  const where = new URL(url, document.baseURI);
  const fail = (reason, status, content = false) =>
    Object.assign(new Error(`could not load ${where.pathname} (${reason})`), { reason, status, content });
  let res;
  const blocked = [];
  const onViolation = (e) => blocked.push(e);
  document.addEventListener('securitypolicyviolation', onViolation);
  try {
    res = await fetch(url);
  } catch (err) {
    await new Promise((r) => setTimeout(r, 50)); // the violation report is queued after the rejection
    throw fail(fetchFailure(where, err, blocked));
  } finally {
    document.removeEventListener('securitypolicyviolation', onViolation);
  }
  if (!res.ok) throw fail(`HTTP ${res.status}`, res.status);
  const encoded = (res.headers.get('Content-Encoding') || 'identity') !== 'identity';
  const wire = Number(res.headers.get('Content-Length')) || 0;
  if (!encoded && wire > maxBytes) throw fail(`it is ${wire} bytes, more than the ${maxBytes} a page reads`, 0, true);
  if (!res.body) return new Uint8Array(await res.arrayBuffer()); // no stream: nothing to check early
  headBytes = await headBytes;
  const reader = res.body.getReader();
  const chunks = [];
  let got = 0, expected = sizeFromHead ? null : 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      got += value.length;
      if (expected === null && got >= headBytes) {
        try {
          expected = await sizeFromHead(join(chunks, headBytes));
        } catch (err) {
          throw fail(err.message, 0, true);
        }
      }
      const limit = expected || maxBytes;
      if (got > limit)
        throw fail(expected ? `the server sent more than the ${expected} bytes the file's header announces` : `more than the ${maxBytes} bytes a page reads`, 0, true);
      const total = expected || (!encoded && wire);
      if (total) onProgress(got / total);
    }
  } catch (err) {
    reader.cancel().catch(() => {});
    throw err;
  }
  if (expected === null) throw fail(`truncated: ${got} bytes, but the header alone takes ${headBytes}`, 0, true);
  if (expected && got !== expected) throw fail(`truncated: ${got} of the ${expected} bytes the file's header announces`, 0, true);
  return join(chunks, got);
}

const MAX_FETCH_BYTES = 64 * 1024 * 1024;

// The first n bytes of the chunks, as one array.
function join(chunks, n) {
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    if (at >= n) break;
    const part = c.subarray(0, n - at);
    out.set(part, at);
    at += part.length;
  }
  return out;
}

// Why a fetch failed, in words: the browser says only "Failed to fetch".
function fetchFailure(where, err, blocked) {
  if (blocked.some((e) => e.blockedURI && where.href.startsWith(e.blockedURI)))
    return `blocked by this page's Content-Security-Policy: its connect-src does not allow ${where.origin}`;
  if (where.origin !== location.origin)
    return `${where.origin} is another origin: the page's Content-Security-Policy (connect-src) and that server's CORS headers must both allow it, or the server is unreachable; ${err.message}`;
  return err.message;
}
