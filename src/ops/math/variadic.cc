// Min, Max, Sum, Mean: element-wise over any number of inputs, broadcast numpy-style together. Opsets before 8
// required equal shapes, which broadcasting serves as well, so one entry covers every version.
#include "ops/math/elementwise.h"

namespace hone {
namespace {

Shape broadcast_all(const OpContext& ctx) {
  if (ctx.num_inputs() == 0) fail("{}: needs at least one input", ctx.node().label());
  Shape shape = ctx.input(0).shape();
  for (size_t k = 1; k < ctx.num_inputs(); ++k) {
    require_same_dtype(ctx, ctx.input(0), ctx.input(k));
    shape = broadcast_shapes(shape, ctx.input(k).shape(), ctx.node());
  }
  return shape;
}

// acc = combine(acc, input_k) for each input in turn, in ComputeType; `finish` maps the accumulator to the result.
template <typename T, typename Combine, typename Finish>
void fold_inputs(OpContext& ctx, const Shape& shape, Combine combine, Finish finish) {
  using C = ComputeType<T>;
  std::vector<C> acc(static_cast<size_t>(shape_numel(shape)));
  for (size_t k = 0; k < ctx.num_inputs(); ++k) {
    const Tensor& in = ctx.input(k);
    const T* p = in.data<T>();
    for_each_broadcast_n<1>(shape, {&in.shape()}, [&](int64_t i, const std::array<int64_t, 1>& pos) {
      C v = static_cast<C>(p[pos[0]]);
      acc[static_cast<size_t>(i)] = k == 0 ? v : combine(acc[static_cast<size_t>(i)], v);
    });
  }
  Tensor& out = ctx.output_uninitialized(0, ctx.input(0).dtype(), shape);
  T* po = out.data<T>();
  for (size_t i = 0; i < acc.size(); ++i) po[i] = static_cast<T>(finish(acc[i]));
}

template <typename C>
bool is_nan(C v) {
  if constexpr (std::is_floating_point_v<C>) return std::isnan(v);
  else return false;
}

// NaN wins, as numpy.maximum / numpy.minimum.
void max_op(OpContext& ctx) {
  Shape shape = broadcast_all(ctx);
  HONE_DISPATCH_NUMERIC(ctx.input(0).dtype(), ctx.node(), {
    fold_inputs<T>(ctx, shape, [](auto a, auto b) { return is_nan(a) || a >= b ? a : b; }, [](auto a) { return a; });
  });
}
void min_op(OpContext& ctx) {
  Shape shape = broadcast_all(ctx);
  HONE_DISPATCH_NUMERIC(ctx.input(0).dtype(), ctx.node(), {
    fold_inputs<T>(ctx, shape, [](auto a, auto b) { return is_nan(a) || a <= b ? a : b; }, [](auto a) { return a; });
  });
}

// Integer sums wrap (computed unsigned); float sums accumulate in float (double for double).
template <typename C>
C add_wrapping(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    using U = std::make_unsigned_t<std::common_type_t<C, unsigned>>;
    return static_cast<C>(static_cast<U>(a) + static_cast<U>(b));
  } else {
    return a + b;
  }
}

void sum_op(OpContext& ctx) {
  Shape shape = broadcast_all(ctx);
  HONE_DISPATCH_NUMERIC(ctx.input(0).dtype(), ctx.node(), {
    fold_inputs<T>(ctx, shape, [](auto a, auto b) { return add_wrapping(a, b); }, [](auto a) { return a; });
  });
}
void mean_op(OpContext& ctx) {
  Shape shape = broadcast_all(ctx);
  auto n = static_cast<float>(ctx.num_inputs());
  HONE_DISPATCH_FLOAT(ctx.input(0).dtype(), ctx.node(), {
    using C = ComputeType<T>;
    fold_inputs<T>(ctx, shape, [](C a, C b) { return a + b; }, [n](C a) { return a / static_cast<C>(n); });
  });
}

}  // namespace

HONE_REGISTER_OP({.name = "Max", .since = 1, .infer = infer_broadcast, .compute = max_op});
HONE_REGISTER_OP({.name = "Min", .since = 1, .infer = infer_broadcast, .compute = min_op});
HONE_REGISTER_OP({.name = "Sum", .since = 1, .infer = infer_broadcast, .compute = sum_op});
HONE_REGISTER_OP({.name = "Mean", .since = 1, .infer = infer_broadcast, .compute = mean_op});

}  // namespace hone
