# optim.py — src/optim.c in torch: Adam(W) with bias corrections kept as running products,
# global-norm clipping in double, linear warm-up then an optional cosine decay to a floor, and
# an EMA of the weights with the (1 + s) / (10 + s) warm-up; float32 arithmetic in the C order,
# so a step from the same gradient lands on the same weights to rounding (tests/torch/test_twin.py
# measures it). torch.optim.AdamW differs in where eps and the bias corrections enter.
# Not here: the loss and the data (train.py).
import math
from dataclasses import asdict, dataclass

import torch


@dataclass
class OptimConfig:
    """ds_optim_config, with tools/cmd_train.c's defaults for the UNet."""
    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0   # decoupled (AdamW) decay per unit lr
    clip_norm: float = 1.0      # 0 = no clipping
    warmup_steps: int = 500
    decay_steps: int = 0        # cosine decay ending at this step; 0 = none
    decay_start: int = 0
    min_lr_ratio: float = 0.1
    ema_decay: float = 0.999    # 0 = no EMA
    ema_warmup: bool = True

    def check(self):
        if not 1e-12 <= self.lr <= 10:
            raise ValueError(f"learning rate {self.lr} is out of range [1e-12, 10]")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1 and self.eps > 0):
            raise ValueError("Adam betas must be in [0, 1) and eps > 0")
        if not (0 <= self.weight_decay <= 10 and self.clip_norm >= 0 and 0 <= self.ema_decay < 1):
            raise ValueError("weight decay must be in [0, 10], clip >= 0, EMA decay in [0, 1)")
        if self.warmup_steps < 0 or self.decay_steps < 0 or not 0 <= self.min_lr_ratio <= 1:
            raise ValueError("warm-up and decay steps must be >= 0, the minimum lr ratio in [0, 1]")
        if self.decay_steps and self.decay_steps <= max(self.warmup_steps, self.decay_start):
            raise ValueError(f"decay steps ({self.decay_steps}) must exceed the warm-up ({self.warmup_steps}) "
                             f"and the decay start ({self.decay_start}), or be 0 for no decay")
        return self


def learning_rate(c, step):
    """ds_optim_lr: the lr of update number `step` (0-based)."""
    if c.warmup_steps > 0 and step < c.warmup_steps:
        return c.lr * (step + 1) / c.warmup_steps
    if c.decay_steps > 0:
        start = max(c.decay_start, c.warmup_steps)
        if step < start:
            return c.lr
        done = min((step - start) / (c.decay_steps - start), 1.0)
        floor_lr = c.lr * c.min_lr_ratio
        return floor_lr + (c.lr - floor_lr) * 0.5 * (1.0 + math.cos(math.pi * done))
    return c.lr


class Optimizer:
    """ds_optim over a list of parameters (each its own tensor; the C side has one blob)."""

    def __init__(self, params, config):
        self.cfg = config.check()
        self.params = list(params)
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.ema = [p.detach().clone() for p in self.params] if config.ema_decay > 0 else None
        self.step_count = 0
        self.beta1_pow = 1.0
        self.beta2_pow = 1.0
        self.last_grad_norm = 0.0
        self.last_lr = 0.0

    @torch.no_grad()
    def clip(self):
        """ds_grad_clip over every gradient at once: the norm in double, one float scale."""
        norm = math.sqrt(float(torch.stack([(p.grad.double() ** 2).sum() for p in self.params]).sum()))  # one sync
        if math.isfinite(norm) and self.cfg.clip_norm > 0 and norm > self.cfg.clip_norm:
            scale = torch.tensor(self.cfg.clip_norm / norm, dtype=torch.float32)
            for p in self.params:
                p.grad.mul_(scale.to(p.device))
        return norm

    @torch.no_grad()
    def step(self):
        """Clip, Adam(W), EMA. Raises (nothing changed but the clipping) on a non-finite gradient."""
        c = self.cfg
        norm = self.clip()
        self.last_grad_norm = norm
        if not math.isfinite(norm):
            raise FloatingPointError(f"optimiser step {self.step_count}: gradient is not finite (norm {norm}); "
                                     "parameters unchanged")
        lr = learning_rate(c, self.step_count)
        self.last_lr = lr
        self.beta1_pow *= c.beta1
        self.beta2_pow *= c.beta2
        f = lambda v: torch.tensor(v, dtype=torch.float32)  # noqa: E731  (C's float casts of doubles)
        b1, b2, one_b1, one_b2 = f(c.beta1), f(c.beta2), f(1.0 - c.beta1), f(1.0 - c.beta2)
        inv_bc1, inv_bc2 = f(1.0 / (1.0 - self.beta1_pow)), f(1.0 / (1.0 - self.beta2_pow))
        eps, lr_f, decay = f(c.eps), f(lr), f(lr * c.weight_decay)
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad
            m.copy_(b1 * m + one_b1 * g)
            v.copy_(b2 * v + one_b2 * (g * g))
            update = lr_f * ((m * inv_bc1) / (torch.sqrt(v * inv_bc2) + eps)) + decay * p
            p.sub_(update)
        self.step_count += 1
        if self.ema is not None:
            d = c.ema_decay
            if c.ema_warmup:
                d = min(d, (1.0 + self.step_count) / (10.0 + self.step_count))
            df, one_d = f(d), f(1.0 - d)
            for e, p in zip(self.ema, self.params):
                e.copy_(df * e + one_d * p)

    def state_dict(self):
        return {"config": asdict(self.cfg), "m": self.m, "v": self.v, "ema": self.ema, "step": self.step_count,
                "beta1_pow": self.beta1_pow, "beta2_pow": self.beta2_pow}

    def load_state_dict(self, s):
        self.cfg = OptimConfig(**s["config"]).check()
        for dst, src in ((self.m, s["m"]), (self.v, s["v"])) + (((self.ema, s["ema"]),) if self.ema else ()):
            for d, v in zip(dst, src):
                d.copy_(v)
        self.step_count, self.beta1_pow, self.beta2_pow = s["step"], s["beta1_pow"], s["beta2_pow"]
