// The pooling and LRN kernels (src/kernels/cpu/pool_kernels.cc) against the reference kernels they replace: one node
// at a time, over channel counts and sizes around vector widths (1, 3, 15, 16, 17, 33, 64; 1, 7, 8, 9, 17), every
// combination of kernel, stride, dilation, pads, auto_pad, ceil_mode and count_include_pad, in both layouts (the
// channels-last input permuted by kernel_test_util.h's run_both, the result permuted back), every ISA tier for the
// own loops, 1 and 2 threads, with fixed seeds. Pooling inputs are multiples of 1/8, so sums are exact and a wrong
// tap or divisor shows as a real difference. Refused cases must stay on the reference; common ones must be claimed.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <random>

#include "kernel_test_util.h"
#include "runtime/plan.h"

namespace hone {
namespace {

using test::NodeCase;
using test::Outcome;
using test::run_both;
using test::top_tier;

// Multiples of 1/8 in [-2, 2] (exact sums), or uniform floats in [-1, 1].
Tensor random_tensor(const Shape& shape, std::mt19937& rng, bool eighths = true) {
  Tensor t(DType::Float32, shape);
  std::uniform_int_distribution<int> q(-16, 16);
  std::uniform_real_distribution<float> f(-1.f, 1.f);
  for (float& v : t.span<float>()) v = eighths ? static_cast<float>(q(rng)) / 8.f : f(rng);
  return t;
}

::testing::AssertionResult close(const Tensor& want, const Tensor& got, double rtol, double atol) {
  if (want.shape() != got.shape())
    return ::testing::AssertionFailure() << "shape " << shape_str(got.shape()) << " vs " << shape_str(want.shape());
  for (int64_t i = 0; i < want.numel(); ++i) {
    double w = want.data<float>()[i], g = got.data<float>()[i];
    if (!(std::fabs(g - w) <= atol + rtol * std::fabs(w)))
      return ::testing::AssertionFailure() << "element " << i << ": " << g << " vs reference " << w;
  }
  return ::testing::AssertionSuccess();
}

struct Tolerance {
  double rtol = 1e-6, atol = 1e-6;
};

// The broad sweeps run on one thread (each case builds oneDNN primitives, which costs milliseconds); the focused
// cases also on two.
const std::vector<int> kOneThread = {1}, kBothThreadCounts = {1, 2};

// Whether a fast kernel claimed the node (plain layout, tier `isa`). If it did, it must be `want` and match the
// reference with 1 and 2 threads, and for rank 4 also channels-last (as `want_cl`, default `want`); other ranks must
// be declined channels-last. A node the reference rejects must not be claimed.
bool check_fast(NodeCase c, const std::string& want, const std::string& what, Tolerance tol = {},
                const std::string& want_cl = "", Isa isa = top_tier(),
                const std::vector<int>& thread_counts = kBothThreadCounts) {
  SCOPED_TRACE(what);
  bool claimed = false;
  for (Layout layout : {Layout::Plain, Layout::ChannelsLast})
    for (int threads : thread_counts) {
      c.layout = layout;
      c.threads = threads;
      Outcome o = run_both(isa, c);
      if (layout == Layout::Plain) {
        if (!o.reference_error.empty()) {
          EXPECT_EQ(o.kernel, "reference") << "claims a node the reference rejects: " << o.reference_error;
          return false;
        }
        if (o.kernel == "reference") return false;
        claimed = true;
        EXPECT_EQ(o.kernel, want);
      } else if (c.inputs[0].rank() != 4) {
        EXPECT_EQ(o.kernel, "declined") << "channels-last is for rank 4 only";
        continue;
      } else {
        EXPECT_EQ(o.kernel, want_cl.empty() ? want : want_cl) << "rank 4 must run channels-last too";
        if (o.kernel == "declined") continue;
      }
      EXPECT_TRUE(close(o.reference[0], o.fast[0], tol.rtol, tol.atol))
          << layout_name(layout) << ", threads " << threads;
    }
  return claimed;
}

// ---------------------------------------------------------------------------------------------------- pooling

struct PoolCase {
  int64_t k = 3, s = 1, d = 1;
  std::vector<int64_t> pads;  // begins then ends, per spatial dim
  std::string auto_pad;
  bool ceil = false, include_pad = false;
};

NodeCase pool_node(const std::string& op, int64_t opset, Tensor x, const PoolCase& p, size_t outputs = 1) {
  size_t nd = static_cast<size_t>(x.rank() - 2);
  NodeCase c{.op = op, .opset = opset, .inputs = {std::move(x)}, .outputs = outputs};
  c.attrs = {Attribute::of_ints("kernel_shape", std::vector<int64_t>(nd, p.k)),
             Attribute::of_ints("strides", std::vector<int64_t>(nd, p.s))};
  if (p.d != 1) c.attrs.push_back(Attribute::of_ints("dilations", std::vector<int64_t>(nd, p.d)));
  if (!p.pads.empty()) c.attrs.push_back(Attribute::of_ints("pads", p.pads));
  if (!p.auto_pad.empty()) c.attrs.push_back(Attribute::of_string("auto_pad", p.auto_pad));
  if (p.ceil) c.attrs.push_back(Attribute::of_int("ceil_mode", 1));
  if (p.include_pad) c.attrs.push_back(Attribute::of_int("count_include_pad", 1));
  return c;
}

std::string pool_str(const std::string& op, const Shape& x, const PoolCase& p) {
  return fmt::format("{} x[{}] k{} s{} d{} pads[{}] {} ceil{} include_pad{}", op, shape_str(x), p.k, p.s, p.d,
                     shape_str(p.pads), p.auto_pad, p.ceil, p.include_pad);
}

std::string pool_kernel(const std::string& op) { return op == "MaxPool" ? "dnnl-maxpool-f32" : "dnnl-avgpool-f32"; }

// Every window/pad combination on 2-D inputs, channels and sizes cycling through the boundary values. What is
// refused: windows that see only padding (kernel 1 with pads, pads as wide as the window), dilations at least as large
// as a size-1 input (oneDNN rejects them), and count_include_pad where ceil_mode windows reach past the end pads.
TEST(PoolKernels, MatchReferenceOverEveryAttributeCombination) {
  std::mt19937 rng(7);
  const int64_t channels[] = {1, 3, 15, 16, 17, 33, 64};
  const int64_t sizes[] = {1, 7, 8, 9, 17};
  const std::vector<std::vector<int64_t>> pad_sets = {{}, {1, 1, 1, 1}, {0, 1, 1, 0}, {1, 0, 0, 1}, {2, 2, 2, 2}};
  const char* auto_pads[] = {"SAME_UPPER", "SAME_LOWER", "VALID"};
  int v = 0, claimed[2] = {0, 0}, total[2] = {0, 0};
  for (bool average : {false, true})
    for (int64_t k : {1, 2, 3})
      for (int64_t s : {1, 2, 3})
        for (int64_t d : {1, 2})
          for (size_t pi = 0; pi < pad_sets.size() + 3; ++pi)
            for (bool ceil : {false, true})
              for (bool include : {false, true}) {
                if (!average && include) continue;
                PoolCase p{k, s, d};
                if (pi < pad_sets.size()) p.pads = pad_sets[pi];
                else p.auto_pad = auto_pads[pi - pad_sets.size()];
                p.ceil = ceil;
                p.include_pad = include;
                ++v;
                Shape x = {v % 7 == 3 ? 2 : 1, channels[v % 7], sizes[v % 5], sizes[(v / 5 + v) % 5]};
                std::string op = average ? "AveragePool" : "MaxPool";
                ++total[average];
                if (check_fast(pool_node(op, 19, random_tensor(x, rng), p), pool_kernel(op), pool_str(op, x, p), {}, "",
                               top_tier(), kOneThread))
                  ++claimed[average];
              }
  // Claims that matter are required case by case below; here only that the sweep exercised the kernels broadly.
  EXPECT_GE(claimed[0], total[0] * 6 / 10) << claimed[0] << " of " << total[0];
  EXPECT_GE(claimed[1], total[1] * 5 / 10) << claimed[1] << " of " << total[1];
}

// The shapes real networks use, over every channel count and size: these must be claimed.
TEST(PoolKernels, CommonShapesAreClaimedAndMatch) {
  std::mt19937 rng(11);
  const std::vector<std::pair<std::string, PoolCase>> cases = {
      {"MaxPool", {3, 2, 1, {1, 1, 1, 1}}},               // ResNet stem
      {"MaxPool", {2, 2, 1, {}}},                         // VGG
      {"MaxPool", {3, 2, 1, {}, "", true}},               // GoogLeNet / SqueezeNet ceil_mode
      {"MaxPool", {3, 1, 1, {}, "SAME_UPPER"}},           // TF exports
      {"MaxPool", {3, 1, 2, {2, 2, 2, 2}}},               // dilated
      {"AveragePool", {3, 1, 1, {1, 1, 1, 1}}},           // Inception, exclude pads
      {"AveragePool", {3, 1, 1, {1, 1, 1, 1}, "", false, true}},
      {"AveragePool", {2, 2, 1, {}}},
      {"AveragePool", {3, 2, 1, {}, "", true, true}},     // ceil with no pads: include == exclude
      {"AveragePool", {3, 2, 1, {0, 0, 0, 0}, "", true, false}},
      {"AveragePool", {3, 2, 1, {}, "SAME_LOWER", false, true}},
      {"AveragePool", {3, 1, 2, {2, 2, 2, 2}, "", false, false}},  // dilated (opset 19)
  };
  for (const auto& [op, p] : cases)
    for (int64_t c : {1, 3, 15, 16, 17, 33, 64})
      for (int64_t s : {7, 8, 9, 17}) {
        Shape x = {c == 3 ? 2 : 1, c, s, s == 17 ? 9 : s};
        EXPECT_TRUE(check_fast(pool_node(op, 19, random_tensor(x, rng), p), pool_kernel(op), pool_str(op, x, p), {},
                               "", top_tier(), kOneThread))
            << "not claimed: " << pool_str(op, x, p);
      }
  // Large enough for oneDNN to split the work, on two threads.
  for (const auto& [op, p] : cases) {
    Shape x = {2, 64, 56, 56};
    EXPECT_TRUE(check_fast(pool_node(op, 19, random_tensor(x, rng), p), pool_kernel(op), pool_str(op, x, p)));
  }
}

TEST(PoolKernels, Ranks3And5StayPlain) {
  std::mt19937 rng(3);
  for (std::string op : {"MaxPool", "AveragePool"})
    for (size_t nd : {1, 3})
      for (int64_t c : {1, 16, 17}) {
        PoolCase p{3, 2, 1, std::vector<int64_t>(2 * nd, 1)};
        p.include_pad = op == "AveragePool" && c == 16;
        Shape x = {1, c};
        for (size_t i = 0; i < nd; ++i) x.push_back(nd == 1 ? 17 : 7 + static_cast<int64_t>(i));
        EXPECT_TRUE(check_fast(pool_node(op, 19, random_tensor(x, rng), p), pool_kernel(op), pool_str(op, x, p)));
      }
}

// Older opsets (no dilations or ceil_mode attributes yet) use the same kernels.
TEST(PoolKernels, OldOpsetsAreClaimed) {
  std::mt19937 rng(5);
  for (int64_t opset : {1, 7, 8, 10, 11, 12, 22})
    for (std::string op : {"MaxPool", "AveragePool"}) {
      PoolCase p{3, 2, 1, {1, 1, 1, 1}};
      EXPECT_TRUE(check_fast(pool_node(op, opset, random_tensor({1, 8, 9, 9}, rng), p), pool_kernel(op),
                             fmt::format("{} opset {}", op, opset)));
    }
}

std::string chosen(const NodeCase& c) { return run_both(top_tier(), c).kernel; }

TEST(PoolKernels, RefusesWhatOneDnnCannotMatch) {
  std::mt19937 rng(9);
  // MaxPool asked for Indices.
  NodeCase idx = pool_node("MaxPool", 12, random_tensor({1, 4, 8, 8}, rng), {2, 2}, 2);
  EXPECT_EQ(chosen(idx), "reference");
  // ...but an omitted Indices output is fine (one output named).
  EXPECT_EQ(chosen(pool_node("MaxPool", 12, random_tensor({1, 4, 8, 8}, rng), {2, 2}, 1)), "dnnl-maxpool-f32");
  // count_include_pad with ceil_mode windows reaching past the end pads: ONNX leaves that padding out of the divisor.
  NodeCase avg = pool_node("AveragePool", 19, random_tensor({1, 4, 8, 8}, rng), {3, 2, 1, {1, 1, 1, 1}, "", true, true});
  Outcome o = run_both(top_tier(), avg);
  EXPECT_EQ(o.kernel, "reference");
  EXPECT_TRUE(o.reference_error.empty());
  // Windows that see only padding.
  EXPECT_EQ(chosen(pool_node("MaxPool", 19, random_tensor({1, 4, 1, 1}, rng), {2, 1, 3, {2, 2, 2, 2}})), "reference");
  // Other element types.
  NodeCase f64 = pool_node("MaxPool", 19, Tensor(DType::Float64, {1, 4, 8, 8}), {2, 2});
  EXPECT_EQ(chosen(f64), "reference");
  // Invalid attributes stay with the reference, which reports them.
  o = run_both(top_tier(), pool_node("MaxPool", 19, random_tensor({1, 4, 2, 2}, rng), {5, 1}));
  EXPECT_EQ(o.kernel, "reference");
  EXPECT_FALSE(o.reference_error.empty());
}

TEST(PoolKernels, UnknownShapesStayOnTheReference) {
  Node n;
  n.op_type = "MaxPool";
  n.attributes = {Attribute::of_ints("kernel_shape", {2, 2})};
  n.inputs = {"x"};
  n.outputs = {"y"};
  SymShape s = to_sym_shape(Shape{1, 4, 8, 8});
  s[0] = Dim();
  TypeInfo t = TypeInfo::tensor(DType::Float32, s);
  KernelQuery q{n, 12, {&t}, {nullptr}, {}, 1};
  EXPECT_EQ(KernelRegistry::instance().best(q), nullptr);
}

// ---------------------------------------------------------------------------------------------------- global pooling

TEST(GlobalPoolKernels, MatchReferenceOnEveryTier) {
  std::mt19937 rng(13);
  int ran = 0;
  for (Isa isa : test::tiers())
    for (std::string op : {"GlobalAveragePool", "GlobalMaxPool"}) {
      bool max = op == "GlobalMaxPool";
      std::string want = std::string(max ? "f32_global_maxpool_" : "f32_global_avgpool_") + isa_name(isa);
      std::string want_cl = max ? "dnnl-global-maxpool-f32" : "dnnl-global-avgpool-f32";  // faster in that layout
      auto check = [&](const Shape& x) {
        NodeCase c{.op = op, .opset = 1, .inputs = {random_tensor(x, rng)}};
        EXPECT_TRUE(check_fast(c, want, fmt::format("{} {} x[{}]", isa_name(isa), op, shape_str(x)), {}, want_cl, isa));
        ++ran;
      };
      for (int64_t c : {1, 3, 15, 16, 17, 33, 64, 65, 130})
        for (Shape sp : {Shape{1, 1}, Shape{7, 7}, Shape{8, 8}, Shape{9, 9}, Shape{17, 17}, Shape{1, 17}, Shape{17, 1}})
          check({c == 17 ? 3 : 1, c, sp[0], sp[1]});
      for (Shape x : {Shape{2, 17, 33}, Shape{1, 16, 1}, Shape{2, 5, 3, 4, 5}, Shape{1, 33, 2, 2, 2, 2}}) check(x);
      check({2, 64, 56, 56});  // large enough to run on two threads
    }
  EXPECT_GE(ran, 100);
}

// Float inputs: the sums are no longer exact; the reference adds in float one by one, the kernel in vector blocks.
TEST(GlobalPoolKernels, FloatInputsWithinTolerance) {
  std::mt19937 rng(17);
  NodeCase c{.op = "GlobalAveragePool", .opset = 1, .inputs = {random_tensor({1, 2048, 7, 7}, rng, false)}};
  EXPECT_TRUE(check_fast(c, std::string("f32_global_avgpool_") + isa_name(top_tier()), "resnet head", {1e-4, 1e-5},
                         "dnnl-global-avgpool-f32"));
}

// ---------------------------------------------------------------------------------------------------- LRN

NodeCase lrn_node(Tensor x, int64_t size, float alpha = 1e-4f, float beta = 0.75f, float bias = 1.0f) {
  return NodeCase{.op = "LRN",
                  .opset = 13,
                  .inputs = {std::move(x)},
                  .attrs = {Attribute::of_int("size", size), Attribute::of_float("alpha", alpha),
                            Attribute::of_float("beta", beta), Attribute::of_float("bias", bias)}};
}

TEST(LrnKernel, MatchesReference) {
  std::mt19937 rng(19);
  int v = 0;
  for (int64_t size : {1, 3, 5, 7})
    for (int64_t c : {1, 3, 15, 16, 17, 33, 64, 96})
      for (int64_t s : {1, 7, 8, 9, 17}) {
        ++v;
        Shape x = {v % 5 == 0 ? 2 : 1, c, s, s == 9 ? 5 : s};
        float alpha = v % 2 ? 1e-4f : 0.5f, beta = v % 3 ? 0.75f : 0.5f + static_cast<float>(v % 4) * 0.25f;
        float bias = v % 4 ? 1.0f : 2.0f;
        EXPECT_TRUE(check_fast(lrn_node(random_tensor(x, rng, false), size, alpha, beta, bias), "dnnl-lrn-f32",
                               fmt::format("LRN x[{}] size {} alpha {} beta {} bias {}", shape_str(x), size, alpha,
                                           beta, bias),
                               {1e-4, 1e-5}, "", top_tier(), kOneThread));
      }
  EXPECT_TRUE(check_fast(lrn_node(random_tensor({2, 96, 27, 27}, rng, false), 5), "dnnl-lrn-f32", "LRN two threads",
                         {1e-4, 1e-5}));
}

TEST(LrnKernel, OtherRanksAndRefusals) {
  std::mt19937 rng(23);
  for (Shape x : {Shape{4, 17}, Shape{2, 17, 9}, Shape{1, 16, 3, 4, 5}})  // ranks 2, 3 and 5, channels-first
    EXPECT_TRUE(check_fast(lrn_node(random_tensor(x, rng, false), 5), "dnnl-lrn-f32", "LRN x[" + shape_str(x) + "]",
                           {1e-4, 1e-5}));
  // Even sizes: ONNX's window is lopsided, oneDNN's is not.
  Outcome o = run_both(top_tier(), lrn_node(random_tensor({1, 8, 4, 4}, rng, false), 4));
  EXPECT_EQ(o.kernel, "reference");
  EXPECT_TRUE(o.reference_error.empty());
}

// ---------------------------------------------------------------------------------------------------- in a plan

// A CNN-style chain planned by a Session: after the convolution (which prefers channels-last) every kernel here
// accepts channels-last, so the chain needs one layout transform (the input) and none back (the pooled [N,C,1,1]
// output is the same bytes in both layouts); the result must match the reference kernels'.
TEST(PoolKernels, ChannelsLastChainInASession) {
  std::mt19937 rng(29);
  auto node = [](std::string op, std::vector<std::string> in, std::string out, std::vector<Attribute> attrs = {}) {
    Node n;
    n.op_type = std::move(op);
    n.name = out;
    n.inputs = std::move(in);
    n.outputs = {std::move(out)};
    n.attributes = std::move(attrs);
    return n;
  };
  Model m;
  m.ir_version = 8;
  m.opset_import = {{"", 17}};
  Graph& g = m.graph;
  g.inputs = {{"x", TypeInfo::tensor(DType::Float32, to_sym_shape(Shape{2, 3, 17, 17})), ""}};
  g.outputs = {{"y", TypeInfo{}, ""}};
  g.initializers["w"] = random_tensor({16, 3, 3, 3}, rng);
  Tensor scale = random_tensor({16}, rng), var = random_tensor({16}, rng);
  for (float& v : scale.span<float>()) v = 1.f + v / 4.f;
  for (float& v : var.span<float>()) v = 0.5f + v * v;
  g.initializers["scale"] = scale;
  g.initializers["b"] = random_tensor({16}, rng);
  g.initializers["mean"] = random_tensor({16}, rng);
  g.initializers["var"] = var;
  g.nodes = {
      node("Conv", {"x", "w"}, "c", {Attribute::of_ints("pads", {1, 1, 1, 1})}),
      node("Relu", {"c"}, "r"),
      node("BatchNormalization", {"r", "scale", "b", "mean", "var"}, "bn"),  // after Relu: not folded into the Conv
      node("MaxPool", {"bn"}, "mp",
           {Attribute::of_ints("kernel_shape", {3, 3}), Attribute::of_ints("strides", {2, 2}),
            Attribute::of_ints("pads", {1, 1, 1, 1})}),
      node("LRN", {"mp"}, "lrn", {Attribute::of_int("size", 3)}),
      node("AveragePool", {"lrn"}, "ap",
           {Attribute::of_ints("kernel_shape", {3, 3}), Attribute::of_ints("pads", {1, 1, 1, 1})}),
      node("GlobalAveragePool", {"ap"}, "y"),
  };
  Tensor x = random_tensor({2, 3, 17, 17}, rng, false);
  Session fast(m, {.threads = 1});
  Session reference(m, {.threads = 1, .reference_kernels = true});
  Tensor want = reference.run({{"x", x}})[0];
  Tensor got = fast.run({{"x", x}})[0];
  EXPECT_TRUE(close(want, got, 1e-4, 1e-5));
  const Plan& plan = fast.plan_for({Value::of(x)});
  std::string kernels;
  for (const PlanStep& st : plan.steps) kernels += st.kernel->name() + " ";
  for (std::string k : {"f32_batchnorm_", "dnnl-maxpool-f32", "dnnl-lrn-f32", "dnnl-avgpool-f32",
                        "dnnl-global-avgpool-f32"})
    EXPECT_NE(kernels.find(k), std::string::npos) << k << " not in: " << kernels;
  EXPECT_EQ(plan.layout_transforms, 1) << kernels;
}

// ---------------------------------------------------------------------------------------------------- timing

// Not run by default (timing is never asserted): --gtest_also_run_disabled_tests --gtest_filter='*PoolTiming*'.
TEST(PoolTiming, DISABLED_FastVersusReference) {
  std::mt19937 rng(1);
  std::vector<std::pair<std::string, NodeCase>> cases = {
      {"MaxPool 3x3 s2 p1", pool_node("MaxPool", 12, random_tensor({1, 64, 112, 112}, rng), {3, 2, 1, {1, 1, 1, 1}})},
      {"GlobalAveragePool", NodeCase{.op = "GlobalAveragePool", .opset = 1, .inputs = {random_tensor({1, 2048, 7, 7}, rng)}}},
      // GlobalAveragePool as oneDNN's pooling over the whole plane, to compare with the own loop in plain layout.
      {"AveragePool 7x7 (GAP)", pool_node("AveragePool", 19, random_tensor({1, 2048, 7, 7}, rng), {7, 1})},
      {"LRN size 5 (alexnet)", lrn_node(random_tensor({1, 96, 55, 55}, rng, false), 5)},
  };
  for (auto& [what, c] : cases)
    for (Layout layout : {Layout::Plain, Layout::ChannelsLast})
      for (int threads : {1, 2}) {
        c.layout = layout;
        c.threads = threads;
        omp_set_num_threads(threads);  // as a Session does at plan time: oneDNN sizes its thread team at creation
        double bytes = static_cast<double>(c.inputs[0].nbytes()) * (what.starts_with("LRN") ? 2 : 1);
        test::print_timing(c, fmt::format("{} {} {}", what, shape_str(c.inputs[0].shape()), layout_name(layout)), bytes);
      }
}

}  // namespace
}  // namespace hone
