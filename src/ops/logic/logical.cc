// And, Or, Xor (bool inputs, broadcast: by attribute in opsets 1-6, numpy-style from 7) and Not.
#include "ops/math/elementwise.h"

namespace hone {
namespace {

enum class Logic { And, Or, Xor };

template <Logic L>
void logical(OpContext& ctx, const Tensor& a, const Tensor& b) {
  for (const Tensor* t : {&a, &b})
    if (t->dtype() != DType::Bool)
      fail("{}: inputs must be bool, got {}", ctx.node().label(), dtype_name(t->dtype()));
  Shape shape = broadcast_shapes(a.shape(), b.shape(), ctx.node());
  Tensor& out = ctx.output_uninitialized(0, DType::Bool, shape);
  broadcast_binary<uint8_t, uint8_t>(a, b, out, [](uint8_t x, uint8_t y) {
    bool p = x != 0, q = y != 0;
    if constexpr (L == Logic::And) return p && q;
    if constexpr (L == Logic::Or) return p || q;
    if constexpr (L == Logic::Xor) return p != q;
  });
}

template <Logic L>
void logical_op(OpContext& ctx) {
  logical<L>(ctx, ctx.input(0), ctx.input(1));
}

template <Logic L>
void logical_legacy(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  logical<L>(ctx, a, legacy_broadcast_view(ctx, a, ctx.input(1)));
}

void not_op(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::Bool) fail("{}: input must be bool, got {}", ctx.node().label(), dtype_name(x.dtype()));
  Tensor& y = ctx.output_uninitialized(0, DType::Bool, x.shape());
  const uint8_t* px = x.data<uint8_t>();
  uint8_t* py = y.data<uint8_t>();
  for (int64_t i = 0; i < x.numel(); ++i) py[i] = px[i] == 0;
}

}  // namespace

HONE_REGISTER_OP({.name = "And", .since = 1, .until = 6, .infer = infer_legacy_broadcast_bool, .compute = logical_legacy<Logic::And>});
HONE_REGISTER_OP({.name = "And", .since = 7, .infer = infer_broadcast_bool, .compute = logical_op<Logic::And>});
HONE_REGISTER_OP({.name = "Or", .since = 1, .until = 6, .infer = infer_legacy_broadcast_bool, .compute = logical_legacy<Logic::Or>});
HONE_REGISTER_OP({.name = "Or", .since = 7, .infer = infer_broadcast_bool, .compute = logical_op<Logic::Or>});
HONE_REGISTER_OP({.name = "Xor", .since = 1, .until = 6, .infer = infer_legacy_broadcast_bool, .compute = logical_legacy<Logic::Xor>});
HONE_REGISTER_OP({.name = "Xor", .since = 7, .infer = infer_broadcast_bool, .compute = logical_op<Logic::Xor>});
HONE_REGISTER_OP({.name = "Not", .since = 1, .infer = infer_same_as_input, .compute = not_op});

}  // namespace hone
