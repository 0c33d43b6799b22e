#!/usr/bin/env bash
# Installs, builds and runs every test: the ONNX conformance corpus first (its table is printed), then every other
# ctest test. Exits non-zero if anything fails.
# --sanitizers: instead, the server's tests built and run under AddressSanitizer + UndefinedBehaviorSanitizer and
# under ThreadSanitizer (scripts/test_sanitizers.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh || exit 1
if [ "${1:-}" = "--sanitizers" ]; then exec scripts/test_sanitizers.sh; fi
if [ $# -gt 0 ]; then
  echo "usage: scripts/test.sh [--sanitizers]" >&2
  exit 2
fi
scripts/build.sh || exit 1
if [ ! -d ../shared/conformance ]; then
  echo "error: ../shared/conformance (the ONNX backend test corpus) is missing" >&2
  exit 1
fi
status=0
echo "==> conformance (../shared/conformance)"
ctest --test-dir build -R '^conformance$' -V --timeout 1800 | sed -n 's/^[0-9]*: //p'
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
echo "==> all other tests"
ctest --test-dir build -E '^conformance$' --output-on-failure -j2 --timeout 900 || status=1
exit $status
