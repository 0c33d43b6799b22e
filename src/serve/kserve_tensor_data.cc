// Tensor contents <-> KServe v2 JSON "data" arrays and binary-tensor bytes. The hot path of every REST request:
// elements are converted in one pass straight into the tensor's buffer (no intermediate vectors), and numbers are
// written with std::to_chars (shortest round-trip form).
#include "serve/kserve_tensor_data.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "core/half.h"
#include <nlohmann/json.hpp>

namespace hone::serve {
namespace {

template <typename... Args>
[[noreturn]] void fail_tensor(const TensorContext& ctx, fmt::format_string<Args...> f, Args&&... args) {
  throw ServeError(ctx.kind,
                   fmt::format("{} '{}': {}", ctx.role, ctx.name, fmt::format(f, std::forward<Args>(args)...)));
}

// The leaves of a flat or nested array, at most `max_depth` levels deep (the shape's rank).
int64_t count_leaves(const JsonValue& j, int depth, int max_depth, const TensorContext& ctx) {
  if (depth >= max_depth) fail_tensor(ctx, "'data' is nested deeper than the shape's rank {}", max_depth);
  int64_t n = 0;
  j.for_each([&](const JsonValue& e) { n += e.is_array() ? count_leaves(e, depth + 1, max_depth, ctx) : 1; });
  return n;
}

template <typename Fn>
void for_each_leaf(const JsonValue& j, Fn& fn) {
  if (!j.is_array()) {
    fn(j);
    return;
  }
  j.for_each([&](const JsonValue& e) { for_each_leaf(e, fn); });
}

template <typename N>
bool parse_number(std::string_view text, N& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// One JSON value as a T (its literal converted once, straight to T), or false when it is not one.
template <typename T>
bool json_value_as(const JsonValue& v, T& out) {
  if (!v.is_number()) return false;
  if constexpr (std::is_same_v<T, double>) {
    return parse_number(v.number_text(), out);
  } else if constexpr (std::is_same_v<T, float> || std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) {
    float f;
    // Rounded once to float32; a literal beyond float32's range goes through double (underflow to 0, overflow to
    // infinity), as a double-parsing reader would.
    if (!parse_number(v.number_text(), f)) {
      double d;
      if (!parse_number(v.number_text(), d)) return false;
      f = static_cast<float>(d);
    }
    out = T(f);
    return true;
  } else {
    return v.is_integer_literal() && parse_number(v.number_text(), out);  // range-checked by from_chars
  }
}

template <typename T>
void fill_from_json(const JsonValue& data, Tensor& t, const TensorContext& ctx) {
  T* p = t.data<T>();
  int64_t k = 0;
  auto put = [&](const JsonValue& v) {
    if (!json_value_as(v, p[k]))
      fail_tensor(ctx, "element {} of 'data' is {}, not of datatype {}", k, v.brief(), kserve_datatype(t.dtype()));
    ++k;
  };
  for_each_leaf(data, put);
}

void fill_bools_from_json(const JsonValue& data, Tensor& t, const TensorContext& ctx) {
  auto* p = t.data<uint8_t>();
  int64_t k = 0;
  auto put = [&](const JsonValue& v) {
    if (!v.is_bool()) fail_tensor(ctx, "element {} of 'data' is {}, not true or false", k, v.brief());
    p[k++] = v.as_bool() ? 1 : 0;
  };
  for_each_leaf(data, put);
}

void fill_strings_from_json(const JsonValue& data, Tensor& t, const TensorContext& ctx) {
  auto* p = t.data<std::string>();
  int64_t k = 0;
  auto put = [&](const JsonValue& v) {
    if (!v.is_string()) fail_tensor(ctx, "element {} of 'data' is {}, not a string", k, v.brief());
    p[k++] = v.string_value();
  };
  for_each_leaf(data, put);
}

template <typename T>
void append_number(std::string& out, T v) {
  char buf[32];
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(v)) {
      out += "null";
      return;
    }
  }
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, end);
}

