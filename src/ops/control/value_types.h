// Shared pieces for control-flow, sequence and optional ops: building sequence/optional TypeInfos, reading a
// scalar condition, and moving slices of a tensor along one axis (Loop and Scan stack per-iteration results).
#pragma once
#include <memory>
#include <optional>
#include <vector>

#include "ops/op_helpers.h"

namespace hone {

inline TypeInfo sequence_type(DType elem, std::optional<SymShape> elem_shape = std::nullopt) {
  TypeInfo t;
  t.kind = TypeInfo::Kind::Sequence;
  t.inner = std::make_shared<TypeInfo>(TypeInfo::tensor(elem, std::move(elem_shape)));
  return t;
}

inline TypeInfo optional_type(TypeInfo inner) {
  TypeInfo t;
  t.kind = TypeInfo::Kind::Optional;
  t.inner = std::make_shared<TypeInfo>(std::move(inner));
  return t;
}

// A declared type with every shape dropped. Subgraph output declarations are often inexact (a sequence element
// declared rank 0 that holds vectors), and the executor trusts concrete inferred shapes, so only kinds and
// element types are taken from them.
inline TypeInfo without_shapes(const TypeInfo& t) {
  TypeInfo r;
  r.kind = t.kind;
  r.elem = t.elem;
  if (t.inner) r.inner = std::make_shared<TypeInfo>(without_shapes(*t.inner));
  return r;
}

// Element type of a sequence (or optional sequence) type, Undefined when not known.
inline DType sequence_elem_of(const TypeInfo& t) {
  const TypeInfo* s = &t;
  if (s->kind == TypeInfo::Kind::Optional && s->inner) s = s->inner.get();
  if (s->kind == TypeInfo::Kind::Sequence && s->inner) return s->inner->elem;
  return DType::Undefined;
}

// A single-element tensor read as a boolean (Loop/If conditions).
inline bool read_condition(const Tensor& t, const Node& node, const char* what) {
  if (t.numel() != 1) fail("{}: {} must hold exactly one element, has shape {}", node.label(), what, shape_str(t.shape()));
  if (t.dtype() == DType::String) fail("{}: {} must be a bool tensor", node.label(), what);
  return t.get_double(0) != 0;
}

// x with dimension `axis` removed, taking index i along it.
inline Tensor slice_along(const Tensor& x, int64_t axis, int64_t i) {
  Shape s = x.shape();
  int64_t n = s[static_cast<size_t>(axis)];
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= s[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < s.size(); ++d) inner *= s[d];
  s.erase(s.begin() + axis);
  Tensor y(x.dtype(), s);
  for (int64_t o = 0; o < outer; ++o) copy_elements(x, (o * n + i) * inner, y, o * inner, inner);
  return y;
}

// Writes `part` (y's shape without `axis`) at index i along `axis` of y.
inline void place_along(Tensor& y, int64_t axis, int64_t i, const Tensor& part) {
  const Shape& s = y.shape();
  int64_t n = s[static_cast<size_t>(axis)];
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= s[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < s.size(); ++d) inner *= s[d];
  for (int64_t o = 0; o < outer; ++o) copy_elements(part, o * inner, y, (o * n + i) * inner, inner);
}

// Shape with `n` inserted at `axis`.
inline Shape insert_dim(Shape s, int64_t axis, int64_t n) {
  s.insert(s.begin() + axis, n);
  return s;
}

}  // namespace hone
