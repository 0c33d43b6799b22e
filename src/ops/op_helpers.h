// Shared pieces for operator implementations: axis handling, broadcasting, element-type dispatch, and the shape
// functions many ops have in common.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ops/op_registry.h"

namespace hone {

// Axis in [-rank, rank) to [0, rank); throws naming the node.
int64_t normalize_axis(int64_t axis, int64_t rank, const Node& node);

// Numpy-style broadcast of concrete shapes; throws naming the node when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const Node& node);
// Symbolic version; dims that cannot be decided become unknown.
SymShape broadcast_sym_shapes(const SymShape& a, const SymShape& b);

// Row-major strides of a shape.
std::vector<int64_t> strides_of(const Shape& shape);
// Strides of `in` read as if broadcast to `out` (0 on broadcast axes); `in` is right-aligned to `out`.
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out);

// Calls f(out_index, a_index, b_index) for every element of `out` with two broadcast inputs.
template <typename F>
void for_each_broadcast(const Shape& out, const Shape& a, const Shape& b, F&& f) {
  int64_t n = shape_numel(out);
  if (n == 0) return;
  if (a == out && b == out) {
    for (int64_t i = 0; i < n; ++i) f(i, i, i);
    return;
  }
  std::vector<int64_t> sa = broadcast_strides(a, out), sb = broadcast_strides(b, out);
  size_t r = out.size();
  std::vector<int64_t> idx(r, 0);
  int64_t ia = 0, ib = 0;
  for (int64_t i = 0; i < n; ++i) {
    f(i, ia, ib);
    for (size_t d = r; d-- > 0;) {  // odometer increment
      if (++idx[d] < out[d]) {
        ia += sa[d];
        ib += sb[d];
        break;
      }
      ia -= sa[d] * (out[d] - 1);
      ib -= sb[d] * (out[d] - 1);
      idx[d] = 0;
    }
  }
}

// Element-type dispatch: runs BODY with `T` bound to the C++ type of `dtype`.
#define HONE_TYPE_CASE(ENUM, CTYPE, ...) \
  case ::hone::DType::ENUM: {            \
    using T = CTYPE;                     \
    __VA_ARGS__;                         \
    break;                               \
  }
#define HONE_FLOAT_CASES(...)                                 \
  HONE_TYPE_CASE(Float32, float, __VA_ARGS__)                 \
  HONE_TYPE_CASE(Float64, double, __VA_ARGS__)                \
  HONE_TYPE_CASE(Float16, ::hone::Float16, __VA_ARGS__)       \
  HONE_TYPE_CASE(BFloat16, ::hone::BFloat16, __VA_ARGS__)
#define HONE_INT_CASES(...)                                   \
  HONE_TYPE_CASE(Int8, int8_t, __VA_ARGS__)                   \
  HONE_TYPE_CASE(Int16, int16_t, __VA_ARGS__)                 \
  HONE_TYPE_CASE(Int32, int32_t, __VA_ARGS__)                 \
  HONE_TYPE_CASE(Int64, int64_t, __VA_ARGS__)                 \
  HONE_TYPE_CASE(UInt8, uint8_t, __VA_ARGS__)                 \
  HONE_TYPE_CASE(UInt16, uint16_t, __VA_ARGS__)               \
  HONE_TYPE_CASE(UInt32, uint32_t, __VA_ARGS__)               \
  HONE_TYPE_CASE(UInt64, uint64_t, __VA_ARGS__)

// Float types only (float, double, float16, bfloat16).
#define HONE_DISPATCH_FLOAT(dtype, node, ...)                                                              \
  switch (dtype) {                                                                                         \
    HONE_FLOAT_CASES(__VA_ARGS__)                                                                          \
    default: ::hone::fail("{}: element type {} is not supported", (node).label(), ::hone::dtype_name(dtype)); \
  }
// Every numeric type: floats and integers of every width (not bool, not string).
#define HONE_DISPATCH_NUMERIC(dtype, node, ...)                                                            \
  switch (dtype) {                                                                                         \
    HONE_FLOAT_CASES(__VA_ARGS__)                                                                          \
    HONE_INT_CASES(__VA_ARGS__)                                                                            \
    default: ::hone::fail("{}: element type {} is not supported", (node).label(), ::hone::dtype_name(dtype)); \
  }
// Numeric types and bool (as uint8_t).
#define HONE_DISPATCH_NUMERIC_BOOL(dtype, node, ...)                                                       \
  switch (dtype) {                                                                                         \
    HONE_FLOAT_CASES(__VA_ARGS__)                                                                          \
    HONE_INT_CASES(__VA_ARGS__)                                                                            \
    HONE_TYPE_CASE(Bool, uint8_t, __VA_ARGS__)                                                             \
    default: ::hone::fail("{}: element type {} is not supported", (node).label(), ::hone::dtype_name(dtype)); \
  }

// Copies elements of any type (strings included) by index: data movement ops use this to stay type-agnostic.
// Returns a function-like object; elem_size for non-string types.
void copy_elements(const Tensor& src, int64_t src_index, Tensor& dst, int64_t dst_index, int64_t count);

// Shape functions shared by many ops.
void infer_same_as_input(InferenceContext& ctx);       // output 0 = input 0's type and shape
void infer_broadcast(InferenceContext& ctx);           // output 0: input 0's dtype, all inputs broadcast
void infer_broadcast_bool(InferenceContext& ctx);      // output 0: bool, inputs broadcast (comparisons)

}  // namespace hone
