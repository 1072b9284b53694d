#!/usr/bin/python3
"""golden.py - regenerates tests/data/golden/*.txt with the PyTorch reference.

Tiny fixed networks, inputs and labels, all given by formulas that tests/test_golden.c
repeats, run through PyTorch: the logits, the mean cross-entropy, every parameter
gradient (in libdigits' arena order: per layer weights then biases, PyTorch's own
layouts, then a batchnorm's running mean and variance, whose gradient is 0) and the
parameters after one Adam step with the Keras settings. With batch normalisation also
the arena after the training forward (the running statistics moved) and the logits at
inference with those statistics. Run it on purpose, with /usr/bin/python3 and Debian's
python3-torch; the product never runs it.
"""
import math
import sys

import torch

BATCH, SIDE = 3, 10
LABELS = [3, 7, 1]

CASES = {
    "tiny-cnn": (
        "conv 2 3 relu, maxpool 2, conv 3 3 relu, flatten, dense 6 relu, dense 10",
        lambda: torch.nn.Sequential(
            torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(2, 3, 3), torch.nn.ReLU(), torch.nn.Flatten(),
            torch.nn.Linear(3 * 2 * 2, 6), torch.nn.ReLU(), torch.nn.Linear(6, 10))),
    "tiny-bn": (
        "conv 2 3 pad 1, batchnorm relu, maxpool 2, conv 3 3, batchnorm, relu, flatten, "
        "dense 6, batchnorm relu, dense 10",
        lambda: torch.nn.Sequential(
            torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.BatchNorm2d(2), torch.nn.ReLU(),
            torch.nn.MaxPool2d(2), torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3),
            torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(3 * 3 * 3, 6),
            torch.nn.BatchNorm1d(6), torch.nn.ReLU(), torch.nn.Linear(6, 10))),
}


def arena(net):
    """The tensors of the net in libdigits' arena order, each with whether it is a
    running variance (filled as 1 + the formula, as a variance must be positive)."""
    out = []
    for mod in net:
        if isinstance(mod, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            out += [(mod.weight, False), (mod.bias, False), (mod.running_mean, False),
                    (mod.running_var, True)]
        elif isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)):
            out += [(mod.weight, False), (mod.bias, False)]
    return out


def fill(tensors):
    i = 0
    with torch.no_grad():
        for t, is_var in tensors:
            flat = t.view(-1)
            for j in range(flat.numel()):
                flat[j] = 0.5 * math.sin(0.37 * i + 0.1) + (1.0 if is_var else 0.0)
                i += 1


def inputs():
    n = BATCH * SIDE * SIDE
    x = torch.tensor([0.5 + 0.5 * math.cos(0.11 * j) for j in range(n)], dtype=torch.float32)
    return x.view(BATCH, 1, SIDE, SIDE)


def line(name, values):
    return name + " " + " ".join("%.9g" % v for v in values) + "\n"


def flat(tensors):
    return torch.cat([t.detach().reshape(-1) for t, _ in tensors]).tolist()


def write(name, spec, build, folder):
    torch.manual_seed(0)
    net = build()
    tensors = arena(net)
    fill(tensors)
    has_bn = any(isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)) for m in net)
    x = inputs()
    y = torch.tensor(LABELS)
    net.train()
    logits = net(x)
    loss = torch.nn.functional.cross_entropy(logits, y)
    loss.backward()
    grads = torch.cat([(t.grad if t.grad is not None else torch.zeros_like(t)).reshape(-1)
                       for t, _ in tensors])
    state = flat(tensors)
    net.eval()
    with torch.no_grad():
        eval_logits = net(x)
    params = [t for t, _ in tensors if t.requires_grad]
    # Keras adds eps to sqrt(v) before the bias correction, PyTorch after it; for the
    # first step Keras' eps 1e-7 is PyTorch's eps 1e-7 / sqrt(1 - beta2)
    opt = torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-7 / math.sqrt(1 - 0.999))
    opt.step()
    out = "%s/%s.txt" % (folder, name)
    with open(out, "w") as f:
        f.write("# written by scripts/golden.py with torch %s; spec: %s\n" % (torch.__version__, spec))
        f.write(line("logits", logits.detach().view(-1).tolist()))
        f.write(line("loss", [loss.item()]))
        f.write(line("grads", grads.tolist()))
        if has_bn:
            f.write(line("state", state))
            f.write(line("eval", eval_logits.view(-1).tolist()))
        f.write(line("adam", flat(tensors)))
    print("wrote", out)


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "tests/data/golden"
    for name, (spec, build) in CASES.items():
        write(name, spec, build, folder)


main()
