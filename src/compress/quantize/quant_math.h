// The arithmetic of int8 quantization as `hone quantize` writes it (Contract 1 of issue 5): activation scales and
// zero points from a calibrated range, symmetric int8 weights (per tensor or per output channel), int32 biases.
#pragma once
#include <cstdint>
#include <vector>

#include "compress/quantize/calibration.h"
#include "core/tensor.h"

namespace hone::quant {

// An activation's QuantizeLinear / DequantizeLinear parameters.
struct ActivationParams {
  float scale = 1;
  int32_t zero_point = 0;
  DType type = DType::UInt8;  // UInt8 (asymmetric) or Int8 (symmetric, zero point 0)
};

// Asymmetric uint8: the range (widened to hold 0) maps onto [0, 255], scale = (hi - lo) / 255, zero point
// round(-lo / scale). Symmetric int8: scale = max(|lo|, |hi|) / 127, zero point 0. An empty range (or one so small
// that its scale is not a normal float) gets scale 1.
ActivationParams activation_params(const Range& r, bool symmetric);

// A weight quantized to symmetric int8 in [-127, 127]: q = round_half_even(w / scale) with scale = max|w| / 127 over
// the whole tensor (axis < 0) or over each slice along `axis` (a slice of zeros gets scale 1).
struct QuantizedWeight {
  Tensor q;           // int8, w's shape
  Tensor scale;       // float32: a scalar, or [w.dim(axis)]
  Tensor zero_point;  // int8 zeros, scale's shape
  int64_t axis = -1;  // -1: per tensor
};
// `min_scale` (optional: one value, or one per channel along `axis`): a floor under each scale, so that an int32
// bias with scale x_scale * w_scale holds the bias (weight scales with tiny weights and a large bias would overflow).
// `mse_clip`: each scale (per tensor or per channel) is max|w| * r / 127 with the clip ratio r in [0.5, 1] (steps of
// 0.01) that minimizes the squared error of that slice's quantized weights (rounding inside, clipping beyond), instead
// of r = 1; a few large weights then cost less than the rounding of all the others.
QuantizedWeight quantize_weight(const Tensor& w, int64_t axis, const std::vector<float>* min_scale = nullptr,
                                bool mse_clip = false);

// A bias quantized to int32 with scale x_scale * w_scale[k] (w_scale: a scalar or one value per element of b),
// zero point 0: q = round_half_even(b / scale), clamped to int32 (`clamped` counts the elements that were).
struct QuantizedBias {
  Tensor q;           // int32 [n]
  Tensor scale;       // float32: a scalar when w_scale is one, else [n]
  Tensor zero_point;  // int32 zeros, scale's shape
  int64_t clamped = 0;
};
QuantizedBias quantize_bias(const Tensor& b, float x_scale, const Tensor& w_scale);

}  // namespace hone::quant
