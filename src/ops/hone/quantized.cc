#include "ops/hone/quantized.h"

#include <algorithm>
#include <cmath>

#include "ops/hone/fused_conv.h"
#include "ops/op_helpers.h"

namespace hone {

QuantParams quant_params_attr(const Node& node, const std::string& prefix) {
  QuantParams p;
  p.scale = node.attr_float(prefix + "_scale", 1.f);
  p.zero_point = static_cast<int32_t>(node.attr_int(prefix + "_zero_point", 0));
  if (!(p.scale > 0.f) || !std::isfinite(p.scale))
    fail("{}: {}_scale must be a positive finite number, got {}", node.label(), prefix, p.scale);
  return p;
}

void quant_range(DType type, int32_t& qmin, int32_t& qmax) {
  if (type == DType::UInt8) qmin = 0, qmax = 255;
  else if (type == DType::Int8) qmin = -128, qmax = 127;
  else fail("{} is not a quantized activation type (uint8 or int8)", dtype_name(type));
}

DType quantized_output_type(const Node& node) {
  int64_t code = node.attr_int("y_type", 1);
  if (code != static_cast<int64_t>(DType::Float32) && code != static_cast<int64_t>(DType::UInt8) &&
      code != static_cast<int64_t>(DType::Int8))
    fail("{}: y_type must be 1 (float32), 2 (uint8) or 3 (int8), got {}", node.label(), code);
  return static_cast<DType>(code);
}

QuantizedOutput quantized_output_attr(const Node& node) {
  QuantizedOutput o;
  o.type = quantized_output_type(node);
  if (o.quantized()) {
    o.params = quant_params_attr(node, "y");
    int32_t qmin, qmax;
    quant_range(o.type, qmin, qmax);
    if (o.params.zero_point < qmin || o.params.zero_point > qmax)
      fail("{}: y_zero_point {} is outside the range of {}", node.label(), o.params.zero_point, dtype_name(o.type));
  }
  return o;
}

int32_t quantize_value(float v, float scale, int32_t zero_point, int32_t qmin, int32_t qmax) {
  float r = std::nearbyint(v / scale);
  if (std::isnan(r)) return qmin;
  double q = static_cast<double>(r) + zero_point;
  return static_cast<int32_t>(std::clamp(q, static_cast<double>(qmin), static_cast<double>(qmax)));
}

std::vector<float> dequantized_values(const Tensor& t, QuantParams p) {
  std::vector<float> v(static_cast<size_t>(t.numel()));
  if (t.dtype() == DType::Float32) {
    std::copy(t.data<float>(), t.data<float>() + t.numel(), v.begin());
  } else if (t.dtype() == DType::UInt8 || t.dtype() == DType::Int8) {
    for (int64_t i = 0; i < t.numel(); ++i)
      v[static_cast<size_t>(i)] = static_cast<float>(t.get_int(i) - p.zero_point) * p.scale;
  } else {
    fail("expected a uint8, int8 or float32 tensor, got {}", dtype_name(t.dtype()));
  }
  return v;
}

void finish_quantized_output(const Node& node, std::vector<float>& v, const float* z, const QuantizedOutput& out,
                             Tensor& y, const ChannelFactors* channel) {
  std::vector<std::string> ops = node.attr_strings("post_ops");
  std::vector<float> params = node.attr_floats("post_op_params");
  check_post_ops(node.label(), ops, params, z != nullptr, channel != nullptr);
  apply_post_ops(ops, params, v.data(), z, static_cast<int64_t>(v.size()), channel);
  if (!out.quantized()) {
    std::copy(v.begin(), v.end(), y.data<float>());
    return;
  }
  int32_t qmin, qmax;
  quant_range(out.type, qmin, qmax);
  for (size_t i = 0; i < v.size(); ++i) {
    int32_t q = quantize_value(v[i], out.params.scale, out.params.zero_point, qmin, qmax);
    if (out.type == DType::UInt8) y.data<uint8_t>()[i] = static_cast<uint8_t>(q);
    else y.data<int8_t>()[i] = static_cast<int8_t>(q);
  }
}

}  // namespace hone
