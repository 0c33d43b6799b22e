// KServe v2 REST bodies (see kserve_json.h). Infer requests and replies are read with json_reader.h (numbers
// converted once, straight to the element type) and written by hand into one string: both are on the hot path of
// every request. Metadata and errors, which are not, use nlohmann::json.
#include "serve/kserve_json.h"

#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "serve/json_reader.h"
#include "serve/kserve_tensor_data.h"

namespace hone::serve {
namespace {

using json = nlohmann::json;

template <typename... Args>
[[noreturn]] void fail_as(ErrorKind kind, fmt::format_string<Args...> f, Args&&... args) {
  throw ServeError(kind, fmt::format(f, std::forward<Args>(args)...));
}

JsonDocument parse_json(std::string_view text, ErrorKind kind, std::string_view what) {
  try {
    return JsonDocument::parse(text);
  } catch (const JsonSyntaxError& e) {
    fail_as(kind, "malformed JSON in the {}: {}", what, e.what());
  }
}

// An optional object member that must be an object when present ("parameters").
const JsonValue* object_member(const JsonValue& object, const char* key, ErrorKind kind, std::string_view where) {
  const JsonValue* m = object.find(key);
  if (m && !m->is_object()) fail_as(kind, "{}: '{}' must be a JSON object", where, key);
  return m;
}

std::string string_member(const JsonValue& object, const char* key, ErrorKind kind, std::string_view where,
                          bool required) {
  const JsonValue* m = object.find(key);
  if (!m) {
    if (required) fail_as(kind, "{}: '{}' is missing", where, key);
    return {};
  }
  if (!m->is_string()) fail_as(kind, "{}: '{}' must be a string", where, key);
  return m->string_value();
}

bool bool_parameter(const JsonValue* parameters, const char* key, bool fallback, ErrorKind kind,
                    std::string_view where) {
  if (!parameters) return fallback;
  const JsonValue* m = parameters->find(key);
  if (!m) return fallback;
  if (!m->is_bool()) fail_as(kind, "{}: parameter '{}' must be true or false", where, key);
  return m->as_bool();
}

// A non-negative integer parameter, or -1 when absent.
int64_t size_parameter(const JsonValue* parameters, const char* key, ErrorKind kind, std::string_view where) {
  if (!parameters) return -1;
  const JsonValue* m = parameters->find(key);
  if (!m) return -1;
  int64_t v = -1;
  std::string_view text = m->is_number() ? m->number_text() : std::string_view();
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (!m->is_integer_literal() || ec != std::errc() || end != text.data() + text.size() || v < 0 ||
      v > (int64_t{1} << 62))
    fail_as(kind, "{}: parameter '{}' must be a non-negative integer, not {}", where, key, m->brief());
  return v;
}

// The tensors of a request's "inputs" or a reply's "outputs": JSON data, or binary_data_size bytes taken in order
// from `binary` (advancing `offset`).
std::vector<NamedTensor> decode_tensors(const JsonValue& list, std::string_view binary, bool has_binary,
                                        size_t& offset, ErrorKind kind, std::string_view role) {
  std::vector<NamedTensor> tensors;
  tensors.reserve(list.size());
  size_t i = 0;
  list.for_each([&](const JsonValue& item) {
    std::string where = fmt::format("{} {}", role, i++);
    if (!item.is_object()) fail_as(kind, "{}: must be a JSON object with name, shape, datatype and data", where);
    NamedTensor nt;
    nt.name = string_member(item, "name", kind, where, true);
    where = fmt::format("{} '{}'", role, nt.name);
    TensorContext ctx{kind, role, nt.name};
    DType dtype;
    try {
      dtype = dtype_from_kserve(string_member(item, "datatype", kind, where, true));
    } catch (const ServeError& e) {
      fail_as(kind, "{}: {}", where, e.what());
    }
    const JsonValue* shape_json = item.find("shape");
    if (!shape_json) fail_as(kind, "{}: 'shape' is missing", where);
    Shape shape = shape_from_json(*shape_json, ctx);
    const JsonValue* parameters = object_member(item, "parameters", kind, where);
    int64_t binary_bytes = size_parameter(parameters, "binary_data_size", kind, where);
    const JsonValue* data = item.find("data");
    if (binary_bytes >= 0) {
      if (data) fail_as(kind, "{}: has both 'data' and a binary_data_size parameter", where);
      if (!has_binary)
        fail_as(kind, "{}: has a binary_data_size parameter but no {} header says where the JSON ends", where,
                kHeaderLengthField);
      if (binary.size() - offset < static_cast<size_t>(binary_bytes))
        fail_as(kind, "{}: binary_data_size {} runs past the end of the body ({} bytes of binary data left)", where,
                binary_bytes, binary.size() - offset);
      nt.tensor = tensor_from_binary(binary.substr(offset, static_cast<size_t>(binary_bytes)), dtype, shape, ctx);
      offset += static_cast<size_t>(binary_bytes);
    } else {
      if (!data) fail_as(kind, "{}: has neither 'data' nor a binary_data_size parameter", where);
      nt.tensor = tensor_from_json_data(*data, dtype, shape, ctx);
    }
    tensors.push_back(std::move(nt));
  });
  return tensors;
}

// Splits a body into its JSON header and the binary data after it.
std::pair<std::string_view, std::string_view> split_body(std::string_view body, std::optional<size_t> json_length,
                                                         ErrorKind kind) {
  if (!json_length) return {body, {}};
  if (*json_length > body.size())
    fail_as(kind, "{} is {} but the body has only {} bytes", kHeaderLengthField, *json_length, body.size());
  return {body.substr(0, *json_length), body.substr(*json_length)};
}

void check_binary_used(std::string_view binary, size_t used, ErrorKind kind, std::string_view role) {
  if (used != binary.size())
    fail_as(kind,
            "{} bytes of binary data follow the JSON header but the {}s' binary_data_size parameters add up to {}",
            binary.size(), role, used);
}

void append_shape(std::string& out, const Shape& shape) {
  out += '[';
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(shape[i]);
  }
  out += ']';
}

// {"name":..,"datatype":..,"shape":[..], then "parameters":{"binary_data_size":N} or "data":[..]}; returns whether
// the tensor goes as binary data.
void append_tensor_header(std::string& out, const NamedTensor& t, bool binary) {
  out += "{\"name\":";
  append_json_string(out, t.name);
  out += ",\"datatype\":\"";
  out += kserve_datatype(t.tensor.dtype());
  out += "\",\"shape\":";
  append_shape(out, t.tensor.shape());
  if (binary) {
    out += ",\"parameters\":{\"binary_data_size\":";
    out += std::to_string(binary_size(t.tensor));
    out += "}}";
  } else {
    out += ",\"data\":";
    append_json_data(out, t.tensor);
    out += '}';
  }
}

EncodedBody finish_body(std::string json_part, const std::vector<const Tensor*>& binary_tensors) {
  EncodedBody b;
  if (binary_tensors.empty()) {
    b.body = std::move(json_part);
    return b;
  }
  size_t total = json_part.size();
  for (const Tensor* t : binary_tensors) total += binary_size(*t);
  b.json_length = json_part.size();
  b.body = std::move(json_part);
  b.body.reserve(total);
  for (const Tensor* t : binary_tensors) append_binary(b.body, *t);
  return b;
}

json tensor_metadata_json(const std::vector<TensorMetadata>& list) {
  json a = json::array();
  for (const TensorMetadata& t : list) a.push_back({{"name", t.name}, {"datatype", t.datatype}, {"shape", t.shape}});
  return a;
}

std::vector<TensorMetadata> tensor_metadata_from_json(const json& list) {
  std::vector<TensorMetadata> out;
  for (const json& t : list)
    out.push_back({t.at("name").get<std::string>(), t.at("datatype").get<std::string>(),
                   t.at("shape").get<std::vector<int64_t>>()});
  return out;
}

}  // namespace

