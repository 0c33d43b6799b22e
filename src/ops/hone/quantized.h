// The runtime's int8 ops: what passes/fuse_qdq.cc makes of a QDQ model's QuantizeLinear / DequantizeLinear pairs
// around convolutions, matrix products and residual additions, so that they run as integer kernels (oneDNN on VNNI)
// with the requantization fused. Never in a model file. Each has a reference kernel (the oracle) that computes what
// the QDQ graph computes, except that a rounding to an intermediate quantized tensor the fusion skipped is skipped
// here too.
//
// Quantized tensors are uint8 or int8 with one scale and zero point each (per tensor); weights are int8, symmetric
// (zero point 0), per tensor or per output channel. Per-tensor parameters are attributes:
//   x_scale, x_zero_point   the quantized input X (real value = (X - x_zero_point) * x_scale)
//   y_type                  ONNX element type of Y: 2 uint8, 3 int8 (quantized), 1 float32 (not quantized)
//   y_scale, y_zero_point   Y = saturate(round_half_even(v / y_scale) + y_zero_point) when quantized
//   post_ops, post_op_params  a chain applied to the real (float) result v before Y is formed, in the vocabulary of
//                           hone.FusedConv (ops/hone/fused_conv.h); its "Add" adds the real value of input Z
//   z_scale, z_zero_point   Z's parameters when Z is uint8 / int8 (a float32 Z is added as is)
//
// hone.QConv      X, W [M, C/group, k...] int8, W_scale (scalar or [M]), B (optional float32 [M], real-valued),
//                 Z (optional; broadcast to Y as Add broadcasts), C (optional float32 [M]: the factors of the chain's
//                 "ChannelMul" post-op, one per output channel); every Conv attribute.
//                 v = conv(X - x_zp, W) * x_scale * W_scale[m] + B[m].
// hone.QMatMul    X [..., K], W [K, N] int8, W_scale (scalar or [N]), B (optional float32 [N]).
//                 v = ((X - x_zp) @ W) * x_scale * W_scale[n] + B[n]; Y is [..., N].
// hone.QAdd       A, B (broadcast as Add does); a_scale, a_zero_point, b_scale, b_zero_point.
//                 v = (A - a_zp) * a_scale + (B - b_zp) * b_scale.
// hone.QMul       A, B (broadcast as Mul does; e.g. a squeeze-excitation gate [N, C, 1, 1]), each uint8 / int8 (with
//                 the parameters of QAdd) or float32 (taken as it is). v = ((A - a_zp) * a_scale) * ((B - b_zp) * b_scale).
// hone.QGlobalAveragePool  X [N, C, spatial...]; x_scale, x_zero_point. Y [N, C, 1...]:
//                 v = (sum of X over the spatial dims - count * x_zp) * x_scale / count (in double, then float32).
// hone.DynamicQMatMul  X float32 [..., K], W [K, N] int8, W_scale (scalar or [N]), B (optional float32 [N]):
//                 ONNX's dynamic quantization fused: X quantized per tensor as DynamicQuantizeLinear does (uint8),
//                 Y = float(MatMulInteger(X_q, W, x_zp)) * (x_scale * W_scale[n]) + B[n], float32.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"
#include "ops/hone/fused_conv.h"

namespace hone {

struct QuantParams {
  float scale = 1.f;
  int32_t zero_point = 0;
};

// The parameters `<prefix>_scale` and `<prefix>_zero_point` of a node; throws naming the node when the scale is
// not a positive finite number.
QuantParams quant_params_attr(const Node& node, const std::string& prefix);

struct QuantizedOutput {
  DType type = DType::Float32;  // UInt8 or Int8 when quantized
  QuantParams params;
  bool quantized() const { return type != DType::Float32; }
};
// y_type, y_scale, y_zero_point (checked: the zero point inside the type's range).
QuantizedOutput quantized_output_attr(const Node& node);

// ONNX QuantizeLinear of one float32 value with a float32 scale: round half to even of v / scale, plus the zero
// point, saturated to [qmin, qmax] (NaN gives qmin, as the reference kernel's conversion does).
int32_t quantize_value(float v, float scale, int32_t zero_point, int32_t qmin, int32_t qmax);
void quant_range(DType type, int32_t& qmin, int32_t& qmax);  // uint8 / int8

// Real values of a uint8 / int8 tensor, (q - zero_point) * scale in float32 (what DequantizeLinear gives), or a
// float32 tensor's values as they are.
std::vector<float> dequantized_values(const Tensor& t, QuantParams p);

// Applies the node's post-op chain to v (real values; `z` the real values of input Z or null; `channel` the factors
// of a ChannelMul post-op or null) and writes Y: quantized as `out` says, or v itself.
void finish_quantized_output(const Node& node, std::vector<float>& v, const float* z, const QuantizedOutput& out,
                             Tensor& y, const ChannelFactors* channel = nullptr);

// The type of Y for shape inference (checks y_type).
DType quantized_output_type(const Node& node);

}  // namespace hone