template <typename T, typename As = T>
void append_numbers(std::string& out, const Tensor& t) {
  const T* p = t.data<T>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (i) out += ',';
    append_number(out, static_cast<As>(p[i]));
  }
}

void check_supported(DType dtype, const TensorContext& ctx) {
  switch (dtype) {
    case DType::Bool: case DType::UInt8: case DType::UInt16: case DType::UInt32: case DType::UInt64:
    case DType::Int8: case DType::Int16: case DType::Int32: case DType::Int64: case DType::Float16:
    case DType::BFloat16: case DType::Float32: case DType::Float64: case DType::String:
      return;
    default:
      fail_tensor(ctx, "element type {} has no KServe v2 datatype", dtype_name(dtype));
  }
}

}  // namespace

Shape shape_from_json(const JsonValue& shape, const TensorContext& ctx) {
  if (!shape.is_array()) fail_tensor(ctx, "'shape' must be an array of non-negative integers, not {}", shape.brief());
  Shape s;
  s.reserve(shape.size());
  shape.for_each([&](const JsonValue& d) {
    int64_t v = -1;
    if (!d.is_number() || !d.is_integer_literal() || !parse_number(d.number_text(), v) || v < 0)
      fail_tensor(ctx, "'shape' must be an array of non-negative integers, not one holding {}", d.brief());
    if (v > kMaxTensorElements) fail_tensor(ctx, "shape dimension {} is too large", v);
    s.push_back(v);
  });
  try {
    shape_numel(s);
  } catch (const hone::Error& e) {
    fail_tensor(ctx, "shape [{}]: {}", fmt::join(s, ","), e.what());
  }
  return s;
}

Tensor tensor_from_json_data(const JsonValue& data, DType dtype, const Shape& shape, const TensorContext& ctx) {
  check_supported(dtype, ctx);
  if (!data.is_array()) fail_tensor(ctx, "'data' must be an array, not {}", data.brief());
  int64_t numel = shape_numel(shape);
  int64_t leaves = count_leaves(data, 0, std::max<int>(1, static_cast<int>(shape.size())), ctx);
  if (leaves != numel)
    fail_tensor(ctx, "'data' holds {} elements but shape [{}] needs {}", leaves, fmt::join(shape, ","), numel);
  Tensor t(dtype, shape);
  switch (dtype) {
    case DType::Bool: fill_bools_from_json(data, t, ctx); break;
    case DType::UInt8: fill_from_json<uint8_t>(data, t, ctx); break;
    case DType::UInt16: fill_from_json<uint16_t>(data, t, ctx); break;
    case DType::UInt32: fill_from_json<uint32_t>(data, t, ctx); break;
    case DType::UInt64: fill_from_json<uint64_t>(data, t, ctx); break;
    case DType::Int8: fill_from_json<int8_t>(data, t, ctx); break;
    case DType::Int16: fill_from_json<int16_t>(data, t, ctx); break;
    case DType::Int32: fill_from_json<int32_t>(data, t, ctx); break;
    case DType::Int64: fill_from_json<int64_t>(data, t, ctx); break;
    case DType::Float16: fill_from_json<Float16>(data, t, ctx); break;
    case DType::BFloat16: fill_from_json<BFloat16>(data, t, ctx); break;
    case DType::Float32: fill_from_json<float>(data, t, ctx); break;
    case DType::Float64: fill_from_json<double>(data, t, ctx); break;
    case DType::String: fill_strings_from_json(data, t, ctx); break;
    default: break;  // check_supported refused it
  }
  return t;
}

