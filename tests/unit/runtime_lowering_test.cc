// The runtime's graph lowering (BatchNormalization folding, convolution fusion) and layout planning (channels-last
// chains with planned transforms): the structure they produce, and outputs equal to the reference path.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "hone/hone.h"
#include "passes/pass.h"
#include "kernels/cpu/dnnl_conv.h"
#include "passes/runtime_lowering.h"
#include "runtime/plan.h"

namespace hone {
namespace {

Tensor random_tensor(Shape s, std::mt19937& rng, float lo = -1.f, float hi = 1.f) {
  Tensor t(DType::Float32, std::move(s));
  std::uniform_real_distribution<float> d(lo, hi);
  for (float& v : t.span<float>()) v = d(rng);
  return t;
}

// Builds a model step by step: conv / bn / add / activation nodes on float32 NCHW tensors.
struct Builder {
  Model m;
  std::mt19937 rng{42};
  int next = 0;
  explicit Builder(Shape input, int64_t opset = 13) {
    m.ir_version = 8;
    m.opset_import = {{"", opset}};
    m.graph.name = "g";
    m.graph.inputs.push_back({"x", TypeInfo::tensor(DType::Float32, to_sym_shape(input)), ""});
  }
  std::string name(const char* p) { return std::string(p) + std::to_string(next++); }
  std::string conv(const std::string& x, int64_t cin, int64_t cout, int64_t k, int64_t group = 1, bool bias = true,
                   int64_t stride = 1) {
    std::string w = name("w"), b = name("b"), y = name("conv");
    m.graph.initializers[w] = random_tensor({cout, cin / group, k, k}, rng, -0.5f, 0.5f);
    std::vector<std::string> in = {x, w};
    if (bias) {
      m.graph.initializers[b] = random_tensor({cout}, rng);
      in.push_back(b);
    }
    m.graph.nodes.push_back({y, "Conv", "", in, {y},
                             {Attribute::of_ints("pads", {k / 2, k / 2, k / 2, k / 2}), Attribute::of_int("group", group),
                              Attribute::of_ints("strides", {stride, stride})},
                             ""});
    return y;
  }
  std::string conv_transpose(const std::string& x, int64_t cin, int64_t cout, int64_t group) {
    std::string w = name("w"), y = name("deconv");
    m.graph.initializers[w] = random_tensor({cin, cout / group, 2, 2}, rng, -0.5f, 0.5f);
    m.graph.nodes.push_back({y, "ConvTranspose", "", {x, w}, {y},
                             {Attribute::of_ints("strides", {2, 2}), Attribute::of_int("group", group)}, ""});
    return y;
  }
  std::string bn(const std::string& x, int64_t c) {
    std::string y = name("bn");
    std::vector<std::string> in = {x};
    for (int i = 0; i < 4; ++i) {
      std::string p = name("bnp");
      Tensor t = random_tensor({c}, rng, i == 3 ? 0.5f : -1.f, i == 3 ? 2.f : 1.f);  // variance > 0
      m.graph.initializers[p] = t;
      in.push_back(p);
    }
    m.graph.nodes.push_back({y, "BatchNormalization", "", in, {y}, {Attribute::of_float("epsilon", 1e-3f)}, ""});
    return y;
  }
  std::string op(const std::string& type, std::vector<std::string> in, std::vector<Attribute> attrs = {}) {
    std::string y = name("v");
    m.graph.nodes.push_back({y, type, "", std::move(in), {y}, std::move(attrs), ""});
    return y;
  }
  std::string scalar(float v) {
    std::string n = name("s");
    m.graph.initializers[n] = scalar_tensor(DType::Float32, v);
    return n;
  }
  Model finish(const std::vector<std::string>& outs) {
    for (const std::string& o : outs) m.graph.outputs.push_back({o, TypeInfo::tensor(DType::Float32), ""});
    return m;
  }
};

// Fast (lowered, fused, channels-last) and reference outputs agree.
void expect_matches_reference(const Model& m, const Shape& input, float tol = 1e-4f) {
  std::mt19937 rng(7);
  Tensor x = random_tensor(input, rng);
  Session fast(m, {.threads = 1});
  Session ref(m, {.threads = 1, .reference_kernels = true});
  std::vector<Tensor> a = fast.run({{"x", x}}), b = ref.run({{"x", x}});
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].shape(), b[i].shape());
    for (int64_t k = 0; k < a[i].numel(); ++k) {
      float w = b[i].data<float>()[k];
      ASSERT_NEAR(a[i].data<float>()[k], w, tol * (1 + std::fabs(w))) << "output " << i << " element " << k;
    }
  }
}

