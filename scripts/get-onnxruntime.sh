#!/bin/sh
# get-onnxruntime.sh - installs onnxruntime-node, the ONNX Runtime used to check exported
# models (scripts/onnx_check.js, make test's onnx_runtime test), into node/ of the repo
# (ignored by git). Its CPU library ships inside the package, so nothing is built:
# install scripts are not run. Prints where it is; does nothing when it is already there.
#
#   scripts/get-onnxruntime.sh
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/node
if [ -f "$dir/node_modules/onnxruntime-node/package.json" ]; then
    echo "onnxruntime-node: $dir/node_modules/onnxruntime-node"
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "get-onnxruntime: npm is missing (apt-get install npm)" >&2
    exit 1
fi
mkdir -p "$dir"
[ -f "$dir/package.json" ] || echo '{"name": "digits-onnx-check", "private": true}' >"$dir/package.json"
npm install --ignore-scripts --no-audit --no-fund --prefix "$dir" onnxruntime-node
echo "onnxruntime-node: $dir/node_modules/onnxruntime-node"
