// Float32 per-channel microkernels behind the normalization and global-pooling kernels (BatchNormalization,
// InstanceNormalization, GlobalAveragePool, GlobalMaxPool): affine maps with per-channel coefficients, and sums and
// maxima over channels-first planes. One table per ISA tier, compiled from one generic body (norm_microkernels.inc)
// like the element-wise tiers. Single-threaded over the range given; parallel_pieces below splits work over threads.
#pragma once
#include <algorithm>
#include <cstdint>

#include "kernels/cpu/cpu_features.h"

namespace hone::cpu {

// The widest tier's vector: affine_periodic's coefficient arrays are readable up to a multiple of it.
inline constexpr int64_t kNormVectorQuantum = 16;

// y[i] = x[i] * s + b for i < n (x and y may be the same buffer).
using AffineFn = void (*)(const float* x, float* y, int64_t n, float s, float b);
// y[i] = (x[i] - m) * s + b: subtracting first keeps a normalized plane accurate when its mean is large next to its
// spread (x - m is exact for x within a factor of 2 of m), where x * s + (b - m * s) would cancel.
using CenteredAffineFn = void (*)(const float* x, float* y, int64_t n, float m, float s, float b);
// y[i] = x[i] * s[i % period] + b[i % period] for i < n: channels-last rows of C channels, or short channels-first
// planes, with the coefficients repeated out to `period` values. s and b must be readable (any values) up to `period`
// rounded up to kNormVectorQuantum; a period that is a multiple of it runs without tails.
using AffinePeriodicFn = void (*)(const float* x, float* y, int64_t n, const float* s, const float* b, int64_t period);
// Sum of n floats, accumulated in float over short blocks and in double across them (long planes stay accurate).
using SumFn = double (*)(const float* x, int64_t n);
// Sum of (x[i] - m)^2, accumulated like SumFn.
using SumSquaredDeviationFn = double (*)(const float* x, int64_t n, float m);
// Maximum of n >= 1 floats (x > best ? x : best, as the reference compares).
using MaxFn = float (*)(const float* x, int64_t n);
// y[p] = the mean (PlanesFn of means) or the maximum (of maxima) of plane p's n >= 1 elements x[p * n, (p + 1) * n),
// for p < planes: channels-first global pooling, many short planes in one call.
using PlanesFn = void (*)(const float* x, int64_t planes, int64_t n, float* y);
struct NormMicrokernels {
  const char* isa;  // "scalar", "avx2", "avx512": the suffix of kernel names
  AffineFn affine;
  CenteredAffineFn centered_affine;
  AffinePeriodicFn affine_periodic;
  SumFn sum;
  SumSquaredDeviationFn sum_squared_deviation;
  MaxFn max;
  PlanesFn plane_means;
  PlanesFn plane_maxima;
};

const NormMicrokernels& norm_scalar();
const NormMicrokernels& norm_avx2();
const NormMicrokernels& norm_avx512();
// The table for a tier (tiers above avx512 use the avx512 one).
const NormMicrokernels& norm_for(Isa isa);

// Calls f(begin, end) over [0, n) in pieces of at least `grain` items whose starts are multiples of `quantum`, on up to
// `threads` OpenMP threads; on the calling thread alone when there is too little work to pay for waking others.
template <typename F>
void parallel_pieces(int64_t n, int64_t grain, int64_t quantum, int threads, F f) {
  int64_t pieces = std::min<int64_t>(std::max(threads, 1), n / std::max<int64_t>(grain, 1));
  if (pieces <= 1) {
    if (n > 0) f(int64_t{0}, n);
    return;
  }
  int64_t per = (n + pieces - 1) / pieces;
  per = (per + quantum - 1) / quantum * quantum;
#pragma omp parallel for num_threads(static_cast<int>(pieces)) schedule(static)
  for (int64_t i = 0; i < pieces; ++i) {
    int64_t b = i * per, e = std::min(n, b + per);
    if (b < e) f(b, e);
  }
}

}  // namespace hone::cpu
