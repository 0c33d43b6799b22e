// upgrade_opset: every converted op computes the same at the new opset as at the old one (reference kernels, which
// implement each opset's meaning), and what cannot be converted is refused with the node named.
#include "passes/upgrade_opset.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "ir/onnx/onnx_io.h"
#include "pass_test_util.h"
#include "test_paths.h"

namespace hone {
namespace {

using test::count_ops;
using test::expect_same_outputs;

ValueInfo f32(const std::string& name, Shape s) {
  SymShape d;
  for (int64_t x : s) d.push_back(Dim(x));
  return {name, TypeInfo::tensor(DType::Float32, d), ""};
}

Node node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
          std::vector<Attribute> attrs = {}) {
  Node n;
  n.name = op + "_0";
  n.op_type = op;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.attributes = std::move(attrs);
  return n;
}

// One-node model at `opset` with input x of `shape` and output y (type left to inference).
Model one_node(int64_t opset, Shape shape, Node n) {
  Model m;
  m.ir_version = 4;
  m.opset_import = {{"", opset}};
  m.graph.inputs = {f32("x", std::move(shape))};
  m.graph.nodes = {std::move(n)};
  for (const std::string& o : m.graph.nodes[0].outputs) m.graph.outputs.push_back({o, TypeInfo{}, ""});
  return m;
}

// Upgrades a copy to `target` and checks that the op (or its replacement) kept its outputs.
Model upgraded_same(const Model& m, int64_t target = 13) {
  Model up = m;
  OpsetUpgrade r = upgrade_opset(up, target);
  EXPECT_EQ(r.from, m.opset(""));
  EXPECT_EQ(up.opset(""), target);
  EXPECT_FALSE(r.rewritten.empty());
  expect_same_outputs(m, up);
  return up;
}

TEST(UpgradeOpset, SliceAttributesBecomeInputs) {
  Model m = one_node(9, {4, 6}, node("Slice", {"x"}, {"y"}, {Attribute::of_ints("starts", {1, -4}),
                                                               Attribute::of_ints("ends", {3, 1000}),
                                                               Attribute::of_ints("axes", {0, 1})}));
  Model up = upgraded_same(m);
  EXPECT_EQ(up.graph.nodes[0].inputs.size(), 4u);
  EXPECT_FALSE(up.graph.nodes[0].has_attr("starts"));
}

TEST(UpgradeOpset, ClipAttributesBecomeInputs) {
  Model both = one_node(9, {3, 5}, node("Clip", {"x"}, {"y"}, {Attribute::of_float("min", -0.25f),
                                                              Attribute::of_float("max", 0.5f)}));
  Model up = upgraded_same(both);
  EXPECT_EQ(up.graph.nodes[0].inputs.size(), 3u);
  // Only max: min stays an omitted input.
  Model only_max = one_node(9, {3, 5}, node("Clip", {"x"}, {"y"}, {Attribute::of_float("max", 0.1f)}));
  Model up2 = upgraded_same(only_max);
  ASSERT_EQ(up2.graph.nodes[0].inputs.size(), 3u);
  EXPECT_TRUE(up2.graph.nodes[0].inputs[1].empty());
}

TEST(UpgradeOpset, PadAttributesBecomeInputs) {
  Model m = one_node(9, {1, 2, 3, 3}, node("Pad", {"x"}, {"y"}, {Attribute::of_ints("pads", {0, 0, 1, 2, 0, 0, 2, 1}),
                                                                 Attribute::of_float("value", 1.5f)}));
  upgraded_same(m);
  Model refl = one_node(9, {1, 2, 4, 4}, node("Pad", {"x"}, {"y"}, {Attribute::of_ints("pads", {0, 0, 1, 1, 0, 0, 1, 1}),
                                                                    Attribute::of_string("mode", "reflect")}));
  upgraded_same(refl);
}

TEST(UpgradeOpset, AxesAndSplitBecomeInputs) {
  upgraded_same(one_node(11, {2, 1, 3, 1}, node("Squeeze", {"x"}, {"y"}, {Attribute::of_ints("axes", {1, -1})})));
  upgraded_same(one_node(11, {2, 3}, node("Unsqueeze", {"x"}, {"y"}, {Attribute::of_ints("axes", {0, 3})})));
  upgraded_same(one_node(11, {2, 3, 4}, node("ReduceSum", {"x"}, {"y"}, {Attribute::of_ints("axes", {1}),
                                                                        Attribute::of_int("keepdims", 0)})));
  Model split = one_node(11, {2, 7}, node("Split", {"x"}, {"a", "b"}, {Attribute::of_int("axis", 1),
                                                                       Attribute::of_ints("split", {3, 4})}));
  Model up = upgraded_same(split);
  EXPECT_EQ(up.graph.nodes[0].inputs.size(), 2u);
}

TEST(UpgradeOpset, SoftmaxOnTheLastAxisStaysOneNode) {
  Model m = one_node(11, {2, 5}, node("Softmax", {"x"}, {"y"}));  // default axis 1 = last of rank 2
  Model up = upgraded_same(m);
  EXPECT_EQ(up.graph.nodes.size(), 1u);
  EXPECT_EQ(up.graph.nodes[0].attr_int("axis", 0), -1);
}

TEST(UpgradeOpset, SoftmaxOverSeveralAxesKeepsItsOldMeaning) {
  // Opset 11: softmax over the flattened dims 1..3 of each of the 2 rows; opset 13 would take dim 1 alone.
  for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"}) {
    SCOPED_TRACE(op);
    Model m = one_node(11, {2, 3, 4, 2}, node(op, {"x"}, {"y"}));
    Model up = upgraded_same(m);
    EXPECT_EQ(count_ops(up.graph, "Flatten"), 1);
    EXPECT_EQ(count_ops(up.graph, "Reshape"), 1);
  }
}

