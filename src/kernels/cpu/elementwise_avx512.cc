// The AVX-512 tier (f, bw, vl, dq): the generic microkernels over 16-float vectors, compiled for that target only.
#include <immintrin.h>

#include <cstdint>

#include "kernels/cpu/elementwise_microkernels.h"

// GCC 12's own AVX-512 headers trip -Wmaybe-uninitialized (their _mm512_undefined_* placeholders).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wpsabi"  // lambdas' unused function-pointer thunks
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")
// C++ mode contracts a * b + c into an FMA by default; the exact kernels must round as the reference does.
#pragma GCC optimize("fp-contract=off")

namespace hone::cpu {
namespace avx512 {
namespace {

struct V {
  using R = __m512;
  using M = __mmask16;
  static constexpr int W = 16;
  static R load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, R v) { _mm512_storeu_ps(p, v); }
  static R set1(float v) { return _mm512_set1_ps(v); }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  static R sub(R a, R b) { return _mm512_sub_ps(a, b); }
  static R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static R div(R a, R b) { return _mm512_div_ps(a, b); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R max(R a, R b) { return _mm512_max_ps(a, b); }  // a > b ? a : b
  static R min(R a, R b) { return _mm512_min_ps(a, b); }  // a < b ? a : b
  static R sqrt(R a) { return _mm512_sqrt_ps(a); }
  static R sign_bit() { return _mm512_set1_ps(-0.0f); }
  static R abs(R a) { return _mm512_andnot_ps(sign_bit(), a); }
  static R neg_abs(R a) { return _mm512_or_ps(sign_bit(), a); }
  static R copy_sign(R mag, R sign) { return _mm512_or_ps(abs(mag), _mm512_and_ps(sign_bit(), sign)); }
  static R round(R a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static M cmp_ge(R a, R b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static M cmp_lt(R a, R b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static M is_nan(R a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
  static M mask_or(M a, M b) { return static_cast<M>(a | b); }
  static R select(M m, R a, R b) { return _mm512_mask_blend_ps(m, b, a); }
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
  static R pow2(__m512i e) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(e, _mm512_set1_epi32(127)), 23));
  }
  // y * 2^n for integral n in [-150, 128], in two exact-range steps (NaN n only meets a NaN y).
  static R scale_pow2(R y, R n) {
    __m512i i = _mm512_cvtps_epi32(n);
    __m512i h = _mm512_srai_epi32(i, 1);
    return _mm512_mul_ps(_mm512_mul_ps(y, pow2(h)), pow2(_mm512_sub_epi32(i, h)));
  }
};

constexpr const char* kIsaName = "avx512";
#include "kernels/cpu/elementwise_microkernels.inc"

}  // namespace
}  // namespace avx512

const ElementwiseMicrokernels& elementwise_avx512() { return avx512::kTable; }

}  // namespace hone::cpu

#pragma GCC pop_options
#pragma GCC diagnostic pop
