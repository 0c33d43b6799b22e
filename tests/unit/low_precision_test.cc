// How Hone runs float16 / bfloat16 models (passes/lower_low_precision.h, ops/hone/low_precision.h,
// kernels/cpu/low_precision_kernels.cc): hone.Round's fast kernels bit for bit against the reference on every tier
// (specials, ties, overflow, both layouts, 1 and 2 threads); hone.RoundedConv / RoundedMatMul / RoundedGemm on
// oneDNN's bfloat16 primitives (implementation avx512_core_bf16, not ref) and on float32 kernels with the rounding
// after, against their reference within one rounding of the type; the lowering's structure; and whole models: the
// lowered fast run agrees with the model's own types run on the reference kernels, and differs from float32 as
// the type's precision says it must (Hone computes the low-precision model, not a float32 one).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>

#include "compress/quantize/float_convert.h"
#include "data/npy.h"
#include "hone/hone.h"
#include "ir/onnx/onnx_io.h"
#include "kernel_run_util.h"
#include "kernels/cpu/dnnl_conv.h"
#include "kernels/cpu/dnnl_matmul.h"
#include "kernels/cpu/low_precision_kernels.h"
#include "ops/hone/low_precision.h"
#include "passes/lower_low_precision.h"
#include "passes/runtime_lowering.h"
#include "test_paths.h"

