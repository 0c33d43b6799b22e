#include "ops/op_registry.h"

#include <cstring>

namespace hone {

OpRegistry& OpRegistry::instance() {
  static OpRegistry registry;
  return registry;
}

void OpRegistry::add(OpSchema s) {
  if (s.domain == "ai.onnx") s.domain = "";
  for (const OpSchema& o : schemas_)
    if (o.domain == s.domain && o.name == s.name && !(s.until < o.since || o.until < s.since))
      throw Error(fmt::format("operator {} registered twice for overlapping opsets [{}, {}] and [{}, {}]", s.name,
                              o.since, o.until, s.since, s.until));
  schemas_.push_back(std::move(s));
}

const OpSchema* OpRegistry::find(std::string_view domain, std::string_view name, int64_t opset) const {
  if (domain == "ai.onnx") domain = "";
  for (const OpSchema& s : schemas_)
    if (s.domain == domain && s.name == name && opset >= s.since && opset <= s.until) return &s;
  return nullptr;
}

bool OpRegistry::knows(std::string_view domain, std::string_view name) const {
  if (domain == "ai.onnx") domain = "";
  for (const OpSchema& s : schemas_)
    if (s.domain == domain && s.name == name) return true;
  return false;
}

std::vector<const OpSchema*> OpRegistry::all() const {
  std::vector<const OpSchema*> out;
  for (const OpSchema& s : schemas_) out.push_back(&s);
  return out;
}

const Value& OpContext::input_value(size_t i) const {
  if (i >= num_inputs_ || !inputs_[i]) fail("{}: required input {} is missing", node_.label(), i);
  return *inputs_[i];
}

const Tensor& OpContext::input(size_t i) const {
  const Value& v = input_value(i);
  if (!v.is_tensor()) {
    std::string name = i < node_.inputs.size() ? node_.inputs[i] : "";
    fail("{}: input {} ('{}') must be a tensor but is {}", node_.label(), i, name, v.is_none() ? "absent" : "a sequence");
  }
  return v.tensor;
}

bool OpContext::wants_output(size_t i) const {
  return i < num_outputs_ && i < node_.outputs.size() && !node_.outputs[i].empty();
}

Tensor& OpContext::bind_output(size_t i, DType dtype, const Shape& shape, bool zero) {
  if (i >= num_outputs_) fail("{}: has no output {}", node_.label(), i);
  Value& out = outputs_[i];
  if (out.is_tensor() && out.tensor.defined() && !out.tensor.owns_data()) {
    // Memory the plan reserved. It must match: a mismatch means the shape function and the kernel disagree.
    if (out.tensor.dtype() != dtype || out.tensor.shape() != shape)
      fail("{}: output {} is {}[{}] but shape inference planned {}[{}]", node_.label(), i, dtype_name(dtype),
           shape_str(shape), dtype_name(out.tensor.dtype()), shape_str(out.tensor.shape()));
    if (zero && out.tensor.nbytes()) std::memset(out.tensor.raw(), 0, out.tensor.nbytes());
    return out.tensor;
  }
  out = Value::of(Tensor(dtype, shape));
  return out.tensor;
}

Tensor& OpContext::output(size_t i, DType dtype, const Shape& shape) { return bind_output(i, dtype, shape, true); }
Tensor& OpContext::output_uninitialized(size_t i, DType dtype, const Shape& shape) {
  return bind_output(i, dtype, shape, false);
}

Tensor& OpContext::written_output(size_t i) {
  if (i >= num_outputs_ || !outputs_[i].is_tensor() || !outputs_[i].tensor.defined())
    fail("{}: output {} has not been written", node_.label(), i);
  return outputs_[i].tensor;
}

void OpContext::set_output(size_t i, Value v) {
  if (i >= num_outputs_) fail("{}: has no output {}", node_.label(), i);
  if (v.is_tensor()) {
    Value& out = outputs_[i];
    if (out.is_tensor() && out.tensor.defined() && !out.tensor.owns_data()) {
      Tensor& dst = bind_output(i, v.tensor.dtype(), v.tensor.shape(), false);
      if (v.tensor.dtype() == DType::String) {
        for (int64_t k = 0; k < v.tensor.numel(); ++k) dst.data<std::string>()[k] = v.tensor.data<std::string>()[k];
      } else if (dst.nbytes()) {
        std::memcpy(dst.raw(), v.tensor.raw(), dst.nbytes());
      }
      return;
    }
    if (!v.tensor.owns_data()) v.tensor = v.tensor.clone();  // never alias memory whose lifetime the plan ends
  }
  for (Tensor& t : v.sequence)
    if (!t.owns_data()) t = t.clone();
  outputs_[i] = std::move(v);
}

SubgraphRunner& OpContext::subgraphs() const {
  if (!subgraphs_) fail("{}: no subgraph runner available", node_.label());
  return *subgraphs_;
}

const TypeInfo& InferenceContext::input_type(size_t i) const {
  static const TypeInfo unknown;
  return has_input(i) ? *input_types_[i] : unknown;
}

const SymShape* InferenceContext::input_shape(size_t i) const {
  const TypeInfo& t = input_type(i);
  return t.is_tensor() && t.shape ? &*t.shape : nullptr;
}

void InferenceContext::set_output(size_t i, TypeInfo t) {
  if (i >= output_types_.size()) return;  // optional output not named by the node
  output_types_[i] = std::move(t);
}

void InferenceContext::set_output_value(size_t i, Tensor value) {
  if (i >= output_types_.size()) return;
  output_types_[i] = TypeInfo::tensor(value.dtype(), to_sym_shape(value.shape()));
  output_values_[i] = std::move(value);
}

}  // namespace hone
