// Equal, Less, Greater, LessOrEqual, GreaterOrEqual: element-wise comparisons with a bool result. Opsets 1-6 of
// Equal/Less/Greater broadcast by attribute (see legacy_broadcast_view); 7+ numpy-style. Equal also compares bools
// and (opset 19+) strings. NaN compares unequal to everything, as IEEE says.
#include <functional>

#include "ops/math/elementwise.h"

namespace hone {
namespace {

template <typename Cmp>
void compare(OpContext& ctx, const Tensor& a, const Tensor& b) {
  require_same_dtype(ctx, a, b);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), ctx.node());
  Tensor& out = ctx.output_uninitialized(0, DType::Bool, shape);
  Cmp cmp;
  if (a.dtype() == DType::String) {
    if constexpr (std::is_same_v<Cmp, std::equal_to<>>) {
      broadcast_binary<std::string, uint8_t>(a, b, out, cmp);
      return;
    }
    fail("{}: element type string is not supported", ctx.node().label());
  }
  HONE_DISPATCH_NUMERIC_BOOL(a.dtype(), ctx.node(), {
    using C = ComputeType<T>;
    broadcast_binary<T, uint8_t>(a, b, out, [&](T x, T y) { return cmp(static_cast<C>(x), static_cast<C>(y)); });
  });
}

template <typename Cmp>
void compare_op(OpContext& ctx) {
  compare<Cmp>(ctx, ctx.input(0), ctx.input(1));
}

template <typename Cmp>
void compare_legacy(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  compare<Cmp>(ctx, a, legacy_broadcast_view(ctx, a, ctx.input(1)));
}

}  // namespace

HONE_REGISTER_OP({.name = "Equal", .since = 1, .until = 6, .infer = infer_legacy_broadcast_bool, .compute = compare_legacy<std::equal_to<>>});
HONE_REGISTER_OP({.name = "Equal", .since = 7, .infer = infer_broadcast_bool, .compute = compare_op<std::equal_to<>>});
HONE_REGISTER_OP({.name = "Less", .since = 1, .until = 6, .infer = infer_legacy_broadcast_bool, .compute = compare_legacy<std::less<>>});
HONE_REGISTER_OP({.name = "Less", .since = 7, .infer = infer_broadcast_bool, .compute = compare_op<std::less<>>});
HONE_REGISTER_OP({.name = "Greater", .since = 1, .until = 6, .infer = infer_legacy_broadcast_bool, .compute = compare_legacy<std::greater<>>});
HONE_REGISTER_OP({.name = "Greater", .since = 7, .infer = infer_broadcast_bool, .compute = compare_op<std::greater<>>});
HONE_REGISTER_OP({.name = "LessOrEqual", .since = 12, .infer = infer_broadcast_bool, .compute = compare_op<std::less_equal<>>});
HONE_REGISTER_OP({.name = "GreaterOrEqual", .since = 12, .infer = infer_broadcast_bool, .compute = compare_op<std::greater_equal<>>});

}  // namespace hone
