// Error kinds and KServe datatype names: the vocabulary both front ends share.
#include <fmt/format.h>

#include "serve/inference_server.h"

namespace hone::serve {

int http_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::InvalidArgument: return 400;
    case ErrorKind::NotFound: return 404;
    case ErrorKind::TooLarge: return 413;
    case ErrorKind::Unavailable: return 503;
    case ErrorKind::Internal: return 500;
  }
  return 500;
}

std::string_view error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::InvalidArgument: return "invalid_argument";
    case ErrorKind::NotFound: return "not_found";
    case ErrorKind::TooLarge: return "too_large";
    case ErrorKind::Unavailable: return "unavailable";
    case ErrorKind::Internal: return "internal";
  }
  return "internal";
}

namespace {
struct DatatypeName {
  DType dtype;
  std::string_view name;
};
constexpr DatatypeName kDatatypes[] = {
    {DType::Bool, "BOOL"},     {DType::UInt8, "UINT8"},   {DType::UInt16, "UINT16"}, {DType::UInt32, "UINT32"},
    {DType::UInt64, "UINT64"}, {DType::Int8, "INT8"},     {DType::Int16, "INT16"},   {DType::Int32, "INT32"},
    {DType::Int64, "INT64"},   {DType::Float16, "FP16"},  {DType::BFloat16, "BF16"}, {DType::Float32, "FP32"},
    {DType::Float64, "FP64"},  {DType::String, "BYTES"},
};
}  // namespace

std::string kserve_datatype(DType dtype) {
  for (const auto& d : kDatatypes)
    if (d.dtype == dtype) return std::string(d.name);
  throw ServeError(ErrorKind::InvalidArgument,
                   fmt::format("element type {} has no KServe v2 datatype", static_cast<int>(dtype)));
}

DType dtype_from_kserve(std::string_view datatype) {
  for (const auto& d : kDatatypes)
    if (d.name == datatype) return d.dtype;
  throw ServeError(ErrorKind::InvalidArgument,
                   fmt::format("unknown datatype '{}' (KServe v2 names: BOOL, UINT8..UINT64, INT8..INT64, FP16, BF16, "
                               "FP32, FP64, BYTES)",
                               datatype));
}

}  // namespace hone::serve