namespace hone {
namespace {

using test::Arg;
using test::isa_tiers;
using test::RunOptions;

const char* type_name(DType t) { return rounding_type_name(t); }

// Uniform values in [lo, hi), rounded to `t` (what the lowering guarantees a Rounded* op's inputs are).
Tensor values_of(DType t, Shape s, float lo, float hi, uint32_t seed) {
  Tensor x(DType::Float32, std::move(s));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  for (float& v : x.span<float>()) v = d(rng);
  round_to_type_reference(x.data<float>(), x.data<float>(), x.numel(), t);
  return x;
}

// Bits equal, or both NaN.
void expect_same_bits(const Tensor& fast, const Tensor& ref, const std::string& what) {
  ASSERT_EQ(fast.shape(), ref.shape()) << what;
  int bad = 0;
  for (int64_t i = 0; i < ref.numel() && bad < 5; ++i) {
    float f = fast.data<float>()[i], r = ref.data<float>()[i];
    if ((std::isnan(f) && std::isnan(r)) || std::bit_cast<uint32_t>(f) == std::bit_cast<uint32_t>(r)) continue;
    ++bad;
    ADD_FAILURE() << what << " [" << i << "]: fast " << f << " reference " << r;
  }
}

// Within one rounding of the type of the reference's value, or `atol` (sums that cancel: their float32 rounding
// error is relative to the terms, not the result).
void expect_within_rounding(const Tensor& fast, const Tensor& ref, DType t, double atol, const std::string& what) {
  ASSERT_EQ(fast.shape(), ref.shape()) << what;
  double eps = t == DType::Float16 ? 0x1p-10 : 0x1p-7;  // one unit in the last place, relative
  int bad = 0;
  for (int64_t i = 0; i < ref.numel() && bad < 5; ++i) {
    double f = fast.data<float>()[i], r = ref.data<float>()[i];
    if (std::fabs(f - r) <= eps * std::fabs(r) + atol) continue;
    ++bad;
    ADD_FAILURE() << what << " [" << i << "]: fast " << f << " reference " << r;
  }
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (int64_t i = 0; i < t.numel(); ++i) m = std::max(m, std::fabs(t.get_double(i)));
  return m;
}

// ---- hone.Round ----------------------------------------------------------------------------------------------------

Tensor rounding_inputs(int64_t n, uint32_t seed) {
  Tensor x(DType::Float32, {n});
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-3, 3);
  std::uniform_int_distribution<int> e(-30, 20);
  for (int64_t i = 0; i < n; ++i) x.data<float>()[i] = std::ldexp(d(rng), e(rng));
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> specials = {0.f, -0.f, inf, -inf, std::numeric_limits<float>::quiet_NaN(),
                                 std::bit_cast<float>(0x7f800001u),  // signalling NaN
                                 std::bit_cast<float>(0xffc12345u),  // NaN with payload
                                 65504.f, 65519.f, 65520.f, -70000.f, 3e38f, 3.4e38f, -3.39e38f,
                                 6e-8f, 3e-8f, 2.9e-8f, 1e-40f, -1e-45f, 6.1035e-5f,
                                 1.f + 0x1p-11f,                 // float16 tie: to even (1)
                                 1.f + 3 * 0x1p-11f,             // float16 tie: to even (up)
                                 1.f + 0x1p-8f, 1.f + 3 * 0x1p-8f,  // bfloat16 ties
                                 std::bit_cast<float>(0x3f808000u), std::bit_cast<float>(0x3f818000u)};
  for (size_t k = 0; k < specials.size() && static_cast<int64_t>(k * 5) < n; ++k) x.data<float>()[k * 5] = specials[k];
  return x;
}

TEST(LowPrecisionRound, MatchesReferenceBitForBit) {
  for (DType t : {DType::Float16, DType::BFloat16})
    for (Isa isa : isa_tiers())
      for (int64_t n : {1, 7, 8, 15, 16, 17, 33, 1000, 70001})
        for (int threads : {1, 2}) {
          Tensor x = rounding_inputs(n, static_cast<uint32_t>(n));
          std::string what = std::string(type_name(t)) + " " + isa_name(isa) + " n=" + std::to_string(n) +
                             " threads=" + std::to_string(threads);
          test::KernelRun r = test::run_kernel_and_reference(
              "Round", 1, {Arg(x)}, {Attribute::of_string("to", type_name(t))},
              {.isa = isa, .threads = threads, .domain = "hone"});
          EXPECT_NE(r.kernel, "reference") << what;
          EXPECT_NE(r.kernel.find(isa_name(isa)), std::string::npos) << what << ": " << r.kernel;
          expect_same_bits(r.fast[0], r.reference[0], what);
        }
}

TEST(LowPrecisionRound, ReferenceRoundsAsTheTypesDo) {
  Tensor x = rounding_inputs(200, 3);
  std::vector<float> y(200);
  round_to_type_reference(x.data<float>(), y.data(), 200, DType::Float16);
  for (int i = 0; i < 200; ++i) {
    float v = x.data<float>()[i];
    float want = static_cast<float>(Float16(v));
    EXPECT_TRUE((std::isnan(v) && std::isnan(y[i])) || y[i] == want) << v;
  }
  EXPECT_EQ(y[5 * 8], 65504.f);                                  // 65519 rounds down
  EXPECT_EQ(y[5 * 9], std::numeric_limits<float>::infinity());   // 65520 overflows
  EXPECT_EQ(y[5 * 20], 1.f);                                     // tie to even
  EXPECT_EQ(y[5 * 21], 1.f + 4 * 0x1p-11f);
  round_to_type_reference(x.data<float>(), y.data(), 200, DType::BFloat16);
  EXPECT_EQ(y[5 * 22], 1.f);
  EXPECT_EQ(y[5 * 23], 1.f + 4 * 0x1p-8f);
  EXPECT_TRUE(std::isnan(y[5 * 5]));  // a signalling NaN stays NaN
}

TEST(LowPrecisionRound, EitherLayout) {
  Tensor x = values_of(DType::Float32, {2, 5, 3, 7}, -100, 100, 4);
  test::KernelRun r = test::run_kernel_and_reference(
      "Round", 1, {Arg(x)}, {Attribute::of_string("to", "bfloat16")},
      {.isa = test::isa_tiers().back(), .threads = 2, .channels_last = true, .domain = "hone"});
  ASSERT_FALSE(r.fast.empty());
  expect_same_bits(r.fast[0], r.reference[0], "channels-last");
}

// ---- hone.RoundedConv / RoundedMatMul / RoundedGemm ----------------------------------------------------------------

struct ConvCase {
  int64_t n, cin, cout, h, w, k, stride, group;
  std::vector<std::string> post_ops;
  std::vector<float> params;
};

std::vector<Attribute> conv_attrs(const ConvCase& c, DType t) {
  std::vector<Attribute> a = {Attribute::of_string("to", type_name(t)), Attribute::of_int("group", c.group),
                              Attribute::of_ints("strides", {c.stride, c.stride}),
                              Attribute::of_ints("pads", {c.k / 2, c.k / 2, c.k / 2, c.k / 2})};
  if (!c.post_ops.empty()) {
    a.push_back(Attribute::of_strings("post_ops", c.post_ops));
    a.push_back(Attribute::of_floats("post_op_params", c.params));
  }
  return a;
}

Shape conv_out(const ConvCase& c) {
  return {c.n, c.cout, (c.h + 2 * (c.k / 2) - c.k) / c.stride + 1, (c.w + 2 * (c.k / 2) - c.k) / c.stride + 1};
}

TEST(LowPrecisionRoundedConv, MatchesReference) {
  std::vector<ConvCase> cases = {
      {1, 3, 16, 9, 11, 3, 1, 1, {}, {}},
      {2, 16, 17, 8, 8, 3, 2, 1, {"Relu"}, {}},
      {1, 32, 32, 7, 7, 3, 1, 32, {"Clip"}, {0.f, 6.f}},     // depthwise
      {1, 17, 64, 5, 6, 1, 1, 1, {"HardSwish"}, {}},
      {1, 1, 8, 12, 12, 5, 1, 1, {"Add", "Relu"}, {}},       // residual
      {1, 48, 24, 14, 14, 1, 1, 2, {"Sigmoid"}, {}},          // grouped
  };
  // bfloat16 both ways: oneDNN's bfloat16 kernel (choice 1) and float32 + rounding (2); float16 is always the latter.
  for (auto [t, choice] : {std::pair{DType::BFloat16, 1}, {DType::BFloat16, 2}, {DType::Float16, 0}})
    for (const ConvCase& c : cases)
      for (bool cl : {false, true})
        for (int threads : {1, 2}) {
          dnnl_cpu::force_bf16_choice(choice);
          uint32_t seed = static_cast<uint32_t>(c.cin * 131 + c.cout);
          std::vector<Arg> args = {Arg(values_of(t, {c.n, c.cin, c.h, c.w}, -2, 2, seed)),
                                   Arg::constant(values_of(t, {c.cout, c.cin / c.group, c.k, c.k}, -0.5, 0.5, seed + 1)),
                                   Arg::constant(values_of(DType::Float32, {c.cout}, -1, 1, seed + 2))};
          bool residual = std::find(c.post_ops.begin(), c.post_ops.end(), "Add") != c.post_ops.end();
          if (residual) args.push_back(Arg(values_of(t, conv_out(c), -1, 1, seed + 3)));
          std::string what = std::string(type_name(t)) + (choice == 2 ? " (float32 + rounding)" : "") + " conv " + std::to_string(c.cin) + "->" +
                             std::to_string(c.cout) + " k" + std::to_string(c.k) + (cl ? " nhwc" : " nchw") +
                             " threads=" + std::to_string(threads);
          test::KernelRun r = test::run_kernel_and_reference(
              "RoundedConv", 1, args, conv_attrs(c, t),
              {.isa = test::isa_tiers().back(), .threads = threads, .channels_last = cl, .domain = "hone"});
          dnnl_cpu::force_bf16_choice(0);
          ASSERT_FALSE(r.fast.empty()) << what;
          if (choice == 1 && cpu_features().avx512_bf16)
            EXPECT_EQ(r.kernel.rfind("dnnl-conv-bf16", 0), 0u) << what << ": " << r.kernel;
          else
            EXPECT_NE(r.kernel.find("+round-"), std::string::npos) << what << ": " << r.kernel;
          // Every output is a value of the type, and within one rounding of the reference's.
          Tensor again = r.fast[0].clone();
          round_to_type_reference(again.data<float>(), again.data<float>(), again.numel(), t);
          expect_same_bits(again, r.fast[0], what + ": output not rounded to the type");
          expect_within_rounding(r.fast[0], r.reference[0], t, 1e-5 * max_abs(r.reference[0]), what);
        }
}

TEST(LowPrecisionRoundedConv, Bfloat16OrFloat32AsMeasured) {
  if (!cpu_features().avx512_bf16) GTEST_SKIP() << "this CPU has no AVX512-BF16";
  ConvCase c{1, 32, 48, 10, 10, 3, 1, 1, {"Relu"}, {}};  // a Winograd candidate in float32
  DType t = DType::BFloat16;
  std::vector<Arg> args = {Arg(values_of(t, {1, 32, 10, 10}, -2, 2, 30)),
                           Arg::constant(values_of(t, {48, 32, 3, 3}, -0.5, 0.5, 31)),
                           Arg::constant(values_of(DType::Float32, {48}, -1, 1, 32))};
  for (int choice : {1, 2, 0}) {
    dnnl_cpu::force_bf16_choice(choice);
    test::KernelRun r = test::run_kernel_and_reference("RoundedConv", 1, args, conv_attrs(c, t),
                                                       {.isa = test::isa_tiers().back(), .threads = 2,
                                                        .channels_last = true, .domain = "hone"});
    dnnl_cpu::force_bf16_choice(0);
    ASSERT_FALSE(r.fast.empty());
    if (choice == 1) EXPECT_EQ(r.kernel, "dnnl-conv-bf16+relu");
    if (choice == 2) EXPECT_EQ(r.kernel, "dnnl-conv-wino-f32+relu+round-bf16");
    expect_within_rounding(r.fast[0], r.reference[0], t, 1e-5 * max_abs(r.reference[0]), r.kernel);
  }
}

TEST(LowPrecisionRoundedConv, OneDnnRunsBfloat16NotItsReference) {
  if (!cpu_features().avx512_bf16) GTEST_SKIP() << "this CPU has no AVX512-BF16";
  Node n;
  n.domain = "hone";
  n.op_type = "FusedConv";
  n.name = "conv";
  n.inputs = {"x", "w"};
  n.outputs = {"y"};
  n.attributes = {Attribute::of_ints("pads", {1, 1, 1, 1})};
  TypeInfo xt = TypeInfo::tensor(DType::Float32, to_sym_shape({1, 64, 28, 28}));
  Tensor w = values_of(DType::BFloat16, {64, 64, 3, 3}, -1, 1, 5);
  TypeInfo wt = TypeInfo::tensor(DType::Float32, to_sym_shape(w.shape()));
  for (Layout layout : {Layout::Plain, Layout::ChannelsLast}) {
    KernelQuery q{n, 1, {&xt, &wt}, {nullptr, &w}, {}, 2, layout};
    dnnl_cpu::DnnlConvKernel k(q, {}, dnnl::memory::data_type::bf16);
    EXPECT_NE(k.impl().find("avx512_core_bf16"), std::string::npos) << k.impl();
    EXPECT_EQ(k.name(), "dnnl-conv-bf16");
  }
  Node mm;
  mm.op_type = "MatMul";
  mm.inputs = {"a", "b"};
  mm.outputs = {"y"};
  TypeInfo at = TypeInfo::tensor(DType::Float32, to_sym_shape({40, 120}));
  Tensor b = values_of(DType::BFloat16, {120, 96}, -1, 1, 6);
  TypeInfo bt = TypeInfo::tensor(DType::Float32, to_sym_shape(b.shape()));
  KernelQuery mq{mm, 13, {&at, &bt}, {nullptr, &b}, {}, 2};
  dnnl_cpu::DnnlMatMulKernel mk(mq, {}, dnnl::memory::data_type::bf16);
  EXPECT_NE(mk.impl().find("avx512_core_bf16"), std::string::npos) << mk.impl();
}

TEST(LowPrecisionRoundedMatMul, MatchesReference) {
  struct Case {
    Shape a, b;
  };
  std::vector<Case> cases = {{{1, 64}, {64, 10}},
                             {{7, 33}, {33, 17}},
                             {{2, 40, 120}, {120, 96}},
                             {{3, 1, 16}, {16, 5}},
                             {{2, 8, 40, 32}, {2, 8, 32, 40}}};  // attention scores: both operands computed
  for (auto [t, choice] : {std::pair{DType::BFloat16, 1}, {DType::BFloat16, 2}, {DType::Float16, 0}})
    for (const Case& c : cases)
      for (bool constant_b : {true, false}) {
        int threads = constant_b ? 1 : 2;
        dnnl_cpu::force_bf16_choice(choice);
        std::string what = std::string(type_name(t)) + " matmul " + shape_str(c.a) + " x " + shape_str(c.b) +
                           (constant_b ? " constant B" : " computed B");
        Tensor b = values_of(t, c.b, -1, 1, 8);
        test::KernelRun r = test::run_kernel_and_reference(
            "RoundedMatMul", 1, {Arg(values_of(t, c.a, -2, 2, 7)), constant_b ? Arg::constant(b) : Arg(b)},
            {Attribute::of_string("to", type_name(t))},
            {.isa = test::isa_tiers().back(), .threads = threads, .domain = "hone"});
        dnnl_cpu::force_bf16_choice(0);
        ASSERT_FALSE(r.fast.empty()) << what;
        EXPECT_NE(r.kernel, "reference") << what;
        if (choice == 1 && cpu_features().avx512_bf16) EXPECT_EQ(r.kernel, "dnnl-matmul-bf16") << what;
        if (choice != 1) EXPECT_NE(r.kernel.find("+round-"), std::string::npos) << what << ": " << r.kernel;
        expect_within_rounding(r.fast[0], r.reference[0], t, 1e-5 * max_abs(r.reference[0]), what);
      }
}

TEST(LowPrecisionRoundedGemm, MatchesReference) {
  for (auto [t, choice] : {std::pair{DType::BFloat16, 1}, {DType::BFloat16, 2}, {DType::Float16, 0}})
    for (bool trans_b : {false, true})
      for (int64_t m : {1, 5}) {
        dnnl_cpu::force_bf16_choice(choice);
        Shape bs = trans_b ? Shape{24, 50} : Shape{50, 24};
        std::string what = std::string(type_name(t)) + " gemm m=" + std::to_string(m) + (trans_b ? " transB" : "");
        test::KernelRun r = test::run_kernel_and_reference(
            "RoundedGemm", 1,
            {Arg(values_of(t, {m, 50}, -2, 2, 9)), Arg::constant(values_of(t, bs, -1, 1, 10)),
             Arg::constant(values_of(DType::Float32, {24}, -1, 1, 11))},
            {Attribute::of_string("to", type_name(t)), Attribute::of_int("transB", trans_b ? 1 : 0),
             Attribute::of_float("alpha", 0.5f)},
            {.isa = test::isa_tiers().back(), .threads = 2, .domain = "hone"});
        dnnl_cpu::force_bf16_choice(0);
        ASSERT_FALSE(r.fast.empty()) << what;
        EXPECT_NE(r.kernel, "reference") << what;
        if (choice == 1 && cpu_features().avx512_bf16) EXPECT_EQ(r.kernel, "dnnl-gemm-bf16") << what;
        expect_within_rounding(r.fast[0], r.reference[0], t, 1e-5 * max_abs(r.reference[0]), what);
      }
}

// ---- the lowering and whole models ---------------------------------------------------------------------------------

Tensor images(int64_t n) {
  Tensor all = read_npy_file(test::fixture("fashion_mnist_test_1000_images.npy"));
  Tensor x(DType::Float32, {n, 1, 28, 28});
  std::copy(all.data<float>(), all.data<float>() + x.numel(), x.data<float>());
  return x;
}

Tensor run1(const Model& m, const Tensor& x, bool reference = false) {
  Session s(m, {.threads = 2, .reference_kernels = reference});
  return s.run_values({Value::of(x)})[0].tensor;
}

int count_op(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.op_type == op;
  return n;
}

TEST(LowPrecisionLowering, StructureOfTheFashionMnistCnn) {
  Model fp32 = load_onnx_file(test::fixture("fashion_mnist_cnn.onnx"));
  for (DType t : {DType::Float16, DType::BFloat16}) {
    Model m = fp32;
    convert_float_precision(m, {.target = t}, nullptr);
    LoweringStats st;
    auto opset = [&](const std::string& d) { return d == "hone" ? kHoneOpset : m.opset(d); };
    std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset, &st);
    EXPECT_GT(st.low_precision, 0);
    EXPECT_EQ(st.folded_batchnorms, 2) << "BatchNormalization folds into the convolutions as in float32";
    EXPECT_EQ(st.rounded_kernels, 5);  // 2 convolutions (with their Relu), 3 Gemm
    EXPECT_EQ(count_op(*g, "RoundedConv"), 2);
    EXPECT_EQ(count_op(*g, "RoundedGemm"), 3);
    EXPECT_EQ(count_op(*g, "Round"), 1);  // the input; Relu, MaxPool and Flatten keep values of the type
    for (const Node& n : *&g->nodes)
      if (n.op_type.rfind("Rounded", 0) == 0) {
        EXPECT_EQ(n.attr_string("to", ""), type_name(t));
        const Tensor& w = g->initializers.at(n.inputs[1]);
        Tensor r = w.clone();
        round_to_type_reference(r.data<float>(), r.data<float>(), r.numel(), t);
        EXPECT_EQ(std::memcmp(r.raw(), w.raw(), w.nbytes()), 0) << n.name << ": weights not values of the type";
      }
    for (const auto& [name, init] : g->initializers) EXPECT_EQ(init.dtype(), DType::Float32) << name;
  }
  // A float32 model is not touched (and pays no type inference for the check).
  LoweringStats st;
  auto opset = [&](const std::string& d) { return d == "hone" ? kHoneOpset : fp32.opset(d); };
  lower_for_runtime(fp32.graph, opset, &st);
  EXPECT_EQ(st.low_precision, 0);
  EXPECT_EQ(st.rounded_kernels, 0);
}

