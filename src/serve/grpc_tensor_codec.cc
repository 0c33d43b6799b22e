// Tensors between the KServe v2 gRPC messages and Hone's types. Everything a client sends is checked before memory
// is allocated for it: a tensor's size comes from its contents, which gRPC has already bounded by the message limit.
#include "serve/grpc_tensor_codec.h"

#include <fmt/format.h>

#include <cstring>
#include <limits>
#include <set>

namespace hone::serve {
namespace {

using inference::InferTensorContents;

[[noreturn]] void invalid(const std::string& message) { throw ServeError(ErrorKind::InvalidArgument, message); }

// The typed field that carries each datatype, and how many values every field holds.
struct ContentsField {
  std::string_view name;
  int size;
};

std::vector<ContentsField> contents_fields(const InferTensorContents& c) {
  return {{"bool_contents", c.bool_contents_size()},     {"int_contents", c.int_contents_size()},
          {"int64_contents", c.int64_contents_size()},   {"uint_contents", c.uint_contents_size()},
          {"uint64_contents", c.uint64_contents_size()}, {"fp32_contents", c.fp32_contents_size()},
          {"fp64_contents", c.fp64_contents_size()},     {"bytes_contents", c.bytes_contents_size()}};
}

std::string_view field_for(DType dtype) {
  switch (dtype) {
    case DType::Bool: return "bool_contents";
    case DType::Int8: case DType::Int16: case DType::Int32: return "int_contents";
    case DType::Int64: return "int64_contents";
    case DType::UInt8: case DType::UInt16: case DType::UInt32: return "uint_contents";
    case DType::UInt64: return "uint64_contents";
    case DType::Float32: return "fp32_contents";
    case DType::Float64: return "fp64_contents";
    case DType::String: return "bytes_contents";
    default: return "";  // FP16, BF16: raw only
  }
}

bool any_contents(const InferTensorContents& c) {
  for (const auto& f : contents_fields(c))
    if (f.size) return true;
  return false;
}

// Narrows checked values from a wide typed field (int_contents for INT8, ...) into the tensor.
template <typename T, typename Wide>
void copy_narrowed(const google::protobuf::RepeatedField<Wide>& values, Tensor& t, const std::string& label) {
  T* out = t.data<T>();
  for (int i = 0; i < values.size(); ++i) {
    Wide v = values.Get(i);
    if (v < static_cast<Wide>(std::numeric_limits<T>::min()) || v > static_cast<Wide>(std::numeric_limits<T>::max()))
      invalid(fmt::format("{}: value {} at position {} does not fit its datatype", label, v, i));
    out[i] = static_cast<T>(v);
  }
}

template <typename T, typename Field>
void copy_same(const Field& values, Tensor& t) {
  std::copy(values.begin(), values.end(), t.data<T>());
}

Tensor from_typed(DType dtype, const Shape& shape, int64_t numel, const InferTensorContents& c,
                  const std::string& label, const std::string& datatype) {
  std::string_view expected = field_for(dtype);
  if (expected.empty())
    invalid(fmt::format("{} is {}, which the protocol carries only in raw_input_contents", label, datatype));
  for (const auto& f : contents_fields(c)) {
    if (f.name == expected) {
      if (f.size != numel)
        invalid(fmt::format("{} has shape [{}] ({} elements) but its {} holds {} values", label,
                            fmt::join(shape, ","), numel, f.name, f.size));
    } else if (f.size) {
      invalid(fmt::format("{} is {} but its contents fill {} ({} values); {} travels in {}", label, datatype,
                          f.name, f.size, datatype, expected));
    }
  }
  Tensor t(dtype, shape);
  switch (dtype) {
    case DType::Bool: {
      auto* out = t.data<bool>();
      for (int i = 0; i < c.bool_contents_size(); ++i) out[i] = c.bool_contents(i);
      break;
    }
    case DType::Int8: copy_narrowed<int8_t>(c.int_contents(), t, label); break;
    case DType::Int16: copy_narrowed<int16_t>(c.int_contents(), t, label); break;
    case DType::Int32: copy_same<int32_t>(c.int_contents(), t); break;
    case DType::Int64: copy_same<int64_t>(c.int64_contents(), t); break;
    case DType::UInt8: copy_narrowed<uint8_t>(c.uint_contents(), t, label); break;
    case DType::UInt16: copy_narrowed<uint16_t>(c.uint_contents(), t, label); break;
    case DType::UInt32: copy_same<uint32_t>(c.uint_contents(), t); break;
    case DType::UInt64: copy_same<uint64_t>(c.uint64_contents(), t); break;
    case DType::Float32: copy_same<float>(c.fp32_contents(), t); break;
    case DType::Float64: copy_same<double>(c.fp64_contents(), t); break;
    case DType::String: copy_same<std::string>(c.bytes_contents(), t); break;
    default: break;  // excluded above
  }
  return t;
}

uint32_t read_le32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);  // x86-64 is little-endian, as the protocol's raw form
  return v;
}

