// Element types. Numbering follows onnx.TensorProto.DataType so that import and export are a cast.
// Sub-byte types (int4, uint4, int2, uint2, float4e2m1) are held unpacked, one element per byte, in memory;
// only the ONNX wire format packs them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hone {

enum class DType : int32_t {
  Undefined = 0,
  Float32 = 1,
  UInt8 = 2,
  Int8 = 3,
  UInt16 = 4,
  Int16 = 5,
  Int32 = 6,
  Int64 = 7,
  String = 8,
  Bool = 9,
  Float16 = 10,
  Float64 = 11,
  UInt32 = 12,
  UInt64 = 13,
  Complex64 = 14,
  Complex128 = 15,
  BFloat16 = 16,
  Float8E4M3FN = 17,
  Float8E4M3FNUZ = 18,
  Float8E5M2 = 19,
  Float8E5M2FNUZ = 20,
  UInt4 = 21,
  Int4 = 22,
  Float4E2M1 = 23,
  Float8E8M0 = 24,
  UInt2 = 25,
  Int2 = 26,
};
// Append-only: a new type must extend every table in dtype.cc, which static_asserts on this count.
inline constexpr int kNumDTypes = 27;

// Bytes one element occupies in memory (sub-byte types: 1). String: sizeof(std::string).
size_t dtype_size(DType t);
// Name as ONNX spells it in lower case: "float", "int64", "float16", ...
std::string_view dtype_name(DType t);
DType dtype_from_name(std::string_view name);  // throws on unknown
bool dtype_is_valid(int32_t onnx_code);
bool is_float(DType t);    // any floating type, including float8/float4
bool is_integer(DType t);  // signed or unsigned integer, any width (not bool)
bool is_signed_integer(DType t);
bool is_sub_byte(DType t);  // int4/uint4/int2/uint2/float4e2m1: packed on the wire
int dtype_bits(DType t);    // wire bits per element (4 for int4, 32 for float32, 0 for string)

}  // namespace hone
