// Pad (constant / reflect / edge / wrap; negative pads crop) and CenterCropPad (crop or zero-pad to a centered
// window).
#include "ops/tensor/tensor_util.h"

namespace hone {
namespace {

enum class PadMode { Constant, Reflect, Edge, Wrap };

PadMode pad_mode(const Node& n) {
  std::string m = n.attr_string("mode", "constant");
  if (m == "constant") return PadMode::Constant;
  if (m == "reflect") return PadMode::Reflect;
  if (m == "edge") return PadMode::Edge;
  if (m == "wrap") return PadMode::Wrap;
  fail("{}: unknown pad mode '{}'", n.label(), m);
}

// Full per-axis pads [begin_0..begin_{r-1}, end_0..end_{r-1}] from pads given for `axes`.
std::vector<int64_t> expand_pads(const std::vector<int64_t>& pads, const std::optional<std::vector<int64_t>>& axes,
                                 int64_t rank, const Node& n) {
  if (!axes) {
    if (static_cast<int64_t>(pads.size()) != 2 * rank)
      fail("{}: pads has {} entries for rank {}", n.label(), pads.size(), rank);
    return pads;
  }
  std::vector<int64_t> ax = normalize_axes(*axes, rank, n);
  if (pads.size() != 2 * ax.size()) fail("{}: pads has {} entries for {} axes", n.label(), pads.size(), ax.size());
  std::vector<int64_t> full(static_cast<size_t>(2 * rank), 0);
  for (size_t i = 0; i < ax.size(); ++i) {
    full[static_cast<size_t>(ax[i])] = pads[i];
    full[static_cast<size_t>(ax[i] + rank)] = pads[i + ax.size()];
  }
  return full;
}

// Maps coordinate c of the padded axis (with the cropped input window [lo, lo + len)) to an input coordinate, or
// -1 for a constant-filled position.
int64_t source_coord(int64_t c, int64_t lo, int64_t len, PadMode mode) {
  if (c >= 0 && c < len) return lo + c;
  switch (mode) {
    case PadMode::Constant: return -1;
    case PadMode::Edge: return lo + (c < 0 ? 0 : len - 1);
    case PadMode::Wrap: return lo + ((c % len) + len) % len;
    case PadMode::Reflect: {
      if (len == 1) return lo;
      int64_t period = 2 * (len - 1);
      int64_t m = ((c % period) + period) % period;
      return lo + (m < len ? m : period - m);
    }
  }
  return -1;
}

void pad(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Node& n = ctx.node();
  int64_t rank = x.rank();
  PadMode mode = pad_mode(n);
  std::vector<int64_t> pads;
  std::optional<std::vector<int64_t>> axes;
  Tensor fill(x.dtype(), {});
  if (ctx.opset() < 11) {
    pads = n.attr_ints(ctx.opset() < 2 ? "paddings" : "pads");
    if (x.dtype() != DType::String) fill.set_double(0, n.attr_float("value", 0.0f));
  } else {
    pads = input_ints(ctx, 1, "pads");
    if (ctx.has_input(2) && ctx.input(2).numel() > 0) {
      const Tensor& v = ctx.input(2);
      if (v.dtype() != x.dtype()) fail("{}: constant_value type {} differs from data type {}", n.label(), dtype_name(v.dtype()), dtype_name(x.dtype()));
      copy_elements(v, 0, fill, 0, 1);
    }
    if (ctx.opset() >= 18 && ctx.has_input(3)) axes = input_ints(ctx, 3, "axes");
  }
  pads = expand_pads(pads, axes, rank, n);
  for (int64_t p : pads)
    if (p > kMaxTensorElements || p < -kMaxTensorElements) fail("{}: pad {} is out of range", n.label(), p);
  Shape out(static_cast<size_t>(rank));
  std::vector<int64_t> lo(out.size()), len(out.size());
  for (size_t d = 0; d < out.size(); ++d) {
    int64_t b = pads[d], e = pads[d + out.size()], dim = x.shape()[d];
    out[d] = dim + b + e;
    if (out[d] < 0) fail("{}: pads {} and {} remove more than axis {} holds ({})", n.label(), b, e, d, dim);
    lo[d] = std::max<int64_t>(0, -b);  // the window left after negative pads crop
    len[d] = std::max<int64_t>(0, dim - lo[d] - std::max<int64_t>(0, -e));
    if (mode != PadMode::Constant && len[d] == 0 && out[d] > 0)
      fail("{}: cannot {}-pad an empty axis {}", n.label(), n.attr_string("mode", ""), d);
  }
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), out);
  if (y.numel() == 0) return;
  std::vector<int64_t> xs = strides_of(x.shape());
  IndexIterator it(out);
  int64_t i = 0;
  do {
    int64_t off = 0;
    bool constant = false;
    for (size_t d = 0; d < out.size() && !constant; ++d) {
      int64_t c = it.idx[d] - std::max<int64_t>(0, pads[d]);
      int64_t s = source_coord(c, lo[d], len[d], mode);
      if (s < 0) constant = true;
      else off += s * xs[d];
    }
    if (constant) copy_elements(fill, 0, y, i, 1);
    else copy_elements(x, off, y, i, 1);
    ++i;
  } while (it.next());
}