TEST(UpgradeOpset, UpsampleBecomesResize) {
  Model m = one_node(9, {1, 2, 3, 4}, node("Upsample", {"x", "scales"}, {"y"}, {Attribute::of_string("mode", "nearest")}));
  Tensor s(DType::Float32, {4});
  float v[] = {1, 1, 2, 3};
  std::copy(v, v + 4, s.data<float>());
  m.graph.initializers["scales"] = s;
  Model up = upgraded_same(m);
  EXPECT_EQ(count_ops(up.graph, "Resize"), 1);
  Model lin = m;
  lin.graph.nodes[0].attributes = {Attribute::of_string("mode", "linear")};
  upgraded_same(lin);
  // Downsampling's rounding differs between runtimes: refused, model untouched.
  float down[] = {1, 1, 0.5f, 0.5f};
  std::copy(down, down + 4, m.graph.initializers["scales"].data<float>());
  Model copy = m;
  try {
    upgrade_opset(copy, 13);
    FAIL() << "downsampling Upsample was converted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Upsample_0 (Upsample)"), std::string::npos) << e.what();
  }
  EXPECT_EQ(copy.opset(""), 9);
  EXPECT_EQ(copy.graph.nodes[0].op_type, "Upsample");
}

TEST(UpgradeOpset, TopKAndDropout) {
  Model topk = one_node(9, {3, 6}, node("TopK", {"x"}, {"v", "i"}, {Attribute::of_int("k", 2)}));
  upgraded_same(topk);
  Model drop = one_node(9, {3, 6}, node("Dropout", {"x"}, {"y"}, {Attribute::of_float("ratio", 0.3f)}));
  upgraded_same(drop);
}

TEST(UpgradeOpset, NoOpAtOrAboveTheTarget) {
  Model m = one_node(13, {2, 3}, node("Relu", {"x"}, {"y"}));
  OpsetUpgrade r = upgrade_opset(m, 13);
  EXPECT_TRUE(r.rewritten.empty());
  EXPECT_EQ(m.opset(""), 13);
  EXPECT_THROW(upgrade_opset(m, 18), Error);  // beyond what the converter knows
}

TEST(UpgradeOpset, BatchNormSpatialZeroIsRefused) {
  Model m = one_node(7, {1, 2, 3, 3}, node("BatchNormalization", {"x", "s", "b", "mu", "var"}, {"y"},
                                           {Attribute::of_int("spatial", 0)}));
  EXPECT_THROW(upgrade_opset(m, 13), Error);
  EXPECT_EQ(m.opset(""), 7);
}

// The real models this exists for: PaddleOCR rec (opset 9) and det (11) compute the same after the upgrade (at small
// input sizes, to stay fast).
TEST(UpgradeOpset, RealModelsKeepTheirOutputs) {
  struct Case {
    std::string path;
    std::vector<int64_t> fix;  // values for the symbolic input dims, in order
  };
  std::vector<Case> cases = {
      {test::npm_model(test::kPaddleRec), {1, 64}},
      {test::npm_model(test::kPaddleDet), {1, 64, 64}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    if (!std::filesystem::exists(c.path)) GTEST_SKIP() << c.path << " missing (scripts/install_deps.sh installs it)";
    Model m = load_onnx_file(c.path);
    size_t k = 0;
    for (Dim& d : *m.graph.inputs[0].type.shape)
      if (!d.known()) d = Dim(c.fix.at(k++));
    Model up = m;
    OpsetUpgrade r = upgrade_opset(up, 13);
    EXPECT_LT(r.from, 13);
    EXPECT_EQ(up.opset(""), 13);
    if (r.from < 11) EXPECT_GT(r.rewritten.size(), 0u);  // rec: Clip and Slice attributes, at least
    SessionOptions o{.threads = 2, .optimize_graph = true};
    Session a(m, o), b(up, o);
    std::vector<Value> feeds = test::random_feeds(m.graph, 3);
    std::vector<Value> ya = a.run_values(feeds), yb = b.run_values(feeds);
    ASSERT_EQ(ya.size(), yb.size());
    for (size_t i = 0; i < ya.size(); ++i) {
      const Tensor& ta = ya[i].tensor;
      const Tensor& tb = yb[i].tensor;
      ASSERT_EQ(ta.shape(), tb.shape());
      for (int64_t e = 0; e < ta.numel(); ++e)
        ASSERT_NEAR(ta.get_double(e), tb.get_double(e), 1e-5 + 1e-4 * std::fabs(ta.get_double(e))) << "element " << e;
    }
  }
}

}  // namespace
}  // namespace hone
