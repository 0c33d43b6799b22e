#include "ops/reduce/axes.h"

namespace hone {

std::vector<bool> axis_flags(const std::vector<int64_t>& axes, int64_t rank, const Node& node) {
  std::vector<bool> flags(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    if (a < -rank || a >= rank) fail("{}: axis {} is out of range for rank {}", node.label(), a, rank);
    size_t k = static_cast<size_t>(a < 0 ? a + rank : a);
    if (flags[k]) fail("{}: axis {} is repeated", node.label(), a);
    flags[k] = true;
  }
  return flags;
}

bool reduce_axes_from_input(const Node& node, int64_t opset) {
  return node.op_type == "ReduceSum" ? opset >= 13 : opset >= 18;
}

Shape reduced_shape(const Shape& in, const std::vector<bool>& reduced, bool keepdims) {
  Shape out;
  for (size_t d = 0; d < in.size(); ++d) {
    if (!reduced[d]) out.push_back(in[d]);
    else if (keepdims) out.push_back(1);
  }
  return out;
}

AxisSplit split_at_axis(const Shape& s, int64_t axis) {
  AxisSplit r;
  for (int64_t d = 0; d < static_cast<int64_t>(s.size()); ++d) {
    if (d < axis) r.outer *= s[static_cast<size_t>(d)];
    else if (d == axis) r.n = s[static_cast<size_t>(d)];
    else r.inner *= s[static_cast<size_t>(d)];
  }
  return r;
}

}  // namespace hone