void infer_pad(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const SymShape* s = ctx.input_shape(0);
  if (!s) {
    ctx.set_output_tensor(0, dt, std::nullopt);
    return;
  }
  int64_t rank = static_cast<int64_t>(s->size());
  std::optional<std::vector<int64_t>> pads, axes;
  bool axes_known = true;
  if (ctx.opset() < 11) {
    pads = ctx.node().attr_ints(ctx.opset() < 2 ? "paddings" : "pads");
  } else {
    pads = const_ints(ctx, 1);
    if (ctx.opset() >= 18 && ctx.has_input(3)) {
      axes = const_ints(ctx, 3);
      axes_known = axes.has_value();
    }
  }
  SymShape out(s->size());
  if (pads && axes_known) {
    std::vector<int64_t> full = expand_pads(*pads, axes, rank, ctx.node());
    for (size_t d = 0; d < s->size(); ++d) {
      int64_t add = full[d] + full[d + s->size()];
      out[d] = add == 0 ? (*s)[d] : (*s)[d].known() ? Dim((*s)[d].value + add) : Dim();
    }
  }
  ctx.set_output_tensor(0, dt, out);
}

// ---- CenterCropPad (opset 18) ----

void center_crop_pad(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Node& n = ctx.node();
  std::vector<int64_t> target = input_ints(ctx, 1, "shape");
  int64_t rank = x.rank();
  std::vector<int64_t> axes = n.attr_ints("axes");
  if (!n.has_attr("axes"))
    for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  axes = normalize_axes(axes, rank, n);
  if (axes.size() != target.size()) fail("{}: shape has {} entries for {} axes", n.label(), target.size(), axes.size());
  Shape out = x.shape();
  std::vector<int64_t> src_lo(out.size(), 0), dst_lo(out.size(), 0), copy_len(x.shape());
  for (size_t i = 0; i < axes.size(); ++i) {
    size_t d = static_cast<size_t>(axes[i]);
    int64_t want = target[i], dim = x.shape()[d];
    if (want < 0) fail("{}: shape value {} is negative", n.label(), want);
    out[d] = want;
    if (want < dim) src_lo[d] = (dim - want) / 2;
    else dst_lo[d] = (want - dim) / 2;
    copy_len[d] = std::min(want, dim);
  }
  Tensor& y = ctx.output(0, x.dtype(), out);
  Shape region(copy_len.begin(), copy_len.end());
  if (shape_numel(region) == 0) return;
  std::vector<int64_t> xs = strides_of(x.shape()), ys = strides_of(out);
  IndexIterator it(region);
  do {
    int64_t so = 0, dof = 0;
    for (size_t d = 0; d < region.size(); ++d) {
      so += (src_lo[d] + it.idx[d]) * xs[d];
      dof += (dst_lo[d] + it.idx[d]) * ys[d];
    }
    copy_elements(x, so, y, dof, 1);
  } while (it.next());
}

void infer_center_crop_pad(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const SymShape* s = ctx.input_shape(0);
  auto target = const_ints(ctx, 1);
  if (!s) {
    ctx.set_output_tensor(0, dt, std::nullopt);
    return;
  }
  SymShape out(s->size());
  if (target) {
    int64_t rank = static_cast<int64_t>(s->size());
    std::vector<int64_t> axes = ctx.node().attr_ints("axes");
    if (!ctx.node().has_attr("axes"))
      for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
    axes = normalize_axes(axes, rank, ctx.node());
    if (axes.size() != target->size()) fail("{}: shape has {} entries for {} axes", ctx.node().label(), target->size(), axes.size());
    out = *s;
    for (size_t i = 0; i < axes.size(); ++i) out[static_cast<size_t>(axes[i])] = Dim((*target)[i]);
  }
  ctx.set_output_tensor(0, dt, out);
}

}  // namespace

HONE_REGISTER_OP({.name = "Pad", .since = 1, .infer = infer_pad, .compute = pad});
HONE_REGISTER_OP({.name = "CenterCropPad", .since = 18, .infer = infer_center_crop_pad, .compute = center_crop_pad});

}  // namespace hone
