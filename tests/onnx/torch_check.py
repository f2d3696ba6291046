#!/usr/bin/env python3
"""`satvp import` against real PyTorch: models exported by torch.onnx.export, the way a user
exports them (docs/import.md), imported and run by satvp, and checked against PyTorch itself.

    torch_check.py SATVP OUTDIR
    torch_check.py --fixtures tests/data/torch_onnx    (the suite's copies of two exports)

Not part of the test suite: it needs python3-torch and python3-torchvision (Debian 12 has them,
but they are about 1 GB with their dependencies, so scripts/install-deps.sh does not install
them). The suite's own models (make_models.py) are written in the same form without PyTorch.
What it checks:

1. torchvision's ResNet-18 (num_classes=200, its stem max pool made MaxPool2d(2, 2) as in
   workloads/resnet18_tinyimagenet.yaml) imports to that workload's layer list (types and
   keys; names aside) and its timing-mode run takes the same simulated time per iteration.
2. With the stem max pool left as torchvision has it (3x3, padding 1), the import is refused
   naming /maxpool/MaxPool.
3. A small residual CNN and a timm-style ViT block (nn.LayerNorm, nn.GELU, a qkv Linear, the
   head split by reshape and permute, unbind, softmax) on Fashion-MNIST: the VP's loss of its
   first iteration (functional mode, dense, the batch being the whole training subset) equals
   PyTorch's loss of the same model on the same FP16-rounded batch in training mode, within 1 %.
4. An export in evaluation mode (batch norm folded into the convolutions by the exporter) still
   imports, with no batchnorm layers.
"""
import csv
import json
import os
import re
import subprocess
import sys

import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import fashion_mnist  # noqa: E402  (the VP's normalisation of the input)

SAMPLES = 64
# What the timing depends on besides the network (the DDR layout follows the data set's size).
SAME_SETTINGS = ["iterations=1", "batch=512", "eval_samples=512", "dataset.synthetic.train=5120",
                 "dataset.synthetic.test=512"]


def export(model, shape, path, training=True):
    model.train(training)
    torch.onnx.export(model, torch.randn(1, *shape), path, opset_version=17,
                      training=torch.onnx.TrainingMode.TRAINING if training else torch.onnx.TrainingMode.EVAL,
                      do_constant_folding=not training, input_names=["images"], output_names=["logits"],
                      dynamic_axes={"images": {0: "N"}})


def satvp(*args, expect=0):
    r = subprocess.run([SATVP, *args], capture_output=True, text=True)
    if r.returncode != expect:
        sys.exit(f"satvp {' '.join(args)}: exit {r.returncode}, expected {expect}\n{r.stdout}{r.stderr}")
    return r.stdout + r.stderr


def layers(yaml_path):
    """The layer entries of a workload, names and references left out."""
    entries = []
    for line in open(yaml_path):
        m = re.match(r"\s+- \{(type: .*?)\}", line)
        if m:
            keys = [kv.strip() for kv in m.group(1).split(",")]
            entries.append(", ".join(k for k in keys if not k.startswith(("name:", "input:", "with:"))))
    return entries


def first_loss(run_dir):
    return float(next(csv.DictReader(open(os.path.join(run_dir, "metrics.csv"))))["loss"])


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + x)


class ResidualCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2))
        self.block = Block(16)
        self.pool = nn.AvgPool2d(2)
        self.fc1, self.fc2 = nn.Linear(16 * 7 * 7, 64), nn.Linear(64, 10)

    def forward(self, x):
        x = self.pool(self.block(self.stem(x)))
        return self.fc2(torch.relu(self.fc1(torch.flatten(x, 1))))


class Attention(nn.Module):  # timm's
    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.qkv, self.proj = nn.Linear(dim, dim * 3), nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class Vit(nn.Module):
    def __init__(self, dim=48, heads=3, classes=10):
        super().__init__()
        self.patch = nn.Conv2d(1, dim, 4, stride=4)
        self.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, 50, dim) * 0.02)
        self.norm1, self.attn = nn.LayerNorm(dim), Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        x = x + self.attn(self.norm1(x))
        x = x + self.mlp(self.norm2(x))
        return self.head(self.norm(x)[:, 0])


def models():
    """The two small models whose loss is checked, seeded, with large logits (head weights x 4) so
    that a wrong layout or operator shows in the loss."""
    torch.manual_seed(0)
    cnn, vit = ResidualCnn(), Vit()
    with torch.no_grad():
        cnn.fc2.weight *= 4
        vit.head.weight *= 4
    return {"residual_cnn": cnn, "vit_block": vit}


