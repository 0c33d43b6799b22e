// Shrink: x < -lambd ? x + bias : x > lambd ? x - bias : 0, on every numeric type (integer results of the float
// arithmetic are truncated toward zero, saturating).
#include "ops/math/elementwise.h"

namespace hone {
namespace {

void shrink(OpContext& ctx) {
  double lambd = ctx.node().attr_float("lambd", 0.5f);
  double bias = ctx.node().attr_float("bias", 0.0f);
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), x.shape());
  HONE_DISPATCH_NUMERIC(x.dtype(), ctx.node(), {
    using C = std::conditional_t<std::is_integral_v<T>, double, ComputeType<T>>;
    const T* px = x.data<T>();
    T* py = y.data<T>();
    auto l = static_cast<C>(lambd), b = static_cast<C>(bias);
    for (int64_t i = 0; i < x.numel(); ++i) {
      auto v = static_cast<C>(px[i]);
      C r = v < -l ? v + b : v > l ? v - b : C(0);
      if constexpr (std::is_integral_v<T>) py[i] = saturate_cast<T>(std::trunc(r));
      else py[i] = static_cast<T>(r);
    }
  });
}

}  // namespace

HONE_REGISTER_OP({.name = "Shrink", .since = 9, .infer = infer_same_as_input, .compute = shrink});

}  // namespace hone
