// The AVX-512 tier (f, bw, vl, dq) of the per-channel microkernels: the generic body over 16-float vectors, compiled
// for that target only.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/norm_microkernels.h"

// GCC 12's own AVX-512 headers trip -Wmaybe-uninitialized (their _mm512_undefined_* placeholders).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wpsabi"  // lambdas' unused function-pointer thunks
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")

namespace hone::cpu {
namespace norm_avx512_tier {
namespace {

struct V {
  using R = __m512;
  static constexpr int W = 16;
  static R load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, R v) { _mm512_storeu_ps(p, v); }
  static R set1(float v) { return _mm512_set1_ps(v); }
  static R zero() { return _mm512_setzero_ps(); }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  static R sub(R a, R b) { return _mm512_sub_ps(a, b); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R max(R a, R b) { return _mm512_max_ps(a, b); }  // a > b ? a : b
  static __mmask16 tail_mask(int64_t n) { return static_cast<__mmask16>((1u << n) - 1); }
  static R load_tail(const float* p, int64_t n, R fill) { return _mm512_mask_loadu_ps(fill, tail_mask(n), p); }
  static void store_tail(float* p, R v, int64_t n) { _mm512_mask_storeu_ps(p, tail_mask(n), v); }
  static float hsum(R a) {
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
  }
  static float hmax(R a) {
    __m256 h = _mm256_max_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
  }
};

constexpr const char* kIsaName = "avx512";
#include "kernels/cpu/norm_microkernels.inc"

}  // namespace
}  // namespace norm_avx512_tier

const NormMicrokernels& norm_avx512() { return norm_avx512_tier::kTable; }

}  // namespace hone::cpu

#pragma GCC pop_options
#pragma GCC diagnostic pop
