// Dynamic int8 quantization (src/compress/quantize/dynamic_quant.cc): ONNX Runtime's format for MatMul / Gemm with
// constant weights, checked for structure (one DynamicQuantizeLinear per activation, weights [K, N] int8, Gemm's
// transB / alpha / beta / bias honoured, output names kept), against a hand computation of the same integer
// arithmetic, against fp32, and against ONNX Runtime running the same file.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "compress/quantize/calibration.h"
#include "compress/quantize/quant_math.h"
#include "compress/quantize/quantize_model.h"
#include "ir/onnx/onnx_io.h"
#include "quantize_test_util.h"

namespace hone::quant {
namespace {

using namespace testing;  // NOLINT
namespace fs = std::filesystem;

QuantizeConfig dynamic_config(bool per_channel) {
  return {.mode = QuantMode::Dynamic, .per_channel = per_channel, .symmetric = false, .exclude = {}};
}

std::vector<Tensor> run_model(const Model& m, const Tensor& x, bool reference = true) {
  Session s(m, {.threads = 1, .optimize_graph = !reference, .reference_kernels = reference});
  std::vector<Tensor> out;
  for (Value& v : s.run_values({Value::of(x)})) out.push_back(v.tensor);
  return out;
}

double max_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double d = 0;
  for (int64_t i = 0; i < std::min(a.numel(), b.numel()); ++i)
    d = std::max(d, std::fabs(a.get_double(i) - b.get_double(i)));
  return d;
}

double max_abs(const Tensor& a) {
  double d = 0;
  for (int64_t i = 0; i < a.numel(); ++i) d = std::max(d, std::fabs(a.get_double(i)));
  return d;
}

TEST(QuantizeDynamic, Structure) {
  Model m = mlp_model();
  QuantizedModel q = quantize(m, dynamic_config(true), nullptr, {});
  const Graph& g = q.model.graph;
  // x feeds fc1 and the MatMul: quantized once; fc2 reads h.
  EXPECT_EQ(count_ops(g, "DynamicQuantizeLinear"), 2);
  EXPECT_EQ(count_ops(g, "MatMulInteger"), 3);
  EXPECT_EQ(count_ops(g, "Cast"), 3);
  EXPECT_EQ(count_ops(g, "Gemm"), 0);
  EXPECT_EQ(count_ops(g, "MatMul"), 0);
  EXPECT_EQ(q.quantized_weights, 3);
  ASSERT_EQ(g.outputs.size(), 2u);
  EXPECT_EQ(g.outputs[0].name, "y");
  EXPECT_EQ(g.outputs[1].name, "z");
  EXPECT_EQ(find_node_by_output(g, "y")->op_type, "Add");  // fc2's bias, after the rescale
  // The original MatMul's own bias Add stays float and still produces z.
  EXPECT_EQ(find_node_by_output(g, "z")->op_type, "Add");
  for (const Node& n : g.nodes) {
    if (n.op_type != "MatMulInteger") continue;
    const Tensor& w = *g.find_initializer(n.inputs[1]);
    EXPECT_EQ(w.dtype(), DType::Int8);
    EXPECT_EQ(g.find_initializer(n.inputs[3])->dtype(), DType::Int8);
    // fc2's weight was [10, 32] with transB = 1: stored [K, N] = [32, 10].
    if (n.name == "fc2_MatMulInteger") EXPECT_EQ(w.shape(), (Shape{32, 10}));
  }
  // Per channel: one scale per output column.
  const Node* scale_mul = nullptr;
  for (const Node& n : g.nodes)
    if (n.name == "fc2_ScaleProduct") scale_mul = &n;
  ASSERT_TRUE(scale_mul);
  EXPECT_EQ(g.find_initializer(scale_mul->inputs[1])->shape(), Shape{10});
  // Per tensor: a scalar.
  QuantizedModel pt = quantize(m, dynamic_config(false), nullptr, {});
  for (const Node& n : pt.model.graph.nodes)
    if (n.name == "fc2_ScaleProduct") EXPECT_EQ(pt.model.graph.find_initializer(n.inputs[1])->rank(), 0);
}

// fc1's result by hand: x quantized as DynamicQuantizeLinear does, an integer product with the int8 weight, rescaled,
// plus the bias.
TEST(QuantizeDynamic, MatchesTheIntegerArithmeticByHand) {
  Model m = mlp_model();
  QuantizedModel q = quantize(m, dynamic_config(true), nullptr, {});
  Tensor x = random_tensor({3, 16}, 41);
  Model exposed = with_outputs(q.model, {"h0"});
  std::vector<Tensor> out = run_model(exposed, x);
  const Tensor& h0 = out.back();
  // DynamicQuantizeLinear: range widened to 0, scale (max - min) / 255, zero point round(-min / scale) saturated.
  float lo = 0, hi = 0;
  for (float v : x.span<float>()) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  float xs = (hi - lo) / 255;
  float zp = std::clamp(std::nearbyint(-lo / xs), 0.0f, 255.0f);
  QuantizedWeight w = quantize_weight(*m.graph.find_initializer("w1"), 1);
  const Tensor& b = *m.graph.find_initializer("b1");
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 32; ++j) {
      int64_t acc = 0;
      for (int64_t k = 0; k < 16; ++k) {
        float xq = std::clamp(std::nearbyint(x.data<float>()[i * 16 + k] / xs) + zp, 0.0f, 255.0f);
        acc += (static_cast<int64_t>(xq) - static_cast<int64_t>(zp)) * w.q.data<int8_t>()[k * 32 + j];
      }
      float want = static_cast<float>(acc) * (xs * w.scale.data<float>()[j]) + b.data<float>()[j];
      EXPECT_NEAR(h0.data<float>()[i * 32 + j], want, 1e-5 * (1 + std::fabs(want))) << i << "," << j;
    }
}

