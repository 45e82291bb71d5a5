// worker.js — runs one Diffuscope WebAssembly module off the main thread.
//
// The page asks to call a function of the C face (src/wasm_api.h) by name; api.js checks the
// arguments against the module's own description, copies arrays in and out and decodes named
// records. The description goes back with the init reply, so the page knows the names too.
//
//   {id, type: 'init', simd: bool, module?}      -> {id, ok, info: {simd, compiled, readyAt, timeline, memory, description}, module}
//     (a worker named for its build also sends that reply unasked as it starts, with early: true)
//     (module: a WebAssembly.Module another worker compiled, so this one only instantiates it;
//     the reply carries the module this worker runs, for the next one)
//   {id, type: 'call', fn, args: [...], outs: [spec, ...]}   (specs: see api.js)
//                                                 -> {id, ok, ret, outs: [...], memory}
//   {id, type: 'calls', calls: [{fn, args, outs}, ...]}      (one round trip for several calls:
//     in order, an argument {ret: i} is call i's return value, e.g. the handle call 0 made)
//                                                 -> {id, ok, results: [{ret, outs}, ...], memory}
//   {id, type: 'diagnostics'}                    -> {id, ok, warm: {forwards, ms, error?} | null, timeline, memory}
//   failures                                      -> {id, ok: false, error: 'message'}
//     (of 'calls': the first that failed, named; results holds the calls before it, whose
//     handles the page must still free)
import { Api } from './api.js';

let api = null;
// wall-clock ms of the worker's start-up, for the page's load timeline (tests/browser/many.test.mjs):
// created (its global made), body (this module and api.js fetched and run), then init's steps
const now = () => performance.timeOrigin + performance.now();
const timeline = { created: performance.timeOrigin, body: now() };

// The two builds, named by literal paths beside this file: the form bundlers (Vite, webpack,
// Parcel) follow, so an npm install finds them as a static host does; only one is fetched.
const BUILDS = {
  simd: { name: 'diffuscope_simd', glue: () => import('./wasm/diffuscope_simd.js'), wasm: new URL('./wasm/diffuscope_simd.wasm', import.meta.url) },
  scalar: { name: 'diffuscope_scalar', glue: () => import('./wasm/diffuscope_scalar.js'), wasm: new URL('./wasm/diffuscope_scalar.wasm', import.meta.url) },
};

const quiet = (p) => (p.catch(() => {}), p); // a failure is init's to report, not an unhandled rejection

async function init({ simd, module: given }) {
  const { name, glue: loadGlue, wasm } = BUILDS[simd ? 'simd' : 'scalar'];
  // the glue's import and the module's download and compile run side by side
  timeline.init = now();
  const [glue, { module, compiled }] = await Promise.all([
    loadGlue().then((g) => ((timeline.glue = now()), g)),
    given ? { module: given, compiled: 'shared' } : compile(wasm, name).then((c) => ((timeline.compiled = now()), c)),
  ]);
  let fail;
  const failed = new Promise((_, reject) => (fail = reject));
  const M = await Promise.race([failed, glue.default({
    // the glue instantiates the module we compiled instead of fetching its own copy
    instantiateWasm(imports, receive) {
      WebAssembly.instantiate(module, imports).then((instance) => receive(instance, module), fail);
      return {};
    },
  })]);
  api = new Api(M);
  // readyAt: wall-clock ms, comparable with the page's performance.timeOrigin + now()
  return { module, info: { simd, compiled, readyAt: now(), timeline, memory: api.M.HEAPU8.length, description: api.description } };
}

// Forwards of a small random UNet with every part of the shipped one (3x3 convs by Winograd,
// 1x1 and stride-2 convs, GroupNorm+SiLU, the time and class embedding, the mid attention),
// as soon as the module runs. V8 first runs a module's functions as baseline code (Liftoff) and
// optimises (TurboFan), in the background, those that run hot; without this the reader's first
// sampling step ran the UNet in baseline code, 120 ms for 4 images instead of 15 (Chromium,
// Zen 5, a cold load of the article). Each call is a task of its own, so a message from the page
// waits for one forward at most. It frees what it made.
// ds_unet_config_from_ints: 28x28, base 8, mult 1 2 3, attention (base 16 cost the page 6 MiB
// more WebAssembly memory, one more growth step, with six samplers)
const WARM_UNET = [28, 1, 8, 3, 1, 2, 3, 0, 1, 8, 128, 10, 1];
let warmed = null; // how it went: {forwards, ms} or {error}, for 'diagnostics'
function warmUp() {
  warmed = { forwards: 0, ms: 0 };
  let h = null;
  const forward = (t, cls) => api.call('model_forward', [h, new Float32Array(784), Float32Array.of(t), Int32Array.of(cls), 1], [['f32', 784]]);
  const steps = [
    () => (h = api.call('model_random', ['unet', Int32Array.from(WARM_UNET), WARM_UNET.length, 1]).ret),
    () => forward(999, 0), () => forward(500, 10), () => forward(1, 3),
  ].map((step, i) => () => (step(), i && warmed.forwards++));
  const next = () => {
    const t0 = now();
    try {
      steps.shift()();
    } catch (err) {
      steps.length = 0; // a warm-up that fails changes nothing the page sees
      warmed.error = String(err && err.message ? err.message : err);
    }
    warmed.ms += now() - t0;
    if (steps.length) setTimeout(next, 0);
    else if (h !== null) api.call('free', [h]);
  };
  next();
}

