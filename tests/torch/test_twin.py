#!/usr/bin/python3
# test_twin.py — the PyTorch twin (tools/torch/diffuscope_torch) against the C engine, run by
# ctest as torch_twin (CMakeLists.txt passes --build DIR with diffuscope and twin_ref in it):
#   1. forward: twin vs C (twin_ref, the product's ds_model_forward) on the golden tiny UNet and
#      MLP (and their stored outputs) and on the shipped weights/fashion-unet.dsw and a shipped
#      flow MLP: max |diff| <= 1e-5 on outputs of order 1;
#   2. files: the twin's writer reproduces C's bytes (the golden files in f32, the shipped run's
#      f16 weights, `diffuscope convert` to q8: the shipped file); a file the twin wrote loads in C and in WASM (SIMD
#      and scalar, tests/torch/wasm_forward.mjs) with outputs identical to each other and
#      within 1e-5 of the twin's;
#   3. training: the noise schedules (linear, cosine) as `diffuscope schedule` prints them
#      (1e-12); same initial weights (a .dsw), same batch -> same loss (1e-6 relative) and
#      gradients (1e-5 of the largest), and after 4 optimiser steps (warm-up, cosine lr decay,
#      weight decay, clipping, EMA) the same weights and EMA (1e-6 absolute where the gradient is
#      above 1e-4 of its largest, 0.05 lr elsewhere: Adam normalises rounding noise) — UNet and MLP;
#   4. data: a folder of PNGs (wide, tall, small; grey, grey+alpha, RGB, RGBA) read by the twin
#      gives `train --images`'s bytes exactly (twin_ref folder), at 32 and 28, grey and RGB;
#   5. distributed: a two-process gloo DDP run (torchrun) of 4 steps on a generated folder of
#      RGB PNGs (3 classes) gives the weights and EMA of one process with the same global batch
#      (99.9 % within 1e-6, all within 0.05 lr), resuming from a checkpoint continues exactly
#      (bit for bit), and the export loads in C with the folder's class names and the twin's
#      outputs. About 25 s of CPU (80 s wall on the shared 2-core machine; 55 s with ASan).
# Exits 77 (ctest: skipped) only when PyTorch is missing. Not here: the twin itself.
import argparse
import io
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from contextlib import redirect_stdout

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "torch"))
try:
    import torch
except ImportError:
    print("SKIP: PyTorch is not installed (apt-get install python3-torch; tools/setup.sh does it)")
    sys.exit(77)
from diffuscope_torch import model as twin  # noqa: E402
from diffuscope_torch.optim import OptimConfig, Optimizer  # noqa: E402
from diffuscope_torch.train import train  # noqa: E402

GOLDEN = os.path.join(ROOT, "tests", "golden")
WEIGHTS = os.path.join(ROOT, "weights")
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r.stdout


def write_batch(path, x, t, cls, target=None):
    parts = [struct.pack("<I", len(t)), x.astype(np.float32).tobytes(), t.astype(np.float32).tobytes(),
             cls.astype(np.int32).tobytes()]
    if target is not None:
        parts.append(target.astype(np.float32).tobytes())
    with open(path, "wb") as f:
        f.write(b"".join(parts))


def read_f32(path):
    return np.fromfile(path, np.float32)


def twin_forward(model, x, t, cls):
    with torch.no_grad():
        return model(torch.from_numpy(x), torch.from_numpy(t), torch.from_numpy(cls.astype(np.int64))).numpy().ravel()


def c_forward(tmp, dsw_path, x, t, cls):
    write_batch(os.path.join(tmp, "in.bin"), x, t, cls)
    run([REF, "forward", dsw_path, os.path.join(tmp, "in.bin"), os.path.join(tmp, "out.bin")])
    return read_f32(os.path.join(tmp, "out.bin"))


def unet_input(model, B, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B,) + model.image_shape).astype(np.float32)
    t = np.array([1, 37.5, 500, 999, 250, 1000, 0, 800][:B], np.float32)
    cls = np.array([(3 * b) % (model.n_classes + 1) for b in range(B)], np.int32)
    cls[-1] = model.n_classes  # the "no class" row
    return x, t, cls


