#include "ops/hone/fused_conv.h"

#include <algorithm>
#include <cmath>

#include "ops/infer_graph.h"
#include "ops/op_helpers.h"

namespace hone {

int post_op_param_count(const std::string& op) {
  if (op == "Relu" || op == "Sigmoid" || op == "Tanh" || op == "HardSwish" || op == "Add" || op == "ChannelMul")
    return 0;
  if (op == "LeakyRelu" || op == "Swish") return 1;
  if (op == "Clip" || op == "HardSigmoid" || op == "Linear") return 2;
  return -1;
}

void check_post_ops(const std::string& label, const std::vector<std::string>& ops, const std::vector<float>& params,
                    bool has_z, bool has_channel_factors) {
  size_t need = 0;
  int adds = 0, channel_muls = 0;
  for (const std::string& op : ops) {
    int k = post_op_param_count(op);
    if (k < 0) fail("{}: '{}' is not a post-op", label, op);
    need += static_cast<size_t>(k);
    adds += op == "Add";
    channel_muls += op == "ChannelMul";
  }
  if (need != params.size()) fail("{}: post-ops need {} parameters, given {}", label, need, params.size());
  if (adds > 1 || (adds == 1) != has_z) fail("{}: an Add post-op needs exactly one residual input Z", label);
  if (channel_muls > 1 || (channel_muls == 1) != has_channel_factors)
    fail("{}: a ChannelMul post-op needs exactly one input of per-channel factors", label);
}

void apply_post_ops(const std::vector<std::string>& ops, const std::vector<float>& params, float* y, const float* z,
                    int64_t n, const ChannelFactors* channel) {
  size_t k = 0;
  for (const std::string& op : ops) {
    const float* p = params.data() + k;
    k += static_cast<size_t>(post_op_param_count(op));
    if (op == "Relu") {
      for (int64_t i = 0; i < n; ++i) y[i] = std::max(y[i], 0.f);
    } else if (op == "LeakyRelu") {
      for (int64_t i = 0; i < n; ++i) y[i] = y[i] >= 0 ? y[i] : p[0] * y[i];
    } else if (op == "Clip") {
      for (int64_t i = 0; i < n; ++i) y[i] = std::min(std::max(y[i], p[0]), p[1]);
    } else if (op == "Sigmoid") {
      for (int64_t i = 0; i < n; ++i) y[i] = 1.f / (1.f + std::exp(-y[i]));
    } else if (op == "Tanh") {
      for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(y[i]);
    } else if (op == "HardSigmoid") {
      for (int64_t i = 0; i < n; ++i) y[i] = std::max(0.f, std::min(1.f, p[0] * y[i] + p[1]));
    } else if (op == "Swish") {  // x * Sigmoid(beta * x), as exporters write it
      for (int64_t i = 0; i < n; ++i) y[i] = y[i] * (1.f / (1.f + std::exp(-(p[0] * y[i]))));
    } else if (op == "HardSwish") {
      for (int64_t i = 0; i < n; ++i) y[i] = y[i] * std::max(0.f, std::min(1.f, y[i] / 6.f + 0.5f));
    } else if (op == "Linear") {
      for (int64_t i = 0; i < n; ++i) y[i] = p[0] * y[i] + p[1];
    } else if (op == "Add") {
      for (int64_t i = 0; i < n; ++i) y[i] += z[i];
    } else if (op == "ChannelMul") {
      if (!channel) fail("a ChannelMul post-op without its factors");
      for (int64_t i = 0; i < n; ++i) y[i] *= channel->at(i);
    } else {
      fail("'{}' is not a post-op", op);
    }
  }
}

namespace {

const OpSchema& conv_schema() {
  static const OpSchema* s = OpRegistry::instance().find("", "Conv", 11);
  if (!s) fail("internal error: no Conv schema");
  return *s;
}

void fused_conv(OpContext& ctx) {
  conv_schema().compute(ctx);  // reads X, W, B and the Conv attributes; writes Y
  Tensor& y = ctx.written_output(0);
  if (y.dtype() != DType::Float32) fail("{}: FusedConv is float32 only", ctx.node().label());
  const float* z = nullptr;
  if (ctx.has_input(3)) {
    const Tensor& zt = ctx.input(3);
    if (zt.dtype() != DType::Float32 || zt.shape() != y.shape())
      fail("{}: the residual input is {}[{}] but the convolution gives float32[{}]", ctx.node().label(),
           dtype_name(zt.dtype()), shape_str(zt.shape()), shape_str(y.shape()));
    z = zt.data<float>();
  }
  std::vector<std::string> ops = ctx.node().attr_strings("post_ops");
  std::vector<float> params = ctx.node().attr_floats("post_op_params");
  check_post_ops(ctx.node().label(), ops, params, z != nullptr);
  apply_post_ops(ops, params, y.data<float>(), z, y.numel());
}

void infer_fused_conv(InferenceContext& ctx) {
  conv_schema().infer(ctx);
  check_post_ops(ctx.node().label(), ctx.node().attr_strings("post_ops"), ctx.node().attr_floats("post_op_params"),
                 ctx.has_input(3));
}

HONE_REGISTER_OP({.domain = "hone", .name = "FusedConv", .since = 1, .infer = infer_fused_conv, .compute = fused_conv});

// hone.FusedConvTranspose: a ConvTranspose and a chain of activations (no Add, no ChannelMul).
const OpSchema& conv_transpose_schema() {
  static const OpSchema* s = OpRegistry::instance().find("", "ConvTranspose", 11);
  if (!s) fail("internal error: no ConvTranspose schema");
  return *s;
}

void fused_conv_transpose(OpContext& ctx) {
  conv_transpose_schema().compute(ctx);
  Tensor& y = ctx.written_output(0);
  if (y.dtype() != DType::Float32) fail("{}: FusedConvTranspose is float32 only", ctx.node().label());
  std::vector<std::string> ops = ctx.node().attr_strings("post_ops");
  std::vector<float> params = ctx.node().attr_floats("post_op_params");
  check_post_ops(ctx.node().label(), ops, params, false);
  apply_post_ops(ops, params, y.data<float>(), nullptr, y.numel());
}

void infer_fused_conv_transpose(InferenceContext& ctx) {
  conv_transpose_schema().infer(ctx);
  check_post_ops(ctx.node().label(), ctx.node().attr_strings("post_ops"), ctx.node().attr_floats("post_op_params"),
                 false);
}

HONE_REGISTER_OP({.domain = "hone",
                  .name = "FusedConvTranspose",
                  .since = 1,
                  .infer = infer_fused_conv_transpose,
                  .compute = fused_conv_transpose});

}  // namespace
}  // namespace hone
