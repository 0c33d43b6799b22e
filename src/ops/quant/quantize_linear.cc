// QuantizeLinear, DequantizeLinear (10+: per tensor; 13: per axis; 19: float8, saturate; 21: int4/uint4/int16/uint16,
// block_size, output_dtype; 23: float4e2m1, precision; 25: int2/uint2) and DynamicQuantizeLinear (11), computed
// as ONNX's reference does: the division in the input's float type, round half to even, then saturation.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "core/float8.h"
#include "ops/op_helpers.h"
#include "ops/quant/quant_params.h"

namespace hone {
namespace {

bool is_float8_or_4(DType t) {
  switch (t) {
    case DType::Float8E4M3FN: case DType::Float8E4M3FNUZ: case DType::Float8E5M2: case DType::Float8E5M2FNUZ:
    case DType::Float4E2M1:
      return true;
    default:
      return false;
  }
}

DType quantize_output_type(const Node& node, DType zero_point_type) {
  int64_t code = node.attr_int("output_dtype", 0);
  DType out = DType::UInt8;
  if (code != 0) {
    if (!dtype_is_valid(static_cast<int32_t>(code))) fail("{}: output_dtype {} is not an element type", node.label(), code);
    out = static_cast<DType>(code);
    if (zero_point_type != DType::Undefined && zero_point_type != out)
      fail("{}: output_dtype {} differs from the zero point's type {}", node.label(), dtype_name(out),
           dtype_name(zero_point_type));
  } else if (zero_point_type != DType::Undefined) {
    out = zero_point_type;
  }
  int64_t qmin, qmax;
  if (!quant_int_range(out, qmin, qmax) && !is_float8_or_4(out))
    fail("{}: {} is not a quantized type", node.label(), dtype_name(out));
  return out;
}

// The float type numpy divides x by the scale in: the common type, or `precision` when given.
DType division_type(DType x, DType scale, int64_t precision, const Node& node) {
  if (precision != 0) {
    auto p = static_cast<DType>(precision);
    if (p != DType::Float32 && p != DType::Float16 && p != DType::BFloat16 && p != DType::Float64)
      fail("{}: precision must be a float type, got {}", node.label(), precision);
    return p;
  }
  if (x == scale && x != DType::Int32) return x;
  if (x == DType::Float64 || scale == DType::Float64 || x == DType::Int32 || scale == DType::Int32)
    return DType::Float64;
  return DType::Float32;
}

void check_zero_point_shape(const Tensor& zp, const Tensor& scale, const Node& node) {
  if (zp.shape() != scale.shape() && !(zp.numel() == 1 && scale.numel() == 1))
    fail("{}: zero point shape {} differs from scale shape {}", node.label(), shape_str(zp.shape()), shape_str(scale.shape()));
}

// Float8 and float4 zero points carry no offset: ONNX requires them to be zero.
void check_float_zero_point(const Tensor& zp, const Node& node) {
  for (int64_t i = 0; i < zp.numel(); ++i)
    if (zp.get_double(i) != 0) fail("{}: a {} zero point must be zero", node.label(), dtype_name(zp.dtype()));
}

void quantize_linear(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const Tensor* zp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  DType out = quantize_output_type(node, zp ? zp->dtype() : DType::Undefined);
  QuantParamIndex index(x.shape(), scale.shape(), node.attr_int("axis", 1), node.attr_int("block_size", 0), node);
  if (zp) check_zero_point_shape(*zp, scale, node);
  if (zp && is_float8_or_4(out)) check_float_zero_point(*zp, node);
  DType ct = division_type(x.dtype(), scale.dtype(), node.attr_int("precision", 0), node);
  bool saturate = node.attr_int("saturate", 1) != 0;
  int64_t qmin = 0, qmax = 0;
  bool integer = quant_int_range(out, qmin, qmax);
  Tensor& y = ctx.output_uninitialized(0, out, x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t p = index(i);
    double q = round_to_float_type(ct, round_to_float_type(ct, x.get_double(i)) / round_to_float_type(ct, scale.get_double(p)));
    if (integer) {
      double r = std::nearbyint(q);  // round half to even
      // numpy's astype(int32): nan becomes INT32_MIN; finite values saturate here rather than wrap.
      int64_t v = std::isnan(r) ? INT32_MIN : static_cast<int64_t>(std::clamp(r, -2147483648.0, 2147483647.0));
      if (zp) v += zp->get_int(p);
      store_quantized_int(y, i, std::clamp(v, qmin, qmax));
    } else {
      y.data<uint8_t>()[i] = double_to_float8(out, q, saturate);
    }
  }
}

void infer_quantize_linear(InferenceContext& ctx) {
  DType zp = ctx.has_input(2) ? ctx.input_dtype(2) : DType::Undefined;
  const SymShape* s = ctx.input_shape(0);
  ctx.set_output_tensor(0, quantize_output_type(ctx.node(), zp), s ? std::optional<SymShape>(*s) : std::nullopt);
}

DType dequantize_output_type(const Node& node, DType scale_type) {
  int64_t code = node.attr_int("output_dtype", 0);
  DType out = code != 0 ? static_cast<DType>(code) : scale_type;
  if (code != 0 && !dtype_is_valid(static_cast<int32_t>(code)))
    fail("{}: output_dtype {} is not an element type", node.label(), code);
  if (out != DType::Float32 && out != DType::Float16 && out != DType::BFloat16 && out != DType::Float64)
    fail("{}: output type {} is not float, float16, bfloat16 or double", node.label(), dtype_name(out));
  return out;
}

void dequantize_linear(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const Tensor* zp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  DType out = dequantize_output_type(node, scale.dtype());
  QuantParamIndex index(x.shape(), scale.shape(), node.attr_int("axis", 1), node.attr_int("block_size", 0), node);
  bool integer = is_integer(x.dtype());
  if (!integer && !is_float8_or_4(x.dtype()))
    fail("{}: input type {} is not a quantized type", node.label(), dtype_name(x.dtype()));
  if (zp) {
    check_zero_point_shape(*zp, scale, node);
    if (integer && zp->dtype() != x.dtype())
      fail("{}: zero point type {} differs from input type {}", node.label(), dtype_name(zp->dtype()), dtype_name(x.dtype()));
    if (!integer) check_float_zero_point(*zp, node);
  }
  // numpy: float32(x) - zero point, times the scale, in float32 (float64 for int32 inputs or double scales).
  bool wide = x.dtype() == DType::Int32 || x.dtype() == DType::UInt32 || scale.dtype() == DType::Float64;
  Tensor& y = ctx.output_uninitialized(0, out, x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t p = index(i);
    double dx = integer ? static_cast<double>(x.get_int(i) - (zp ? zp->get_int(p) : 0)) : x.get_double(i);
    double s = scale.get_double(p);
    double v = wide ? dx * s : static_cast<double>(static_cast<float>(dx) * static_cast<float>(s));
    y.set_double(i, v);
  }
}

void infer_dequantize_linear(InferenceContext& ctx) {
  const SymShape* s = ctx.input_shape(0);
  ctx.set_output_tensor(0, dequantize_output_type(ctx.node(), ctx.input_dtype(1)), s ? std::optional<SymShape>(*s) : std::nullopt);
}

// y_scale = (max(0, max x) - min(0, min x)) / 255, zero point = rint(clamp(-min / scale, 0, 255)), all in float32.
void dynamic_quantize_linear(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::Float32) fail("{}: input must be float, got {}", ctx.node().label(), dtype_name(x.dtype()));
  const float* px = x.data<float>();
  float maxx = 0, minx = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    maxx = std::max(maxx, px[i]);
    minx = std::min(minx, px[i]);
  }
  float scale = maxx == minx ? 1.0f : (maxx - minx) / 255.0f;
  float zp = std::nearbyint(std::clamp(0.0f - minx / scale, 0.0f, 255.0f));
  Tensor& y = ctx.output_uninitialized(0, DType::UInt8, x.shape());
  uint8_t* py = y.data<uint8_t>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    float v = std::nearbyint(px[i] / scale) + zp;
    py[i] = static_cast<uint8_t>(std::isnan(v) ? 0.0f : std::clamp(v, 0.0f, 255.0f));
  }
  if (ctx.wants_output(1)) ctx.output_uninitialized(1, DType::Float32, {}).data<float>()[0] = scale;
  if (ctx.wants_output(2)) ctx.output_uninitialized(2, DType::UInt8, {}).data<uint8_t>()[0] = static_cast<uint8_t>(zp);
}

void infer_dynamic_quantize_linear(InferenceContext& ctx) {
  const SymShape* s = ctx.input_shape(0);
  ctx.set_output_tensor(0, DType::UInt8, s ? std::optional<SymShape>(*s) : std::nullopt);
  ctx.set_output_tensor(1, DType::Float32, SymShape{});
  ctx.set_output_tensor(2, DType::UInt8, SymShape{});
}

}  // namespace

HONE_REGISTER_OP({.name = "QuantizeLinear", .since = 10, .infer = infer_quantize_linear, .compute = quantize_linear});
HONE_REGISTER_OP({.name = "DequantizeLinear", .since = 10, .infer = infer_dequantize_linear, .compute = dequantize_linear});
HONE_REGISTER_OP({.name = "DynamicQuantizeLinear", .since = 11, .infer = infer_dynamic_quantize_linear,
                  .compute = dynamic_quantize_linear});

}  // namespace hone
