// ConvInteger (10): conv(x - x_zero_point, w - w_zero_point) in int32. QLinearConv (10): the same plus an int32 bias,
// requantized: y = saturate(round(acc * (x_scale * w_scale / y_scale) + y_zero_point)), the multiplier computed in
// float32 and the product in double, as ONNX's reference does. Weights may be quantized per output channel.
#include <algorithm>
#include <cmath>

#include "ops/op_helpers.h"
#include "ops/quant/conv_int.h"
#include "ops/quant/quant_params.h"

namespace hone {
namespace {

void check_8bit(const Tensor& t, const char* what, const Node& node) {
  if (t.dtype() != DType::UInt8 && t.dtype() != DType::Int8)
    fail("{}: {} must be uint8 or int8, got {}", node.label(), what, dtype_name(t.dtype()));
}

std::vector<int32_t> offset_input(const Tensor& x, const Tensor* zp, const Node& node) {
  if (zp && zp->numel() != 1)
    fail("{}: the input zero point must be a scalar, got shape {}", node.label(), shape_str(zp->shape()));
  int64_t z = zp ? zp->get_int(0) : 0;
  std::vector<int32_t> out(static_cast<size_t>(x.numel()));
  for (int64_t i = 0; i < x.numel(); ++i) out[static_cast<size_t>(i)] = static_cast<int32_t>(x.get_int(i) - z);
  return out;
}

// A per-tensor value or one per output channel (a 1-D tensor of M elements); returns the index for channel m.
int64_t per_channel(const Tensor& t, int64_t m) { return t.numel() == 1 ? 0 : m; }
void check_per_channel(const Tensor& t, int64_t channels, const char* what, const Node& node) {
  if (t.numel() != 1 && !(t.rank() == 1 && t.dim(0) == channels))
    fail("{}: {} must be a scalar or have {} elements (one per output channel), got shape {}", node.label(), what,
         channels, shape_str(t.shape()));
}

std::vector<int32_t> offset_weights(const Tensor& w, const Tensor* zp, const Node& node) {
  int64_t m_count = w.dim(0);
  if (zp) check_per_channel(*zp, m_count, "the weight zero point", node);
  int64_t per_m = m_count ? w.numel() / m_count : 0;
  std::vector<int32_t> out(static_cast<size_t>(w.numel()));
  for (int64_t i = 0; i < w.numel(); ++i) {
    int64_t z = zp ? zp->get_int(per_channel(*zp, i / per_m)) : 0;
    out[static_cast<size_t>(i)] = static_cast<int32_t>(w.get_int(i) - z);
  }
  return out;
}

void conv_integer(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  check_8bit(x, "x", node);
  check_8bit(w, "w", node);
  ConvGeometry g = conv_geometry(node, x.shape(), w.shape());
  std::vector<int32_t> x32 = offset_input(x, ctx.has_input(2) ? &ctx.input(2) : nullptr, node);
  std::vector<int32_t> w32 = offset_weights(w, ctx.has_input(3) ? &ctx.input(3) : nullptr, node);
  Tensor& y = ctx.output_uninitialized(0, DType::Int32, g.out_shape());
  conv_int32(x32.data(), w32.data(), nullptr, y.data<int32_t>(), g);
}

void infer_conv_integer(InferenceContext& ctx) {
  ctx.set_output_tensor(0, DType::Int32, infer_conv_shape(ctx.node(), ctx.input_shape(0), ctx.input_shape(1)));
}

void qlinear_conv(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  const Tensor& x_scale = ctx.input(1);
  const Tensor& w = ctx.input(3);
  const Tensor& w_scale = ctx.input(4);
  const Tensor& y_scale = ctx.input(6);
  const Tensor* y_zp = ctx.has_input(7) ? &ctx.input(7) : nullptr;
  const Tensor* bias = ctx.has_input(8) ? &ctx.input(8) : nullptr;
  check_8bit(x, "x", node);
  check_8bit(w, "w", node);
  ConvGeometry g = conv_geometry(node, x.shape(), w.shape());
  if (x_scale.numel() != 1 || y_scale.numel() != 1 || (y_zp && y_zp->numel() != 1))
    fail("{}: x_scale, y_scale and y_zero_point must be scalars", node.label());
  check_per_channel(w_scale, g.out_channels, "w_scale", node);
  if (bias && (bias->dtype() != DType::Int32 || bias->numel() != g.out_channels))
    fail("{}: bias must be int32 with {} elements, got {} of shape {}", node.label(), g.out_channels,
         dtype_name(bias->dtype()), shape_str(bias->shape()));
  DType out = y_zp ? y_zp->dtype() : x.dtype();
  int64_t qmin, qmax;
  if (out != DType::UInt8 && out != DType::Int8) fail("{}: output type {} is not uint8 or int8", node.label(), dtype_name(out));
  quant_int_range(out, qmin, qmax);
  std::vector<int32_t> x32 = offset_input(x, ctx.has_input(2) ? &ctx.input(2) : nullptr, node);
  std::vector<int32_t> w32 = offset_weights(w, ctx.has_input(5) ? &ctx.input(5) : nullptr, node);
  Shape out_shape = g.out_shape();
  std::vector<int32_t> acc(static_cast<size_t>(shape_numel(out_shape)));
  conv_int32(x32.data(), w32.data(), bias ? bias->data<int32_t>() : nullptr, acc.data(), g);
  Tensor& y = ctx.output_uninitialized(0, out, out_shape);
  DType st = x_scale.dtype();
  double xs = x_scale.get_double(0), ys = y_scale.get_double(0);
  double zp = y_zp ? static_cast<double>(y_zp->get_int(0)) : 0.0;
  int64_t plane = shape_numel(g.out_spatial);
  for (size_t i = 0; i < acc.size(); ++i) {
    int64_t m = plane ? (static_cast<int64_t>(i) / plane) % g.out_channels : 0;
    double multiplier = round_to_float_type(st, round_to_float_type(st, xs * w_scale.get_double(per_channel(w_scale, m))) / ys);
    double r = std::nearbyint(std::clamp(static_cast<double>(acc[i]) * multiplier + zp, static_cast<double>(qmin),
                                         static_cast<double>(qmax)));
    if (std::isnan(r)) r = static_cast<double>(qmin);
    store_quantized_int(y, static_cast<int64_t>(i), static_cast<int64_t>(r));
  }
}

void infer_qlinear_conv(InferenceContext& ctx) {
  DType out = ctx.has_input(7) ? ctx.input_dtype(7) : ctx.input_dtype(0);
  ctx.set_output_tensor(0, out, infer_conv_shape(ctx.node(), ctx.input_shape(0), ctx.input_shape(3)));
}

}  // namespace

HONE_REGISTER_OP({.name = "ConvInteger", .since = 10, .infer = infer_conv_integer, .compute = conv_integer});
HONE_REGISTER_OP({.name = "QLinearConv", .since = 10, .infer = infer_qlinear_conv, .compute = qlinear_conv});

}  // namespace hone
