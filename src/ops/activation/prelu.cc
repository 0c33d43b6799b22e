// PRelu: x < 0 ? slope * x : x. From opset 7 the slope broadcasts to X numpy-style (one way: the result has X's
// shape). Opsets 1-6 predate that: a 1-D slope holds one value per channel (axis 1), as the PyTorch-exported
// opset-6 models rely on.
#include "ops/math/elementwise.h"

namespace hone {
namespace {

template <typename T>
T prelu_one(T a, T s) {
  using C = ComputeType<T>;
  if constexpr (std::is_unsigned_v<C>) {
    return a;  // never negative
  } else {
    auto v = static_cast<C>(a);
    if (!(v < C(0))) return a;
    if constexpr (std::is_integral_v<C>) {  // wraps instead of overflowing
      using U = std::make_unsigned_t<std::common_type_t<C, unsigned>>;
      return static_cast<T>(static_cast<U>(v) * static_cast<U>(static_cast<C>(s)));
    } else {
      return static_cast<T>(v * static_cast<C>(s));
    }
  }
}

void prelu_tensors(OpContext& ctx, const Tensor& x, const Tensor& slope) {
  require_same_dtype(ctx, x, slope);
  Shape shape = broadcast_shapes(x.shape(), slope.shape(), ctx.node());
  if (shape != x.shape())
    fail("{}: slope of shape {} does not broadcast to the input's shape {}", ctx.node().label(),
         shape_str(slope.shape()), shape_str(x.shape()));
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), shape);
  HONE_DISPATCH_NUMERIC(x.dtype(), ctx.node(), { broadcast_binary<T, T>(x, slope, y, prelu_one<T>); });
}

void prelu(OpContext& ctx) { prelu_tensors(ctx, ctx.input(0), ctx.input(1)); }

void prelu_legacy(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& slope = ctx.input(1);
  if (slope.rank() == 1 && slope.numel() > 1 && x.rank() >= 2 && slope.dim(0) == x.dim(1)) {
    Shape per_channel(static_cast<size_t>(x.rank() - 1), 1);
    per_channel[0] = slope.dim(0);
    return prelu_tensors(ctx, x, slope.reshaped(per_channel));
  }
  prelu_tensors(ctx, x, slope);
}

}  // namespace

HONE_REGISTER_OP({.name = "PRelu", .since = 1, .until = 6, .infer = infer_same_as_input, .compute = prelu_legacy});
HONE_REGISTER_OP({.name = "PRelu", .since = 7, .infer = infer_same_as_input, .compute = prelu});

}  // namespace hone
