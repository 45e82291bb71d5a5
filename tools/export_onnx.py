#!/usr/bin/python3
# export_onnx.py — writes an ONNX graph of a Diffuscope UNet from its .dsw weights file, so
# other runtimes (onnxruntime-web in tools/bench_wasm.mjs) can run the very same network.
#
#   /usr/bin/python3 tools/export_onnx.py WEIGHTS.dsw OUT.onnx
#
# Needs Debian's python3-onnx and python3-numpy (call /usr/bin/python3, not a pyenv python).
# The graph follows docs/model.md layer by layer (opset 17, batch dimension free):
#   inputs  x (B, C_img, S, S) float32, t (B) float32 in [0, 1000], cls (B) int64 0..n_classes
#   output  eps (B, C_img, S, S) float32
# GroupNorm is InstanceNormalization over a (B, G, C/G*H*W) view, then the per-channel
# affine (opset 17 has no per-channel GroupNormalization). The sinusoidal embedding runs in
# double, like the engine's, and is rounded to float once. Only the UNet is exported; the
# point MLP is too small to be worth benchmarking. Not here: running or comparing (the
# benchmark and tests/wasm/onnx.test.mjs do that).
import math
import os
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dsw import UNET_KIND, read_dsw  # noqa: E402  (the one .dsw reader)

GN_EPS = 1e-5


