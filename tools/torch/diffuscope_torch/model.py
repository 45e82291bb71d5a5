# model.py — the Fashion UNet and the point MLP of docs/model.md as torch.nn modules whose
# state_dict names, shapes and order are the .dsw file's tensor table (so a file loads with
# load_state_dict and a state_dict writes back in table order), with the configs as the
# header's ints. Default PyTorch initialisation is the documented one (U(±1/√fan_in) for convs
# and linears, GroupNorm 1/0, class embedding N(0, 1)). Not here: the file bytes (tools/dsw.py),
# training (train.py).
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dsw import MLP_KIND, UNET_KIND, read_dsw, write_dsw  # tools/dsw.py, the one .dsw reader and writer

GN_EPS = 1e-5
UNET_FIELDS = ("image_size", "in_channels", "base_channels", "n_levels", "mult0", "mult1", "mult2", "mult3",
               "n_res_blocks", "groups", "temb_dim", "n_classes")  # then "attention" (1), only when there is one
UNET_DEFAULT = (28, 1, 32, 3, 1, 2, 2, 0, 1, 8, 128, 10)
MLP_FIELDS = ("data_dim", "hidden", "n_layers", "temb_dim")
MLP_DEFAULT = (2, 128, 4, 32)


def sinusoidal(t, dim):
    """(B) float timesteps -> (B, dim): sin of t·freq_i then cos, evaluated in double and
    rounded to float once, as the engine does (docs/model.md)."""
    half = dim // 2
    freq = torch.tensor([math.exp(-math.log(10000.0) * i / half) for i in range(half)], dtype=torch.float64,
                        device=t.device)
    arg = t.double()[:, None] * freq[None, :]
    return torch.cat([torch.sin(arg), torch.cos(arg)], 1).float()


def check_unet_config(c):
    """The ranges of the engine's ds_unet_config_validate, so a bad shape fails here, not in C."""
    if len(c) not in (12, 13):
        raise ValueError(f"a UNet config has 12 ints ({', '.join(UNET_FIELDS)}), and a 13th (attention) only "
                         f"with attention; got {len(c)}")
    if len(c) == 13 and c[12] != 1:
        raise ValueError(f"unet attention (a 13th config int) must be 1, not {c[12]} (files without attention have 12)")
    S, C, base, L, R, G, E, n_cls = c[0], c[1], c[2], c[3], c[8], c[9], c[10], c[11]
    for name, v, lo, hi in (("image_size", S, 4, 256), ("in_channels", C, 1, 4), ("base_channels", base, 1, 256),
                            ("n_levels", L, 1, 4), ("n_res_blocks", R, 1, 3), ("groups", G, 1, 64),
                            ("temb_dim", E, 2, 1024), ("n_classes", n_cls, 0, 1000)):
        if not lo <= v <= hi:
            raise ValueError(f"unet {name} = {v} is out of range {lo}..{hi}")
    if S % (1 << (L - 1)):
        raise ValueError(f"unet image_size {S} must be divisible by 2^(n_levels-1) = {1 << (L - 1)}")
    if E % 2:
        raise ValueError(f"unet temb_dim {E} must be even")
    for l in range(4):
        m = c[4 + l]
        if (l < L and not 1 <= m <= 8) or (l >= L and m != 0):
            raise ValueError(f"unet channel_mult[{l}] = {m}: 1..8 for the {L} levels, 0 after them")
        if l < L and (base * m) % G:
            raise ValueError(f"unet groups {G} must divide every channel count ({base * m} at level {l})")
    if base % G:
        raise ValueError(f"unet groups {G} must divide base_channels {base}")


class ResBlock(nn.Module):
    """norm1, conv1, emb, norm2, conv2, skip: the block's tensors in file order."""

    def __init__(self, cin, cout, E, G):
        super().__init__()
        self.norm1 = nn.GroupNorm(G, cin, eps=GN_EPS)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(E, cout)
        self.norm2 = nn.GroupNorm(G, cout, eps=GN_EPS)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, h, eact):
        a = self.conv1(F.silu(self.norm1(h))) + self.emb(eact)[:, :, None, None]
        o = self.conv2(F.silu(self.norm2(a)))
        return o + (self.skip(h) if self.skip is not None else h)


class Level(nn.Module):
    def __init__(self, blocks, downsample_channels=0):
        super().__init__()
        self.res = nn.ModuleList(blocks)
        if downsample_channels:
            self.downsample = nn.Conv2d(downsample_channels, downsample_channels, 3, stride=2, padding=1)


class Attention(nn.Module):
    """h + proj(v softmax(q^T k / sqrt(C))^T), (q, k, v) = qkv(norm(h)): one head over the
    positions, the engine's mid attention (src/unet.c attention_forward)."""

    def __init__(self, C, G):
        super().__init__()
        self.norm = nn.GroupNorm(G, C, eps=GN_EPS)
        self.qkv = nn.Conv2d(C, 3 * C, 1)
        self.proj = nn.Conv2d(C, C, 1)

    def forward(self, h):
        B, C, S, _ = h.shape
        q, k, v = self.qkv(self.norm(h)).reshape(B, 3, C, S * S).unbind(1)
        probs = torch.softmax(torch.bmm(q.transpose(1, 2), k) * (1.0 / math.sqrt(C)), dim=-1)  # (B, N queries, N keys)
        return h + self.proj(torch.bmm(v, probs.transpose(1, 2)).reshape(B, C, S, S))