def mlp_input(B, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((B, 2)).astype(np.float32), np.linspace(0, 1000, B).astype(np.float32), \
        np.zeros(B, np.int32)


def load(path):
    with open(path, "rb") as f:
        return twin.from_dsw(f.read())


# ---- 1. forward ----

def test_forward(tmp):
    m, _ = load(os.path.join(GOLDEN, "unet_tiny.dsw"))
    x = np.array([((i * 37) % 101) / 50 - 1 for i in range(3 * 64)], np.float32).reshape(3, 1, 8, 8)
    t, cls = np.array([0, 37.5, 999], np.float32), np.array([3, 10, 0], np.int32)
    stored = np.array(open(os.path.join(GOLDEN, "unet_tiny_eps.txt")).read().split(), np.float64)
    ours, c = twin_forward(m, x, t, cls), c_forward(tmp, os.path.join(GOLDEN, "unet_tiny.dsw"), x, t, cls)
    d, ds = np.abs(ours - c).max(), np.abs(ours - stored).max()
    check(d <= 1e-5 and ds <= 1e-5, f"golden tiny UNet: max |twin - C| = {d:.2e}, vs the stored outputs {ds:.2e} (<= 1e-5)")

    m, _ = load(os.path.join(GOLDEN, "mlp_tiny.dsw"))
    x = np.array([((i * 53) % 97) / 24 - 2 for i in range(10)], np.float32).reshape(5, 2)
    t, cls = np.array([0, 1, 250, 500.5, 1000], np.float32), np.zeros(5, np.int32)
    stored = np.array(open(os.path.join(GOLDEN, "mlp_tiny_eps.txt")).read().split(), np.float64)
    ours, c = twin_forward(m, x, t, cls), c_forward(tmp, os.path.join(GOLDEN, "mlp_tiny.dsw"), x, t, cls)
    d, ds = np.abs(ours - c).max(), np.abs(ours - stored).max()
    check(d <= 1e-5 and ds <= 1e-5, f"golden tiny MLP: max |twin - C| = {d:.2e}, vs the stored outputs {ds:.2e} (<= 1e-5)")

    # the mid self-attention (13 config ints): a random twin written as .dsw, run by the C engine
    torch.manual_seed(4)
    m = twin.build(twin.UNET_KIND, (8, 1, 8, 2, 1, 2, 0, 0, 1, 4, 16, 3, 1))
    path = os.path.join(tmp, "attention.dsw")
    with open(path, "wb") as f:
        f.write(twin.to_dsw(m, dtype="f32"))
    x, t, cls = unet_input(m, 4, 3)
    ours, c = twin_forward(m, x, t, cls), c_forward(tmp, path, x, t, cls)
    d = np.abs(ours - c).max()
    check(d <= 1e-5 and any(k.startswith("mid.attn.") for k in m.state_dict()),
          f"a UNet with the mid self-attention, batch 4: max |twin - C| = {d:.2e} (<= 1e-5)")
    run(["node", os.path.join(ROOT, "tests", "torch", "wasm_forward.mjs"), path, os.path.join(tmp, "in.bin"),
         os.path.join(tmp, "wasm")])
    for variant in ("simd", "scalar"):
        w = read_f32(os.path.join(tmp, "wasm." + variant))
        check(w.shape == c.shape and np.array_equal(w, c), f"the attention UNet in WASM {variant}: the native outputs exactly")

    path = os.path.join(WEIGHTS, "fashion-unet.dsw")
    m, _ = load(path)
    x, t, cls = unet_input(m, 6, 1)
    ours, c = twin_forward(m, x, t, cls), c_forward(tmp, path, x, t, cls)
    d, top = np.abs(ours - c).max(), np.abs(c).max()
    bound = max(1e-5, 2e-6 * top)  # float rounding grows with the outputs (up to about 10 here)
    check(d <= bound, f"shipped Fashion UNet, batch 6: max |twin - C| = {d:.2e} (max |eps| {top:.2f}; <= {bound:.1e})")

    path = os.path.join(WEIGHTS, "points-moons-flow.dsw")
    m, meta = load(path)
    x, t, cls = mlp_input(64, 2)
    ours, c = twin_forward(m, x, t, cls), c_forward(tmp, path, x, t, cls)
    d = np.abs(ours - c).max()
    check(d <= 1e-5 and meta["prediction"] == "flow",
          f"shipped flow MLP (moons), batch 64: max |twin - C| = {d:.2e} (<= 1e-5), prediction {meta['prediction']}")


# ---- 2. files ----

def test_files(tmp):
    for name in ("unet_tiny", "unet_tiny_v2", "mlp_tiny"):
        b = open(os.path.join(GOLDEN, name + ".dsw"), "rb").read()
        m, meta = twin.from_dsw(b)
        check(twin.to_dsw(m, "f32", meta) == b, f"{name}.dsw: the twin writes C's bytes (f32, {meta['schedule']}, "
                                                 f"T {meta['T']}, {len(meta['class_names'])} class names)")
    # the shipped UNet is q8; its training run's EMA weights beside it, f16
    path = os.path.join(WEIGHTS, "checkpoints", "fashion-unet-c.dsw")
    b = open(path, "rb").read()
    m, meta = twin.from_dsw(b)
    check(twin.to_dsw(m, "f16", meta) == b, "checkpoints/fashion-unet-c.dsw: the twin writes C's bytes (f16)")
    for dtype in ("q8", "f32"):
        out = os.path.join(tmp, f"c.{dtype}.dsw")
        run([EXE, "convert", "--weights", path, "--out", out, "--dtype", dtype])
        check(twin.to_dsw(m, dtype, meta) == open(out, "rb").read(),
              f"fashion-unet-c.dsw as {dtype}: the twin's bytes are `diffuscope convert --dtype {dtype}`'s")
    shipped = open(os.path.join(WEIGHTS, "fashion-unet.dsw"), "rb").read()
    check(shipped == open(os.path.join(tmp, "c.q8.dsw"), "rb").read(),
          "weights/fashion-unet.dsw is `diffuscope convert --dtype q8` of checkpoints/fashion-unet-c.dsw, byte for byte")

    # a file the twin wrote (q8, a description C must read back) in C and in WASM
    meta = {"schedule": "cosine", "T": 400, "prediction": "eps", "class_names": [f"class {i}" for i in range(10)]}
    out = os.path.join(tmp, "twin.q8.dsw")
    with open(out, "wb") as f:
        f.write(twin.to_dsw(m, "q8", meta))
    info = run([EXE, "info", out])
    check("cosine, T = 400" in info and '9 "class 9"' in info, "the twin's q8 file: `diffuscope info` reads its schedule and class names")
    back, meta_back = load(out)
    check(meta_back == meta, "the twin's q8 file: read back with the same description")
    x, t, cls = unet_input(back, 4, 3)
    c = c_forward(tmp, out, x, t, cls)
    d = np.abs(twin_forward(back, x, t, cls) - c).max()
    check(d <= 1e-5, f"the twin's q8 file: max |twin - C| = {d:.2e} (<= 1e-5)")
    if shutil.which("node") is None or not os.path.exists(os.path.join(ROOT, "web", "wasm", "diffuscope_simd.wasm")):
        check(False, "WASM: node or web/wasm/diffuscope_simd.wasm is missing (tools/setup.sh builds it)")
        return
    run(["node", os.path.join(ROOT, "tests", "torch", "wasm_forward.mjs"), out, os.path.join(tmp, "in.bin"),
         os.path.join(tmp, "wasm")])
    for variant in ("simd", "scalar"):
        w = read_f32(os.path.join(tmp, "wasm." + variant))
        check(w.shape == c.shape and np.array_equal(w, c), f"the twin's q8 file in WASM {variant}: the native outputs exactly")


# ---- 3. training: loss, gradients, optimiser steps ----

def twin_steps(model, x, t, cls, target, steps, cfg):
    opt = Optimizer(model.parameters(), cfg)
    xs, ts, cs, ys = (torch.from_numpy(v) for v in (x, t, cls.astype(np.int64), target))
    for s in range(steps):
        loss = torch.nn.functional.mse_loss(model(xs, ts, cs), ys)
        model.zero_grad(set_to_none=True)
        loss.backward()
        if s == 0:
            first_loss, first_grad = float(loss), twin.flat(model, [p.grad for p in model.parameters()])
        opt.step()
    return first_loss, first_grad, twin.flat(model), twin.flat(model, opt.ema)


def compare_training(tmp, name, model, x, t, cls, target):
    init = os.path.join(tmp, name + ".init.dsw")
    with open(init, "wb") as f:
        f.write(twin.to_dsw(model, "f32"))
    # steps 0 warm-up, 1 and 2 on the cosine, 3 at the floor; both gradients' norms are above the clip
    cfg = OptimConfig(lr=1e-3, weight_decay=0.01, warmup_steps=1, decay_steps=3, min_lr_ratio=0.2, clip_norm=0.1,
                      ema_decay=0.999)
    steps = 4
    write_batch(os.path.join(tmp, "step.bin"), x, t, cls, target)
    run([REF, "step", init, os.path.join(tmp, "step.bin"), os.path.join(tmp, "step.out"), str(steps), str(cfg.lr),
         str(cfg.weight_decay), str(cfg.warmup_steps), str(cfg.decay_steps), str(cfg.min_lr_ratio), str(cfg.clip_norm),
         str(cfg.ema_decay)])
    raw = open(os.path.join(tmp, "step.out"), "rb").read()
    c_loss, c_norm = struct.unpack_from("<2d", raw)
    c = np.frombuffer(raw, np.float32, offset=16).reshape(3, -1)
    model, _ = load(init)  # the same initial weights, through the file
    loss, grad, params, ema = twin_steps(model, x, t, cls, target, steps, cfg)
    dl = abs(loss - c_loss) / c_loss
    dg = np.abs(grad - c[0]).max() / np.abs(c[0]).max()
    norm = math.sqrt(float((grad.astype(np.float64) ** 2).sum()))
    check(dl <= 1e-6 and dg <= 1e-5, f"{name}: same weights and batch: loss C {c_loss:.7f} twin {loss:.7f} (rel {dl:.1e} <= 1e-6); "
                                     f"gradient max diff {dg:.1e} of its largest (<= 1e-5); norm C {c_norm:.5f} twin {norm:.5f}")
    moved = np.abs(c[1] - twin.flat(load(init)[0])).max()
    # Adam moves a weight by about lr * m / (sqrt(v) + eps), whatever the gradient's size: where
    # the gradient is not above its own rounding error (the gradients agree to ~1e-6 of the
    # largest; cancellation noise of ~1e-9 even flips sign), that error becomes a move of up to
    # ~lr. So: the tight bound where |g| >= 1e-4 of the largest, a loose one elsewhere.
    live = np.abs(c[0]) >= 1e-4 * np.abs(c[0]).max()
    dp, de = np.abs(params - c[1]), np.abs(ema - c[2])
    tight, loose = max(dp[live].max(), de[live].max()), max(dp.max(), de.max())
    check(tight <= 1e-6 and loose <= 0.05 * cfg.lr,
          f"{name}: after {steps} AdamW steps (warm-up, cosine lr decay, weight decay, norm {norm:.2f} clipped to {cfg.clip_norm}, EMA; the weights moved up to "
          f"{moved:.1e}): weights and EMA max diff {tight:.1e} where |g| >= 1e-4 max |g| (<= 1e-6), {loose:.1e} over "
          f"all {dp.size} (<= 0.05 lr; {int((~live).sum())} weights below)")


def test_schedules():
    from diffuscope_torch.train import schedule
    for kind, T in (("linear", 1000), ("cosine", 1000), ("linear", 250), ("cosine", 500)):
        c = json.loads(run([EXE, "schedule", "--kind", kind, "--steps", str(T)]))
        sa, sm = schedule(kind, T)
        d = max(np.abs(sa.numpy() - c["sqrt_alpha_bar"]).max(), np.abs(sm.numpy() - c["sqrt_one_minus_alpha_bar"]).max())
        check(d <= 1e-12, f"{kind} schedule, T = {T}: max |twin - C| of sqrt(abar), sqrt(1 - abar) = {d:.1e} (<= 1e-12)")


def test_training(tmp):
    test_schedules()
    torch.manual_seed(5)
    m = twin.UNet()
    x, t, cls = unet_input(m, 8, 4)
    target = np.random.default_rng(6).standard_normal(x.shape).astype(np.float32)
    compare_training(tmp, "default UNet, batch 8", m, x, t, cls, target)
    torch.manual_seed(7)
    m = twin.MLP()
    x, t, cls = mlp_input(128, 8)
    target = np.random.default_rng(9).standard_normal(x.shape).astype(np.float32)
    compare_training(tmp, "default MLP, batch 128", m, x, t, cls, target)


# ---- 4. distributed, resume, export ----

def png(path, img):
    """An 8-bit PNG (img (H, W, C): C 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA) with filter types 0..4
    by row, to exercise the twin's decoder."""
    img = img if img.ndim == 3 else img[:, :, None]
    h, w, c = img.shape
    rows, prev = [], np.zeros(w * c, np.int32)
    for y in range(h):
        cur, kind = img[y].astype(np.int32).ravel(), y % 5
        left = np.concatenate([np.zeros(c, np.int32), cur[:-c]])
        upleft = np.concatenate([np.zeros(c, np.int32), prev[:-c]])
        if kind == 4:
            pa, pb, pc = np.abs(prev - upleft), np.abs(left - upleft), np.abs(left + prev - 2 * upleft)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
        else:
            pred = [0, left, prev, (left + prev) >> 1][kind]
        rows.append(bytes([kind]) + ((cur - pred) & 255).astype(np.uint8).tobytes())
        prev = cur
    chunk = lambda k, d: struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d))  # noqa: E731
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))