// Compiles the module while it downloads (WebAssembly.compileStreaming), which needs the server
// to send it as application/wasm; from a host that sends another type (some blog hosts do), or
// in a browser without streaming, the whole file is read first and then compiled.
// Resolves {module, compiled: 'streaming' | 'whole'}.
async function compile(url, name) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not load ${name}.wasm (HTTP ${response.status})`);
  const type = (response.headers.get('Content-Type') || '').split(';')[0].trim().toLowerCase();
  if (type === 'application/wasm' && typeof WebAssembly.compileStreaming === 'function')
    return { module: await WebAssembly.compileStreaming(response), compiled: 'streaming' };
  return { module: await WebAssembly.compile(await response.arrayBuffer()), compiled: 'whole' };
}

// the typed arrays among the outputs (records decode to plain objects), to transfer them
function buffers(outs) {
  return outs.filter((o) => ArrayBuffer.isView(o)).map((o) => o.buffer);
}

// {ret: i} in a batch's arguments: the return value of the batch's call i, which came before
const isRef = (a) => a !== null && typeof a === 'object' && !ArrayBuffer.isView(a) && 'ret' in a;
function refValue(a, results, fn) {
  if (!Number.isInteger(a.ret) || a.ret < 0 || a.ret >= results.length) throw new Error(`${fn}: {ret: ${a.ret}} names no earlier call of the batch`);
  return results[a.ret].ret;
}

function replyReady(reply, { module, info }) {
  try {
    self.postMessage({ ...reply, ok: true, info, module });
  } catch { // a browser that cannot send a module: the next worker compiles its own
    self.postMessage({ ...reply, ok: true, info });
  }
}

// A worker whose name names a build ('diffuscope simd' or 'diffuscope scalar', then ' warm' for
// warmUp; core.js) starts it at once and says so unasked ({early: true, ...init's reply}), not
// waiting for the init message: on a cold load of the article (2 cores) the busy main thread
// passed that message on 150-260 ms after this script had run.
const named = /^diffuscope (simd|scalar)( warm)?$/.exec(self.name || '');
const started = named ? quiet(init({ simd: named[1] === 'simd' })) : null;
started?.then((ready) => {
  replyReady({ early: true }, ready);
  if (named[2]) warmUp(); // after the reply: its forwards run between the page's next messages
});

self.onmessage = async (event) => {
  const msg = event.data;
  try {
    if (msg.type === 'init') {
      const mine = started && !msg.module && msg.simd === (named[1] === 'simd');
      // a module from another worker that this one cannot instantiate: compile our own instead
      const ready = await (mine ? started : init(msg)).catch((err) => (msg.module ? init({ simd: msg.simd }) : Promise.reject(err)));
      replyReady({ id: msg.id }, ready);
    } else if (msg.type === 'diagnostics') { // for tests and curious pages: the start-up as it went
      self.postMessage({ id: msg.id, ok: true, warm: warmed, timeline, memory: api ? api.M.HEAPU8.length : 0 });
    } else if (msg.type === 'call') {
      if (!api) throw new Error('module not initialised');
      const result = api.call(msg.fn, msg.args, msg.outs);
      result.memory = api.M.HEAPU8.length;
      self.postMessage({ id: msg.id, ok: true, ...result }, buffers(result.outs));
    } else if (msg.type === 'calls') {
      if (!api) throw new Error('module not initialised');
      const results = [];
      for (const c of msg.calls) {
        try {
          const args = c.args.map((a) => (isRef(a) ? refValue(a, results, c.fn) : a));
          results.push(api.call(c.fn, args, c.outs));
        } catch (err) {
          const text = String(err && err.message ? err.message : err);
          const error = text.startsWith(`${c.fn}`) ? text : `${c.fn}: ${text}`; // name the call once
          self.postMessage({ id: msg.id, ok: false, error, results }, results.flatMap((r) => buffers(r.outs)));
          return;
        }
      }
      self.postMessage({ id: msg.id, ok: true, results, memory: api.M.HEAPU8.length }, results.flatMap((r) => buffers(r.outs)));
    } else {
      throw new Error('unknown message type ' + msg.type);
    }
  } catch (err) {
    self.postMessage({ id: msg.id, ok: false, error: String(err && err.message ? err.message : err) });
  }
};
