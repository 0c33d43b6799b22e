// Add, Sub, Mul, Div for opsets 1-6, where B broadcasts into A only when the `broadcast` attribute says so, aligned
// at `axis` (the PyTorch-exported opset-6 models use this). Opset 1's `consumed_inputs` is an optimisation hint
// with no effect on results, so one entry serves 1-6.
#include "ops/math/binary_arith.h"
#include "ops/math/elementwise.h"

namespace hone {
namespace {

template <ArithOp Op>
void legacy(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  Tensor b = legacy_broadcast_view(ctx, a, ctx.input(1));
  arith_broadcast(ctx, a, b, Op);
}

}  // namespace

HONE_REGISTER_OP({.name = "Add", .since = 1, .until = 6, .infer = infer_legacy_broadcast, .compute = legacy<ArithOp::Add>});
HONE_REGISTER_OP({.name = "Sub", .since = 1, .until = 6, .infer = infer_legacy_broadcast, .compute = legacy<ArithOp::Sub>});
HONE_REGISTER_OP({.name = "Mul", .since = 1, .until = 6, .infer = infer_legacy_broadcast, .compute = legacy<ArithOp::Mul>});
HONE_REGISTER_OP({.name = "Div", .since = 1, .until = 6, .infer = infer_legacy_broadcast, .compute = legacy<ArithOp::Div>});

}  // namespace hone