class Graph:
    """Collects nodes and initializers; every value gets a fresh name."""

    def __init__(self, tensors):
        self.tensors, self.nodes, self.inits, self.count = tensors, [], [], 0

    def fresh(self, hint):
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, array, hint="c"):
        name = self.fresh(hint)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(self, name):
        self.inits.append(numpy_helper.from_array(self.tensors[name], name))
        return name

    def op(self, op_type, inputs, hint=None, **attrs):
        out = self.fresh(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def silu(self, x):
        return self.op("Mul", [x, self.op("Sigmoid", [x])], "silu")

    def linear(self, x, prefix):
        return self.op("Gemm", [x, self.weight(prefix + ".weight"), self.weight(prefix + ".bias")], prefix, transB=1)

    def conv(self, x, prefix, stride=1):
        k = self.tensors[prefix + ".weight"].shape[2]
        p = k // 2
        return self.op("Conv", [x, self.weight(prefix + ".weight"), self.weight(prefix + ".bias")], prefix,
                       kernel_shape=[k, k], pads=[p, p, p, p], strides=[stride, stride])

    def groupnorm(self, x, prefix, groups, channels):
        shape_in = self.op("Shape", [x])
        grouped = self.op("Reshape", [x, self.const(np.array([0, groups, -1], np.int64))])
        normed = self.op("InstanceNormalization", [grouped, self.const(np.ones(groups, np.float32)),
                                                   self.const(np.zeros(groups, np.float32))], epsilon=GN_EPS)
        back = self.op("Reshape", [normed, shape_in])
        gamma = self.const(self.tensors[prefix + ".weight"].reshape(channels, 1, 1), prefix + "_w")
        beta = self.const(self.tensors[prefix + ".bias"].reshape(channels, 1, 1), prefix + "_b")
        return self.op("Add", [self.op("Mul", [back, gamma]), beta], prefix)


def resblock(g, h, eact, prefix, cin, cout, groups):
    a = g.conv(g.silu(g.groupnorm(h, prefix + "norm1", groups, cin)), prefix + "conv1")
    proj = g.op("Unsqueeze", [g.linear(eact, prefix + "emb"), g.const(np.array([2, 3], np.int64))])
    a = g.op("Add", [a, proj])
    o = g.conv(g.silu(g.groupnorm(a, prefix + "norm2", groups, cout)), prefix + "conv2")
    return g.op("Add", [o, g.conv(h, prefix + "skip") if cin != cout else h], prefix + "out")


def attention(g, h, channels, groups):
    """The mid block's one-head self-attention (docs/model.md): qkv = 1x1 conv of GroupNorm(h);
    probs = softmax(q^T k / sqrt(C)) over the keys; h + proj(v probs^T)."""
    qkv = g.conv(g.groupnorm(h, "mid.attn.norm", groups, channels), "mid.attn.qkv")
    flat = g.op("Reshape", [qkv, g.const(np.array([0, 3, channels, -1], np.int64))])  # (B, 3, C, N)
    # a scalar index drops the axis: (B, C, N) each
    q, k, v = (g.op("Gather", [flat, g.const(np.array(i, np.int64))], axis=1) for i in range(3))
    scores = g.op("MatMul", [g.op("Transpose", [q], perm=[0, 2, 1]), k])  # (B, N, N): query rows, key columns
    scaled = g.op("Mul", [scores, g.const(np.array(1.0 / math.sqrt(channels), np.float32), "scale")])
    probs = g.op("Softmax", [scaled], axis=-1)
    mixed = g.op("MatMul", [v, g.op("Transpose", [probs], perm=[0, 2, 1])])  # (B, C, N)
    image = g.op("Reshape", [mixed, g.op("Shape", [h])])
    return g.op("Add", [h, g.conv(image, "mid.attn.proj")], "mid.attn.out")


def build_unet(config, tensors):
    S, C_img, base, L = config[0], config[1], config[2], config[3]
    mult, R, G, E, n_classes = config[4:8], config[8], config[9], config[10], config[11]
    ch = [base * mult[l] for l in range(L)]
    g = Graph(tensors)

    # time and class: sinusoidal embedding in double, rounded to float once (as the engine)
    half = E // 2
    freq = np.array([math.exp(-math.log(10000.0) * i / half) for i in range(half)], np.float64).reshape(1, half)
    t64 = g.op("Unsqueeze", [g.op("Cast", ["t"], to=TensorProto.DOUBLE), g.const(np.array([1], np.int64))])
    arg = g.op("Mul", [t64, g.const(freq, "freq")])
    e0 = g.op("Cast", [g.op("Concat", [g.op("Sin", [arg]), g.op("Cos", [arg])], axis=1)], to=TensorProto.FLOAT)
    e1 = g.silu(g.linear(e0, "temb.fc1"))
    emb = g.op("Add", [g.linear(e1, "temb.fc2"), g.op("Gather", [g.weight("class_emb.weight"), "cls"], axis=0)])
    eact = g.silu(emb)

    h, c = g.conv("x", "conv_in"), ch[0]
    skips = []
    for l in range(L):
        for r in range(R):
            h, c = resblock(g, h, eact, f"down.{l}.res.{r}.", c, ch[l], G), ch[l]
        skips.append(h)
        if l < L - 1:
            h = g.conv(h, f"down.{l}.downsample", stride=2)
    h = resblock(g, h, eact, "mid.res.", c, c, G)
    if len(config) > 12 and config[12]:
        h = attention(g, h, c, G)
    for l in range(L - 1, -1, -1):
        h, c = g.op("Concat", [h, skips[l]], axis=1), c + ch[l]
        for r in range(R):
            h, c = resblock(g, h, eact, f"up.{l}.res.{r}.", c, ch[l], G), ch[l]
        if l > 0:  # nearest 2x: y[i] = x[i // 2]
            h = g.op("Resize", [h, "", g.const(np.array([1, 1, 2, 2], np.float32), "scales")], mode="nearest",
                     coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    h = g.silu(g.groupnorm(h, "out_norm", G, ch[0]))
    g.nodes.append(helper.make_node("Conv", [h, g.weight("conv_out.weight"), g.weight("conv_out.bias")], ["eps"],
                                    kernel_shape=[3, 3], pads=[1, 1, 1, 1]))

    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", C_img, S, S]),
              helper.make_tensor_value_info("t", TensorProto.FLOAT, ["B"]),
              helper.make_tensor_value_info("cls", TensorProto.INT64, ["B"])]
    outputs = [helper.make_tensor_value_info("eps", TensorProto.FLOAT, ["B", C_img, S, S])]
    graph = helper.make_graph(g.nodes, "diffuscope_unet", inputs, outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="diffuscope")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: export_onnx.py WEIGHTS.dsw OUT.onnx\n")
        return 2
    try:
        with open(argv[1], "rb") as f:
            kind, config, tensors = read_dsw(f.read())
    except (OSError, ValueError, struct.error) as err:
        sys.stderr.write(f"export_onnx: cannot read {argv[1]}: {err}\n")
        return 1
    if kind != UNET_KIND:
        sys.stderr.write(f"export_onnx: {argv[1]} holds model kind {kind}; only the UNet (kind 1) is exported\n")
        return 1
    model = build_unet(config, tensors)
    tmp = argv[2] + ".tmp"
    with open(tmp, "wb") as f:
        f.write(model.SerializeToString())
    os.replace(tmp, argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