Tensor from_raw(DType dtype, const Shape& shape, int64_t numel, const std::string& raw, const std::string& label) {
  if (dtype != DType::String) {
    const auto expected = static_cast<uint64_t>(numel) * dtype_size(dtype);
    if (raw.size() != expected)
      invalid(fmt::format("{} has shape [{}] of {} ({} bytes) but its raw contents hold {} bytes", label,
                          fmt::join(shape, ","), kserve_datatype(dtype), expected, raw.size()));
    Tensor t(dtype, shape);
    if (dtype == DType::Bool) {  // one byte each; any nonzero byte is true (a bool holding 2 would be undefined)
      for (int64_t i = 0; i < numel; ++i) t.data<bool>()[i] = raw[static_cast<size_t>(i)] != 0;
    } else if (expected) {
      std::memcpy(t.raw(), raw.data(), expected);
    }
    return t;
  }
  // BYTES: every element is at least its 4-byte length, so a forged shape fails here, before allocation.
  if (static_cast<uint64_t>(numel) * 4 > raw.size())
    invalid(fmt::format("{} has shape [{}] ({} BYTES elements) but its raw contents hold only {} bytes", label,
                        fmt::join(shape, ","), numel, raw.size()));
  Tensor t(dtype, shape);
  size_t pos = 0;
  for (int64_t i = 0; i < numel; ++i) {
    if (raw.size() - pos < 4) invalid(fmt::format("{}: raw contents end inside the length of element {}", label, i));
    uint32_t len = read_le32(raw.data() + pos);
    pos += 4;
    if (raw.size() - pos < len)
      invalid(fmt::format("{}: element {} claims {} bytes but only {} remain in the raw contents", label, i, len,
                          raw.size() - pos));
    t.data<std::string>()[i].assign(raw.data() + pos, len);
    pos += len;
  }
  if (pos != raw.size())
    invalid(fmt::format("{}: {} bytes of raw contents are left after its {} elements", label, raw.size() - pos, numel));
  return t;
}

template <typename Message>
Tensor decode_tensor(const Message& m, const std::string* raw, std::string_view kind) {
  const std::string label = fmt::format("{} '{}'", kind, m.name());
  if (m.datatype().empty()) invalid(label + " has no datatype");
  DType dtype;
  try {
    dtype = dtype_from_kserve(m.datatype());
  } catch (const ServeError& e) {
    invalid(fmt::format("{}: {}", label, e.what()));
  }
  Shape shape(m.shape().begin(), m.shape().end());
  for (int64_t d : shape)
    if (d < 0) invalid(fmt::format("{} has a negative dimension in its shape [{}]", label, fmt::join(shape, ",")));
  int64_t numel;
  try {
    numel = shape_numel(shape);
  } catch (const Error& e) {
    invalid(fmt::format("{}: {}", label, e.what()));
  }
  if (raw) {
    if (m.has_contents() && any_contents(m.contents()))
      invalid(label + " has both typed contents and a raw contents entry; send one or the other");
    return from_raw(dtype, shape, numel, *raw, label);
  }
  return from_typed(dtype, shape, numel, m.contents(), label, m.datatype());
}

}  // namespace

Tensor tensor_from_grpc(const inference::ModelInferRequest::InferInputTensor& input, const std::string* raw) {
  return decode_tensor(input, raw, "input");
}

Tensor tensor_from_grpc(const inference::ModelInferResponse::InferOutputTensor& output, const std::string* raw) {
  return decode_tensor(output, raw, "output");
}

std::string raw_contents(const Tensor& t) {
  if (t.dtype() != DType::String) return std::string(static_cast<const char*>(t.raw()), t.nbytes());
  std::string out;
  for (const std::string& s : t.span<std::string>()) {
    if (s.size() > std::numeric_limits<uint32_t>::max()) fail("a BYTES element of {} bytes is too long", s.size());
    auto len = static_cast<uint32_t>(s.size());
    out.append(reinterpret_cast<const char*>(&len), 4);
    out += s;
  }
  return out;
}

