// The weight-folding and re-parameterization passes of `hone optimize` (fold-batchnorm, batchnorm-to-affine,
// fold-scale, matmul-add-to-gemm, reparameterize, merge-conv) on small graphs built here: the structure each rewrite
// leaves, outputs equal to the original's on random inputs, and the cases each pass must leave alone. Last, the
// whole default pipeline on the RepVGG fixture (tests/fixtures/make_repvgg.py).
#include <limits>
#include <optional>
#include <random>
#include <stdexcept>

#include "ir/onnx/onnx_io.h"
#include "pass_test_util.h"
#include "test_paths.h"

namespace hone {
namespace {

using test::count_ops;
using test::expect_same_outputs;
using test::optimized;

Tensor random_tensor(Shape s, std::mt19937& rng, float lo = -1.f, float hi = 1.f) {
  Tensor t(DType::Float32, std::move(s));
  std::uniform_real_distribution<float> d(lo, hi);
  for (float& v : t.span<float>()) v = d(rng);
  return t;
}

struct ConvSpec {
  int64_t k = 3, stride = 1, group = 1, dilation = 1;
  std::optional<std::vector<int64_t>> pads;  // default: k / 2 * dilation on every side
  bool bias = true;
  int nd = 2;  // spatial dims
  std::string auto_pad;
};

// Builds float32 models node by node with seeded random weights.
struct Net {
  Model m;
  std::mt19937 rng{11};
  int next = 0;

