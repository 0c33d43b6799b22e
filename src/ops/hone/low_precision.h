// The runtime's ops for float16 / bfloat16 models (passes/lower_low_precision.h makes them; never in a model file).
// Hone runs a low-precision model in float32 storage holding values that are exactly representable in the model's
// type, and rounds where the model's type would:
//   hone.Round(X) {to: "float16" | "bfloat16"}: float32 -> float32, every element rounded to the nearest value of
//     `to` (ties to even; beyond the type's range: +-inf, as a float16 store overflows; NaN stays NaN).
//   hone.RoundedConv      {to, Conv attributes, post_ops, post_op_params}: hone.FusedConv (inputs X, W, B, Z), then
//                         Round of the result;
//   hone.RoundedMatMul    {to}: MatMul, then Round;
//   hone.RoundedGemm      {to, Gemm attributes}: Gemm (opset 13 semantics), then Round.
// The lowering gives the Rounded* ops weights already rounded to `to` and inputs that are (every low-precision value
// is rounded where it is made), so a kernel may multiply in `to` (bfloat16 on AVX512-BF16, accumulating in float32)
// and get the reference's result up to the order of the additions.
#pragma once
#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace hone {

// "float16" / "bfloat16" -> the type; throws naming `where` for anything else.
DType rounding_type(const std::string& to, const std::string& where);
const char* rounding_type_name(DType t);  // "float16" / "bfloat16"

// Rounds n floats to `t` (Float16 or BFloat16) and back, as hone.Round defines it; `in` may equal `out`.
void round_to_type_reference(const float* in, float* out, int64_t n, DType t);

}  // namespace hone
