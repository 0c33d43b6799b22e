// The AVX2 tier of the 8-bit quantization microkernels (quantize_microkernels.h): 8 elements per vector.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/cpu/quantize_microkernels.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#pragma GCC optimize("fp-contract=off")

namespace hone::cpu {
namespace avx2_q8 {
namespace {

#include "kernels/cpu/vec_avx2.inc"

struct Bytes {
  static V::R load(const void* p, Q8 t) {
    __m128i b = _mm_loadl_epi64(static_cast<const __m128i*>(p));
    return _mm256_cvtepi32_ps(t == Q8::U8 ? _mm256_cvtepu8_epi32(b) : _mm256_cvtepi8_epi32(b));
  }
  static void store(void* p, V::R v, Q8 t) {
    __m256i i = _mm256_cvtps_epi32(v);
    __m128i lo = _mm256_castsi256_si128(i), hi = _mm256_extracti128_si256(i, 1);
    __m128i w = _mm_packs_epi32(lo, hi);  // in range already: packing saturates nothing
    __m128i b = t == Q8::U8 ? _mm_packus_epi16(w, w) : _mm_packs_epi16(w, w);
    _mm_storel_epi64(static_cast<__m128i*>(p), b);
  }
  static void channel_sums(const uint8_t* x, int64_t pixels, int64_t c, int64_t* sums, Q8 t) {
    for (int64_t k = 0; k < c; ++k) {
      int32_t acc = 0;
      if (t == Q8::U8)
        for (int64_t p = 0; p < pixels; ++p) acc += x[p * c + k];
      else
        for (int64_t p = 0; p < pixels; ++p) acc += static_cast<int8_t>(x[p * c + k]);
      sums[k] += acc;
    }
  }
};

constexpr const char* kIsaName = "avx2";
#include "kernels/cpu/quantize_microkernels.inc"

}  // namespace
}  // namespace avx2_q8

const QuantizeMicrokernels& quantize_avx2() { return avx2_q8::kTable; }

}  // namespace hone::cpu

#pragma GCC pop_options
#pragma GCC diagnostic pop
