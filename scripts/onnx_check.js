#!/usr/bin/env node
// onnx_check.js - runs an ONNX file with ONNX Runtime (onnxruntime-node, installed by
// scripts/get-onnxruntime.sh into node/) on raw pixels, normalised as docs/onnx.md says,
// and compares its "probabilities" output with digits' own.
//
//   node scripts/onnx_check.js MODEL.onnx PREFIX N CLASSES SCALE MEAN STD [TOLERANCE]
//
// PREFIX.u8 holds N images of 28x28 bytes, PREFIX.f32 digits' probabilities [N][CLASSES]
// (both from build/onnx_dump). Prints the images compared, how many have the same argmax
// and the largest probability difference; exit status 1 when an argmax differs or the
// difference is above TOLERANCE (default 1e-5), 2 on bad usage.
'use strict';
const fs = require('fs');
const path = require('path');

const args = process.argv.slice(2);
if (args.length < 7) {
    console.error('usage: onnx_check.js MODEL.onnx PREFIX N CLASSES SCALE MEAN STD [TOLERANCE]');
    process.exit(2);
}
const [model, prefix] = args;
const n = parseInt(args[2], 10), classes = parseInt(args[3], 10);
const scale = parseFloat(args[4]), mean = parseFloat(args[5]), std = parseFloat(args[6]);
const tolerance = args.length > 7 ? parseFloat(args[7]) : 1e-5;

let ort;
try {
    ort = require(path.join(__dirname, '..', 'node', 'node_modules', 'onnxruntime-node'));
} catch (e) {
    console.error('onnx_check: onnxruntime-node is missing: run scripts/get-onnxruntime.sh');
    process.exit(3);
}

async function main() {
    const pixels = fs.readFileSync(prefix + '.u8');
    const raw = fs.readFileSync(prefix + '.f32');
    const theirs = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
    const side = 28, size = side * side;
    if (pixels.length !== n * size || theirs.length !== n * classes) {
        throw new Error('input files do not hold ' + n + ' images');
    }
    const session = await ort.InferenceSession.create(model);
    const batch = 500;
    let same = 0, worst = 0, worstAt = -1;
    for (let at = 0; at < n; at += batch) {
        const m = Math.min(batch, n - at);
        const x = new Float32Array(m * size);
        for (let i = 0; i < m * size; i++) {
            // the normalisation in float32 steps, as digits computes it
            const p = Math.fround(Math.fround(pixels[at * size + i] * Math.fround(scale)) -
                                  Math.fround(mean));
            x[i] = Math.fround(p / Math.fround(std));
        }
        const out = await session.run({input: new ort.Tensor('float32', x, [m, 1, side, side])});
        const probs = out.probabilities.data;
        for (let e = 0; e < m; e++) {
            let a = 0, b = 0;
            for (let c = 0; c < classes; c++) {
                const mine = probs[e * classes + c], other = theirs[(at + e) * classes + c];
                if (mine > probs[e * classes + a]) a = c;
                if (other > theirs[(at + e) * classes + b]) b = c;
                const d = Math.abs(mine - other);
                if (d > worst) {
                    worst = d;
                    worstAt = at + e;
                }
            }
            same += a === b;
        }
    }
    console.log(`onnxruntime ${require(path.join(__dirname, '..', 'node', 'node_modules',
                                                 'onnxruntime-node', 'package.json')).version}: ` +
                `${n} images, same argmax on ${same}, largest probability difference ` +
                `${worst.toExponential(2)} (image ${worstAt})`);
    process.exit(same === n && worst <= tolerance ? 0 : 1);
}

main().catch((e) => {
    console.error('onnx_check: ' + e.message);
    process.exit(1);
});
