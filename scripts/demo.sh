#!/bin/sh
# demo.sh BUILD_DIR - the main job, as `make demo` runs it: train the seed CNN on MNIST,
# evaluate it, save it, recognise the sample images and numbers, draw the pictures and
# write the offline report. MNIST must already be in data/mnist (make data).
set -eu

build=${1:-build}
digits="$build/digits"
model=model/digits.model
out=out

step() {
    printf '\n== %s\n' "$*"
}

mkdir -p model "$out"

# Half of the training 1s are shown with a flag (an up-stroke from the top), as much of
# Europe writes them: MNIST has few, and without them a flagged 1 is read as a 7. Every
# training image is slightly rotated, scaled, sheared and shifted each time it is used, as
# a digit cut out of a photo is, over 8 epochs instead of 5 (docs/preprocessing.md).
step "train seed-cnn (8 epochs, batch 32, Adam) on data/mnist, augmented, half the 1s flagged"
"$digits" train --preset seed-cnn --epochs 8 --augment --flagged-ones 0.5 -o "$model"

step "model summary"
"$digits" info "$model"

step "evaluate on the 10,000 test images"
"$digits" evaluate --model "$model"

step "recognise the sample images (samples/)"
"$digits" predict --model "$model" samples/digits

step "read the sample numbers (samples/numbers/)"
"$digits" read --model "$model" samples/numbers

step "pictures"
"$digits" plot predictions --model "$model" --n 36 -o "$out/predictions.png"
"$digits" plot predictions --model "$model" --n 36 --errors -o "$out/mistakes.png"
"$digits" plot confusion --model "$model" -o "$out/confusion.png"
"$digits" predict --model "$model" --plot "$out/predict-one.png" samples/digits/7-paint-thin.png
"$digits" read --model "$model" --plot "$out/read-one.png" samples/numbers/2024-year.png
"$digits" plot filters --model "$model" -o "$out/filters.png"
"$digits" plot activations --model "$model" -o "$out/activations.png" samples/digits/7-paint-thin.png

step "report"
"$digits" report --model "$model" --samples samples/digits -o report

cat <<END

== where everything went
model:            $model   (digits info $model)
training history: model/digits.history.csv
training curves:  model/digits.curves.png
prediction grid:  $out/predictions.png
worst mistakes:   $out/mistakes.png
confusion map:    $out/confusion.png
one prediction:   $out/predict-one.png
one number read:  $out/read-one.png
filters:          $out/filters.png
feature maps:     $out/activations.png
report:           report/index.html   (one self-contained file: open it in a browser, offline)
END
