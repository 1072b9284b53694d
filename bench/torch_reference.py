#!/usr/bin/python3
"""torch_reference.py - the PyTorch side of the digits speed benchmark (bench/, not the product).

The same networks as the digits presets, written here with PyTorch, trained and run on the
same raw MNIST IDX files, printing one machine-readable line per measure:

    RESULT torch train_images_per_s 3123.4
    RESULT torch infer1_us 182.0

Modes (--mode):
  train      seed-cnn, batch 32, Adam (lr 1e-3, betas 0.9/0.999, eps 1e-7), shuffled every
             epoch, on the first --limit training images (default all 60,000); times the
             epoch loop only. Also prints the FLOPs of one training image counted from the
             layers (train_flop_per_image, as bench_train --flops counts them) and, with
             --test, the test accuracy after training.
  infer1     one image per forward, one thread: median microseconds per call.
  infer1000  batches of 1000 test images with --threads threads: images per second.
  predict1   a whole process predicting one picture: import, build, load weights, read the
             picture, forward, print the digit (a lower bound for a torch predict command: no
             MNIST-style preprocessing is done, the picture is only resized to 28x28).
  fast       the time-to-accuracy recipe: conv 24 5x5, maxpool 2, relu, conv 32 3x3,
             maxpool 2, relu, flatten, dense 256, dense 10; one epoch in order, batch 256,
             Adam lr 1e-2 betas (0.7, 0.9), one-cycle schedule; timed from the top of this
             script (imports included) to the trained, evaluated and saved model.

--precision bf16 (train and fast): the forward pass and the loss run under
torch.autocast("cpu", dtype=torch.bfloat16), as a PyTorch user asks for bf16 on a CPU:
convolutions and matrix products in bf16, the weights and the optimiser in fp32 (PyTorch
keeps fp32 master weights and casts them on the way in). The test accuracy is computed the
same way. --precision fp32 (the default) runs everything in fp32.

Weights are Glorot-uniform with zero biases, as Keras and digits initialise them.
"""
import time

T_START = time.perf_counter()  # before the imports: the fast mode counts them

import argparse
import gzip
import os
import resource
import statistics
import struct
import sys

import numpy as np
import torch
from torch import nn


def result(name, value):
    print(f"RESULT torch {name} {value}", flush=True)


def read_idx(path, want_magic):
    """An IDX file (raw or gzip'd) as a numpy uint8 array, header checked."""
    for candidate in (path, path + ".gz"):
        if os.path.exists(candidate):
            path = candidate
            break
    else:
        sys.exit(f"torch_reference: {path}: not found (run 'make data')")
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    magic = struct.unpack(">I", data[:4])[0]
    if magic != want_magic:
        sys.exit(f"torch_reference: {path}: bad magic 0x{magic:08x} (want 0x{want_magic:08x})")
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        sys.exit(f"torch_reference: {path}: size does not match the header {dims}")
    return body.reshape(dims)


def load_split(data_dir, split, limit=0):
    """Images as float32 [N][1][28][28] scaled x/255, labels as int64 [N]."""
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte"), 0x803)
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte"), 0x801)
    if limit > 0:
        images, labels = images[:limit], labels[:limit]
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


