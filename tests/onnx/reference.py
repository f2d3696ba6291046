#!/usr/bin/env python3
"""An independent forward pass of an ONNX classifier on Fashion-MNIST, for tests/test_import.cpp.

    reference.py MODEL.onnx --samples B [--mean M --std S] [--data-dir DIR] [--exact] [--permute-flatten]

prints

    loss <mean softmax cross-entropy over the B samples>
    correct <samples whose first largest logit is the label>

It reads the ONNX graph and its initialisers and evaluates the nodes in order, in ONNX's own
semantics (NCHW, Gemm/MatMul weights as stored, Flatten in C, H, W order), with numpy; nothing
of satvp is used. The batch is the first B training samples of the Fashion-MNIST files
(/usr/share/datasets/fashion-mnist or $CESTVP_FASHION_MNIST_DIR), normalised as the VP's
firmware does (docs/training.md, "The input"): x = h((p / 255 - mean) / std) in FP32, h being
FP16 rounding. Batch normalisation uses the batch's statistics (training mode, biased variance,
the node's epsilon), as the VP's first training iteration does.

Where the VP stores a tensor in FP16 (every layer's output, docs/training.md) the reference
rounds that node's output to FP16 too, computing in float64 in between; a Gemm or Conv with a
bias is rounded before and after the bias is added, as the VP's `Y = h(float(h(S)) + b)`. The
parts of a layer that an exporter writes as several nodes stay unrounded where the VP keeps
them in FP32: Div and Erf, and Add or Mul with a scalar constant (GELU's erf form
x * (1 + erf(x / sqrt 2)) is rounded once, at x * (...), then halved exactly; attention's scale
multiplies the rounded scores q k^T unrounded, before the softmax). Rounding a value that is
already FP16 changes nothing, so views (Reshape, Transpose, Gather, Concat) need no exception.
`--exact` rounds only the input, which shows how much FP16 moves the loss at all.

The loss is that of the VP's softmax_ce on the logits (docs/training.md, "Loss"): the input of
a final Softmax or LogSoftmax, or the graph's output if there is none.

`--permute-flatten` flattens in H, W, C order instead while keeping the weights: what an
importer that forgot to permute the next layer's columns would compute. `--qkv-heads-first`
reads a 5-D Reshape [N, T, 3, heads, dh] as [N, T, heads, 3, dh] (q, k and v interleaved per
head): what a VP whose attention had that layout would compute. The test's tolerance must be
far below the differences they make.

Ops: Conv (group 1), BatchNormalization, LayerNormalization, Relu, MaxPool, AveragePool,
GlobalAveragePool, Add, Mul, Div, Erf, Flatten, Reshape, Transpose, Gather, Concat, Expand,
Unsqueeze, Shape, Constant, Gemm, MatMul, Dropout and Identity (pass-through), Softmax (the last
axis inside the graph), LogSoftmax.
"""
import argparse
import gzip
import math
import os
import struct
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def fp16(x):
    return np.asarray(x, np.float64).astype(np.float16).astype(np.float64)


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    magic, count = struct.unpack(">II", data[:8])
    if magic == 0x803:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, count * rows * cols, 16).reshape(count, rows, cols)
    if magic == 0x801:
        return np.frombuffer(data, np.uint8, count, 8)
    sys.exit(f"{path}: not an IDX file (magic {magic:#x})")


def fashion_mnist(data_dir, samples, mean, std):
    """The first `samples` training images as FP16-rounded NCHW [B][1][28][28], and labels."""
    def path(stem):
        for name in (stem + ".gz", stem):
            if os.path.exists(os.path.join(data_dir, name)):
                return os.path.join(data_dir, name)
        sys.exit(f"{data_dir}: no {stem}[.gz]")
    images = read_idx(path("train-images-idx3-ubyte"))[:samples]
    labels = read_idx(path("train-labels-idx1-ubyte"))[:samples]
    # the firmware's host::normalise, one FP32 rounding per operation
    p = images.astype(np.float32) / np.float32(255.0)
    x = ((p - np.float32(mean)) / np.float32(std)).astype(np.float16)
    return x.astype(np.float64)[:, None, :, :], labels.astype(np.int64)


def attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def windows(x, kh, kw, stride):
    """[N][C][OH][OW][kh][kw] views of x's kh x kw windows (no padding)."""
    n, c, h, w = x.shape
    oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
    s = x.strides
    return np.lib.stride_tricks.as_strided(x, (n, c, oh, ow, kh, kw),
                                           (s[0], s[1], s[2] * stride, s[3] * stride, s[2], s[3]))


def conv(node, x, w, b):
    if attr(node, "group", 1) != 1 or list(attr(node, "dilations", [1, 1])) != [1, 1]:
        sys.exit(f"{node.name}: only group 1 and dilation 1")
    pads = list(attr(node, "pads", [0, 0, 0, 0]))
    stride = list(attr(node, "strides", [1, 1]))
    assert stride[0] == stride[1]
    x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    win = windows(np.ascontiguousarray(x), w.shape[2], w.shape[3], stride[0])
    y = np.einsum("ncpqij,ocij->nopq", win, w, optimize=True)
    return y, b


def pool(node, x, reduce):
    k = list(attr(node, "kernel_shape"))
    s = list(attr(node, "strides", k))
    if any(attr(node, "pads", [0, 0, 0, 0])):
        sys.exit(f"{node.name}: only pools without padding")
    assert k[0] == k[1] and s[0] == s[1]
    return reduce(windows(np.ascontiguousarray(x), k[0], k[1], s[0]), axis=(4, 5))


def batchnorm_training(node, x, gamma, beta):
    eps = attr(node, "epsilon", 1e-5)
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = ((x - mean) ** 2).mean(axis=(0, 2, 3), keepdims=True)  # biased, as in training
    return (x - mean) / np.sqrt(var + eps) * gamma[None, :, None, None] + beta[None, :, None, None]


