#!/usr/bin/python3
# bench_sizes.py — the table "how big a model the page can run at what speed" of
# docs/own-model.md: UNets of several widths (random weights from the twin, written as .dsw),
# each timed by `diffuscope bench FILE --json` (native, one thread, batch 1 and 16) and by the
# WASM SIMD build in Node (one thread, the page's engine, batch 1), with parameters, MFLOP per
# image and the download (gzip of the f16 and q8 files). Prints a Markdown table and the machine.
#   /usr/bin/python3 tools/torch/bench_sizes.py [--bases 32,48,64] [--size 28] [--channels 1] [--seconds 2]
# Not here: the timing loops (tools/cmd_bench.c; the page's worker for WASM).
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from diffuscope_torch.model import UNet, to_dsw  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WASM_TIMER = """
import fs from 'node:fs';
import { loadModule, call } from '%s/tests/wasm/wasm.mjs';
const [file, seconds] = [process.argv[1], Number(process.argv[2])];
const bytes = new Uint8Array(fs.readFileSync(file));
const M = await loadModule('simd');
const h = call(M, 'model_load', [bytes, bytes.length]).ret;
const item = call(M, 'model_info', [h], [['rec', 'model_info']]).outs[0].item_floats;
const x = Float32Array.from({ length: item }, (_, i) => ((i * 37) %% 101) / 50 - 1);
const args = [h, x, Float32Array.of(500), Int32Array.of(0), 1];
call(M, 'model_forward', args, [['f32', item]]);
const per = [];
for (let r = 0; r < 5; r++) {
  let runs = 0; const t0 = performance.now();
  do { call(M, 'model_forward', args, [['f32', item]]); runs++; } while (performance.now() - t0 < seconds * 200);
  per.push((performance.now() - t0) / runs);
}
per.sort((a, b) => a - b);
console.log(JSON.stringify({ ms: per[2], lo: per[0], hi: per[4] }));
"""


def main():
    ap = argparse.ArgumentParser(description="UNet width vs speed and download, for docs/own-model.md")
    ap.add_argument("--bases", default="32,48,64")
    ap.add_argument("--size", type=int, default=28)
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--exe", default=os.path.join(ROOT, "build", "diffuscope"))
    a = ap.parse_args()
    rows, load = [], os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for base in (int(b) for b in a.bases.split(",")):
            torch.manual_seed(base)
            m = UNet((a.size, a.channels, base, 3, 1, 2, 2, 0, 1, 8, 128, 10))
            path = os.path.join(tmp, f"unet{base}.dsw")
            f16 = to_dsw(m, "f16")
            with open(path, "wb") as f:
                f.write(f16)
            q8 = to_dsw(m, "q8")
            native = json.loads(subprocess.run([a.exe, "bench", path, "--json", "--seconds", str(a.seconds)],
                                               capture_output=True, text=True, check=True).stdout)
            wasm = json.loads(subprocess.run(["node", "--input-type=module", "-e", WASM_TIMER % ROOT, path,
                                              str(a.seconds)], capture_output=True, text=True, check=True).stdout)
            fwd = {f["batch"]: f for f in native["forward"]}
            rows.append((base, native["params"], native["mflop_per_image"], fwd[1]["ms"], fwd[16]["ms_per_image"],
                         wasm["ms"], wasm["lo"], wasm["hi"], len(gzip.compress(f16, 9)) / 1e6,
                         len(gzip.compress(q8, 9)) / 1e6))
            print(f"base {base}: done", file=sys.stderr)
    print(f"| UNet ({a.size}×{a.size}×{a.channels}, mult 1,2,2) | parameters | MFLOP / image | native ms (batch 1) | "
          "native ms / image (batch 16) | WASM SIMD ms (batch 1, range of 5) | WASM time / first row's | "
          "download f16 gzip | q8 gzip |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| base {r[0]} | {r[1]:,} | {r[2]:.1f} | {r[3]:.1f} | {r[4]:.1f} | {r[5]:.1f} ({r[6]:.1f}–{r[7]:.1f}) | "
              f"{r[5] / rows[0][5]:.2f} | {r[8]:.2f} MB | {r[9]:.2f} MB |")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
    print(f"\n{cpu}, {os.cpu_count()} cores, load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; kernels "
          f"{native['kernels']}; one thread each")


if __name__ == "__main__":
    main()
