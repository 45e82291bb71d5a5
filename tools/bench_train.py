#!/usr/bin/python3
# bench_train.py — the Fashion UNet's training step in our C trainer against PyTorch on the
# same CPU, network, batch and thread count, in the same run (issue: trainer as fast as PyTorch).
#
#   /usr/bin/python3 tools/bench_train.py [--threads 2] [--batch 64] [--steps 40] [--repeats 3]
#
# First it checks that the two compute the same thing: `diffuscope train-check --out DIR`
# writes a randomly initialised UNet (f32 .dsw) and one noised training batch (x_t, t, class,
# ε) with the loss and gradient norm our trainer computes for it; the PyTorch twin below loads
# both and must agree (loss to 1e-5 relative, gradient norm to 1e-4). Then it times training
# steps (forward, backward, global-norm clip, Adam, EMA) on Fashion-MNIST batches: ours through
# `diffuscope train` (its own img/s line), PyTorch in-process, alternating, and prints images/s
# for both, each with its spread, and the ratio. PyTorch is a benchmark peer only (Debian's
# python3-torch); nothing in the product needs it. Not here: the network's spec (docs/model.md),
# its PyTorch module (tools/torch/diffuscope_torch/model.py).
import argparse
import math
import os
import platform
import re
import statistics
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dsw import UNET_KIND, read_dsw  # noqa: E402

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit("bench_train: needs PyTorch as the peer: apt-get install python3-torch (then run /usr/bin/python3)")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch"))
from diffuscope_torch.model import UNet  # noqa: E402  (the one PyTorch copy of the network)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def UNetTwin(config, tensors):
    """docs/model.md's UNet (the twin's, tools/torch/diffuscope_torch/model.py) holding these tensors."""
    net = UNet(config)
    net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()}, strict=True)
    return net


def read_batch(path):
    """The batch file of `diffuscope train-check`: header "DSTB", version 1, B, C, S,
    then loss and gradient norm (f64 each), x_t (B,C,S,S) f32, eps (B,C,S,S) f32, t (B) f32, cls (B) i32."""
    data = open(path, "rb").read()
    if data[:4] != b"DSTB" or struct.unpack_from("<I", data, 4)[0] != 1:
        raise ValueError(f"{path}: not a version-1 training batch file")
    B, C, S = struct.unpack_from("<3I", data, 8)
    loss, gnorm = struct.unpack_from("<2d", data, 20)
    at, n = 36, B * C * S * S
    xt = np.frombuffer(data, np.float32, n, at).reshape(B, C, S, S); at += 4 * n
    eps = np.frombuffer(data, np.float32, n, at).reshape(B, C, S, S); at += 4 * n
    t = np.frombuffer(data, np.float32, B, at); at += 4 * B
    cls = np.frombuffer(data, np.int32, B, at)
    return loss, gnorm, torch.from_numpy(xt.copy()), torch.from_numpy(eps.copy()), torch.from_numpy(t.copy()), \
        torch.from_numpy(cls.astype(np.int64))


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"bench_train: {' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    return r.stdout + r.stderr


def check_agreement(exe, tmp, batch):
    run([exe, "train-check", "--out", tmp, "--batch", str(batch)])
    with open(os.path.join(tmp, "unet.dsw"), "rb") as f:
        kind, config, tensors = read_dsw(f.read())
    if kind != UNET_KIND:
        sys.exit("bench_train: the check model is not a UNet")
    net = UNetTwin(config, tensors)
    loss_c, gnorm_c, xt, eps, t, cls = read_batch(os.path.join(tmp, "batch.bin"))
    loss = F.mse_loss(net(xt, t, cls), eps)
    loss.backward()
    gnorm = math.sqrt(sum(float((p.grad.double() ** 2).sum()) for p in net.parameters()))
    dl, dg = abs(float(loss) - loss_c) / loss_c, abs(gnorm - gnorm_c) / gnorm_c
    print(f"same batch ({batch} images, random init): loss ours {loss_c:.7f} PyTorch {float(loss):.7f} (rel {dl:.1e}); "
          f"gradient norm ours {gnorm_c:.6f} PyTorch {gnorm:.6f} (rel {dg:.1e})")
    if dl > 1e-5 or dg > 1e-4:
        sys.exit("bench_train: the two trainers disagree on the same batch; not timing them")
    return config, tensors


