// Helpers shared by the data-movement ops (src/ops/tensor): element-size dispatch that makes kernels type-agnostic,
// constant-input readers for shape functions, and a few symbolic-shape utilities.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ops/op_helpers.h"

namespace hone {

// A 16-byte element (complex128) moved as a unit.
struct Bytes16 {
  uint64_t lo, hi;
};

// Runs BODY with `T` bound to a storage type as wide as one element of `dtype` (uint8_t .. Bytes16, std::string):
// data movement never needs to know what the bits mean.
#define HONE_DISPATCH_STORAGE(dtype, node, ...)                                                               \
  do {                                                                                                        \
    if ((dtype) == ::hone::DType::String) {                                                                   \
      using T = std::string;                                                                                  \
      __VA_ARGS__;                                                                                            \
      break;                                                                                                  \
    }                                                                                                         \
    switch (::hone::dtype_size(dtype)) {                                                                      \
      case 1: { using T = uint8_t; __VA_ARGS__; break; }                                                      \
      case 2: { using T = uint16_t; __VA_ARGS__; break; }                                                     \
      case 4: { using T = uint32_t; __VA_ARGS__; break; }                                                     \
      case 8: { using T = uint64_t; __VA_ARGS__; break; }                                                     \
      case 16: { using T = ::hone::Bytes16; __VA_ARGS__; break; }                                             \
      default: ::hone::fail("{}: element type {} is not supported", (node).label(), ::hone::dtype_name(dtype)); \
    }                                                                                                         \
  } while (0)

// Values of constant integer input i (a shape, axes, pads...), or nullopt when it is not a plan-time constant.
inline std::optional<std::vector<int64_t>> const_ints(const InferenceContext& ctx, size_t i) {
  if (!ctx.has_input(i)) return std::nullopt;
  const Tensor* t = ctx.input_value(i);
  if (!t || !is_integer(t->dtype())) return std::nullopt;
  return t->to_int64_vector();
}

// An integer input's values; throws naming the node when it is not an integer tensor.
inline std::vector<int64_t> input_ints(const OpContext& ctx, size_t i, const char* what) {
  const Tensor& t = ctx.input(i);
  if (!is_integer(t.dtype()))
    fail("{}: {} must be an integer tensor, got {}", ctx.node().label(), what, dtype_name(t.dtype()));
  return t.to_int64_vector();
}

// Product of dims; nullopt when any is unknown.
inline std::optional<int64_t> known_product(const SymShape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) {
    if (!s[i].known()) return std::nullopt;
    p *= s[i].value;
  }
  return p;
}

// The input's concrete shape when every dim is known.
inline std::optional<Shape> known_shape(const InferenceContext& ctx, size_t i) {
  const SymShape* s = ctx.input_shape(i);
  if (!s) return std::nullopt;
  return to_concrete(*s);
}

// Normalizes and checks a list of axes against `rank`; throws on out-of-range or repeated axes.
inline std::vector<int64_t> normalize_axes(const std::vector<int64_t>& axes, int64_t rank, const Node& node) {
  std::vector<int64_t> out;
  for (int64_t a : axes) {
    if (a < -rank || a >= rank) fail("{}: axis {} is out of range for rank {}", node.label(), a, rank);
    int64_t n = a < 0 ? a + rank : a;
    for (int64_t o : out)
      if (o == n) fail("{}: axis {} is repeated", node.label(), a);
    out.push_back(n);
  }
  return out;
}

// Index in [-dim, dim) to [0, dim); throws naming the node when out of range.
inline int64_t checked_index(int64_t idx, int64_t dim, const Node& node, const char* what) {
  if (idx < -dim || idx >= dim) fail("{}: {} {} is out of range [{}, {})", node.label(), what, idx, -dim, dim);
  return idx < 0 ? idx + dim : idx;
}

// Odometer over a shape: call next() after each element; returns false at the end.
struct IndexIterator {
  explicit IndexIterator(const Shape& s) : shape(s), idx(s.size(), 0) {}
  bool next() {
    for (size_t d = shape.size(); d-- > 0;) {
      if (++idx[d] < shape[d]) return true;
      idx[d] = 0;
    }
    return false;
  }
  const Shape& shape;
  std::vector<int64_t> idx;
};

// Calls f(i, offset) for every element i (row-major) of `shape`, where offset = base + sum(idx[d] * strides[d]):
// a strided view walk (transpose, slice, broadcast reads).
template <typename F>
void for_each_strided(const Shape& shape, const std::vector<int64_t>& strides, int64_t base, F&& f) {
  int64_t n = shape_numel(shape);
  if (n == 0) return;
  std::vector<int64_t> idx(shape.size(), 0);
  int64_t off = base;
  for (int64_t i = 0; i < n; ++i) {
    f(i, off);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++idx[d] < shape[d]) {
        off += strides[d];
        break;
      }
      off -= strides[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

}  // namespace hone