TEST(LowPrecisionLowering, FastRunComputesTheLowPrecisionModel) {
  Model fp32 = load_onnx_file(test::fixture("fashion_mnist_cnn.onnx"));
  Tensor x = images(64);
  Tensor ref32 = run1(fp32, x);
  for (DType t : {DType::Float16, DType::BFloat16}) {
    Model m = fp32;
    convert_float_precision(m, {.target = t}, nullptr);
    Tensor fast = run1(m, x), own = run1(m, x, /*reference=*/true);
    double scale = max_abs(ref32);
    double vs_own = 0, vs_fp32 = 0;
    for (int64_t i = 0; i < fast.numel(); ++i) {
      vs_own = std::max(vs_own, std::fabs(fast.get_double(i) - own.get_double(i)));
      vs_fp32 = std::max(vs_fp32, std::fabs(fast.get_double(i) - ref32.get_double(i)));
    }
    double unit = t == DType::Float16 ? 0x1p-11 : 0x1p-8;
    // The model's own types on the reference kernels (every op rounded) and the fast run (fused chains rounded
    // once) differ by a few roundings; both differ from float32 by about as much as the type is coarse.
    EXPECT_LE(vs_own, 20 * unit * scale) << type_name(t);
    EXPECT_GT(vs_fp32, 0.5 * unit * scale) << type_name(t) << ": the fast run looks like float32";
    EXPECT_LE(vs_fp32, 1e-2 * scale) << type_name(t);
  }
}