int count_ops(const Graph& g, const std::string& domain, const std::string& op) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.domain == domain && node.op_type == op;
  return n;
}

std::function<int64_t(const std::string&)> opset_of(const Model& m) {
  return [&m](const std::string& d) { return d == "hone" ? kHoneOpset : m.opset(d); };
}

TEST(RuntimeLowering, ResidualBlockBecomesOneFusedConvPerConv) {
  // ResNet basic block: conv-bn-relu, conv-bn, + x, relu.
  Builder b({1, 16, 9, 9});
  std::string a = b.op("Relu", {b.bn(b.conv("x", 16, 16, 3, 1, false), 16)});
  std::string c = b.bn(b.conv(a, 16, 16, 3), 16);
  std::string y = b.op("Relu", {b.op("Add", {c, "x"})});
  Model m = b.finish({y});
  LoweringStats st;
  std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset_of(m), &st);
  EXPECT_EQ(st.folded_batchnorms, 2);
  EXPECT_EQ(st.fused_convs, 2);
  ASSERT_EQ(g->nodes.size(), 2u);
  EXPECT_EQ(count_ops(*g, "hone", "FusedConv"), 2);
  EXPECT_EQ(g->nodes[0].attr_strings("post_ops"), (std::vector<std::string>{"Relu"}));
  EXPECT_EQ(g->nodes[1].inputs.size(), 4u);  // the second conv carries the residual
  EXPECT_EQ(g->nodes[1].attr_strings("post_ops"), (std::vector<std::string>{"Add", "Relu"}));
  expect_matches_reference(m, {1, 16, 9, 9});
}

TEST(RuntimeLowering, EveryFusableActivationMatchesReference) {
  struct Case {
    const char* op;
    std::vector<Attribute> attrs;
    int64_t opset;
  };
  std::vector<Case> cases = {{"Relu", {}, 13},
                             {"LeakyRelu", {Attribute::of_float("alpha", 0.3f)}, 13},
                             {"Clip", {Attribute::of_float("min", -0.2f), Attribute::of_float("max", 0.4f)}, 6},
                             {"Sigmoid", {}, 13},
                             {"Tanh", {}, 13},
                             {"HardSigmoid", {Attribute::of_float("alpha", 0.25f), Attribute::of_float("beta", 0.4f)}, 13},
                             {"HardSwish", {}, 14}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.op);
    Builder b({2, 17, 8, 7}, c.opset);
    std::string y = b.op(c.op, {b.conv("x", 17, 33, 3)}, c.attrs);
    Model m = b.finish({y});
    std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset_of(m));
    ASSERT_EQ(g->nodes.size(), 1u);
    EXPECT_EQ(g->nodes[0].attr_strings("post_ops"), (std::vector<std::string>{c.op}));
    expect_matches_reference(m, {2, 17, 8, 7});
  }
  // Clip with bounds as constant inputs (opset 11+), one of them omitted.
  Builder b({1, 8, 6, 6});
  std::string y = b.op("Clip", {b.conv("x", 8, 8, 1), "", b.scalar(0.5f)});
  Model m = b.finish({y});
  EXPECT_EQ(lower_for_runtime(m.graph, opset_of(m))->nodes.size(), 1u);
  expect_matches_reference(m, {1, 8, 6, 6});
}

