// Shared by the operator unit tests (tests/unit/ops_*_test.cc): tensor makers and readers, a model of one node to
// run or plan, and EXPECT_ERROR.
#pragma once
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hone/hone.h"
#include "runtime/plan.h"

namespace hone::test {

// ---- tensors ----

// A tensor of `dtype` whose elements (of C++ type T) are `values`.
template <typename T>
Tensor make(DType dtype, Shape shape, std::vector<T> values) {
  Tensor t(dtype, std::move(shape));
  EXPECT_EQ(static_cast<size_t>(t.numel()), values.size());
  for (size_t i = 0; i < values.size() && i < static_cast<size_t>(t.numel()); ++i) t.data<T>()[i] = values[i];
  return t;
}
inline Tensor f32(Shape s, std::vector<float> v) { return make<float>(DType::Float32, std::move(s), std::move(v)); }
inline Tensor f64(Shape s, std::vector<double> v) { return make<double>(DType::Float64, std::move(s), std::move(v)); }
inline Tensor i32(Shape s, std::vector<int32_t> v) { return make<int32_t>(DType::Int32, std::move(s), std::move(v)); }
inline Tensor i64(Shape s, std::vector<int64_t> v) { return make<int64_t>(DType::Int64, std::move(s), std::move(v)); }
inline Tensor i64v(std::vector<int64_t> v) { return int64_tensor(v); }  // 1-D
inline Tensor bools(Shape s, std::vector<uint8_t> v) { return make<uint8_t>(DType::Bool, std::move(s), std::move(v)); }
inline Tensor strs(Shape s, std::vector<std::string> v) {
  return make<std::string>(DType::String, std::move(s), std::move(v));
}
// Integers as a tensor of any integer type (4-bit, bool and the rest), stored through Tensor::set_double.
inline Tensor ints(DType dtype, Shape s, std::vector<int64_t> v) {
  Tensor t(dtype, std::move(s));
  EXPECT_EQ(static_cast<size_t>(t.numel()), v.size());
  for (size_t i = 0; i < v.size() && i < static_cast<size_t>(t.numel()); ++i)
    t.set_double(static_cast<int64_t>(i), static_cast<double>(v[i]));
  return t;
}

// The elements of a tensor whose element type is T.
template <typename T>
std::vector<T> values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}
// The elements of a numeric tensor of any type, as doubles.
inline std::vector<double> values(const Tensor& t) {
  std::vector<double> v;
  for (int64_t i = 0; i < t.numel(); ++i) v.push_back(t.get_double(i));
  return v;
}
inline void expect_values(const Tensor& t, const std::vector<double>& want, double tol = 1e-5) {
  ASSERT_EQ(static_cast<size_t>(t.numel()), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(t.get_double(static_cast<int64_t>(i)), want[i], tol) << "at " << i;
}

// ---- one-node models ----

// The node: op type, domain and the domain's opset, how many outputs it is asked for. A node of a domain other than
// ai.onnx gets ai.onnx imported too, at onnx_opset.
struct OpSpec {
  std::string op;
  std::string domain;  // "" is ai.onnx
  int64_t opset = 0;
  size_t outputs = 1;
  int64_t onnx_opset = 20;
};

// An input of the node. A bare tensor (or sequence) is a fed graph input named by its position: in0, in1, ...
// {"name", tensor} names it; {"name", tensor, true} makes it an initializer (a plan-time constant); {""} omits an
// optional input.
struct In {
  In(Tensor t) : value(Value::of(std::move(t))) {}  // NOLINT: a bare tensor is a fed input
  In(Value v) : value(std::move(v)) {}              // NOLINT: as is a sequence
  In(std::string name, Tensor t = {}, bool constant = false)
      : name(std::move(name)), value(Value::of(std::move(t))), constant(constant), named(true) {}

  std::string name;
  Value value;
  bool constant = false;
  bool named = false;
};
// An initializer named by its position.
inline In constant(Tensor t) {
  In in(std::move(t));
  in.constant = true;
  return in;
}

// The node's name for input i ("" when omitted).
inline std::string input_name(const std::vector<In>& inputs, size_t i) {
  return inputs[i].named ? inputs[i].name : "in" + std::to_string(i);
}

// Graph outputs are out0, out1, ...; the node is named "n".
inline Model one_node_model(const OpSpec& spec, const std::vector<In>& inputs, std::vector<Attribute> attrs = {}) {
  Model m;
  m.ir_version = 10;
  if (spec.domain.empty()) m.opset_import = {{"", spec.opset}};
  else m.opset_import = {{"", spec.onnx_opset}, {spec.domain, spec.opset}};
  Graph& g = m.graph;
  g.name = "one_op";
  Node n;
  n.op_type = spec.op;
  n.domain = spec.domain;
  n.name = "n";
  n.attributes = std::move(attrs);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const In& in = inputs[i];
    std::string name = input_name(inputs, i);
    n.inputs.push_back(name);
    if (name.empty()) continue;
    if (in.constant) {
      g.initializers[name] = in.value.tensor;
    } else if (in.value.is_sequence()) {
      TypeInfo t;
      t.kind = TypeInfo::Kind::Sequence;
      t.inner = std::make_shared<TypeInfo>(TypeInfo::tensor(in.value.sequence_elem));
      g.inputs.push_back({name, t, ""});
    } else {
      g.inputs.push_back({name, TypeInfo::tensor(in.value.tensor.dtype(), to_sym_shape(in.value.tensor.shape())), ""});
    }
  }
  for (size_t k = 0; k < spec.outputs; ++k) {
    n.outputs.push_back("out" + std::to_string(k));
    g.outputs.push_back({n.outputs.back(), TypeInfo{}, ""});
  }
  g.nodes.push_back(std::move(n));
  return m;
}

