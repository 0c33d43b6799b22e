#include "core/float8.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"

namespace hone {
namespace {

struct MiniFloat {
  int bits;            // 8, or 4 for float4e2m1
  int mant_bits;
  int bias;
  bool has_inf;        // e5m2: IEEE-style inf (S.11111.00) and nan (S.11111.xx)
  bool fnuz;           // no negative zero; 0x80 is the only nan
  bool all_ones_nan;   // e4m3fn: S.1111.111 is nan, no inf
  double max_value;    // largest finite magnitude
  uint32_t max_code;   // its code (magnitude bits)
};

const MiniFloat& format(DType t) {
  static const MiniFloat e4m3fn{8, 3, 7, false, false, true, 448.0, 0x7e};
  static const MiniFloat e4m3fnuz{8, 3, 8, false, true, false, 240.0, 0x7f};
  static const MiniFloat e5m2{8, 2, 15, true, false, false, 57344.0, 0x7b};
  static const MiniFloat e5m2fnuz{8, 2, 16, false, true, false, 57344.0, 0x7f};
  static const MiniFloat e2m1{4, 1, 1, false, false, false, 6.0, 0x7};
  switch (t) {
    case DType::Float8E4M3FN: return e4m3fn;
    case DType::Float8E4M3FNUZ: return e4m3fnuz;
    case DType::Float8E5M2: return e5m2;
    case DType::Float8E5M2FNUZ: return e5m2fnuz;
    case DType::Float4E2M1: return e2m1;
    default: fail("{} is not an 8- or 4-bit float type", dtype_name(t));
  }
}

// Value of the magnitude bits (no sign); nan/inf where the format says so.
double decode_magnitude(const MiniFloat& f, uint32_t mag) {
  int exp_bits = f.bits - 1 - f.mant_bits;
  uint32_t exp = mag >> f.mant_bits;
  uint32_t mant = mag & ((1u << f.mant_bits) - 1);
  uint32_t exp_max = (1u << exp_bits) - 1;
  if (f.has_inf && exp == exp_max) return mant ? std::numeric_limits<double>::quiet_NaN() : INFINITY;
  if (f.all_ones_nan && exp == exp_max && mant == (1u << f.mant_bits) - 1)
    return std::numeric_limits<double>::quiet_NaN();
  if (exp == 0) return std::ldexp(static_cast<double>(mant), 1 - f.bias - f.mant_bits);
  return std::ldexp(1.0 + static_cast<double>(mant) / static_cast<double>(1u << f.mant_bits),
                    static_cast<int>(exp) - f.bias);
}

// Magnitude bits of a value the format represents exactly (0 <= r <= max_value).
uint32_t encode_exact(const MiniFloat& f, double r) {
  if (r == 0) return 0;
  int min_exp = 1 - f.bias;  // exponent of the smallest normal
  if (r < std::ldexp(1.0, min_exp)) return static_cast<uint32_t>(std::ldexp(r, f.mant_bits - min_exp));
  int e;
  double m = std::frexp(r, &e);  // r = m * 2^e, m in [0.5, 1)
  e -= 1;                        // r = (2m) * 2^e, 2m in [1, 2)
  auto mant = static_cast<uint32_t>(std::ldexp(2 * m - 1, f.mant_bits));
  return (static_cast<uint32_t>(e + f.bias) << f.mant_bits) | mant;
}

}  // namespace

float float8_to_float(DType t, uint8_t code) {
  if (t == DType::Float8E8M0) {
    if (code == 0xff) return std::numeric_limits<float>::quiet_NaN();
    return std::ldexp(1.0f, static_cast<int>(code) - 127);
  }
  const MiniFloat& f = format(t);
  uint32_t sign_bit = 1u << (f.bits - 1);
  code &= static_cast<uint8_t>((1u << f.bits) - 1);
  if (f.fnuz && code == 0x80) return -std::numeric_limits<float>::quiet_NaN();
  auto v = static_cast<float>(decode_magnitude(f, code & (sign_bit - 1)));
  return (code & sign_bit) ? -v : v;
}

uint8_t double_to_float8(DType t, double x, bool saturate) {
  if (t == DType::Float8E8M0) return float_to_float8e8m0(static_cast<float>(x), saturate, E8M0Rounding::Up);
  const MiniFloat& f = format(t);
  bool is_float4 = t == DType::Float4E2M1;
  if (is_float4) saturate = true;  // no inf, no nan: ml_dtypes clamps
  uint32_t sign_bit = 1u << (f.bits - 1);
  uint32_t sign = std::signbit(x) ? sign_bit : 0;
  uint32_t nan_code = f.fnuz ? 0x80u : (is_float4 ? 0x8u : (sign | (f.has_inf ? 0x7eu : 0x7fu)));
  if (std::isnan(x)) return static_cast<uint8_t>(nan_code);
  auto overflow = [&]() -> uint8_t {
    if (saturate) return static_cast<uint8_t>(sign | f.max_code);
    if (f.has_inf) return static_cast<uint8_t>(sign | 0x7c);
    return static_cast<uint8_t>(nan_code);
  };
  double a = std::fabs(x);
  if (std::isinf(a) || a > 2 * f.max_value) return overflow();
  // Round to the format's precision at a's binade (the subnormal quantum below the smallest normal); nearbyint
  // rounds ties to even under the default rounding mode, and scaling by a power of two is exact.
  int min_exp = 1 - f.bias;
  int e = min_exp;
  if (a >= std::ldexp(1.0, min_exp)) {
    std::frexp(a, &e);
    e -= 1;
  }
  double quantum = std::ldexp(1.0, e - f.mant_bits);
  double r = std::nearbyint(a / quantum) * quantum;
  if (r > f.max_value) return overflow();
  uint32_t mag = encode_exact(f, r);
  if (mag == 0 && f.fnuz) return 0;  // no negative zero
  return static_cast<uint8_t>(sign | mag);
}

uint8_t float_to_float8(DType t, float x, bool saturate) { return double_to_float8(t, static_cast<double>(x), saturate); }

uint8_t float_to_float8e8m0(float x, bool saturate, E8M0Rounding mode) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  uint32_t exponent = (bits >> 23) & 0xff;
  uint32_t mantissa = bits & 0x7fffff;
  if (exponent == 0xff) return 0xff;  // nan and inf
  bool round_up = false;
  switch (mode) {
    case E8M0Rounding::Up: round_up = mantissa != 0; break;
    case E8M0Rounding::Down: break;
    case E8M0Rounding::Nearest: {
      // As onnx.numpy_helper.to_float8e8m0: guard bit set and (round bit, sticky bits or a nonzero exponent).
      bool g = bits & 0x400000, r = bits & 0x200000, s = bits & 0x1fffff;
      round_up = g && (r || s || exponent > 0);
      break;
    }
  }
  if (round_up && saturate && exponent == 0xfe) round_up = false;
  return static_cast<uint8_t>(exponent + (round_up ? 1 : 0));
}

}  // namespace hone
