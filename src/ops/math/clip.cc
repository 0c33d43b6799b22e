// Clip: y = min(max(x, lo), hi). Opsets 1-10 take lo/hi as float attributes; 11+ as optional scalar inputs (12+
// also for integer types). When lo > hi every element becomes hi, as numpy.clip; NaN stays NaN.
#include "ops/math/elementwise.h"

namespace hone {
namespace {

template <typename T>
void clip_values(const Tensor& x, Tensor& y, ComputeType<T> lo, ComputeType<T> hi) {
  using C = ComputeType<T>;
  const T* px = x.data<T>();
  T* py = y.data<T>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    C v = static_cast<C>(px[i]);
    if (v < lo) v = lo;
    if (v > hi) v = hi;
    py[i] = static_cast<T>(v);
  }
}

void clip_attrs(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), x.shape());
  float lo = ctx.node().attr_float("min", std::numeric_limits<float>::lowest());
  float hi = ctx.node().attr_float("max", std::numeric_limits<float>::max());
  HONE_DISPATCH_FLOAT(x.dtype(), ctx.node(), {
    using C = ComputeType<T>;
    clip_values<T>(x, y, static_cast<C>(lo), static_cast<C>(hi));
  });
}

// A bound input: a single element of x's type (rank 0 per the spec; exporters also write shape [1]).
const Tensor* bound(const OpContext& ctx, size_t i, const Tensor& x) {
  if (!ctx.has_input(i)) return nullptr;
  const Tensor& t = ctx.input(i);
  if (t.numel() != 1)
    fail("{}: input {} ({}) must be a single value, got shape {}", ctx.node().label(), i, i == 1 ? "min" : "max",
         shape_str(t.shape()));
  if (t.dtype() != x.dtype())
    fail("{}: input {} has element type {}, expected {} like the input", ctx.node().label(), i,
         dtype_name(t.dtype()), dtype_name(x.dtype()));
  return &t;
}

void clip_inputs(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor* lo_t = bound(ctx, 1, x);
  const Tensor* hi_t = bound(ctx, 2, x);
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), x.shape());
  HONE_DISPATCH_NUMERIC(x.dtype(), ctx.node(), {
    using C = ComputeType<T>;
    C lo = lo_t ? static_cast<C>(lo_t->data<T>()[0]) : std::numeric_limits<C>::lowest();
    C hi = hi_t ? static_cast<C>(hi_t->data<T>()[0]) : std::numeric_limits<C>::max();
    clip_values<T>(x, y, lo, hi);
  });
}

}  // namespace

HONE_REGISTER_OP({.name = "Clip", .since = 1, .until = 10, .infer = infer_same_as_input, .compute = clip_attrs});
HONE_REGISTER_OP({.name = "Clip", .since = 11, .infer = infer_same_as_input, .compute = clip_inputs});

}  // namespace hone
