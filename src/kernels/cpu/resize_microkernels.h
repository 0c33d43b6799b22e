// Float32 row microkernels for Resize, one table per ISA tier (scalar, AVX2+FMA, AVX-512), each compiled from the
// same generic body (resize_microkernels.inc) with its own vector type and target attributes. A "row" is one image
// row: out_w pixels of c floats each (c = 1 for plain NCHW planes, c = C for channels-last N,H,W,C images). Offsets
// index floats within a source row and already include the factor c. Threading and tap planning live in
// resize_kernel.cc.
#pragma once
#include <cstdint>

#include "kernels/cpu/cpu_features.h"

namespace hone::cpu {

struct ResizeMicrokernels {
  const char* isa;  // "scalar", "avx2", "avx512": the suffix of kernel names
  // Nearest: y[i*c + j] = src[off[i] + j] for i < n, j < c.
  void (*pick)(const float* src, const int32_t* off, int64_t n, int64_t c, float* y);
  // Integer upsampling by f: y[(i*f + r)*c + j] = src[i*c + j] for i < n, r < f, j < c.
  void (*repeat)(const float* src, int64_t n, int64_t f, int64_t c, float* y);
  // Interpolation along a row, k taps per output pixel (weights and offsets stored tap-major, k rows of n):
  // y[i*c + j] = sum over t < k of src[off[t*n + i] + j] * w[t*n + i].
  void (*taps)(const float* src, const int32_t* off, const float* w, int k, int64_t n, int64_t c, float* y);
  // Across rows: y[i] = sum over t < k of rows[t][i] * w[t], for i < n.
  void (*blend)(const float* const* rows, const float* w, int k, int64_t n, float* y);
};

const ResizeMicrokernels& resize_scalar();
const ResizeMicrokernels& resize_avx2();
const ResizeMicrokernels& resize_avx512();
// The table for a tier (tiers above avx512 use the avx512 one).
const ResizeMicrokernels& resize_for(Isa isa);

}  // namespace hone::cpu
