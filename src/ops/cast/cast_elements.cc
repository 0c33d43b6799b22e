#include "ops/cast/cast_elements.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/half.h"

namespace hone {
namespace {

// What a source element reads as: the exact value of a float (and the type it came from, for string
// formatting), a signed or unsigned integer, a bool, or a string.
struct FloatVal {
  double v;
  DType type;
};
struct BoolVal {
  bool b;
};
struct StrVal {
  const std::string* s;
};

// ---- float -> integer, as numpy's C casts behave on x86 (cvttsd2si: out of range gives 0x80..0) ----

int64_t trunc_via_int32(double v) {
  if (!(v > -2147483649.0 && v < 2147483648.0)) return INT32_MIN;
  return static_cast<int32_t>(v);
}
int64_t trunc_via_int64(double v) {
  if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) return INT64_MIN;
  return static_cast<int64_t>(v);
}
uint64_t trunc_to_uint64(double v) {
  if (v >= 0 && v < 18446744073709551616.0) return static_cast<uint64_t>(v);
  return static_cast<uint64_t>(trunc_via_int64(v));
}

// The float nearest `d` rounding toward zero, with its last bit set when inexact ("round to odd"): rounding that
// to float16/bfloat16 (at most 16 significant bits, fewer than float's 24 - 2) gives the correctly rounded result.
float round_to_odd_float(double d) {
  auto f = static_cast<float>(d);
  if (std::isnan(d) || std::isinf(f) || static_cast<double>(f) == d) return f;
  if (std::fabs(static_cast<double>(f)) > std::fabs(d)) f = std::nextafter(f, 0.0f);
  return bits_to_float(float_to_bits(f) | 1u);
}

// ---- strings ----

struct ParsedNumber {
  enum Kind { Int, UInt, Float } kind;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
};

bool only_space(const char* p) {
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') ++p;
  return *p == 0;
}

ParsedNumber parse_number(const std::string& s, const Node& node) {
  const char* b = s.c_str();
  char* end = nullptr;
  errno = 0;
  long long i = std::strtoll(b, &end, 10);
  if (end != b && errno == 0 && only_space(end)) return {ParsedNumber::Int, i, 0, 0};
  if (s.find('-') == std::string::npos) {
    errno = 0;
    unsigned long long u = std::strtoull(b, &end, 10);
    if (end != b && errno == 0 && only_space(end)) return {ParsedNumber::UInt, 0, u, 0};
  }
  double d = std::strtod(b, &end);  // accepts inf, +inf, -inf, nan in any case
  if (end != b && only_space(end)) return {ParsedNumber::Float, 0, 0, d};
  fail("{}: cannot convert the string '{}' to a number", node.label(), s);
}

// numpy's str() layout of a shortest-digits decimal: positional for 1e-4 <= |x| < 1e16 ("100.0", "0.001"),
// scientific otherwise ("1e-07", "1.5e+16").
std::string numpy_layout(bool negative, const std::string& digits, int exp10) {
  std::string out = negative ? "-" : "";
  if (exp10 >= -4 && exp10 < 16) {
    if (exp10 >= 0) {
      std::string int_part = digits.substr(0, std::min<size_t>(digits.size(), static_cast<size_t>(exp10) + 1));
      while (static_cast<int>(int_part.size()) < exp10 + 1) int_part += '0';
      std::string frac = digits.size() > static_cast<size_t>(exp10) + 1 ? digits.substr(static_cast<size_t>(exp10) + 1) : "0";
      out += int_part + "." + frac;
    } else {
      out += "0." + std::string(static_cast<size_t>(-exp10 - 1), '0') + digits;
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  char buf[16];
  std::snprintf(buf, sizeof buf, "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
  return out + buf;
}

// Splits to_chars' scientific output ("4.7892547e-01") into digits and exponent, trailing zeros removed.
void split_scientific(const char* s, std::string& digits, int& exp10) {
  digits.clear();
  const char* p = s;
  if (*p == '-') ++p;
  for (; *p && *p != 'e'; ++p)
    if (*p != '.') digits += *p;
  exp10 = *p == 'e' ? std::atoi(p + 1) : 0;
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
}

std::string format_float(const FloatVal& x) {
  double v = x.v;
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[64];
  std::string digits;
  int exp10 = 0;
  switch (x.type) {
    case DType::Float32: {
      auto r = std::to_chars(buf, buf + sizeof buf - 1, static_cast<float>(v), std::chars_format::scientific);
      *r.ptr = 0;
      break;
    }
    case DType::Float64: {
      auto r = std::to_chars(buf, buf + sizeof buf - 1, v, std::chars_format::scientific);
      *r.ptr = 0;
      break;
    }
    case DType::Float16: {  // numpy prints the shortest digits that read back as the same float16
      uint16_t bits = Float16(static_cast<float>(v)).bits;
      for (int precision = 0; precision < 17; ++precision) {
        auto r = std::to_chars(buf, buf + sizeof buf - 1, v, std::chars_format::scientific, precision);
        *r.ptr = 0;
        if (Float16(round_to_odd_float(std::strtod(buf, nullptr))).bits == bits) break;
      }
      break;
    }
    default:  // ml_dtypes scalars (bfloat16, float8, float4) print as a C++ stream prints the float: %g
      std::snprintf(buf, sizeof buf, "%g", v);
      return buf;
  }
  split_scientific(buf, digits, exp10);
  return numpy_layout(std::signbit(v), digits, exp10);
}

// ---- targets: how each element type is written from each kind of value ----

struct ToFloat32 {
  using Storage = float;
  const Node* node;
  float from_double(double d) const { return static_cast<float>(d); }
  float from_int(int64_t i) const { return static_cast<float>(i); }
  float from_uint(uint64_t u) const { return static_cast<float>(u); }
  float from_string(const std::string& s) const {
    ParsedNumber p = parse_number(s, *node);
    if (p.kind == ParsedNumber::Float) return std::strtof(s.c_str(), nullptr);  // one rounding, from the text
    return p.kind == ParsedNumber::Int ? from_int(p.i) : from_uint(p.u);
  }
};
struct ToFloat64 {
  using Storage = double;
  const Node* node;
  double from_double(double d) const { return d; }
  double from_int(int64_t i) const { return static_cast<double>(i); }
  double from_uint(uint64_t u) const { return static_cast<double>(u); }
};
struct ToFloat16 {
  using Storage = Float16;
  const Node* node;
  Float16 from_double(double d) const { return Float16(round_to_odd_float(d)); }
  Float16 from_int(int64_t i) const { return from_double(static_cast<double>(i)); }
  Float16 from_uint(uint64_t u) const { return from_double(static_cast<double>(u)); }
};
struct ToBFloat16 {
  using Storage = BFloat16;
  const Node* node;
  BFloat16 from_double(double d) const { return BFloat16(round_to_odd_float(d)); }
  BFloat16 from_int(int64_t i) const { return from_double(static_cast<double>(i)); }
  BFloat16 from_uint(uint64_t u) const { return from_double(static_cast<double>(u)); }
};
struct ToMiniFloat {  // float8e4m3fn, float8e4m3fnuz, float8e5m2, float8e5m2fnuz, float4e2m1
  using Storage = uint8_t;
  const Node* node;
  DType type;
  bool saturate;
  uint8_t from_double(double d) const { return double_to_float8(type, d, saturate); }
  uint8_t from_int(int64_t i) const { return from_double(static_cast<double>(i)); }
  uint8_t from_uint(uint64_t u) const { return from_double(static_cast<double>(u)); }
};
struct ToE8M0 {  // the reference converts to float32 first
  using Storage = uint8_t;
  const Node* node;
  bool saturate;
  E8M0Rounding mode;
  uint8_t from_double(double d) const { return float_to_float8e8m0(static_cast<float>(d), saturate, mode); }
  uint8_t from_int(int64_t i) const { return float_to_float8e8m0(static_cast<float>(i), saturate, mode); }
  uint8_t from_uint(uint64_t u) const { return float_to_float8e8m0(static_cast<float>(u), saturate, mode); }
};
struct ToBool {
  using Storage = uint8_t;
  const Node* node;
  uint8_t from_double(double d) const { return d != 0; }
  uint8_t from_int(int64_t i) const { return i != 0; }
  uint8_t from_uint(uint64_t u) const { return u != 0; }
  uint8_t from_string(const std::string& s) const {
    std::string lower;
    for (char c : s) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (lower == "true") return 1;
    if (lower == "false") return 0;
    ParsedNumber p = parse_number(s, *node);
    return p.kind == ParsedNumber::Float ? from_double(p.d) : p.kind == ParsedNumber::Int ? from_int(p.i) : from_uint(p.u);
  }
};
// int8..int64, uint8..uint64. kVia32: numpy converts floats to this type through a 32-bit integer.
template <typename D, bool kVia32>
struct ToInt {
  using Storage = D;
  const Node* node;
  D from_double(double d) const {
    if constexpr (std::is_same_v<D, uint64_t>) return trunc_to_uint64(d);
    else return static_cast<D>(kVia32 ? trunc_via_int32(d) : trunc_via_int64(d));
  }
  D from_int(int64_t i) const { return static_cast<D>(i); }
  D from_uint(uint64_t u) const { return static_cast<D>(u); }
};
// int4, uint4, int2, uint2 (held one per byte): the low bits, sign-extended for the signed types.
template <int kBits, bool kSigned>
struct ToSubByteInt {
  using Storage = std::conditional_t<kSigned, int8_t, uint8_t>;
  const Node* node;
  Storage from_int(int64_t i) const {
    auto low = static_cast<int>(static_cast<uint64_t>(i) & ((1u << kBits) - 1));
    if (kSigned && low >= (1 << (kBits - 1))) low -= 1 << kBits;
    return static_cast<Storage>(low);
  }
  Storage from_double(double d) const { return from_int(trunc_via_int32(d)); }
  Storage from_uint(uint64_t u) const { return from_int(static_cast<int64_t>(u)); }
};
struct ToString {
  using Storage = std::string;
  const Node* node;
};

template <typename T>
typename T::Storage convert(const T& t, FloatVal x) { return t.from_double(x.v); }
template <typename T>
typename T::Storage convert(const T& t, int64_t x) { return t.from_int(x); }
template <typename T>
typename T::Storage convert(const T& t, uint64_t x) { return t.from_uint(x); }
template <typename T>
typename T::Storage convert(const T& t, BoolVal x) { return t.from_int(x.b ? 1 : 0); }
template <typename T>
typename T::Storage convert(const T& t, StrVal x) {
  if constexpr (requires { t.from_string(*x.s); }) {
    return t.from_string(*x.s);
  } else {
    ParsedNumber p = parse_number(*x.s, *t.node);
    if (p.kind == ParsedNumber::Int) return t.from_int(p.i);
    if (p.kind == ParsedNumber::UInt) return t.from_uint(p.u);
    return t.from_double(p.d);
  }
}
std::string convert(const ToString&, FloatVal x) { return format_float(x); }
std::string convert(const ToString&, int64_t x) { return std::to_string(x); }
std::string convert(const ToString&, uint64_t x) { return std::to_string(x); }
std::string convert(const ToString&, BoolVal x) { return x.b ? "True" : "False"; }
std::string convert(const ToString&, StrVal x) { return *x.s; }

// Writes every element of `in` (read through `read`) into dst.
template <typename S, typename Read>
void cast_from(const S* in, Read read, Tensor& dst, const CastOptions& o, const Node& node) {
  int64_t n = dst.numel();
  auto run = [&](auto target) {
    using Out = typename decltype(target)::Storage;
    Out* out = dst.data<Out>();
    for (int64_t i = 0; i < n; ++i) out[i] = convert(target, read(in[i]));
  };
  const Node* nd = &node;
  switch (dst.dtype()) {
    case DType::Float32: run(ToFloat32{nd}); break;
    case DType::Float64: run(ToFloat64{nd}); break;
    case DType::Float16: run(ToFloat16{nd}); break;
    case DType::BFloat16: run(ToBFloat16{nd}); break;
    case DType::Float8E4M3FN: case DType::Float8E4M3FNUZ: case DType::Float8E5M2: case DType::Float8E5M2FNUZ:
    case DType::Float4E2M1:
      run(ToMiniFloat{nd, dst.dtype(), o.saturate});
      break;
    case DType::Float8E8M0: run(ToE8M0{nd, o.saturate, o.round_mode}); break;
    case DType::Bool: run(ToBool{nd}); break;
    case DType::Int8: run(ToInt<int8_t, true>{nd}); break;
    case DType::Int16: run(ToInt<int16_t, true>{nd}); break;
    case DType::Int32: run(ToInt<int32_t, true>{nd}); break;
    case DType::Int64: run(ToInt<int64_t, false>{nd}); break;
    case DType::UInt8: run(ToInt<uint8_t, true>{nd}); break;
    case DType::UInt16: run(ToInt<uint16_t, true>{nd}); break;
    case DType::UInt32: run(ToInt<uint32_t, false>{nd}); break;
    case DType::UInt64: run(ToInt<uint64_t, false>{nd}); break;
    case DType::Int4: run(ToSubByteInt<4, true>{nd}); break;
    case DType::UInt4: run(ToSubByteInt<4, false>{nd}); break;
    case DType::Int2: run(ToSubByteInt<2, true>{nd}); break;
    case DType::UInt2: run(ToSubByteInt<2, false>{nd}); break;
    case DType::String: run(ToString{nd}); break;
    default: fail("{}: cannot cast to element type {}", node.label(), dtype_name(dst.dtype()));
  }
}

}  // namespace

E8M0Rounding parse_round_mode(const std::string& mode, const Node& node) {
  if (mode == "up") return E8M0Rounding::Up;
  if (mode == "down") return E8M0Rounding::Down;
  if (mode == "nearest") return E8M0Rounding::Nearest;
  fail("{}: round_mode must be 'up', 'down' or 'nearest', not '{}'", node.label(), mode);
}

void cast_elements(const Tensor& src, Tensor& dst, const CastOptions& o, const Node& node) {
  if (src.numel() != dst.numel())
    fail("{}: cast of {} elements into {}", node.label(), src.numel(), dst.numel());
  auto as_int = [](auto v) { return static_cast<int64_t>(v); };
  auto as_float = [](DType t) { return [t](auto v) { return FloatVal{static_cast<double>(static_cast<float>(v)), t}; }; };
  switch (src.dtype()) {
    case DType::Float32: cast_from(src.data<float>(), as_float(DType::Float32), dst, o, node); break;
    case DType::Float64:
      cast_from(src.data<double>(), [](double v) { return FloatVal{v, DType::Float64}; }, dst, o, node);
      break;
    case DType::Float16: cast_from(src.data<Float16>(), as_float(DType::Float16), dst, o, node); break;
    case DType::BFloat16: cast_from(src.data<BFloat16>(), as_float(DType::BFloat16), dst, o, node); break;
    case DType::Float8E4M3FN: case DType::Float8E4M3FNUZ: case DType::Float8E5M2: case DType::Float8E5M2FNUZ:
    case DType::Float4E2M1: case DType::Float8E8M0: {
      DType t = src.dtype();
      cast_from(src.data<uint8_t>(), [t](uint8_t c) { return FloatVal{float8_to_float(t, c), t}; }, dst, o, node);
      break;
    }
    case DType::Bool: cast_from(src.data<uint8_t>(), [](uint8_t v) { return BoolVal{v != 0}; }, dst, o, node); break;
    case DType::Int8: case DType::Int4: case DType::Int2: cast_from(src.data<int8_t>(), as_int, dst, o, node); break;
    case DType::Int16: cast_from(src.data<int16_t>(), as_int, dst, o, node); break;
    case DType::Int32: cast_from(src.data<int32_t>(), as_int, dst, o, node); break;
    case DType::Int64: cast_from(src.data<int64_t>(), as_int, dst, o, node); break;
    case DType::UInt8: case DType::UInt4: case DType::UInt2: cast_from(src.data<uint8_t>(), as_int, dst, o, node); break;
    case DType::UInt16: cast_from(src.data<uint16_t>(), as_int, dst, o, node); break;
    case DType::UInt32: cast_from(src.data<uint32_t>(), as_int, dst, o, node); break;
    case DType::UInt64: cast_from(src.data<uint64_t>(), [](uint64_t v) { return v; }, dst, o, node); break;
    case DType::String:
      cast_from(src.data<std::string>(), [](const std::string& s) { return StrVal{&s}; }, dst, o, node);
      break;
    default: fail("{}: cannot cast from element type {}", node.label(), dtype_name(src.dtype()));
  }
}

}  // namespace hone