class Mid(nn.Module):
    def __init__(self, block, attention=None):
        super().__init__()
        self.res = block
        if attention is not None:
            self.attn = attention


class TimeEmbedding(nn.Module):
    def __init__(self, E):
        super().__init__()
        self.fc1 = nn.Linear(E, E)
        self.fc2 = nn.Linear(E, E)


class UNet(nn.Module):
    """eps = unet(x (B, C, S, S), t (B) float in [0, 1000], cls (B) long in 0..n_classes)."""

    kind = UNET_KIND

    def __init__(self, config=UNET_DEFAULT):
        super().__init__()
        config = tuple(int(v) for v in config)
        check_unet_config(config)
        self.config = config
        S, C_img, base, L = config[0:4]
        R, G, E, n_cls = config[8:12]
        ch = [base * config[4 + l] for l in range(L)]
        self.L, self.R, self.E = L, R, E
        # registration order = the file's tensor order (docs/model.md, "Tensors")
        self.temb = TimeEmbedding(E)
        self.class_emb = nn.Embedding(n_cls + 1, E)
        self.conv_in = nn.Conv2d(C_img, ch[0], 3, padding=1)
        down, c = [], ch[0]
        for l in range(L):
            blocks = []
            for _ in range(R):
                blocks.append(ResBlock(c, ch[l], E, G))
                c = ch[l]
            down.append(Level(blocks, ch[l] if l < L - 1 else 0))
        self.down = nn.ModuleList(down)
        self.attention = len(config) == 13
        self.mid = Mid(ResBlock(c, c, E, G), Attention(c, G) if self.attention else None)
        up = {}
        for l in range(L - 1, -1, -1):  # a ModuleDict keeps this order: up.{L-1} first, as in the file
            blocks = []
            for r in range(R):
                blocks.append(ResBlock(c + ch[l] if r == 0 else ch[l], ch[l], E, G))
                c = ch[l]
            up[str(l)] = Level(blocks)
        self.up = nn.ModuleDict(up)
        self.out_norm = nn.GroupNorm(G, ch[0], eps=GN_EPS)
        self.conv_out = nn.Conv2d(ch[0], C_img, 3, padding=1)

    @property
    def image_shape(self):
        return (self.config[1], self.config[0], self.config[0])

    @property
    def n_classes(self):
        return self.config[11]

    def forward(self, x, t, cls):
        e1 = F.silu(self.temb.fc1(sinusoidal(t, self.E)))
        eact = F.silu(self.temb.fc2(e1) + self.class_emb(cls))
        h, skips = self.conv_in(x), []
        for l, level in enumerate(self.down):
            for block in level.res:
                h = block(h, eact)
            skips.append(h)
            if l < self.L - 1:
                h = level.downsample(h)
        h = self.mid.res(h, eact)
        if self.attention:
            h = self.mid.attn(h)
        for l in range(self.L - 1, -1, -1):
            h = torch.cat([h, skips[l]], 1)
            for block in self.up[str(l)].res:
                h = block(h, eact)
            if l > 0:
                h = F.interpolate(h, scale_factor=2, mode="nearest")
        return self.conv_out(F.silu(self.out_norm(h)))


class MLP(nn.Module):
    """eps (or the flow velocity) = mlp(x (B, 2), t (B) float in [0, 1000])."""

    kind = MLP_KIND

    def __init__(self, config=MLP_DEFAULT):
        super().__init__()
        config = tuple(int(v) for v in config)
        if len(config) != 4 or config[0] != 2 or not 1 <= config[1] <= 2048 or not 1 <= config[2] <= 8 \
                or config[3] < 2 or config[3] % 2:
            raise ValueError(f"an MLP config is (data_dim 2, hidden 1..2048, n_layers 1..8, even temb_dim), got {config}")
        self.config = config
        D, H, n_layers, self.E = config
        self.fc = nn.ModuleList([nn.Linear(D + self.E if i == 0 else H, H) for i in range(n_layers)])
        self.fc_out = nn.Linear(H, D)

    def forward(self, x, t, cls=None):
        h = torch.cat([x, sinusoidal(t, self.E)], 1)
        for layer in self.fc:
            h = F.silu(layer(h))
        return self.fc_out(h)


def build(kind, config):
    if kind == UNET_KIND:
        return UNet(config)
    if kind == MLP_KIND:
        return MLP(config)
    raise ValueError(f"unknown model kind {kind} (1 = UNet, 2 = MLP)")


def from_dsw(data):
    """(model, meta) from the bytes of a .dsw file; every tensor must be there with its shape."""
    kind, config, tensors, meta = read_dsw(data, with_meta=True)
    model = build(kind, config)
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()}, strict=True)
    return model, meta


def to_dsw(model, dtype="f16", meta=None):
    """The bytes of a .dsw file of the model's current weights (table order)."""
    tensors = [(k, v.detach().cpu().float().numpy()) for k, v in model.state_dict().items()]
    return write_dsw(model.kind, model.config, tensors, dtype, meta)


def flat(model, tensors=None):
    """The parameters in table order as one float32 numpy vector (the C blob's layout)."""
    values = tensors if tensors is not None else [p.detach() for p in model.parameters()]
    return np.concatenate([v.cpu().float().numpy().ravel() for v in values])
