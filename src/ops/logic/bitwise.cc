// BitShift (unsigned integers; shifting by the bit width or more gives 0) and BitwiseAnd/Or/Xor/Not (every
// integer type), with numpy broadcasting.
#include "ops/math/elementwise.h"

namespace hone {
namespace {

#define HONE_UNSIGNED_CASES(...)                 \
  HONE_TYPE_CASE(UInt8, uint8_t, __VA_ARGS__)   \
  HONE_TYPE_CASE(UInt16, uint16_t, __VA_ARGS__) \
  HONE_TYPE_CASE(UInt32, uint32_t, __VA_ARGS__) \
  HONE_TYPE_CASE(UInt64, uint64_t, __VA_ARGS__)

void bit_shift(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  require_same_dtype(ctx, a, b);
  std::string direction = ctx.node().attr_string("direction", "");
  if (direction != "LEFT" && direction != "RIGHT")
    fail("{}: direction must be LEFT or RIGHT, got '{}'", ctx.node().label(), direction);
  bool left = direction == "LEFT";
  Shape shape = broadcast_shapes(a.shape(), b.shape(), ctx.node());
  Tensor& out = ctx.output_uninitialized(0, a.dtype(), shape);
  switch (a.dtype()) {
    HONE_UNSIGNED_CASES(broadcast_binary<T, T>(a, b, out, [left](T x, T s) -> T {
      if (s >= sizeof(T) * 8) return 0;
      return static_cast<T>(left ? x << s : x >> s);
    }))
    default: fail("{}: element type {} is not supported (unsigned integers only)", ctx.node().label(), dtype_name(a.dtype()));
  }
}

enum class Bitwise { And, Or, Xor };

template <Bitwise B>
void bitwise(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  require_same_dtype(ctx, a, b);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), ctx.node());
  Tensor& out = ctx.output_uninitialized(0, a.dtype(), shape);
  switch (a.dtype()) {
    HONE_INT_CASES(broadcast_binary<T, T>(a, b, out, [](T x, T y) -> T {
      if constexpr (B == Bitwise::And) return static_cast<T>(x & y);
      if constexpr (B == Bitwise::Or) return static_cast<T>(x | y);
      if constexpr (B == Bitwise::Xor) return static_cast<T>(x ^ y);
    }))
    default: fail("{}: element type {} is not supported (integers only)", ctx.node().label(), dtype_name(a.dtype()));
  }
}

void bitwise_not(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), x.shape());
  switch (x.dtype()) {
    HONE_INT_CASES({
      const T* px = x.data<T>();
      T* py = y.data<T>();
      for (int64_t i = 0; i < x.numel(); ++i) py[i] = static_cast<T>(~px[i]);
    })
    default: fail("{}: element type {} is not supported (integers only)", ctx.node().label(), dtype_name(x.dtype()));
  }
}

}  // namespace

HONE_REGISTER_OP({.name = "BitShift", .since = 11, .infer = infer_broadcast, .compute = bit_shift});
HONE_REGISTER_OP({.name = "BitwiseAnd", .since = 18, .infer = infer_broadcast, .compute = bitwise<Bitwise::And>});
HONE_REGISTER_OP({.name = "BitwiseOr", .since = 18, .infer = infer_broadcast, .compute = bitwise<Bitwise::Or>});
HONE_REGISTER_OP({.name = "BitwiseXor", .since = 18, .infer = infer_broadcast, .compute = bitwise<Bitwise::Xor>});
HONE_REGISTER_OP({.name = "BitwiseNot", .since = 18, .infer = infer_same_as_input, .compute = bitwise_not});

}  // namespace hone
