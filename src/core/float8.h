// The 8-bit and 4-bit float formats of ONNX (float8e4m3fn, float8e4m3fnuz, float8e5m2, float8e5m2fnuz,
// float8e8m0, float4e2m1), held one code per byte. Conversions follow the ONNX Cast rules (the reference
// implementation, ml_dtypes underneath):
//  - round to nearest, ties to even, decided on the exact value (a double input is not rounded to float first);
//  - with `saturate` (float8 types only), values past the largest magnitude (infinities included) clamp to it;
//    without it they become inf (e5m2) or nan (e4m3fn: S.1111.111, fnuz types: 0x80);
//  - fnuz types have no negative zero (tiny negatives and -0 give 0x00) and their only nan is 0x80;
//  - float4e2m1 has neither inf nor nan: it always saturates, and nan becomes 0x8 (-0) as ml_dtypes does;
//  - float8e8m0 (a bare exponent, unsigned) follows onnx.numpy_helper.to_float8e8m0: the sign is ignored,
//    nan/inf give 0xff, and `round_mode` decides between powers of two.
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace hone {

enum class E8M0Rounding { Up, Down, Nearest };

float float8_to_float(DType t, uint8_t code);
// Rounds `value` to the format; float8e8m0 rounds up (ONNX's default round_mode).
uint8_t float_to_float8(DType t, float value, bool saturate);
uint8_t double_to_float8(DType t, double value, bool saturate);
uint8_t float_to_float8e8m0(float value, bool saturate, E8M0Rounding mode);

}  // namespace hone
