#!/usr/bin/env python3
"""ONNX models for the tests of `satvp import` (tests/test_import.cpp), written with onnx.helper.

    make_models.py OUTDIR [NAME..] the good models (or those named): resnet18_tinyimagenet.onnx,
                                   residual_cnn.onnx, mlp.onnx, mlp_reshape.onnx, vit_block.onnx,
                                   vit_fmnist.onnx
    make_models.py --bad OUTDIR    the bad-input corpus (tests/data/bad_onnx/): one thing wrong in
                                   each, said by the model's doc_string

No torch on the build machine, so the graphs are written the way torch.onnx.export writes them
(opset 17): node names "/layer1/layer1.0/conv1/Conv", tensors "/.../Conv_output_0",
initialisers named after the module's parameters, batch norm kept as BatchNormalization nodes
(exported in training mode, not folded into the convolutions), a symbolic batch dimension "N".
Weights are deterministic (numpy seeds), so two runs write identical files.

Needs numpy and onnx (Debian: python3-numpy, python3-onnx).
"""
import argparse
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


class Graph:
    """Nodes, initialisers and value names of one model, named the way torch exports them."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self.constants = {}  # per scope, for the names

    def init(self, name, array):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def he(self, name, shape, fan_in, gain=1.0):
        return self.init(name, (self.rng.standard_normal(shape) * gain * math.sqrt(2.0 / fan_in)).astype(np.float32))

    def small(self, name, shape, std):
        return self.init(name, (self.rng.standard_normal(shape) * std).astype(np.float32))

    def node(self, op, scope, inputs, outputs=1, suffix="", **attrs):
        """A node named `scope/Op<suffix>` whose outputs are `scope/Op<suffix>_output_<i>`."""
        name = f"{scope}/{op}{suffix}"
        outs = [f"{name}_output_{i}" for i in range(outputs)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, **attrs))
        return outs[0] if outputs == 1 else outs

    def const(self, scope, array):
        """A Constant node, as torch exports scalars and shapes."""
        count = self.constants[scope] = self.constants.get(scope, 0) + 1
        suffix = "" if count == 1 else f"_{count - 1}"
        name = f"{scope}/Constant{suffix}"
        out = f"{name}_output_0"
        self.nodes.append(helper.make_node("Constant", [], [out], name=name,
                                           value=numpy_helper.from_array(np.asarray(array))))
        return out

    # torch.nn modules as torch exports them ---------------------------------------------------

    def conv(self, scope, x, cin, cout, k, stride=1, pad=0, bias=False, param=None, gain=1.0):
        param = param or scope.strip("/").split("/")[-1]
        w = self.he(f"{param}.weight", (cout, cin, k, k), cin * k * k, gain)
        inputs = [x, w]
        if bias:
            inputs.append(self.small(f"{param}.bias", (cout,), 0.1))
        return self.node("Conv", scope, inputs, dilations=[1, 1], group=1, kernel_shape=[k, k],
                         pads=[pad] * 4, strides=[stride, stride])

    def bn(self, scope, x, c, param):
        """BatchNormalization in training mode (batch statistics); torch writes the updated running
        statistics as the node's second and third outputs (which opset 17 requires in training
        mode); nothing reads them."""
        gamma = self.init(f"{param}.weight", (1.0 + 0.2 * self.rng.standard_normal(c)).astype(np.float32))
        beta = self.small(f"{param}.bias", (c,), 0.2)
        mean = self.init(f"{param}.running_mean", np.zeros(c, np.float32))
        var = self.init(f"{param}.running_var", np.ones(c, np.float32))
        return self.node("BatchNormalization", scope, [x, gamma, beta, mean, var], outputs=3,
                         epsilon=1e-5, momentum=0.9, training_mode=1)[0]

    def gemm(self, scope, x, cin, cout, param, gain=1.0):
        """nn.Linear on a [N, C] input: Gemm with transB = 1."""
        w = self.he(f"{param}.weight", (cout, cin), cin, gain)
        b = self.small(f"{param}.bias", (cout,), 0.1)
        return self.node("Gemm", scope, [x, w, b], alpha=1.0, beta=1.0, transB=1)

    def linear3d(self, scope, x, cin, cout, param, std=None):
        """nn.Linear on a [N, T, C] input: MatMul with the transposed weight, then Add the bias."""
        w = (self.rng.standard_normal((cin, cout)) * (std or math.sqrt(2.0 / cin))).astype(np.float32)
        wt = self.init(f"onnx::MatMul_{param}", w)
        y = self.node("MatMul", scope, [x, wt])
        b = self.small(f"{param}.bias", (cout,), 0.05)
        return self.node("Add", scope, [b, y])  # torch writes Add(bias, x @ W)

    def layernorm(self, scope, x, c, param):
        gamma = self.init(f"{param}.weight", (1.0 + 0.1 * self.rng.standard_normal(c)).astype(np.float32))
        beta = self.small(f"{param}.bias", (c,), 0.1)
        return self.node("LayerNormalization", scope, [x, gamma, beta], axis=-1, epsilon=1e-5)

    def model(self, name, inputs, outputs, doc=""):
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        model = helper.make_model(graph, producer_name="pytorch", producer_version="2.1.0",
                                  opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = 8
        model.doc_string = doc
        onnx.checker.check_model(model)
        return model


def image_input(name, c, h, w):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", c, h, w])


def logits_output(name, classes):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", classes])


# ---------------------------------------------------------------------------------------- a.

def resnet18_tinyimagenet():
    """torchvision's resnet18 as workloads/resnet18_tinyimagenet.yaml has it: 64x64x3 input, the
    stem's max pool 2x2/2 without padding, 200 classes."""
    g = Graph(seed=18)
    x = g.conv("/conv1", "input", 3, 64, 7, stride=2, pad=3, param="conv1")
    x = g.bn("/bn1", x, 64, "bn1")
    x = g.node("Relu", "/relu", [x])
    x = g.node("MaxPool", "/maxpool", [x], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0])
    cin = 64
    for stage, cout in enumerate([64, 128, 256, 512], start=1):
        for block in range(2):
            scope = f"/layer{stage}/layer{stage}.{block}"
            param = f"layer{stage}.{block}"
            stride = 2 if stage > 1 and block == 0 else 1
            shortcut = x
            y = g.conv(f"{scope}/conv1", x, cin, cout, 3, stride, 1, param=f"{param}.conv1")
            y = g.bn(f"{scope}/bn1", y, cout, f"{param}.bn1")
            y = g.node("Relu", f"{scope}/relu", [y])
            y = g.conv(f"{scope}/conv2", y, cout, cout, 3, 1, 1, param=f"{param}.conv2")
            y = g.bn(f"{scope}/bn2", y, cout, f"{param}.bn2")
            if stride != 1 or cin != cout:
                shortcut = g.conv(f"{scope}/downsample/downsample.0", x, cin, cout, 1, stride, 0,
                                  param=f"{param}.downsample.0")
                shortcut = g.bn(f"{scope}/downsample/downsample.1", shortcut, cout, f"{param}.downsample.1")
            y = g.node("Add", scope, [y, shortcut])
            x = g.node("Relu", f"{scope}/relu", [y], suffix="_1")
            cin = cout
    x = g.node("GlobalAveragePool", "/avgpool", [x])
    x = g.node("Flatten", "", [x], axis=1)
    w = g.he("fc.weight", (200, 512), 512)
    b = g.small("fc.bias", (200,), 0.01)
    g.nodes.append(helper.make_node("Gemm", [x, w, b], ["output"], name="/fc/Gemm", alpha=1.0, beta=1.0, transB=1))
    return g.model("main_graph", [image_input("input", 3, 64, 64)], [logits_output("output", 200)])


