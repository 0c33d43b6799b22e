// FlexAttention (ai.onnx.preview opset 1): what the conformance corpus does not cover: hand-checked values,
// masking through score_mod (including a fully masked row), grouped heads, empty key sequences, double inputs,
// and the errors (ranks, head sizes, head grouping, element types, malformed modifier graphs).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "op_test_util.h"

namespace hone::test {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

ValueInfo info(const std::string& name, DType t = DType::Float32) { return {name, TypeInfo::tensor(t), ""}; }

// A modifier graph: out = op(x, c) with `c` an initializer (or Identity(c) when `op` is "Const").
std::shared_ptr<Graph> modifier(const std::string& op, Tensor c, int num_inputs = 1) {
  auto g = std::make_shared<Graph>();
  g->name = "mod";
  g->inputs = {info("x")};
  for (int i = 1; i < num_inputs; ++i) g->inputs.push_back(info("extra" + std::to_string(i), DType::Int64));
  g->initializers["c"] = std::move(c);
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
  g->nodes.push_back(n);
  g->outputs = {info("mod_out")};
  return g;
}

// One FlexAttention node (ai.onnx.preview opset 1, ai.onnx 26) on fed q, k, v; returns its output. The error tests
// expect "FlexAttention" in the message: thrown from this node, not from loading or planning elsewhere.
Tensor flex(const Tensor& q, const Tensor& k, const Tensor& v, std::vector<Attribute> attrs = {}) {
  return run_op({"FlexAttention", "ai.onnx.preview", 1, 1, 26}, {{"q", q}, {"k", k}, {"v", v}}, std::move(attrs))[0];
}

// Q [1, 1, 1, 2] = (1, 0); K rows (1, 0) and (0, 1); V rows 10 and 20. Scores scale * (1, 0).
const Tensor kQ = f32({1, 1, 1, 2}, {1, 0});
const Tensor kK = f32({1, 1, 2, 2}, {1, 0, 0, 1});
const Tensor kV = f32({1, 1, 2, 1}, {10, 20});

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
  Tensor y = flex(kQ, kK, kV, {Attribute::of_float("scale", 3.0f)});
  EXPECT_NEAR(values(y)[0], expected_y(3, 0), 1e-5);
}

TEST(FlexAttention, ScoreModAddsABias) {
  // Bias (0, 2) broadcast over [1, 1, 1, 2]: scores become (s, 2).
  Tensor y = flex(kQ, kK, kV, {Attribute::of_graph("score_mod", modifier("Add", f32({2}, {0, 2})))});
  EXPECT_NEAR(values(y)[0], expected_y(1 / std::sqrt(2.0), 2), 1e-5);
}

TEST(FlexAttention, ScoreModMasksWithMinusInfinity) {
  Tensor y = flex(kQ, kK, kV, {Attribute::of_graph("score_mod", modifier("Add", f32({2}, {-kInf, 0})))});
  EXPECT_FLOAT_EQ(static_cast<float>(values(y)[0]), 20.0f);
}

TEST(FlexAttention, FullyMaskedRowIsNaNAsSoftmaxGives) {
  Tensor y = flex(kQ, kK, kV, {Attribute::of_graph("score_mod", modifier("Add", f32({2}, {-kInf, -kInf})))});
  EXPECT_TRUE(std::isnan(values(y)[0]));
}

TEST(FlexAttention, ProbModScalesProbabilities) {
  Tensor y = flex(kQ, kK, kV, {Attribute::of_graph("prob_mod", modifier("Mul", f32({}, {0.5f})))});
  EXPECT_NEAR(values(y)[0], 0.5 * expected_y(1 / std::sqrt(2.0), 0), 1e-5);
}

TEST(FlexAttention, GroupedHeadsShareKeyValueHeads) {
  // Hq = 4, Hkv = 2: query heads 0, 1 use KV head 0 (V = 1), heads 2, 3 use KV head 1 (V = 2).
  Tensor q = f32({1, 4, 1, 1}, {1, 2, 3, 4});
  Tensor k = f32({1, 2, 1, 1}, {1, 1});
  Tensor v = f32({1, 2, 1, 1}, {1, 2});
  Tensor y = flex(q, k, v);
  EXPECT_EQ(y.shape(), (Shape{1, 4, 1, 1}));
  EXPECT_EQ(values(y), (std::vector<double>{1, 1, 2, 2}));
}

TEST(FlexAttention, ValueHeadSizeMayDifferFromQueryHeadSize) {
  Tensor v = f32({1, 1, 2, 3}, {1, 2, 3, 1, 2, 3});
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
  Tensor y = flex(f32({1, 1, 2, 2}, {1, 2, 3, 4}), Tensor(DType::Float32, {1, 1, 0, 2}),
                  Tensor(DType::Float32, {1, 1, 0, 3}));
  EXPECT_EQ(y.shape(), (Shape{1, 1, 2, 3}));
  EXPECT_EQ(values(y), std::vector<double>(6, 0.0));
}

TEST(FlexAttention, BadShapesThrow) {
  EXPECT_ERROR("FlexAttention", flex(f32({1, 2}, {1, 0}), kK, kV));  // rank 2
  EXPECT_ERROR("FlexAttention", flex(f32({1, 1, 1, 3}, {1, 0, 0}), kK, kV));  // head sizes differ
  EXPECT_ERROR("FlexAttention", flex(kQ, kK, f32({1, 1, 3, 1}, {1, 2, 3})));  // K, V lengths differ
  EXPECT_ERROR("FlexAttention", flex(f32({2, 1, 1, 2}, {1, 0, 1, 0}), kK, kV));  // batch differs
  Tensor q3 = f32({1, 3, 1, 1}, {1, 1, 1});
  Tensor k2 = f32({1, 2, 1, 1}, {1, 1});
  EXPECT_ERROR("FlexAttention", flex(q3, k2, k2));  // 3 heads over 2
}

TEST(FlexAttention, MixedElementTypesThrow) {
  Tensor vd(DType::Float64, {1, 1, 2, 1});
  EXPECT_ERROR("FlexAttention", flex(kQ, kK, vd));
  Tensor qi(DType::Int32, {1, 1, 1, 2}), ki(DType::Int32, {1, 1, 2, 2}), vi(DType::Int32, {1, 1, 2, 1});
  EXPECT_ERROR("FlexAttention", flex(qi, ki, vi));
}

TEST(FlexAttention, MalformedModifiersThrow) {
  // Two inputs (the scalar-index signature of a different draft of the op).
  EXPECT_ERROR("FlexAttention", flex(kQ, kK, kV, {Attribute::of_graph("score_mod", modifier("Add", f32({}, {1}), 2))}));
  // A result of another shape.
  EXPECT_ERROR("FlexAttention",
               flex(kQ, kK, kV, {Attribute::of_graph("score_mod", modifier("Const", f32({3}, {1, 2, 3})))}));
  EXPECT_ERROR("FlexAttention", flex(kQ, kK, kV, {Attribute::of_graph("prob_mod", modifier("Const", f32({}, {1})))}));
  // A graph-valued mask_mod is not part of this version.
  EXPECT_ERROR("FlexAttention", flex(kQ, kK, kV, {Attribute::of_graph("mask_mod", modifier("Add", f32({}, {1})))}));
  // A non-float softmax precision.
  EXPECT_ERROR("FlexAttention",
               flex(kQ, kK, kV, {Attribute::of_int("softmax_precision", static_cast<int64_t>(DType::Int32))}));
}

}  // namespace
}  // namespace hone
