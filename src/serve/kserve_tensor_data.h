// One tensor's contents as the KServe v2 REST protocol carries them: a JSON "data" array (flat or nested,
// row-major) or the binary-tensor extension's bytes (little-endian, no padding; BOOL one byte 0/1; BYTES each element
// a 4-byte little-endian length and its bytes). The building blocks of kserve_json.cc.
#pragma once
#include <string>
#include <string_view>

#include "serve/inference_server.h"
#include "serve/json_reader.h"

namespace hone::serve {

// Who is to blame when a tensor cannot be read: the server reading a request blames the client (InvalidArgument),
// the client reading a reply blames the server (Internal). `role` names the tensor in messages ("input", "output").
struct TensorContext {
  ErrorKind kind;
  std::string_view role;
  std::string_view name;
};

// Checks a JSON "shape" (non-negative integers, a sane element count). Throws ServeError(ctx.kind).
Shape shape_from_json(const JsonValue& shape, const TensorContext& ctx);

// A tensor of `dtype` and `shape` from a JSON "data" array: its leaves must number shape's element count and each
// must be a value of the datatype (numbers for FP*, integers in range for (U)INT*, booleans for BOOL, strings for
// BYTES). Throws ServeError(ctx.kind) naming the first element that is wrong.
Tensor tensor_from_json_data(const JsonValue& data, DType dtype, const Shape& shape, const TensorContext& ctx);
// A tensor of `dtype` and `shape` from the binary-tensor extension's bytes, which must be exactly its size.
Tensor tensor_from_binary(std::string_view bytes, DType dtype, const Shape& shape, const TensorContext& ctx);

// Appends the tensor's elements as a flat JSON array (non-finite floats as null, which JSON has no number for).
void append_json_data(std::string& out, const Tensor& t);
// The binary-tensor extension's bytes for `t`, and their count.
size_t binary_size(const Tensor& t);
void append_binary(std::string& out, const Tensor& t);

}  // namespace hone::serve