Tensor tensor_from_binary(std::string_view bytes, DType dtype, const Shape& shape, const TensorContext& ctx) {
  check_supported(dtype, ctx);
  int64_t numel = shape_numel(shape);
  if (dtype != DType::String) {
    size_t want = static_cast<size_t>(numel) * dtype_size(dtype);
    if (bytes.size() != want)
      fail_tensor(ctx, "binary_data_size is {} bytes but {} [{}] takes {}", bytes.size(), kserve_datatype(dtype),
                  fmt::join(shape, ","), want);
    Tensor t(dtype, shape);
    if (want) std::memcpy(t.raw(), bytes.data(), want);  // the wire is little-endian, like this machine
    if (dtype == DType::Bool)
      for (auto& b : t.span<uint8_t>()) b = b != 0;
    return t;
  }
  // Each BYTES element takes at least its 4-byte length: refuse a shape the bytes cannot hold before allocating it.
  if (static_cast<uint64_t>(numel) > bytes.size() / 4)
    fail_tensor(ctx, "binary_data_size is {} bytes, too few for {} BYTES elements (4 bytes of length each at least)",
                bytes.size(), numel);
  Tensor t(dtype, shape);
  auto* p = t.data<std::string>();
  size_t at = 0;
  for (int64_t k = 0; k < numel; ++k) {
    if (bytes.size() - at < 4) fail_tensor(ctx, "binary BYTES data ends inside element {}'s length", k);
    uint32_t len;
    std::memcpy(&len, bytes.data() + at, 4);
    at += 4;
    if (bytes.size() - at < len)
      fail_tensor(ctx, "binary BYTES element {} claims {} bytes but only {} remain", k, len, bytes.size() - at);
    p[k].assign(bytes.data() + at, len);
    at += len;
  }
  if (at != bytes.size())
    fail_tensor(ctx, "binary_data_size is {} bytes but its {} BYTES elements take {}", bytes.size(), numel, at);
  return t;
}

void append_json_data(std::string& out, const Tensor& t) {
  out += '[';
  switch (t.dtype()) {
    case DType::Bool: {
      const auto* p = t.data<uint8_t>();
      for (int64_t i = 0; i < t.numel(); ++i) out += i ? (p[i] ? ",true" : ",false") : (p[i] ? "true" : "false");
      break;
    }
    case DType::UInt8: append_numbers<uint8_t, unsigned>(out, t); break;
    case DType::UInt16: append_numbers<uint16_t>(out, t); break;
    case DType::UInt32: append_numbers<uint32_t>(out, t); break;
    case DType::UInt64: append_numbers<uint64_t>(out, t); break;
    case DType::Int8: append_numbers<int8_t, int>(out, t); break;
    case DType::Int16: append_numbers<int16_t>(out, t); break;
    case DType::Int32: append_numbers<int32_t>(out, t); break;
    case DType::Int64: append_numbers<int64_t>(out, t); break;
    case DType::Float16: append_numbers<Float16, float>(out, t); break;
    case DType::BFloat16: append_numbers<BFloat16, float>(out, t); break;
    case DType::Float32: append_numbers<float>(out, t); break;
    case DType::Float64: append_numbers<double>(out, t); break;
    case DType::String: {
      const auto* p = t.data<std::string>();
      for (int64_t i = 0; i < t.numel(); ++i) {
        if (i) out += ',';
        out += nlohmann::json(p[i]).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);  // valid UTF-8
      }
      break;
    }
    default:
      throw ServeError(ErrorKind::Internal,
                       fmt::format("element type {} has no KServe v2 datatype", dtype_name(t.dtype())));
  }
  out += ']';
}

size_t binary_size(const Tensor& t) {
  if (t.dtype() != DType::String) return t.nbytes();
  size_t n = 0;
  for (const std::string& s : t.span<std::string>()) n += 4 + s.size();
  return n;
}

void append_binary(std::string& out, const Tensor& t) {
  if (t.dtype() != DType::String) {
    out.append(static_cast<const char*>(t.raw()), t.nbytes());
    return;
  }
  for (const std::string& s : t.span<std::string>()) {
    auto len = static_cast<uint32_t>(s.size());
    char b[4];
    std::memcpy(b, &len, 4);
    out.append(b, 4);
    out += s;
  }
}

}  // namespace hone::serve
