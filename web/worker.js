// worker.js — runs one Diffuscope WebAssembly module off the main thread.
//
// The protocol is deliberately dumb: the page asks to call an exported C function by name
// with numbers and typed arrays; the worker copies the arrays into the module's heap, calls,
// copies requested output buffers back, and frees everything. C functions return >= 0 on
// success (a value or a handle) and -1 on failure, with the message from ds_last_error().
//
//   {id, type: 'init', simd: bool, base: url}        -> {id, ok, info: {simd, memory}}
//   {id, type: 'call', fn, args: [...], outs: [[kind, length], ...]}
//                                                     -> {id, ok, ret, outs: [TypedArray...]}
//   failures                                          -> {id, ok: false, error: 'message'}

let M = null;

const KINDS = {
  f32: [Float32Array, 'HEAPF32', 4],
  f64: [Float64Array, 'HEAPF64', 8],
  u8: [Uint8Array, 'HEAPU8', 1],
  i32: [Int32Array, 'HEAP32', 4],
};

function kindOf(array) {
  for (const [name, [Ctor]] of Object.entries(KINDS)) if (array instanceof Ctor) return name;
  throw new Error('unsupported argument type ' + Object.prototype.toString.call(array));
}

async function init({ simd, base }) {
  const name = simd ? 'diffuscope_simd' : 'diffuscope_scalar';
  const glue = await import(new URL(`wasm/${name}.js`, base).href);
  const response = await fetch(new URL(`wasm/${name}.wasm`, base).href);
  if (!response.ok) throw new Error(`could not load ${name}.wasm (HTTP ${response.status})`);
  M = await glue.default({ wasmBinary: await response.arrayBuffer() });
  return { simd, memory: M.HEAPU8.length };
}

function call({ fn, args = [], outs = [] }) {
  if (!M) throw new Error('module not initialised');
  const f = M['_' + fn];
  if (typeof f !== 'function') throw new Error(`no exported function ${fn}`);
  const allocations = [];
  try {
    const callArgs = args.map((a, i) => {
      // NaN or ±Infinity would reach an int parameter as 0 and pass silently: refuse them here
      if (typeof a === 'number') {
        if (!Number.isFinite(a)) throw new Error(`${fn}: argument ${i + 1} is ${a}, not a finite number`);
        return a;
      }
      if (typeof a === 'boolean') return a ? 1 : 0;
      const [, heap, size] = KINDS[kindOf(a)];
      const ptr = M._malloc(Math.max(1, a.length * size));
      if (!ptr) throw new Error('out of WebAssembly memory');
      allocations.push(ptr);
      M[heap].set(a, ptr / size);
      return ptr;
    });
    const outPtrs = outs.map(([kind, length]) => {
      const [, , size] = KINDS[kind];
      const ptr = M._malloc(Math.max(1, length * size));
      if (!ptr) throw new Error('out of WebAssembly memory');
      allocations.push(ptr);
      return ptr;
    });
    M._ds_clear_error(); // a failure must report its own message, never a stale one
    const ret = f(...callArgs, ...outPtrs);
    if (ret < 0) throw new Error(M.UTF8ToString(M._ds_last_error()) || `${fn} failed`);
    // read the heap views only now: the call may have grown memory and replaced them
    const results = outs.map(([kind, length], i) => {
      const [Ctor, heap, size] = KINDS[kind];
      return new Ctor(M[heap].buffer, outPtrs[i], length).slice();
    });
    return { ret, outs: results };
  } finally {
    for (const p of allocations) M._free(p);
  }
}

self.onmessage = async (event) => {
  const msg = event.data;
  try {
    if (msg.type === 'init') {
      self.postMessage({ id: msg.id, ok: true, info: await init(msg) });
    } else if (msg.type === 'call') {
      const result = call(msg);
      result.memory = M.HEAPU8.length;
      self.postMessage({ id: msg.id, ok: true, ...result }, result.outs.map((a) => a.buffer));
    } else {
      throw new Error('unknown message type ' + msg.type);
    }
  } catch (err) {
    self.postMessage({ id: msg.id, ok: false, error: String(err && err.message ? err.message : err) });
  }
};