# ---------------------------------------------------------------------------------------- b.

# The head's weights are scaled so that the logits are large (a standard deviation of about 10):
# then a wrong weight layout moves the loss by several units, far beyond the FP16 tolerance of
# tests/test_import.cpp (tests/onnx/reference.py --permute-flatten shows by how much).
HEAD_GAIN = 6.0


def residual_cnn():
    """Fashion-MNIST: conv-BN-ReLU, max pool, one residual block, average pool to 7x7x8, flatten
    (C, H, W order: the importer must permute fc1's columns to the VP's H, W, C), fc-ReLU-dropout,
    fc 10, LogSoftmax."""
    g = Graph(seed=2)
    x = g.conv("/conv1", "input", 1, 8, 3, 1, 1, bias=True, param="conv1")
    x = g.bn("/bn1", x, 8, "bn1")
    x = g.node("Relu", "/relu", [x])
    x = g.node("MaxPool", "/pool", [x], kernel_shape=[2, 2], strides=[2, 2])
    block_in = x
    y = g.conv("/block/conv1", x, 8, 8, 3, 1, 1, param="block.conv1")
    y = g.bn("/block/bn1", y, 8, "block.bn1")
    y = g.node("Relu", "/block/relu", [y])
    y = g.conv("/block/conv2", y, 8, 8, 3, 1, 1, param="block.conv2")
    y = g.bn("/block/bn2", y, 8, "block.bn2")
    y = g.node("Add", "/block", [y, block_in])
    x = g.node("Relu", "/block/relu", [y], suffix="_1")
    x = g.node("AveragePool", "/avgpool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = g.node("Flatten", "", [x], axis=1)
    x = g.gemm("/fc1", x, 8 * 7 * 7, 32, "fc1")
    x = g.node("Relu", "/relu", [x], suffix="_1")
    x = g.node("Dropout", "/dropout", [x])
    x = g.node("Identity", "", [x])
    x = g.gemm("/fc2", x, 32, 10, "fc2", gain=HEAD_GAIN)
    g.nodes.append(helper.make_node("LogSoftmax", [x], ["output"], name="/LogSoftmax", axis=1))
    return g.model("main_graph", [image_input("input", 1, 28, 28)], [logits_output("output", 10)])


# ---------------------------------------------------------------------------------------- c.

def mlp(reshape=False):
    """Flatten (or, with reshape, Reshape to [N, -1]: `x.view(x.size(0), -1)` with a constant
    shape), MatMul + Add, ReLU, Gemm with transB = 0, Softmax. Same weights either way."""
    g = Graph(seed=3)
    if reshape:
        shape = g.init("/Constant_output_0", np.array([0, -1], np.int64))
        x = g.node("Reshape", "", ["input", shape])
    else:
        x = g.node("Flatten", "", ["input"], axis=1)
    w1 = g.init("onnx::MatMul_fc1", (g.rng.standard_normal((784, 128)) * math.sqrt(2.0 / 784)).astype(np.float32))
    x = g.node("MatMul", "/fc1", [x, w1])
    b1 = g.small("fc1.bias", (128,), 0.1)
    x = g.node("Add", "/fc1", [x, b1])
    x = g.node("Relu", "/relu", [x])
    w2 = g.init("fc2.weight_t", (g.rng.standard_normal((128, 10)) * HEAD_GAIN * math.sqrt(2.0 / 128)).astype(np.float32))
    b2 = g.small("fc2.bias", (10,), 0.1)
    x = g.node("Gemm", "/fc2", [x, w2, b2], alpha=1.0, beta=1.0, transB=0)
    g.nodes.append(helper.make_node("Softmax", [x], ["output"], name="/Softmax", axis=1))
    return g.model("main_graph", [image_input("input", 1, 28, 28)], [logits_output("output", 10)])


# ---------------------------------------------------------------------------------------- d.

def vit_block(channels=3, size=32, classes=100, head_gain=1.0):
    """A one-block ViT as timm exports it (opset 17), shaped like workloads/vit_cifar100.yaml but
    tiny: 32x32x3, 4x4 patches to D = 48 (64 tokens), a class token first (65 tokens), position
    embeddings, one pre-norm block with 3 heads of dh = 16, MLP 48-96-48, final layer norm, the
    class token, a head of 100.

    Layout assumed (docs/training.md, "attention"; firmware/src/train_attention.cpp): the qkv
    linear's 3D output features are [q | k | v], each D wide, and head h uses features
    h*dh .. h*dh + dh - 1 of each; the attention output puts head h's dh features at h*dh. timm's
    Reshape [N, T, 3, heads, dh] + Transpose (2, 0, 3, 1, 4) + Gather 0/1/2 reads exactly that
    layout (feature s*D + h*dh + e is q/k/v s, head h, element e), and its Transpose (0, 2, 1, 3)
    + Reshape [N, T, D] writes the output the same way. Tokens are the patches in row-major
    order (Reshape [N, D, H*W] then Transpose (0, 2, 1)), as the VP's `tokens` layer has them.
    Scores are (q k^T) * dh^-0.5, then Softmax on the last axis.

    vit_fmnist.onnx is the same block on 28x28x1 images (7x7 = 49 patches, 50 tokens) with 10
    classes and a scaled head, so that satvp imports it for Fashion-MNIST and reference.py can
    check its forward pass, and with it this layout.
    """
    D, heads, hidden = 48, 3, 96
    T = (size // 4) ** 2 + 1
    dh = D // heads
    g = Graph(seed=4)
    x = g.conv("/patch_embed/proj", "input", channels, D, 4, stride=4, bias=True, param="patch_embed.proj")
    shape = g.const("/patch_embed", np.array([0, D, -1], np.int64))
    x = g.node("Reshape", "/patch_embed", [x, shape])
    tokens = g.node("Transpose", "/patch_embed", [x], perm=[0, 2, 1])
    # cls_token.expand(N, -1, -1): the batch size from the tokens' shape
    n = g.node("Shape", "", [tokens])
    n = g.node("Gather", "", [n, g.const("", np.array(0, np.int64))], axis=0)
    n = g.node("Unsqueeze", "", [n, g.const("", np.array([0], np.int64))])
    expand_shape = g.node("Concat", "", [n, g.const("", np.array([1, D], np.int64))], axis=0)
    cls = g.small("cls_token", (1, 1, D), 0.5)
    cls = g.node("Expand", "", [cls, expand_shape])
    x = g.node("Concat", "", [cls, tokens], suffix="_1", axis=1)
    pos = g.small("pos_embed", (1, T, D), 0.3)
    x = g.node("Add", "", [x, pos])
    block_in = x

    s = "/blocks/blocks.0"
    y = g.layernorm(f"{s}/norm1", x, D, "blocks.0.norm1")
    qkv = g.linear3d(f"{s}/attn/qkv", y, D, 3 * D, "blocks.0.attn.qkv", std=0.25)
    qkv = g.node("Reshape", f"{s}/attn", [qkv, g.const(f"{s}/attn", np.array([0, T, 3, heads, dh], np.int64))])
    qkv = g.node("Transpose", f"{s}/attn", [qkv], perm=[2, 0, 3, 1, 4])
    q = g.node("Gather", f"{s}/attn", [qkv, g.const(f"{s}/attn", np.array(0, np.int64))], axis=0)
    k = g.node("Gather", f"{s}/attn", [qkv, g.const(f"{s}/attn", np.array(1, np.int64))], suffix="_1", axis=0)
    v = g.node("Gather", f"{s}/attn", [qkv, g.const(f"{s}/attn", np.array(2, np.int64))], suffix="_2", axis=0)
    kt = g.node("Transpose", f"{s}/attn", [k], suffix="_1", perm=[0, 1, 3, 2])
    scores = g.node("MatMul", f"{s}/attn", [q, kt])
    scores = g.node("Mul", f"{s}/attn", [scores, g.const(f"{s}/attn", np.array(dh ** -0.5, np.float32))])
    p = g.node("Softmax", f"{s}/attn", [scores], axis=-1)
    o = g.node("MatMul", f"{s}/attn", [p, v], suffix="_1")
    o = g.node("Transpose", f"{s}/attn", [o], suffix="_2", perm=[0, 2, 1, 3])
    o = g.node("Reshape", f"{s}/attn", [o, g.const(f"{s}/attn", np.array([0, T, D], np.int64))], suffix="_1")
    o = g.linear3d(f"{s}/attn/proj", o, D, D, "blocks.0.attn.proj")
    x = g.node("Add", s, [block_in, o])
    mid = x
    y = g.layernorm(f"{s}/norm2", x, D, "blocks.0.norm2")
    y = g.linear3d(f"{s}/mlp/fc1", y, D, hidden, "blocks.0.mlp.fc1")
    # nn.GELU() at opset < 20: x * 0.5 * (1 + erf(x / sqrt(2))), as torch writes it
    a = f"{s}/mlp/act"
    t = g.node("Div", a, [y, g.const(a, np.array(math.sqrt(2.0), np.float32))])
    t = g.node("Erf", a, [t])
    t = g.node("Add", a, [t, g.const(a, np.array(1.0, np.float32))])
    t = g.node("Mul", a, [y, t])
    y = g.node("Mul", a, [t, g.const(a, np.array(0.5, np.float32))], suffix="_1")
    y = g.linear3d(f"{s}/mlp/fc2", y, hidden, D, "blocks.0.mlp.fc2")
    x = g.node("Add", s, [mid, y], suffix="_1")
    x = g.layernorm("/norm", x, D, "norm")
    x = g.node("Gather", "", [x, g.const("", np.array(0, np.int64))], suffix="_1", axis=1)
    w = g.he("head.weight", (classes, D), D, head_gain)
    b = g.small("head.bias", (classes,), 0.01)
    g.nodes.append(helper.make_node("Gemm", [x, w, b], ["output"], name="/head/Gemm", alpha=1.0, beta=1.0, transB=1))
    return g.model("main_graph", [image_input("input", channels, size, size)], [logits_output("output", classes)])


# ---------------------------------------------------------------------------------------- e.

def small_model(doc, make_bad, c=4, hw=8, inputs=None):
    """input [N, c, hw, hw] -> the bad node(s) from make_bad(g, x) -> Flatten -> Gemm 10.
    make_bad returns (output, channels, spatial) of what it built."""
    g = Graph(seed=5)
    y, cout, s = make_bad(g, "input")
    y = g.node("Flatten", "", [y], axis=1)
    y = g.gemm("/fc", y, cout * s * s, 10, "fc")
    g.nodes[-1].output[0] = "output"
    ins = inputs or [image_input("input", c, hw, hw)]
    return g.model("main_graph", ins, [logits_output("output", 10)], doc)


def bad_models():
    models = {}

    def conv_with(**attrs):
        def make(g, x):
            group = attrs.get("group", 1)
            kernel = attrs.get("kernel_shape", [3, 3])
            dil = attrs.get("dilations", [1, 1])
            pads = attrs.get("pads", [1, 1, 1, 1])
            w = g.he("features.0.weight", (4, 4 // group, kernel[0], kernel[1]), 4 // group * kernel[0] * kernel[1])
            y = g.node("Conv", "/features/features.0", [x, w], group=group, kernel_shape=kernel,
                       dilations=dil, pads=pads, strides=[1, 1])
            oh = 8 + pads[0] + pads[2] - dil[0] * (kernel[0] - 1)
            ow = 8 + pads[1] + pads[3] - dil[1] * (kernel[1] - 1)
            assert oh == ow, "keep the output square so that the Gemm's size is simple"
            return y, 4, oh
        return make

    models["depthwise_conv"] = small_model(
        "Bad: depthwise convolution (Conv group = 4 = channels); the VP's conv2d is dense over Cin.",
        conv_with(group=4))
    models["grouped_conv"] = small_model(
        "Bad: grouped convolution (Conv group = 2); the VP's conv2d has no groups.",
        conv_with(group=2))
    models["dilated_conv"] = small_model(
        "Bad: Conv with dilations 2; the VP's conv2d has no dilation.",
        conv_with(dilations=[2, 2], pads=[2, 2, 2, 2]))
    models["non_square_kernel"] = small_model(
        "Bad: Conv with a 3x1 kernel; the VP's conv2d kernels are square.",
        conv_with(kernel_shape=[3, 1], pads=[1, 0, 1, 0]))

    def sin(g, x):
        return g.node("Sin", "", [x]), 4, 8
    models["unsupported_op"] = small_model("Bad: a Sin node, an operator satvp import does not map.", sin)

    def relu(g, x):
        return g.node("Relu", "/relu", [x]), 4, 8
    models["dynamic_spatial_dim"] = small_model(
        "Bad: the input's height is the symbolic dimension 'H'; only the batch may be symbolic.",
        relu, inputs=[helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 4, "H", 8])])

    def padded_pool(g, x):
        return g.node("MaxPool", "/pool", [x], kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1]), 4, 5
    models["padded_maxpool"] = small_model("Bad: MaxPool with padding 1; the VP's pools have none.", padded_pool)

    # Gemm whose B is a second graph input, not a constant: there is no weight to train.
    g = Graph(seed=6)
    x = g.node("Flatten", "", ["input"], axis=1)
    g.nodes.append(helper.make_node("Gemm", [x, "fc_weight"], ["output"], name="/fc/Gemm", transB=1))
    models["gemm_input_weight"] = g.model(
        "main_graph",
        [image_input("input", 1, 4, 4), helper.make_tensor_value_info("fc_weight", TensorProto.FLOAT, [10, 16])],
        [logits_output("output", 10)],
        "Bad: Gemm whose B is the graph input 'fc_weight', not an initialiser; only constant weights can be imported.")
    return models


def save(model, path):
    onnx.save(model, path)
    # onnx.checker on the file too: what the importer reads is what was checked
    onnx.checker.check_model(path)
    onnx.shape_inference.infer_shapes(model, strict_mode=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir")
    parser.add_argument("names", nargs="*", help="only these models (names without .onnx)")
    parser.add_argument("--bad", action="store_true", help="write the bad-input corpus instead")
    args = parser.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    if args.bad:
        makers = {name: (lambda m=m: m) for name, m in bad_models().items()}
    else:
        makers = {"resnet18_tinyimagenet": resnet18_tinyimagenet, "residual_cnn": residual_cnn,
                  "mlp": mlp, "mlp_reshape": lambda: mlp(reshape=True), "vit_block": vit_block,
                  "vit_fmnist": lambda: vit_block(channels=1, size=28, classes=10, head_gain=HEAD_GAIN)}
    for name in args.names or makers:
        if name not in makers:
            parser.error(f"no model '{name}'; expected one of {', '.join(makers)}")
        save(makers[name](), os.path.join(args.outdir, name + ".onnx"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
