#include "ops/hone/fused_conv.h"

#include <algorithm>
#include <cmath>

#include "ops/infer_graph.h"
#include "ops/op_helpers.h"

namespace hone {

bool fusable_activation(const std::string& op) {
  return op == "Relu" || op == "LeakyRelu" || op == "Clip" || op == "Sigmoid" || op == "Tanh" || op == "HardSigmoid" ||
         op == "HardSwish";
}

void apply_activation(const std::string& op, const std::vector<float>& p, float* y, int64_t n) {
  auto param = [&](size_t i) {
    if (i >= p.size()) fail("activation {} needs {} parameters, given {}", op, i + 1, p.size());
    return p[i];
  };
  if (op.empty()) return;
  if (op == "Relu") {
    for (int64_t i = 0; i < n; ++i) y[i] = std::max(y[i], 0.f);
  } else if (op == "LeakyRelu") {
    float a = param(0);
    for (int64_t i = 0; i < n; ++i) y[i] = y[i] >= 0 ? y[i] : a * y[i];
  } else if (op == "Clip") {
    float lo = param(0), hi = param(1);
    for (int64_t i = 0; i < n; ++i) y[i] = std::min(std::max(y[i], lo), hi);
  } else if (op == "Sigmoid") {
    for (int64_t i = 0; i < n; ++i) y[i] = 1.f / (1.f + std::exp(-y[i]));
  } else if (op == "Tanh") {
    for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(y[i]);
  } else if (op == "HardSigmoid") {
    float a = param(0), b = param(1);
    for (int64_t i = 0; i < n; ++i) y[i] = std::max(0.f, std::min(1.f, a * y[i] + b));
  } else if (op == "HardSwish") {
    for (int64_t i = 0; i < n; ++i) y[i] = y[i] * std::max(0.f, std::min(1.f, y[i] / 6.f + 0.5f));
  } else {
    fail("activation '{}' cannot be fused", op);
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
  float* yd = y.data<float>();
  if (ctx.has_input(3)) {
    const Tensor& z = ctx.input(3);
    if (z.dtype() != DType::Float32 || z.shape() != y.shape())
      fail("{}: the residual input is {}[{}] but the convolution gives float32[{}]", ctx.node().label(),
           dtype_name(z.dtype()), shape_str(z.shape()), shape_str(y.shape()));
    const float* zd = z.data<float>();
    for (int64_t i = 0; i < y.numel(); ++i) yd[i] += zd[i];
  }
  apply_activation(ctx.node().attr_string("activation", ""), ctx.node().attr_floats("activation_params"), yd, y.numel());
}

void infer_fused_conv(InferenceContext& ctx) {
  conv_schema().infer(ctx);
  std::string act = ctx.node().attr_string("activation", "");
  if (!act.empty() && !fusable_activation(act)) fail("{}: activation '{}' cannot be fused", ctx.node().label(), act);
}

HONE_REGISTER_OP({.domain = "hone", .name = "FusedConv", .since = 1, .infer = infer_fused_conv, .compute = fused_conv});

}  // namespace
}  // namespace hone
