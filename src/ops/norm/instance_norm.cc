// InstanceNormalization: y = scale[c] * (x - mean) / sqrt(var + epsilon) + B[c], with mean and (population)
// variance over the spatial axes of each (n, c).
#include <cmath>

#include "ops/norm/norm_common.h"

namespace hone {
namespace {

void instance_norm(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) fail("{}: input must have rank >= 2 (N x C x ...), got shape {}", node.label(), shape_str(x.shape()));
  int64_t batch = x.dim(0), channels = x.dim(1);
  int64_t spatial = batch * channels == 0 ? 0 : x.numel() / (batch * channels);
  double eps = node.attr_float("epsilon", 1e-5f);
  std::vector<double> scale = param_values(ctx.input(1), channels, node, "scale");
  std::vector<double> bias = param_values(ctx.input(2), channels, node, "B");
  std::vector<double> v = float_values(x, node);
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t c = 0; c < channels; ++c) {
      double* p = v.data() + (n * channels + c) * spatial;
      double m = 0, var = 0;
      for (int64_t k = 0; k < spatial; ++k) m += p[k];
      m /= static_cast<double>(spatial);
      for (int64_t k = 0; k < spatial; ++k) var += (p[k] - m) * (p[k] - m);
      var /= static_cast<double>(spatial);
      double inv = 1.0 / std::sqrt(var + eps);
      for (int64_t k = 0; k < spatial; ++k)
        p[k] = scale[static_cast<size_t>(c)] * (p[k] - m) * inv + bias[static_cast<size_t>(c)];
    }
  store_float_values(ctx.output_uninitialized(0, x.dtype(), x.shape()), v, node);
}

}  // namespace

HONE_REGISTER_OP({.name = "InstanceNormalization", .since = 1, .infer = infer_same_as_input, .compute = instance_norm});

}  // namespace hone
