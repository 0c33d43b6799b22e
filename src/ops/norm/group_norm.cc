// GroupNormalization: channels split into num_groups groups; each (n, group) is normalized with its own mean and
// (population) variance, then y = scale * x_hat + bias. Opset 18 takes scale and bias per group (num_groups
// elements); opset 21 per channel (C elements).
#include <cmath>

#include "ops/norm/norm_common.h"

namespace hone {
namespace {

void group_norm(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) fail("{}: input must have rank >= 2 (N x C x ...), got shape {}", node.label(), shape_str(x.shape()));
  int64_t groups = node.require_int("num_groups");
  int64_t batch = x.dim(0), channels = x.dim(1);
  if (groups <= 0 || channels % groups != 0)
    fail("{}: num_groups {} does not divide the {} channels", node.label(), groups, channels);
  int64_t spatial = batch * channels == 0 ? 0 : x.numel() / (batch * channels);
  double eps = node.attr_float("epsilon", 1e-5f);
  bool per_channel = ctx.opset() >= 21;
  int64_t np = per_channel ? channels : groups;
  std::vector<double> scale = param_values(ctx.input(1), np, node, "scale");
  std::vector<double> bias = param_values(ctx.input(2), np, node, "bias");
  int64_t cpg = channels / groups;
  int64_t block = cpg * spatial;
  std::vector<double> v = float_values(x, node);
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t g = 0; g < groups; ++g) {
      double* p = v.data() + (n * groups + g) * block;
      double m = 0, var = 0;
      for (int64_t k = 0; k < block; ++k) m += p[k];
      m /= static_cast<double>(block);
      for (int64_t k = 0; k < block; ++k) var += (p[k] - m) * (p[k] - m);
      var /= static_cast<double>(block);
      double inv = 1.0 / std::sqrt(var + eps);
      for (int64_t k = 0; k < block; ++k) {
        size_t q = static_cast<size_t>(per_channel ? g * cpg + k / spatial : g);
        p[k] = (p[k] - m) * inv * scale[q] + bias[q];
      }
    }
  store_float_values(ctx.output_uninitialized(0, x.dtype(), x.shape()), v, node);
}

}  // namespace

HONE_REGISTER_OP({.name = "GroupNormalization", .since = 18, .until = 20, .infer = infer_same_as_input, .compute = group_norm});
HONE_REGISTER_OP({.name = "GroupNormalization", .since = 21, .infer = infer_same_as_input, .compute = group_norm});

}  // namespace hone
