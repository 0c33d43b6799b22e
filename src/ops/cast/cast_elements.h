// Element-type conversion with the semantics of ONNX Cast (as its reference implementation computes them:
// numpy astype, ml_dtypes for float8/float4/int4/int2, onnx.numpy_helper.to_float8e8m0 for float8e8m0).
// Shared by Cast, CastLike and the quantization ops.
//
//  - float -> integer truncates toward zero; out-of-range values wrap to the target width the way numpy does on
//    x86 (via a 32-bit conversion for types up to 16 bits and int32, 64-bit otherwise; nan/inf give the integer
//    indefinite value 0x80..0); int4/uint4/int2/uint2 keep the low bits (ml_dtypes wraps).
//  - integer -> integer wraps (two's complement).
//  - to float16/bfloat16/float: round to nearest even from the exact value; to float8/float4: see core/float8.h.
//  - bool: nonzero (nan included) is true.
//  - to string: as numpy's str(): "1.5", "100.0", "1e-07", "nan", "inf", "True"; from string: strtod/strtoll
//    (case-insensitive "inf", "+inf", "-inf", "nan"); a string that is not a number is an error.
#pragma once
#include "core/float8.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace hone {

struct CastOptions {
  bool saturate = true;  // float8 targets: clamp out-of-range values (Cast-19+ `saturate`)
  E8M0Rounding round_mode = E8M0Rounding::Up;  // float8e8m0 targets (Cast-25 `round_mode`)
};

// Converts every element of `src` into `dst` (same element count; dst's dtype is the target). `node` names errors.
void cast_elements(const Tensor& src, Tensor& dst, const CastOptions& options, const Node& node);

// Parses Cast's `round_mode` attribute ("up", "down", "nearest").
E8M0Rounding parse_round_mode(const std::string& mode, const Node& node);

}  // namespace hone
