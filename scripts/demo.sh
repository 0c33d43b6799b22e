#!/usr/bin/env bash
# The main job on the default model: install, build, then take the Fashion-MNIST CNN through the whole path:
# inspect it, optimize it, quantize it (static int8 with per-channel weights, and bf16), and compare the four files
# on the full 10,000-image test set: accuracy, fidelity to fp32, latency, throughput and size in one table.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh

MODEL=tests/fixtures/fashion_mnist_cnn.onnx
DATA=/usr/share/datasets/fashion-mnist        # Debian's dataset-fashion-mnist (IDX, gzip)
OUT=build/demo                                # the demo's own folder: its files are rewritten on every run
NORM=(--mean 0.286 --std 0.353)               # the normalization the model was trained with (pixels / 255 first)
CALIBRATION=(--calibration "$DATA/train-images-idx3-ubyte.gz" --limit 1000 "${NORM[@]}")
mkdir -p "$OUT"

step() {
  echo
  echo "==> $1"
  echo "    \$ ${*:2}"
  echo
  "${@:2}"
}

step "1/5 what the model is: inputs, ops, parameters, FLOPs, memory" \
  build/hone inspect "$MODEL"
step "2/5 optimize: the same outputs from a cheaper graph" \
  build/hone optimize "$MODEL" -o "$OUT/cnn_optimized.onnx" --force
step "3/5 quantize to int8 (static, per-channel weights), calibrated on the first 1000 training images" \
  build/hone quantize "$OUT/cnn_optimized.onnx" -o "$OUT/cnn_int8.onnx" --per-channel "${CALIBRATION[@]}" --force
step "4/5 convert to bfloat16 (float32 kept where the calibration data leaves bf16's range)" \
  build/hone quantize "$OUT/cnn_optimized.onnx" -o "$OUT/cnn_bf16.onnx" --dtype bf16 "${CALIBRATION[@]}" --force
step "5/5 every variant on the 10,000 test images: accuracy, fidelity to fp32, latency, throughput, size" \
  build/hone compare fp32="$MODEL" optimized="$OUT/cnn_optimized.onnx" int8="$OUT/cnn_int8.onnx" \
  bf16="$OUT/cnn_bf16.onnx" --data "$DATA/t10k-images-idx3-ubyte.gz" --labels "$DATA/t10k-labels-idx1-ubyte.gz" \
  "${NORM[@]}"
