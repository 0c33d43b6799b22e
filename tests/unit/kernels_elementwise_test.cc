// Hone's vectorized element-wise kernels against the reference kernels of the same ops, on every ISA tier this
// machine has and in both layouts: sizes straddling vector widths, every kind of broadcast, special values (inf,
// nan, -0, huge, subnormal), a fixed seed. Exact ops must match bit for bit; exp-based ones within a few ulp.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "kernel_test_util.h"
#include "runtime/plan.h"
#include "test_paths.h"

namespace hone {
namespace {

using test::expect_fast;
using test::expect_ulp;
using test::float_attr;
using test::int_attr;
using test::kInf;
using test::kNan;
using test::label;
using test::NodeCase;
using test::Outcome;
using test::random_f32;
using test::scalar_f32;
using test::tiers;

Outcome run_both(Isa isa, const std::string& op, int64_t opset, const std::vector<Tensor>& inputs,
                 std::vector<Attribute> attrs = {}, std::vector<bool> constant = {}, int threads = 4,
                 Layout layout = Layout::Plain) {
  return test::run_both(isa, NodeCase{.op = op, .opset = opset, .inputs = inputs, .attrs = std::move(attrs),
                                      .constant = std::move(constant), .threads = threads, .layout = layout});
}

const std::vector<int64_t> kSizes = {0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 127, 128, 129, 100003};

std::string shapes_label(Isa isa, const std::string& op, const Shape& a, const Shape& b) {
  return label(isa, op, a, shape_str(b));
}

TEST(KernelsElementwise, BinaryOpsMatchReferenceExactly) {
  for (Isa isa : tiers())
    for (const char* op : {"Add", "Sub", "Mul", "Div", "Max", "Min", "Sum"})
      for (int64_t n : kSizes) {
        Tensor a = random_f32({n}, -50, 50, 1), b = random_f32({n}, -50, 50, 2);
        if (n > 3) b.data<float>()[3] = 0.0f;  // x/0, and the specials meet each other
        Outcome o = run_both(isa, op, 13, {a, b});
        expect_fast(o, isa, label(isa, op, {n}));
        expect_ulp(o, 0, label(isa, op, {n}));
        o = run_both(isa, op, 13, {b, a});
        expect_ulp(o, 0, label(isa, op, {n}) + " swapped");
      }
}

// Every broadcast numpy allows: one-element operands, per-channel blocks, trailing vectors, both operands
// broadcasting, leading 1s, high ranks, empty dims; sizes around vector widths; big ones split over threads by rows
// and by columns.
TEST(KernelsElementwise, BinaryBroadcastPatterns) {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{2, 3, 5, 7}, {2, 3, 5, 7}}, {{2, 3, 5, 7}, {}}, {{}, {2, 3, 5, 7}}, {{1}, {17}}, {{17}, {1, 1}},
      {{2, 3, 5, 7}, {3, 1, 1}}, {{3, 1, 1}, {2, 3, 5, 7}}, {{2, 3, 5, 7}, {7}}, {{7}, {2, 3, 5, 7}},
      {{2, 3, 5, 7}, {1, 3, 5, 1}}, {{2, 33, 1, 17}, {33, 1, 1}}, {{4, 64, 32, 33}, {64, 1, 1}},
      {{4, 64, 32, 33}, {33}}, {{300, 129}, {300, 1}}, {{1, 64, 1, 1}, {2, 64, 1, 1}},
      {{2, 1, 5}, {1, 3, 1}}, {{1, 3, 1}, {2, 1, 5}}, {{1000, 1}, {1, 1000}}, {{2, 15, 1, 31}, {1, 1, 17, 1}},
      {{2, 3, 4, 5, 6}, {3, 1, 5, 1}}, {{2, 3, 4, 5, 6}, {1, 1, 1, 1, 6}}, {{1, 1, 1}, {1}}, {{0, 3}, {3}},
      {{2, 0, 3}, {1, 1, 3}}, {{2, 96, 80, 80}, {1, 96, 1, 1}}, {{1, 96, 80, 80}, {1, 96, 1, 1}},
      {{2, 16, 100, 100}, {2, 16, 1, 1}}, {{1, 1, 300000}, {1, 1, 1}}, {{3, 200000}, {3, 1}}, {{7, 1, 16}, {1, 15, 1}}};
  for (Isa isa : tiers())
    for (const char* op : {"Add", "Sub", "Mul", "Div", "Max", "Min"})
      for (const auto& [sa, sb] : cases) {
        Outcome o = run_both(isa, op, 14, {random_f32(sa, -9, 9, 3), random_f32(sb, -9, 9, 4)});
        expect_fast(o, isa, shapes_label(isa, op, sa, sb));
        expect_ulp(o, 0, shapes_label(isa, op, sa, sb));
      }
}