bool OutputEncoding::binary(const std::string& output) const {
  for (const auto& [name, b] : per_output)
    if (name == output) return b;
  return binary_by_default;
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
        else
          out += c;
    }
  }
  out += '"';
}

DecodedInferRequest decode_infer_request(std::string_view body, std::optional<size_t> json_length) {
  constexpr ErrorKind kind = ErrorKind::InvalidArgument;
  auto [header, binary] = split_body(body, json_length, kind);
  JsonDocument doc;
  try {
    doc = JsonDocument::parse(header);
  } catch (const JsonSyntaxError& e) {
    std::string hint;
    if (!json_length && std::string_view(e.what()).find("after the JSON value") != std::string_view::npos)
      hint = fmt::format(" (binary tensor data after the JSON needs an {} header)", kHeaderLengthField);
    fail_as(kind, "malformed JSON in the request body: {}{}", e.what(), hint);
  }
  const JsonValue& root = doc.root();
  if (!root.is_object()) fail_as(kind, "the request body must be a JSON object with an 'inputs' array");
  DecodedInferRequest out;
  out.request.id = string_member(root, "id", kind, "request", false);
  const JsonValue* parameters = object_member(root, "parameters", kind, "request");
  out.encoding.binary_by_default = bool_parameter(parameters, "binary_data_output", false, kind, "request");
  int64_t timeout = size_parameter(parameters, "timeout", kind, "request");  // microseconds, as Triton's
  if (timeout > 0) out.request.timeout_us = timeout;

  const JsonValue* inputs = root.find("inputs");
  if (!inputs || !inputs->is_array()) fail_as(kind, "the request body has no 'inputs' array");
  size_t used = 0;
  out.request.inputs = decode_tensors(*inputs, binary, json_length.has_value(), used, kind, "input");
  check_binary_used(binary, used, kind, "input");

  if (const JsonValue* outputs = root.find("outputs")) {
    if (!outputs->is_array()) fail_as(kind, "'outputs' must be an array of objects naming the outputs wanted");
    size_t i = 0;
    outputs->for_each([&](const JsonValue& o) {
      std::string where = fmt::format("output {}", i++);
      if (!o.is_object()) fail_as(kind, "{}: must be a JSON object with a 'name'", where);
      std::string name = string_member(o, "name", kind, where, true);
      const JsonValue* p = object_member(o, "parameters", kind, where);
      if (p && p->find("binary_data"))
        out.encoding.per_output.emplace_back(name, bool_parameter(p, "binary_data", false, kind, where));
      out.request.outputs.push_back(std::move(name));
    });
  }
  return out;
}

