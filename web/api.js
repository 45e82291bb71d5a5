// api.js — the JavaScript side of the C face (src/wasm_api.h), the one copy: the worker
// (web/worker.js) and the Node tests (tests/wasm/wasm.mjs) both call the module through it.
//
// The module describes itself (ds_api_describe: enums, records, each function's parameter
// kinds), read once here. From then on a call sends names and reads names:
//   api.call('sampler_new', [model, 'linear', 'ddim', 20, 0, 1, 1, seed, B, cls], outs)
//   - a parameter that names an enum takes the name ('ddim'), never the id;
//   - int and handle parameters must be whole numbers (a fraction would be cut silently at
//     the WebAssembly boundary), double ones finite; the count must match;
//   - typed arrays are copied into the module's heap; outs are output buffers appended to
//     the arguments: ['f32' | 'f64' | 'u8' | 'i32', length], ['rec', name] (one record,
//     returned as an object keyed by field name), ['recs', name, n] (n of them, an array of
//     objects), ['rows', name, n] (a table of rows of n numbers, an object of arrays).
// Before each call the length of every array argument goes to C (ds_api_bounds), so every
// wrapper checks the arrays against what its objects need before touching them: a buffer
// sized for another model is refused with both sizes named, never read past or written past.
// Resolves {ret, outs}; throws with the C library's message (ds_api_last_error) when the
// function returns < 0.

const KINDS = {
  f32: [Float32Array, 'HEAPF32', 4],
  f64: [Float64Array, 'HEAPF64', 8],
  u8: [Uint8Array, 'HEAPU8', 1],
  i32: [Int32Array, 'HEAP32', 4],
};

function kindOf(array) {
  for (const [name, [Ctor]] of Object.entries(KINDS)) if (array instanceof Ctor) return name;
  return null;
}

export class Api {
  constructor(M) {
    this.M = M;
    this.description = JSON.parse(M.UTF8ToString(M._ds_api_describe()));
    this.prefix = this.description.prefix;
    this.enums = this.description.enums;
    this.records = this.description.records;
    this.functions = {};
    for (const [fn, spec] of Object.entries(this.description.functions)) this.functions[fn] = spec.split(',');
  }

  // name -> id of enum `enumName` (throws naming the choices)
  id(enumName, name) {
    const e = this.enums[enumName];
    if (!e) throw new Error(`no enum ${enumName}`);
    if (!Object.hasOwn(e, name)) throw new Error(`${JSON.stringify(name)} is not a ${enumName}: one of ${Object.keys(e).join(', ')}`);
    return e[name];
  }

  // id -> name of enum `enumName`
  name(enumName, id) {
    for (const [k, v] of Object.entries(this.enums[enumName])) if (v === id) return k;
    return `unknown ${enumName} ${id}`;
  }

  recordLength(name) {
    const r = this.records[name];
    if (!r) throw new Error(`no record ${name}`);
    return r.reduce((s, f) => s + f.count, 0);
  }

  // a record's numbers (at offset `at` of array) -> {field: value}
  decode(name, array, at = 0) {
    const out = {};
    for (const f of this.records[name]) {
      if (f.count > 1) out[f.name] = Array.from(array.subarray(at, at + f.count));
      else out[f.name] = f.enum ? this.name(f.enum, array[at]) : array[at];
      at += f.count;
    }
    return out;
  }

  // one argument, checked against its parameter kind, as what the C function receives
  argument(fn, i, kind, a, allocate) {
    const where = `${fn}: argument ${i + 1}`;
    if (kind.startsWith('e:')) {
      if (typeof a !== 'string') throw new Error(`${where} names a ${kind.slice(2)} (one of ${Object.keys(this.enums[kind.slice(2)]).join(', ')}), got ${a}`);
      return this.id(kind.slice(2), a);
    }
    if (kind === 'p') {
      if (a === null) return 0;
      if (!kindOf(a)) throw new Error(`${where} must be a typed array, got ${Object.prototype.toString.call(a)}`);
      return allocate(a);
    }
    if (typeof a === 'boolean' && kind === 'i') return a ? 1 : 0;
    if (typeof a !== 'number' || !Number.isFinite(a)) throw new Error(`${where} is ${a}, not a finite number`);
    if (kind !== 'd' && (!Number.isInteger(a) || a < -(2 ** 31) || a >= 2 ** 31))
      throw new Error(`${where} must be a whole number (an int), got ${a}`);
    return a;
  }

  call(fn, args = [], outs = []) {
    const M = this.M;
    const params = this.functions[fn];
    const f = M[`_${this.prefix}${fn}`];
    if (!params || typeof f !== 'function') throw new Error(`no exported function ${fn}`);
    if (args.length + outs.length !== params.length)
      throw new Error(`${fn} takes ${params.length} arguments (${params.join(', ')}), got ${args.length} + ${outs.length} outputs`);
    const allocations = [];
    const malloc = (bytes) => {
      const ptr = M._malloc(Math.max(1, bytes));
      if (!ptr) throw new Error('out of WebAssembly memory');
      allocations.push(ptr);
      return ptr;
    };
    try {
      const callArgs = args.map((a, i) =>
        this.argument(fn, i, params[i], a, (array) => {
          const [, heap, size] = KINDS[kindOf(array)];
          const ptr = malloc(array.length * size);
          M[heap].set(array, ptr / size);
          return ptr;
        }),
      );
      const specs = outs.map((o) => this.outputSpec(o));
      const outPtrs = specs.map(({ kind, length }) => malloc(length * KINDS[kind][2]));
      // every argument's length in elements (-1: a number), for the wrapper's checks
      const lens = [...args.map((a, i) => (params[i] === 'p' ? (a === null ? 0 : a.length) : -1)), ...specs.map((o) => o.length)];
      const lensPtr = malloc(4 * lens.length);
      M.HEAP32.set(lens, lensPtr / 4);
      M._ds_api_clear_error(); // a failure must report its own message, never a stale one
      if (M._ds_api_bounds(lensPtr, lens.length) < 0) throw new Error(M.UTF8ToString(M._ds_api_last_error()));
      const ret = f(...callArgs, ...outPtrs);
      if (ret < 0) throw new Error(M.UTF8ToString(M._ds_api_last_error()) || `${fn} failed`);
      // read the heap views only now: the call may have grown memory and replaced them
      const results = specs.map(({ kind, length, decode }, i) => {
        const [Ctor, heap] = KINDS[kind];
        const array = new Ctor(M[heap].buffer, outPtrs[i], length).slice();
        return decode ? decode(array) : array;
      });
      return { ret, outs: results };
    } finally {
      for (const p of allocations) M._free(p);
    }
  }

  // ['f32', n] | ['rec', name] | ['recs', name, n] | ['rows', name, n] -> {kind, length, decode}
  outputSpec([kind, a, b]) {
    if (KINDS[kind]) return { kind, length: a };
    if (kind === 'rec') return { kind: 'f64', length: this.recordLength(a), decode: (v) => this.decode(a, v) };
    if (kind === 'recs') {
      const L = this.recordLength(a);
      return { kind: 'f64', length: L * b, decode: (v) => Array.from({ length: b }, (_, i) => this.decode(a, v, i * L)) };
    }
    if (kind === 'rows') {
      const names = this.records[a].map((f) => f.name);
      return { kind: 'f64', length: names.length * b, decode: (v) => Object.fromEntries(names.map((n, i) => [n, v.subarray(i * b, (i + 1) * b)])) };
    }
    throw new Error(`unknown output kind ${kind}`);
  }
}
