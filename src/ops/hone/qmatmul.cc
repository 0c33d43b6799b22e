// hone.QMatMul and hone.DynamicQMatMul (ops/hone/quantized.h): int8 matrix products with constant int8 weights
// [K, N], the reference kernels kernels/cpu/dnnl_qmatmul.cc is tested against.
#include <algorithm>
#include <cmath>

#include "ops/hone/quantized.h"
#include "ops/op_helpers.h"

namespace hone {
namespace {

struct Weights {
  int64_t k = 0, n = 0;
  const int8_t* w = nullptr;
  std::vector<float> mult;  // per column: x_scale * W_scale[n]
  const float* bias = nullptr;
};

Weights read_weights(OpContext& ctx, float x_scale, int64_t k_in) {
  const Node& node = ctx.node();
  const Tensor& w = ctx.input(1);
  const Tensor& w_scale = ctx.input(2);
  if (w.dtype() != DType::Int8 || w.rank() != 2)
    fail("{}: W must be a 2-D int8 tensor, got {}[{}]", node.label(), dtype_name(w.dtype()), shape_str(w.shape()));
  Weights r;
  r.k = w.dim(0);
  r.n = w.dim(1);
  if (r.k != k_in) fail("{}: X has {} columns but W has {} rows", node.label(), k_in, r.k);
  if (w_scale.dtype() != DType::Float32 || (w_scale.numel() != 1 && !(w_scale.rank() == 1 && w_scale.dim(0) == r.n)))
    fail("{}: W_scale must be a float32 scalar or have {} elements, got {}[{}]", node.label(), r.n,
         dtype_name(w_scale.dtype()), shape_str(w_scale.shape()));
  r.w = w.data<int8_t>();
  for (int64_t j = 0; j < r.n; ++j) r.mult.push_back(x_scale * w_scale.data<float>()[w_scale.numel() == 1 ? 0 : j]);
  if (ctx.has_input(3)) {
    const Tensor& b = ctx.input(3);
    if (b.dtype() != DType::Float32 || b.numel() != r.n)
      fail("{}: B must be float32 with {} elements, got {}[{}]", node.label(), r.n, dtype_name(b.dtype()),
           shape_str(b.shape()));
    r.bias = b.data<float>();
  }
  return r;
}

Shape output_shape(const Tensor& x, int64_t n, const Node& node) {
  if (x.rank() < 1) fail("{}: X must have rank >= 1", node.label());
  Shape s = x.shape();
  s.back() = n;
  return s;
}

// acc[r, j] = sum_k x[r, k] * w[k, j] with x already offset by its zero point, then v = acc * mult[j] + bias[j].
std::vector<float> real_products(const std::vector<int32_t>& x, int64_t rows, const Weights& w) {
  std::vector<float> v(static_cast<size_t>(rows * w.n));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < w.n; ++j) {
      int64_t acc = 0;
      for (int64_t k = 0; k < w.k; ++k) acc += int64_t{x[static_cast<size_t>(r * w.k + k)]} * w.w[k * w.n + j];
      float f = static_cast<float>(static_cast<int32_t>(acc)) * w.mult[static_cast<size_t>(j)];
      v[static_cast<size_t>(r * w.n + j)] = w.bias ? f + w.bias[j] : f;
    }
  return v;
}

void qmatmul(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::UInt8 && x.dtype() != DType::Int8)
    fail("{}: X must be uint8 or int8, got {}", node.label(), dtype_name(x.dtype()));
  QuantParams xp = quant_params_attr(node, "x");
  QuantizedOutput out = quantized_output_attr(node);
  int64_t k = x.rank() ? x.shape().back() : 0;
  Weights w = read_weights(ctx, xp.scale, k);
  int64_t rows = k ? x.numel() / k : 0;
  std::vector<int32_t> x32(static_cast<size_t>(x.numel()));
  for (int64_t i = 0; i < x.numel(); ++i)
    x32[static_cast<size_t>(i)] = static_cast<int32_t>(x.get_int(i) - xp.zero_point);
  std::vector<float> v = real_products(x32, rows, w);
  Tensor& y = ctx.output_uninitialized(0, out.type, output_shape(x, w.n, node));
  finish_quantized_output(node, v, nullptr, out, y);
}

// DynamicQuantizeLinear's parameters (ONNX reference): the range always includes 0.
QuantParams dynamic_params(const float* x, int64_t n) {
  float maxx = 0, minx = 0;
  for (int64_t i = 0; i < n; ++i) {
    maxx = std::max(maxx, x[i]);
    minx = std::min(minx, x[i]);
  }
  QuantParams p;
  p.scale = maxx == minx ? 1.0f : (maxx - minx) / 255.0f;
  p.zero_point = static_cast<int32_t>(std::nearbyint(std::clamp(0.0f - minx / p.scale, 0.0f, 255.0f)));
  return p;
}

void dynamic_qmatmul(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::Float32) fail("{}: X must be float32, got {}", node.label(), dtype_name(x.dtype()));
  const float* px = x.data<float>();
  QuantParams xp = dynamic_params(px, x.numel());
  int64_t k = x.rank() ? x.shape().back() : 0;
  Weights w = read_weights(ctx, xp.scale, k);
  int64_t rows = k ? x.numel() / k : 0;
  std::vector<int32_t> x32(static_cast<size_t>(x.numel()));
  for (int64_t i = 0; i < x.numel(); ++i) {
    float q = std::nearbyint(px[i] / xp.scale) + static_cast<float>(xp.zero_point);
    q = std::isnan(q) ? 0.0f : std::clamp(q, 0.0f, 255.0f);
    x32[static_cast<size_t>(i)] = static_cast<int32_t>(q) - xp.zero_point;
  }
  std::vector<float> v = real_products(x32, rows, w);
  Tensor& y = ctx.output_uninitialized(0, DType::Float32, output_shape(x, w.n, node));
  std::copy(v.begin(), v.end(), y.data<float>());
}

std::optional<SymShape> infer_product_shape(InferenceContext& ctx) {
  const SymShape* x = ctx.input_shape(0);
  const SymShape* w = ctx.input_shape(1);
  if (!x || x->empty()) return std::nullopt;
  SymShape s = *x;
  s.back() = w && w->size() == 2 ? (*w)[1] : Dim();
  return s;
}

void infer_qmatmul(InferenceContext& ctx) {
  ctx.set_output_tensor(0, quantized_output_type(ctx.node()), infer_product_shape(ctx));
}
void infer_dynamic_qmatmul(InferenceContext& ctx) {
  ctx.set_output_tensor(0, DType::Float32, infer_product_shape(ctx));
}

HONE_REGISTER_OP({.domain = "hone", .name = "QMatMul", .since = 1, .infer = infer_qmatmul, .compute = qmatmul});
HONE_REGISTER_OP({.domain = "hone", .name = "DynamicQMatMul", .since = 1, .infer = infer_dynamic_qmatmul,
                  .compute = dynamic_qmatmul});

}  // namespace
}  // namespace hone
