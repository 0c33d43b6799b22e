// The oneDNN-backed kernels against the reference kernels they replace: one node at a time, over shapes around
// SIMD and tile widths (channels and sizes 1, 3, 8, 15, 16, 17, 64, 127), with a fixed seed. Inputs are multiples of
// 1/8, so products and sums are exact in float and any indexing or layout mistake shows as a real difference; a
// float-valued case checks the tolerance rule (rtol 1e-4, atol 1e-5) itself. Real models must pick these kernels.
#include <gtest/gtest.h>

#include <random>

#include "hone/hone.h"
#include "kernels/cpu/dnnl_conv.h"
#include "kernels/cpu/dnnl_conv_transpose.h"
#include "kernels/cpu/dnnl_matmul.h"
#include "runtime/plan.h"
#include "test_paths.h"

namespace hone {
namespace {

using dnnl_cpu::EltwisePostOp;
using dnnl_cpu::PostOps;

Tensor random_tensor(const Shape& shape, std::mt19937& rng, bool eighths = true) {
  Tensor t(DType::Float32, shape);
  std::uniform_int_distribution<int> q(-16, 16);
  std::uniform_real_distribution<float> f(-1.f, 1.f);
  for (float& v : t.span<float>()) v = eighths ? static_cast<float>(q(rng)) / 8.f : f(rng);
  return t;
}

// One node with its inputs; `constant[i]` marks inputs the plan would know as constants (weights).
struct OneNode {
  Node node;
  int64_t opset = 17;
  std::vector<Tensor> inputs;  // undefined tensor: omitted input
  std::vector<bool> constant;
};

Tensor run_with(const OneNode& c, const std::function<void(OpContext&)>& compute, int threads = 1) {
  std::vector<Value> vals;
  for (const Tensor& t : c.inputs) vals.push_back(t.defined() ? Value::of(t) : Value());
  std::vector<const Value*> ptrs;
  for (const Value& v : vals) ptrs.push_back(&v);
  Value out;
  OpContext ctx(c.node, c.opset, ptrs.data(), ptrs.size(), &out, 1, threads, nullptr);
  compute(ctx);
  return out.tensor;
}

Tensor run_reference(const OneNode& c) {
  const OpSchema* s = OpRegistry::instance().find("", c.node.op_type, c.opset);
  EXPECT_NE(s, nullptr);
  return run_with(c, s->compute);
}

// The query make_plan would build for this node.
struct QueryStorage {
  std::vector<TypeInfo> types;
  std::unique_ptr<KernelQuery> q;
};
QueryStorage make_query(const OneNode& c) {
  QueryStorage st;
  st.types.reserve(c.inputs.size());
  for (const Tensor& t : c.inputs) st.types.push_back(TypeInfo::tensor(DType::Float32, to_sym_shape(t.shape())));
  st.q = std::make_unique<KernelQuery>(KernelQuery{c.node, c.opset, {}, {}, {}, 1});
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    bool present = c.inputs[i].defined();
    st.q->input_types.push_back(present ? &st.types[i] : nullptr);
    st.q->input_constants.push_back(present && c.constant[i] ? &c.inputs[i] : nullptr);
  }
  return st;
}

std::unique_ptr<Kernel> choose(const OneNode& c) {
  QueryStorage st = make_query(c);
  return KernelRegistry::instance().choose(*st.q, *OpRegistry::instance().find("", c.node.op_type, c.opset));
}

::testing::AssertionResult close(const Tensor& want, const Tensor& got, double rtol = 1e-4, double atol = 1e-5) {
  if (want.shape() != got.shape())
    return ::testing::AssertionFailure() << "shape " << shape_str(got.shape()) << " vs " << shape_str(want.shape());
  for (int64_t i = 0; i < want.numel(); ++i) {
    double w = want.data<float>()[i], g = got.data<float>()[i];
    if (!(std::fabs(g - w) <= atol + rtol * std::fabs(w)))
      return ::testing::AssertionFailure() << "element " << i << ": " << g << " vs reference " << w;
  }
  return ::testing::AssertionSuccess();
}

// Chooses the kernel as the planner would, checks it is `want_kernel`, and compares it with the reference.
void expect_matches_reference(const OneNode& c, const std::string& want_kernel, const std::string& what) {
  SCOPED_TRACE(what);
  std::unique_ptr<Kernel> k = choose(c);
  // The GEMV kernel outranks oneDNN for up to 4 rows against constant weights (kernels_gemv_test.cc tests it); oneDNN
  // is still tested on those shapes, created directly.
  if (k->name().rfind("gemv-f32-", 0) == 0 && want_kernel.rfind("dnnl-", 0) == 0)
    k = std::make_unique<dnnl_cpu::DnnlMatMulKernel>(*make_query(c).q);
  // Likewise the small-channel direct conv for 1-4 input and 1-16 output channels (kernels_conv_small_test.cc).
  if (k->name().rfind("conv-small-f32", 0) == 0 && want_kernel.rfind("dnnl-", 0) == 0)
    k = std::make_unique<dnnl_cpu::DnnlConvKernel>(*make_query(c).q);
  // And the patch ConvTranspose for kernel == stride without padding (kernels_deconv_patch_test.cc).
  if (k->name().rfind("convtranspose-patch-f32", 0) == 0 && want_kernel.rfind("dnnl-", 0) == 0)
    k = std::make_unique<dnnl_cpu::DnnlConvTransposeKernel>(*make_query(c).q);
  ASSERT_EQ(k->name(), want_kernel);
  Tensor want = run_reference(c);
  for (int threads : {1, 2}) {
    Tensor got = run_with(c, [&](OpContext& ctx) { k->run(ctx); }, threads);
    EXPECT_TRUE(close(want, got)) << "threads " << threads;
  }
}

// ---------------------------------------------------------------------------------------------------- Conv

struct ConvCase {
  int64_t batch = 1, channels = 1, out_channels = 1, group = 1;
  Shape spatial, kernel;
  std::vector<int64_t> strides, dilations, pads;
  std::string auto_pad;
  bool bias = true;
  std::string str() const {
    return fmt::format("N{} C{} OC{} g{} in[{}] k[{}] s[{}] d[{}] p[{}] {} bias{}", batch, channels, out_channels, group,
                       shape_str(spatial), shape_str(kernel), shape_str(strides), shape_str(dilations),
                       shape_str(pads), auto_pad, bias);
  }
};

OneNode conv_node(const ConvCase& cc, std::mt19937& rng, bool eighths = true) {
  OneNode c;
  c.node.op_type = "Conv";
  c.node.name = "conv";
  c.node.inputs = {"x", "w"};
  c.node.outputs = {"y"};
  c.node.attributes.push_back(Attribute::of_int("group", cc.group));
  if (!cc.strides.empty()) c.node.attributes.push_back(Attribute::of_ints("strides", cc.strides));
  if (!cc.dilations.empty()) c.node.attributes.push_back(Attribute::of_ints("dilations", cc.dilations));
  if (!cc.pads.empty()) c.node.attributes.push_back(Attribute::of_ints("pads", cc.pads));
  if (!cc.auto_pad.empty()) c.node.attributes.push_back(Attribute::of_string("auto_pad", cc.auto_pad));
  Shape xs = {cc.batch, cc.channels}, ws = {cc.out_channels, cc.channels / cc.group};
  xs.insert(xs.end(), cc.spatial.begin(), cc.spatial.end());
  ws.insert(ws.end(), cc.kernel.begin(), cc.kernel.end());
  c.inputs = {random_tensor(xs, rng, eighths), random_tensor(ws, rng, eighths)};
  c.constant = {false, true};
  if (cc.bias) {
    c.node.inputs.push_back("b");
    c.inputs.push_back(random_tensor({cc.out_channels}, rng, eighths));
    c.constant.push_back(true);
  }
  return c;
}

// Whether the window fits (else the node is invalid and neither kernel applies).
bool conv_fits(const ConvCase& cc) {
  for (size_t i = 0; i < cc.spatial.size(); ++i) {
    int64_t d = cc.dilations.empty() ? 1 : cc.dilations[i];
    int64_t p = cc.pads.empty() ? 0 : cc.pads[i] + cc.pads[cc.spatial.size() + i];
    if (!cc.auto_pad.empty() && cc.auto_pad != "VALID") p = 1 << 20;
    if (cc.spatial[i] + p < (cc.kernel[i] - 1) * d + 1) return false;
  }
  return true;
}

TEST(DnnlConv, MatchesReference2d) {
  std::mt19937 rng(42);
  int ran = 0;
  int v = 0;
  for (int64_t c : {1, 3, 8, 15, 16, 17, 64})
    for (int64_t s : {1, 7, 8, 9})
      for (int variant = 0; variant < 5; ++variant, ++v) {
        ConvCase cc;
        cc.channels = c;
        cc.spatial = {s, s == 1 ? 1 : s + (v % 3) - 1};  // non-square too
        cc.batch = v % 4 == 3 ? 3 : 1;
        switch (variant) {
          case 0:  // plain 3x3, same padding
            cc.out_channels = 16;
            cc.kernel = {3, 3};
            cc.pads = {1, 1, 1, 1};
            break;
          case 1:  // strided, asymmetric pads, no bias
            cc.out_channels = 17;
            cc.kernel = {3, 3};
            cc.strides = {2, 2};
            cc.pads = {0, 1, 1, 0};
            cc.bias = false;
            break;
          case 2:  // depthwise, dilated
            cc.group = c;
            cc.out_channels = c;
            cc.kernel = {3, 3};
            cc.dilations = {2, 2};
            cc.pads = {2, 2, 2, 2};
            cc.strides = {1 + v % 2, 1 + v % 2};
            break;
          case 3:  // grouped (2 groups where the channels split), pointwise, strided
            cc.group = c % 2 == 0 ? 2 : 1;
            cc.out_channels = 8;
            cc.kernel = {1, 1};
            cc.strides = {2, 1};
            break;
          case 4:  // auto_pad
            cc.out_channels = c == 64 ? 64 : 15;
            cc.kernel = {3, 2};
            cc.strides = {2, 2};
            cc.auto_pad = v % 3 == 0 ? "SAME_UPPER" : v % 3 == 1 ? "SAME_LOWER" : "VALID";
            break;
        }
        if (!conv_fits(cc)) continue;
        expect_matches_reference(conv_node(cc, rng), "dnnl-conv-f32", cc.str());
        ++ran;
      }
  EXPECT_GE(ran, 120);
}

TEST(DnnlConv, MatchesReference1dAnd3d) {
  std::mt19937 rng(7);
  std::vector<ConvCase> cases;
  for (int64_t c : {1, 8, 17}) {
    ConvCase a;
    a.channels = c;
    a.out_channels = 16;
    a.spatial = {9};
    a.kernel = {3};
    a.pads = {1, 1};
    a.strides = {2};
    cases.push_back(a);
    ConvCase b = a;
    b.group = c;
    b.out_channels = 2 * c;  // channel multiplier 2
    b.dilations = {3};
    b.pads = {3, 2};
    b.strides = {1};
    b.batch = 3;
    cases.push_back(b);
    ConvCase d;
    d.channels = c;
    d.out_channels = 8;
    d.spatial = {7, 8, 9};
    d.kernel = {3, 3, 3};
    d.pads = {1, 1, 1, 1, 1, 1};
    d.strides = {1, 2, 2};
    cases.push_back(d);
  }
  for (const ConvCase& cc : cases) expect_matches_reference(conv_node(cc, rng), "dnnl-conv-f32", cc.str());
}

TEST(DnnlConv, FloatInputsWithinTolerance) {
  // 64 -> 64 channels runs Winograd, 64 -> 16 the direct kernel: both within the same tolerance.
  for (int64_t oc : {64, 16}) {
    std::mt19937 rng(3);
    ConvCase cc;
    cc.channels = 64;
    cc.out_channels = oc;
    cc.spatial = {17, 17};
    cc.kernel = {3, 3};
    cc.pads = {1, 1, 1, 1};
    OneNode c = conv_node(cc, rng, /*eighths=*/false);
    std::unique_ptr<Kernel> k = choose(c);
    ASSERT_EQ(k->name(), oc == 64 ? "dnnl-conv-wino-f32" : "dnnl-conv-f32");
    Tensor want = run_reference(c);
    Tensor got = run_with(c, [&](OpContext& ctx) { k->run(ctx); });
    // Summation-order error scales with the partial sums (here 576 products), not with a result that cancels to near
    // zero: the absolute tolerance is taken relative to the output's magnitude.
    float scale = 1.f;
    for (float v : want.span<float>()) scale = std::max(scale, std::fabs(v));
    EXPECT_TRUE(close(want, got, 1e-4, 1e-5 * scale)) << "output magnitude " << scale << ", " << k->name();
  }
}

TEST(DnnlConv, WinogradOnlyForUnitStride3x3WithEnoughChannels) {
  std::mt19937 rng(8);
  auto base = [] {
    ConvCase cc;
    cc.channels = 32;
    cc.out_channels = 48;
    cc.spatial = {9, 10};
    cc.kernel = {3, 3};
    cc.pads = {1, 1, 1, 1};
    return cc;
  };
  // Winograd rounds differently from a direct sum (its transforms add and subtract input tiles): its error scales
  // with the output's magnitude, not with each element, so the tolerance does too.
  auto expect_winograd = [&](const ConvCase& cc) {
    SCOPED_TRACE(cc.str());
    OneNode c = conv_node(cc, rng);
    std::unique_ptr<Kernel> k = choose(c);
    ASSERT_EQ(k->name(), "dnnl-conv-wino-f32");
    Tensor want = run_reference(c);
    float scale = 1.f;
    for (float v : want.span<float>()) scale = std::max(scale, std::fabs(v));
    for (int threads : {1, 2}) {
      Tensor got = run_with(c, [&](OpContext& ctx) { k->run(ctx); }, threads);
      EXPECT_TRUE(close(want, got, 1e-4, 1e-5 * scale)) << "threads " << threads << ", output magnitude " << scale;
    }
  };
  ConvCase wino = base();
  expect_winograd(wino);
  wino.batch = 2;
  wino.bias = false;
  wino.pads = {0, 1, 1, 0};
  expect_winograd(wino);
  std::vector<ConvCase> direct(6, base());
  direct[0].strides = {2, 2};
  direct[1].kernel = {5, 5};
  direct[1].pads = {2, 2, 2, 2};
  direct[2].group = 2;
  direct[3].channels = 16;
  direct[4].dilations = {2, 2};
  direct[4].pads = {2, 2, 2, 2};
  direct[5].spatial = {3, 3};  // a 3x3 output: transforms cost more than they save
  for (const ConvCase& cc : direct) expect_matches_reference(conv_node(cc, rng), "dnnl-conv-f32", cc.str());
}

TEST(DnnlConv, RefusesWhatItCannotRun) {
  std::mt19937 rng(1);
  ConvCase cc;
  cc.channels = 3;
  cc.out_channels = 8;
  cc.spatial = {8, 8};
  cc.kernel = {3, 3};
  OneNode c = conv_node(cc, rng);
  c.constant[1] = false;  // weights fed at run time
  EXPECT_EQ(choose(c)->name(), "reference");
  c = conv_node(cc, rng);
  c.node.attributes.push_back(Attribute::of_ints("pads", {-1, 0, 0, 0}));
  EXPECT_EQ(choose(c)->name(), "reference");
}

Tensor apply_relu6(Tensor t) {
  for (float& v : t.span<float>()) v = std::min(std::max(v, 0.f), 6.f);
  return t;
}

TEST(DnnlConv, EltwisePostOpsApply) {
  std::mt19937 rng(5);
  ConvCase cc;
  cc.channels = 16;
  cc.out_channels = 17;
  cc.spatial = {9, 9};
  cc.kernel = {3, 3};
  cc.pads = {1, 1, 1, 1};
  OneNode c = conv_node(cc, rng);
  QueryStorage st = make_query(c);
  dnnl_cpu::DnnlConvKernel k(*st.q, PostOps{EltwisePostOp{dnnl::algorithm::eltwise_clip, 0.f, 6.f}});
  EXPECT_EQ(k.name(), "dnnl-conv-f32+clip");
  Tensor got = run_with(c, [&](OpContext& ctx) { k.run(ctx); });
  EXPECT_TRUE(close(apply_relu6(run_reference(c)), got));
}

// ------------------------------------------------------------------------------------------- ConvTranspose

OneNode conv_transpose_node(const ConvCase& cc, const std::vector<int64_t>& output_padding, std::mt19937& rng) {
  OneNode c = conv_node(cc, rng);
  c.node.op_type = "ConvTranspose";
  // Weights are [C_in, C_out / group, k...].
  Shape ws = {cc.channels, cc.out_channels / cc.group};
  ws.insert(ws.end(), cc.kernel.begin(), cc.kernel.end());
  c.inputs[1] = random_tensor(ws, rng);
  if (!output_padding.empty()) c.node.attributes.push_back(Attribute::of_ints("output_padding", output_padding));
  return c;
}

TEST(DnnlConvTranspose, MatchesReference) {
  std::mt19937 rng(23);
  int ran = 0, v = 0;
  for (int64_t c : {1, 3, 8, 16, 17})
    for (int64_t s : {1, 7, 8})
      for (int variant = 0; variant < 4; ++variant, ++v) {
        ConvCase cc;
        cc.channels = c;
        cc.spatial = {s, s + 1};
        cc.batch = v % 3 == 2 ? 3 : 1;
        std::vector<int64_t> out_pad;
        switch (variant) {
          case 0:  // the usual 2x upsampling
            cc.out_channels = 16;
            cc.kernel = {2, 2};
            cc.strides = {2, 2};
            break;
          case 1:  // 3x3 stride 2 with pads and output_padding, no bias
            cc.out_channels = 17;
            cc.kernel = {3, 3};
            cc.strides = {2, 2};
            cc.pads = {1, 0, 1, 1};
            out_pad = {1, 1};
            cc.bias = false;
            break;
          case 2:  // depthwise (group = channels), dilated
            cc.group = c;
            cc.out_channels = c;
            cc.kernel = {3, 3};
            cc.dilations = {2, 1};
            cc.pads = {1, 1, 1, 1};
            break;
          case 3:  // two groups where the channels split
            cc.group = c % 2 == 0 ? 2 : 1;
            cc.out_channels = 8;
            cc.kernel = {3, 2};
            cc.strides = {1, 2};
            break;
        }
        expect_matches_reference(conv_transpose_node(cc, out_pad, rng), "dnnl-convtranspose-f32", cc.str());
        ++ran;
      }
  ConvCase one_d;
  one_d.channels = 8;
  one_d.out_channels = 15;
  one_d.spatial = {9};
  one_d.kernel = {4};
  one_d.strides = {2};
  one_d.pads = {1, 1};
  expect_matches_reference(conv_transpose_node(one_d, {}, rng), "dnnl-convtranspose-f32", one_d.str());
  ConvCase three_d;
  three_d.channels = 3;
  three_d.out_channels = 8;
  three_d.spatial = {3, 4, 5};
  three_d.kernel = {2, 2, 2};
  three_d.strides = {2, 2, 2};
  expect_matches_reference(conv_transpose_node(three_d, {}, rng), "dnnl-convtranspose-f32", three_d.str());
  // Big enough for the kernel's own bias add to split over threads.
  ConvCase big;
  big.channels = 24;
  big.out_channels = 24;
  big.spatial = {80, 90};
  big.kernel = {2, 2};
  big.strides = {2, 2};
  expect_matches_reference(conv_transpose_node(big, {}, rng), "dnnl-convtranspose-f32", big.str());
  EXPECT_GE(ran, 60);
}

TEST(DnnlConvTranspose, LeavesOutputShapeAndSamePaddingToTheReference) {
  std::mt19937 rng(29);
  ConvCase cc;
  cc.channels = 8;
  cc.out_channels = 8;
  cc.spatial = {7, 7};
  cc.kernel = {3, 3};
  cc.strides = {2, 2};
  OneNode c = conv_transpose_node(cc, {}, rng);
  c.node.attributes.push_back(Attribute::of_ints("output_shape", {14, 14}));
  EXPECT_EQ(choose(c)->name(), "reference");
  cc.auto_pad = "SAME_UPPER";
  EXPECT_EQ(choose(conv_transpose_node(cc, {}, rng))->name(), "reference");
  // output_padding beyond the end pad would need a negative oneDNN pad.
  ConvCase p = cc;
  p.auto_pad = "";
  EXPECT_EQ(choose(conv_transpose_node(p, {1, 1}, rng))->name(), "reference");
}

// -------------------------------------------------------------------------------------------------- MatMul

OneNode matmul_node(const Shape& a, const Shape& b, bool b_constant, std::mt19937& rng) {
  OneNode c;
  c.node.op_type = "MatMul";
  c.node.inputs = {"a", "b"};
  c.node.outputs = {"y"};
  c.inputs = {random_tensor(a, rng), random_tensor(b, rng)};
  c.constant = {false, b_constant};
  return c;
}

TEST(DnnlMatMul, MatchesReference2d) {
  std::mt19937 rng(11);
  const int64_t sizes[] = {1, 15, 16, 17, 64, 127};
  int v = 0;
  for (int64_t m : sizes)
    for (int64_t n : sizes)
      for (int64_t k : sizes) {
        bool b_constant = (v++ % 2) == 0;
        expect_matches_reference(matmul_node({m, k}, {k, n}, b_constant, rng), "dnnl-matmul-f32",
                                 fmt::format("M{} N{} K{} constB {}", m, n, k, b_constant));
      }
}

TEST(DnnlMatMul, MatchesReferenceBatchedAndBroadcast) {
  std::mt19937 rng(13);
  struct Case {
    Shape a, b;
  };
  const Case cases[] = {
      {{3, 17, 16}, {16, 15}},          // batched A, shared B: folded into one GEMM
      {{2, 3, 15, 17}, {17, 64}},       //
      {{3, 17, 16}, {3, 16, 15}},       // batched both
      {{2, 1, 15, 17}, {3, 17, 16}},    // broadcast across batch dims
      {{1, 16, 17}, {4, 17, 1}},        //
      {{17}, {17, 16}},                 // 1-D A
      {{3, 15, 17}, {17}},              // 1-D B
      {{64}, {64}},                     // dot
      {{4, 1, 127}, {127, 64}},         // batch-1 rows (GEMV-like)
  };
  for (const Case& cs : cases)
    for (bool b_constant : {false, true})
      expect_matches_reference(matmul_node(cs.a, cs.b, b_constant, rng), "dnnl-matmul-f32",
                               fmt::format("A[{}] B[{}] constB {}", shape_str(cs.a), shape_str(cs.b), b_constant));
}

TEST(DnnlMatMul, EltwisePostOpsApply) {
  std::mt19937 rng(17);
  OneNode c = matmul_node({15, 64}, {64, 17}, true, rng);
  QueryStorage st = make_query(c);
  dnnl_cpu::DnnlMatMulKernel k(*st.q, PostOps{EltwisePostOp{dnnl::algorithm::eltwise_relu}});
  EXPECT_EQ(k.name(), "dnnl-matmul-f32+relu");
  Tensor want = run_reference(c);
  for (float& v : want.span<float>()) v = std::max(v, 0.f);
  EXPECT_TRUE(close(want, run_with(c, [&](OpContext& ctx) { k.run(ctx); })));
}

// ---------------------------------------------------------------------------------------------------- Gemm

TEST(DnnlGemm, MatchesReference) {
  std::mt19937 rng(19);
  int ran = 0;
  const int64_t m = 17, n = 15, k = 16;
  const Shape c_shapes[] = {{}, {n}, {1, n}, {m, 1}, {m, n}, {1}};
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (float alpha : {1.f, 0.5f})
        for (float beta : {1.f, 0.25f})
          for (int ci = -1; ci < 6; ++ci)
            for (bool b_constant : {false, true})
              for (bool c_constant : {false, true}) {
                OneNode c;
                c.opset = 13;
                c.node.op_type = "Gemm";
                c.node.inputs = {"a", "b"};
                c.node.outputs = {"y"};
                c.node.attributes = {Attribute::of_int("transA", ta), Attribute::of_int("transB", tb),
                                     Attribute::of_float("alpha", alpha), Attribute::of_float("beta", beta)};
                c.inputs = {random_tensor(ta ? Shape{k, m} : Shape{m, k}, rng),
                            random_tensor(tb ? Shape{n, k} : Shape{k, n}, rng)};
                c.constant = {false, b_constant};
                if (ci >= 0) {
                  c.node.inputs.push_back("c");
                  c.inputs.push_back(random_tensor(c_shapes[ci], rng));
                  c.constant.push_back(c_constant);
                }
                std::string what = fmt::format("transA {} transB {} alpha {} beta {} C {} constB {} constC {}", ta,
                                               tb, alpha, beta, ci < 0 ? "none" : shape_str(c_shapes[ci]),
                                               b_constant, c_constant);
                // Refused on purpose: a runtime B with alpha != 1 and a C, and a runtime C with beta != 1.
                bool refused = ci >= 0 && ((!b_constant && alpha != 1.f) || (!c_constant && beta != 1.f));
                if (refused) {
                  EXPECT_EQ(choose(c)->name(), "reference") << what;
                  continue;
                }
                expect_matches_reference(c, "dnnl-gemm-f32", what);
                ++ran;
              }
  EXPECT_GE(ran, 200);
}

// ------------------------------------------------------------------------------------------- Real models

// Every Conv / MatMul / Gemm / ConvTranspose node of these models has float weights and concrete shapes: each must get
// a oneDNN kernel (or, for MatMul / Gemm with up to 4 rows, the GEMV kernel; for a ConvTranspose whose kernel equals
// its stride, plain or fused with a Relu, the patch kernel).
void expect_all_dnnl(const std::string& path, const Shape& input_shape) {
  SCOPED_TRACE(path);
  Session s = Session::load(path, {.threads = 1});
  Tensor x(DType::Float32, input_shape);
  const Plan& p = s.plan_for({Value::of(x)});
  int fast = 0;
  for (const PlanStep& st : p.steps) {
    const std::string& op = st.node->op_type;
    const bool transpose = op == "ConvTranspose" || op == "FusedConvTranspose";
    if (op != "Conv" && op != "MatMul" && op != "Gemm" && !transpose) continue;
    bool gemv = op != "Conv" && !transpose && st.kernel->name().rfind("gemv-f32-", 0) == 0;  // batch 1
    bool patch = transpose && st.kernel->name().rfind("convtranspose-patch-f32-", 0) == 0;
    EXPECT_TRUE(gemv || patch || st.kernel->name().rfind("dnnl-", 0) == 0)
        << st.node->label() << " got " << st.kernel->name();
    ++fast;
  }
  EXPECT_GT(fast, 0);
}

TEST(DnnlKernels, ChosenForFashionMnistCnn) {
  expect_all_dnnl(test::fixture("fashion_mnist_cnn.onnx"), {1, 1, 28, 28});
  expect_all_dnnl(test::fixture("fashion_mnist_cnn.onnx"), {64, 1, 28, 28});
  expect_all_dnnl(test::fixture("fashion_mnist_mlp.onnx"), {64, 784});
}

TEST(DnnlKernels, ChosenForPaddleOcr) {
  expect_all_dnnl(test::npm_model(test::kPaddleDet), {1, 3, 640, 640});
  expect_all_dnnl(test::npm_model(test::kPaddleRec), {1, 3, 48, 320});
  expect_all_dnnl(test::npm_model(test::kPaddleCls), {1, 3, 48, 192});
}

}  // namespace
}  // namespace hone
