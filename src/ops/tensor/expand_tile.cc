// Expand (bidirectional broadcast to a shape) and Tile (repeat along each axis).
#include "ops/tensor/tensor_util.h"

namespace hone {
namespace {

void expand(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> target = input_ints(ctx, 1, "shape");
  if (ctx.input(1).rank() != 1) fail("{}: shape must be 1-D", ctx.node().label());
  Shape out = broadcast_shapes(x.shape(), target, ctx.node());
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), out);
  std::vector<int64_t> strides = broadcast_strides(x.shape(), out);
  HONE_DISPATCH_STORAGE(x.dtype(), ctx.node(), {
    const T* src = x.data<T>();
    T* dst = y.data<T>();
    for_each_strided(out, strides, 0, [&](int64_t i, int64_t off) { dst[i] = src[off]; });
  });
}

void infer_expand(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const SymShape* s = ctx.input_shape(0);
  auto target = const_ints(ctx, 1);
  if (target && s) {
    SymShape t;
    for (int64_t v : *target) {
      if (v < 0) fail("{}: shape value {} is negative", ctx.node().label(), v);
      t.push_back(Dim(v));
    }
    // A target 1 takes the input's dim (which may be unknown); otherwise the shapes broadcast as usual.
    size_t r = std::max(s->size(), t.size());
    SymShape out(r);
    for (size_t i = 0; i < r; ++i) {
      Dim a = i < r - s->size() ? Dim(1) : (*s)[i - (r - s->size())];
      Dim b = i < r - t.size() ? Dim(1) : t[i - (r - t.size())];
      if (b.value == 1) out[i] = a;
      else if (a.known() && a.value != 1 && a.value != b.value)
        fail("{}: cannot expand dim {} to {}", ctx.node().label(), a.value, b.value);
      else out[i] = b;
    }
    ctx.set_output_tensor(0, dt, out);
    return;
  }
  const SymShape* ts = ctx.input_shape(1);
  if (s && ts && ts->size() == 1 && (*ts)[0].known())
    ctx.set_output_tensor(0, dt, SymShape(std::max<size_t>(s->size(), static_cast<size_t>((*ts)[0].value))));
  else
    ctx.set_output_tensor(0, dt, std::nullopt);
}

void tile(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> reps = input_ints(ctx, 1, "repeats");
  if (static_cast<int64_t>(reps.size()) != x.rank())
    fail("{}: repeats has {} entries for rank {}", ctx.node().label(), reps.size(), x.rank());
  Shape out(x.shape());
  for (size_t d = 0; d < out.size(); ++d) {
    if (reps[d] < 0) fail("{}: repeats value {} is negative", ctx.node().label(), reps[d]);
    if (reps[d] > 0 && out[d] > kMaxTensorElements / reps[d]) fail("{}: repeats make the output too large", ctx.node().label());
    out[d] *= reps[d];
  }
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), out);
  if (y.numel() == 0) return;
  std::vector<int64_t> xs = strides_of(x.shape());
  IndexIterator it(out);
  int64_t i = 0;
  HONE_DISPATCH_STORAGE(x.dtype(), ctx.node(), {
    const T* src = x.data<T>();
    T* dst = y.data<T>();
    do {
      int64_t off = 0;
      for (size_t d = 0; d < out.size(); ++d) off += (it.idx[d] % x.shape()[d]) * xs[d];
      dst[i++] = src[off];
    } while (it.next());
  });
}

void infer_tile(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const SymShape* s = ctx.input_shape(0);
  if (!s) {
    ctx.set_output_tensor(0, dt, std::nullopt);
    return;
  }
  auto reps = const_ints(ctx, 1);
  SymShape out(s->size());
  if (reps) {
    if (reps->size() != s->size()) fail("{}: repeats has {} entries for rank {}", ctx.node().label(), reps->size(), s->size());
    for (size_t d = 0; d < s->size(); ++d)
      out[d] = (*reps)[d] == 1 ? (*s)[d] : (*s)[d].known() ? Dim((*s)[d].value * (*reps)[d]) : Dim();
  }
  ctx.set_output_tensor(0, dt, out);
}

}  // namespace

HONE_REGISTER_OP({.name = "Expand", .since = 8, .infer = infer_expand, .compute = expand});
HONE_REGISTER_OP({.name = "Tile", .since = 6, .infer = infer_tile, .compute = tile});

}  // namespace hone
