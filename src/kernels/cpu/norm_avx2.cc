// The AVX2+FMA tier of the per-channel microkernels: the generic body over 8-float vectors, compiled for that target.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/norm_microkernels.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"  // lambdas' unused function-pointer thunks
#pragma GCC push_options
#pragma GCC target("avx2,fma")

namespace hone::cpu {
namespace norm_avx2_tier {
namespace {

struct V {
  using R = __m256;
  static constexpr int W = 8;
  static R load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, R v) { _mm256_storeu_ps(p, v); }
  static R set1(float v) { return _mm256_set1_ps(v); }
  static R zero() { return _mm256_setzero_ps(); }
  static R add(R a, R b) { return _mm256_add_ps(a, b); }
  static R sub(R a, R b) { return _mm256_sub_ps(a, b); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static R max(R a, R b) { return _mm256_max_ps(a, b); }  // a > b ? a : b
  static __m256i tail_mask(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static R load_tail(const float* p, int64_t n, R fill) {
    __m256i m = tail_mask(n);
    return _mm256_blendv_ps(fill, _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
  }
  static void store_tail(float* p, R v, int64_t n) { _mm256_maskstore_ps(p, tail_mask(n), v); }
  static float hsum(R a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static float hmax(R a) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

constexpr const char* kIsaName = "avx2";
#include "kernels/cpu/norm_microkernels.inc"

}  // namespace
}  // namespace norm_avx2_tier

const NormMicrokernels& norm_avx2() { return norm_avx2_tier::kTable; }

}  // namespace hone::cpu

#pragma GCC pop_options
#pragma GCC diagnostic pop
