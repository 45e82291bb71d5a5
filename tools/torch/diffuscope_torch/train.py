# train.py — the C trainer's recipe in PyTorch, on one process or many (torch.distributed DDP
# through torchrun: nccl on GPUs, gloo on CPUs). The same objective (ε MSE with t uniform in
# 1..T on the linear or cosine schedule of src/schedule.c; flow matching for the MLP), label
# dropout to the "no class" row, Adam(W), warm-up, cosine decay, global-norm clipping and EMA
# (optim.py), the same defaults as `diffuscope train`. Every rank draws the whole global batch
# from one seeded generator and trains on its slice, so N processes compute what one process
# with the same global batch computes (up to the order of the gradient sums). Checkpoints hold
# the model, optimiser and generator state for an exact resume; export.py turns one into .dsw.
# Not here: the network (model.py), the data files (data.py), the C trainer (tools/cmd_train.c).
import argparse
import math
import os
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from . import data as datasets
from .model import MLP, UNet
from .optim import OptimConfig, Optimizer

FLOW_TIME_SCALE = 1000.0


def schedule(kind, T):
    """(sqrt ᾱ, sqrt(1 − ᾱ)) of ds_schedule_init, in double, for t = 1..T at index t − 1."""
    if kind == "linear":
        scale = 1000.0 / T
        lo, hi = 1e-4 * scale, min(0.02 * scale, 0.999)
        beta = [lo if T == 1 else lo + (hi - lo) * i / (T - 1) for i in range(T)]
    elif kind == "cosine":
        f = lambda t: math.cos(((t / T + 0.008) / 1.008) * math.pi * 0.5) ** 2  # noqa: E731
        f0 = f(0.0)
        beta = [min(1.0 - (f(i + 1.0) / f0) / (f(float(i)) / f0), 0.999) for i in range(T)]
    else:
        raise ValueError(f"unknown schedule '{kind}' (expected linear or cosine)")
    abar = np.cumprod(1.0 - np.array(beta))
    return torch.from_numpy(np.sqrt(abar)), torch.from_numpy(np.sqrt(1.0 - abar))


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="twin.py train", description="train a Diffuscope UNet or point MLP in PyTorch")
    ap.add_argument("--model", choices=("unet", "mlp"), default="unet")
    ap.add_argument("--data", default=datasets.FASHION_DIR,
                    help="unet: the Fashion-MNIST folder (default), or --images DIR; mlp: an 'x y' point file")
    ap.add_argument("--images", help="a folder of images, one class per subfolder (or none)")
    ap.add_argument("--image-size", type=int, default=32, help="--images: the model's size (default 32, as train --images)")
    ap.add_argument("--channels", type=int, choices=(0, 1, 3), default=0, help="--images: 1 grey, 3 RGB, 0 from the data")
    ap.add_argument("--bad-images", choices=("refuse", "skip"), default="refuse")
    ap.add_argument("--steps", type=int, default=10000, help="train until step N in total")
    ap.add_argument("--batch", type=int, help="global batch (default 64 unet, 256 mlp), split over the processes")
    ap.add_argument("--lr", type=float, help="peak lr (default 1e-3 unet, 2e-3 mlp)")
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--decay-steps", type=int, default=0)
    ap.add_argument("--min-lr-ratio", type=float, default=0.1)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--schedule", choices=("linear", "cosine"), default="linear")
    ap.add_argument("--T", type=int, default=1000)
    ap.add_argument("--p-uncond", type=float, default=0.1, help="label dropout (unet with classes)")
    ap.add_argument("--objective", choices=("diffusion", "flow"), default="diffusion", help="mlp only")
    ap.add_argument("--prediction", choices=("eps", "v"), default="eps",
                    help="unet only: learn the noise or v = sqrt(abar) eps - sqrt(1 - abar) x0")
    ap.add_argument("--min-snr", type=float, default=0.0, help="unet only: min-SNR-gamma loss weighting (0 = off)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--base", type=int, default=32)
    ap.add_argument("--mult", default="1,2,2")
    ap.add_argument("--res-blocks", type=int, default=1)
    ap.add_argument("--attention", action="store_true", help="unet only: self-attention after the mid block")
    ap.add_argument("--groups", type=int, default=8)
    ap.add_argument("--temb", type=int, help="time embedding (default 128 unet, 32 mlp)")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--init", help="start from the weights of this .dsw (its config overrides the shape flags)")
    ap.add_argument("--checkpoint", default="twin.pt", help="checkpoint path (rank 0 writes it)")
    ap.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    ap.add_argument("--checkpoint-every", type=int, default=1000, help="steps between checkpoints")
    ap.add_argument("--out", help="also write the EMA weights to this .dsw at the end")
    ap.add_argument("--dtype", choices=("f16", "f32", "q8"), default="f16")
    ap.add_argument("--log-every", type=int, default=100, help="steps between log lines")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads per process (0: PyTorch's default)")
    ap.add_argument("--cpu", action="store_true", help="stay on the CPU even when CUDA is there")
    a = ap.parse_args(argv)
    a.batch = a.batch or (64 if a.model == "unet" else 256)
    a.lr = a.lr or (1e-3 if a.model == "unet" else 2e-3)
    a.temb = a.temb or (128 if a.model == "unet" else 32)
    if a.model == "mlp":
        a.p_uncond = 0.0
    if not 1 <= a.T <= 1000:
        ap.error(f"--T must be 1..1000, got {a.T}")
    if not 0 <= a.p_uncond <= 1:
        ap.error(f"--p-uncond must be in [0, 1], got {a.p_uncond}")
    return a


def load_data(a):
    if a.model == "mlp":
        if a.images or os.path.isdir(a.data):
            raise ValueError("--model mlp trains on 2-D points: pass --data POINTS.txt ('x y' lines)")
        return datasets.load_points(a.data)
    if a.images:
        return datasets.load_image_folder(a.images, a.image_size, a.channels, a.bad_images)
    return datasets.load_fashion(a.data)


def build_model(a, ds):
    if a.init:
        from .model import from_dsw
        with open(a.init, "rb") as f:
            model, _ = from_dsw(f.read())
        if model.kind != (UNet.kind if a.model == "unet" else MLP.kind):
            raise ValueError(f"--init {a.init} holds a {'UNet' if model.kind == UNet.kind else 'point MLP'}, "
                             f"not a --model {a.model}")
        if a.model == "unet" and (tuple(model.image_shape) != tuple(ds.x.shape[1:]) or
                                  model.n_classes != len(ds.class_names)):
            raise ValueError(f"--init {a.init}: a UNet for {model.image_shape} images and {model.n_classes} classes, "
                             f"but the data are {tuple(ds.x.shape[1:])} with {len(ds.class_names)} classes")
        return model
    if a.model == "mlp":
        return MLP((2, a.hidden, a.layers, a.temb))
    mult = [int(v) for v in a.mult.split(",")]
    if not 1 <= len(mult) <= 4:
        raise ValueError(f"--mult takes 1..4 comma-separated ints, got {a.mult!r}")
    C, S = ds.x.shape[1], ds.x.shape[2]
    config = (S, C, a.base, len(mult), *(mult + [0] * (4 - len(mult))), a.res_blocks, a.groups, a.temb,
              len(ds.class_names)) + ((1,) if a.attention else ())
    return UNet(config)


class BatchDrawer:
    """The global batch of one step from one generator: (x_t, t, class, target, weight), in float32;
    weight (B) is None when every item weighs 1 (diffuscope train's unet_train.h: ds_diffusion_target)."""

    def __init__(self, a, ds, model):
        self.a, self.ds = a, ds
        self.x = torch.from_numpy(ds.x)
        self.labels = torch.from_numpy(ds.labels)
        self.gen = torch.Generator().manual_seed(a.seed * 1000003 + 12345)
        self.sqrt_abar, self.sqrt_1m = schedule(a.schedule, a.T)
        self.n_classes = getattr(model, "n_classes", 0)

    def draw(self):
        a, g, B = self.a, self.gen, self.a.batch
        idx = torch.randint(0, self.x.shape[0], (B,), generator=g)
        x0 = self.x[idx]
        if a.model == "mlp" and a.objective == "flow":
            t = torch.rand(B, generator=g, dtype=torch.float64)
            e = torch.randn(x0.shape, generator=g, dtype=torch.float64)
            x0d = x0.double()
            xt = ((1 - t[:, None]) * x0d + t[:, None] * e).float()
            return xt, (FLOW_TIME_SCALE * t).float(), torch.zeros(B, dtype=torch.long), (e - x0d).float(), None
        t = torch.randint(1, a.T + 1, (B,), generator=g)
        u = torch.rand(B, generator=g, dtype=torch.float64)
        eps = torch.randn(x0.shape, generator=g)
        shape = (B,) + (1,) * (x0.dim() - 1)
        sa = self.sqrt_abar[t - 1].float().view(shape)
        sg = self.sqrt_1m[t - 1].float().view(shape)
        cls = torch.where(u < a.p_uncond, torch.full_like(self.labels[idx], self.n_classes), self.labels[idx]) \
            if self.ds.class_names else torch.full((B,), self.n_classes, dtype=torch.long)
        target = sa * eps - sg * x0 if a.prediction == "v" else eps
        weight = None
        if a.min_snr > 0:
            snr = self.sqrt_abar[t - 1].double() ** 2 / self.sqrt_1m[t - 1].double() ** 2
            weight = (torch.clamp(snr, max=a.min_snr) / (snr + 1 if a.prediction == "v" else snr)).float()
        return sa * x0 + sg * eps, t.float(), cls, target, weight


def setup_distributed(a):
    """(rank, world, device): torchrun's environment, or one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available() and not a.cpu
    device = torch.device(f"cuda:{local}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    if world > 1:
        dist.init_process_group("nccl" if cuda else "gloo")
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.batch % world:
        raise ValueError(f"--batch {a.batch} must divide evenly over {world} processes")
    return rank, world, device


def meta_of(a, ds):
    return {"schedule": a.schedule, "T": a.T,
            "prediction": "flow" if a.model == "mlp" and a.objective == "flow" else a.prediction,
            "class_names": list(ds.class_names)}


def save_checkpoint(path, model, opt, drawer, step, meta, objective):
    state = {"kind": model.kind, "config": model.config, "model": {k: v.cpu() for k, v in model.state_dict().items()},
             "optim": {k: ([x.cpu() for x in v] if isinstance(v, list) else v) for k, v in opt.state_dict().items()},
             "generator": drawer.gen.get_state(), "step": step, "meta": meta, "objective": objective}
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)  # nothing half-written


def train(argv):
    a = parse_args(argv)
    rank, world, device = setup_distributed(a)
    ds = load_data(a)
    torch.manual_seed(a.seed)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    model = build_model(a, ds).to(device)
    opt = Optimizer(model.parameters(), OptimConfig(
        lr=a.lr, weight_decay=a.weight_decay, clip_norm=a.clip, warmup_steps=a.warmup, decay_steps=a.decay_steps,
        min_lr_ratio=a.min_lr_ratio, ema_decay=a.ema))
    if a.model != "unet" and (a.prediction != "eps" or a.min_snr):
        raise ValueError("--prediction and --min-snr are for --model unet")
    if not 0 <= a.min_snr <= 1e6:
        raise ValueError(f"--min-snr must be in 0..1e6 (0 = off), got {a.min_snr}")
    drawer = BatchDrawer(a, ds, model)
    meta, step = meta_of(a, ds), 0
    if a.resume:
        ck = torch.load(a.checkpoint, map_location="cpu")
        if tuple(ck["config"]) != tuple(model.config):
            raise ValueError(f"{a.checkpoint}: the checkpoint's model config {tuple(ck['config'])} is not this run's "
                             f"{tuple(model.config)}")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optim"])
        drawer.gen.set_state(ck["generator"])
        step, meta = ck["step"], ck["meta"]
        a.prediction, a.min_snr = ck.get("objective", ("eps", 0.0))  # the run's own target, as C's resume
    net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None) \
        if world > 1 else model
    lo, hi = rank * a.batch // world, (rank + 1) * a.batch // world
    if rank == 0:
        n = sum(p.numel() for p in model.parameters())
        print(f"twin: {a.model} {model.config}, {n} parameters; {len(ds.x)} items, classes {ds.class_names}; "
              f"{world} process(es) on {device.type}, global batch {a.batch}; steps {step}..{a.steps}", flush=True)
    t0, items = time.perf_counter(), 0
    while step < a.steps:
        xt, t, cls, target, weight = (None if v is None else v[lo:hi].to(device, non_blocking=True) for v in drawer.draw())
        if weight is None:
            loss = F.mse_loss(net(xt, t, cls), target)
        else:  # each item's squared error times its weight, over the whole slice: C's ds_mse_backward_weighted
            err = (net(xt, t, cls) - target) ** 2
            loss = (err * weight.view((-1,) + (1,) * (err.dim() - 1))).mean()
        model.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        items += a.batch
        if step % a.log_every == 0 or step == a.steps:
            report = loss.detach().clone()
            if world > 1:
                dist.all_reduce(report)
                report /= world
            if rank == 0:
                rate = items / (time.perf_counter() - t0)
                print(f"step {step}: loss {float(report):.5f}, lr {opt.last_lr:.3g}, grad norm {opt.last_grad_norm:.3f}, "
                      f"{rate:.1f} items/s", flush=True)
            t0, items = time.perf_counter(), 0
        if rank == 0 and (step % a.checkpoint_every == 0 or step == a.steps):
            save_checkpoint(a.checkpoint, model, opt, drawer, step, meta, (a.prediction, a.min_snr))
    if rank == 0 and a.out:
        from .export import export_checkpoint
        export_checkpoint(a.checkpoint, a.out, a.dtype)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
