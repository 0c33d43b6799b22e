// Where a quantized element finds its scale and zero point: per tensor (one value), per axis (a 1-D tensor along
// `axis`) or blocked (the input's shape with dimension `axis` divided into blocks of `block_size`).
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "ir/graph.h"

namespace hone {

class QuantParamIndex {
 public:
  // Validates `param_shape` against `x_shape` (throws naming the node).
  QuantParamIndex(const Shape& x_shape, const Shape& param_shape, int64_t axis, int64_t block_size, const Node& node);
  // Offset into the scale / zero point for element i of x (row-major).
  int64_t operator()(int64_t i) const {
    switch (mode_) {
      case Mode::PerTensor: return 0;
      case Mode::PerAxis: return (i / inner_) % axis_dim_;
      case Mode::Blocked: {
        int64_t outer = i / (axis_dim_ * inner_);
        int64_t a = (i / inner_) % axis_dim_;
        return (outer * param_axis_dim_ + a / block_) * inner_ + i % inner_;
      }
    }
    return 0;
  }

 private:
  enum class Mode { PerTensor, PerAxis, Blocked } mode_ = Mode::PerTensor;
  int64_t inner_ = 1, axis_dim_ = 1, param_axis_dim_ = 1, block_ = 1;
};

// Quantized integer ranges: [qmin, qmax] of uint8, int8, uint16, int16, uint4, int4, uint2, int2; false for others.
bool quant_int_range(DType t, int64_t& qmin, int64_t& qmax);

// Rounds v to the precision of float type t (float16/bfloat16 via float, as numpy computes them), as a double.
double round_to_float_type(DType t, double v);

// Stores an integer already inside t's range into element i of a uint8/int8/uint16/int16/4-bit/2-bit tensor.
void store_quantized_int(Tensor& y, int64_t i, int64_t v);

}  // namespace hone
