#include "ops/nn/spatial.h"

namespace hone::nn {

WindowAttrs read_window_attrs(const Node& node, size_t nd, const std::vector<int64_t>* kernel_from_weights) {
  WindowAttrs w;
  if (node.has_attr("kernel_shape")) w.kernel = node.attr_ints("kernel_shape");
  else if (kernel_from_weights) w.kernel = *kernel_from_weights;
  else fail("{}: attribute kernel_shape is required", node.label());
  if (w.kernel.size() != nd)
    fail("{}: kernel_shape has {} values for {} spatial dims", node.label(), w.kernel.size(), nd);
  w.strides = node.attr_ints("strides", std::vector<int64_t>(nd, 1));
  w.dilations = node.attr_ints("dilations", std::vector<int64_t>(nd, 1));
  w.pads = node.attr_ints("pads", std::vector<int64_t>(2 * nd, 0));
  if (w.strides.empty()) w.strides.assign(nd, 1);
  if (w.dilations.empty()) w.dilations.assign(nd, 1);
  if (w.pads.empty()) w.pads.assign(2 * nd, 0);
  if (w.strides.size() != nd || w.dilations.size() != nd || w.pads.size() != 2 * nd)
    fail("{}: strides/dilations/pads lengths ({}, {}, {}) do not match {} spatial dims", node.label(), w.strides.size(),
         w.dilations.size(), w.pads.size(), nd);
  for (size_t i = 0; i < nd; ++i) {
    if (w.kernel[i] < 1) fail("{}: kernel_shape values must be positive", node.label());
    if (w.strides[i] < 1) fail("{}: strides must be positive", node.label());
    if (w.dilations[i] < 1) fail("{}: dilations must be positive", node.label());
  }
  for (int64_t p : w.pads)
    if (p < 0) fail("{}: pads must be non-negative", node.label());
  w.auto_pad = node.attr_string("auto_pad", "NOTSET");
  if (w.auto_pad.empty()) w.auto_pad = "NOTSET";
  if (w.auto_pad != "NOTSET" && w.auto_pad != "SAME_UPPER" && w.auto_pad != "SAME_LOWER" && w.auto_pad != "VALID")
    fail("{}: unknown auto_pad '{}'", node.label(), w.auto_pad);
  w.ceil_mode = node.attr_int("ceil_mode", 0) != 0;
  return w;
}

std::vector<int64_t> resolve_pads(const WindowAttrs& w, const std::vector<int64_t>& in, const Node& node) {
  size_t nd = w.kernel.size();
  if (w.auto_pad == "NOTSET") return w.pads;
  std::vector<int64_t> pads(2 * nd, 0);
  if (w.auto_pad == "VALID") return pads;
  for (size_t i = 0; i < nd; ++i) {
    int64_t out = (in[i] + w.strides[i] - 1) / w.strides[i];
    int64_t total = std::max<int64_t>(0, (out - 1) * w.strides[i] + effective_kernel(w.kernel[i], w.dilations[i]) - in[i]);
    int64_t small = total / 2;
    if (w.auto_pad == "SAME_UPPER") {
      pads[i] = small;
      pads[nd + i] = total - small;
    } else {
      pads[i] = total - small;
      pads[nd + i] = small;
    }
  }
  return pads;
}

int64_t conv_out_dim(int64_t in, int64_t pb, int64_t pe, int64_t k, int64_t stride, int64_t dil, const Node& node) {
  int64_t span = in + pb + pe - effective_kernel(k, dil);
  if (span < 0)
    fail("{}: window of extent {} does not fit input size {} with pads {}+{}", node.label(), effective_kernel(k, dil), in,
         pb, pe);
  return span / stride + 1;
}

int64_t pool_out_dim(int64_t in, int64_t pb, int64_t pe, int64_t k, int64_t stride, int64_t dil, bool ceil_mode,
                     const Node& node) {
  if (!ceil_mode) return conv_out_dim(in, pb, pe, k, stride, dil, node);
  int64_t span = in + pb + pe - effective_kernel(k, dil);
  if (span < 0)
    fail("{}: window of extent {} does not fit input size {} with pads {}+{}", node.label(), effective_kernel(k, dil), in,
         pb, pe);
  int64_t out = (span + stride - 1) / stride + 1;
  if ((out - 1) * stride >= in + pb) --out;  // the last window would start in the end padding
  return out;
}

std::vector<int64_t> window_out_dims(const WindowAttrs& w, const std::vector<int64_t>& in, const std::vector<int64_t>& pads,
                                     bool pool, const Node& node) {
  size_t nd = w.kernel.size();
  std::vector<int64_t> out(nd);
  for (size_t i = 0; i < nd; ++i) {
    bool ceil = pool && w.ceil_mode && w.auto_pad != "SAME_UPPER" && w.auto_pad != "SAME_LOWER";
    out[i] = pool_out_dim(in[i], pads[i], pads[nd + i], w.kernel[i], w.strides[i], w.dilations[i], ceil, node);
  }
  return out;
}

SymShape infer_window_shape(const SymShape& x, Dim channels, const WindowAttrs& w, bool pool, const Node& node) {
  size_t nd = w.kernel.size();
  SymShape out(2 + nd);
  out[0] = x[0];
  out[1] = channels;
  std::vector<int64_t> in(nd);
  for (size_t i = 0; i < nd; ++i) {
    in[i] = x[2 + i].value;
  }
  if (w.auto_pad == "SAME_UPPER" || w.auto_pad == "SAME_LOWER") {
    // Output is ceil(in / stride) per dim, whatever the other dims are.
    for (size_t i = 0; i < nd; ++i)
      if (x[2 + i].known()) out[2 + i] = Dim((in[i] + w.strides[i] - 1) / w.strides[i]);
    return out;
  }
  std::vector<int64_t> pads = w.auto_pad == "VALID" ? std::vector<int64_t>(2 * nd, 0) : w.pads;
  for (size_t i = 0; i < nd; ++i) {
    if (!x[2 + i].known()) continue;
    bool ceil = pool && w.ceil_mode;
    out[2 + i] = Dim(pool_out_dim(in[i], pads[i], pads[nd + i], w.kernel[i], w.strides[i], w.dilations[i], ceil, node));
  }
  return out;
}

bool is_patch_conv_transpose(const Node& node, const Shape& w) {
  if (w.size() != 4 || node.attr_int("group", 1) != 1 || node.has_attr("output_shape")) return false;
  std::vector<int64_t> wk = {w[2], w[3]};
  try {
    WindowAttrs wa = read_window_attrs(node, 2, &wk);
    if (wa.kernel != wk || wa.strides != wk || wa.dilations != std::vector<int64_t>{1, 1}) return false;
    if (wa.auto_pad != "VALID" && (wa.auto_pad != "NOTSET" || wa.pads != std::vector<int64_t>(4, 0))) return false;
    for (int64_t p : node.attr_ints("output_padding", {}))
      if (p != 0) return false;
  } catch (const Error&) {
    return false;
  }
  return true;
}

}  // namespace hone::nn
