// LRN (local response normalization across channels):
//   y = x / (bias + alpha / size * sum of x^2 over channels [c - floor((size-1)/2), c + ceil((size-1)/2)])^beta
#include <cmath>

#include "ops/norm/norm_common.h"

namespace hone {
namespace {

void lrn(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) fail("{}: input must have rank >= 2 (N x C x ...), got shape {}", node.label(), shape_str(x.shape()));
  int64_t size = node.require_int("size");
  if (size <= 0) fail("{}: size must be positive, got {}", node.label(), size);
  double alpha = node.attr_float("alpha", 1e-4f), beta = node.attr_float("beta", 0.75f), bias = node.attr_float("bias", 1.0f);
  int64_t batch = x.dim(0), channels = x.dim(1);
  int64_t spatial = batch * channels == 0 ? 0 : x.numel() / (batch * channels);
  int64_t lo = (size - 1) / 2, hi = size - 1 - lo;  // floor and ceil of (size-1)/2
  std::vector<double> v = float_values(x, node), y(v.size());
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t k = 0; k < spatial; ++k) {
        double sq = 0;
        for (int64_t i = std::max<int64_t>(0, c - lo); i <= std::min(channels - 1, c + hi); ++i) {
          double e = v[static_cast<size_t>((n * channels + i) * spatial + k)];
          sq += e * e;
        }
        size_t j = static_cast<size_t>((n * channels + c) * spatial + k);
        y[j] = v[j] / std::pow(bias + alpha / static_cast<double>(size) * sq, beta);
      }
  store_float_values(ctx.output_uninitialized(0, x.dtype(), x.shape()), y, node);
}

}  // namespace

HONE_REGISTER_OP({.name = "LRN", .since = 1, .infer = infer_same_as_input, .compute = lrn});

}  // namespace hone
