// LpNormalization: x divided by its L1 (p = 1) or L2 (p = 2, default) norm along `axis` (default -1).
#include <cmath>

#include "ops/norm/norm_common.h"
#include "ops/reduce/axes.h"

namespace hone {
namespace {

void lp_norm(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  if (x.rank() == 0) fail("{}: input must have rank >= 1", node.label());
  int64_t axis = normalize_axis(node.attr_int("axis", -1), x.rank(), node);
  int64_t p = node.attr_int("p", 2);
  if (p != 1 && p != 2) fail("{}: p must be 1 or 2, got {}", node.label(), p);
  AxisSplit s = split_at_axis(x.shape(), axis);
  std::vector<double> v = float_values(x, node);
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t in = 0; in < s.inner; ++in) {
      double* base = v.data() + o * s.n * s.inner + in;
      double norm = 0;
      for (int64_t k = 0; k < s.n; ++k) norm += p == 1 ? std::abs(base[k * s.inner]) : base[k * s.inner] * base[k * s.inner];
      if (p == 2) norm = std::sqrt(norm);
      if (norm == 0) continue;  // an all-zero vector stays zero (as ONNX's reference does), not NaN
      for (int64_t k = 0; k < s.n; ++k) base[k * s.inner] /= norm;
    }
  store_float_values(ctx.output_uninitialized(0, x.dtype(), x.shape()), v, node);
}

}  // namespace

HONE_REGISTER_OP({.name = "LpNormalization", .since = 1, .infer = infer_same_as_input, .compute = lp_norm});

}  // namespace hone
