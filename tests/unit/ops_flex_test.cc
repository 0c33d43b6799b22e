// FlexAttention (ai.onnx.preview opset 1): what the conformance corpus does not cover: hand-checked values,
// masking through score_mod (including a fully masked row), grouped heads, empty key sequences, double inputs,
// and the errors (ranks, head sizes, head grouping, element types, malformed modifier graphs).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "hone/hone.h"

namespace hone {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

Tensor floats(Shape shape, std::vector<float> v) {
  Tensor t(DType::Float32, std::move(shape));
  EXPECT_EQ(static_cast<size_t>(t.numel()), v.size());
  for (size_t i = 0; i < v.size(); ++i) t.data<float>()[i] = v[i];
  return t;
}
std::vector<double> values(const Tensor& t) {
  std::vector<double> v;
  for (int64_t i = 0; i < t.numel(); ++i) v.push_back(t.get_double(i));
  return v;
}

Attribute float_attr(const std::string& name, float v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::Float;
  a.f = v;
  return a;
}
Attribute graph_attr(const std::string& name, Graph g) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::Graph;
  a.g = std::make_shared<Graph>(std::move(g));
  return a;
}
ValueInfo info(const std::string& name, DType t = DType::Float32) { return {name, TypeInfo::tensor(t), ""}; }

// A modifier graph: out = op(x, c) with `c` an initializer (or Identity(c) when `op` is "Const").
Graph modifier(const std::string& op, Tensor c, int num_inputs = 1) {
  Graph g;
  g.name = "mod";
  g.inputs = {info("x")};
  for (int i = 1; i < num_inputs; ++i) g.inputs.push_back(info("extra" + std::to_string(i), DType::Int64));
  g.initializers["c"] = std::move(c);
  Node n;
  n.name = "mod_node";
  if (op == "Const") {
    n.op_type = "Identity";
    n.inputs = {"c"};
  } else {
    n.op_type = op;
    n.inputs = {"x", "c"};
  }
  n.outputs = {"mod_out"};
  g.nodes.push_back(n);
  g.outputs = {info("mod_out")};
  return g;
}

Tensor flex(const Tensor& q, const Tensor& k, const Tensor& v, std::vector<Attribute> attrs = {}) {
  Model m;
  m.ir_version = 10;
  m.opset_import = {{"", 26}, {"ai.onnx.preview", 1}};
  Node n;
  n.name = "flex";
  n.op_type = "FlexAttention";
  n.domain = "ai.onnx.preview";
  n.inputs = {"q", "k", "v"};
  n.outputs = {"y"};
  n.attributes = std::move(attrs);
  m.graph.nodes.push_back(n);
  for (auto [name, t] : {std::pair<const char*, const Tensor*>{"q", &q}, {"k", &k}, {"v", &v}})
    m.graph.inputs.push_back({name, TypeInfo::tensor(t->dtype(), to_sym_shape(t->shape())), ""});
  m.graph.outputs.push_back({"y", TypeInfo{}, ""});
  Session s(std::move(m), {.threads = 1});
  return s.run({{"q", q}, {"k", k}, {"v", v}})[0];
}

// Expects `expr` to throw hone::Error from the FlexAttention node (not from loading or planning elsewhere).
#define EXPECT_FLEX_ERROR(expr)                                                          \
  do {                                                                                   \
    try {                                                                                \
      (void)(expr);                                                                      \
      ADD_FAILURE() << #expr " did not throw";                                           \
    } catch (const Error& e) {                                                           \
      EXPECT_NE(std::string(e.what()).find("FlexAttention"), std::string::npos) << e.what(); \
    }                                                                                    \
  } while (0)

// Q [1, 1, 1, 2] = (1, 0); K rows (1, 0) and (0, 1); V rows 10 and 20. Scores scale * (1, 0).
const Tensor kQ = floats({1, 1, 1, 2}, {1, 0});
const Tensor kK = floats({1, 1, 2, 2}, {1, 0, 0, 1});
const Tensor kV = floats({1, 1, 2, 1}, {10, 20});

double expected_y(double s0, double s1) {
  double p0 = std::exp(s0) / (std::exp(s0) + std::exp(s1));
  return p0 * 10 + (1 - p0) * 20;
}

TEST(FlexAttention, DefaultScaleIsOneOverSqrtHeadSize) {
  Tensor y = flex(kQ, kK, kV);
  EXPECT_EQ(y.shape(), (Shape{1, 1, 1, 1}));
  EXPECT_NEAR(values(y)[0], expected_y(1 / std::sqrt(2.0), 0), 1e-5);
}

TEST(FlexAttention, ScaleAttribute) {
  Tensor y = flex(kQ, kK, kV, {float_attr("scale", 3.0f)});
  EXPECT_NEAR(values(y)[0], expected_y(3, 0), 1e-5);
}

TEST(FlexAttention, ScoreModAddsABias) {
  // Bias (0, 2) broadcast over [1, 1, 1, 2]: scores become (s, 2).
  Tensor y = flex(kQ, kK, kV, {graph_attr("score_mod", modifier("Add", floats({2}, {0, 2})))});
  EXPECT_NEAR(values(y)[0], expected_y(1 / std::sqrt(2.0), 2), 1e-5);
}

TEST(FlexAttention, ScoreModMasksWithMinusInfinity) {
  Tensor y = flex(kQ, kK, kV, {graph_attr("score_mod", modifier("Add", floats({2}, {-kInf, 0})))});
  EXPECT_FLOAT_EQ(static_cast<float>(values(y)[0]), 20.0f);
}

