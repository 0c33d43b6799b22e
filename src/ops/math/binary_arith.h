// Add, Sub, Mul, Div on two tensors with numpy broadcasting: shared by the opset 7+ operators and the legacy
// (opset 1-6) versions in legacy_broadcast.cc, which align B to A first.
#pragma once
#include "ops/op_helpers.h"

namespace hone {

enum class ArithOp { Add, Sub, Mul, Div };

// Writes output 0 = a <op> b. Integers wrap on overflow; integer division truncates and refuses a zero divisor.
void arith_broadcast(OpContext& ctx, const Tensor& a, const Tensor& b, ArithOp op);

}  // namespace hone
