// A direct integer convolution (N-D, groups, strides, dilations, pads, auto_pad) for ConvInteger and QLinearConv.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"

namespace hone {

struct ConvGeometry {
  int64_t batch = 0, in_channels = 0, out_channels = 0, group = 1;
  Shape in_spatial, kernel, out_spatial;
  std::vector<int64_t> strides, dilations, pads_begin;
  Shape out_shape() const;
};

// Reads kernel_shape, strides, dilations, pads, auto_pad and group; throws naming the node on bad attributes or
// shapes that do not convolve.
ConvGeometry conv_geometry(const Node& node, const Shape& x, const Shape& w);
// Output shape for shape inference (dims unknown where an input dim is unknown); nullopt when ranks are unknown.
std::optional<SymShape> infer_conv_shape(const Node& node, const SymShape* x, const SymShape* w);

// y[n, m, ...] = bias[m] + sum over the group's channels and the kernel of x * w, accumulated in int64 and wrapped
// to int32. `bias` may be null. x is [N, C, spatial...], w is [M, C / group, kernel...].
void conv_int32(const int32_t* x, const int32_t* w, const int32_t* bias, int32_t* y, const ConvGeometry& g);

}  // namespace hone
