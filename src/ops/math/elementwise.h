// Building blocks for element-wise operators (math, logic, activations): the type arithmetic happens in, N-input
// broadcasting, unary maps, and the pre-opset-7 `broadcast`/`axis` attribute convention.
#pragma once
#include <array>
#include <cmath>
#include <limits>
#include <type_traits>

#include "ops/op_helpers.h"

namespace hone {

// The type a value of T is computed in: double for double, float for float and the 16-bit floats (so float16 and
// bfloat16 results round once, on store), integers as themselves.
template <typename T>
using ComputeType =
    std::conditional_t<std::is_same_v<T, double>, double, std::conditional_t<std::is_integral_v<T>, T, float>>;

// Converts a double to an integer type without undefined behaviour: NaN becomes 0, out-of-range values saturate.
template <typename I>
I saturate_cast(double v) {
  if (std::isnan(v)) return I(0);
  if (v <= static_cast<double>(std::numeric_limits<I>::lowest())) return std::numeric_limits<I>::lowest();
  if (v >= static_cast<double>(std::numeric_limits<I>::max())) return std::numeric_limits<I>::max();
  return static_cast<I>(v);
}

// Calls f(out_index, in_indices) for every element of `out`, with N inputs broadcast numpy-style to it.
template <size_t N, typename F>
void for_each_broadcast_n(const Shape& out, const std::array<const Shape*, N>& ins, F&& f) {
  int64_t n = shape_numel(out);
  if (n == 0) return;
  bool same = true;
  for (size_t k = 0; k < N; ++k) same = same && *ins[k] == out;
  if (same) {
    std::array<int64_t, N> pos{};
    for (int64_t i = 0; i < n; ++i) {
      pos.fill(i);
      f(i, pos);
    }
    return;
  }
  std::array<std::vector<int64_t>, N> strides;
  for (size_t k = 0; k < N; ++k) strides[k] = broadcast_strides(*ins[k], out);
  size_t r = out.size();
  std::vector<int64_t> idx(r, 0);
  std::array<int64_t, N> pos{};
  for (int64_t i = 0; i < n; ++i) {
    f(i, pos);
    for (size_t d = r; d-- > 0;) {  // odometer increment
      if (++idx[d] < out[d]) {
        for (size_t k = 0; k < N; ++k) pos[k] += strides[k][d];
        break;
      }
      for (size_t k = 0; k < N; ++k) pos[k] -= strides[k][d] * (out[d] - 1);
      idx[d] = 0;
    }
  }
}

// out[i] = f(a[ia], b[ib]) over the broadcast of a and b; `out` already has the broadcast shape.
template <typename TIn, typename TOut, typename F>
void broadcast_binary(const Tensor& a, const Tensor& b, Tensor& out, F&& f) {
  const TIn* pa = a.data<TIn>();
  const TIn* pb = b.data<TIn>();
  TOut* po = out.data<TOut>();
  for_each_broadcast(out.shape(), a.shape(), b.shape(),
                     [&](int64_t i, int64_t ia, int64_t ib) { po[i] = static_cast<TOut>(f(pa[ia], pb[ib])); });
}

// y = f(x) element-wise for float types, f seeing ComputeType<T> (a generic lambda: float or double).
template <typename F>
void unary_float(OpContext& ctx, F&& f) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), x.shape());
  HONE_DISPATCH_FLOAT(x.dtype(), ctx.node(), {
    using C = ComputeType<T>;
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) py[i] = static_cast<T>(f(static_cast<C>(px[i])));
  });
}

// The same for every numeric type (f sees float, double or the integer type itself).
template <typename F>
void unary_numeric(OpContext& ctx, F&& f) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), x.shape());
  HONE_DISPATCH_NUMERIC(x.dtype(), ctx.node(), {
    using C = ComputeType<T>;
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) py[i] = static_cast<T>(f(static_cast<C>(px[i])));
  });
}

// Both inputs must have the same element type (every binary op but Pow and BitShift's shift counts).
void require_same_dtype(const OpContext& ctx, const Tensor& a, const Tensor& b);

// Opsets 1-6 broadcast with attributes instead of numpy rules: with broadcast=1, B is either a single element or
// its shape matches a contiguous run of A's dims starting at `axis` (default: suffix matching); with broadcast=0
// (the default) the shapes must be equal. Returns B as a view whose rank equals A's, ready for numpy broadcasting;
// throws when B does not fit. The result of such an op always has A's shape.
Tensor legacy_broadcast_view(const OpContext& ctx, const Tensor& a, const Tensor& b);

// Shape function for legacy-broadcast binary ops: A's type and shape; `bool_output` for comparisons.
void infer_legacy_broadcast(InferenceContext& ctx);
void infer_legacy_broadcast_bool(InferenceContext& ctx);

// Shape function for ops returning a bool tensor of input 0's shape (IsNaN, IsInf).
void infer_bool_same_shape(InferenceContext& ctx);

}  // namespace hone
