#!/bin/sh
# Train a small ResNet on Fashion-MNIST with TensorFlow.js, export it to ONNX, classify
# the test set with ONNX Runtime. Run from the repository root. Needs Debian's
# dataset-fashion-mnist (or any directory of the four IDX files, gzipped or not).
set -e
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
OUT=${OUT:-runs/fashion}
npx tsx src/cli/main.ts train examples/fashion-mnist/fashion.resnet --data "$DATA" --out "$OUT" \
  --epochs 3 --batch-size 128 --lr 0.1
npx tsx src/cli/main.ts compile examples/fashion-mnist/fashion.resnet --target onnx \
  --weights "$OUT/model" -o "$OUT/fashion.onnx"
npx tsx examples/fashion-mnist/classify.ts "$OUT/fashion.onnx" "$DATA"
