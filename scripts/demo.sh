#!/usr/bin/env bash
# The main job on the default model: install, build, then inspect and run the Fashion-MNIST CNN.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
MODEL=tests/fixtures/fashion_mnist_cnn.onnx
echo
echo "==> hone inspect $MODEL"
build/hone inspect "$MODEL"
echo
echo "==> hone run $MODEL --input input=tests/fixtures/fashion_mnist_test_1000_images.npy"
build/hone run "$MODEL" --input input=tests/fixtures/fashion_mnist_test_1000_images.npy
