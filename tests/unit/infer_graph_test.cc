// Whole-graph type and shape inference keeps symbolic dimensions where it can and makes them concrete once a
// session sees its inputs.
#include <gtest/gtest.h>

#include "hone/hone.h"
#include "ir/onnx/onnx_io.h"
#include "ops/infer_graph.h"
#include "runtime/plan.h"
#include "test_paths.h"

namespace hone {
namespace {

GraphTypes infer(const Model& m, const std::unordered_map<std::string, TypeInfo>& inputs = {}) {
  InferOptions opt;
  opt.opset = [&m](const std::string& d) { return m.opset(d); };
  return infer_graph(m.graph, opt, inputs);
}

TEST(InferGraph, SymbolicBatchFlowsThroughTheCnn) {
  Model m = load_onnx_file(test::fixture("fashion_mnist_cnn.onnx"));
  GraphTypes t = infer(m);
  const TypeInfo& logits = t.types.at("logits");
  ASSERT_TRUE(logits.is_tensor());
  EXPECT_EQ(logits.elem, DType::Float32);
  ASSERT_TRUE(logits.shape.has_value());
  EXPECT_EQ(sym_shape_str(*logits.shape), "[batch,10]");
}

TEST(InferGraph, ConcreteInputsGiveConcreteShapesEverywhere) {
  Model m = load_onnx_file(test::fixture("fashion_mnist_cnn.onnx"));
  GraphTypes t = infer(m, {{"input", TypeInfo::tensor(DType::Float32, SymShape{7, 1, 28, 28})}});
  for (const Node& n : m.graph.nodes)
    for (const std::string& o : n.outputs) {
      const TypeInfo& ti = t.types.at(o);
      ASSERT_TRUE(ti.shape && to_concrete(*ti.shape)) << n.label() << " output " << o << " is " << ti.str();
    }
  EXPECT_EQ(sym_shape_str(*t.types.at("logits").shape), "[7,10]");
}

TEST(InferGraph, RealModelsPlanWithoutDynamicIntermediates) {
  // Shape arithmetic in exported graphs (Shape, Gather, Concat, Reshape...) folds once input shapes are known, so
  // every intermediate gets a place in the arena.
  struct Case { const char* rel; Shape shape; };
  for (const Case& c : {Case{test::kPaddleDet, {1, 3, 640, 640}}, Case{test::kPaddleRec, {1, 3, 48, 320}},
                        Case{test::kPaddleCls, {1, 3, 48, 192}}, Case{test::kMelspec, {1, 16000}},
                        Case{test::kEmbedding, {1, 76, 32, 1}}}) {
    SCOPED_TRACE(c.rel);
    Session s = Session::load(test::npm_model(c.rel), {.threads = 1});
    const Plan& p = s.plan_for({Value::of(Tensor(DType::Float32, c.shape))});
    EXPECT_EQ(p.dynamic_values, 0);
    EXPECT_GT(p.intermediate_bytes, p.arena_bytes);
  }
}

TEST(InferGraph, IncompatibleShapesAreAnErrorNamingTheNode) {
  Model m;
  m.ir_version = 8;
  m.opset_import = {{"", 13}};
  m.graph.inputs.push_back({"a", TypeInfo::tensor(DType::Float32, SymShape{3, 4}), ""});
  m.graph.inputs.push_back({"b", TypeInfo::tensor(DType::Float32, SymShape{5}), ""});
  m.graph.outputs.push_back({"c", TypeInfo{}, ""});
  m.graph.nodes.push_back({"the_add", "Add", "", {"a", "b"}, {"c"}, {}, ""});
  Session s(std::move(m), {.threads = 1});
  try {
    s.run({{"a", Tensor(DType::Float32, {3, 4})}, {"b", Tensor(DType::Float32, {5})}});
    ADD_FAILURE() << "broadcast 3x4 with 5 succeeded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Add 'the_add'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hone
