// Float activations of one input with float attributes: Sigmoid, Tanh, LeakyRelu, Elu, Selu, Celu, HardSigmoid,
// HardSwish, Softplus, Softsign, Gelu, Mish, ThresholdedRelu, Swish. Later opsets of these ops only widened the
// type list (and opset 1 had an ignored `consumed_inputs`), so one entry serves every version. std::min/max take
// the value first so that NaN propagates, as numpy's clip does.
#include "ops/math/elementwise.h"

namespace hone {
namespace {

// 1 / (1 + e^-x), written so that neither branch overflows.
template <typename C>
C sigmoid(C v) {
  if (v >= C(0)) return C(1) / (C(1) + std::exp(-v));
  C e = std::exp(v);
  return e / (C(1) + e);
}

// log(1 + e^x) without overflow for large x.
template <typename C>
C softplus(C v) {
  return v > C(0) ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
}

float attr(const OpContext& ctx, const char* name, float def) { return ctx.node().attr_float(name, def); }

void sigmoid_op(OpContext& ctx) { unary_float(ctx, [](auto v) { return sigmoid(v); }); }
void tanh_op(OpContext& ctx) { unary_float(ctx, [](auto v) { return std::tanh(v); }); }

void leaky_relu(OpContext& ctx) {
  float alpha = attr(ctx, "alpha", 0.01f);
  unary_float(ctx, [alpha](auto v) { return v >= 0 ? v : v * static_cast<decltype(v)>(alpha); });
}

void elu(OpContext& ctx) {
  float alpha = attr(ctx, "alpha", 1.0f);
  unary_float(ctx, [alpha](auto v) { return v >= 0 ? v : static_cast<decltype(v)>(alpha) * (std::exp(v) - 1); });
}

void selu(OpContext& ctx) {
  using C = double;
  C alpha = attr(ctx, "alpha", 1.67326319217681884765625f);
  C gamma = attr(ctx, "gamma", 1.05070102214813232421875f);
  unary_float(ctx, [alpha, gamma](auto v) {
    using V = decltype(v);
    auto a = static_cast<V>(alpha), g = static_cast<V>(gamma);
    return v > 0 ? g * v : g * (a * std::exp(v) - a);
  });
}

// max(0, x) + min(0, alpha * (e^(x/alpha) - 1))
void celu(OpContext& ctx) {
  float alpha = attr(ctx, "alpha", 1.0f);
  unary_float(ctx, [alpha](auto v) {
    using V = decltype(v);
    auto a = static_cast<V>(alpha);
    return std::max(v, V(0)) + std::min(a * (std::exp(v / a) - 1), V(0));
  });
}

void hard_sigmoid(OpContext& ctx) {
  float alpha = attr(ctx, "alpha", 0.2f), beta = attr(ctx, "beta", 0.5f);
  unary_float(ctx, [alpha, beta](auto v) {
    using V = decltype(v);
    return std::max(std::min(static_cast<V>(alpha) * v + static_cast<V>(beta), V(1)), V(0));
  });
}

// x * HardSigmoid(x) with alpha = 1/6, beta = 0.5.
void hard_swish(OpContext& ctx) {
  unary_float(ctx, [](auto v) {
    using V = decltype(v);
    return v * std::max(std::min(v / V(6) + V(0.5), V(1)), V(0));
  });
}

void softplus_op(OpContext& ctx) { unary_float(ctx, [](auto v) { return softplus(v); }); }
void softsign(OpContext& ctx) { unary_float(ctx, [](auto v) { return v / (1 + std::abs(v)); }); }

// approximate="none": x/2 (1 + erf(x/sqrt2)); "tanh": x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
void gelu(OpContext& ctx) {
  std::string approx = ctx.node().attr_string("approximate", "none");
  if (approx == "none") {
    unary_float(ctx, [](auto v) {
      using V = decltype(v);
      return V(0.5) * v * (V(1) + std::erf(v * static_cast<V>(0.70710678118654752440)));
    });
  } else if (approx == "tanh") {
    unary_float(ctx, [](auto v) {
      using V = decltype(v);
      V inner = static_cast<V>(0.79788456080286535588) * (v + V(0.044715) * v * v * v);
      return V(0.5) * v * (V(1) + std::tanh(inner));
    });
  } else {
    fail("{}: approximate must be 'none' or 'tanh', got '{}'", ctx.node().label(), approx);
  }
}

void mish(OpContext& ctx) { unary_float(ctx, [](auto v) { return v * std::tanh(softplus(v)); }); }

void thresholded_relu(OpContext& ctx) {
  float alpha = attr(ctx, "alpha", 1.0f);
  unary_float(ctx, [alpha](auto v) { return v > static_cast<decltype(v)>(alpha) ? v : decltype(v)(0); });
}

// x * sigmoid(alpha * x)
void swish(OpContext& ctx) {
  float alpha = attr(ctx, "alpha", 1.0f);
  unary_float(ctx, [alpha](auto v) { return v * sigmoid(static_cast<decltype(v)>(alpha) * v); });
}

}  // namespace

HONE_REGISTER_OP({.name = "Sigmoid", .since = 1, .infer = infer_same_as_input, .compute = sigmoid_op});
HONE_REGISTER_OP({.name = "Tanh", .since = 1, .infer = infer_same_as_input, .compute = tanh_op});
HONE_REGISTER_OP({.name = "LeakyRelu", .since = 1, .infer = infer_same_as_input, .compute = leaky_relu});
HONE_REGISTER_OP({.name = "Elu", .since = 1, .infer = infer_same_as_input, .compute = elu});
HONE_REGISTER_OP({.name = "Selu", .since = 1, .infer = infer_same_as_input, .compute = selu});
HONE_REGISTER_OP({.name = "Celu", .since = 12, .infer = infer_same_as_input, .compute = celu});
HONE_REGISTER_OP({.name = "HardSigmoid", .since = 1, .infer = infer_same_as_input, .compute = hard_sigmoid});
HONE_REGISTER_OP({.name = "HardSwish", .since = 14, .infer = infer_same_as_input, .compute = hard_swish});
HONE_REGISTER_OP({.name = "Softplus", .since = 1, .infer = infer_same_as_input, .compute = softplus_op});
HONE_REGISTER_OP({.name = "Softsign", .since = 1, .infer = infer_same_as_input, .compute = softsign});
HONE_REGISTER_OP({.name = "Gelu", .since = 20, .infer = infer_same_as_input, .compute = gelu});
HONE_REGISTER_OP({.name = "Mish", .since = 18, .infer = infer_same_as_input, .compute = mish});
HONE_REGISTER_OP({.name = "ThresholdedRelu", .since = 10, .infer = infer_same_as_input, .compute = thresholded_relu});
HONE_REGISTER_OP({.name = "Swish", .since = 24, .infer = infer_same_as_input, .compute = swish});

}  // namespace hone
