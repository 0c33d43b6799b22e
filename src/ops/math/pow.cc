// Pow: base ** exponent with numpy broadcasting. Since opset 12 the exponent may have another numeric type than the
// base; the result has the base's type, computed as ONNX's reference does (numpy power, then cast to the base type:
// integer results of a fractional power truncate toward zero).
#include "ops/math/elementwise.h"

namespace hone {
namespace {

// Integer power by squaring, wrapping on overflow like numpy's integer power.
template <typename T, typename E>
T int_pow(T base, E exp) {
  using U = std::make_unsigned_t<std::common_type_t<T, unsigned>>;
  if (exp < 0) {  // the real result's integer part: only bases 1 and -1 give a non-zero one
    if (base == 1) return 1;
    if constexpr (std::is_signed_v<T>) {
      if (base == -1) return (exp % 2 == 0) ? T(1) : T(-1);
    }
    return 0;
  }
  U result = 1, b = static_cast<U>(base);
  for (auto e = static_cast<std::make_unsigned_t<E>>(exp); e != 0; e >>= 1) {
    if (e & 1) result = static_cast<U>(result * b);
    b = static_cast<U>(b * b);
  }
  return static_cast<T>(result);
}

template <typename T, typename E>
T pow_one(T base, E exp) {
  if constexpr (std::is_integral_v<T> && std::is_integral_v<E>) {
    return int_pow(base, exp);
  } else {
    double r = std::pow(static_cast<double>(static_cast<ComputeType<T>>(base)),
                        static_cast<double>(static_cast<ComputeType<E>>(exp)));
    if constexpr (std::is_integral_v<T>) return saturate_cast<T>(std::trunc(r));
    else return static_cast<T>(static_cast<ComputeType<T>>(r));
  }
}

void pow_tensors(OpContext& ctx, const Tensor& a, const Tensor& b) {
  Shape shape = broadcast_shapes(a.shape(), b.shape(), ctx.node());
  Tensor& out = ctx.output_uninitialized(0, a.dtype(), shape);
  HONE_DISPATCH_NUMERIC(a.dtype(), ctx.node(), {
    using TBase = T;
    const TBase* pa = a.data<TBase>();
    TBase* po = out.data<TBase>();
    HONE_DISPATCH_NUMERIC(b.dtype(), ctx.node(), {
      const T* pb = b.data<T>();
      for_each_broadcast(shape, a.shape(), b.shape(),
                         [&](int64_t i, int64_t ia, int64_t ib) { po[i] = pow_one(pa[ia], pb[ib]); });
    });
  });
}

void pow_op(OpContext& ctx) { pow_tensors(ctx, ctx.input(0), ctx.input(1)); }

// Opsets 1-6: same types, `broadcast`/`axis` attributes.
void pow_legacy(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  require_same_dtype(ctx, a, b);
  pow_tensors(ctx, a, legacy_broadcast_view(ctx, a, b));
}

}  // namespace

HONE_REGISTER_OP({.name = "Pow", .since = 1, .until = 6, .infer = infer_legacy_broadcast, .compute = pow_legacy});
HONE_REGISTER_OP({.name = "Pow", .since = 7, .infer = infer_broadcast, .compute = pow_op});

}  // namespace hone