def torch_loss(model):
    """PyTorch's loss on the first SAMPLES Fashion-MNIST training images, FP16-rounded as the VP
    reads them, in training mode (batch norm on the batch's statistics), as the VP's first
    iteration computes it."""
    x, labels = fashion_mnist("/usr/share/datasets/fashion-mnist", SAMPLES, 0.2860, 0.3530)
    model.train()
    with torch.no_grad():
        logits = model(torch.tensor(x, dtype=torch.float32))
        return nn.functional.cross_entropy(logits, torch.tensor(labels)).item()


def check_loss(name, model):
    path = os.path.join(OUT, name + ".onnx")
    export(model, (1, 28, 28), path)
    satvp("import", path, "--out", os.path.join(OUT, name), "--force")
    run = os.path.join(OUT, name + "-run")
    satvp("run", "--workload", os.path.join(OUT, name, name + ".yaml"), "--mode", "functional", "--out", run,
          "--set", "scheme=dense", "--set", "iterations=1", "--set", f"batch={SAMPLES}",
          "--set", f"dataset.train_samples={SAMPLES}", "--set", "eval_samples=16")
    loss, vp = torch_loss(model), first_loss(run)
    ok = abs(vp - loss) <= 0.01 * abs(loss)
    print(f"{name}: loss of the first iteration: VP {vp:.5f}, PyTorch {loss:.5f} ({'ok' if ok else 'DIFFERENT'})")
    return ok


def write_fixtures(directory):
    """tests/data/torch_onnx/: the two models as torch.onnx.export wrote them, and PyTorch's loss
    of each, for Import.TorchExportsTrainLikePyTorch (which needs no PyTorch)."""
    os.makedirs(directory, exist_ok=True)
    losses = {}
    for name, model in models().items():
        export(model, (1, 28, 28), os.path.join(directory, name + ".onnx"))
        losses[name] = torch_loss(model)
    with open(os.path.join(directory, "pytorch_losses.json"), "w") as f:
        json.dump({"torch": torch.__version__, "samples": SAMPLES, "loss": losses}, f, indent=2)
        f.write("\n")


def main():
    global SATVP, OUT
    if len(sys.argv) == 3 and sys.argv[1] == "--fixtures":
        return write_fixtures(sys.argv[2])
    SATVP, OUT = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    failures = 0

    resnet = torchvision.models.resnet18(num_classes=200)
    padded = os.path.join(OUT, "resnet18_torchvision.onnx")
    export(resnet, (3, 64, 64), padded)
    refused = satvp("import", padded, "--out", os.path.join(OUT, "refused"), expect=2)
    print("torchvision ResNet-18 as it is:", refused.strip().splitlines()[-1])
    failures += "/maxpool/MaxPool" not in refused

    resnet.maxpool = nn.MaxPool2d(2, 2)
    path = os.path.join(OUT, "resnet18_tinyimagenet.onnx")
    export(resnet, (3, 64, 64), path)
    satvp("import", path, "--out", os.path.join(OUT, "r18"), "--batch", "512", "--force")
    shipped = os.path.join(source, "workloads", "resnet18_tinyimagenet.yaml")
    same_layers = layers(os.path.join(OUT, "r18", "resnet18_tinyimagenet.yaml")) == layers(shipped)
    print(f"torchvision ResNet-18 (2x2 stem pool): layer list {'equals' if same_layers else 'DIFFERS FROM'} the shipped workload's")
    times = []
    for yaml, run in ((os.path.join(OUT, "r18", "resnet18_tinyimagenet.yaml"), "r18-run"), (shipped, "shipped-run")):
        satvp("run", "--workload", yaml, "--out", os.path.join(OUT, run), *[f"--set={s}" for s in SAME_SETTINGS])
        times.append(json.load(open(os.path.join(OUT, run, "report.json")))["iteration_seconds"])
    same_time = times[0] == times[1]
    print(f"  simulated time of one timing iteration: imported {times[0]}, shipped {times[1]}")
    failures += not same_layers or not same_time

    for name, model in models().items():
        failures += not check_loss(name, model)

    folded = os.path.join(OUT, "residual_cnn_eval.onnx")
    export(ResidualCnn(), (1, 28, 28), folded, training=False)
    satvp("import", folded, "--out", os.path.join(OUT, "folded"), "--force")
    bn = sum("type: batchnorm" in e for e in layers(os.path.join(OUT, "folded", "residual_cnn_eval.yaml")))
    print(f"evaluation-mode export: imports, {bn} batchnorm layers (folded into the convolutions)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
