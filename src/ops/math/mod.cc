// Mod: remainder with numpy broadcasting. fmod=0 (integers only): the result takes the divisor's sign, like
// Python's %; fmod=1: C's fmod, the result takes the dividend's sign. A zero integer divisor is refused.
#include "ops/math/elementwise.h"

namespace hone {
namespace {

template <typename T>
T int_mod(T a, T b, bool c_style, const Node& node) {
  if (b == 0) fail("{}: integer modulo by zero", node.label());
  if constexpr (std::is_signed_v<T>) {
    if (b == -1) return 0;  // also avoids the INT_MIN % -1 trap
  }
  T r = static_cast<T>(a % b);
  if (!c_style && r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
  return r;
}

void mod(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  require_same_dtype(ctx, a, b);
  int64_t fmod = ctx.node().attr_int("fmod", 0);
  if (fmod != 0 && fmod != 1) fail("{}: fmod must be 0 or 1, got {}", ctx.node().label(), fmod);
  if (is_float(a.dtype()) && fmod == 0)
    fail("{}: fmod must be 1 for floating-point inputs ({})", ctx.node().label(), dtype_name(a.dtype()));
  Shape shape = broadcast_shapes(a.shape(), b.shape(), ctx.node());
  Tensor& out = ctx.output_uninitialized(0, a.dtype(), shape);
  const Node& node = ctx.node();
  HONE_DISPATCH_NUMERIC(a.dtype(), node, {
    broadcast_binary<T, T>(a, b, out, [&](T x, T y) -> T {
      if constexpr (std::is_integral_v<T>) {
        return int_mod(x, y, fmod == 1, node);
      } else {
        using C = ComputeType<T>;
        return static_cast<T>(std::fmod(static_cast<C>(x), static_cast<C>(y)));
      }
    });
  });
}

}  // namespace

HONE_REGISTER_OP({.name = "Mod", .since = 10, .infer = infer_broadcast, .compute = mod});

}  // namespace hone