TEST(RuntimeLowering, AffineChainsFoldIntoWeightsOrBecomeLinearPostOps) {
  // PaddleOCR's MobileOne blocks: conv, * a, + b, HardSwish written out as x * Clip(x + 3, 0, 6) / 6, * c, + d.
  Builder b({1, 16, 12, 12});
  std::string x = b.conv("x", 16, 24, 3);
  x = b.op("Mul", {b.scalar(1.3f), x});
  x = b.op("Add", {x, b.scalar(0.2f)});
  std::string clip = b.op("Clip", {b.op("Add", {x, b.scalar(3.f)}), b.scalar(0.f), b.scalar(6.f)});
  x = b.op("Div", {b.op("Mul", {x, clip}), b.scalar(6.f)});
  x = b.op("Mul", {x, b.scalar(0.7f)});
  x = b.op("Sub", {b.scalar(0.1f), x});  // 0.1 - y
  Model m = b.finish({x});
  std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset_of(m));
  ASSERT_EQ(g->nodes.size(), 1u);
  EXPECT_EQ(g->nodes[0].attr_strings("post_ops"), (std::vector<std::string>{"HardSwish", "Linear"}));
  ASSERT_EQ(g->nodes[0].attr_floats("post_op_params").size(), 2u);
  EXPECT_FLOAT_EQ(g->nodes[0].attr_floats("post_op_params")[0], -0.7f);
  EXPECT_FLOAT_EQ(g->nodes[0].attr_floats("post_op_params")[1], 0.1f);
  expect_matches_reference(m, {1, 16, 12, 12});

  // Per-channel Mul / Sub directly after a conv without bias fold into its weights; a per-channel Add after an
  // activation cannot (it stays a node).
  Builder c({2, 8, 7, 7});
  std::string y = c.conv("x", 8, 5, 1, 1, false);
  std::string scale = c.name("pc"), shift = c.name("pc");
  c.m.graph.initializers[scale] = random_tensor({5, 1, 1}, c.rng);
  c.m.graph.initializers[shift] = random_tensor({1, 5, 1, 1}, c.rng);
  y = c.op("Sub", {c.op("Mul", {y, scale}), shift});
  y = c.op("Add", {c.op("Relu", {y}), shift});
  Model m2 = c.finish({y});
  std::shared_ptr<Graph> g2 = lower_for_runtime(m2.graph, opset_of(m2));
  ASSERT_EQ(g2->nodes.size(), 2u);
  EXPECT_EQ(count_ops(*g2, "", "Add"), 1);
  expect_matches_reference(m2, {2, 8, 7, 7});
}

TEST(RuntimeLowering, ChainsOneDnnWouldComputeWrongStopShort) {
  // oneDNN 2.6's jit convolutions go wrong on one eltwise algorithm twice with different parameters: HardSigmoid
  // (linear + clip) then a scalar affine step (another linear) must not become one post-op chain.
  Builder b({1, 16, 8, 8});
  std::string h = b.op("HardSigmoid", {b.conv("x", 16, 16, 1)},
                       {Attribute::of_float("alpha", 0.2f), Attribute::of_float("beta", 0.5f)});
  std::string y = b.op("Add", {b.op("Mul", {h, b.scalar(0.5f)}), b.scalar(0.25f)});
  Model m = b.finish({y});
  std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset_of(m));
  ASSERT_EQ(count_ops(*g, "hone", "FusedConv"), 1);
  EXPECT_EQ(g->nodes[0].attr_strings("post_ops"), (std::vector<std::string>{"HardSigmoid"}));
  expect_matches_reference(m, {1, 16, 8, 8});
  // Two different Clips likewise.
  Builder c({1, 8, 6, 6});
  std::string c1 = c.op("Clip", {c.conv("x", 8, 8, 3), c.scalar(-1.f), c.scalar(2.f)});
  std::string c2 = c.op("Clip", {c.op("Relu", {c1}), c.scalar(0.f), c.scalar(1.5f)});
  Model m2 = c.finish({c2});
  expect_matches_reference(m2, {1, 8, 6, 6});
}

TEST(RuntimeLowering, DoesNotFuseValuesOthersStillRead) {
  Builder b({1, 8, 6, 6});
  std::string c = b.conv("x", 8, 8, 3);
  std::string r = b.op("Relu", {c});
  std::string bn = b.bn(b.conv(r, 8, 8, 3), 8);
  Model m = b.finish({c, r, bn});  // the first conv's and relu's outputs are graph outputs
  LoweringStats st;
  std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset_of(m), &st);
  EXPECT_EQ(st.fused_convs, 0);
  EXPECT_EQ(st.folded_batchnorms, 1);  // the second conv's output is read only by its BN
  EXPECT_EQ(count_ops(*g, "", "Relu"), 1);
  expect_matches_reference(m, {1, 8, 6, 6});
}

