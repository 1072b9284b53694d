#!/bin/sh
# onnx-agree.sh - exports a digits model to ONNX and runs it with ONNX Runtime on the MNIST
# test set: the same argmax on every image and the largest probability difference
# (docs/onnx.md). Installs onnxruntime-node into node/ when it is missing.
#
#   scripts/onnx-agree.sh [MODEL] [N]
#
# MODEL defaults to build/onnx/seed-cnn.model, trained first (seed-cnn preset, one epoch)
# when it does not exist; N (default 10000) is how many test images. Needs make, MNIST in
# data/mnist and node. Exit status 1 when the answers disagree.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
model=${1:-build/onnx/seed-cnn.model}
n=${2:-10000}
make --no-print-directory build/digits build/onnx_dump >/dev/null
mkdir -p build/onnx
if [ ! -f "$model" ]; then
    echo "training $model (seed-cnn, 1 epoch)"
    build/digits train --preset seed-cnn --epochs 1 -o "$model" >/dev/null
fi
scripts/get-onnxruntime.sh >/dev/null
build/digits export "$model" -o build/onnx/agree.onnx
# shellcheck disable=SC2046
set -- $(build/onnx_dump "$model" data/mnist "$n" build/onnx/agree)
node scripts/onnx_check.js build/onnx/agree.onnx build/onnx/agree "$1" "$2" "$3" "$4" "$5"