// The fed (neither constant nor omitted) inputs, in graph order.
inline std::vector<Value> fed_values(const std::vector<In>& inputs) {
  std::vector<Value> fed;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i].constant && !input_name(inputs, i).empty()) fed.push_back(inputs[i].value);
  return fed;
}

// Runs the node; returns its outputs.
inline std::vector<Value> run_values(const OpSpec& spec, const std::vector<In>& inputs, std::vector<Attribute> attrs = {}) {
  Session s(one_node_model(spec, inputs, std::move(attrs)), {.threads = 1});
  return s.run_values(fed_values(inputs));
}
inline std::vector<Tensor> run_op(const OpSpec& spec, const std::vector<In>& inputs, std::vector<Attribute> attrs = {}) {
  std::vector<std::pair<std::string, Tensor>> feeds;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i].constant && !input_name(inputs, i).empty()) feeds.emplace_back(input_name(inputs, i), inputs[i].value.tensor);
  Session s(one_node_model(spec, inputs, std::move(attrs)), {.threads = 1});
  return s.run(feeds);
}
// An ai.onnx node.
inline std::vector<Tensor> run_op(const std::string& op, int64_t opset, const std::vector<In>& inputs,
                                  std::vector<Attribute> attrs = {}, size_t outputs = 1) {
  return run_op(OpSpec{op, "", opset, outputs}, inputs, std::move(attrs));
}

// The type the plan infers for output 0 of an ai.onnx node, before running it.
inline TypeInfo inferred_output(const std::string& op, int64_t opset, const std::vector<In>& inputs,
                                std::vector<Attribute> attrs = {}) {
  Session s(one_node_model({op, "", opset}, inputs, std::move(attrs)), {.threads = 1});
  const Plan& plan = s.plan_for(fed_values(inputs));
  return plan.slot_types[static_cast<size_t>(plan.slot_of.at("out0"))];
}

}  // namespace hone::test

// Expects the statement to throw hone::Error whose message contains `fragment`.
#define EXPECT_ERROR(fragment, ...)                                                      \
  do {                                                                                   \
    try {                                                                                \
      __VA_ARGS__;                                                                       \
      ADD_FAILURE() << "no error from " #__VA_ARGS__;                                    \
    } catch (const ::hone::Error& e) {                                                   \
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();    \
    }                                                                                    \
  } while (0)
