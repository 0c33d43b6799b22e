// Add, Sub, Mul, Div: numpy-broadcast arithmetic on every numeric type.
#include <cmath>

#include "ops/op_helpers.h"

namespace hone {
namespace {

template <typename F>
void binary_arith(OpContext& ctx, F op) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.dtype() != b.dtype())
    fail("{}: inputs have different element types ({} and {})", ctx.node().label(), dtype_name(a.dtype()), dtype_name(b.dtype()));
  Shape shape = broadcast_shapes(a.shape(), b.shape(), ctx.node());
  Tensor& out = ctx.output(0, a.dtype(), shape);
  HONE_DISPATCH_NUMERIC(a.dtype(), ctx.node(), {
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    for_each_broadcast(shape, a.shape(), b.shape(), [&](int64_t i, int64_t ia, int64_t ib) { po[i] = op(pa[ia], pb[ib]); });
  });
}

// Integer division truncates toward zero (as C++ and ONNX's reference do); division by zero is left to the
// hardware for floats (inf/nan) and refused for integers.
struct DivOp {
  const Node* node;
  template <typename T>
  T operator()(T x, T y) const {
    if constexpr (std::is_integral_v<T>) {
      if (y == 0) fail("{}: integer division by zero", node->label());
      return static_cast<T>(x / y);
    } else {
      return static_cast<T>(static_cast<float>(x) / static_cast<float>(y));
    }
  }
  double operator()(double x, double y) const { return x / y; }
};

template <typename T>
using Wide = std::conditional_t<std::is_same_v<T, double>, double, std::conditional_t<std::is_integral_v<T>, T, float>>;

void add(OpContext& ctx) {
  binary_arith(ctx, [](auto x, auto y) { using T = decltype(x); return static_cast<T>(static_cast<Wide<T>>(x) + static_cast<Wide<T>>(y)); });
}
void sub(OpContext& ctx) {
  binary_arith(ctx, [](auto x, auto y) { using T = decltype(x); return static_cast<T>(static_cast<Wide<T>>(x) - static_cast<Wide<T>>(y)); });
}
void mul(OpContext& ctx) {
  binary_arith(ctx, [](auto x, auto y) { using T = decltype(x); return static_cast<T>(static_cast<Wide<T>>(x) * static_cast<Wide<T>>(y)); });
}
void div(OpContext& ctx) { binary_arith(ctx, DivOp{&ctx.node()}); }

}  // namespace

// Opsets 7+ broadcast numpy-style (older versions used an explicit `broadcast` attribute; see legacy_broadcast.cc).
HONE_REGISTER_OP({.name = "Add", .since = 7, .infer = infer_broadcast, .compute = add});
HONE_REGISTER_OP({.name = "Sub", .since = 7, .infer = infer_broadcast, .compute = sub});
HONE_REGISTER_OP({.name = "Mul", .since = 7, .infer = infer_broadcast, .compute = mul});
HONE_REGISTER_OP({.name = "Div", .since = 7, .infer = infer_broadcast, .compute = div});

}  // namespace hone
