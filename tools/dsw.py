#!/usr/bin/python3
# dsw.py — reads Diffuscope's .dsw weights files (docs/model.md, "The .dsw file") into numpy,
# for the Python peers: the ONNX exporter and the PyTorch training benchmark.
# Not here: building a network (export_onnx.py, bench_train.py do that).
import struct

import numpy as np

UNET_KIND = 1
MLP_KIND = 2
MAGIC = b"DSCW"
HEADER_BYTES = 256
VERSIONS = (1, 2)


def read_dsw(data):
    """Returns (kind, config ints, {name: float32 array}) from the bytes of a .dsw file."""
    version = struct.unpack_from("<I", data, 4)[0] if len(data) >= 8 else 0
    if data[:4] != MAGIC or version not in VERSIONS:
        raise ValueError(f"not a .dsw file of format 1 or 2 (bad magic, or format {version}: update this tool)")
    kind, n_config = struct.unpack_from("<II", data, 8)
    config = struct.unpack_from(f"<{n_config}i", data, 16)
    n_tensors = struct.unpack_from("<I", data, 144)[0]
    # format 2 puts its class-name block (size at byte 176) between the header and the tensors
    at, tensors = HEADER_BYTES + (struct.unpack_from("<I", data, 176)[0] if version == 2 else 0), {}
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
    return kind, config, tensors