TEST(QuantizeDynamic, CloseToFp32AndOnnxRuntimeAgrees) {
  Model m = mlp_model();
  Tensor x = random_tensor({4, 16}, 42);
  std::vector<Tensor> want = run_model(m, x);
  for (bool pc : {false, true}) {
    QuantizedModel q = quantize(m, dynamic_config(pc), nullptr, {});
    std::vector<Tensor> got = run_model(q.model, x);
    ASSERT_EQ(got.size(), 2u);
    for (size_t k = 0; k < 2; ++k) EXPECT_LT(max_diff(got[k], want[k]), 0.03 * max_abs(want[k])) << k << " pc " << pc;
    std::vector<Tensor> fast = run_model(q.model, x, false);
    for (size_t k = 0; k < 2; ++k) EXPECT_LT(max_diff(fast[k], got[k]), 1e-4 * max_abs(want[k])) << "lowered run";
    if (!ort_available()) continue;
    fs::path dir = fs::temp_directory_path() / ("hone-dyn-ort-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::string file = (dir / "dyn.onnx").string();
    save_onnx_file(q.model, file, true);
    std::vector<Tensor> ort = run_ort(file, "x", x, dir.string());
    ASSERT_EQ(ort.size(), 2u);
    // The same integer arithmetic: only float rounding of the rescale differs.
    for (size_t k = 0; k < 2; ++k) EXPECT_LT(max_diff(ort[k], got[k]), 1e-4 * max_abs(want[k])) << k << " pc " << pc;
    fs::remove_all(dir);
  }
}

TEST(QuantizeDynamic, GemmWithTransposedInput) {
  Model m = empty_model(13);
  Graph& g = m.graph;
  g.inputs = {float_input("x", {6, 3})};  // transA: A is [K, M] = [6, 3]
  g.initializers["w"] = random_tensor({6, 5}, 51);
  Node gemm = make_node("Gemm", {"x", "w"}, {"y"}, "g");
  gemm.attributes = {int_attr("transA", 1)};
  g.nodes = {gemm};
  g.outputs = {{"y", TypeInfo::tensor(DType::Float32), ""}};
  QuantizedModel q = quantize(m, dynamic_config(false), nullptr, {});
  EXPECT_EQ(count_ops(q.model.graph, "Transpose"), 1);
  Tensor x = random_tensor({6, 3}, 52);
  Tensor want = run_model(m, x)[0], got = run_model(q.model, x)[0];
  EXPECT_LT(max_diff(got, want), 0.03 * max_abs(want));
}

}  // namespace
}  // namespace hone::quant
