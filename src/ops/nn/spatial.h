// Window geometry shared by the convolution and pooling ops: kernel, strides, dilations and pads read from a node's
// attributes, auto_pad resolved against concrete input sizes, and output sizes (conv floor rule, pool ceil_mode rule).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ops/op_helpers.h"

namespace hone::nn {

// Window attributes of a conv/pool node for `nd` spatial dims. Pads hold begins then ends (ONNX order).
struct WindowAttrs {
  std::vector<int64_t> kernel, strides, dilations, pads;
  std::string auto_pad = "NOTSET";
  bool ceil_mode = false;
};

// Reads kernel_shape (or takes `kernel_from_weights` when the attribute is absent), strides, dilations, pads, auto_pad
// and ceil_mode; validates their lengths and values. Throws naming the node.
WindowAttrs read_window_attrs(const Node& node, size_t nd, const std::vector<int64_t>* kernel_from_weights);

// Effective extent of a dilated kernel.
inline int64_t effective_kernel(int64_t k, int64_t d) { return (k - 1) * d + 1; }

// Pads for concrete input sizes after applying auto_pad (SAME_UPPER / SAME_LOWER / VALID / NOTSET).
std::vector<int64_t> resolve_pads(const WindowAttrs& w, const std::vector<int64_t>& in, const Node& node);

// Convolution output size along one dim: floor((in + pads - ek) / stride) + 1; throws when the window does not fit.
int64_t conv_out_dim(int64_t in, int64_t pad_begin, int64_t pad_end, int64_t k, int64_t stride, int64_t dil,
                     const Node& node);
// Pooling output size along one dim: like conv_out_dim, or the ceil variant (where a last window that would start
// in the end padding is dropped).
int64_t pool_out_dim(int64_t in, int64_t pad_begin, int64_t pad_end, int64_t k, int64_t stride, int64_t dil,
                     bool ceil_mode, const Node& node);

// A 2-D ConvTranspose (or hone.FusedConvTranspose) whose kernel equals its stride, with one group, no padding, no
// dilation, no output_padding and no output_shape, for weights of shape `w` ([C_in, C_out, kh, kw]): each input pixel
// then owns a kh x kw patch of the output. False for anything else (also malformed attributes).
bool is_patch_conv_transpose(const Node& node, const Shape& w);

// Spatial output sizes of a conv (ceil_mode ignored) or pool given concrete input spatial sizes.
std::vector<int64_t> window_out_dims(const WindowAttrs& w, const std::vector<int64_t>& in, const std::vector<int64_t>& pads,
                                     bool pool, const Node& node);

// Symbolic output shape [N, channels, spatial...] for a windowed op: spatial dims that depend on unknown input dims
// stay unknown. `x` is the input's shape (rank >= 3).
SymShape infer_window_shape(const SymShape& x, Dim channels, const WindowAttrs& w, bool pool, const Node& node);

// Shape as product of its dims from `from`.
inline int64_t prod_from(const std::vector<int64_t>& s, size_t from) {
  int64_t p = 1;
  for (size_t i = from; i < s.size(); ++i) p *= s[i];
  return p;
}

}  // namespace hone::nn