TEST(KernelsElementwise, UnsupportedStaysOnReference) {
  Outcome o = run_both(test::top_tier(), "Add", 6, {random_f32({2, 3}, -1, 1, 5), random_f32({2, 3}, -1, 1, 6)});
  EXPECT_EQ(o.kernel, "reference");  // legacy `broadcast` attribute semantics
  o = run_both(test::top_tier(), "Add", 14, {random_f32({2, 3}, -1, 1, 5), random_f32({4, 3}, -1, 1, 6)});
  EXPECT_EQ(o.kernel, "reference");  // does not broadcast: the reference reports it
  EXPECT_NE(o.reference_error.find("do not broadcast"), std::string::npos) << o.reference_error;
  o = run_both(test::top_tier(), "Sum", 13,
               {random_f32({2, 3}, -1, 1, 5), random_f32({2, 3}, -1, 1, 6), random_f32({2, 3}, -1, 1, 7)});
  EXPECT_EQ(o.kernel, "reference");  // three inputs
}

struct UnaryCase {
  const char* op;
  int64_t opset;
  std::vector<Attribute> attrs;
  int64_t max_ulp;
  float lo, hi;
};

const std::vector<UnaryCase> kUnaryCases = {
    {"Relu", 14, {}, 0, -10, 10},
    {"LeakyRelu", 16, {float_attr("alpha", 0.1f)}, 0, -10, 10},
    {"HardSigmoid", 6, {float_attr("alpha", 0.1666667f), float_attr("beta", 0.5f)}, 0, -10, 10},
    {"HardSigmoid", 6, {}, 0, -10, 10},
    {"HardSwish", 14, {}, 0, -10, 10},
    {"Clip", 6, {float_attr("min", -1.5f), float_attr("max", 2.5f)}, 0, -10, 10},
    {"Sqrt", 13, {}, 0, 0, 1000},
    {"Neg", 13, {}, 0, -10, 10},
    {"Abs", 13, {}, 0, -10, 10},
    {"Reciprocal", 13, {}, 0, -10, 10},
    {"Sigmoid", 13, {}, 4, -30, 30},
    {"Sigmoid", 13, {}, 4, -120, 120},
    {"Tanh", 13, {}, 4, -3, 3},
    {"Tanh", 13, {}, 4, -20, 20},
    {"Exp", 13, {}, 4, -110, 90},
    {"Exp", 13, {}, 4, -2, 2},
    {"Log", 13, {}, 2, 0, 1000},
    {"Log", 13, {}, 2, 0.5f, 2},
    {"Log", 13, {}, 2, 0, 1e-36f},
    {"Log", 13, {}, 2, 0, 2e-38f},  // subnormals
};

TEST(KernelsElementwise, UnaryOpsMatchReference) {
  for (Isa isa : tiers())
    for (const UnaryCase& c : kUnaryCases)
      for (int64_t n : kSizes) {
        Outcome o = run_both(isa, c.op, c.opset, {random_f32({n}, c.lo, c.hi, 7 + static_cast<uint32_t>(n))}, c.attrs);
        expect_fast(o, isa, label(isa, c.op, {n}));
        expect_ulp(o, c.max_ulp, label(isa, c.op, {n}));
      }
}

TEST(KernelsElementwise, ClipInputsAndPowScalar) {
  for (Isa isa : tiers())
    for (int64_t n : kSizes) {
      Tensor x = random_f32({n}, -10, 10, 11);
      Outcome o = run_both(isa, "Clip", 13, {x, scalar_f32(0.0f), scalar_f32(6.0f)});
      expect_fast(o, isa, label(isa, "Clip", {n}));
      expect_ulp(o, 0, label(isa, "Clip[0,6]", {n}));
      o = run_both(isa, "Clip", 13, {x, scalar_f32(3.0f, {1}), scalar_f32(-1.0f, {1})});  // lo > hi: all hi
      expect_ulp(o, 0, label(isa, "Clip[3,-1]", {n}));
      for (float e : {2.0f, 0.5f, -1.0f}) {
        o = run_both(isa, "Pow", 15, {x, scalar_f32(e)}, {}, {false, true});
        expect_fast(o, isa, label(isa, "Pow", {n}, std::to_string(e)));
        expect_ulp(o, 0, label(isa, "Pow", {n}, std::to_string(e)));
      }
      o = run_both(isa, "Pow", 15, {random_f32({n}, 0, 1e6f, 12), scalar_f32(0.5f)}, {}, {false, true});
      expect_ulp(o, 0, label(isa, "Pow positive", {n}, "0.5"));
    }
  // A non-constant or other exponent stays on the reference.
  Tensor x = random_f32({9}, -10, 10, 12);
  EXPECT_EQ(run_both(test::top_tier(), "Pow", 15, {x, scalar_f32(2.0f)}).kernel, "reference");
  EXPECT_EQ(run_both(test::top_tier(), "Pow", 15, {x, scalar_f32(3.0f)}, {}, {false, true}).kernel, "reference");
}