TEST(RuntimeLowering, WinogradConvsInAChannelsLastResidualBlock) {
  // ResNet basic block at 64 channels: its 3x3 convolutions run Winograd (reordering to oneDNN's blocked layout
  // inside the kernel) with the fused Relu and, where oneDNN takes it, the residual; the rest stays channels-last.
  Builder b({1, 64, 12, 12});
  std::string a = b.op("Relu", {b.bn(b.conv("x", 64, 64, 3, 1, false), 64)});
  std::string c = b.bn(b.conv(a, 64, 64, 3), 64);
  std::string y = b.op("Relu", {b.op("Add", {c, "x"})});
  Model m = b.finish({b.conv(y, 64, 8, 1)});
  Session sess(m, {.threads = 1});
  std::mt19937 rng(6);
  const Plan& p = sess.plan_for({Value::of(random_tensor({1, 64, 12, 12}, rng))});
  int wino = 0;
  for (const PlanStep& st : p.steps) wino += st.kernel->name().find("-wino-") != std::string::npos;
  EXPECT_GE(wino, 1);
  expect_matches_reference(m, {1, 64, 12, 12});
}

TEST(RuntimeLowering, NarrowChannelsLastConvsEitherWay) {
  // A conv with fewer than 16 output channels (here from a single-channel input, which the blocked kernel reads in
  // place; 9x9, past what the small-channel direct kernel takes) between channels-last steps: oneDNN's
  // channels-last kernel, or its blocked kernel with a reorder back. The kernel times both at plan time; here each
  // is forced.
  for (int64_t ic : {1})
    for (int choice : {1, 2}) {
      SCOPED_TRACE(fmt::format("ic {} choice {}", ic, choice));
      dnnl_cpu::force_narrow_conv_choice(choice);
      Builder b({2, ic, 20, 22});
      std::string a = b.op("Relu", {b.conv("x", ic, 6, ic == 1 ? 9 : 5)});  // 9x9: past the small kernel's 7x7
      std::string c = b.conv(b.conv(a, 6, 16, 3), 16, 16, 1);
      Model m = b.finish({b.op("Relu", {c})});
      Session sess(m, {.threads = 2});
      std::mt19937 rng(6);
      const Plan& p = sess.plan_for({Value::of(random_tensor({2, ic, 20, 22}, rng))});
      const PlanStep* first = nullptr;
      for (const PlanStep& st : p.steps)
        if (st.node->op_type == "FusedConv" && !first) first = &st;
      ASSERT_NE(first, nullptr);
      EXPECT_EQ(first->kernel->name().rfind("dnnl-conv-f32", 0), 0u) << first->kernel->name();
      if (choice == 1) EXPECT_EQ(first->kernel->reorders(), 0);
      else EXPECT_EQ(first->kernel->reorders(), 1);  // the output
      expect_matches_reference(m, {2, ic, 20, 22});
    }
  dnnl_cpu::force_narrow_conv_choice(0);
}

TEST(RuntimeLowering, ConvTransposeWithBiasBetweenConvsRunsChannelsLast) {
  // conv -> ConvTranspose + BN (a bias once folded) -> conv: the transpose runs channels-last and adds its bias
  // itself, split over 2 threads at this size.
  Builder b({1, 24, 80, 90});
  std::string y = b.conv(b.bn(b.conv_transpose(b.conv("x", 24, 24, 1), 24, 24, 1), 24), 24, 8, 1);
  Model m = b.finish({y});
  std::mt19937 rng(4);
  Tensor x = random_tensor({1, 24, 80, 90}, rng);
  Session fast(m, {.threads = 2}), ref(m, {.threads = 1, .reference_kernels = true});
  const Plan& p = fast.plan_for({Value::of(x)});
  EXPECT_EQ(p.layout_transforms, 2);  // x in, y out: the transpose reads and writes channels-last
  std::vector<Tensor> a = fast.run({{"x", x}}), r = ref.run({{"x", x}});
  ASSERT_EQ(a.at(0).shape(), r.at(0).shape());
  for (int64_t k = 0; k < a[0].numel(); ++k) {
    float w = r[0].data<float>()[k];
    ASSERT_NEAR(a[0].data<float>()[k], w, 1e-4f * (1 + std::fabs(w))) << "element " << k;
  }
}

