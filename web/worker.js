// worker.js — runs one Diffuscope WebAssembly module off the main thread.
//
// The page asks to call a function of the C face (src/wasm_api.h) by name; api.js checks the
// arguments against the module's own description, copies arrays in and out and decodes named
// records. The description goes back with the init reply, so the page knows the names too.
//
//   {id, type: 'init', simd: bool}               -> {id, ok, info: {simd, memory, description}}
//   {id, type: 'call', fn, args: [...], outs: [spec, ...]}   (specs: see api.js)
//                                                 -> {id, ok, ret, outs: [...], memory}
//   failures                                      -> {id, ok: false, error: 'message'}
import { Api } from './api.js';

let api = null;

// The two builds, named by literal paths beside this file: the form bundlers (Vite, webpack,
// Parcel) follow, so an npm install finds them as a static host does; only one is fetched.
const BUILDS = {
  simd: { name: 'diffuscope_simd', glue: () => import('./wasm/diffuscope_simd.js'), wasm: new URL('./wasm/diffuscope_simd.wasm', import.meta.url) },
  scalar: { name: 'diffuscope_scalar', glue: () => import('./wasm/diffuscope_scalar.js'), wasm: new URL('./wasm/diffuscope_scalar.wasm', import.meta.url) },
};

async function init({ simd }) {
  const { name, glue: loadGlue, wasm } = BUILDS[simd ? 'simd' : 'scalar'];
  const glue = await loadGlue();
  const response = await fetch(wasm);
  if (!response.ok) throw new Error(`could not load ${name}.wasm (HTTP ${response.status})`);
  api = new Api(await glue.default({ wasmBinary: await response.arrayBuffer() }));
  return { simd, memory: api.M.HEAPU8.length, description: api.description };
}

// the typed arrays among the outputs (records decode to plain objects), to transfer them
function buffers(outs) {
  return outs.filter((o) => ArrayBuffer.isView(o)).map((o) => o.buffer);
}

self.onmessage = async (event) => {
  const msg = event.data;
  try {
    if (msg.type === 'init') {
      self.postMessage({ id: msg.id, ok: true, info: await init(msg) });
    } else if (msg.type === 'call') {
      if (!api) throw new Error('module not initialised');
      const result = api.call(msg.fn, msg.args, msg.outs);
      result.memory = api.M.HEAPU8.length;
      self.postMessage({ id: msg.id, ok: true, ...result }, buffers(result.outs));
    } else {
      throw new Error('unknown message type ' + msg.type);
    }
  } catch (err) {
    self.postMessage({ id: msg.id, ok: false, error: String(err && err.message ? err.message : err) });
  }
};
