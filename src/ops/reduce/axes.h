// Axis-set helpers shared by the reduction family (Reduce*, ArgMax/ArgMin) and the normalizations: which axes a
// node reduces, the reduced shape, and the mapping from an input element to its reduced output slot.
#pragma once
#include <optional>
#include <vector>

#include "ops/op_helpers.h"

namespace hone {

// Axes of a Reduce* node. `present` is false when the node gives no axes (attribute absent, input omitted or
// empty): then every axis is reduced, or none when noop_with_empty_axes is set (see ReduceAxes::noop).
struct ReduceAxes {
  std::vector<bool> reduced;  // one flag per input axis
  bool noop = false;          // noop_with_empty_axes with empty axes: output is the input
};

// Marks `axes` (each in [-rank, rank)) in a flag vector; throws on out-of-range or repeated axes.
std::vector<bool> axis_flags(const std::vector<int64_t>& axes, int64_t rank, const Node& node);

// Whether this opset of `op` takes axes as an input (ReduceSum from 13, the others from 18).
bool reduce_axes_from_input(const Node& node, int64_t opset);

// Output shape of a reduction given the flags.
Shape reduced_shape(const Shape& in, const std::vector<bool>& reduced, bool keepdims);

// For each input element i (row-major), out_index[i] = the index of its slot in the reduced (keepdims) output.
// Calls f(input_index, output_index) for every input element.
template <typename F>
void for_each_reduced(const Shape& in, const std::vector<bool>& reduced, F&& f) {
  int64_t n = shape_numel(in);
  if (n == 0) return;
  size_t r = in.size();
  Shape kept = reduced_shape(in, reduced, true);
  std::vector<int64_t> ostr = strides_of(kept);
  for (size_t d = 0; d < r; ++d)
    if (reduced[d]) ostr[d] = 0;
  std::vector<int64_t> idx(r, 0);
  int64_t o = 0;
  for (int64_t i = 0; i < n; ++i) {
    f(i, o);
    for (size_t d = r; d-- > 0;) {
      if (++idx[d] < in[d]) {
        o += ostr[d];
        break;
      }
      o -= ostr[d] * (in[d] - 1);
      idx[d] = 0;
    }
  }
}

// Splits a shape at `axis` around one axis: outer = prod(dims before), n = dims[axis], inner = prod(dims after).
struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
};
AxisSplit split_at_axis(const Shape& s, int64_t axis);

}  // namespace hone
