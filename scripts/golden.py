#!/usr/bin/python3
"""golden.py - regenerates tests/data/golden/*.txt with the PyTorch reference.

A tiny fixed network, inputs and labels, all given by formulas that tests/test_golden.c
repeats, run through PyTorch: the logits, the mean cross-entropy, every parameter
gradient (in libdigits' arena order: per layer weights then biases, PyTorch's own
layouts) and the parameters after one Adam step with the Keras settings. Run it on
purpose, with /usr/bin/python3 and Debian's python3-torch; the product never runs it.
"""
import math
import sys

import torch

SPEC = "conv 2 3 relu, maxpool 2, conv 3 3 relu, flatten, dense 6 relu, dense 10"
BATCH, SIDE = 3, 10
LABELS = [3, 7, 1]


def build():
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(2, 3, 3), torch.nn.ReLU(), torch.nn.Flatten(),
        torch.nn.Linear(3 * 2 * 2, 6), torch.nn.ReLU(), torch.nn.Linear(6, 10))
    params = [p for p in net.parameters()]  # weight, bias per layer, in order
    i = 0
    with torch.no_grad():
        for p in params:
            flat = p.view(-1)
            for j in range(flat.numel()):
                flat[j] = 0.5 * math.sin(0.37 * i + 0.1)
                i += 1
    return net, params


def inputs():
    n = BATCH * SIDE * SIDE
    x = torch.tensor([0.5 + 0.5 * math.cos(0.11 * j) for j in range(n)], dtype=torch.float32)
    return x.view(BATCH, 1, SIDE, SIDE)


def line(name, values):
    return name + " " + " ".join("%.9g" % v for v in values) + "\n"


def main():
    torch.manual_seed(0)
    net, params = build()
    x = inputs()
    y = torch.tensor(LABELS)
    logits = net(x)
    loss = torch.nn.functional.cross_entropy(logits, y)
    loss.backward()
    grads = torch.cat([p.grad.view(-1) for p in params])
    # Keras adds eps to sqrt(v) before the bias correction, PyTorch after it; for the
    # first step Keras' eps 1e-7 is PyTorch's eps 1e-7 / sqrt(1 - beta2)
    opt = torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-7 / math.sqrt(1 - 0.999))
    opt.step()
    after = torch.cat([p.detach().view(-1) for p in params])
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/data/golden/tiny-cnn.txt"
    with open(out, "w") as f:
        f.write("# written by scripts/golden.py with torch %s; spec: %s\n" % (torch.__version__, SPEC))
        f.write(line("logits", logits.detach().view(-1).tolist()))
        f.write(line("loss", [loss.item()]))
        f.write(line("grads", grads.tolist()))
        f.write(line("adam", after.tolist()))
    print("wrote", out)


main()
