// The AVX-512 tier (f, bw, vl, dq) of the Resize microkernels: the generic body over 16-float vectors, compiled for
// that target only.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/cpu/resize_microkernels.h"

// GCC 12's own AVX-512 headers trip -Wmaybe-uninitialized (their _mm512_undefined_* placeholders).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wpsabi"
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")

namespace hone::cpu {
namespace resize_avx512_tier {
namespace {

struct V {
  using R = __m512;
  static constexpr int W = 16;
  static R load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, R v) { _mm512_storeu_ps(p, v); }
  static R set1(float v) { return _mm512_set1_ps(v); }
  static R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static R fmadd(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R gather(const float* base, const int32_t* idx) {
    return _mm512_i32gather_ps(_mm512_loadu_si512(idx), base, 4);
  }
  // Output vector j holds lanes (j*16 + l) >> shift of v.
  static void store_repeat(float* y, R v, int f, int shift) {
    const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int j = 0; j < f; ++j) {
      __m512i idx = _mm512_srli_epi32(_mm512_add_epi32(lanes, _mm512_set1_epi32(j * 16)), static_cast<unsigned>(shift));
      _mm512_storeu_ps(y + j * 16, _mm512_permutexvar_ps(idx, v));
    }
  }
};

constexpr const char* kIsaName = "avx512";
#include "kernels/cpu/resize_microkernels.inc"

}  // namespace
}  // namespace resize_avx512_tier

const ResizeMicrokernels& resize_avx512() { return resize_avx512_tier::kTable; }

}  // namespace hone::cpu

#pragma GCC pop_options
#pragma GCC diagnostic pop