def forward(model, x, args):
    """Evaluates the graph; returns the logits (the softmax's input) as float64 [B][classes]."""
    values = {i.name: numpy_helper.to_array(i).astype(np.float64) if numpy_helper.to_array(i).dtype.kind == "f"
              else numpy_helper.to_array(i) for i in model.graph.initializer}
    values[model.graph.input[0].name] = x
    round_activations = (lambda v: v) if args.exact else fp16
    logits = None
    last_softmax = [n for n in model.graph.node if n.op_type in ("Softmax", "LogSoftmax")
                    and model.graph.output[0].name in n.output]
    erf = np.vectorize(math.erf)
    for node in model.graph.node:
        ins = [values[i] if i else None for i in node.input]
        op = node.op_type
        bias = None
        if op == "Conv":
            y, bias = conv(node, ins[0], ins[1], ins[2] if len(ins) > 2 else None)
            if bias is not None:
                y = round_activations(y) + bias[None, :, None, None]
        elif op == "BatchNormalization":
            if attr(node, "training_mode", 0) != 1:
                sys.exit(f"{node.name}: expected training_mode 1")
            y = batchnorm_training(node, ins[0], ins[1], ins[2])
        elif op == "Relu":
            y = np.maximum(ins[0], 0)
        elif op == "MaxPool":
            y = pool(node, ins[0], np.max)
        elif op == "AveragePool":
            y = pool(node, ins[0], np.mean)
        elif op == "GlobalAveragePool":
            y = ins[0].mean(axis=(2, 3), keepdims=True)
        elif op in ("Add", "Mul", "Div"):
            y = {"Add": np.add, "Mul": np.multiply, "Div": np.divide}[op](ins[0], ins[1])
            if op == "Div" or any(np.ndim(i) == 0 for i in ins):
                values[node.output[0]] = y  # inside a layer: FP32 in the VP
                continue
        elif op == "Erf":
            values[node.output[0]] = erf(ins[0])
            continue
        elif op == "Constant":
            y = numpy_helper.to_array(attr(node, "value"))
            values[node.output[0]] = y.astype(np.float64) if y.dtype.kind == "f" else y
            continue
        elif op == "Shape":
            values[node.output[0]] = np.array(ins[0].shape, np.int64)
            continue
        elif op == "Unsqueeze":
            values[node.output[0]] = np.expand_dims(ins[0], tuple(int(a) for a in ins[1]))
            continue
        elif op == "Gather":
            y = np.take(ins[0], ins[1], axis=attr(node, "axis", 0))
        elif op == "Concat":
            y = np.concatenate(ins, axis=attr(node, "axis"))
        elif op == "Expand":
            y = ins[0] * np.ones(tuple(int(d) for d in ins[1]), ins[0].dtype)
        elif op == "Transpose":
            y = ins[0].transpose(attr(node, "perm"))
        elif op == "LayerNormalization":
            assert attr(node, "axis", -1) == -1
            v = ins[0]
            mean = v.mean(axis=-1, keepdims=True)
            var = ((v - mean) ** 2).mean(axis=-1, keepdims=True)
            y = (v - mean) / np.sqrt(var + attr(node, "epsilon", 1e-5)) * ins[1] + ins[2]
        elif op == "Flatten":
            axis = attr(node, "axis", 1)
            assert axis == 1
            v = ins[0]
            if args.permute_flatten and v.ndim == 4:
                v = v.transpose(0, 2, 3, 1)  # H, W, C: the wrong order for these weights
            y = v.reshape(v.shape[0], -1)
        elif op == "Reshape":
            shape = [d if d != 0 else ins[0].shape[i] for i, d in enumerate(ins[1])]
            v = ins[0]
            if args.permute_flatten and v.ndim == 4 and len(shape) == 2:
                v = v.transpose(0, 2, 3, 1)
            if args.qkv_heads_first and len(shape) == 5:
                y = v.reshape(shape[0], shape[1], shape[3], shape[2], shape[4]).transpose(0, 1, 3, 2, 4)
            else:
                y = v.reshape(shape)
        elif op == "Gemm":
            a, b = ins[0], ins[1]
            if attr(node, "transA", 0):
                a = a.T
            if attr(node, "transB", 0):
                b = b.T
            y = attr(node, "alpha", 1.0) * (a @ b)
            if len(ins) > 2:
                y = round_activations(y) + attr(node, "beta", 1.0) * ins[2]
        elif op == "MatMul":
            y = ins[0] @ ins[1]
        elif op in ("Dropout", "Identity"):
            y = ins[0]  # inference: Dropout passes its input through
        elif op in ("Softmax", "LogSoftmax") and node in last_softmax:
            logits = ins[0]
            break
        elif op == "Softmax":
            v = ins[0]
            assert attr(node, "axis", -1) in (-1, v.ndim - 1)
            e = np.exp(v - v.max(axis=-1, keepdims=True))
            y = e / e.sum(axis=-1, keepdims=True)
        else:
            sys.exit(f"{node.name}: reference.py does not evaluate {op}")
        values[node.output[0]] = round_activations(y) if y.dtype.kind == "f" else y
    if logits is None:
        logits = values[model.graph.output[0].name]
    return logits


def softmax_ce(logits, labels):
    z = logits - logits.max(axis=1, keepdims=True)
    loss = np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(labels)), labels]
    return loss.mean(), int((logits.argmax(axis=1) == labels).sum())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("--samples", type=int, required=True)
    parser.add_argument("--mean", type=float, default=0.2860)
    parser.add_argument("--std", type=float, default=0.3530)
    parser.add_argument("--data-dir", default=os.environ.get("CESTVP_FASHION_MNIST_DIR",
                                                             "/usr/share/datasets/fashion-mnist"))
    parser.add_argument("--exact", action="store_true", help="no FP16 rounding after the input")
    parser.add_argument("--permute-flatten", action="store_true", help="flatten in H, W, C order (wrong)")
    parser.add_argument("--qkv-heads-first", action="store_true", help="q, k, v interleaved per head (wrong)")
    args = parser.parse_args()
    model = onnx.load(args.model)
    x, labels = fashion_mnist(args.data_dir, args.samples, args.mean, args.std)
    loss, correct = softmax_ce(forward(model, x, args), labels)
    print(f"loss {loss:.9g}")
    print(f"correct {correct}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
