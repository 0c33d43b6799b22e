// Relu: max(x, 0), every numeric type (opset 14 added the signed integers; older versions differ only in types and
// opset 1's ignored `consumed_inputs`, so one entry serves every version).
#include "ops/math/elementwise.h"

namespace hone {
namespace {

void relu(OpContext& ctx) {
  unary_numeric(ctx, [](auto v) { return v < decltype(v)(0) ? decltype(v)(0) : v; });  // NaN stays NaN
}

}  // namespace

HONE_REGISTER_OP({.name = "Relu", .since = 1, .infer = infer_same_as_input, .compute = relu});

}  // namespace hone
