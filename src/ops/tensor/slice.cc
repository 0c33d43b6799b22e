// Slice: numpy-style strided slicing with clamping; attributes before opset 10, inputs (with steps) from 10.
#include "ops/tensor/slice.h"

#include "ops/tensor/tensor_util.h"

namespace hone {

// Clamps one axis' slice as numpy does, for either sign of step.
AxisSlice resolve_slice_axis(int64_t start, int64_t end, int64_t step, int64_t dim, const Node& n) {
  if (step == 0) fail("{}: slice step cannot be 0", n.label());
  // A step past the axis size takes at most one element; clamping keeps the arithmetic below from overflowing.
  step = std::clamp<int64_t>(step, -std::max<int64_t>(dim, 1), std::max<int64_t>(dim, 1));
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  AxisSlice r;
  r.step = step;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    r.count = end > start ? 1 + (end - start - 1) / step : 0;
  } else {
    start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
    r.count = start > end ? 1 + (start - end - 1) / (-step) : 0;
  }
  r.start = r.count > 0 ? start : 0;
  return r;
}

namespace {

struct SliceArgs {
  std::vector<int64_t> starts, ends, axes, steps;
};

// Per-axis slices for a tensor of shape `in`; unknown dims (-1) give count -1.
std::vector<AxisSlice> resolve(const std::vector<int64_t>& in, const SliceArgs& a, const Node& n) {
  int64_t rank = static_cast<int64_t>(in.size());
  if (a.starts.size() != a.ends.size()) fail("{}: starts and ends have different lengths", n.label());
  std::vector<int64_t> axes = a.axes;
  if (axes.empty())
    for (size_t i = 0; i < a.starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (axes.size() != a.starts.size()) fail("{}: axes and starts have different lengths", n.label());
  if (!a.steps.empty() && a.steps.size() != a.starts.size()) fail("{}: steps and starts have different lengths", n.label());
  axes = normalize_axes(axes, rank, n);
  std::vector<AxisSlice> out(in.size());
  for (size_t d = 0; d < in.size(); ++d) out[d] = {0, 1, in[d]};
  for (size_t i = 0; i < axes.size(); ++i) {
    size_t d = static_cast<size_t>(axes[i]);
    int64_t step = a.steps.empty() ? 1 : a.steps[i];
    if (in[d] < 0) {
      if (step == 0) fail("{}: slice step cannot be 0", n.label());
      out[d] = {0, step, -1};
    } else {
      out[d] = resolve_slice_axis(a.starts[i], a.ends[i], step, in[d], n);
    }
  }
  return out;
}

SliceArgs args_from_attrs(const Node& n) {
  return {n.attr_ints("starts"), n.attr_ints("ends"), n.attr_ints("axes"), {}};
}

void slice(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  SliceArgs a;
  if (ctx.opset() < 10) {
    a = args_from_attrs(ctx.node());
  } else {
    a.starts = input_ints(ctx, 1, "starts");
    a.ends = input_ints(ctx, 2, "ends");
    if (ctx.has_input(3)) a.axes = input_ints(ctx, 3, "axes");
    if (ctx.has_input(4)) a.steps = input_ints(ctx, 4, "steps");
  }
  std::vector<AxisSlice> sl = resolve(x.shape(), a, ctx.node());
  Shape out_shape(sl.size());
  std::vector<int64_t> in_strides = strides_of(x.shape()), strides(sl.size());
  int64_t base = 0;
  for (size_t d = 0; d < sl.size(); ++d) {
    out_shape[d] = sl[d].count;
    strides[d] = in_strides[d] * sl[d].step;
    base += sl[d].start * in_strides[d];
  }
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), out_shape);
  HONE_DISPATCH_STORAGE(x.dtype(), ctx.node(), {
    const T* src = x.data<T>();
    T* dst = y.data<T>();
    for_each_strided(out_shape, strides, base, [&](int64_t i, int64_t off) { dst[i] = src[off]; });
  });
}

void infer_slice(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const SymShape* s = ctx.input_shape(0);
  if (!s) {
    ctx.set_output_tensor(0, dt, std::nullopt);
    return;
  }
  SliceArgs a;
  if (ctx.opset() < 10) {
    a = args_from_attrs(ctx.node());
  } else {
    auto starts = const_ints(ctx, 1), ends = const_ints(ctx, 2);
    auto axes = ctx.has_input(3) ? const_ints(ctx, 3) : std::optional(std::vector<int64_t>{});
    auto steps = ctx.has_input(4) ? const_ints(ctx, 4) : std::optional(std::vector<int64_t>{});
    if (!starts || !ends || !axes || !steps) {
      SymShape out(s->size());
      if (axes && !axes->empty()) {  // axes known: the other dims pass through
        for (size_t d = 0; d < s->size(); ++d) out[d] = (*s)[d];
        for (int64_t ax : normalize_axes(*axes, static_cast<int64_t>(s->size()), ctx.node())) out[static_cast<size_t>(ax)] = Dim();
      }
      ctx.set_output_tensor(0, dt, out);
      return;
    }
    a = {*starts, *ends, *axes, *steps};
  }
  std::vector<int64_t> dims;
  for (const Dim& d : *s) dims.push_back(d.known() ? d.value : -1);
  std::vector<AxisSlice> sl = resolve(dims, a, ctx.node());
  SymShape out(s->size());
  for (size_t d = 0; d < s->size(); ++d) {
    bool untouched = sl[d].start == 0 && sl[d].step == 1 && sl[d].count == dims[d];
    out[d] = untouched ? (*s)[d] : sl[d].count >= 0 ? Dim(sl[d].count) : Dim();
  }
  ctx.set_output_tensor(0, dt, out);
}

}  // namespace

HONE_REGISTER_OP({.name = "Slice", .since = 1, .infer = infer_slice, .compute = slice});

}  // namespace hone
