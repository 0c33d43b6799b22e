#include "core/float8.h"

#include <array>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace hone {
namespace {

struct MiniFloat {
  int exp_bits, mant_bits, bias;
  bool has_inf;        // e5m2: IEEE-style inf and nan
  bool nan_is_0x80;    // fnuz types: the only nan is 0x80, no negative zero
  bool all_ones_nan;   // e4m3fn: S.1111.111 is nan, no inf
};

MiniFloat format(DType t) {
  switch (t) {
    case DType::Float8E4M3FN: return {4, 3, 7, false, false, true};
    case DType::Float8E4M3FNUZ: return {4, 3, 8, false, true, false};
    case DType::Float8E5M2: return {5, 2, 15, true, false, false};
    case DType::Float8E5M2FNUZ: return {5, 2, 16, false, true, false};
    case DType::Float4E2M1: return {2, 1, 1, false, false, false};
    default: fail("{} is not an 8- or 4-bit float type", dtype_name(t));
  }
}

// Decodes the magnitude bits (no sign); returns nan/inf where the format says so.
float decode_magnitude(const MiniFloat& f, uint32_t mag) {
  uint32_t exp = mag >> f.mant_bits;
  uint32_t mant = mag & ((1u << f.mant_bits) - 1);
  uint32_t exp_max = (1u << f.exp_bits) - 1;
  if (f.has_inf && exp == exp_max) return mant ? std::numeric_limits<float>::quiet_NaN() : INFINITY;
  if (f.all_ones_nan && exp == exp_max && mant == (1u << f.mant_bits) - 1) return std::numeric_limits<float>::quiet_NaN();
  if (exp == 0) return std::ldexp(static_cast<float>(mant), 1 - f.bias - f.mant_bits);
  return std::ldexp(1.0f + static_cast<float>(mant) / static_cast<float>(1u << f.mant_bits),
                    static_cast<int>(exp) - f.bias);
}

int bits_of(DType t) { return t == DType::Float4E2M1 ? 4 : 8; }

}  // namespace

float float8_to_float(DType t, uint8_t code) {
  if (t == DType::Float8E8M0) {
    if (code == 0xff) return std::numeric_limits<float>::quiet_NaN();
    return std::ldexp(1.0f, static_cast<int>(code) - 127);
  }
  MiniFloat f = format(t);
  int bits = bits_of(t);
  uint32_t sign_bit = 1u << (bits - 1);
  code &= static_cast<uint8_t>((1u << bits) - 1);
  if (f.nan_is_0x80 && code == 0x80) return std::numeric_limits<float>::quiet_NaN();
  float v = decode_magnitude(f, code & (sign_bit - 1));
  return (code & sign_bit) ? -v : v;
}

uint8_t float_to_float8(DType t, float x, bool saturate) {
  if (t == DType::Float8E8M0) {
    // Round to the nearest power of two (ties up, as ONNX's default round_mode "up" for e8m0 does on the mantissa).
    if (std::isnan(x) || x <= 0) return x == 0 ? 0 : 0xff;
    if (std::isinf(x)) return saturate ? 0xfe : 0xff;
    int e;
    float m = std::frexp(x, &e);  // x = m * 2^e, m in [0.5, 1)
    int exp = e - 1;              // x = (2m) * 2^(e-1)
    if (2 * m > 1.0f) exp += 1;   // round up any mantissa above 1
    int code = exp + 127;
    if (code < 0) return 0;
    if (code > 254) return saturate ? 0xfe : 0xff;
    return static_cast<uint8_t>(code);
  }
  MiniFloat f = format(t);
  int bits = bits_of(t);
  uint32_t sign_bit = 1u << (bits - 1);
  uint32_t nan_code = f.nan_is_0x80 ? 0x80u : (f.has_inf ? 0x7fu : (f.all_ones_nan ? 0x7fu : 0u));
  bool neg = std::signbit(x);
  uint32_t sign = (neg && !f.nan_is_0x80) ? sign_bit : 0;
  if (std::isnan(x)) {
    if (t == DType::Float4E2M1) return 0x7;  // no nan: ONNX maps nan to the max (saturating) value... keep max
    return static_cast<uint8_t>(nan_code);
  }
  // Largest finite magnitude code.
  uint32_t max_code;
  if (f.has_inf) max_code = (((1u << f.exp_bits) - 2) << f.mant_bits) | ((1u << f.mant_bits) - 1);
  else if (f.all_ones_nan) max_code = sign_bit - 2;
  else max_code = sign_bit - 1;
  float max_val = decode_magnitude(f, max_code);
  float a = std::fabs(x);
  auto overflow = [&]() -> uint8_t {
    if (saturate) return static_cast<uint8_t>((neg ? sign_bit : 0) | max_code);
    if (f.has_inf) return static_cast<uint8_t>(sign | 0x7c);
    if (t == DType::Float4E2M1) return static_cast<uint8_t>((neg ? sign_bit : 0) | max_code);
    return static_cast<uint8_t>(nan_code);
  };
  if (std::isinf(x)) {
    if (f.nan_is_0x80) return saturate ? overflow() : static_cast<uint8_t>(nan_code);
    if (saturate) return overflow();
    return overflow();
  }
  // Nearest representable magnitude, ties to the even code. Codes are monotonic in value for magnitudes.
  uint32_t lo = 0, hi = max_code;
  while (lo < hi) {  // first code with value >= a
    uint32_t mid = (lo + hi) / 2;
    if (decode_magnitude(f, mid) < a) lo = mid + 1;
    else hi = mid;
  }
  uint32_t code;
  float v_hi = decode_magnitude(f, lo);
  if (v_hi < a) {
    // above the max: compare with the half-way point to the next (virtual) step
    float step = max_val - decode_magnitude(f, max_code - 1);
    float halfway = max_val + step / 2;
    if (a < halfway || (a == halfway && (max_code & 1) == 0)) code = max_code;
    else return overflow();
  } else if (lo == 0 || v_hi == a) {
    code = lo;
  } else {
    float v_lo = decode_magnitude(f, lo - 1);
    float d_lo = a - v_lo, d_hi = v_hi - a;
    if (d_lo < d_hi) code = lo - 1;
    else if (d_hi < d_lo) code = lo;
    else code = ((lo - 1) & 1) == 0 ? lo - 1 : lo;
  }
  if (code == 0 && f.nan_is_0x80) return 0;  // no negative zero
  return static_cast<uint8_t>(sign | code);
}

}  // namespace hone