def test_folder_bytes(tmp):
    """The twin reads a folder of PNGs into the same bytes as `train --images` (twin_ref folder):
    wide, tall and small images (letterboxed, area-filtered up and down), alpha, grey and colour."""
    from diffuscope_torch.data import load_image_folder
    root, rng = os.path.join(tmp, "mixed"), np.random.default_rng(5)
    shapes = {"cats": [(13, 20, 3), (40, 37, 4)], "dogs": [(30, 9, 2), (7, 7, 1)], "owls": [(64, 64, 3), (33, 50, 4)]}
    for name, sizes in shapes.items():
        os.makedirs(os.path.join(root, name))
        for i, shape in enumerate(sizes):
            png(os.path.join(root, name, f"{i}.png"), rng.integers(0, 256, shape).astype(np.uint8))
    for size, channels in ((32, 3), (28, 1), (32, 1)):
        out = os.path.join(tmp, f"folder-{size}-{channels}.bin")
        run([REF, "folder", root, str(size), str(channels), out])
        raw = open(out, "rb").read()
        n, c, k = struct.unpack_from("<3I", raw)
        names = [raw[12 + 32 * i: 12 + 32 * (i + 1)].rstrip(b"\0").decode() for i in range(k)]
        at = 12 + 32 * k
        ref = np.frombuffer(raw, np.uint8, n * c * size * size, at).reshape(n, c, size, size)
        labels = np.frombuffer(raw, np.uint8, n, at + ref.size)
        ds = load_image_folder(root, size, channels)
        mine = np.rint((ds.x + 1) * 127.5).astype(np.int64)
        diff = int(np.abs(mine - ref).max()) if mine.shape == ref.shape else -1
        check(mine.shape == ref.shape and diff == 0 and names == ds.class_names and
              np.array_equal(labels, ds.labels), f"folder of 6 PNGs at {size}x{size}, {channels} channel(s): twin vs C "
              f"bytes, largest difference {diff} (shapes {mine.shape} {ref.shape}), classes {ds.class_names} vs {names}")