// conv -> x * Clip(x + 3, 0, 6) / 6 -> conv -> (+ the first conv's hardswish) -> Relu; then a 3-D MatMul + bias.
Model hardswish_model() {
  Model m;
  m.ir_version = 8;
  m.opset_import = {{"", 13}};
  Graph& g = m.graph;
  g.inputs.push_back({"x", TypeInfo::tensor(DType::Float32, to_sym_shape({1, 4, 6, 6})), ""});
  g.initializers["w1"] = values_of(DType::Float32, {8, 4, 3, 3}, -0.5, 0.5, 20);
  g.initializers["w2"] = values_of(DType::Float32, {8, 8, 1, 1}, -0.5, 0.5, 21);
  g.initializers["w3"] = values_of(DType::Float32, {6, 5}, -0.5, 0.5, 22);
  g.initializers["b3"] = values_of(DType::Float32, {5}, -0.5, 0.5, 23);
  for (auto [name, v] : {std::pair{"three", 3.f}, {"zero", 0.f}, {"six", 6.f}}) g.initializers[name] = scalar_tensor(DType::Float32, v);
  Tensor shape(DType::Int64, {3});
  int64_t sv[] = {1, 48, 6};
  std::copy(sv, sv + 3, shape.data<int64_t>());
  g.initializers["shape"] = shape;
  g.nodes = {{"conv1", "Conv", "", {"x", "w1"}, {"c1"}, {Attribute::of_ints("pads", {1, 1, 1, 1})}, ""},
             {"add3", "Add", "", {"c1", "three"}, {"a"}, {}, ""},
             {"clip", "Clip", "", {"a", "zero", "six"}, {"cl"}, {}, ""},
             {"mul", "Mul", "", {"c1", "cl"}, {"m"}, {}, ""},
             {"div", "Div", "", {"m", "six"}, {"hs"}, {}, ""},
             {"conv2", "Conv", "", {"hs", "w2"}, {"c2"}, {}, ""},
             {"res", "Add", "", {"c2", "hs"}, {"r"}, {}, ""},
             {"relu", "Relu", "", {"r"}, {"y"}, {}, ""},
             {"flat", "Reshape", "", {"y", "shape"}, {"f"}, {}, ""},
             {"mm", "MatMul", "", {"f", "w3"}, {"mmo"}, {}, ""},
             {"bias", "Add", "", {"mmo", "b3"}, {"out"}, {}, ""}};
  g.outputs = {{"out", TypeInfo::tensor(DType::Float32), ""}};
  return m;
}

