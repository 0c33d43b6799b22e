// Structural equality of models, graphs and tensors (bit-exact for tensor data). Used by round-trip tests and
// by passes' tests to state "nothing changed".
#pragma once
#include <string>

#include "ir/graph.h"

namespace hone {

// True when equal; otherwise false with the first difference described in *why.
bool tensors_bit_equal(const Tensor& a, const Tensor& b, std::string* why = nullptr);
bool graphs_equal(const Graph& a, const Graph& b, std::string* why = nullptr);
bool models_equal(const Model& a, const Model& b, std::string* why = nullptr);

}  // namespace hone