// ---- channels-last ----

const std::vector<int64_t> kChannels = {1, 7, 15, 16, 17, 31, 33, 64};

TEST(KernelsElementwise, UnaryChannelsLast) {
  for (Isa isa : tiers())
    for (int64_t c : kChannels)
      for (const UnaryCase& uc : kUnaryCases) {
        Shape s = {2, c, 3, 5};
        Outcome o = run_both(isa, uc.op, uc.opset, {random_f32(s, uc.lo, uc.hi, 21)}, uc.attrs, {}, 4,
                             Layout::ChannelsLast);
        expect_fast(o, isa, label(isa, uc.op, s, "channels-last"));
        expect_ulp(o, uc.max_ulp, label(isa, uc.op, s, "channels-last"));
      }
  // Clip 13 with scalar bounds, Pow 2: the extra inputs are plain scalars.
  Shape s = {1, 17, 4, 4};
  Outcome o = run_both(test::top_tier(), "Clip", 13, {random_f32(s, -9, 9, 22), scalar_f32(0.0f), scalar_f32(6.0f)}, {}, {},
                       4, Layout::ChannelsLast);
  expect_ulp(o, 0, "Clip channels-last");
  o = run_both(test::top_tier(), "Pow", 15, {random_f32(s, -9, 9, 23), scalar_f32(2.0f)}, {}, {false, true}, 4,
               Layout::ChannelsLast);
  expect_ulp(o, 0, "Pow channels-last");
  // Not rank 4, or a constant input (which stays plain): declined.
  EXPECT_EQ(run_both(test::top_tier(), "Relu", 14, {random_f32({3, 5}, -1, 1, 24)}, {}, {}, 4, Layout::ChannelsLast).kernel,
            "declined");
  EXPECT_EQ(run_both(test::top_tier(), "Relu", 14, {random_f32(s, -1, 1, 24)}, {}, {true}, 4, Layout::ChannelsLast).kernel,
            "declined");
}

struct LayoutBinaryCase {
  Shape a, b;
  bool a_constant = false, b_constant = false;
};

TEST(KernelsElementwise, BinaryChannelsLast) {
  std::vector<LayoutBinaryCase> cases;
  for (int64_t c : kChannels) {
    Shape x = {2, c, 5, 7};
    cases.push_back({x, x});                                  // two activations
    cases.push_back({x, {c, 1, 1}, false, true});             // per-channel constant
    cases.push_back({{1, c, 1, 1}, x, true, false});          // ... as [1,C,1,1], first
    cases.push_back({x, {2, c, 1, 1}});                       // squeeze-excitation gate (an activation)
    cases.push_back({x, {1, c, 1, 1}});                       // a [1,C,1,1] activation: layout-neutral bytes
    cases.push_back({x, {}, false, true});                    // scalar constant
    cases.push_back({x, {1}});                                // one-element activation (rank 1: plain)
    cases.push_back({x, {7}, false, true});                   // along W
    cases.push_back({x, {1, 1, 5, 7}, false, true});          // a spatial map (no C): same bytes in both orders
    cases.push_back({x, {2, 1, 5, 7}});                       // a one-channel activation
    cases.push_back({{2, c, 1, 1}, {1, c, 1, 1}, false, true});  // H*W == 1
  }
  for (Isa isa : tiers())
    for (const char* op : {"Add", "Sub", "Mul", "Div", "Max", "Min"})
      for (const LayoutBinaryCase& lc : cases) {
        Outcome o = run_both(isa, op, 14, {random_f32(lc.a, -9, 9, 31), random_f32(lc.b, -9, 9, 32)}, {},
                             {lc.a_constant, lc.b_constant}, 4, Layout::ChannelsLast);
        std::string what = shapes_label(isa, op, lc.a, lc.b) + " channels-last";
        expect_fast(o, isa, what);
        expect_ulp(o, 0, what);
      }
  // Large enough to be split over threads.
  Outcome o = run_both(test::top_tier(), "Mul", 14, {random_f32({2, 96, 40, 40}, -9, 9, 33), random_f32({1, 96, 1, 1}, -9, 9, 34)},
                       {}, {false, true}, 4, Layout::ChannelsLast);
  expect_ulp(o, 0, "Mul 2x96x40x40 by 1x96x1x1 channels-last");
  o = run_both(test::top_tier(), "Mul", 14, {random_f32({2, 96, 40, 40}, -9, 9, 33), random_f32({2, 96, 1, 1}, -9, 9, 34)}, {},
               {}, 4, Layout::ChannelsLast);
  expect_ulp(o, 0, "Mul 2x96x40x40 by gate 2x96x1x1 channels-last");
  // A plain operand whose bytes are not in N,H,W,C order: declined.
  for (const auto& [b, constant] : std::vector<std::pair<Shape, bool>>{
           {{1, 7, 1, 7}, true}, {{7, 5, 7}, true}, {{1, 7, 5, 7}, true}, {{7, 1, 7}, false}, {{1, 7, 5, 1}, true}}) {
    o = run_both(test::top_tier(), "Add", 14, {random_f32({2, 7, 5, 7}, -1, 1, 35), random_f32(b, -1, 1, 36)}, {},
                 {false, constant}, 4, Layout::ChannelsLast);
    EXPECT_EQ(o.kernel, "declined") << shape_str(b);
  }
}

