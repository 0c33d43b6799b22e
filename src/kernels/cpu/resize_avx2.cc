// The AVX2+FMA tier of the Resize microkernels: the generic body over 8-float vectors, compiled for that target only.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/cpu/resize_microkernels.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
#pragma GCC push_options
#pragma GCC target("avx2,fma")

namespace hone::cpu {
namespace resize_avx2_tier {
namespace {

struct V {
  using R = __m256;
  static constexpr int W = 8;
  static R load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, R v) { _mm256_storeu_ps(p, v); }
  static R set1(float v) { return _mm256_set1_ps(v); }
  static R mul(R a, R b) { return _mm256_mul_ps(a, b); }
  static R fmadd(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static R gather(const float* base, const int32_t* idx) {
    return _mm256_i32gather_ps(base, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(idx)), 4);
  }
  static void store_dup2(float* y, R v) {
    R lo = _mm256_unpacklo_ps(v, v);  // v0 v0 v1 v1 | v4 v4 v5 v5
    R hi = _mm256_unpackhi_ps(v, v);  // v2 v2 v3 v3 | v6 v6 v7 v7
    _mm256_storeu_ps(y, _mm256_permute2f128_ps(lo, hi, 0x20));
    _mm256_storeu_ps(y + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
  }
};

constexpr const char* kIsaName = "avx2";
#include "kernels/cpu/resize_microkernels.inc"

}  // namespace
}  // namespace resize_avx2_tier

const ResizeMicrokernels& resize_avx2() { return resize_avx2_tier::kTable; }

}  // namespace hone::cpu

#pragma GCC pop_options
#pragma GCC diagnostic pop