TEST(LowPrecisionLowering, FusedChainsRoundOnce) {
  Model fp32 = hardswish_model();
  Tensor x = values_of(DType::Float32, {1, 4, 6, 6}, -2, 2, 24);
  Tensor ref32 = run1(fp32, x);
  for (DType t : {DType::Float16, DType::BFloat16}) {
    Model m = fp32;
    convert_float_precision(m, {.target = t}, nullptr);
    LoweringStats st;
    auto opset = [&](const std::string& d) { return d == "hone" ? kHoneOpset : m.opset(d); };
    std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset, &st);
    // Both convolutions fuse as in float32 (the first with the HardSwish, the second with the residual Add and
    // Relu) and round once; the 3-D MatMul rounds, then its bias Add.
    ASSERT_EQ(count_op(*g, "RoundedConv"), 2) << type_name(t);
    EXPECT_EQ(count_op(*g, "RoundedMatMul"), 1);
    EXPECT_EQ(count_op(*g, "Round"), 2);  // the input, the bias Add
    for (const Node& n : g->nodes)
      if (n.op_type == "RoundedConv" && n.name == "conv1") EXPECT_EQ(n.attr_strings("post_ops"), std::vector<std::string>{"HardSwish"});
    Tensor fast = run1(m, x), own = run1(m, x, true);
    double unit = t == DType::Float16 ? 0x1p-11 : 0x1p-8, scale = max_abs(ref32);
    for (int64_t i = 0; i < fast.numel(); ++i) {
      EXPECT_NEAR(fast.get_double(i), own.get_double(i), 8 * unit * scale) << type_name(t) << " " << i;
      EXPECT_NEAR(fast.get_double(i), ref32.get_double(i), 16 * unit * scale) << type_name(t) << " " << i;
    }
  }
}

