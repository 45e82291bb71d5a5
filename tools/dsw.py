#!/usr/bin/python3
# dsw.py — reads and writes Diffuscope's .dsw weights files (docs/model.md, "The .dsw file")
# with numpy, for the Python peers: the ONNX exporter, the PyTorch training benchmark and the
# PyTorch twin (tools/torch/). The writer produces the bytes src/weights.c's ds_weights_write
# produces (f32, f16 round-to-nearest-even, q8 with one f32 scale per row and 1-D and thin
# tensors in f16; version 1 when the description is the default, else 2), checked byte for byte by
# tests/torch/test_twin.py. Not here: building a network (export_onnx.py, tools/torch/).
import struct

import numpy as np

UNET_KIND = 1
MLP_KIND = 2
MAGIC = b"DSCW"
HEADER_BYTES = 256
VERSIONS = (1, 2)
DTYPES = {"f32": 0, "f16": 1, "q8": 2}
SCHEDULES = ("linear", "cosine")
PREDICTIONS = {0: "eps", 1: "v", 2: "flow"}
MAX_CONFIG = 32
F16_LIMIT = 65520.0  # |x| >= this rounds to infinity in f16


def default_meta():
    """What a version-1 file means: linear schedule, T = 1000, ε-prediction, no class names."""
    return {"schedule": "linear", "T": 1000, "prediction": "eps", "class_names": []}


def read_dsw(data, with_meta=False):
    """Returns (kind, config ints, {name: float32 array}) from the bytes of a .dsw file, and the
    description (schedule, T, prediction, class_names) as a fourth item when with_meta is set.
    Tensors keep the file's order (the table order for files Diffuscope wrote)."""
    version = struct.unpack_from("<I", data, 4)[0] if len(data) >= 8 else 0
    if data[:4] != MAGIC or version not in VERSIONS:
        raise ValueError(f"not a .dsw file of format 1 or 2 (bad magic, or format {version}: update this tool)")
    kind, n_config = struct.unpack_from("<II", data, 8)
    config = struct.unpack_from(f"<{n_config}i", data, 16)
    n_tensors = struct.unpack_from("<I", data, 144)[0]
    meta, at = default_meta(), HEADER_BYTES
    if version == 2:  # the description, and the class-name block between the header and the tensors
        sched, steps, pred, n_names = struct.unpack_from("<4I", data, 160)
        if sched >= len(SCHEDULES) or pred not in PREDICTIONS:
            raise ValueError(f"unknown schedule kind {sched} or prediction target {pred}: update this tool")
        meta.update(schedule=SCHEDULES[sched], T=steps, prediction=PREDICTIONS[pred])
        for _ in range(n_names):
            n = struct.unpack_from("<I", data, at)[0]
            meta["class_names"].append(data[at + 4: at + 4 + n].decode())
            at += 4 + (n + 3) // 4 * 4
    tensors = {}
    for _ in range(n_tensors):
        n = struct.unpack_from("<I", data, at)[0]
        name = data[at + 4: at + 4 + n].decode()
        at += 4 + (n + 3) // 4 * 4
        dtype, ndim = struct.unpack_from("<II", data, at)
        at += 8
        dims = struct.unpack_from(f"<{ndim}I", data, at)
        at += 4 * ndim
        count = int(np.prod(dims))
        if dtype == 2:  # q8: f32 scale per row (dims[0]), then int8 values
            scale = np.frombuffer(data, np.float32, dims[0], at)
            q = np.frombuffer(data, np.int8, count, at + 4 * dims[0]).reshape(dims[0], -1)
            tensors[name] = (q.astype(np.float32) * scale[:, None]).reshape(dims)
            at += (4 * dims[0] + count + 3) // 4 * 4
            continue
        dt = np.float32 if dtype == 0 else np.float16
        tensors[name] = np.frombuffer(data, dt, count, at).reshape(dims).astype(np.float32)
        at += (count * np.dtype(dt).itemsize + 3) // 4 * 4
    return (kind, config, tensors, meta) if with_meta else (kind, config, tensors)


def fnv1a64(data):
    """FNV-1a-64 of the bytes (the file's trailing checksum)."""
    h, prime, mask = 0xcbf29ce484222325, 0x100000001b3, 0xffffffffffffffff
    for byte in data:
        h = ((h ^ byte) * prime) & mask
    return h


