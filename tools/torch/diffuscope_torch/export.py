# export.py — a twin checkpoint (train.py) to a .dsw file the C engine, the WASM build and the
# page load: the EMA weights by default (what `diffuscope train --out` ships too), the header's
# kind, config, schedule, prediction and class names from the run; f16 (default), q8 or f32.
# Not here: the bytes (tools/dsw.py), the network (model.py).
import argparse
import os

import torch

from dsw import write_dsw


def export_checkpoint(checkpoint, out, dtype="f16", ema=True):
    ck = torch.load(checkpoint, map_location="cpu")
    names = list(ck["model"].keys())
    values = ck["optim"]["ema"] if ema and ck["optim"]["ema"] is not None else list(ck["model"].values())
    if len(values) != len(names):
        raise ValueError(f"{checkpoint}: {len(values)} EMA tensors for {len(names)} parameters")
    data = write_dsw(ck["kind"], ck["config"], [(n, v.float().numpy()) for n, v in zip(names, values)], dtype,
                     ck["meta"])
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, out)
    print(f"export: step {ck['step']} ({'EMA' if ema else 'raw'} weights, {dtype}) -> {out} ({len(data)} bytes)")
    return data


def main(argv):
    ap = argparse.ArgumentParser(prog="twin.py export", description="write a twin checkpoint's weights as .dsw")
    ap.add_argument("checkpoint")
    ap.add_argument("--out", required=True)
    ap.add_argument("--dtype", choices=("f16", "f32", "q8"), default="f16")
    ap.add_argument("--raw", action="store_true", help="the trained weights instead of their EMA")
    a = ap.parse_args(argv)
    export_checkpoint(a.checkpoint, a.out, a.dtype, not a.raw)
