// Float32 GEMV microkernels (y = x * B' + bias for 1 to 4 rows of x) over weights pre-packed into column panels, one
// per ISA tier. Panel p holds columns [p*nr, p*nr + nr) of B' for every k, row after row ([k][nr], zero-padded past
// the last column), so a panel is one contiguous stream and the inner loop is "broadcast x[k], FMA one row of the
// panel". The AVX2 and AVX-512 tiers are compiled from one generic body (gemv_microkernels.inc).
#pragma once
#include <cstdint>

#include "kernels/cpu/cpu_features.h"

namespace hone::cpu {

inline constexpr int kGemvMaxRows = 4;

struct GemvArgs {
  const float* x = nullptr;     // element (m, k) at x[m * x_row_stride + k * x_k_stride]
  int64_t x_row_stride = 0, x_k_stride = 1;
  int rows = 1;                 // 1..kGemvMaxRows
  int64_t k = 0;
  const float* packed = nullptr;  // ceil(n / nr) panels of k x nr floats, 64-byte aligned
  int64_t n = 0;                // real output columns
  const float* bias = nullptr;  // null, or row m at bias + m * bias_row_stride, padded to whole panels
  int64_t bias_row_stride = 0;
  float* y = nullptr;           // element (m, j) at y[m * y_row_stride + j]
  int64_t y_row_stride = 0;
};

// Computes the output columns of panels [panel_begin, panel_end).
using GemvPanelsFn = void (*)(const GemvArgs& args, int64_t panel_begin, int64_t panel_end);

struct GemvMicrokernel {
  const char* isa;  // "scalar", "avx2", "avx512": the suffix of the kernel's name
  int nr;           // panel width (columns)
  GemvPanelsFn panels;
};

const GemvMicrokernel& gemv_scalar();
const GemvMicrokernel& gemv_avx2();
const GemvMicrokernel& gemv_avx512();
// The microkernel for a tier (tiers above avx512 use the avx512 one).
const GemvMicrokernel& gemv_for(Isa isa);

}  // namespace hone::cpu