TEST(KernelsElementwise, TierSelection) {
  EXPECT_EQ(parse_isa("avx2"), Isa::Avx2);
  EXPECT_FALSE(parse_isa("sse9").has_value());
  {
    ScopedIsaOverride s(Isa::Scalar);
    EXPECT_EQ(active_isa(), Isa::Scalar);
  }
  if (best_isa() != Isa::Avx512Vnni) EXPECT_THROW(ScopedIsaOverride(Isa::Avx512Vnni), Error);
}

TEST(KernelsElementwise, Timing) {
  for (int threads : {1, 2})
    for (Layout layout : {Layout::Plain, Layout::ChannelsLast}) {
      NodeCase c{.op = "Mul",
                 .opset = 14,
                 .inputs = {random_f32({1, 96, 80, 80}, -1, 1, 41), random_f32({1, 96, 1, 1}, -1, 1, 42)},
                 .constant = {false, true},
                 .threads = threads,
                 .layout = layout};
      test::print_timing(c, std::string("Mul 1x96x80x80 by 1x96x1x1 ") + layout_name(layout), 2.0 * 4 * 96 * 6400);
    }
}

// On the PaddleOCR models, every element-wise node between the convolutions gets a fast kernel.
TEST(KernelsElementwise, ChosenOnPaddleOcrModels) {
  const std::vector<std::string> ours = {"Add", "Sub", "Mul", "Div", "Max", "Relu", "LeakyRelu", "Clip", "HardSigmoid",
                                         "HardSwish", "Sigmoid", "Tanh", "Exp", "Sqrt", "Pow", "Softmax", "ReduceMean"};
  const std::vector<std::pair<const char*, Shape>> models = {
      {test::kPaddleDet, {1, 3, 640, 640}}, {test::kPaddleRec, {1, 3, 48, 320}}, {test::kPaddleCls, {1, 3, 48, 192}}};
  for (const auto& [rel, shape] : models) {
    std::string path = test::npm_model(rel);
    ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing: run scripts/install_deps.sh";
    Session s = Session::load(path, {.threads = 1});
    const Plan& plan = s.plan_for({Value::of(Tensor(DType::Float32, shape))});
    std::map<std::string, int> fast, reference;
    for (const PlanStep& st : plan.steps) {
      if (std::find(ours.begin(), ours.end(), st.node->op_type) == ours.end()) continue;
      (st.kernel->name() == "reference" ? reference : fast)[st.node->op_type]++;
    }
    std::string summary;
    for (const auto& [op, count] : fast) summary += " " + op + ":" + std::to_string(count);
    std::cout << "[ kernels  ] " << std::filesystem::path(path).filename().string() << " fast" << summary << "\n";
    EXPECT_FALSE(fast.empty()) << path;
    for (const auto& [op, count] : reference) ADD_FAILURE() << path << ": " << count << " " << op << " node(s) on the reference";
  }
}

}  // namespace
}  // namespace hone
