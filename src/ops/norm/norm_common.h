// Helpers shared by the normalization ops: reading a parameter tensor (scale, bias) as doubles, expanded to the
// shape it broadcasts to, and float dispatch of the data input.
#pragma once
#include <vector>

#include "ops/op_helpers.h"

namespace hone {

// `p` read as double and broadcast (numpy-style, right-aligned) to `target`; throws naming the node and `what`
// when it does not broadcast unidirectionally to `target`.
std::vector<double> expand_param(const Tensor& p, const Shape& target, const Node& node, const char* what);

// `p` as doubles, requiring exactly `n` elements (a per-channel parameter).
std::vector<double> param_values(const Tensor& p, int64_t n, const Node& node, const char* what);

// The element type a stash_type attribute names (1 float, 10 float16, 11 double, 16 bfloat16).
DType stash_dtype(const Node& node);

}  // namespace hone

namespace hone {

// A float tensor's elements as doubles, and back (rounded once to the element type). The reference normalizations
// compute in double on a copy: simple, and at least as accurate as any stash_type asks for.
std::vector<double> float_values(const Tensor& t, const Node& node);
void store_float_values(Tensor& t, const std::vector<double>& v, const Node& node);

}  // namespace hone
