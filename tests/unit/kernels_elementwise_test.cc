// Hone's vectorized element-wise kernels against the reference kernels of the same ops, on every ISA tier this
// machine has: sizes straddling vector widths, every supported broadcast pattern, special values (inf, nan, -0,
// huge, subnormal), a fixed seed. Exact ops must match bit for bit; exp-based ones within a few ulp.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <filesystem>
#include <map>
#include <random>

#include "hone/hone.h"
#include "kernels/cpu/cpu_features.h"
#include "runtime/kernel.h"
#include "runtime/plan.h"
#include "test_paths.h"

namespace hone {
namespace {

std::vector<Isa> tiers() {
  std::vector<Isa> t = {Isa::Scalar};
  if (static_cast<int>(best_isa()) >= static_cast<int>(Isa::Avx2)) t.push_back(Isa::Avx2);
  if (static_cast<int>(best_isa()) >= static_cast<int>(Isa::Avx512)) t.push_back(Isa::Avx512);
  return t;
}

const float kInf = std::numeric_limits<float>::infinity();
const float kNan = std::numeric_limits<float>::quiet_NaN();
const std::vector<float> kSpecials = {kInf, -kInf, kNan, -0.0f, 0.0f, 3e38f, -3e38f, 1e-40f, -1e-40f, 88.7f, 89.0f,
                                      -87.5f, -103.0f, -104.5f, 1e-4f, 0.625f, -0.625f, 9.0f, -9.0f, 6.0f, -3.0f};

// Uniform values in [lo, hi] with special values sprinkled in.
Tensor random_f32(const Shape& shape, float lo, float hi, uint32_t seed, bool specials = true) {
  Tensor t(DType::Float32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = d(rng);
  if (specials)
    for (size_t k = 0; k < kSpecials.size() && static_cast<int64_t>(k * 7) < t.numel(); ++k) p[k * 7] = kSpecials[k];
  return t;
}

Tensor scalar_f32(float v, Shape shape = {}) {
  Tensor t(DType::Float32, shape);
  t.data<float>()[0] = v;
  return t;
}

Attribute float_attr(const std::string& name, float v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::Float;
  a.f = v;
  return a;
}
Attribute int_attr(const std::string& name, int64_t v) {
  Attribute a;
  a.name = name;
  a.type = Attribute::Type::Int;
  a.i = v;
  return a;
}

struct Outcome {
  std::string kernel;  // the chosen kernel's name
  Tensor fast, reference;
};

// Plans one node (inputs with concrete types; those flagged constant visible as constants) under `isa`, runs the
// chosen kernel and the op's reference kernel on the same inputs.
Outcome run_both(Isa isa, const std::string& op, int64_t opset, const std::vector<Tensor>& inputs,
                 std::vector<Attribute> attrs = {}, std::vector<bool> constant = {}, int threads = 4) {
  ScopedIsaOverride force(isa);
  Node n;
  n.op_type = op;
  n.name = "n";
  n.attributes = std::move(attrs);
  std::vector<TypeInfo> types;
  std::vector<Value> values;
  for (size_t i = 0; i < inputs.size(); ++i) {
    n.inputs.push_back("in" + std::to_string(i));
    types.push_back(TypeInfo::tensor(inputs[i].dtype(), to_sym_shape(inputs[i].shape())));
    values.push_back(Value::of(inputs[i]));
  }
  n.outputs = {"out"};
  KernelQuery q{n, opset, {}, {}, {TypeInfo::tensor(DType::Float32)}, threads};
  for (size_t i = 0; i < inputs.size(); ++i) {
    q.input_types.push_back(&types[i]);
    q.input_constants.push_back(i < constant.size() && constant[i] ? &inputs[i] : nullptr);
  }
  const OpSchema* schema = OpRegistry::instance().find("", op, opset);
  EXPECT_NE(schema, nullptr);
  std::unique_ptr<Kernel> k = KernelRegistry::instance().choose(q, *schema);
  std::vector<const Value*> ptrs;
  for (const Value& v : values) ptrs.push_back(&v);
  Value fast_out, ref_out;
  OpContext fast_ctx(n, opset, ptrs.data(), ptrs.size(), &fast_out, 1, threads, nullptr);
  k->run(fast_ctx);
  OpContext ref_ctx(n, opset, ptrs.data(), ptrs.size(), &ref_out, 1, 1, nullptr);
  schema->compute(ref_ctx);
  return {k->name(), fast_out.tensor, ref_out.tensor};
}

// Distance in representable floats (the sign-magnitude bits mapped onto a line).
int64_t ulp_distance(float a, float b) {
  auto key = [](float v) {
    int32_t i = std::bit_cast<int32_t>(v);
    return i < 0 ? -static_cast<int64_t>(i & 0x7fffffff) : static_cast<int64_t>(i);
  };
  return std::llabs(key(a) - key(b));
}

// max_ulp 0: bit-identical (any NaN matches any NaN). Otherwise infinities must match exactly too.
void expect_close(const Outcome& o, int64_t max_ulp, const std::string& what) {
  ASSERT_EQ(o.fast.shape(), o.reference.shape()) << what;
  const float* f = o.fast.data<float>();
  const float* r = o.reference.data<float>();
  int bad = 0;
  for (int64_t i = 0; i < o.fast.numel() && bad < 5; ++i) {
    bool ok;
    if (std::isnan(r[i]) || std::isnan(f[i])) ok = std::isnan(r[i]) && std::isnan(f[i]);
    else if (max_ulp == 0 || std::isinf(r[i]) || std::isinf(f[i])) ok = std::bit_cast<uint32_t>(f[i]) == std::bit_cast<uint32_t>(r[i]);
    else ok = ulp_distance(f[i], r[i]) <= max_ulp;
    if (!ok) {
      ++bad;
      ADD_FAILURE() << what << " [" << i << "]: fast " << f[i] << " reference " << r[i] << " ("
                    << ulp_distance(f[i], r[i]) << " ulp)";
    }
  }
}

const std::vector<int64_t> kSizes = {0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 127, 128, 129, 100003};

std::string label(Isa isa, const std::string& op, const Shape& a, const Shape& b = {}) {
  return std::string(isa_name(isa)) + " " + op + " " + shape_str(a) + " " + shape_str(b);
}

// The chosen kernel is the fast one of this tier, not the reference.
void expect_fast(const Outcome& o, Isa isa, const std::string& what) {
  std::string suffix = std::string("_") + isa_name(isa);
  EXPECT_TRUE(o.kernel.size() > suffix.size() && o.kernel.ends_with(suffix)) << what << ": chose " << o.kernel;
}

TEST(KernelsElementwise, BinaryOpsMatchReferenceExactly) {
  for (Isa isa : tiers())
    for (const char* op : {"Add", "Sub", "Mul", "Div", "Max"})
      for (int64_t n : kSizes) {
        Tensor a = random_f32({n}, -50, 50, 1), b = random_f32({n}, -50, 50, 2);
        if (n > 3) b.data<float>()[3] = 0.0f;  // x/0, and the specials meet each other
        Outcome o = run_both(isa, op, 13, {a, b});
        expect_fast(o, isa, label(isa, op, {n}));
        expect_close(o, 0, label(isa, op, {n}));
        o = run_both(isa, op, 13, {b, a});
        expect_close(o, 0, label(isa, op, {n}) + " swapped");
      }
}

TEST(KernelsElementwise, BinaryBroadcastPatterns) {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{2, 3, 5, 7}, {2, 3, 5, 7}}, {{2, 3, 5, 7}, {}},      {{}, {2, 3, 5, 7}},         {{1}, {17}},
      {{17}, {1, 1}},               {{2, 3, 5, 7}, {3, 1, 1}}, {{3, 1, 1}, {2, 3, 5, 7}}, {{2, 3, 5, 7}, {7}},
      {{7}, {2, 3, 5, 7}},          {{2, 3, 5, 7}, {1, 3, 5, 1}}, {{2, 33, 1, 17}, {33, 1, 1}},
      {{4, 64, 32, 33}, {64, 1, 1}}, {{4, 64, 32, 33}, {33}},  {{300, 129}, {300, 1}},    {{1, 64, 1, 1}, {2, 64, 1, 1}}};
  for (Isa isa : tiers())
    for (const char* op : {"Add", "Sub", "Mul", "Div", "Max"})
      for (const auto& [sa, sb] : cases) {
        Outcome o = run_both(isa, op, 14, {random_f32(sa, -9, 9, 3), random_f32(sb, -9, 9, 4)});
        expect_fast(o, isa, label(isa, op, sa, sb));
        expect_close(o, 0, label(isa, op, sa, sb));
      }
}

TEST(KernelsElementwise, UnsupportedBroadcastStaysOnReference) {
  Outcome o = run_both(best_isa(), "Add", 14, {random_f32({2, 1, 5}, -1, 1, 5), random_f32({1, 3, 1}, -1, 1, 6)});
  EXPECT_EQ(o.kernel, "reference");
  o = run_both(best_isa(), "Add", 6, {random_f32({2, 3}, -1, 1, 5), random_f32({2, 3}, -1, 1, 6)});
  EXPECT_EQ(o.kernel, "reference");  // legacy `broadcast` attribute semantics
}

struct UnaryCase {
  const char* op;
  int64_t opset;
  std::vector<Attribute> attrs;
  int64_t max_ulp;
  float lo, hi;
};

TEST(KernelsElementwise, UnaryOpsMatchReference) {
  const std::vector<UnaryCase> cases = {
      {"Relu", 14, {}, 0, -10, 10},
      {"LeakyRelu", 16, {float_attr("alpha", 0.1f)}, 0, -10, 10},
      {"HardSigmoid", 6, {float_attr("alpha", 0.1666667f), float_attr("beta", 0.5f)}, 0, -10, 10},
      {"HardSigmoid", 6, {}, 0, -10, 10},
      {"HardSwish", 14, {}, 0, -10, 10},
      {"Clip", 6, {float_attr("min", -1.5f), float_attr("max", 2.5f)}, 0, -10, 10},
      {"Sqrt", 13, {}, 0, 0, 1000},
      {"Sigmoid", 13, {}, 4, -30, 30},
      {"Sigmoid", 13, {}, 4, -120, 120},
      {"Tanh", 13, {}, 4, -3, 3},
      {"Tanh", 13, {}, 4, -20, 20},
      {"Exp", 13, {}, 4, -110, 90},
      {"Exp", 13, {}, 4, -2, 2},
  };
  for (Isa isa : tiers())
    for (const UnaryCase& c : cases)
      for (int64_t n : kSizes) {
        Outcome o = run_both(isa, c.op, c.opset, {random_f32({n}, c.lo, c.hi, 7 + static_cast<uint32_t>(n))}, c.attrs);
        expect_fast(o, isa, label(isa, c.op, {n}));
        expect_close(o, c.max_ulp, label(isa, c.op, {n}));
      }
}

TEST(KernelsElementwise, ClipInputsAndPowSquare) {
  for (Isa isa : tiers())
    for (int64_t n : kSizes) {
      Tensor x = random_f32({n}, -10, 10, 11);
      Outcome o = run_both(isa, "Clip", 13, {x, scalar_f32(0.0f), scalar_f32(6.0f)});
      expect_fast(o, isa, label(isa, "Clip", {n}));
      expect_close(o, 0, label(isa, "Clip[0,6]", {n}));
      o = run_both(isa, "Clip", 13, {x, scalar_f32(3.0f, {1}), scalar_f32(-1.0f, {1})});  // lo > hi: all hi
      expect_close(o, 0, label(isa, "Clip[3,-1]", {n}));
      o = run_both(isa, "Pow", 15, {x, scalar_f32(2.0f)}, {}, {false, true});
      expect_fast(o, isa, label(isa, "Pow", {n}));
      expect_close(o, 0, label(isa, "Pow2", {n}));
    }
  // A non-constant or other exponent stays on the reference.
  Tensor x = random_f32({9}, -10, 10, 12);
  EXPECT_EQ(run_both(best_isa(), "Pow", 15, {x, scalar_f32(2.0f)}).kernel, "reference");
  EXPECT_EQ(run_both(best_isa(), "Pow", 15, {x, scalar_f32(3.0f)}, {}, {false, true}).kernel, "reference");
}

TEST(KernelsElementwise, SoftmaxLastAxis) {
  const std::vector<Shape> shapes = {{1}, {7}, {3, 8}, {5, 9}, {2, 3, 17}, {4, 129}, {40, 6625}, {2, 100003}};
  for (Isa isa : tiers())
    for (const Shape& s : shapes)
      for (int64_t opset : {11, 13}) {
        std::vector<Attribute> attrs = {int_attr("axis", opset < 13 ? static_cast<int64_t>(s.size()) - 1 : -1)};
        Outcome o = run_both(isa, "Softmax", opset, {random_f32(s, -20, 20, 13, false)}, attrs);
        expect_fast(o, isa, label(isa, "Softmax", s));
        expect_close(o, 8, label(isa, "Softmax", s));
        // Large magnitudes: the row maximum keeps every exponential in range.
        o = run_both(isa, "Softmax", opset, {random_f32(s, -1e4f, 1e4f, 14, false)}, attrs);
        expect_close(o, 8, label(isa, "Softmax large", s));
      }
  // Special values: a NaN poisons its row, as in the reference.
  for (Isa isa : tiers()) {
    Tensor x = random_f32({3, 21}, -5, 5, 15, false);
    x.data<float>()[4] = kNan;
    x.data<float>()[21 + 3] = -kInf;
    Outcome o = run_both(isa, "Softmax", 13, {x});
    expect_close(o, 8, label(isa, "Softmax specials", x.shape()));
  }
  // Not the last axis: reference.
  EXPECT_EQ(run_both(best_isa(), "Softmax", 13, {random_f32({3, 4}, -1, 1, 16)}, {int_attr("axis", 0)}).kernel,
            "reference");
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

// On the PaddleOCR models, every element-wise node between the convolutions gets a fast kernel.
TEST(KernelsElementwise, ChosenOnPaddleOcrModels) {
  const std::vector<std::string> ours = {"Add", "Sub", "Mul", "Div", "Max", "Relu", "LeakyRelu", "Clip", "HardSigmoid",
                                         "HardSwish", "Sigmoid", "Tanh", "Exp", "Sqrt", "Pow", "Softmax"};
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