def make_folder(root):
    rng = np.random.default_rng(11)
    for k, (name, colour) in enumerate((("red", (220, 40, 40)), ("green", (40, 200, 60)), ("blue", (50, 60, 230)))):
        os.makedirs(os.path.join(root, name))
        for i in range(6):
            img = np.full((16, 16, 3), 255, np.uint8)  # 16x16, fitted down to the model's 8x8
            y, x = rng.integers(0, 8, 2)
            img[y:y + 8, x:x + 8] = colour
            png(os.path.join(root, name, f"{i}.png"), img)
    from diffuscope_torch.data import load_image_folder
    ds = load_image_folder(root, 8)
    return ds


def flat_checkpoint(path):
    ck = torch.load(path, map_location="cpu")
    return twin.flat(None, list(ck["model"].values())), twin.flat(None, ck["optim"]["ema"]), ck


def test_distributed(tmp):
    folder = os.path.join(tmp, "images")
    ds = make_folder(folder)
    red = ds.x[ds.labels == 2]
    check(ds.x.shape == (18, 3, 8, 8) and ds.class_names == ["blue", "green", "red"] and
          red[:, 0].mean() > red[:, 2].mean() + 0.3 and ds.x.max() == 1.0,
          f"a folder of 18 RGB 16x16 PNGs (filters 0-4) in 3 subfolders, fitted to 8x8: {ds.x.shape}, classes "
          f"{ds.class_names}, red images' R mean {red[:, 0].mean():.2f} > B mean {red[:, 2].mean():.2f}")
    args = ["--images", folder, "--image-size", "8", "--base", "8", "--mult", "1,2", "--groups", "4", "--temb", "16",
            "--batch", "8", "--warmup", "2", "--lr", "2e-3", "--weight-decay", "0.01", "--log-every", "2",
            "--threads", "1", "--cpu"]
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tools", "torch"), OMP_NUM_THREADS="1")
    ddp = os.path.join(tmp, "ddp.pt")
    torchrun = shutil.which("torchrun") or "/usr/bin/torchrun"
    # --redirects/--tee 0:1: Debian's torchrun 1.13 on Python 3.11 cannot parse their default "0"
    run([torchrun, "--standalone", "--nproc_per_node=2", "--redirects", "0:1", "--tee", "0:1", os.path.join(ROOT, "tools", "torch", "twin.py"), "train",
         *args, "--steps", "4", "--checkpoint", ddp, "--out", os.path.join(tmp, "ddp.dsw")], env=env)
    torch.set_num_threads(1)
    with redirect_stdout(io.StringIO()):
        one = os.path.join(tmp, "one.pt")
        train(args + ["--steps", "4", "--checkpoint", one])
        two = os.path.join(tmp, "two.pt")
        train(args + ["--steps", "2", "--checkpoint", two])
        train(args + ["--steps", "4", "--checkpoint", two, "--resume"])
        vw = args + ["--prediction", "v", "--min-snr", "5"]
        v4, v2 = os.path.join(tmp, "v4.pt"), os.path.join(tmp, "v2.pt")
        train(vw + ["--steps", "4", "--checkpoint", v4, "--out", os.path.join(tmp, "v.dsw")])
        train(vw + ["--steps", "2", "--checkpoint", v2])
        train(args + ["--steps", "4", "--checkpoint", v2, "--resume"])  # the target and gamma come from the checkpoint
    torch.set_num_threads(2)
    (pv, ev, _), (pv2, ev2, _) = flat_checkpoint(v4), flat_checkpoint(v2)
    check(np.array_equal(pv, pv2) and np.array_equal(ev, ev2) and not np.array_equal(pv, flat_checkpoint(one)[0]),
          "v-prediction with min-SNR 5: other weights than eps, and 2 + 2 resumed steps = 4 (bit for bit)")
    check("prediction: v" in run([EXE, "info", os.path.join(tmp, "v.dsw")]), "the v run's export says prediction: v")
    (p1, e1, ck1), (pd, ed, _), (p2, e2, _) = flat_checkpoint(one), flat_checkpoint(ddp), flat_checkpoint(two)
    # the same gradients up to the order of their sums; Adam amplifies that only for weights
    # whose gradient is cancellation noise (see compare_training), hence the two bounds
    d = np.maximum(np.abs(pd - p1), np.abs(ed - e1))
    close = (d <= 1e-6).mean()
    check(ck1["step"] == 4 and close >= 0.999 and d.max() <= 0.05 * 2e-3,
          f"2-process gloo DDP vs 1 process, global batch 8, 4 steps: {100 * close:.3f}% of weights and EMA within "
          f"1e-6 (>= 99.9%), max diff {d.max():.1e} (<= 0.05 lr)")
    check(np.array_equal(p1, p2) and np.array_equal(e1, e2), "2 steps, a checkpoint, 2 resumed steps = 4 steps (bit for bit)")
    out = os.path.join(tmp, "ddp.dsw")
    info = run([EXE, "info", out])
    check('class names (3): 0 "blue", 1 "green", 2 "red"' in info and "3 channel(s)" in info and "image 8x8" in info,
          "the DDP run's export: `diffuscope info` shows 8x8 RGB and the folder's class names")
    m, meta = load(out)
    x, t, cls = unet_input(m, 4, 12)
    d = np.abs(twin_forward(m, x, t, cls) - c_forward(tmp, out, x, t, cls)).max()
    check(d <= 1e-5, f"the DDP run's export (f16 EMA): max |twin - C| = {d:.2e} (<= 1e-5)")


def main():
    global EXE, REF
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    a = ap.parse_args()
    EXE, REF = os.path.join(a.build, "diffuscope"), os.path.join(a.build, "twin_ref")
    for p in (EXE, REF):
        if not os.path.exists(p):
            sys.exit(f"test_twin: {p} is missing: build it (cmake --build {a.build})")
    torch.set_num_threads(2)
    print(f"PyTorch {torch.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        for test in (test_forward, test_files, test_training, test_folder_bytes, test_distributed):
            test(tmp)
    if failures:
        sys.exit(f"test_twin: {len(failures)} check(s) failed:\n  " + "\n  ".join(failures))
    print("test_twin: all checks passed")


if __name__ == "__main__":
    main()
