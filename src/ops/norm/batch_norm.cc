// BatchNormalization: y = scale * (x - mean) / sqrt(var + epsilon) + bias, per channel (axis 1).
//
// Inference uses the given mean and var. Training (opset 14+: training_mode = 1; opsets 6-13: when the node asks
// for more than Y, or opset 6 with is_test = 0) uses the batch's own mean and (population) variance over every
// axis but 1, and also outputs running_mean = mean * momentum + batch_mean * (1 - momentum), likewise running_var
// (opsets before 14 add the batch mean and variance as saved_mean / saved_var).
// Legacy opsets 6 and 7 with spatial = 0 take parameters of shape C x D1 x ... x Dn: one per element of a sample.
#include <cmath>

#include "ops/norm/norm_common.h"

namespace hone {
namespace {

bool is_training(const OpContext& ctx) {
  const Node& n = ctx.node();
  if (ctx.opset() >= 14) return n.attr_int("training_mode", 0) != 0;
  bool extra_outputs = false;
  for (size_t i = 1; i < ctx.num_outputs(); ++i) extra_outputs = extra_outputs || ctx.wants_output(i);
  if (ctx.opset() < 7 && n.attr_int("is_test", 0) == 0) return true;
  return extra_outputs;
}

void batch_norm(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) fail("{}: input must have rank >= 2 (N x C x ...), got shape {}", node.label(), shape_str(x.shape()));
  int64_t batch = x.dim(0), channels = x.dim(1);
  int64_t spatial = batch * channels == 0 ? 0 : x.numel() / (batch * channels);
  double eps = node.attr_float("epsilon", 1e-5f);
  double momentum = node.attr_float("momentum", 0.9f);
  bool training = is_training(ctx);

  // Parameters per channel, or (opsets 6-8 with spatial = 0) per element of a sample.
  bool per_element = ctx.opset() < 9 && node.attr_int("spatial", 1) == 0 && !training;
  int64_t per = per_element ? spatial : 1;
  int64_t np = channels * per;
  std::vector<double> scale = param_values(ctx.input(1), np, node, "scale");
  std::vector<double> bias = param_values(ctx.input(2), np, node, "B");
  std::vector<double> mean = param_values(ctx.input(3), np, node, "input_mean");
  std::vector<double> var = param_values(ctx.input(4), np, node, "input_var");
  std::vector<double> xv = float_values(x, node);

  std::vector<double> use_mean = mean, use_var = var;
  if (training) {
    double count = static_cast<double>(batch * spatial);
    for (int64_t c = 0; c < channels; ++c) {
      double s = 0, s2 = 0;
      for (int64_t n = 0; n < batch; ++n)
        for (int64_t k = 0; k < spatial; ++k) s += xv[static_cast<size_t>((n * channels + c) * spatial + k)];
      double m = s / count;
      for (int64_t n = 0; n < batch; ++n)
        for (int64_t k = 0; k < spatial; ++k) {
          double d = xv[static_cast<size_t>((n * channels + c) * spatial + k)] - m;
          s2 += d * d;
        }
      use_mean[static_cast<size_t>(c)] = m;
      use_var[static_cast<size_t>(c)] = s2 / count;
    }
  }
  std::vector<double> yv(xv.size());
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t k = 0; k < spatial; ++k) {
        size_t i = static_cast<size_t>((n * channels + c) * spatial + k);
        size_t p = static_cast<size_t>(c * per + (per == 1 ? 0 : k));
        yv[i] = scale[p] * (xv[i] - use_mean[p]) / std::sqrt(use_var[p] + eps) + bias[p];
      }
  store_float_values(ctx.output_uninitialized(0, x.dtype(), x.shape()), yv, node);
  if (!training) return;

  auto emit = [&](size_t i, const std::vector<double>& v) {
    if (i >= ctx.num_outputs() || !ctx.wants_output(i)) return;
    DType dt = ctx.input(3).dtype();
    store_float_values(ctx.output_uninitialized(i, dt, {channels}), v, node);
  };
  std::vector<double> run_mean(static_cast<size_t>(channels)), run_var(static_cast<size_t>(channels));
  for (size_t c = 0; c < run_mean.size(); ++c) {
    run_mean[c] = mean[c] * momentum + use_mean[c] * (1 - momentum);
    run_var[c] = var[c] * momentum + use_var[c] * (1 - momentum);
  }
  emit(1, run_mean);
  emit(2, run_var);
  emit(3, use_mean);
  emit(4, use_var);
}

void infer_batch_norm(InferenceContext& ctx) {
  if (!ctx.has_input(0)) return;
  ctx.set_output(0, ctx.input_type(0));
  const SymShape* x = ctx.input_shape(0);
  Dim c = x && x->size() >= 2 ? (*x)[1] : Dim();
  DType dt = ctx.has_input(3) ? ctx.input_dtype(3) : ctx.input_dtype(0);
  for (size_t i = 1; i < ctx.num_outputs(); ++i) ctx.set_output_tensor(i, dt, SymShape{c});
}

}  // namespace

HONE_REGISTER_OP({.name = "BatchNormalization", .since = 1, .infer = infer_batch_norm, .compute = batch_norm});

}  // namespace hone
