// The analytic cost model behind `hone inspect` (src/bench/cost_model.h), on hand-computed cases.
#include <gtest/gtest.h>

#include <map>

#include "../cli/cli_models.h"
#include "bench/cost_model.h"

namespace hone::testing {
namespace {

struct Types {
  std::map<std::string, TypeInfo> m;
  Types& f32(const std::string& name, SymShape s) {
    m[name] = TypeInfo::tensor(DType::Float32, std::move(s));
    return *this;
  }
  NodeCost cost(const Node& n) const {
    return node_cost(n, [this](const std::string& name) -> const TypeInfo* {
      auto it = m.find(name);
      return it == m.end() ? nullptr : &it->second;
    });
  }
};

TEST(CostModel, MatMulBroadcastsBatchDims) {
  Types t;
  t.f32("a", {7, 1, 3, 4}).f32("b", {5, 4, 6}).f32("y", {7, 5, 3, 6});
  NodeCost c = t.cost(make_node("MatMul", {"a", "b"}, {"y"}));
  EXPECT_EQ(c.macs, 7 * 5 * 3 * 6 * 4);
  EXPECT_EQ(c.flops, 2 * c.macs);
  EXPECT_EQ(c.bytes_read, (7 * 3 * 4 + 5 * 4 * 6) * 4);
  EXPECT_EQ(c.bytes_written, 7 * 5 * 3 * 6 * 4);
  Types v;  // 1-D operands: a dot product
  v.f32("a", {9}).f32("b", {9}).f32("y", {});
  EXPECT_EQ(v.cost(make_node("MatMul", {"a", "b"}, {"y"})).macs, 9);
}

TEST(CostModel, ConvGroupedStridedAndWithoutInferredOutput) {
  Types t;  // depthwise 3x3, stride 2, pad 1: [1,8,9,9] -> [1,8,5,5]
  t.f32("x", {1, 8, 9, 9}).f32("w", {8, 1, 3, 3});
  Node n = make_node("Conv", {"x", "w"}, {"y"});
  n.attributes = {int_attr("group", 8), ints_attr("strides", {2, 2}), ints_attr("pads", {1, 1, 1, 1})};
  NodeCost unknown_out = t.cost(n);  // y's type unknown: shape computed from attributes, bytes unknown
  EXPECT_EQ(unknown_out.macs, 8 * 5 * 5 * 9);
  EXPECT_FALSE(unknown_out.known);
  t.f32("y", {1, 8, 5, 5});
  NodeCost c = t.cost(n);
  EXPECT_TRUE(c.known);
  EXPECT_EQ(c.macs, 8 * 5 * 5 * 9);
  Node same = n;
  same.attributes = {int_attr("group", 8), ints_attr("strides", {2, 2})};
  Attribute ap;
  ap.name = "auto_pad";
  ap.type = Attribute::Type::String;
  ap.s = "SAME_UPPER";
  same.attributes.push_back(ap);
  t.m.erase("y");
  EXPECT_EQ(t.cost(same).macs, 8 * 5 * 5 * 9);
}

TEST(CostModel, ConvTransposeGemmEinsum) {
  Types t;
  t.f32("x", {2, 4, 3, 3}).f32("w", {4, 6, 2, 2}).f32("y", {2, 6, 6, 6});
  EXPECT_EQ(t.cost(make_node("ConvTranspose", {"x", "w"}, {"y"})).macs, 2 * 4 * 9 * 6 * 4);
  Types g;
  g.f32("a", {5, 3}).f32("b", {5, 7}).f32("y", {3, 7});
  Node gemm = make_node("Gemm", {"a", "b"}, {"y"});
  gemm.attributes = {int_attr("transA", 1)};
  EXPECT_EQ(g.cost(gemm).macs, 3 * 7 * 5);
  Types e;
  e.f32("q", {2, 4, 8, 16}).f32("k", {2, 4, 10, 16}).f32("s", {2, 4, 8, 10});
  Node ein = make_node("Einsum", {"q", "k"}, {"s"});
  Attribute eq;
  eq.name = "equation";
  eq.type = Attribute::Type::String;
  eq.s = "bhqd, bhkd -> bhqk";
  ein.attributes = {eq};
  EXPECT_EQ(e.cost(ein).macs, 2 * 4 * 8 * 10 * 16);
  ein.attributes[0].s = "...qd,...kd->...qk";
  EXPECT_EQ(e.cost(ein).macs, 2 * 4 * 8 * 10 * 16);
}

TEST(CostModel, RecurrentAndAttention) {
  Types t;  // LSTM: seq 5, batch 3, input 10, hidden 20, bidirectional
  t.f32("x", {5, 3, 10}).f32("w", {2, 80, 10}).f32("r", {2, 80, 20}).f32("y", {5, 2, 3, 20});
  NodeCost c = t.cost(make_node("LSTM", {"x", "w", "r"}, {"y"}));
  EXPECT_EQ(c.macs, 2 * 5 * 3 * 80 * (10 + 20));
  Types a;  // Attention (opset 23), 4-D: B 2, H 4, Sq 8, Skv 12, head 16
  a.f32("q", {2, 4, 8, 16}).f32("k", {2, 4, 12, 16}).f32("v", {2, 4, 12, 16}).f32("o", {2, 4, 8, 16});
  NodeCost at = a.cost(make_node("Attention", {"q", "k", "v"}, {"o"}));
  EXPECT_EQ(at.macs, 2 * 4 * 8 * 12 * (16 + 16));
  EXPECT_GT(at.flops, 2 * at.macs);  // softmax on top
}

TEST(CostModel, ElementwiseReductionsPoolsAndDataMovement) {
  Types t;
  t.f32("x", {2, 3, 8, 8}).f32("y", {2, 3, 8, 8}).f32("r", {2, 3, 1, 1}).f32("p", {2, 3, 4, 4});
  EXPECT_EQ(t.cost(make_node("Sigmoid", {"x"}, {"y"})).flops, 384);
  EXPECT_EQ(t.cost(make_node("Sigmoid", {"x"}, {"y"})).macs, 0);
  EXPECT_EQ(t.cost(make_node("ReduceMean", {"x"}, {"r"})).flops, 384);
  EXPECT_EQ(t.cost(make_node("GlobalAveragePool", {"x"}, {"r"})).flops, 384);
  Node pool = make_node("AveragePool", {"x"}, {"p"});
  pool.attributes = {ints_attr("kernel_shape", {3, 3})};
  EXPECT_EQ(t.cost(pool).flops, 2 * 3 * 16 * 9);
  NodeCost tr = t.cost(make_node("Transpose", {"x"}, {"y"}));
  EXPECT_EQ(tr.flops, 0);
  EXPECT_EQ(tr.bytes_read, 384 * 4);
  EXPECT_EQ(tr.bytes_written, 384 * 4);
  EXPECT_EQ(tr.intensity(), 0.0);
  NodeCost missing = t.cost(make_node("Relu", {"x"}, {"nowhere"}));
  EXPECT_FALSE(missing.known);
}

}  // namespace
}  // namespace hone::testing