TEST(RuntimeLowering, ActivationsAfterAPatchConvTransposeFuseIntoIt) {
  // PaddleOCR det's head: ConvTranspose 2x2 stride 2 -> BN -> Relu: one hone.FusedConvTranspose with a Relu.
  Builder b({1, 24, 20, 22});
  std::string y = b.op("Relu", {b.bn(b.conv_transpose("x", 24, 24, 1), 24)});
  Model m = b.finish({y});
  LoweringStats st;
  std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset_of(m), &st);
  ASSERT_EQ(g->nodes.size(), 1u);
  EXPECT_EQ(count_ops(*g, "hone", "FusedConvTranspose"), 1);
  EXPECT_EQ(g->nodes[0].attr_strings("post_ops"), (std::vector<std::string>{"Relu"}));
  expect_matches_reference(m, {1, 24, 20, 22});
  // Overlapping windows (3x3 stride 2): oneDNN runs those, without post-ops; the Relu stays a node.
  Builder o({1, 8, 6, 6});
  std::string w = o.name("w"), t = o.name("ct");
  o.m.graph.initializers[w] = random_tensor({8, 8, 3, 3}, o.rng);
  o.m.graph.nodes.push_back({t, "ConvTranspose", "", {"x", w}, {t}, {Attribute::of_ints("strides", {2, 2})}, ""});
  Model mo = o.finish({o.op("Relu", {t})});
  std::shared_ptr<Graph> go = lower_for_runtime(mo.graph, opset_of(mo), nullptr);
  EXPECT_EQ(count_ops(*go, "hone", "FusedConvTranspose"), 0);
  EXPECT_EQ(count_ops(*go, "", "Relu"), 1);
  expect_matches_reference(mo, {1, 8, 6, 6});
}

TEST(RuntimeLowering, BatchNormFoldsIntoGroupedConvTranspose) {
  Builder b({1, 8, 5, 5});
  std::string y = b.bn(b.conv_transpose("x", 8, 12, 4), 12);
  Model m = b.finish({y});
  LoweringStats st;
  std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset_of(m), &st);
  EXPECT_EQ(st.folded_batchnorms, 1);
  EXPECT_EQ(count_ops(*g, "", "BatchNormalization"), 0);
  expect_matches_reference(m, {1, 8, 5, 5});
}

TEST(LayoutPlanning, ConvChainsStayChannelsLastBetweenTransforms) {
  // conv -> relu -> conv(depthwise) -> add(conv, conv) -> reshape: channels-last from the first conv to the add,
  // one transform in (x is plain) and one out (Reshape reads plain).
  Builder b({1, 16, 10, 10});
  std::string c1 = b.op("Relu", {b.conv("x", 16, 32, 3)});
  std::string c2 = b.conv(c1, 32, 32, 3, 32);
  std::string c3 = b.conv(c1, 32, 32, 1);
  std::string s = b.op("Add", {c2, c3});
  std::string shape = b.name("shape");
  b.m.graph.initializers[shape] = Tensor(DType::Int64, {2});
  b.m.graph.initializers[shape].data<int64_t>()[0] = 1;
  b.m.graph.initializers[shape].data<int64_t>()[1] = -1;
  std::string y = b.op("Reshape", {s, shape});
  Model m = b.finish({y});
  Session sess(m, {.threads = 1});
  std::mt19937 rng(1);
  const Plan& p = sess.plan_for({Value::of(random_tensor({1, 16, 10, 10}, rng))});
  int convs = 0;
  for (const PlanStep& st : p.steps) {
    if (st.node->op_type == "FusedConv" || st.node->op_type == "Conv") {
      ++convs;
      EXPECT_EQ(st.kernel->reorders(), 0) << st.node->name << " reorders inside its kernel";
    }
  }
  EXPECT_EQ(convs, 3);
  // x -> channels-last, and back to plain before the Reshape (the Add is fused into the depthwise... or not: either
  // way there are exactly two transforms).
  EXPECT_EQ(p.layout_transforms, 2);
  expect_matches_reference(m, {1, 16, 10, 10});
}

