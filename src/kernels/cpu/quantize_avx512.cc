// The AVX-512 tier of the 8-bit quantization microkernels (quantize_microkernels.h): 16 elements per vector.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/quantize_microkernels.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wpsabi"
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")
#pragma GCC optimize("fp-contract=off")

namespace hone::cpu {
namespace avx512_q8 {
namespace {

#include "kernels/cpu/vec_avx512.inc"

struct Bytes {
  static V::R load(const void* p, Q8 t) {
    __m128i b = _mm_loadu_si128(static_cast<const __m128i*>(p));
    return _mm512_cvtepi32_ps(t == Q8::U8 ? _mm512_cvtepu8_epi32(b) : _mm512_cvtepi8_epi32(b));
  }
  static void store(void* p, V::R v, Q8) {
    // In range already: the low byte of each int32 is the uint8 or int8 value.
    _mm_storeu_si128(static_cast<__m128i*>(p), _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v)));
  }
  // 16 channels at a time (the last block masked), accumulated in registers down all the rows.
  static void channel_sums(const uint8_t* x, int64_t pixels, int64_t c, int64_t* sums, Q8 t) {
    for (int64_t k = 0; k < c; k += 16) {
      __mmask16 m = c - k >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (c - k)) - 1);
      __m512i acc = _mm512_setzero_si512();
      const uint8_t* p = x + k;
      if (t == Q8::U8)
        for (int64_t r = 0; r < pixels; ++r, p += c)
          acc = _mm512_add_epi32(acc, _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, p)));
      else
        for (int64_t r = 0; r < pixels; ++r, p += c)
          acc = _mm512_add_epi32(acc, _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, p)));
      alignas(64) int32_t lanes[16];
      _mm512_store_si512(lanes, acc);
      for (int64_t l = 0; l < std::min<int64_t>(16, c - k); ++l) sums[k + l] += lanes[l];
    }
  }
};

constexpr const char* kIsaName = "avx512";
#include "kernels/cpu/quantize_microkernels.inc"

}  // namespace
}  // namespace avx512_q8

const QuantizeMicrokernels& quantize_avx512() { return avx512_q8::kTable; }

}  // namespace hone::cpu

#pragma GCC pop_options
#pragma GCC diagnostic pop
