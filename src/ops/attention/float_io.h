// Reading float tensors of any width into double buffers and writing them back: the reference kernels of the
// attention, loss, signal and detection families compute in double and round once on store.
#pragma once
#include <vector>

#include "ops/op_helpers.h"

namespace hone {

// Elements of a float tensor (float, double, float16, bfloat16) as doubles; throws for other types.
inline std::vector<double> float_values(const Tensor& t, const Node& node) {
  std::vector<double> out(static_cast<size_t>(t.numel()));
  HONE_DISPATCH_FLOAT(t.dtype(), node, {
    const T* p = t.data<T>();
    for (size_t i = 0; i < out.size(); ++i) {
      if constexpr (std::is_same_v<T, double>)
        out[i] = p[i];
      else
        out[i] = static_cast<float>(p[i]);
    }
  });
  return out;
}

// Elements of a numeric tensor of any type (floats and integers) as doubles.
inline std::vector<double> numeric_values(const Tensor& t) {
  std::vector<double> out(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < out.size(); ++i) out[i] = t.get_double(static_cast<int64_t>(i));
  return out;
}

// Stores doubles into a float tensor of the same element count, rounding to its element type.
inline void store_float_values(Tensor& t, const std::vector<double>& v, const Node& node) {
  HONE_DISPATCH_FLOAT(t.dtype(), node, {
    T* p = t.data<T>();
    for (size_t i = 0; i < v.size(); ++i) {
      if constexpr (std::is_same_v<T, double>)
        p[i] = v[i];
      else
        p[i] = static_cast<T>(static_cast<float>(v[i]));
    }
  });
}

// Rounds a double to the precision of element type `t` (float32, float16, bfloat16; others unchanged), to mimic
// references that round intermediate results to the input type.
inline double round_to_dtype(double x, DType t) {
  switch (t) {
    case DType::Float32: return static_cast<float>(x);
    case DType::Float16: return static_cast<float>(Float16(static_cast<float>(x)));
    case DType::BFloat16: return static_cast<float>(BFloat16(static_cast<float>(x)));
    default: return x;
  }
}

// The symbolic sum of two dims: known when both are.
inline Dim add_dims(const Dim& a, const Dim& b) {
  if (a.known() && b.known()) return Dim(a.value + b.value);
  if (a.known() && a.value == 0) return b;
  if (b.known() && b.value == 0) return a;
  return Dim();
}

}  // namespace hone
