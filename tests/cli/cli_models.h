// Tiny ONNX models for the CLI tests, built with Hone's IR and saved with save_onnx_file.
#pragma once
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/onnx/onnx_io.h"

namespace hone::testing {

inline Node make_node(std::string op, std::vector<std::string> in, std::vector<std::string> out, std::string name = "") {
  Node n;
  n.op_type = std::move(op);
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.name = std::move(name);
  return n;
}

inline Attribute ints_attr(std::string name, std::vector<int64_t> v) {
  Attribute a;
  a.name = std::move(name);
  a.type = Attribute::Type::Ints;
  a.ints = std::move(v);
  return a;
}

inline Attribute int_attr(std::string name, int64_t v) {
  Attribute a;
  a.name = std::move(name);
  a.type = Attribute::Type::Int;
  a.i = v;
  return a;
}

inline Model empty_model(int64_t opset = 17) {
  Model m;
  m.ir_version = 8;
  m.opset_import = {{"", opset}};
  m.producer_name = "hone-cli-test";
  m.graph.name = "test";
  return m;
}

inline Tensor filled(DType t, Shape s, double start = 0, double step = 1) {
  Tensor x(t, std::move(s));
  for (int64_t i = 0; i < x.numel(); ++i) x.set_double(i, start + step * static_cast<double>(i));
  return x;
}

// y = Relu((x + c) * d) - e with x float32[batch, 4]; c and d initializers, e a Constant node; a second output
// with a name that is not a safe file name.
inline Model elementwise_model() {
  Model m = empty_model();
  Graph& g = m.graph;
  g.inputs = {{"x", TypeInfo::tensor(DType::Float32, SymShape{Dim::named("batch"), 4})}};
  g.initializers["c"] = filled(DType::Float32, {4}, -1.5, 1);  // -1.5 -0.5 0.5 1.5
  g.initializers["d"] = filled(DType::Float32, {1}, 2);
  Node k = make_node("Constant", {}, {"e"}, "const_e");
  Attribute v;
  v.name = "value";
  v.type = Attribute::Type::Tensor;
  v.t = filled(DType::Float32, {4}, 0.25, 0);
  k.attributes.push_back(v);
  g.nodes.push_back(k);
  g.nodes.push_back(make_node("Add", {"x", "c"}, {"s"}, "add"));
  g.nodes.push_back(make_node("Mul", {"s", "d"}, {"p"}, "mul"));
  g.nodes.push_back(make_node("Relu", {"p"}, {"r"}, "relu"));
  g.nodes.push_back(make_node("Sub", {"r", "e"}, {"y"}, "sub"));
  g.nodes.push_back(make_node("Div", {"y", "d"}, {"../odd/name:1"}, "div"));
  g.outputs = {{"y", TypeInfo::tensor(DType::Float32)}, {"../odd/name:1", TypeInfo::tensor(DType::Float32)}};
  return m;
}

inline std::string save_model(const Model& m, const std::string& path) {
  save_onnx_file(m, path, /*overwrite=*/true);
  return path;
}

}  // namespace hone::testing
