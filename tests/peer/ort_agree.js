// Does ONNX Runtime (npm onnxruntime-node) load the file `hone optimize` wrote, and does it compute what the original
// computes? Runs both models on the same seeded random inputs and compares every output by name.
//   node tests/peer/ort_agree.js ORIGINAL OPTIMIZED [--shape NAME=D0xD1x...]... [--range LO,HI] [--seed N]
//        [--rtol R] [--atol A] [--threads N] [--graph-opt disabled|basic|extended|all]
// Inputs: the original's declared types and shapes; symbolic dims from --shape, else 1. Floats are uniform in
// [LO, HI) (default [-1, 1)), integers in [0, 4), bools 0/1. Prints the max abs / max relative difference per output
// and exits 1 when an element differs by more than atol + rtol * |original| (default rtol 1e-4, atol 1e-5), or when
// output names, types or shapes differ; 2 on bad usage.
'use strict';
const ort = require('onnxruntime-node');
const { rng } = require('./rng');

function usage(msg) {
  if (msg) console.error(`ort_agree: ${msg}`);
  console.error('usage: node ort_agree.js ORIGINAL OPTIMIZED [--shape NAME=DIMS]... [--range LO,HI] [--seed N] ' +
                '[--rtol R] [--atol A] [--threads N] [--graph-opt LEVEL]');
  process.exit(2);
}

function parseArgs(argv) {
  const o = { files: [], shapes: {}, lo: -1, hi: 1, seed: 1, rtol: 1e-4, atol: 1e-5, threads: 1, graphOpt: 'all' };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const value = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
    if (a === '--shape') {
      const v = value();
      const eq = v.lastIndexOf('=');
      if (eq <= 0) usage(`--shape expects NAME=DIMS, got '${v}'`);
      const dims = v.slice(eq + 1).split(/[x,]/).filter(s => s.length).map(Number);
      if (dims.some(d => !Number.isInteger(d) || d < 0)) usage(`bad shape in '${v}'`);
      o.shapes[v.slice(0, eq)] = dims;
    } else if (a === '--range') {
      [o.lo, o.hi] = value().split(',').map(Number);
      if (!(o.lo < o.hi)) usage('--range expects LO,HI with LO < HI');
    } else if (a === '--seed') o.seed = Number(value());
    else if (a === '--rtol') o.rtol = Number(value());
    else if (a === '--atol') o.atol = Number(value());
    else if (a === '--threads') o.threads = Number(value());
    else if (a === '--graph-opt') o.graphOpt = value();
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else o.files.push(a);
  }
  if (o.files.length !== 2) usage('expected ORIGINAL and OPTIMIZED');
  return o;
}

// 3 significant digits, in exponent form when small or large.
function num(x) {
  if (x === 0 || !Number.isFinite(x)) return String(x);
  return Math.abs(x) < 1e-3 || Math.abs(x) >= 1e5 ? x.toExponential(2) : x.toPrecision(3);
}

const TYPED = {
  float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array, int16: Int16Array,
  int8: Int8Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array, bool: Uint8Array,
};

function randomInputs(session, o) {
  const next = rng(o.seed);
  const feeds = {};
  const lines = [];
  for (const m of session.inputMetadata) {
    if (!m.isTensor) throw new Error(`input '${m.name}' is not a tensor; ort_agree feeds tensors only`);
    const Arr = TYPED[m.type];
    if (!Arr) throw new Error(`input '${m.name}' has type ${m.type}, which ort_agree cannot fill`);
    let dims = m.shape.map(d => (typeof d === 'number' && d >= 0 ? d : 1));
    if (o.shapes[m.name]) {
      const given = o.shapes[m.name];
      if (m.shape.length && given.length !== m.shape.length)
        throw new Error(`--shape for '${m.name}' has rank ${given.length}; the model declares ${m.shape.length}`);
      dims = given;
    }
    const n = dims.reduce((p, d) => p * d, 1);
    const data = new Arr(n);
    for (let i = 0; i < n; ++i) {
      const u = next();
      if (m.type === 'float32' || m.type === 'float64') data[i] = o.lo + (o.hi - o.lo) * u;
      else if (m.type === 'bool') data[i] = u < 0.5 ? 0 : 1;
      else if (Arr === BigInt64Array || Arr === BigUint64Array) data[i] = BigInt(Math.floor(u * 4));
      else data[i] = Math.floor(u * 4);
    }
    feeds[m.name] = new ort.Tensor(m.type, data, dims);
    lines.push(`'${m.name}' ${m.type} [${dims.join('x')}]`);
  }
  return { feeds, lines };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const options = { intraOpNumThreads: o.threads, interOpNumThreads: 1, graphOptimizationLevel: o.graphOpt };
  const original = await ort.InferenceSession.create(o.files[0], options);
  const optimized = await ort.InferenceSession.create(o.files[1], options);
  const { feeds, lines } = randomInputs(original, o);
  console.log(`inputs (seed ${o.seed}, floats in [${o.lo}, ${o.hi})): ${lines.join(', ')}`);
  const want = await original.run(feeds);
  const got = await optimized.run(feeds);
  let ok = true;
  if (original.outputNames.join('\n') !== optimized.outputNames.join('\n')) {
    console.log(`outputs differ: [${original.outputNames}] vs [${optimized.outputNames}]`);
    ok = false;
  }
  let worstAbs = 0;
  let worstRel = 0;
  for (const name of original.outputNames) {
    const a = want[name];
    const b = got[name];
    if (!b) continue;
    if (a.type !== b.type || a.dims.join('x') !== b.dims.join('x')) {
      console.log(`'${name}': ${a.type} [${a.dims.join('x')}] became ${b.type} [${b.dims.join('x')}]`);
      ok = false;
      continue;
    }
    let maxAbs = 0;
    let maxRel = 0;
    let bad = 0;
    let first = -1;
    for (let i = 0; i < a.data.length; ++i) {
      const x = Number(a.data[i]);
      const y = Number(b.data[i]);
      if (Number.isNaN(x) && Number.isNaN(y)) continue;
      const e = Number.isNaN(x - y) ? Infinity : Math.abs(x - y);
      maxAbs = Math.max(maxAbs, e);
      if (x !== 0) maxRel = Math.max(maxRel, e / Math.abs(x));
      if (!(e <= o.atol + o.rtol * Math.abs(x))) {
        if (first < 0) first = i;
        ++bad;
      }
    }
    worstAbs = Math.max(worstAbs, maxAbs);
    worstRel = Math.max(worstRel, maxRel);
    let line = `'${name}' ${a.type} [${a.dims.join('x')}]: max abs difference ${num(maxAbs)}, ` +
               `max relative ${num(maxRel)}`;
    if (bad) {
      line += `; ${bad} of ${a.data.length} elements beyond rtol ${o.rtol} / atol ${o.atol}, first at ${first} ` +
              `(${Number(a.data[first])} vs ${Number(b.data[first])})`;
      ok = false;
    }
    console.log(line);
  }
  console.log(`onnxruntime-node ${ort.env.versions ? ort.env.versions.common : ''}: max abs difference ` +
              `${num(worstAbs)}, max relative ${num(worstRel)}: ` +
              `${ok ? 'agree' : 'DISAGREE'} (rtol ${o.rtol}, atol ${o.atol})`);
  process.exit(ok ? 0 : 1);
}

main().catch(e => { console.error(`ort_agree: ${e.message}`); process.exit(1); });
