// The AVX-512 tier of the 8-bit quantization microkernels (quantize_microkernels.h): 16 elements per vector.
#include <immintrin.h>

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
};

constexpr const char* kIsaName = "avx512";
#include "kernels/cpu/quantize_microkernels.inc"

}  // namespace
}  // namespace avx512_q8

const QuantizeMicrokernels& quantize_avx512() { return avx512_q8::kTable; }

}  // namespace hone::cpu

#pragma GCC pop_options
#pragma GCC diagnostic pop