// Reshape [N, g, C/g, H, W] -> Transpose (0, 2, 1, 3, 4) -> Reshape [N, C, H, W] after `x` ([1, c, h, w]).
std::string shuffle(Builder& b, const std::string& x, int64_t c, int64_t g, int64_t h, int64_t w) {
  auto shape_const = [&](std::vector<int64_t> v) {
    std::string n = b.name("shape");
    b.m.graph.initializers[n] = int64_tensor(v);
    return n;
  };
  std::string r = b.op("Reshape", {x, shape_const({1, g, c / g, h, w})});
  std::string t = b.op("Transpose", {r}, {Attribute::of_ints("perm", {0, 2, 1, 3, 4})});
  return b.op("Reshape", {t, shape_const({1, c, h, w})});
}

TEST(RuntimeLowering, ChannelShuffleBecomesOneOpAndKeepsConvsChannelsLast) {
  // grouped conv -> shuffle -> grouped conv -> shuffle (graph output): channels-last from the first conv to the last
  // shuffle, which writes the plain graph output through one transform.
  for (int64_t c : {12, 48}) {
    SCOPED_TRACE(c);
    Builder b({1, c, 7, 9});
    std::string s1 = shuffle(b, b.op("Relu", {b.conv("x", c, c, 1, 3)}), c, 3, 7, 9);
    std::string y = shuffle(b, b.conv(s1, c, c, 3, 4), c, 4, 7, 9);
    Model m = b.finish({y});
    LoweringStats st;
    std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset_of(m), &st);
    EXPECT_EQ(st.channel_shuffles, 2);
    EXPECT_EQ(count_ops(*g, "hone", "ChannelShuffle"), 2);
    EXPECT_EQ(count_ops(*g, "", "Transpose") + count_ops(*g, "", "Reshape"), 0);
    Session sess(m, {.threads = 1});
    std::mt19937 rng(3);
    const Plan& p = sess.plan_for({Value::of(random_tensor({1, c, 7, 9}, rng))});
    EXPECT_EQ(p.layout_transforms, 2);  // x in, y out
    expect_matches_reference(m, {1, c, 7, 9});
  }
}

TEST(RuntimeLowering, ChannelShuffleRunsInBothLayoutsLikeTheReference) {
  // A shuffle straight from the graph input runs plain; between convs it runs channels-last. Both against the
  // reference kernels, with 2 threads on a shape big enough to split.
  Builder b({1, 64, 64, 70});
  std::string plain = shuffle(b, "x", 64, 4, 64, 70);
  std::string cl = b.conv(shuffle(b, b.conv("x", 64, 64, 1), 64, 2, 64, 70), 64, 8, 1);
  Model m = b.finish({plain, cl});
  std::mt19937 rng(9);
  Tensor x = random_tensor({1, 64, 64, 70}, rng);
  Session fast(m, {.threads = 2});
  const Plan& p = fast.plan_for({Value::of(x)});
  std::vector<std::string> kernels;
  for (const PlanStep& st : p.steps)
    if (st.node->op_type == "ChannelShuffle") kernels.push_back(st.kernel->name());
  EXPECT_EQ(kernels, (std::vector<std::string>{"channel_shuffle", "channel_shuffle_nhwc"}));
  expect_matches_reference(m, {1, 64, 64, 70});
}

TEST(RuntimeLowering, ChannelShuffleNeedsThePatternExactly) {
  // Another perm, or an intermediate someone else reads: left alone.
  Builder b({1, 12, 5, 5});
  std::string c = b.conv("x", 12, 12, 1);
  std::string shape = b.name("shape");
  b.m.graph.initializers[shape] = int64_tensor({1, 3, 4, 5, 5});
  std::string r = b.op("Reshape", {c, shape});
  std::string t = b.op("Transpose", {r}, {Attribute::of_ints("perm", {0, 2, 1, 4, 3})});
  std::string back = b.name("shape");
  b.m.graph.initializers[back] = int64_tensor({1, 12, 5, 5});
  std::string y = b.op("Reshape", {t, back});
  std::string r2 = b.op("Reshape", {c, shape});
  std::string t2 = b.op("Transpose", {r2}, {Attribute::of_ints("perm", {0, 2, 1, 3, 4})});
  std::string y2 = b.op("Reshape", {t2, back});
  Model m = b.finish({y, y2, t2});
  LoweringStats st;
  std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset_of(m), &st);
  EXPECT_EQ(st.channel_shuffles, 0);
  expect_matches_reference(m, {1, 12, 5, 5});
}

}  // namespace
}  // namespace hone
