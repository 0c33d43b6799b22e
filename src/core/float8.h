// The 8-bit and 4-bit float formats of ONNX (float8e4m3fn, float8e4m3fnuz, float8e5m2, float8e5m2fnuz,
// float8e8m0, float4e2m1), held one code per byte. Conversions follow the ONNX Cast rules: round to nearest even;
// with `saturate`, finite values past the largest magnitude clamp to it.
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace hone {

float float8_to_float(DType t, uint8_t code);
uint8_t float_to_float8(DType t, float value, bool saturate);

}  // namespace hone
