// mulberry32: a small seeded generator of floats in [0, 1), so that a seed gives the same inputs on every machine and
// every run. Shared by the ONNX Runtime scripts (benchmarks/ort_bench.js, tests/peer/ort_agree.js).
'use strict';

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

module.exports = { rng };
