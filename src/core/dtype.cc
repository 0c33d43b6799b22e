#include "core/dtype.h"

#include <array>
#include <string>

#include "core/error.h"

namespace hone {
namespace {

struct DTypeInfo {
  std::string_view name;
  size_t size;
  int bits;
};

constexpr std::array<DTypeInfo, kNumDTypes> kInfo = {{
    {"undefined", 0, 0},   {"float", 4, 32},        {"uint8", 1, 8},          {"int8", 1, 8},
    {"uint16", 2, 16},     {"int16", 2, 16},        {"int32", 4, 32},         {"int64", 8, 64},
    {"string", sizeof(std::string), 0},             {"bool", 1, 8},           {"float16", 2, 16},
    {"double", 8, 64},     {"uint32", 4, 32},       {"uint64", 8, 64},        {"complex64", 8, 64},
    {"complex128", 16, 128}, {"bfloat16", 2, 16},   {"float8e4m3fn", 1, 8},   {"float8e4m3fnuz", 1, 8},
    {"float8e5m2", 1, 8},  {"float8e5m2fnuz", 1, 8}, {"uint4", 1, 4},         {"int4", 1, 4},
    {"float4e2m1", 1, 4},  {"float8e8m0", 1, 8},    {"uint2", 1, 2},          {"int2", 1, 2},
}};
static_assert(kInfo.size() == kNumDTypes, "every DType needs a row");

const DTypeInfo& info(DType t) {
  auto i = static_cast<int32_t>(t);
  if (i < 0 || i >= kNumDTypes) fail("invalid element type code {}", i);
  return kInfo[static_cast<size_t>(i)];
}

}  // namespace

size_t dtype_size(DType t) { return info(t).size; }
std::string_view dtype_name(DType t) { return info(t).name; }
int dtype_bits(DType t) { return info(t).bits; }

bool dtype_is_valid(int32_t code) { return code > 0 && code < kNumDTypes; }

DType dtype_from_name(std::string_view name) {
  for (int i = 1; i < kNumDTypes; ++i)
    if (kInfo[static_cast<size_t>(i)].name == name) return static_cast<DType>(i);
  if (name == "float32") return DType::Float32;
  if (name == "float64") return DType::Float64;
  fail("unknown element type '{}'", name);
}

bool is_float(DType t) {
  switch (t) {
    case DType::Float32: case DType::Float16: case DType::Float64: case DType::BFloat16:
    case DType::Float8E4M3FN: case DType::Float8E4M3FNUZ: case DType::Float8E5M2: case DType::Float8E5M2FNUZ:
    case DType::Float4E2M1: case DType::Float8E8M0:
      return true;
    default:
      return false;
  }
}

bool is_signed_integer(DType t) {
  switch (t) {
    case DType::Int8: case DType::Int16: case DType::Int32: case DType::Int64: case DType::Int4: case DType::Int2:
      return true;
    default:
      return false;
  }
}

bool is_integer(DType t) {
  switch (t) {
    case DType::UInt8: case DType::UInt16: case DType::UInt32: case DType::UInt64: case DType::UInt4:
    case DType::UInt2:
      return true;
    default:
      return is_signed_integer(t);
  }
}

bool is_sub_byte(DType t) { return info(t).bits > 0 && info(t).bits < 8; }

}  // namespace hone
