// Add, Sub, Mul, Div: numpy-broadcast arithmetic on every numeric type.
#include "ops/math/binary_arith.h"

#include <cmath>

#include "ops/math/elementwise.h"

namespace hone {
namespace {

// Integer arithmetic in the unsigned type of the same width (at least unsigned int), so overflow wraps as
// two's complement instead of being undefined.
template <typename T>
using Unsigned = std::make_unsigned_t<std::common_type_t<T, unsigned>>;

template <ArithOp Op>
struct Arith {
  const Node* node;
  template <typename T>
  T operator()(T x, T y) const {
    if constexpr (std::is_integral_v<T>) {
      using U = Unsigned<T>;
      if constexpr (Op == ArithOp::Add) return static_cast<T>(static_cast<U>(x) + static_cast<U>(y));
      if constexpr (Op == ArithOp::Sub) return static_cast<T>(static_cast<U>(x) - static_cast<U>(y));
      if constexpr (Op == ArithOp::Mul) return static_cast<T>(static_cast<U>(x) * static_cast<U>(y));
      if constexpr (Op == ArithOp::Div) {
        if (y == 0) fail("{}: integer division by zero", node->label());
        if constexpr (std::is_signed_v<T>) {
          if (y == -1) return static_cast<T>(U(0) - static_cast<U>(x));  // INT_MIN / -1 wraps instead of trapping
        }
        return static_cast<T>(x / y);  // truncates toward zero, as C++ and ONNX's reference do
      }
    } else {
      using C = ComputeType<T>;
      C a = static_cast<C>(x), b = static_cast<C>(y);
      if constexpr (Op == ArithOp::Add) return static_cast<T>(a + b);
      if constexpr (Op == ArithOp::Sub) return static_cast<T>(a - b);
      if constexpr (Op == ArithOp::Mul) return static_cast<T>(a * b);
      if constexpr (Op == ArithOp::Div) return static_cast<T>(a / b);  // x/0 is inf or nan, as IEEE says
    }
  }
};

template <ArithOp Op>
void run(OpContext& ctx, const Tensor& a, const Tensor& b) {
  require_same_dtype(ctx, a, b);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), ctx.node());
  Tensor& out = ctx.output_uninitialized(0, a.dtype(), shape);
  Arith<Op> op{&ctx.node()};
  HONE_DISPATCH_NUMERIC(a.dtype(), ctx.node(), { broadcast_binary<T, T>(a, b, out, op); });
}

void add(OpContext& ctx) { run<ArithOp::Add>(ctx, ctx.input(0), ctx.input(1)); }
void sub(OpContext& ctx) { run<ArithOp::Sub>(ctx, ctx.input(0), ctx.input(1)); }
void mul(OpContext& ctx) { run<ArithOp::Mul>(ctx, ctx.input(0), ctx.input(1)); }
void div(OpContext& ctx) { run<ArithOp::Div>(ctx, ctx.input(0), ctx.input(1)); }

}  // namespace

void arith_broadcast(OpContext& ctx, const Tensor& a, const Tensor& b, ArithOp op) {
  switch (op) {
    case ArithOp::Add: return run<ArithOp::Add>(ctx, a, b);
    case ArithOp::Sub: return run<ArithOp::Sub>(ctx, a, b);
    case ArithOp::Mul: return run<ArithOp::Mul>(ctx, a, b);
    case ArithOp::Div: return run<ArithOp::Div>(ctx, a, b);
  }
}

// Opsets 7+ broadcast numpy-style (older versions used an explicit `broadcast` attribute; see legacy_broadcast.cc).
HONE_REGISTER_OP({.name = "Add", .since = 7, .infer = infer_broadcast, .compute = add});
HONE_REGISTER_OP({.name = "Sub", .since = 7, .infer = infer_broadcast, .compute = sub});
HONE_REGISTER_OP({.name = "Mul", .since = 7, .infer = infer_broadcast, .compute = mul});
HONE_REGISTER_OP({.name = "Div", .since = 7, .infer = infer_broadcast, .compute = div});

}  // namespace hone
