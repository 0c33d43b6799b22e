// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (opset 12+): input [N, C, d1..dk] (log-probabilities, or
// scores for SoftmaxCrossEntropyLoss), target [N, d1..dk] of class indices, optional per-class weight [C].
// Element loss = -weight[t] * input[n, t, d], zero where t == ignore_index. Reduction none keeps the target's shape;
// sum adds; mean divides the sum by the sum of the applied weights (the count of non-ignored elements when
// unweighted). SoftmaxCrossEntropyLoss applies log-softmax over C first and may also output it.
#include <cmath>
#include <limits>

#include "ops/attention/float_io.h"

namespace hone {
namespace {

enum class Reduction { None, Sum, Mean };

Reduction reduction_of(const Node& n) {
  std::string r = n.attr_string("reduction", "mean");
  if (r == "none") return Reduction::None;
  if (r == "sum") return Reduction::Sum;
  if (r == "mean") return Reduction::Mean;
  fail("{}: reduction must be none, sum or mean, got '{}'", n.label(), r);
}

// Computes the loss from log-probabilities `logp` laid out as [N, C, D] and writes output 0.
void nll_from_log_probs(OpContext& ctx, const std::vector<double>& logp, DType dtype, const Shape& in_shape) {
  const Node& n = ctx.node();
  const Tensor& target = ctx.input(1);
  if (in_shape.size() < 2) fail("{}: input must have rank >= 2, got {}", n.label(), shape_str(in_shape));
  if (!is_integer(target.dtype())) fail("{}: target must be an integer tensor", n.label());
  Shape want(in_shape.begin(), in_shape.end());
  want.erase(want.begin() + 1);
  if (target.shape() != want)
    fail("{}: target shape {} does not match the input {} without its class axis", n.label(),
         shape_str(target.shape()), shape_str(in_shape));
  int64_t N = in_shape[0], C = in_shape[1], D = N == 0 ? 0 : target.numel() / N;
  std::vector<double> weight;
  if (ctx.has_input(2)) {
    const Tensor& w = ctx.input(2);
    if (w.rank() != 1 || w.dim(0) != C) fail("{}: weight must be [{}], got {}", n.label(), C, shape_str(w.shape()));
    weight = float_values(w, n);
  }
  bool has_ignore = n.has_attr("ignore_index");
  int64_t ignore = n.attr_int("ignore_index", 0);
  std::vector<int64_t> t = target.to_int64_vector();
  std::vector<double> loss(t.size());
  double loss_sum = 0, weight_sum = 0;
  for (int64_t i = 0; i < N; ++i)
    for (int64_t d = 0; d < D; ++d) {
      size_t k = static_cast<size_t>(i * D + d);
      int64_t c = t[k];
      if (has_ignore && c == ignore) continue;
      if (c < 0 || c >= C) fail("{}: target value {} is outside [0, {})", n.label(), c, C);
      double w = weight.empty() ? 1.0 : weight[static_cast<size_t>(c)];
      loss[k] = -w * logp[static_cast<size_t>((i * C + c) * D + d)];
      loss_sum += loss[k];
      weight_sum += w;
    }
  Reduction r = reduction_of(n);
  if (r == Reduction::None) {
    store_float_values(ctx.output_uninitialized(0, dtype, target.shape()), loss, n);
  } else {
    double v = r == Reduction::Sum ? loss_sum : loss_sum / weight_sum;
    store_float_values(ctx.output_uninitialized(0, dtype, {}), {v}, n);
  }
}

void nll_loss(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  nll_from_log_probs(ctx, float_values(x, ctx.node()), x.dtype(), x.shape());
}

void softmax_cross_entropy_loss(OpContext& ctx) {
  const Node& n = ctx.node();
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) fail("{}: input must have rank >= 2, got {}", n.label(), shape_str(x.shape()));
  std::vector<double> v = float_values(x, n);
  int64_t N = x.dim(0), C = x.dim(1), D = N * C == 0 ? 0 : x.numel() / (N * C);
  // log-softmax over the class axis
  for (int64_t i = 0; i < N; ++i)
    for (int64_t d = 0; d < D; ++d) {
      double max = -std::numeric_limits<double>::infinity();
      for (int64_t c = 0; c < C; ++c) max = std::max(max, v[static_cast<size_t>((i * C + c) * D + d)]);
      double sum = 0;
      for (int64_t c = 0; c < C; ++c) sum += std::exp(v[static_cast<size_t>((i * C + c) * D + d)] - max);
      double lse = max + std::log(sum);
      for (int64_t c = 0; c < C; ++c) v[static_cast<size_t>((i * C + c) * D + d)] -= lse;
    }
  nll_from_log_probs(ctx, v, x.dtype(), x.shape());
  if (ctx.wants_output(1)) store_float_values(ctx.output_uninitialized(1, x.dtype(), x.shape()), v, n);
}

void infer_loss(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  std::string r = ctx.node().attr_string("reduction", "mean");
  if (r == "none") {
    const SymShape* t = ctx.input_shape(1);
    ctx.set_output_tensor(0, dt, t ? std::optional<SymShape>(*t) : std::nullopt);
  } else {
    ctx.set_output_tensor(0, dt, SymShape{});
  }
  if (ctx.num_outputs() > 1) {
    const SymShape* x = ctx.input_shape(0);
    ctx.set_output_tensor(1, dt, x ? std::optional<SymShape>(*x) : std::nullopt);
  }
}

}  // namespace

// Versions 13 and 22 only widen the accepted element types.
HONE_REGISTER_OP({.name = "NegativeLogLikelihoodLoss", .since = 12, .infer = infer_loss, .compute = nll_loss});
HONE_REGISTER_OP({.name = "SoftmaxCrossEntropyLoss", .since = 12, .infer = infer_loss,
                  .compute = softmax_cross_entropy_loss});

}  // namespace hone
