// Element-wise math functions of one input: Abs, Neg, Sign (every numeric type) and the float-only functions (Exp,
// Log, Sqrt, Reciprocal, Floor, Ceil, Round, trigonometric and hyperbolic functions, Erf). Later opsets of these ops
// only widened the type list, so one entry serves every version.
#include "ops/math/elementwise.h"

namespace hone {
namespace {

// Negation that wraps for the most negative integer instead of overflowing.
template <typename C>
C negate(C v) {
  if constexpr (std::is_integral_v<C>) {
    using U = std::make_unsigned_t<std::common_type_t<C, unsigned>>;
    return static_cast<C>(U(0) - static_cast<U>(v));
  } else {
    return -v;
  }
}

void abs_op(OpContext& ctx) {
  unary_numeric(ctx, [](auto v) {
    if constexpr (std::is_unsigned_v<decltype(v)>) return v;
    else return v < 0 ? negate(v) : v;
  });
}
void neg(OpContext& ctx) { unary_numeric(ctx, [](auto v) { return negate(v); }); }
// 1, -1 or 0 (NaN stays NaN, -0.0 stays -0.0, as numpy.sign).
void sign(OpContext& ctx) {
  unary_numeric(ctx, [](auto v) {
    using C = decltype(v);
    return v > C(0) ? C(1) : v < C(0) ? negate(C(1)) : v;
  });
}

void exp_op(OpContext& ctx) { unary_float(ctx, [](auto v) { return std::exp(v); }); }
void log_op(OpContext& ctx) { unary_float(ctx, [](auto v) { return std::log(v); }); }
void sqrt_op(OpContext& ctx) { unary_float(ctx, [](auto v) { return std::sqrt(v); }); }
void reciprocal(OpContext& ctx) { unary_float(ctx, [](auto v) { return decltype(v)(1) / v; }); }
void floor_op(OpContext& ctx) { unary_float(ctx, [](auto v) { return std::floor(v); }); }
void ceil_op(OpContext& ctx) { unary_float(ctx, [](auto v) { return std::ceil(v); }); }
// Halves round to the even neighbour: nearbyint under the default rounding mode.
void round_op(OpContext& ctx) { unary_float(ctx, [](auto v) { return std::nearbyint(v); }); }
void sin_op(OpContext& ctx) { unary_float(ctx, [](auto v) { return std::sin(v); }); }
void cos_op(OpContext& ctx) { unary_float(ctx, [](auto v) { return std::cos(v); }); }
void tan_op(OpContext& ctx) { unary_float(ctx, [](auto v) { return std::tan(v); }); }
void asin_op(OpContext& ctx) { unary_float(ctx, [](auto v) { return std::asin(v); }); }
void acos_op(OpContext& ctx) { unary_float(ctx, [](auto v) { return std::acos(v); }); }
void atan_op(OpContext& ctx) { unary_float(ctx, [](auto v) { return std::atan(v); }); }
void sinh_op(OpContext& ctx) { unary_float(ctx, [](auto v) { return std::sinh(v); }); }
void cosh_op(OpContext& ctx) { unary_float(ctx, [](auto v) { return std::cosh(v); }); }
void asinh_op(OpContext& ctx) { unary_float(ctx, [](auto v) { return std::asinh(v); }); }
void acosh_op(OpContext& ctx) { unary_float(ctx, [](auto v) { return std::acosh(v); }); }
void atanh_op(OpContext& ctx) { unary_float(ctx, [](auto v) { return std::atanh(v); }); }
void erf_op(OpContext& ctx) { unary_float(ctx, [](auto v) { return std::erf(v); }); }

}  // namespace

HONE_REGISTER_OP({.name = "Abs", .since = 1, .infer = infer_same_as_input, .compute = abs_op});
HONE_REGISTER_OP({.name = "Neg", .since = 1, .infer = infer_same_as_input, .compute = neg});
HONE_REGISTER_OP({.name = "Sign", .since = 9, .infer = infer_same_as_input, .compute = sign});
HONE_REGISTER_OP({.name = "Exp", .since = 1, .infer = infer_same_as_input, .compute = exp_op});
HONE_REGISTER_OP({.name = "Log", .since = 1, .infer = infer_same_as_input, .compute = log_op});
HONE_REGISTER_OP({.name = "Sqrt", .since = 1, .infer = infer_same_as_input, .compute = sqrt_op});
HONE_REGISTER_OP({.name = "Reciprocal", .since = 1, .infer = infer_same_as_input, .compute = reciprocal});
HONE_REGISTER_OP({.name = "Floor", .since = 1, .infer = infer_same_as_input, .compute = floor_op});
HONE_REGISTER_OP({.name = "Ceil", .since = 1, .infer = infer_same_as_input, .compute = ceil_op});
HONE_REGISTER_OP({.name = "Round", .since = 11, .infer = infer_same_as_input, .compute = round_op});
HONE_REGISTER_OP({.name = "Sin", .since = 7, .infer = infer_same_as_input, .compute = sin_op});
HONE_REGISTER_OP({.name = "Cos", .since = 7, .infer = infer_same_as_input, .compute = cos_op});
HONE_REGISTER_OP({.name = "Tan", .since = 7, .infer = infer_same_as_input, .compute = tan_op});
HONE_REGISTER_OP({.name = "Asin", .since = 7, .infer = infer_same_as_input, .compute = asin_op});
HONE_REGISTER_OP({.name = "Acos", .since = 7, .infer = infer_same_as_input, .compute = acos_op});
HONE_REGISTER_OP({.name = "Atan", .since = 7, .infer = infer_same_as_input, .compute = atan_op});
HONE_REGISTER_OP({.name = "Sinh", .since = 9, .infer = infer_same_as_input, .compute = sinh_op});
HONE_REGISTER_OP({.name = "Cosh", .since = 9, .infer = infer_same_as_input, .compute = cosh_op});
HONE_REGISTER_OP({.name = "Asinh", .since = 9, .infer = infer_same_as_input, .compute = asinh_op});
HONE_REGISTER_OP({.name = "Acosh", .since = 9, .infer = infer_same_as_input, .compute = acosh_op});
HONE_REGISTER_OP({.name = "Atanh", .since = 9, .infer = infer_same_as_input, .compute = atanh_op});
HONE_REGISTER_OP({.name = "Erf", .since = 9, .infer = infer_same_as_input, .compute = erf_op});

}  // namespace hone
