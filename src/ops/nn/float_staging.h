// float16 / bfloat16 inputs of the nn kernels compute in float: widened once, rounded once on store (like the ONNX
// reference, which computes these in float32 and casts the result).
#pragma once
#include <vector>

#include "ops/op_helpers.h"

namespace hone::nn {

inline bool is_half_type(DType t) { return t == DType::Float16 || t == DType::BFloat16; }

// Element values of a float16/bfloat16/float tensor as float.
inline std::vector<float> widen_to_float(const Tensor& t) {
  std::vector<float> out(static_cast<size_t>(t.numel()));
  if (t.dtype() == DType::Float16) {
    const Float16* p = t.data<Float16>();
    for (int64_t i = 0; i < t.numel(); ++i) out[i] = p[i];
  } else if (t.dtype() == DType::BFloat16) {
    const BFloat16* p = t.data<BFloat16>();
    for (int64_t i = 0; i < t.numel(); ++i) out[i] = p[i];
  } else if (t.dtype() == DType::Float32) {
    const float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) out[i] = p[i];
  } else {
    fail("widen_to_float: element type {} is not a float type", dtype_name(t.dtype()));
  }
  return out;
}

// Stores float values into a float16/bfloat16 tensor, rounding to nearest even.
inline void narrow_from_float(const std::vector<float>& src, Tensor& t) {
  if (t.dtype() == DType::Float16) {
    Float16* p = t.data<Float16>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = Float16(src[i]);
  } else if (t.dtype() == DType::BFloat16) {
    BFloat16* p = t.data<BFloat16>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = BFloat16(src[i]);
  } else {
    fail("narrow_from_float: element type {} is not a half type", dtype_name(t.dtype()));
  }
}

}  // namespace hone::nn
