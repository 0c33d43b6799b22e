// The AVX2+FMA tier: the generic microkernels over 8-float vectors, compiled for that target only.
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/elementwise_microkernels.h"

// Lambdas here get no AVX function-pointer thunks in practice; GCC warns about them all the same.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
#pragma GCC push_options
#pragma GCC target("avx2,fma")
// C++ mode contracts a * b + c into an FMA by default; the exact kernels must round as the reference does.
#pragma GCC optimize("fp-contract=off")

namespace hone::cpu {
namespace avx2 {
namespace {

struct V {
  using R = __m256;
  using M = __m256;
  static constexpr int W = 8;
  static R load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, R v) { _mm256_storeu_ps(p, v); }
  static R set1(float v) { return _mm256_set1_ps(v); }
  static R add(R a, R b) { return _mm256_add_ps(a, b); }
  static R sub(R a, R b) { return _mm256_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm256_mul_ps(a, b); }
  static R div(R a, R b) { return _mm256_div_ps(a, b); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static R max(R a, R b) { return _mm256_max_ps(a, b); }  // a > b ? a : b
  static R min(R a, R b) { return _mm256_min_ps(a, b); }  // a < b ? a : b
  static R sqrt(R a) { return _mm256_sqrt_ps(a); }
  static R sign_bit() { return _mm256_set1_ps(-0.0f); }
  static R abs(R a) { return _mm256_andnot_ps(sign_bit(), a); }
  static R neg_abs(R a) { return _mm256_or_ps(sign_bit(), a); }
  static R copy_sign(R mag, R sign) { return _mm256_or_ps(abs(mag), _mm256_and_ps(sign_bit(), sign)); }
  static R round(R a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static M cmp_ge(R a, R b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
  static M cmp_lt(R a, R b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static M is_nan(R a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
  static M mask_or(M a, M b) { return _mm256_or_ps(a, b); }
  static R select(M m, R a, R b) { return _mm256_blendv_ps(b, a, m); }
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
  static R pow2(__m256i e) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(e, _mm256_set1_epi32(127)), 23));
  }
  // y * 2^n for integral n in [-150, 128], in two exact-range steps (NaN n only meets a NaN y).
  static R scale_pow2(R y, R n) {
    __m256i i = _mm256_cvtps_epi32(n);
    __m256i h = _mm256_srai_epi32(i, 1);
    return _mm256_mul_ps(_mm256_mul_ps(y, pow2(h)), pow2(_mm256_sub_epi32(i, h)));
  }
};

constexpr const char* kIsaName = "avx2";
#include "kernels/cpu/elementwise_microkernels.inc"

}  // namespace
}  // namespace avx2

const ElementwiseMicrokernels& elementwise_avx2() { return avx2::kTable; }

}  // namespace hone::cpu

#pragma GCC pop_options
#pragma GCC diagnostic pop
