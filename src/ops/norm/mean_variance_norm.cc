// MeanVarianceNormalization: y = (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9), expectations over `axes`
// (default [0, 2, 3]), as the op's function body computes it.
#include <cmath>

#include "ops/norm/norm_common.h"
#include "ops/reduce/axes.h"

namespace hone {
namespace {

void mean_variance_norm(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  std::vector<bool> flags = axis_flags(node.attr_ints("axes", {0, 2, 3}), x.rank(), node);
  Shape kept = reduced_shape(x.shape(), flags, true);
  int64_t n_out = shape_numel(kept);
  double count = n_out == 0 ? 0.0 : static_cast<double>(x.numel() / n_out);
  std::vector<double> v = float_values(x, node);
  std::vector<double> s(static_cast<size_t>(n_out), 0.0), s2(static_cast<size_t>(n_out), 0.0);
  for_each_reduced(x.shape(), flags, [&](int64_t i, int64_t o) {
    s[o] += v[i];
    s2[o] += v[i] * v[i];
  });
  for_each_reduced(x.shape(), flags, [&](int64_t i, int64_t o) {
    double m = s[o] / count;
    double var = std::max(0.0, s2[o] / count - m * m);
    v[i] = (v[i] - m) / (std::sqrt(var) + 1e-9);
  });
  store_float_values(ctx.output_uninitialized(0, x.dtype(), x.shape()), v, node);
}

}  // namespace

HONE_REGISTER_OP({.name = "MeanVarianceNormalization", .since = 9, .infer = infer_same_as_input, .compute = mean_variance_norm});

}  // namespace hone