def fashion_images(n):
    import gzip
    path = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
    with gzip.open(path, "rb") as f:
        data = f.read()
    count, rows, cols = struct.unpack_from(">3I", data, 4)
    n = min(n, count)
    return np.frombuffer(data, np.uint8, n * rows * cols, 16).reshape(n, 1, rows, cols).astype(np.float32) / 127.5 - 1


def torch_rate(config, tensors, batch, steps, images):
    """images/s of PyTorch training steps as our trainer does them (ε MSE, t uniform 1..T on the
    linear schedule, 10% label dropout, global-norm clip 1, Adam 1e-3, EMA 0.999)."""
    net = UNetTwin(config, tensors)
    ema = [p.detach().clone() for p in net.parameters()]
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    abar = torch.cumprod(1 - betas, 0).float()
    gen = torch.Generator().manual_seed(1)
    x_all = torch.from_numpy(images)

    def step(i):
        idx = torch.randint(0, x_all.shape[0], (batch,), generator=gen)
        x0 = x_all[idx]
        t = torch.randint(1, 1001, (batch,), generator=gen)
        cls = torch.randint(0, 10, (batch,), generator=gen)
        cls[torch.rand(batch, generator=gen) < 0.1] = 10
        eps = torch.randn(x0.shape, generator=gen)
        a = abar[t - 1][:, None, None, None]
        loss = F.mse_loss(net(a.sqrt() * x0 + (1 - a).sqrt() * eps, t.float(), cls), eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            for e, p in zip(ema, net.parameters()):
                e.mul_(0.999).add_(p, alpha=0.001)

    for i in range(3):  # warm-up: allocator, thread pool
        step(i)
    t0 = time.perf_counter()
    for i in range(steps):
        step(i)
    return steps * batch / (time.perf_counter() - t0)


def ours_rate(exe, tmp, batch, steps, threads):
    out = run([exe, "train", "--model", "unet", "--steps", str(steps), "--batch", str(batch), "--threads",
               str(threads), "--warmup", "1", "--log-every", "1", "--checkpoint-every", "100000",
               "--out", os.path.join(tmp, "t.dsw"), "--checkpoint", os.path.join(tmp, "t.ckpt")])
    rates = [float(m) for m in re.findall(r"([0-9.]+) img/s", out)]
    if len(rates) < 4:
        sys.exit(f"bench_train: no img/s figures in the trainer's output:\n{out}")
    return statistics.median(rates[3:])  # after warm-up


def machine():
    model, flags = platform.processor() or "unknown CPU", ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                f = line.split()
                flags = " ".join(x for x in ("sse4_2", "avx", "avx2", "fma", "avx512f") if x in f)
                break
    except OSError:
        pass
    return f"{model}; {os.cpu_count()} cores; {flags}; load {os.getloadavg()[0]:.2f}"


def main():
    ap = argparse.ArgumentParser(description="our C trainer vs PyTorch, same network, batch and threads")
    ap.add_argument("--exe", default=os.path.join(ROOT, "build", "diffuscope"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(f"machine: {machine()}; PyTorch {torch.__version__}, {a.threads} threads each, batch {a.batch}")
    with tempfile.TemporaryDirectory() as tmp:
        config, tensors = check_agreement(a.exe, tmp, a.batch)
        images = fashion_images(60000)
        ours, theirs = [], []
        for r in range(a.repeats):
            ours.append(ours_rate(a.exe, tmp, a.batch, a.steps, a.threads))
            theirs.append(torch_rate(config, tensors, a.batch, a.steps, images))
            print(f"  repeat {r + 1}: ours {ours[-1]:.1f} img/s, PyTorch {theirs[-1]:.1f} img/s, ratio {ours[-1] / theirs[-1]:.2f}")
    ratios = [o / t for o, t in zip(ours, theirs)]
    print(f"ours {statistics.median(ours):.1f} img/s ({min(ours):.1f}-{max(ours):.1f}); PyTorch {statistics.median(theirs):.1f} "
          f"img/s ({min(theirs):.1f}-{max(theirs):.1f}); ratio {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})")


if __name__ == "__main__":
    main()
