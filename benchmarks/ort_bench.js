// Times ONNX Runtime (npm onnxruntime-node) on one model the way `hone bench --json` times Hone, and prints one JSON
// object with the same latency keys, so benchmarks/compare_ort.sh can put the two side by side.
//   node benchmarks/ort_bench.js MODEL [--threads N] [--shape [NAME=]DIMS]... [--input NAME=FILE.npy]...
//        [--save-inputs DIR] [--warmup N] [--iterations K] [--seed S]
// Session: graph optimizations 'all', intra-op threads N, inter-op threads 1, sequential execution. Inputs not given
// are seeded random data (float U[-1, 1), integers in [0, 10)); symbolic dims are 1 unless --shape gives the shape.
// --save-inputs writes DIR/<i>.npy per input (graph order) and prints their names, so Hone can be fed the same data.
// Each timed run is one awaited session.run(): the binding's fixed cost per call is included, as a user would see it.
// Percentiles are nearest-rank, as in Hone (src/bench/latency_stats.h).
'use strict';
const path = require('path');
const ort = require('onnxruntime-node');
const { rng } = require('../tests/peer/rng');
const { readNpy, writeNpy } = require('../tests/peer/npy');

const TYPED = {
  float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array, int8: Int8Array,
  uint8: Uint8Array, bool: Uint8Array,
};

function parseArgs(argv) {
  const o = { model: null, threads: 1, shapes: {}, inputs: {}, saveInputs: null, warmup: 10, iterations: 100, seed: 0 };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    const assignment = (v) => {
      const eq = v.lastIndexOf('=');
      if (eq <= 0) throw new Error(`${a} expects NAME=VALUE, got '${v}'`);
      return [v.slice(0, eq), v.slice(eq + 1)];
    };
    if (a === '--threads') o.threads = Number(next());
    else if (a === '--warmup') o.warmup = Number(next());
    else if (a === '--iterations') o.iterations = Number(next());
    else if (a === '--seed') o.seed = Number(next());
    else if (a === '--save-inputs') o.saveInputs = next();
    else if (a === '--shape') {
      // NAME=DIMS, or plain DIMS for the first input
      const v = next();
      const [n, d] = v.includes('=') ? assignment(v) : ['', v];
      o.shapes[n] = d.split(/[x,]/).map(Number);
    }
    else if (a === '--input') { const [n, f] = assignment(next()); o.inputs[n] = f; }
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else if (o.model === null) o.model = a;
    else throw new Error(`unexpected argument '${a}'`);
  }
  if (!o.model) throw new Error('no model given');
  for (const k of ['threads', 'warmup', 'iterations'])
    if (!Number.isInteger(o[k]) || o[k] < (k === 'warmup' ? 0 : 1)) throw new Error(`bad --${k}`);
  return o;
}

function percentile(sorted, p) {
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length - 1e-9)));
  return sorted[rank - 1];
}

function stats(samples) {
  const s = [...samples].sort((x, y) => x - y);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const sq = s.reduce((a, b) => a + (b - mean) ** 2, 0);
  return {
    min: s[0], p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), mean, max: s[s.length - 1],
    std: s.length > 1 ? Math.sqrt(sq / (s.length - 1)) : 0,
  };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(o.model, {
    intraOpNumThreads: o.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential',
    logSeverityLevel: 3,
  });
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const random = rng(o.seed);
  const feeds = {};
  const inputs = [];
  session.inputMetadata.forEach((m, i) => {
    let t;
    if (o.inputs[m.name]) {
      const a = readNpy(o.inputs[m.name]);
      t = new ort.Tensor(a.type, a.data, a.shape);
    } else {
      const shape = o.shapes[m.name] || (i === 0 && o.shapes['']) || m.shape.map(d => (typeof d === 'number' && d >= 0 ? d : 1));
      const Arr = TYPED[m.type];
      if (!Arr) throw new Error(`input '${m.name}' of type ${m.type} cannot be filled randomly`);
      const n = shape.reduce((a, b) => a * b, 1);
      const data = new Arr(n);
      for (let k = 0; k < n; ++k) {
        const u = random();
        if (m.type.startsWith('float')) data[k] = u * 2 - 1;
        else if (m.type === 'bool') data[k] = u < 0.5 ? 0 : 1;
        else data[k] = m.type === 'int64' ? BigInt(Math.floor(u * 10)) : Math.floor(u * 10);
      }
      t = new ort.Tensor(m.type, data, shape);
    }
    feeds[m.name] = t;
    inputs.push({ name: m.name, dtype: t.type, shape: t.dims });
    if (o.saveInputs) writeNpy(path.join(o.saveInputs, `${i}.npy`), t.type, t.dims, t.data);
  });
  const t1 = process.hrtime.bigint();
  await session.run(feeds);
  const firstMs = Number(process.hrtime.bigint() - t1) / 1e6;
  for (let i = 0; i < o.warmup; ++i) await session.run(feeds);
  const samples = [];
  for (let i = 0; i < o.iterations; ++i) {
    const t = process.hrtime.bigint();
    await session.run(feeds);
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  console.log(JSON.stringify({
    engine: `onnxruntime-node ${require('onnxruntime-node/package.json').version}`, model: o.model, inputs,
    threads: o.threads, warmup: o.warmup, iterations: samples.length, load_ms: loadMs, first_run_ms: firstMs,
    latency_ms: stats(samples), percentile_method: 'nearest-rank',
  }));
}

main().catch(e => { console.error(`ort_bench: ${e.message}`); process.exit(1); });
