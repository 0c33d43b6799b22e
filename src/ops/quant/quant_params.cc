#include "ops/quant/quant_params.h"

#include "core/half.h"
#include "ops/op_helpers.h"

namespace hone {

QuantParamIndex::QuantParamIndex(const Shape& x_shape, const Shape& param_shape, int64_t axis, int64_t block_size,
                                 const Node& node) {
  int64_t n = shape_numel(param_shape);
  auto rank = static_cast<int64_t>(x_shape.size());
  if (block_size < 0) fail("{}: block_size must not be negative, got {}", node.label(), block_size);
  if (block_size == 0) {
    if (n == 1 && param_shape.size() <= 1) return;  // per tensor (a [1] tensor counts as a scalar)
    if (param_shape.size() != 1)
      fail("{}: scale must be a scalar or a 1-D tensor without block_size, got shape {}", node.label(), shape_str(param_shape));
    int64_t ax = normalize_axis(axis, rank, node);
    if (param_shape[0] != x_shape[static_cast<size_t>(ax)])
      fail("{}: per-axis scale has {} elements but input dimension {} is {}", node.label(), param_shape[0], ax,
           x_shape[static_cast<size_t>(ax)]);
    mode_ = Mode::PerAxis;
    axis_dim_ = x_shape[static_cast<size_t>(ax)];
    for (int64_t d = ax + 1; d < rank; ++d) inner_ *= x_shape[static_cast<size_t>(d)];
    return;
  }
  int64_t ax = normalize_axis(axis, rank, node);
  if (static_cast<int64_t>(param_shape.size()) != rank)
    fail("{}: blocked scale must have the input's rank {}, got shape {}", node.label(), rank, shape_str(param_shape));
  for (int64_t d = 0; d < rank; ++d) {
    int64_t xd = x_shape[static_cast<size_t>(d)], pd = param_shape[static_cast<size_t>(d)];
    int64_t want = d == ax ? (xd + block_size - 1) / block_size : xd;
    if (pd != want)
      fail("{}: blocked scale shape {} does not match input shape {} with block_size {} on axis {}", node.label(),
           shape_str(param_shape), shape_str(x_shape), block_size, ax);
  }
  mode_ = Mode::Blocked;
  axis_dim_ = x_shape[static_cast<size_t>(ax)];
  param_axis_dim_ = param_shape[static_cast<size_t>(ax)];
  block_ = block_size;
  for (int64_t d = ax + 1; d < rank; ++d) inner_ *= x_shape[static_cast<size_t>(d)];
}

bool quant_int_range(DType t, int64_t& qmin, int64_t& qmax) {
  switch (t) {
    case DType::UInt8: qmin = 0, qmax = 255; return true;
    case DType::Int8: qmin = -128, qmax = 127; return true;
    case DType::UInt16: qmin = 0, qmax = 65535; return true;
    case DType::Int16: qmin = -32768, qmax = 32767; return true;
    case DType::UInt4: qmin = 0, qmax = 15; return true;
    case DType::Int4: qmin = -8, qmax = 7; return true;
    case DType::UInt2: qmin = 0, qmax = 3; return true;
    case DType::Int2: qmin = -2, qmax = 1; return true;
    default: return false;
  }
}

double round_to_float_type(DType t, double v) {
  switch (t) {
    case DType::Float32: return static_cast<float>(v);
    case DType::Float16: return static_cast<float>(Float16(static_cast<float>(v)));
    case DType::BFloat16: return static_cast<float>(BFloat16(static_cast<float>(v)));
    default: return v;
  }
}

void store_quantized_int(Tensor& y, int64_t i, int64_t v) {
  switch (y.dtype()) {
    case DType::UInt8: case DType::UInt4: case DType::UInt2: y.data<uint8_t>()[i] = static_cast<uint8_t>(v); break;
    case DType::Int8: case DType::Int4: case DType::Int2: y.data<int8_t>()[i] = static_cast<int8_t>(v); break;
    case DType::UInt16: y.data<uint16_t>()[i] = static_cast<uint16_t>(v); break;
    case DType::Int16: y.data<int16_t>()[i] = static_cast<int16_t>(v); break;
    default: fail("{} is not a quantized integer type", dtype_name(y.dtype()));
  }
}

}  // namespace hone
