// Runs a model with ONNX Runtime (npm onnxruntime-node): the peer and second opinion for Hone's tests.
//   node tests/peer/ort_run.js MODEL OUTDIR [--threads N] NAME=FILE.npy...
// Writes OUTDIR/<i>.npy for the i-th graph output, in graph order, and prints their names.
'use strict';
const path = require('path');
const ort = require('onnxruntime-node');
const { readNpy, writeNpy } = require('./npy');

async function main() {
  const args = process.argv.slice(2);
  if (args.length < 2) {
    console.error('usage: node ort_run.js MODEL OUTDIR [--threads N] NAME=FILE.npy...');
    process.exit(2);
  }
  const [model, outdir] = args;
  let threads = 1;
  const feeds = {};
  for (let i = 2; i < args.length; ++i) {
    if (args[i] === '--threads') { threads = Number(args[++i]); continue; }
    const eq = args[i].indexOf('=');
    const name = args[i].slice(0, eq);
    const a = readNpy(args[i].slice(eq + 1));
    feeds[name] = new ort.Tensor(a.type, a.data, a.shape);
  }
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
  });
  const results = await session.run(feeds);
  session.outputNames.forEach((name, i) => {
    const t = results[name];
    writeNpy(path.join(outdir, `${i}.npy`), t.type, t.dims, t.data);
    console.log(`${i}\t${name}\t${t.type}\t[${t.dims.join(',')}]`);
  });
}

main().catch(e => { console.error(`ort_run: ${e.message}`); process.exit(1); });