void typed_contents(const Tensor& t, InferTensorContents* c) {
  auto add = [&](auto* field, auto value_of) {
    field->Reserve(static_cast<int>(t.numel()));
    for (int64_t i = 0; i < t.numel(); ++i) field->Add(value_of(i));
  };
  switch (t.dtype()) {
    case DType::Bool: add(c->mutable_bool_contents(), [&](int64_t i) { return t.data<bool>()[i]; }); break;
    case DType::Int8: add(c->mutable_int_contents(), [&](int64_t i) { return int32_t{t.data<int8_t>()[i]}; }); break;
    case DType::Int16: add(c->mutable_int_contents(), [&](int64_t i) { return int32_t{t.data<int16_t>()[i]}; }); break;
    case DType::Int32: add(c->mutable_int_contents(), [&](int64_t i) { return t.data<int32_t>()[i]; }); break;
    case DType::Int64: add(c->mutable_int64_contents(), [&](int64_t i) { return t.data<int64_t>()[i]; }); break;
    case DType::UInt8:
      add(c->mutable_uint_contents(), [&](int64_t i) { return uint32_t{t.data<uint8_t>()[i]}; });
      break;
    case DType::UInt16:
      add(c->mutable_uint_contents(), [&](int64_t i) { return uint32_t{t.data<uint16_t>()[i]}; });
      break;
    case DType::UInt32: add(c->mutable_uint_contents(), [&](int64_t i) { return t.data<uint32_t>()[i]; }); break;
    case DType::UInt64: add(c->mutable_uint64_contents(), [&](int64_t i) { return t.data<uint64_t>()[i]; }); break;
    case DType::Float32: add(c->mutable_fp32_contents(), [&](int64_t i) { return t.data<float>()[i]; }); break;
    case DType::Float64: add(c->mutable_fp64_contents(), [&](int64_t i) { return t.data<double>()[i]; }); break;
    case DType::String:
      for (const std::string& s : t.span<std::string>()) c->add_bytes_contents(s);
      break;
    default: fail("{} tensors travel only as raw contents", kserve_datatype(t.dtype()));
  }
}

InferRequest infer_request_from_grpc(const inference::ModelInferRequest& m) {
  if (m.model_name().empty()) invalid("the ModelInfer request names no model (model_name is empty)");
  const bool raw = m.raw_input_contents_size() > 0;
  if (raw && m.raw_input_contents_size() != m.inputs_size())
    invalid(fmt::format("raw_input_contents has {} entries for {} inputs; give one per input, in order",
                        m.raw_input_contents_size(), m.inputs_size()));
  InferRequest r;
  r.model = m.model_name();
  r.version = m.model_version();
  r.id = m.id();
  std::set<std::string> seen;
  for (int i = 0; i < m.inputs_size(); ++i) {
    const auto& input = m.inputs(i);
    if (input.name().empty()) invalid(fmt::format("input {} of the request has no name", i));
    if (!seen.insert(input.name()).second) invalid(fmt::format("input '{}' is given twice", input.name()));
    r.inputs.push_back({input.name(), tensor_from_grpc(input, raw ? &m.raw_input_contents(i) : nullptr)});
  }
  for (const auto& output : m.outputs()) r.outputs.push_back(output.name());
  if (auto it = m.parameters().find("timeout"); it != m.parameters().end()) {
    if (it->second.parameter_choice_case() != inference::InferParameter::kInt64Param || it->second.int64_param() < 0)
      invalid("parameter 'timeout' must be a non-negative int64_param (microseconds)");
    r.timeout_us = it->second.int64_param();
  }
  return r;
}

void infer_request_to_grpc(const InferRequest& r, inference::ModelInferRequest* m) {
  m->set_model_name(r.model);
  m->set_model_version(r.version);
  m->set_id(r.id);
  for (const auto& [name, tensor] : r.inputs) {
    auto* input = m->add_inputs();
    input->set_name(name);
    input->set_datatype(kserve_datatype(tensor.dtype()));
    for (int64_t d : tensor.shape()) input->add_shape(d);
    m->add_raw_input_contents(raw_contents(tensor));
  }
  for (const auto& name : r.outputs) m->add_outputs()->set_name(name);
  if (r.timeout_us > 0) (*m->mutable_parameters())["timeout"].set_int64_param(r.timeout_us);
}

void infer_response_to_grpc(const InferResponse& r, inference::ModelInferResponse* m) {
  m->set_model_name(r.model);
  m->set_model_version(r.version);
  m->set_id(r.id);
  for (const auto& [name, tensor] : r.outputs) {
    auto* output = m->add_outputs();
    output->set_name(name);
    output->set_datatype(kserve_datatype(tensor.dtype()));
    for (int64_t d : tensor.shape()) output->add_shape(d);
    m->add_raw_output_contents(raw_contents(tensor));
  }
}

InferResponse infer_response_from_grpc(const inference::ModelInferResponse& m) {
  const bool raw = m.raw_output_contents_size() > 0;
  if (raw && m.raw_output_contents_size() != m.outputs_size())
    fail("malformed ModelInfer response: {} raw_output_contents entries for {} outputs", m.raw_output_contents_size(),
         m.outputs_size());
  InferResponse r;
  r.model = m.model_name();
  r.version = m.model_version();
  r.id = m.id();
  for (int i = 0; i < m.outputs_size(); ++i) {
    try {
      const std::string* contents = raw ? &m.raw_output_contents(i) : nullptr;
      r.outputs.push_back({m.outputs(i).name(), tensor_from_grpc(m.outputs(i), contents)});
    } catch (const ServeError& e) {
      fail("malformed ModelInfer response: {}", e.what());
    }
  }
  return r;
}

}  // namespace hone::serve
