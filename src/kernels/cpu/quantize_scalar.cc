// The scalar tier of the 8-bit quantization microkernels (quantize_microkernels.h), for CPUs without AVX2 and as the
// tier every machine can test.
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/quantize_microkernels.h"

namespace hone::cpu {
namespace scalar_q8 {
namespace {

#include "kernels/cpu/vec_scalar.inc"

struct Bytes {
  static V::R load(const void* p, Q8 t) {
    return t == Q8::U8 ? static_cast<float>(*static_cast<const uint8_t*>(p))
                       : static_cast<float>(*static_cast<const int8_t*>(p));
  }
  static void store(void* p, V::R v, Q8 t) {
    if (t == Q8::U8) *static_cast<uint8_t*>(p) = static_cast<uint8_t>(static_cast<int32_t>(v));
    else *static_cast<int8_t*>(p) = static_cast<int8_t>(static_cast<int32_t>(v));
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

constexpr const char* kIsaName = "scalar";
#include "kernels/cpu/quantize_microkernels.inc"

}  // namespace
}  // namespace scalar_q8

const QuantizeMicrokernels& quantize_scalar() { return scalar_q8::kTable; }

const QuantizeMicrokernels& quantize_for(Isa isa) {
  return pick_tier(isa, quantize_scalar(), quantize_avx2(), quantize_avx512());
}

}  // namespace hone::cpu