def _pad4(b):
    return b + bytes(-len(b) % 4)


def _encode_q8(w):
    """One f32 scale per row (max |w| / 127), then int8 floor(w / scale + 0.5) clamped to ±127,
    in float32 arithmetic as src/weights.c's encode_q8."""
    rows = w.reshape(w.shape[0], -1)
    scale = (np.abs(rows).max(axis=1) / np.float32(127)).astype(np.float32)
    safe = np.where(scale > 0, scale, np.float32(1))[:, None]
    q = np.where(scale[:, None] > 0, np.floor(rows / safe + np.float32(0.5)), np.float32(0))
    return scale.tobytes() + np.clip(q, -127, 127).astype(np.int8).tobytes()


def _check_meta(meta):
    if meta["schedule"] not in SCHEDULES:
        raise ValueError(f"schedule must be linear or cosine, not {meta['schedule']!r}")
    if not 1 <= int(meta["T"]) <= 1000:
        raise ValueError(f"schedule T = {meta['T']} is out of range 1..1000")
    if meta["prediction"] not in PREDICTIONS.values():
        raise ValueError(f"prediction must be eps, v or flow, not {meta['prediction']!r}")
    names = meta["class_names"]
    if len(set(names)) != len(names) or len(names) > 256:
        raise ValueError("class names must be distinct, at most 256")
    for i, n in enumerate(names):
        b = n.encode()
        if not 1 <= len(b) <= 31 or any(c < 32 or c == 127 for c in b):
            raise ValueError(f"class name #{i} {n!r}: 1..31 bytes of UTF-8 without control characters")


def _takes_q8(w):
    """src/weights.c's stored_dtype: q8 only for tensors of at least 8 rows of at least 16 values;
    1-D tensors and the thin ends (the UNet's conv_in, conv_out) stay f16."""
    return w.ndim >= 2 and w.shape[0] >= 8 and w.size // w.shape[0] >= 16


def write_dsw(kind, config, tensors, dtype="f16", meta=None):
    """The bytes of a .dsw file. tensors: (name, array) pairs in the model's table order (a dict
    keeps its order); dtype f32, f16 or q8; meta as read_dsw's fourth item (None: the default)."""
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r} (f32, f16 or q8)")
    meta = dict(default_meta(), **(meta or {}))
    _check_meta(meta)
    items = list(tensors.items()) if isinstance(tensors, dict) else list(tensors)
    if not items or len(config) > MAX_CONFIG:
        raise ValueError(f"write_dsw: {len(items)} tensors, {len(config)} config ints")
    version = 1 if meta == default_meta() else 2
    names = [n.encode() for n in meta["class_names"]]
    head = bytearray(HEADER_BYTES)
    head[0:4] = MAGIC
    struct.pack_into("<III", head, 4, version, kind, len(config))
    struct.pack_into(f"<{len(config)}i", head, 16, *config)
    struct.pack_into("<II", head, 144, len(items), HEADER_BYTES)
    if version == 2:
        block = b"".join(struct.pack("<I", len(n)) + _pad4(n) for n in names)
        struct.pack_into("<5I", head, 160, SCHEDULES.index(meta["schedule"]), int(meta["T"]),
                         {v: k for k, v in PREDICTIONS.items()}[meta["prediction"]], len(names), len(block))
    body = [bytes(head), block if version == 2 else b""]
    for name, value in items:
        w = np.ascontiguousarray(value, dtype=np.float32)
        if not np.isfinite(w).all():
            raise ValueError(f"write_dsw: tensor '{name}' holds a non-finite value at index {int(np.argmin(np.isfinite(w.ravel())))}")
        stored = "f16" if dtype == "q8" and not _takes_q8(w) else dtype
        if stored == "f16" and (np.abs(w) >= F16_LIMIT).any():
            raise ValueError(f"write_dsw: tensor '{name}' holds a value that does not fit in f16")
        data = w.tobytes() if stored == "f32" else w.astype("<f2").tobytes() if stored == "f16" else _encode_q8(w)
        body.append(struct.pack("<I", len(name)) + _pad4(name.encode()) +
                    struct.pack(f"<II{w.ndim}I", DTYPES[stored], w.ndim, *w.shape) + _pad4(data))
    out = bytearray(b"".join(body))
    struct.pack_into("<Q", out, 152, len(out) + 8)
    return bytes(out) + struct.pack("<Q", fnv1a64(out))