TEST(LowPrecisionLowering, LowPrecisionGraphInputsAndOutputs) {
  Model m = load_onnx_file(test::fixture("fashion_mnist_mlp.onnx"));
  FloatConvertOptions o{.target = DType::Float16};
  o.keep_io_types = false;
  convert_float_precision(m, o, nullptr);
  ASSERT_EQ(m.graph.inputs[0].type.elem, DType::Float16);
  Tensor x32 = images(4).reshaped({4, 784});
  Tensor x(DType::Float16, {4, 784});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<Float16>()[i] = Float16(x32.data<float>()[i]);
  Session fast(m, {.threads = 1}), ref(m, {.threads = 1, .reference_kernels = true});
  Tensor a = fast.run_values({Value::of(x)})[0].tensor, b = ref.run_values({Value::of(x)})[0].tensor;
  ASSERT_EQ(a.dtype(), DType::Float16);
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT_NEAR(a.get_double(i), b.get_double(i), 2e-3 * max_abs(b)) << i;
}

TEST(LowPrecisionLowering, CastsAndConstants) {
  // int64 -> Cast(float16) -> Add(float16 constant) -> Cast(int32), and a ConstantOfShape of float16.
  Model m;
  m.ir_version = 8;
  m.opset_import = {{"", 13}};
  m.graph.inputs.push_back({"i", TypeInfo::tensor(DType::Int64, to_sym_shape({5})), ""});
  Tensor half_c(DType::Float16, {5});
  for (int k = 0; k < 5; ++k) half_c.data<Float16>()[k] = Float16(0.3f * static_cast<float>(k));
  m.graph.initializers["c"] = half_c;
  Tensor shape(DType::Int64, {1});
  shape.data<int64_t>()[0] = 5;
  m.graph.initializers["s"] = shape;
  Tensor one(DType::Float16, {1});
  one.data<Float16>()[0] = Float16(1.5f);
  m.graph.nodes = {
      {"to_half", "Cast", "", {"i"}, {"h"}, {Attribute::of_int("to", 10)}, ""},
      {"fill", "ConstantOfShape", "", {"s"}, {"f"}, {Attribute::of_tensor("value", one)}, ""},
      {"add", "Add", "", {"h", "c"}, {"a"}, {}, ""},
      {"add2", "Add", "", {"a", "f"}, {"b"}, {}, ""},
      {"to_int", "Cast", "", {"b"}, {"y"}, {Attribute::of_int("to", 6)}, ""},
      {"to_float", "Cast", "", {"b"}, {"z"}, {Attribute::of_int("to", 1)}, ""},
  };
  m.graph.outputs = {{"y", TypeInfo::tensor(DType::Int32), ""}, {"z", TypeInfo::tensor(DType::Float32), ""},
                     {"b", TypeInfo::tensor(DType::Float16), ""}};
  Tensor in(DType::Int64, {5});
  int64_t vals[] = {2049, -3, 7, 100000, 0};  // 2049 and 100000 are not float16 values: 2048 and inf
  std::copy(vals, vals + 5, in.data<int64_t>());
  Session fast(m, {.threads = 1}), ref(m, {.threads = 1, .reference_kernels = true});
  std::vector<Value> a = fast.run_values({Value::of(in)}), b = ref.run_values({Value::of(in)});
  for (size_t k = 0; k < a.size(); ++k) {
    ASSERT_EQ(a[k].tensor.dtype(), b[k].tensor.dtype()) << k;
    for (int64_t i = 0; i < 5; ++i)
      if (i != 3 || k != 0) EXPECT_EQ(a[k].tensor.get_double(i), b[k].tensor.get_double(i)) << k << " " << i;
  }
  EXPECT_EQ(a[1].tensor.data<float>()[0], 2050.f);  // 2049 -> 2048, + 1.5 -> 2049.5 -> 2050 (float16 steps of 2)
  EXPECT_TRUE(std::isinf(a[1].tensor.data<float>()[3]));
  LoweringStats st;
  auto opset = [&](const std::string& d) { return d == "hone" ? kHoneOpset : m.opset(d); };
  std::shared_ptr<Graph> g = lower_for_runtime(m.graph, opset, &st);
  EXPECT_GT(st.low_precision, 0);
  EXPECT_GE(count_op(*g, "Round"), 2);  // the cast to float16, the adds
}

