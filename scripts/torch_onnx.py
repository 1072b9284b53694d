#!/usr/bin/python3
"""torch_onnx.py - ONNX files from a real exporter (PyTorch's torch.onnx.export), and the
check that `digits import` of them gives PyTorch's answers (docs/onnx.md).

  scripts/torch_onnx.py agree [N]      trains the seed CNN (conv 32 3, maxpool 2, conv 64 3,
                                       maxpool 2, dense 64, dense 10) for one epoch on
                                       data/mnist, exports it, imports it with build/digits,
                                       and compares the two on the first N (10000) test
                                       images: same argmax, largest probability difference;
                                       exit status 1 above 1e-5
  scripts/torch_onnx.py agree-bn [N]   the same with batch normalisation: a seed CNN with
                                       BatchNorm2d after each conv's ReLU and BatchNorm1d
                                       after the dense layer (PyTorch folds a BatchNorm2d
                                       right after a Conv into the Conv when it exports),
                                       trained for one epoch on the first 10,000 images
  scripts/torch_onnx.py fixture DIR    writes DIR/torch-tiny.onnx, a tiny net that uses Conv,
                                       (padded) Relu, AveragePool, MaxPool, Reshape, Gemm, Dropout,
                                       MatMul + Add and Softmax, trained briefly when MNIST is
                                       there, and DIR/torch-tiny.txt: PyTorch's probabilities
                                       for the inputs of fixture_pixels() (tests/test_onnx.c)

Needs Debian's python3-torch and python3-onnx (/usr/bin/python3); `make` first for
build/digits and build/onnx_dump. Pixels are normalised as x / 255, digits' default.
"""
import gzip
import os
import subprocess
import sys

import numpy as np
import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "data", "mnist")
OUT = os.path.join(ROOT, "build", "onnx")


def read_idx(name):
    """An IDX file of data/mnist, raw or gzip'd, as a numpy array."""
    path = os.path.join(DATA, name)
    opener = open
    if not os.path.exists(path):
        path, opener = path + ".gz", gzip.open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def mnist(split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(prefix + "-images-idx3-ubyte")
    labels = read_idx(prefix + "-labels-idx1-ubyte")
    x = torch.from_numpy(images.astype(np.float32) / np.float32(255.0)).unsqueeze(1)
    return x, torch.from_numpy(labels.astype(np.int64))


def train(net, x, y, epochs=1, batch=32, lr=1e-3, seed=1):
    torch.manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(x))
        for at in range(0, len(x), batch):
            idx = order[at:at + batch]
            opt.zero_grad()
            loss = loss_fn(net(x[idx]), y[idx])
            loss.backward()
            opt.step()
    net.eval()


def export(net, path, example):
    torch.onnx.export(net, example, path, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "N"}, "output": {0: "N"}}, opset_version=13)


class SeedCNN(nn.Module):
    """digits' seed-cnn preset: conv 32 3 relu, maxpool 2, conv 64 3 relu, maxpool 2,
    flatten, dense 64 relu, dense 10; the logits are the output."""

    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(1600, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.layers(x)


class SeedCNNBatchNorm(nn.Module):
    """conv 32 3 relu, batchnorm, maxpool 2, conv 64 3 relu, batchnorm, maxpool 2, flatten,
    dense 64, batchnorm relu, dense 10; the logits are the output."""

    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.BatchNorm2d(32), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.BatchNorm2d(64), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(1600, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.layers(x)


class Tiny(nn.Module):
    """A small net over the operators digits imports; ends in a softmax."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 5, padding=2)
        self.avg = nn.AvgPool2d(2)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(196, 16)
        self.drop = nn.Dropout(0.25)
        self.w = nn.Parameter(torch.randn(16, 10) * 0.25)
        self.b = nn.Parameter(torch.zeros(10))

    def forward(self, x):
        x = self.pool(self.avg(torch.relu(self.conv(x))))
        x = x.reshape(-1, 196)
        x = self.drop(torch.relu(self.fc(x)))
        return torch.softmax(x @ self.w + self.b, dim=1)


def fixture_pixels(n=4):
    """The test inputs of tests/test_onnx.c: pixel (i, r, c) = (37 i + 11 r + 7 c + rc mod 13)
    mod 256, as bytes [n][28][28]."""
    i, r, c = np.meshgrid(np.arange(n), np.arange(28), np.arange(28), indexing="ij")
    return ((37 * i + 11 * r + 7 * c + (r * c) % 13) % 256).astype(np.uint8)


def cmd_fixture(out_dir):
    torch.manual_seed(7)
    net = Tiny()
    if os.path.isdir(DATA):
        x, y = mnist("train")
        train(net, x[:10000], y[:10000], lr=3e-3)
    net.eval()
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "torch-tiny.onnx")
    export(net, path, torch.zeros(1, 1, 28, 28))
    pixels = fixture_pixels()
    with torch.no_grad():
        probs = net(torch.from_numpy(pixels.astype(np.float32) / np.float32(255.0)).unsqueeze(1))
    with open(os.path.join(out_dir, "torch-tiny.txt"), "w") as f:
        f.write("# PyTorch's probabilities for tests/test_onnx.c's inputs, by "
                "scripts/torch_onnx.py fixture\n")
        f.write("%d %d\n" % probs.shape)
        for row in probs.numpy():
            f.write(" ".join("%.9g" % v for v in row) + "\n")
    print("wrote %s (%d bytes) and torch-tiny.txt" % (path, os.path.getsize(path)))


def cmd_agree(n, name="torch-seed-cnn", make=SeedCNN, n_train=None):
    torch.set_num_threads(2)
    os.makedirs(OUT, exist_ok=True)
    x, y = mnist("train")
    tx, ty = mnist("test")
    torch.manual_seed(1)
    net = make()
    train(net, x[:n_train], y[:n_train])
    onnx_path = os.path.join(OUT, name + ".onnx")
    export(net, onnx_path, torch.zeros(1, 1, 28, 28))
    model = os.path.join(OUT, name + ".model")
    digits = os.path.join(ROOT, "build", "digits")
    subprocess.run([digits, "import", onnx_path, "-o", model], check=True)
    prefix = os.path.join(OUT, name)
    subprocess.run([os.path.join(ROOT, "build", "onnx_dump"), model, DATA, str(n), prefix],
                   check=True, stdout=subprocess.DEVNULL)
    theirs = np.fromfile(prefix + ".f32", np.float32).reshape(n, 10)
    with torch.no_grad():
        mine = torch.softmax(net(tx[:n]), dim=1).numpy()
    same = int((mine.argmax(1) == theirs.argmax(1)).sum())
    diff = np.abs(mine - theirs)
    accuracy = float((mine.argmax(1) == ty[:n].numpy()).mean())
    print("torch %s: %d images, same argmax on %d, largest probability difference %.2e "
          "(image %d); PyTorch test accuracy %.4f"
          % (torch.__version__, n, same, diff.max(), diff.max(1).argmax(), accuracy))
    return 0 if same == n and diff.max() <= 1e-5 else 1


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "agree":
        return cmd_agree(int(sys.argv[2]) if len(sys.argv) > 2 else 10000)
    if len(sys.argv) >= 2 and sys.argv[1] == "agree-bn":
        return cmd_agree(int(sys.argv[2]) if len(sys.argv) > 2 else 10000,
                         "torch-seed-cnn-bn", SeedCNNBatchNorm, 10000)
    if len(sys.argv) == 3 and sys.argv[1] == "fixture":
        cmd_fixture(sys.argv[2])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
