#include "ops/quant/conv_int.h"

#include <string>

#include "ops/op_helpers.h"

namespace hone {
namespace {

struct ConvAttrs {
  std::string auto_pad;
  std::vector<int64_t> kernel, strides, dilations, pads;  // pads: begins then ends; empty kernel = from w
  int64_t group;
};

ConvAttrs conv_attrs(const Node& node, size_t nd) {
  ConvAttrs a;
  a.auto_pad = node.attr_string("auto_pad", "NOTSET");
  if (a.auto_pad != "NOTSET" && a.auto_pad != "VALID" && a.auto_pad != "SAME_UPPER" && a.auto_pad != "SAME_LOWER")
    fail("{}: unknown auto_pad '{}'", node.label(), a.auto_pad);
  a.kernel = node.attr_ints("kernel_shape");
  a.strides = node.attr_ints("strides", std::vector<int64_t>(nd, 1));
  a.dilations = node.attr_ints("dilations", std::vector<int64_t>(nd, 1));
  a.pads = node.attr_ints("pads", std::vector<int64_t>(2 * nd, 0));
  a.group = node.attr_int("group", 1);
  if (!a.kernel.empty() && a.kernel.size() != nd) fail("{}: kernel_shape must have {} values", node.label(), nd);
  if (a.strides.size() != nd) fail("{}: strides must have {} values", node.label(), nd);
  if (a.dilations.size() != nd) fail("{}: dilations must have {} values", node.label(), nd);
  if (a.pads.size() != 2 * nd) fail("{}: pads must have {} values", node.label(), 2 * nd);
  for (size_t d = 0; d < nd; ++d) {
    if (a.strides[d] <= 0 || a.dilations[d] <= 0) fail("{}: strides and dilations must be positive", node.label());
    if (a.pads[d] < 0 || a.pads[nd + d] < 0) fail("{}: pads must not be negative", node.label());
    if (!a.kernel.empty() && a.kernel[d] <= 0) fail("{}: kernel_shape must be positive", node.label());
  }
  if (a.group <= 0) fail("{}: group must be positive, got {}", node.label(), a.group);
  return a;
}

// Output size of one spatial dimension; sets the padding at its beginning.
int64_t conv_out_dim(const Node& node, const ConvAttrs& a, size_t d, size_t nd, int64_t in, int64_t k, int64_t& pad_begin) {
  int64_t s = a.strides[d], eff = (k - 1) * a.dilations[d] + 1;
  if (a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER") {
    int64_t out = (in + s - 1) / s;
    int64_t total = std::max<int64_t>(0, (out - 1) * s + eff - in);
    pad_begin = a.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    return out;
  }
  int64_t pb = a.auto_pad == "VALID" ? 0 : a.pads[d], pe = a.auto_pad == "VALID" ? 0 : a.pads[nd + d];
  pad_begin = pb;
  if (in + pb + pe < eff)
    fail("{}: kernel extent {} exceeds padded input size {} in spatial dimension {}", node.label(), eff, in + pb + pe, d);
  return (in + pb + pe - eff) / s + 1;
}

}  // namespace

Shape ConvGeometry::out_shape() const {
  Shape s = {batch, out_channels};
  s.insert(s.end(), out_spatial.begin(), out_spatial.end());
  return s;
}

ConvGeometry conv_geometry(const Node& node, const Shape& x, const Shape& w) {
  if (x.size() < 3) fail("{}: input must have rank >= 3, got shape {}", node.label(), shape_str(x));
  if (w.size() != x.size())
    fail("{}: weight shape {} does not match input shape {}", node.label(), shape_str(w), shape_str(x));
  size_t nd = x.size() - 2;
  ConvAttrs a = conv_attrs(node, nd);
  ConvGeometry g;
  g.batch = x[0];
  g.in_channels = x[1];
  g.out_channels = w[0];
  g.group = a.group;
  if (g.in_channels != w[1] * g.group)
    fail("{}: input has {} channels but weight shape {} with group {} expects {}", node.label(), g.in_channels,
         shape_str(w), g.group, w[1] * g.group);
  if (g.out_channels % g.group != 0)
    fail("{}: {} output channels are not divisible by group {}", node.label(), g.out_channels, g.group);
  g.in_spatial.assign(x.begin() + 2, x.end());
  g.kernel.assign(w.begin() + 2, w.end());
  if (!a.kernel.empty() && a.kernel != g.kernel)
    fail("{}: kernel_shape does not match weight shape {}", node.label(), shape_str(w));
  g.strides = a.strides;
  g.dilations = a.dilations;
  g.pads_begin.resize(nd);
  for (size_t d = 0; d < nd; ++d)
    g.out_spatial.push_back(conv_out_dim(node, a, d, nd, g.in_spatial[d], g.kernel[d], g.pads_begin[d]));
  return g;
}

std::optional<SymShape> infer_conv_shape(const Node& node, const SymShape* x, const SymShape* w) {
  if (!x || x->size() < 3) return std::nullopt;
  size_t nd = x->size() - 2;
  ConvAttrs a = conv_attrs(node, nd);
  SymShape out = {(*x)[0], w && w->size() == x->size() ? (*w)[0] : Dim()};
  for (size_t d = 0; d < nd; ++d) {
    int64_t k = !a.kernel.empty() ? a.kernel[d] : (w && w->size() == x->size() && (*w)[d + 2].known() ? (*w)[d + 2].value : -1);
    const Dim& in = (*x)[d + 2];
    int64_t pad_begin;
    if (in.known() && k > 0) out.push_back(Dim(conv_out_dim(node, a, d, nd, in.value, k, pad_begin)));
    else out.push_back(Dim());
  }
  return out;
}

void conv_int32(const int32_t* x, const int32_t* w, const int32_t* bias, int32_t* y, const ConvGeometry& g) {
  size_t nd = g.in_spatial.size();
  int64_t in_size = shape_numel(g.in_spatial), out_size = shape_numel(g.out_spatial), k_size = shape_numel(g.kernel);
  int64_t cg = g.in_channels / g.group, mg = g.out_channels / g.group;
  // For every (output position, kernel position): the input position it reads, or -1 where that falls in padding.
  std::vector<int64_t> in_strides = strides_of(g.in_spatial);
  std::vector<int64_t> taps(static_cast<size_t>(out_size * k_size));
  std::vector<int64_t> o(nd, 0);
  for (int64_t oi = 0; oi < out_size; ++oi) {
    std::vector<int64_t> k(nd, 0);
    for (int64_t ki = 0; ki < k_size; ++ki) {
      int64_t off = 0;
      for (size_t d = 0; d < nd && off >= 0; ++d) {
        int64_t p = o[d] * g.strides[d] - g.pads_begin[d] + k[d] * g.dilations[d];
        off = p < 0 || p >= g.in_spatial[d] ? -1 : off + p * in_strides[d];
      }
      taps[static_cast<size_t>(oi * k_size + ki)] = off;
      for (size_t d = nd; d-- > 0;) {
        if (++k[d] < g.kernel[d]) break;
        k[d] = 0;
      }
    }
    for (size_t d = nd; d-- > 0;) {
      if (++o[d] < g.out_spatial[d]) break;
      o[d] = 0;
    }
  }
  for (int64_t n = 0; n < g.batch; ++n) {
    for (int64_t m = 0; m < g.out_channels; ++m) {
      int64_t first_c = (m / mg) * cg;
      int32_t* py = y + (n * g.out_channels + m) * out_size;
      for (int64_t oi = 0; oi < out_size; ++oi) {
        int64_t acc = bias ? bias[m] : 0;
        const int64_t* t = &taps[static_cast<size_t>(oi * k_size)];
        for (int64_t c = 0; c < cg; ++c) {
          const int32_t* px = x + (n * g.in_channels + first_c + c) * in_size;
          const int32_t* pw = w + (m * cg + c) * k_size;
          for (int64_t ki = 0; ki < k_size; ++ki)
            if (t[ki] >= 0) acc += static_cast<int64_t>(px[t[ki]]) * pw[ki];
        }
        py[oi] = static_cast<int32_t>(acc);
      }
    }
  }
}

}  // namespace hone
