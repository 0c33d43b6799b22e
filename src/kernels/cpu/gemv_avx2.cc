// The AVX2+FMA tier of the GEMV microkernel: panels of 16 columns (two 8-float registers).
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/gemv_microkernels.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma")

namespace hone::cpu {
namespace avx2 {
namespace {

struct V {
  using R = __m256;
  static constexpr int W = 8;
  static constexpr int kVectors = 2;
  static constexpr int kAccumulators = 12;  // 12 of the 16 registers: 2 weights and 1 broadcast take 3 more
  static R load(const float* p) { return _mm256_load_ps(p); }
  static R loadu(const float* p) { return _mm256_loadu_ps(p); }
  static void storeu(float* p, R v) { _mm256_storeu_ps(p, v); }
  static R zero() { return _mm256_setzero_ps(); }
  static R fma_x(const float* x, R b, R acc) { return _mm256_fmadd_ps(_mm256_set1_ps(*x), b, acc); }
  static R add(R a, R b) { return _mm256_add_ps(a, b); }
};

constexpr const char* kIsaName = "avx2";
#include "kernels/cpu/gemv_microkernels.inc"

}  // namespace
}  // namespace avx2

const GemvMicrokernel& gemv_avx2() { return avx2::kMicrokernel; }

}  // namespace hone::cpu

#pragma GCC pop_options