EncodedBody encode_infer_response(const InferResponse& response, const OutputEncoding& encoding) {
  std::string out;
  out.reserve(256);
  out += "{\"model_name\":";
  append_json_string(out, response.model);
  out += ",\"model_version\":";
  append_json_string(out, response.version);
  if (!response.id.empty()) {
    out += ",\"id\":";
    append_json_string(out, response.id);
  }
  out += ",\"outputs\":[";
  std::vector<const Tensor*> binary;
  for (size_t i = 0; i < response.outputs.size(); ++i) {
    const NamedTensor& t = response.outputs[i];
    bool as_binary = encoding.binary(t.name);
    if (i) out += ',';
    append_tensor_header(out, t, as_binary);
    if (as_binary) binary.push_back(&t.tensor);
  }
  out += "]}";
  return finish_body(std::move(out), binary);
}

EncodedBody encode_infer_request(const InferRequest& request, bool binary) {
  std::string out;
  out.reserve(256);
  out += '{';
  if (!request.id.empty()) {
    out += "\"id\":";
    append_json_string(out, request.id);
    out += ',';
  }
  out += fmt::format("\"parameters\":{{\"binary_data_output\":{}", binary ? "true" : "false");
  if (request.timeout_us > 0) out += fmt::format(",\"timeout\":{}", request.timeout_us);
  out += "},\"inputs\":[";
  std::vector<const Tensor*> binary_tensors;
  for (size_t i = 0; i < request.inputs.size(); ++i) {
    if (i) out += ',';
    append_tensor_header(out, request.inputs[i], binary);
    if (binary) binary_tensors.push_back(&request.inputs[i].tensor);
  }
  out += ']';
  if (!request.outputs.empty()) {
    out += ",\"outputs\":[";
    for (size_t i = 0; i < request.outputs.size(); ++i) {
      if (i) out += ',';
      out += "{\"name\":";
      append_json_string(out, request.outputs[i]);
      out += fmt::format(",\"parameters\":{{\"binary_data\":{}}}}}", binary ? "true" : "false");
    }
    out += ']';
  }
  out += '}';
  return finish_body(std::move(out), binary_tensors);
}

InferResponse decode_infer_response(std::string_view body, std::optional<size_t> json_length) {
  constexpr ErrorKind kind = ErrorKind::Internal;
  auto [header, binary] = split_body(body, json_length, kind);
  JsonDocument doc = parse_json(header, kind, "reply");
  const JsonValue& root = doc.root();
  if (!root.is_object()) fail_as(kind, "the reply is not a JSON object");
  InferResponse r;
  r.model = string_member(root, "model_name", kind, "reply", false);
  r.version = string_member(root, "model_version", kind, "reply", false);
  r.id = string_member(root, "id", kind, "reply", false);
  const JsonValue* outputs = root.find("outputs");
  if (!outputs || !outputs->is_array()) fail_as(kind, "the reply has no 'outputs' array");
  size_t used = 0;
  r.outputs = decode_tensors(*outputs, binary, json_length.has_value(), used, kind, "output");
  check_binary_used(binary, used, kind, "output");
  return r;
}

std::string encode_model_metadata(const ModelMetadata& m) {
  json j = {{"name", m.name},
            {"versions", m.versions},
            {"platform", m.platform},
            {"inputs", tensor_metadata_json(m.inputs)},
            {"outputs", tensor_metadata_json(m.outputs)}};
  return j.dump();
}

ModelMetadata decode_model_metadata(std::string_view body) {
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) fail_as(ErrorKind::Internal, "the model metadata reply is not JSON: {}", body.substr(0, 200));
  try {
    ModelMetadata m;
    m.name = j.at("name").get<std::string>();
    if (j.contains("versions")) m.versions = j.at("versions").get<std::vector<std::string>>();
    m.platform = j.value("platform", std::string());
    m.inputs = tensor_metadata_from_json(j.at("inputs"));
    m.outputs = tensor_metadata_from_json(j.at("outputs"));
    return m;
  } catch (const json::exception& e) {
    fail_as(ErrorKind::Internal, "model metadata reply: {}", e.what());
  }
}

std::string encode_error(std::string_view message) {
  std::string out = "{\"error\":";
  append_json_string(out, message);
  out += '}';
  return out;
}

std::string decode_error(std::string_view body) {
  json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) return j["error"].get<std::string>();
  return std::string(body);
}

}  // namespace hone::serve