TEST(LowPrecisionLowering, LeavesWhatItCannotLowerToTheReferenceKernels) {
  // EyeLike with dtype float16: the output type comes from an attribute.
  Model m;
  m.ir_version = 8;
  m.opset_import = {{"", 13}};
  m.graph.inputs.push_back({"x", TypeInfo::tensor(DType::Float32, to_sym_shape({3, 3})), ""});
  m.graph.nodes = {{"eye", "EyeLike", "", {"x"}, {"e"}, {Attribute::of_int("dtype", 10)}, ""},
                   {"cast", "Cast", "", {"e"}, {"y"}, {Attribute::of_int("to", 1)}, ""}};
  m.graph.outputs = {{"y", TypeInfo::tensor(DType::Float32), ""}};
  PassContext ctx;
  ctx.opset = [](const std::string&) { return int64_t{13}; };
  Graph g = m.graph;
  std::string why;
  EXPECT_EQ(lower_low_precision(g, ctx, &why), 0);
  EXPECT_NE(why.find("EyeLike"), std::string::npos) << why;
  EXPECT_EQ(g.nodes.size(), 2u);
  Session s(m, {.threads = 1});
  Tensor y = s.run_values({Value::of(Tensor(DType::Float32, {3, 3}))})[0].tensor;
  EXPECT_EQ(y.data<float>()[4], 1.f);
}

}  // namespace
}  // namespace hone
