// A runtime value: a tensor, a sequence of tensors, or nothing (an omitted optional input, an empty optional).
#pragma once
#include <vector>

#include "core/tensor.h"

namespace hone {

struct Value {
  enum class Kind { None, Tensor, Sequence };
  Kind kind = Kind::None;
  Tensor tensor;
  std::vector<Tensor> sequence;
  DType sequence_elem = DType::Undefined;  // element type, known even for an empty sequence

  static Value of(Tensor t) {
    Value v;
    v.kind = Kind::Tensor;
    v.tensor = std::move(t);
    return v;
  }
  static Value of_sequence(std::vector<Tensor> s, DType elem) {
    Value v;
    v.kind = Kind::Sequence;
    v.sequence = std::move(s);
    v.sequence_elem = elem;
    return v;
  }
  bool is_none() const { return kind == Kind::None; }
  bool is_tensor() const { return kind == Kind::Tensor; }
  bool is_sequence() const { return kind == Kind::Sequence; }
};

}  // namespace hone