  explicit Net(int64_t opset = 13) {
    m.ir_version = 8;
    m.opset_import = {{"", opset}};
    m.graph.name = "g";
  }
  std::string input(const std::string& name, SymShape s) {
    m.graph.inputs.push_back({name, TypeInfo::tensor(DType::Float32, std::move(s)), ""});
    return name;
  }
  std::string fresh(const std::string& p) { return p + std::to_string(next++); }
  std::string constant(Tensor t) {
    std::string n = fresh("c");
    m.graph.initializers[n] = std::move(t);
    return n;
  }
  std::string weight(Shape s, float lo = -0.5f, float hi = 0.5f) {
    return constant(random_tensor(std::move(s), rng, lo, hi));
  }
  std::string op(const std::string& type, std::vector<std::string> in, std::vector<Attribute> attrs = {}) {
    std::string y = fresh("v");
    m.graph.nodes.push_back({fresh("n"), type, "", std::move(in), {y}, std::move(attrs), ""});
    return y;
  }
  std::string conv(const std::string& x, int64_t cin, int64_t cout, ConvSpec s = {}) {
    Shape ws = {cout, cin / s.group};
    for (int d = 0; d < s.nd; ++d) ws.push_back(s.k);
    std::vector<std::string> in = {x, weight(ws)};
    if (s.bias) in.push_back(weight({cout}, -1.f, 1.f));
    std::vector<int64_t> pads =
        s.pads ? *s.pads : std::vector<int64_t>(2 * static_cast<size_t>(s.nd), s.k / 2 * s.dilation);
    std::vector<Attribute> attrs = {
        Attribute::of_int("group", s.group),
        Attribute::of_ints("strides", std::vector<int64_t>(static_cast<size_t>(s.nd), s.stride)),
        Attribute::of_ints("dilations", std::vector<int64_t>(static_cast<size_t>(s.nd), s.dilation))};
    if (s.auto_pad.empty())
      attrs.push_back(Attribute::of_ints("pads", pads));
    else
      attrs.push_back(Attribute::of_string("auto_pad", s.auto_pad));
    return op("Conv", std::move(in), std::move(attrs));
  }
  // Inference BatchNormalization with random (non-identity) statistics; `mean_input` names a graph input to use as
  // the mean instead of a constant.
  std::string bn(const std::string& x, int64_t c, std::vector<Attribute> attrs = {},
                 const std::string& mean_input = "") {
    std::string scale = constant(random_tensor({c}, rng, 0.5f, 1.5f));
    std::string bias = weight({c}, -0.5f, 0.5f);
    std::string mean = mean_input.empty() ? weight({c}, -0.5f, 0.5f) : mean_input;
    std::string var = constant(random_tensor({c}, rng, 0.5f, 2.f));
    attrs.push_back(Attribute::of_float("epsilon", 1e-3f));
    return op("BatchNormalization", {x, scale, bias, mean, var}, std::move(attrs));
  }
  Model done(const std::vector<std::string>& outs) {
    for (const std::string& o : outs) m.graph.outputs.push_back({o, TypeInfo::tensor(DType::Float32), ""});
    return m;
  }
};

// Runs `passes`; the result keeps the graph's input and output names and its outputs' values.
Model check_rewrite(const Model& m, std::vector<std::string> passes, double rtol = 1e-4, double atol = 1e-5) {
  OptimizeReport r;
  Model out = optimized(m, std::move(passes), &r);
  int rewrites = 0;
  for (const PassStats& p : r.passes) rewrites += p.rewrites;
  EXPECT_GT(rewrites, 0) << "nothing was rewritten";
  EXPECT_EQ(out.graph.inputs.size(), m.graph.inputs.size());
  for (size_t i = 0; i < std::min(out.graph.inputs.size(), m.graph.inputs.size()); ++i)
    EXPECT_EQ(out.graph.inputs[i].name, m.graph.inputs[i].name);
  EXPECT_EQ(out.graph.outputs.size(), m.graph.outputs.size());
  for (size_t i = 0; i < std::min(out.graph.outputs.size(), m.graph.outputs.size()); ++i)
    EXPECT_EQ(out.graph.outputs[i].name, m.graph.outputs[i].name);
  expect_same_outputs(m, out, rtol, atol);
  return out;
}

// The pass makes no rewrite and leaves every node as it was.
void expect_untouched(const Model& m, const std::string& pass) {
  OptimizeReport r;
  Model out = optimized(m, {pass}, &r);
  EXPECT_EQ(r.passes.at(0).rewrites, 0);
  ASSERT_EQ(out.graph.nodes.size(), m.graph.nodes.size());
  for (size_t i = 0; i < m.graph.nodes.size(); ++i) {
    EXPECT_EQ(out.graph.nodes[i].op_type, m.graph.nodes[i].op_type) << "node " << i;
    EXPECT_EQ(out.graph.nodes[i].inputs, m.graph.nodes[i].inputs) << "node " << i;
    EXPECT_EQ(out.graph.nodes[i].outputs, m.graph.nodes[i].outputs) << "node " << i;
  }
}

const Node& only(const Graph& g, const std::string& op_type) {
  for (const Node& n : g.nodes)
    if (n.op_type == op_type) return n;
  throw std::runtime_error("no " + op_type + " node");
}

// ------------------------------------------------------------------------------------------------ fold-batchnorm

TEST(FoldBatchNorm, IntoConvAndGroupedConvTranspose) {
  Net n;
  std::string x = n.input("x", {1, 8, 7, 7});
  std::string a = n.bn(n.conv(x, 8, 6, {.k = 3, .stride = 2}), 6);
  std::string w = n.weight({6, 3, 2, 2});  // ConvTranspose [C, M/g, k, k], 2 groups: 6 output channels
  std::string b =
      n.bn(n.op("ConvTranspose", {a, w}, {Attribute::of_ints("strides", {2, 2}), Attribute::of_int("group", 2)}), 6);
  Model out = check_rewrite(n.done({b}), {"fold-batchnorm"});
  EXPECT_EQ(count_ops(out.graph, "BatchNormalization"), 0);
  EXPECT_EQ(count_ops(out.graph, "Conv"), 1);
  EXPECT_EQ(count_ops(out.graph, "ConvTranspose"), 1);
  EXPECT_EQ(only(out.graph, "ConvTranspose").inputs.size(), 3u);  // a bias now
}

TEST(FoldBatchNorm, SharedWeightsAreCopiedAndNewNamesAreFresh) {
  // Two convs read one weight `w`; only the first is followed by a BN (and then a Mul for fold-scale). A node output
  // is already called `w_folded`, the name the folded weight would take.
  Net n;
  std::string x = n.input("x", {1, 4, 5, 5});
  n.m.graph.initializers["w"] = random_tensor({4, 4, 3, 3}, n.rng, -0.5f, 0.5f);
  Attribute pads = Attribute::of_ints("pads", {1, 1, 1, 1});
  std::string a = n.bn(n.op("Conv", {x, "w"}, {pads}), 4);
  a = n.op("Mul", {a, n.weight({4, 1, 1})});
  std::string b = n.op("Conv", {x, "w"}, {pads});
  n.m.graph.nodes.push_back({"taken", "Relu", "", {x}, {"w_folded"}, {}, ""});
  Model out = check_rewrite(n.done({a, b, "w_folded"}), {"fold-batchnorm", "fold-scale"});
  EXPECT_EQ(count_ops(out.graph, "Conv"), 2);
  EXPECT_EQ(out.graph.nodes.size(), 3u);
  EXPECT_TRUE(out.graph.initializers.count("w"));  // the second conv still reads it
  EXPECT_FALSE(out.graph.initializers.count("w_folded"));
}

TEST(FoldBatchNorm, IntoGemmForEveryTransposeScaleAndBias) {
  for (int trans_b = 0; trans_b < 2; ++trans_b)
    for (auto [alpha, beta] : {std::pair{1.f, 1.f}, std::pair{0.5f, 2.f}})
      for (const Shape& c_shape : {Shape{}, Shape{4}, Shape{3, 4}, Shape{1}, Shape{3, 1}}) {
        SCOPED_TRACE("transB " + std::to_string(trans_b) + " alpha " + std::to_string(alpha) + " C " +
                     (c_shape.empty() ? "absent" : shape_str(c_shape)));
        Net n;
        std::string x = n.input("x", {3, 5});
        std::vector<std::string> in = {x, n.weight(trans_b ? Shape{4, 5} : Shape{5, 4})};
        if (!c_shape.empty()) in.push_back(n.weight(c_shape, -1.f, 1.f));
        std::string y = n.op("Gemm", in,
                             {Attribute::of_int("transB", trans_b), Attribute::of_float("alpha", alpha),
                              Attribute::of_float("beta", beta)});
        Model out = check_rewrite(n.done({n.bn(y, 4)}), {"fold-batchnorm"});
        EXPECT_EQ(out.graph.nodes.size(), 1u);
        EXPECT_EQ(count_ops(out.graph, "Gemm"), 1);
      }
}

TEST(FoldBatchNorm, IntoMatMulAsScaledWeightsAndAnAddThatBecomesGemm) {
  Net n;
  std::string x = n.input("x", {Dim::named("batch"), 5});
  std::string y = n.bn(n.op("MatMul", {x, n.weight({5, 4})}), 4);
  Model m = n.done({y});
  Model out = check_rewrite(m, {"fold-batchnorm"});
  EXPECT_EQ(count_ops(out.graph, "BatchNormalization"), 0);
  EXPECT_EQ(count_ops(out.graph, "MatMul"), 1);
  EXPECT_EQ(count_ops(out.graph, "Add"), 1);
  Model gemm = check_rewrite(m, {"fold-batchnorm", "matmul-add-to-gemm"});
  ASSERT_EQ(gemm.graph.nodes.size(), 1u);
  EXPECT_EQ(gemm.graph.nodes[0].op_type, "Gemm");
}

TEST(FoldBatchNorm, IntoAFollowingUnpaddedConv) {
  std::vector<ConvSpec> specs = {
      {.k = 3, .pads = std::vector<int64_t>(4, 0)},
      {.k = 3, .stride = 2, .group = 2, .pads = std::vector<int64_t>(4, 0)},
      {.k = 3, .dilation = 2, .pads = std::vector<int64_t>(4, 0), .bias = false},
      {.k = 1, .group = 4},
      {.k = 3, .auto_pad = "VALID"},
      {.k = 3, .pads = std::vector<int64_t>(2, 0), .nd = 1},
  };
  for (size_t i = 0; i < specs.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    Net n;
    SymShape xs = specs[i].nd == 1 ? SymShape{2, 8, 11} : SymShape{2, 8, 9, 9};
    std::string x = n.input("x", xs);
    std::string y = n.conv(n.bn(x, 8), 8, 4 * specs[i].group, specs[i]);
    Model out = check_rewrite(n.done({y}), {"fold-batchnorm"});
    EXPECT_EQ(count_ops(out.graph, "BatchNormalization"), 0);
    ASSERT_EQ(out.graph.nodes.size(), 1u);
    EXPECT_EQ(out.graph.nodes[0].inputs[0], "x");
  }
}

TEST(FoldBatchNorm, NotIntoAPaddedConvAfterIt) {
  // Padding zeros of BN(x) are not BN of padding zeros: the fold would change the border.
  for (const ConvSpec& s : {ConvSpec{.k = 3}, ConvSpec{.k = 3, .auto_pad = "SAME_UPPER"}}) {
    Net n;
    std::string x = n.input("x", {1, 4, 6, 6});
    expect_untouched(n.done({n.conv(n.bn(x, 4), 4, 4, s)}), "fold-batchnorm");
  }
}

TEST(FoldBatchNorm, NotWhenTheValueBetweenHasOtherReaders) {
  {  // conv output is also a graph output
    Net n;
    std::string c = n.conv(n.input("x", {1, 4, 6, 6}), 4, 4);
    expect_untouched(n.done({n.bn(c, 4), c}), "fold-batchnorm");
  }
  {  // conv output is also read by a Relu
    Net n;
    std::string c = n.conv(n.input("x", {1, 4, 6, 6}), 4, 4);
    expect_untouched(n.done({n.bn(c, 4), n.op("Relu", {c})}), "fold-batchnorm");
  }
  {  // BN output (before an unpadded conv) is also a graph output
    Net n;
    std::string b = n.bn(n.input("x", {1, 4, 6, 6}), 4);
    expect_untouched(n.done({n.conv(b, 4, 4, {.k = 1}), b}), "fold-batchnorm");
  }
  {  // Gemm output read twice
    Net n;
    std::string y = n.op("Gemm", {n.input("x", {3, 5}), n.weight({5, 4})});
    expect_untouched(n.done({n.bn(y, 4), n.op("Relu", {y})}), "fold-batchnorm");
  }
}

TEST(FoldBatchNorm, NotForNonConstantParametersTrainingFormsOrBatchedMatMul) {
  {  // mean fed at run time
    Net n;
    n.input("mean", {4});
    std::string c = n.conv(n.input("x", {1, 4, 6, 6}), 4, 4);
    expect_untouched(n.done({n.bn(c, 4, {}, "mean")}), "fold-batchnorm");
  }
  {  // conv weights fed at run time
    Net n;
    std::string x = n.input("x", {1, 4, 6, 6});
    std::string w = n.input("w", {4, 4, 1, 1});
    expect_untouched(n.done({n.bn(n.op("Conv", {x, w}), 4)}), "fold-batchnorm");
  }
  {  // training mode (opset 15)
    Net n(15);
    std::string c = n.conv(n.input("x", {2, 4, 6, 6}), 4, 4);
    expect_untouched(n.done({n.bn(c, 4, {Attribute::of_int("training_mode", 1)})}), "fold-batchnorm");
  }
  {  // opset 6 without is_test: the training form
    Net n(6);
    std::string c = n.conv(n.input("x", {2, 4, 6, 6}), 4, 4);
    expect_untouched(n.done({n.bn(c, 4)}), "fold-batchnorm");
  }
  {  // MatMul with a 3-D result: BN's channel axis 1 is not the weight's column
    Net n;
    std::string y = n.op("MatMul", {n.input("x", {2, 3, 5}), n.weight({5, 4})});
    expect_untouched(n.done({n.bn(y, 3)}), "fold-batchnorm");
  }
  {  // MatMul whose weight is fed at run time
    Net n;
    std::string y = n.op("MatMul", {n.input("x", {3, 5}), n.input("w", {5, 4})});
    expect_untouched(n.done({n.bn(y, 4)}), "fold-batchnorm");
  }
}

TEST(FoldBatchNorm, Opset6InferenceFormFolds) {
  Net n(6);
  std::string c = n.conv(n.input("x", {2, 4, 6, 6}), 4, 4);
  Model out = check_rewrite(n.done({n.bn(c, 4, {Attribute::of_int("is_test", 1)})}), {"fold-batchnorm"});
  EXPECT_EQ(count_ops(out.graph, "BatchNormalization"), 0);
}

// ------------------------------------------------------------------------------------------- batchnorm-to-affine

TEST(BatchNormToAffine, BecomesPerChannelMulAndAddForEveryRank) {
  for (const SymShape& xs : {SymShape{3, 5}, SymShape{2, 5, 7}, SymShape{Dim::named("n"), 5, 4, 3}}) {
    SCOPED_TRACE(sym_shape_str(xs));
    Net n;
    std::string y = n.bn(n.input("x", xs), 5);
    Model out = check_rewrite(n.done({y}), {"batchnorm-to-affine"});
    ASSERT_EQ(out.graph.nodes.size(), 2u);
    const Node& mul = out.graph.nodes[0];
    const Node& add = out.graph.nodes[1];
    EXPECT_EQ(mul.op_type, "Mul");
    EXPECT_EQ(add.op_type, "Add");
    EXPECT_EQ(add.inputs[0], mul.outputs[0]);
    Shape want(xs.size() - 1, 1);
    want[0] = 5;
    EXPECT_EQ(out.graph.initializers.at(mul.inputs[1]).shape(), want);
    EXPECT_EQ(out.graph.initializers.at(add.inputs[1]).shape(), want);
  }
}

TEST(BatchNormToAffine, LeavesNonConstantTrainingAndLegacyForms) {
  {
    Net n;
    n.input("mean", {4});
    expect_untouched(n.done({n.bn(n.input("x", {2, 4, 3}), 4, {}, "mean")}), "batchnorm-to-affine");
  }
  {
    Net n(15);
    expect_untouched(n.done({n.bn(n.input("x", {2, 4, 3}), 4, {Attribute::of_int("training_mode", 1)})}),
                     "batchnorm-to-affine");
  }
  {  // opset 6: Mul / Add would need the legacy broadcast attributes
    Net n(6);
    expect_untouched(n.done({n.bn(n.input("x", {2, 4, 3}), 4, {Attribute::of_int("is_test", 1)})}),
                     "batchnorm-to-affine");
  }
}

// -------------------------------------------------------------------------------------------------- fold-scale

TEST(FoldScale, MulDivAddSubChainAfterConvFoldsIntoWeightsAndBias) {
  for (bool bias : {true, false}) {
    Net n;
    std::string y = n.conv(n.input("x", {2, 4, 6, 6}), 4, 5, {.bias = bias});
    y = n.op("Mul", {n.weight({5, 1, 1}, 0.5f, 2.f), y});
    y = n.op("Div", {y, n.constant(scalar_tensor(DType::Float32, 3.f))});
    y = n.op("Add", {y, n.weight({1, 5, 1, 1})});
    y = n.op("Sub", {y, n.weight({5, 1, 1})});
    y = n.op("Sub", {n.constant(scalar_tensor(DType::Float32, 0.25f)), y});  // c - y
    Model out = check_rewrite(n.done({y}), {"fold-scale"});
    ASSERT_EQ(out.graph.nodes.size(), 1u);
    EXPECT_EQ(out.graph.nodes[0].op_type, "Conv");
    EXPECT_EQ(out.graph.nodes[0].inputs.size(), 3u);
  }
}

TEST(FoldScale, AfterConvTransposeGemmAndMatMul) {
  {
    Net n;
    std::string y = n.op("ConvTranspose", {n.input("x", {1, 4, 3, 3}), n.weight({4, 3, 2, 2})},
                         {Attribute::of_ints("strides", {2, 2})});
    Model out = check_rewrite(n.done({n.op("Mul", {y, n.weight({3, 1, 1})})}), {"fold-scale"});
    EXPECT_EQ(out.graph.nodes.size(), 1u);
  }
  for (int trans_b = 0; trans_b < 2; ++trans_b) {
    Net n;
    std::string y = n.op(
        "Gemm", {n.input("x", {3, 5}), n.weight(trans_b ? Shape{4, 5} : Shape{5, 4}), n.weight({4})},
        {Attribute::of_int("transB", trans_b), Attribute::of_float("alpha", 0.5f), Attribute::of_float("beta", 2.f)});
    y = n.op("Mul", {y, n.weight({4}, 0.5f, 2.f)});
    y = n.op("Add", {n.weight({3, 4}), y});
    y = n.op("Div", {y, n.weight({1, 4}, 0.5f, 2.f)});
    y = n.op("Sub", {y, n.weight({3, 1})});
    y = n.op("Sub", {n.weight({1, 4}), y});  // c - y
    Model out = check_rewrite(n.done({y}), {"fold-scale"});
    ASSERT_EQ(out.graph.nodes.size(), 1u);
    EXPECT_EQ(out.graph.nodes[0].op_type, "Gemm");
  }
  {  // Gemm without C: a Mul adds none
    Net n;
    std::string y = n.op("Gemm", {n.input("x", {3, 5}), n.weight({5, 4})});
    Model out = check_rewrite(n.done({n.op("Mul", {y, n.weight({1, 4})})}), {"fold-scale"});
    ASSERT_EQ(out.graph.nodes.size(), 1u);
    EXPECT_EQ(out.graph.nodes[0].inputs.size(), 2u);
  }
  {  // MatMul with a batched 3-D input: per-column constants of any rank up to the result's
    Net n;
    std::string y = n.op("MatMul", {n.input("x", {2, 3, 5}), n.weight({5, 4})});
    y = n.op("Div", {y, n.weight({1, 1, 4}, 0.5f, 2.f)});
    y = n.op("Mul", {n.constant(scalar_tensor(DType::Float32, -1.5f)), y});
    Model out = check_rewrite(n.done({y}), {"fold-scale"});
    ASSERT_EQ(out.graph.nodes.size(), 1u);
    EXPECT_EQ(out.graph.nodes[0].op_type, "MatMul");
  }
}

TEST(FoldScale, MulOrDivBeforeAConvScalesItsInputChannelsWeights) {
  struct Case {
    std::string op;
    int64_t group;
    Shape c;
    bool c_first;
  };
  // Plain, depthwise (hone quantize --equalize's Mul), and two groups; padded 3x3 windows (zero padding stays zero).
  for (const Case& k : {Case{"Mul", 1, {1, 4, 1, 1}, false}, Case{"Mul", 4, {4, 1, 1}, true},
                        Case{"Div", 2, {1, 4, 1, 1}, false}}) {
    SCOPED_TRACE(k.op + " group " + std::to_string(k.group));
    Net n;
    std::string c = n.weight(k.c, 0.5f, 2.f), x = n.input("x", {2, 4, 6, 6});
    std::string y = n.op(k.op, k.c_first ? std::vector<std::string>{c, x} : std::vector<std::string>{x, c});
    y = n.conv(y, 4, 4, {.group = k.group});
    Model out = check_rewrite(n.done({y}), {"fold-scale"});
    ASSERT_EQ(out.graph.nodes.size(), 1u);
    EXPECT_EQ(out.graph.nodes[0].op_type, "Conv");
    EXPECT_EQ(out.graph.nodes[0].inputs[0], "x");
  }
  {  // the scaled tensor is also read elsewhere: left alone
    Net n;
    std::string y = n.op("Mul", {n.input("x", {1, 4, 5, 5}), n.weight({1, 4, 1, 1}, 0.5f, 2.f)});
    expect_untouched(n.done({n.conv(y, 4, 4), y}), "fold-scale");
  }
  {  // an Add before the conv is not a scaling of its input
    Net n;
    std::string y = n.op("Add", {n.input("x", {1, 4, 5, 5}), n.weight({1, 4, 1, 1})});
    expect_untouched(n.done({n.conv(y, 4, 4)}), "fold-scale");
  }
  {  // a Mul that varies over space
    Net n;
    std::string y = n.op("Mul", {n.input("x", {1, 4, 5, 5}), n.weight({1, 1, 5, 5})});
    expect_untouched(n.done({n.conv(y, 4, 4)}), "fold-scale");
  }
}

TEST(FoldScale, LeavesWhatIsNotExactOrNotPerChannel) {
  auto conv_then = [](const std::string& op, Tensor c, bool c_first = false, int64_t opset = 13,
                      std::vector<Attribute> attrs = {}) {
    Net n(opset);
    std::string y = n.conv(n.input("x", {1, 4, 5, 5}), 4, 4);
    std::string k = n.constant(std::move(c));
    return n.done(
        {n.op(op, c_first ? std::vector<std::string>{k, y} : std::vector<std::string>{y, k}, std::move(attrs))});
  };
  Tensor with_zero(DType::Float32, {4, 1, 1});
  with_zero.data<float>()[0] = 1.f;  // the others 0
  expect_untouched(conv_then("Div", with_zero), "fold-scale");
  expect_untouched(conv_then("Div", scalar_tensor(DType::Float32, 2.f), true), "fold-scale");  // c / y
  std::mt19937 rng(3);
  expect_untouched(conv_then("Mul", random_tensor({1, 1, 5, 5}, rng)), "fold-scale");     // varies over space
  expect_untouched(conv_then("Mul", random_tensor({1, 1, 4, 1, 1}, rng)), "fold-scale");  // rank 5: grows the shape
  // Opset 6: a [C] constant with broadcast = 1, axis = 1 is per channel there, but the pass does not read legacy
  // broadcasting.
  expect_untouched(conv_then("Add", random_tensor({4}, rng), false, 6,
                             {Attribute::of_int("broadcast", 1), Attribute::of_int("axis", 1)}),
                   "fold-scale");
  expect_untouched(conv_then("Mul", scalar_tensor(DType::Float32, std::numeric_limits<float>::infinity())),
                   "fold-scale");
  {  // multiplier fed at run time
    Net n;
    std::string y = n.conv(n.input("x", {1, 4, 5, 5}), 4, 4);
    expect_untouched(n.done({n.op("Mul", {y, n.input("s", {4, 1, 1})})}), "fold-scale");
  }
  {  // conv output is also a graph output
    Net n;
    std::string y = n.conv(n.input("x", {1, 4, 5, 5}), 4, 4);
    expect_untouched(n.done({n.op("Mul", {y, n.weight({4, 1, 1})}), y}), "fold-scale");
  }
  {  // MatMul: a per-row scale, and an Add (matmul-add-to-gemm's business)
    Net n;
    std::string y = n.op("MatMul", {n.input("x", {3, 5}), n.weight({5, 4})});
    expect_untouched(n.done({n.op("Mul", {y, n.weight({3, 1})})}), "fold-scale");
    Net a;
    std::string z = a.op("MatMul", {a.input("x", {3, 5}), a.weight({5, 4})});
    expect_untouched(a.done({a.op("Add", {z, a.weight({4})})}), "fold-scale");
  }
  {  // Gemm times a full [M, N] constant
    Net n;
    std::string y = n.op("Gemm", {n.input("x", {3, 5}), n.weight({5, 4})});
    expect_untouched(n.done({n.op("Mul", {y, n.weight({3, 4})})}), "fold-scale");
  }
}

// ------------------------------------------------------------------------------------------ matmul-add-to-gemm

TEST(MatMulAddToGemm, EveryBiasShapeEitherSide) {
  for (const Shape& c_shape : {Shape{4}, Shape{1, 4}, Shape{3, 4}, Shape{3, 1}, Shape{}, Shape{1}})
    for (bool bias_first : {false, true}) {
      SCOPED_TRACE(shape_str(c_shape) + (bias_first ? " first" : " second"));
      Net n;
      std::string y = n.op("MatMul", {n.input("x", {3, 5}), n.weight({5, 4})});
      std::string c = n.weight(c_shape, -1.f, 1.f);
      Model out = check_rewrite(
          n.done({n.op("Add", bias_first ? std::vector<std::string>{c, y} : std::vector<std::string>{y, c})}),
          {"matmul-add-to-gemm"});
      ASSERT_EQ(out.graph.nodes.size(), 1u);
      EXPECT_EQ(out.graph.nodes[0].op_type, "Gemm");
      EXPECT_EQ(out.graph.nodes[0].inputs[2], c);
    }
}

TEST(MatMulAddToGemm, SymbolicRowsWithAPerColumnBias) {
  Net n;
  std::string y = n.op("MatMul", {n.input("x", {Dim::named("batch"), 5}), n.weight({5, 4})});
  Model out = check_rewrite(n.done({n.op("Add", {y, n.weight({4})})}), {"matmul-add-to-gemm"});
  EXPECT_EQ(count_ops(out.graph, "Gemm"), 1);
}

TEST(MatMulAddToGemm, LeavesOtherRanksRuntimeWeightsAndSharedResults) {
  auto matmul_add = [](SymShape xs, Shape c_shape, bool runtime_b = false, int64_t opset = 13) {
    Net n(opset);
    std::string x = n.input("x", std::move(xs));
    std::string b = runtime_b ? n.input("b", {5, 4}) : n.weight({5, 4});
    std::string y = n.op("MatMul", {x, b});
    std::vector<Attribute> legacy;
    if (opset < 7) legacy.push_back(Attribute::of_int("broadcast", 1));
    return n.done({n.op("Add", {y, n.weight(c_shape)}, legacy)});
  };
  expect_untouched(matmul_add({2, 3, 5}, {4}), "matmul-add-to-gemm");                // A is 3-D
  expect_untouched(matmul_add({5}, {4}), "matmul-add-to-gemm");                      // A is 1-D
  expect_untouched(matmul_add({3, 5}, {4}, true), "matmul-add-to-gemm");             // B fed at run time
  expect_untouched(matmul_add({Dim::named("m"), 5}, {3, 4}), "matmul-add-to-gemm");  // [M, N] with M unknown
  expect_untouched(matmul_add({3, 5}, {1, 3, 4}), "matmul-add-to-gemm");             // rank-3 bias: result 3-D
  expect_untouched(matmul_add({3, 5}, {4}, false, 6), "matmul-add-to-gemm");         // legacy broadcast
  {
    Net n;
    std::string y = n.op("MatMul", {n.input("x", {3, 5}), n.weight({5, 4})});
    expect_untouched(n.done({n.op("Add", {y, n.weight({4})}), y}), "matmul-add-to-gemm");
  }
  {  // the added value is not a constant
    Net n;
    std::string y = n.op("MatMul", {n.input("x", {3, 5}), n.weight({5, 4})});
    expect_untouched(n.done({n.op("Add", {y, n.input("c", {4})})}), "matmul-add-to-gemm");
  }
}

// --------------------------------------------------------------------------------------------- reparameterize

// RepVGG block: BN(conv3x3(x)) + BN(conv1x1(x)) [+ BN(x)], as an Add chain.
std::string repvgg_branches(Net& n, const std::string& x, int64_t c, int64_t group, bool identity, bool bias) {
  std::string a = n.bn(n.conv(x, c, c, {.k = 3, .group = group, .bias = bias}), c);
  std::string b = n.bn(n.conv(x, c, c, {.k = 1, .group = group, .bias = bias}), c);
  std::string y = n.op("Add", {a, b});
  return identity ? n.op("Add", {y, n.bn(x, c)}) : y;
}

TEST(Reparameterize, RepVGGBlockBecomesOneConv) {
  for (int64_t group : {1, 2, 4})
    for (bool bias : {false, true}) {
      SCOPED_TRACE("group " + std::to_string(group) + (bias ? " with" : " without") + " conv bias");
      Net n;
      std::string x = n.input("x", {2, 8, 6, 6});
      Model out = check_rewrite(n.done({repvgg_branches(n, x, 8, group, true, bias)}), {"reparameterize"});
      ASSERT_EQ(out.graph.nodes.size(), 1u);
      const Node& conv = out.graph.nodes[0];
      EXPECT_EQ(conv.op_type, "Conv");
      EXPECT_EQ(conv.inputs[0], "x");
      EXPECT_EQ(conv.attr_ints("kernel_shape"), (std::vector<int64_t>{3, 3}));
      EXPECT_EQ(conv.attr_ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
      EXPECT_EQ(conv.attr_int("group", 1), group);
    }
}

TEST(Reparameterize, SumOfThreeAndStridedPairs) {
  {
    Net n;
    std::string x = n.input("x", {1, 6, 7, 7});
    std::string y = n.op("Sum", {n.conv(x, 6, 6, {.k = 3}), x, n.conv(x, 6, 6, {.k = 1})});
    Model out = check_rewrite(n.done({y}), {"reparameterize"});
    ASSERT_EQ(out.graph.nodes.size(), 1u);
    EXPECT_EQ(out.graph.nodes[0].op_type, "Conv");
  }
  {  // stride 2, more output than input channels: no identity
    Net n;
    std::string x = n.input("x", {1, 4, 9, 9});
    std::string a = n.bn(n.conv(x, 4, 8, {.k = 3, .stride = 2, .bias = false}), 8);
    std::string b = n.bn(n.conv(x, 4, 8, {.k = 1, .stride = 2, .bias = false}), 8);
    Model out = check_rewrite(n.done({n.op("Relu", {n.op("Add", {a, b})})}), {"reparameterize"});
    EXPECT_EQ(count_ops(out.graph, "Conv"), 1);
    EXPECT_EQ(count_ops(out.graph, "Relu"), 1);
    EXPECT_EQ(only(out.graph, "Conv").attr_ints("strides"), (std::vector<int64_t>{2, 2}));
  }
}

TEST(Reparameterize, MobileOneDepthwiseBranches) {
  // Two 3x3 depthwise conv+BN branches (over-parameterized), a 1x1 depthwise conv+BN and a BN identity.
  Net n;
  std::string x = n.input("x", {1, 6, 8, 8});
  std::string y = n.bn(n.conv(x, 6, 6, {.k = 3, .group = 6, .bias = false}), 6);
  y = n.op("Add", {y, n.bn(n.conv(x, 6, 6, {.k = 3, .group = 6, .bias = false}), 6)});
  y = n.op("Add", {n.bn(n.conv(x, 6, 6, {.k = 1, .group = 6, .bias = false}), 6), y});
  y = n.op("Add", {y, n.bn(x, 6)});
  Model out = check_rewrite(n.done({y}), {"reparameterize"});
  ASSERT_EQ(out.graph.nodes.size(), 1u);
  EXPECT_EQ(out.graph.nodes[0].attr_int("group", 1), 6);
}

TEST(Reparameterize, OneDimensionalFiveThreeOneAndIdentity) {
  Net n;
  std::string x = n.input("x", {2, 4, 10});
  std::string y = n.op("Add", {n.conv(x, 4, 4, {.k = 5, .nd = 1}), n.conv(x, 4, 4, {.k = 3, .nd = 1})});
  y = n.op("Sum", {y, n.conv(x, 4, 4, {.k = 1, .nd = 1}), x});
  Model out = check_rewrite(n.done({y}), {"reparameterize"});
  ASSERT_EQ(out.graph.nodes.size(), 1u);
  EXPECT_EQ(out.graph.nodes[0].attr_ints("kernel_shape"), (std::vector<int64_t>{5}));
  EXPECT_EQ(out.graph.nodes[0].attr_ints("pads"), (std::vector<int64_t>{2, 2}));
}

TEST(Reparameterize, LeavesBranchesThatDoNotShareAGridOrAnInput) {
  auto pair = [](ConvSpec a, ConvSpec b, SymShape xs = {1, 4, 6, 6}) {
    Net n;
    std::string x = n.input("x", xs);
    return n.done({n.op("Add", {n.conv(x, 4, 4, a), n.conv(x, 4, 4, b)})});
  };
  // 3x3 padded at the end only: same shape as the 1x1, but shifted by one pixel.
  expect_untouched(pair({.k = 3, .pads = std::vector<int64_t>{0, 0, 2, 2}}, {.k = 1}), "reparameterize");
  // 3x3 unpadded on 5x5 and a strided 1x1: both 3x3 outputs, different grids.
  expect_untouched(pair({.k = 3, .pads = std::vector<int64_t>(4, 0)}, {.k = 1, .stride = 2}, {1, 4, 5, 5}),
                   "reparameterize");
  expect_untouched(pair({.k = 3, .group = 2}, {.k = 1}), "reparameterize");     // groups differ
  expect_untouched(pair({.k = 3, .dilation = 2}, {.k = 1}), "reparameterize");  // dilated
  expect_untouched(pair({.k = 2, .pads = std::vector<int64_t>{0, 0, 1, 1}}, {.k = 1}),
                   "reparameterize");  // even kernel
  {                                    // branches of different inputs
    Net n;
    std::string x = n.input("x", {1, 4, 6, 6}), z = n.input("z", {1, 4, 6, 6});
    expect_untouched(n.done({n.op("Add", {n.conv(x, 4, 4), n.conv(z, 4, 4, {.k = 1})})}), "reparameterize");
  }
  {  // a branch's output is also a graph output
    Net n;
    std::string x = n.input("x", {1, 4, 6, 6});
    std::string a = n.conv(x, 4, 4);
    expect_untouched(n.done({n.op("Add", {a, n.conv(x, 4, 4, {.k = 1})}), a}), "reparameterize");
  }
  {  // identities only: nothing to merge into
    Net n;
    std::string x = n.input("x", {1, 4, 6, 6});
    expect_untouched(n.done({n.op("Add", {x, n.bn(x, 4)})}), "reparameterize");
  }
  {  // conv weights fed at run time
    Net n;
    std::string x = n.input("x", {1, 4, 6, 6});
    std::string w = n.input("w", {4, 4, 1, 1});
    expect_untouched(n.done({n.op("Add", {n.conv(x, 4, 4), n.op("Conv", {x, w})})}), "reparameterize");
  }
}

TEST(Reparameterize, WholeBlockInTheDefaultPipeline) {
  Net n;
  std::string x = n.input("x", {1, 8, 6, 6});
  std::string y = n.op("Relu", {repvgg_branches(n, x, 8, 1, true, false)});
  y = n.op("Relu", {repvgg_branches(n, y, 8, 2, true, false)});
  Model out = check_rewrite(n.done({y}), {});
  EXPECT_EQ(count_ops(out.graph, "Conv"), 2);
  EXPECT_EQ(count_ops(out.graph, "Relu"), 2);
  EXPECT_EQ(out.graph.nodes.size(), 4u);
}

// ------------------------------------------------------------------------------------------------- merge-conv

TEST(MergeConv, PointwiseConvsAfterAConvMerge) {
  for (bool bias : {true, false}) {
    Net n;
    std::string x = n.input("x", {2, 8, 9, 9});
    std::string y = n.conv(x, 8, 6, {.k = 3, .stride = 2, .bias = bias});
    y = n.conv(y, 6, 6, {.k = 1, .bias = bias});
    y = n.conv(y, 6, 4, {.k = 1, .bias = !bias});
    Model out = check_rewrite(n.done({y}), {"merge-conv"});
    ASSERT_EQ(out.graph.nodes.size(), 1u);
    const Node& c = out.graph.nodes[0];
    EXPECT_EQ(c.attr_ints("strides"), (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(out.graph.initializers.at(c.inputs[1]).shape(), (Shape{4, 8, 3, 3}));
  }
}

TEST(MergeConv, LeavesNonLinearGroupedStridedSharedAndWideningPairs) {
  auto pair = [](ConvSpec a, ConvSpec b, int64_t mid = 6, int64_t out = 4, bool relu = false, bool shared = false) {
    Net n;
    std::string x = n.input("x", {1, 8, 7, 7});
    std::string y = n.conv(x, 8, mid, a);
    std::string z = n.conv(relu ? n.op("Relu", {y}) : y, mid, out, b);
    return shared ? n.done({z, y}) : n.done({z});
  };
  expect_untouched(pair({.k = 3}, {.k = 1}, 6, 4, true), "merge-conv");         // Relu between
  expect_untouched(pair({.k = 3}, {.k = 1}, 6, 4, false, true), "merge-conv");  // first output also read
  expect_untouched(pair({.k = 3}, {.k = 1, .group = 2}), "merge-conv");         // grouped 1x1
  expect_untouched(pair({.k = 3, .group = 2}, {.k = 1}), "merge-conv");         // grouped first conv
  expect_untouched(pair({.k = 3}, {.k = 1, .stride = 2}), "merge-conv");        // strided 1x1
  expect_untouched(pair({.k = 3}, {.k = 1, .pads = std::vector<int64_t>(4, 1)}), "merge-conv");  // padded 1x1
  expect_untouched(pair({.k = 3}, {.k = 3}), "merge-conv");                                      // not pointwise
  expect_untouched(pair({.k = 3}, {.k = 1}, 2, 32), "merge-conv");  // widening: costs more merged
}

// -------------------------------------------------------------------------------------------- RepVGG fixture

TEST(FoldPipeline, RepVGGFixtureKeepsOneConvPerBlock) {
  Model m = load_onnx_file(test::fixture("repvgg_tiny.onnx"));
  ASSERT_EQ(count_ops(m.graph, "Conv"), 10);
  ASSERT_EQ(count_ops(m.graph, "BatchNormalization"), 13);
  Model out = m;
  OptimizeReport r = optimize_model(out);
  EXPECT_EQ(count_ops(out.graph, "Conv"), 5);  // one per block
  EXPECT_EQ(count_ops(out.graph, "BatchNormalization"), 0);
  EXPECT_EQ(count_ops(out.graph, "Add"), 0);
  EXPECT_EQ(r.nodes_before, 39);
  EXPECT_EQ(r.nodes_after, static_cast<int64_t>(out.graph.nodes.size()));
  EXPECT_LT(r.params_after, r.params_before);
  expect_same_outputs(m, out, 1e-4, 1e-5);
  expect_same_outputs(m, out, 1e-4, 1e-5, /*seed=*/2);
}

// A quantized file stays quantized through `hone optimize`: the DequantizeLinear of an int8 weight is not folded
// back to float32 (4x the bytes, and other runtimes would lose the int8 conv); a DequantizeLinear of a float-typed
// constant chain and the runtime's own lowering (run_passes' default) still fold.
TEST(FoldConstants, KeepsQuantizedWeightsInOptimizeButFoldsThemAtRuntime) {
  Net n;
  std::string x = n.input("x", {1, 2, 5, 5});
  Tensor wq(DType::Int8, {3, 2, 3, 3});
  for (int64_t i = 0; i < wq.numel(); ++i) wq.data<int8_t>()[i] = static_cast<int8_t>(i % 17 - 8);
  std::string w = n.op("DequantizeLinear", {n.constant(wq), n.constant(scalar_tensor(DType::Float32, 0.05f)),
                                            n.constant(scalar_tensor(DType::Int8, 0))});
  Model m = n.done({n.op("Conv", {x, w}, {Attribute::of_ints("pads", {1, 1, 1, 1})})});

  Model out = optimized(m, {});
  EXPECT_EQ(count_ops(out.graph, "DequantizeLinear"), 1);
  bool int8_weight = false;
  for (const auto& [name, t] : out.graph.initializers) int8_weight |= t.dtype() == DType::Int8;
  EXPECT_TRUE(int8_weight);
  expect_same_outputs(m, out);

  Model runtime = m;
  const Model* rm = &runtime;
  std::vector<const PassInfo*> passes;
  for (const PassInfo& p : PassRegistry::instance().all()) passes.push_back(&p);
  run_passes(runtime.graph, [rm](const std::string& d) { return rm->opset(d); }, passes, 4);
  EXPECT_EQ(count_ops(runtime.graph, "DequantizeLinear"), 0);
  expect_same_outputs(m, runtime);
}

}  // namespace
}  // namespace hone
