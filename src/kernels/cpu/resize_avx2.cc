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
  // Output vector j holds lanes (j*8 + l) >> shift of v.
  static void store_repeat(float* y, R v, int f, int shift) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int j = 0; j < f; ++j) {
      __m256i idx = _mm256_srli_epi32(_mm256_add_epi32(lanes, _mm256_set1_epi32(j * 8)), shift);
      _mm256_storeu_ps(y + j * 8, _mm256_permutevar8x32_ps(v, idx));
    }
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
