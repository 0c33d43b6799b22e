#include <gtest/gtest.h>

#include "core/float8.h"
#include "core/tensor.h"

namespace hone {

TEST(Tensor, RefusesAbsurdShapesBeforeAllocating) {
  EXPECT_THROW(Tensor(DType::Float32, {int64_t{1} << 20, int64_t{1} << 20}), Error);
  EXPECT_THROW(Tensor(DType::Float32, {-1, 3}), Error);
}

TEST(Tensor, ZeroFilledAndCloned) {
  Tensor t(DType::Int64, {2, 3});
  for (int64_t v : t.span<int64_t>()) EXPECT_EQ(v, 0);
  t.data<int64_t>()[4] = 7;
  Tensor c = t.clone();
  t.data<int64_t>()[4] = 1;
  EXPECT_EQ(c.data<int64_t>()[4], 7);
}

TEST(Half, RoundTripsEveryFloat16BitPattern) {
  for (uint32_t b = 0; b < 65536; ++b) {
    float f = half_bits_to_float(static_cast<uint16_t>(b));
    if (f != f) continue;  // nan payloads need not round-trip
    EXPECT_EQ(float_to_half_bits(f), b) << b;
  }
}

TEST(Half, RoundsToNearestEven) {
  EXPECT_EQ(float_to_half_bits(1.0f + 1.0f / 2048), 0x3c00);        // halfway, rounds to even (down)
  EXPECT_EQ(float_to_half_bits(1.0f + 3.0f / 2048), 0x3c02);        // halfway, rounds to even (up)
  EXPECT_EQ(float_to_half_bits(65520.0f), 0x7c00);                  // overflows to inf
  EXPECT_EQ(float_to_bfloat16_bits(1.0f + 1.0f / 256), 0x3f80);
}

TEST(Float8, RoundTripsEveryCode) {
  for (DType t : {DType::Float8E4M3FN, DType::Float8E4M3FNUZ, DType::Float8E5M2, DType::Float8E5M2FNUZ}) {
    for (int c = 0; c < 256; ++c) {
      float f = float8_to_float(t, static_cast<uint8_t>(c));
      if (f != f || std::isinf(f)) continue;
      if (f == 0 && (t == DType::Float8E4M3FNUZ || t == DType::Float8E5M2FNUZ)) continue;
      EXPECT_EQ(float_to_float8(t, f, true), c) << dtype_name(t) << " " << c;
    }
  }
  EXPECT_EQ(float8_to_float(DType::Float8E4M3FN, 0x7e), 448.0f);
  EXPECT_EQ(float_to_float8(DType::Float8E4M3FN, 1e6f, true), 0x7e);
}

}  // namespace hone
