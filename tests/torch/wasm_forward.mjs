// wasm_forward.mjs — the WebAssembly side of tests/torch/test_twin.py: loads a .dsw (one the
// twin wrote) into the SIMD and the scalar module as the page does and runs one forward pass.
//   node tests/torch/wasm_forward.mjs WEIGHTS.dsw IN.bin OUT_PREFIX
// IN.bin as tests/torch/twin_ref.c reads it (u32 B, x f32, t f32, class i32); writes
// OUT_PREFIX.simd and OUT_PREFIX.scalar, each eps (B, item) f32. Not here: the comparison.
import fs from 'node:fs';
import { loadModule, call } from '../wasm/wasm.mjs';

const [weights, input, prefix] = process.argv.slice(2);
if (!prefix) {
  console.error('usage: node tests/torch/wasm_forward.mjs WEIGHTS.dsw IN.bin OUT_PREFIX');
  process.exit(2);
}
const bytes = new Uint8Array(fs.readFileSync(weights));
const raw = fs.readFileSync(input);
const buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
const B = new Uint32Array(buf, 0, 1)[0];
const item = (raw.byteLength / 4 - 1 - 2 * B) / B;
if (!Number.isInteger(item) || item < 1) throw new Error(`${input}: ${raw.byteLength} bytes is not a batch of ${B}`);
const x = new Float32Array(buf, 4, B * item);
const t = new Float32Array(buf, 4 + 4 * B * item, B);
const cls = new Int32Array(buf, 4 + 4 * B * (item + 1), B);
for (const variant of ['simd', 'scalar']) {
  const M = await loadModule(variant);
  const h = call(M, 'model_load', [bytes, bytes.length]).ret;
  const eps = call(M, 'model_forward', [h, x, t, cls, B], [['f32', B * item]]).outs[0];
  fs.writeFileSync(`${prefix}.${variant}`, Buffer.from(eps.buffer, eps.byteOffset, eps.byteLength));
}