TEST(FlexAttention, FullyMaskedRowIsNaNAsSoftmaxGives) {
  Tensor y = flex(kQ, kK, kV, {graph_attr("score_mod", modifier("Add", floats({2}, {-kInf, -kInf})))});
  EXPECT_TRUE(std::isnan(values(y)[0]));
}

TEST(FlexAttention, ProbModScalesProbabilities) {
  Tensor y = flex(kQ, kK, kV, {graph_attr("prob_mod", modifier("Mul", floats({}, {0.5f})))});
  EXPECT_NEAR(values(y)[0], 0.5 * expected_y(1 / std::sqrt(2.0), 0), 1e-5);
}

TEST(FlexAttention, GroupedHeadsShareKeyValueHeads) {
  // Hq = 4, Hkv = 2: query heads 0, 1 use KV head 0 (V = 1), heads 2, 3 use KV head 1 (V = 2).
  Tensor q = floats({1, 4, 1, 1}, {1, 2, 3, 4});
  Tensor k = floats({1, 2, 1, 1}, {1, 1});
  Tensor v = floats({1, 2, 1, 1}, {1, 2});
  Tensor y = flex(q, k, v);
  EXPECT_EQ(y.shape(), (Shape{1, 4, 1, 1}));
  EXPECT_EQ(values(y), (std::vector<double>{1, 1, 2, 2}));
}

TEST(FlexAttention, ValueHeadSizeMayDifferFromQueryHeadSize) {
  Tensor v = floats({1, 1, 2, 3}, {1, 2, 3, 1, 2, 3});
  Tensor y = flex(kQ, kK, v);
  EXPECT_EQ(y.shape(), (Shape{1, 1, 1, 3}));
  EXPECT_NEAR(values(y)[2], 3.0, 1e-6);
}

TEST(FlexAttention, DoubleInputsGiveDoubleOutput) {
  Tensor q(DType::Float64, {1, 1, 1, 2}), k(DType::Float64, {1, 1, 2, 2}), v(DType::Float64, {1, 1, 2, 1});
  for (int i = 0; i < 2; ++i) q.set_double(i, kQ.get_double(i));
  for (int i = 0; i < 4; ++i) k.set_double(i, kK.get_double(i));
  for (int i = 0; i < 2; ++i) v.set_double(i, kV.get_double(i));
  Tensor y = flex(q, k, v);
  EXPECT_EQ(y.dtype(), DType::Float64);
  EXPECT_NEAR(values(y)[0], expected_y(1 / std::sqrt(2.0), 0), 1e-6);
}

TEST(FlexAttention, EmptyKeySequenceGivesZeros) {
  Tensor y = flex(floats({1, 1, 2, 2}, {1, 2, 3, 4}), Tensor(DType::Float32, {1, 1, 0, 2}),
                  Tensor(DType::Float32, {1, 1, 0, 3}));
  EXPECT_EQ(y.shape(), (Shape{1, 1, 2, 3}));
  EXPECT_EQ(values(y), std::vector<double>(6, 0.0));
}

TEST(FlexAttention, BadShapesThrow) {
  EXPECT_FLEX_ERROR(flex(floats({1, 2}, {1, 0}), kK, kV));                             // rank 2
  EXPECT_FLEX_ERROR(flex(floats({1, 1, 1, 3}, {1, 0, 0}), kK, kV));                     // head sizes differ
  EXPECT_FLEX_ERROR(flex(kQ, kK, floats({1, 1, 3, 1}, {1, 2, 3})));                     // K, V lengths differ
  EXPECT_FLEX_ERROR(flex(floats({2, 1, 1, 2}, {1, 0, 1, 0}), kK, kV));                  // batch differs
  Tensor q3 = floats({1, 3, 1, 1}, {1, 1, 1});
  Tensor k2 = floats({1, 2, 1, 1}, {1, 1});
  EXPECT_FLEX_ERROR(flex(q3, k2, k2));                                                  // 3 heads over 2
}

TEST(FlexAttention, MixedElementTypesThrow) {
  Tensor vd(DType::Float64, {1, 1, 2, 1});
  EXPECT_FLEX_ERROR(flex(kQ, kK, vd));
  Tensor qi(DType::Int32, {1, 1, 1, 2}), ki(DType::Int32, {1, 1, 2, 2}), vi(DType::Int32, {1, 1, 2, 1});
  EXPECT_FLEX_ERROR(flex(qi, ki, vi));
}

TEST(FlexAttention, MalformedModifiersThrow) {
  // Two inputs (the scalar-index signature of a different draft of the op).
  EXPECT_FLEX_ERROR(flex(kQ, kK, kV, {graph_attr("score_mod", modifier("Add", floats({}, {1}), 2))}));
  // A result of another shape.
  EXPECT_FLEX_ERROR(flex(kQ, kK, kV, {graph_attr("score_mod", modifier("Const", floats({3}, {1, 2, 3})))}));
  EXPECT_FLEX_ERROR(flex(kQ, kK, kV, {graph_attr("prob_mod", modifier("Const", floats({}, {1})))}));
  // A graph-valued mask_mod is not part of this version.
  EXPECT_FLEX_ERROR(flex(kQ, kK, kV, {graph_attr("mask_mod", modifier("Add", floats({}, {1})))}));
  // A non-float softmax precision.
  Attribute sp;
  sp.name = "softmax_precision";
  sp.type = Attribute::Type::Int;
  sp.i = static_cast<int64_t>(DType::Int32);
  EXPECT_FLEX_ERROR(flex(kQ, kK, kV, {sp}));
}

}  // namespace
}  // namespace hone