def seed_cnn():
    """digits preset seed-cnn."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1600, 64), nn.ReLU(), nn.Linear(64, 10),
    )


def fast_cnn():
    """digits preset fast (pooling before ReLU, as the recipe has it; the same function)."""
    return nn.Sequential(
        nn.Conv2d(1, 24, 5), nn.MaxPool2d(2), nn.ReLU(),
        nn.Conv2d(24, 32, 3), nn.MaxPool2d(2), nn.ReLU(),
        nn.Flatten(), nn.Linear(32 * 5 * 5, 256), nn.ReLU(), nn.Linear(256, 10),
    )


def train_flop_per_image(net, shape=(1, 1, 28, 28)):
    """FLOPs of one training image: 2 per multiply-add of the convolutions and dense layers
    in a forward pass (a convolution's weights once per output position), times 3 for the
    forward and the two gradient products; pooling, activations and biases left out."""
    macs = 0

    def count(module, inputs, output):
        nonlocal macs
        uses = output.shape[2] * output.shape[3] if isinstance(module, nn.Conv2d) else 1
        macs += module.weight.numel() * uses

    hooks = [m.register_forward_hook(count) for m in net.modules()
             if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        net(torch.zeros(shape))
    for h in hooks:
        h.remove()
    return 3 * 2 * macs


def precision_context(args):
    """bf16 autocast around forward and loss with --precision bf16, nothing otherwise."""
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16")


def glorot(net):
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return net


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


@torch.no_grad()
def accuracy(net, x, y, args, batch=1000):
    net.eval()
    correct = 0
    for i in range(0, len(x), batch):
        with precision_context(args):
            logits = net(x[i : i + batch])
        correct += (logits.argmax(1) == y[i : i + batch]).sum().item()
    net.train()
    return correct / len(x)


def mode_train(args):
    x, y = load_split(args.data, "train", args.limit)
    net = glorot(seed_cnn())
    result("train_flop_per_image", train_flop_per_image(net))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    n, seen = len(x), 0
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        order = torch.randperm(n)
        t_epoch = time.perf_counter()
        for i in range(0, n, args.batch):
            idx = order[i : i + args.batch]
            opt.zero_grad(set_to_none=True)
            with precision_context(args):
                loss = loss_fn(net(x[idx]), y[idx])
            loss.backward()
            opt.step()
            seen += len(idx)
        t_epoch = time.perf_counter() - t_epoch
        print(f"epoch {epoch + 1}/{args.epochs}: {t_epoch:.1f}s - {n / t_epoch:.0f} images/s"
              f" - loss: {loss.item():.4f}", file=sys.stderr)
    seconds = time.perf_counter() - t0
    result("train_images_per_s", f"{seen / seconds:.1f}")
    result("train_seconds", f"{seconds:.3f}")
    if args.test:
        xt, yt = load_split(args.data, "test")
        result("test_accuracy", f"{accuracy(net, xt, yt, args):.4f}")
    if args.save:
        torch.save(net.state_dict(), args.save)
    result("peak_rss_mb", f"{peak_rss_mb():.0f}")


def mode_infer1(args):
    xt, _ = load_split(args.data, "test", 1)
    net = glorot(seed_cnn()).eval()
    one = xt[:1]
    times = []
    with torch.inference_mode():
        for _ in range(args.warmup):
            net(one)
        for _ in range(args.runs):
            t = time.perf_counter_ns()
            net(one)
            times.append(time.perf_counter_ns() - t)
    result("infer1_us", f"{statistics.median(times) / 1e3:.1f}")


def mode_infer1000(args):
    xt, yt = load_split(args.data, "test")
    net = glorot(seed_cnn()).eval()
    times = []
    with torch.inference_mode():
        net(xt[:1000])  # warm-up
        for _ in range(args.repeats):
            for i in range(0, len(xt) - 999, 1000):
                t = time.perf_counter()
                net(xt[i : i + 1000])
                times.append(time.perf_counter() - t)
    result("infer1000_images_per_s", f"{1000.0 / statistics.median(times):.0f}")


def mode_predict1(args):
    from PIL import Image  # only this mode reads a picture

    net = seed_cnn()
    if args.weights:
        net.load_state_dict(torch.load(args.weights))
    else:
        glorot(net)
    net.eval()
    img = Image.open(args.image).convert("L").resize((28, 28), Image.BILINEAR)
    pixels = np.asarray(img, dtype=np.float32) / 255.0
    if pixels.mean() > 0.5:  # dark ink on light paper: MNIST is light on dark
        pixels = 1.0 - pixels
    with torch.inference_mode():
        p = torch.softmax(net(torch.from_numpy(pixels).view(1, 1, 28, 28)), 1)[0]
    print(f"{args.image}: {int(p.argmax())} ({float(p.max()):.2f})")


def mode_fast(args):
    x, y = load_split(args.data, "train")
    xt, yt = load_split(args.data, "test")
    net = glorot(fast_cnn())
    batch = 256
    steps = (len(x) + batch - 1) // batch
    opt = torch.optim.Adam(net.parameters(), lr=1e-2, betas=(0.7, 0.9), eps=1e-7)
    # Peak 1e-2 after a quarter of the steps, from 1e-3 up and down to 1e-5, as the digits
    # recipe; betas stay fixed (cycle_momentum would overwrite beta1).
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=1e-2, total_steps=steps, pct_start=0.25, anneal_strategy="cos",
        div_factor=10.0, final_div_factor=100.0, cycle_momentum=False)
    loss_fn = nn.CrossEntropyLoss()
    t_train = time.perf_counter()
    for i in range(0, len(x), batch):
        opt.zero_grad(set_to_none=True)
        with precision_context(args):
            loss = loss_fn(net(x[i : i + batch]), y[i : i + batch])
        loss.backward()
        opt.step()
        sched.step()
    t_train = time.perf_counter() - t_train
    acc = accuracy(net, xt, yt, args)
    if args.save:
        torch.save(net.state_dict(), args.save)
    total = time.perf_counter() - T_START
    result("fast_train_s", f"{t_train:.3f}")
    result("test_accuracy", f"{acc:.4f}")
    result("fast_total_s", f"{total:.3f}")
    result("peak_rss_mb", f"{peak_rss_mb():.0f}")


def main():
    p = argparse.ArgumentParser(description="PyTorch reference for the digits benchmark")
    p.add_argument("--mode", choices=["train", "infer1", "infer1000", "predict1", "fast"],
                   default="train")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="train/fast: bf16 autocast around forward and loss")
    p.add_argument("--data", default="data/mnist", help="folder of the MNIST IDX files")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--limit", type=int, default=0, help="train on the first N images")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--test", action="store_true", help="train: evaluate on the test set")
    p.add_argument("--save", help="train/fast: write the state_dict here")
    p.add_argument("--weights", help="predict1: a state_dict saved by --mode train")
    p.add_argument("--image", help="predict1: the picture")
    p.add_argument("--runs", type=int, default=2000, help="infer1: timed forwards")
    p.add_argument("--warmup", type=int, default=200, help="infer1: untimed forwards first")
    p.add_argument("--repeats", type=int, default=3, help="infer1000: passes over the test set")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    if args.mode == "predict1" and not args.image:
        p.error("--mode predict1 needs --image PICTURE")
    torch.manual_seed(args.seed)
    # infer1 is the one-image latency: one thread, as digits measures it
    torch.set_num_threads(1 if args.mode == "infer1" else args.threads)
    {"train": mode_train, "infer1": mode_infer1, "infer1000": mode_infer1000,
     "predict1": mode_predict1, "fast": mode_fast}[args.mode](args)


if __name__ == "__main__":
    main()
