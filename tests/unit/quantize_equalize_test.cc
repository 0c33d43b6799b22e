// Depthwise input equalization (compress/quantize/equalize_depthwise.h): the scales it picks, that the rewritten fp32
// model computes what the original did, and that with one outlier channel the static int8 model's output error drops;
// the written QDQ file still runs in ONNX Runtime with Hone's result.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "compress/quantize/equalize_depthwise.h"
#include "compress/quantize/quantize_model.h"
#include "ir/onnx/onnx_io.h"
#include "quantize_test_util.h"

namespace hone::quant {
namespace {

using namespace testing;  // NOLINT

TEST(QuantizeEqualize, ScalesFollowEachChannelsRange) {
  // Equal channels: nothing to do.
  ChannelStats same{{-1, -1, -1}, {4, 4, 4}, {2, 2, 2}};
  for (float s : equalization_scales(same)) EXPECT_FLOAT_EQ(s, 1.f);
  // One channel ten times wider: it keeps 1, the others get a tenth (their ranges then match).
  ChannelStats wide{{0, 0, 0}, {1, 10, 1}, {0.3, 30, 0.3}};
  std::vector<float> s = equalization_scales(wide);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_FLOAT_EQ(s[1], 1.f);
  EXPECT_FLOAT_EQ(s[0], 0.1f);
  EXPECT_FLOAT_EQ(s[2], 0.1f);
  // A nearly silent channel is amplified 64 times at most.
  ChannelStats silent{{0, 0}, {1000, 1e-3}, {1e5, 1e-7}};
  s = equalization_scales(silent);
  EXPECT_FLOAT_EQ(s[0], 1.f);
  EXPECT_FLOAT_EQ(s[1], 1.f / 64);
  // Negative ends count: a channel reaching -8 is as wide as one reaching +8 when the others are one-sided.
  ChannelStats negative{{-8, 0, 0}, {0.5, 8, 1}, {4, 4, 0.1}};
  s = equalization_scales(negative);
  EXPECT_FLOAT_EQ(s[1], 1.f);
  EXPECT_GT(s[0], 0.5f);
  EXPECT_LT(s[2], 0.2f);
}

// x [batch, 3, 8, 8] -> Conv a (1x1, 3 -> 6; output channel 2 fifty times larger) -> HardSwish -> Conv dw (3x3,
// group 6, pad 1) -> y: PP-LCNet's pointwise-then-depthwise pair.
Model pointwise_depthwise_model() {
  Model m = empty_model(14);  // HardSwish
  Graph& g = m.graph;
  g.inputs = {float_input("x", {Dim::named("batch"), 3, 8, 8})};
  Tensor wa = random_tensor({6, 3, 1, 1}, 71, -0.5f, 0.5f);
  for (int k = 0; k < 3; ++k) wa.data<float>()[2 * 3 + k] *= 50;
  g.initializers["wa"] = wa;
  g.initializers["ba"] = random_tensor({6}, 72, -0.1f, 0.1f);
  g.initializers["wd"] = random_tensor({6, 1, 3, 3}, 73, -0.5f, 0.5f);
  g.initializers["bd"] = random_tensor({6}, 74, -0.1f, 0.1f);
  Node d = make_node("Conv", {"h", "wd", "bd"}, {"y"}, "conv_dw");
  d.attributes = {int_attr("group", 6), ints_attr("pads", {1, 1, 1, 1})};
  g.nodes = {make_node("Conv", {"x", "wa", "ba"}, {"a"}, "conv_a"), make_node("HardSwish", {"a"}, {"h"}, "hswish"),
             d};
  g.outputs = {{"y", TypeInfo::tensor(DType::Float32), ""}};
  return m;
}

Tensor run_model(const Model& m, const Tensor& x) {
  Session s(m, {.threads = 1});
  return s.run_values({Value::of(x)})[0].tensor;
}

double mse(const Tensor& a, const Tensor& b) {
  double e = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    double d = a.data<float>()[i] - b.data<float>()[i];
    e += d * d;
  }
  return e / static_cast<double>(a.numel());
}

TEST(QuantizeEqualize, FindsDepthwiseConvolutionsAndKeepsTheFp32Result) {
  Model m = pointwise_depthwise_model();
  QuantizeConfig c{.mode = QuantMode::Static, .per_channel = true, .symmetric = false, .exclude = {}};
  std::vector<DepthwiseInput> found = find_depthwise_inputs(m, c);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].node, "conv_dw");
  EXPECT_EQ(found[0].tensor, "h");
  EXPECT_EQ(found[0].channels, 6);
  c.exclude = {"conv_dw"};
  EXPECT_TRUE(find_depthwise_inputs(m, c).empty());
  c.exclude = {};

  Tensor x = random_tensor({16, 3, 8, 8}, 75, -1.f, 1.f);
  MemoryDataset data(x);
  ObserveOptions run{.batch = 8, .threads = 1, .histograms = false, .progress = false, .label = ""};
  Model eq = m;
  std::vector<EqualizedInput> done = equalize_depthwise_inputs(eq, c, data, run);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_LT(done[0].smallest_scale, 0.2f);  // the ordinary channels are scaled up against channel 2
  EXPECT_EQ(count_ops(eq.graph, "Mul"), 1);
  Tensor y0 = run_model(m, x), y1 = run_model(eq, x);
  double power = 0;
  for (float v : y0.span<float>()) power += static_cast<double>(v) * v;
  power /= static_cast<double>(y0.numel());
  EXPECT_LT(mse(y0, y1), 1e-10 * power);
}

TEST(QuantizeEqualize, LowersTheInt8ErrorAndRunsInOnnxRuntime) {
  Model m = pointwise_depthwise_model();
  name_nodes(m.graph);
  QuantizeConfig c{.mode = QuantMode::Static, .per_channel = true, .symmetric = false, .exclude = {}};
  Tensor x = random_tensor({32, 3, 8, 8}, 76, -1.f, 1.f);
  MemoryDataset data(x);
  ObserveOptions run{.batch = 8, .threads = 1, .histograms = true, .progress = false, .label = ""};
  CalibrationOptions method{.method = CalibrationMethod::MinMax, .percentile = 99.99, .symmetric = false};
  auto int8_of = [&](const Model& src) {
    auto ranges = calibrate(src, c, data, method, run);
    return quantize(src, c, &ranges, {});
  };
  Model eq = m;
  ASSERT_EQ(equalize_depthwise_inputs(eq, c, data, run).size(), 1u);
  QuantizedModel plain = int8_of(m), equalized = int8_of(eq);
  Tensor other = random_tensor({8, 3, 8, 8}, 77, -1.f, 1.f);  // data calibration did not see
  Tensor ref = run_model(m, other);
  double e_plain = mse(ref, run_model(plain.model, other)), e_eq = mse(ref, run_model(equalized.model, other));
  EXPECT_LT(e_eq, 0.75 * e_plain) << "plain " << e_plain << ", equalized " << e_eq;

  if (!ort_available()) GTEST_SKIP() << "ONNX Runtime (node + onnxruntime-node) is not available";
  std::string dir = ::testing::TempDir() + "/hone_equalize";
  std::filesystem::create_directories(dir);
  save_onnx_file(equalized.model, dir + "/eq.int8.onnx", true);
  std::vector<Tensor> ort = run_ort(dir + "/eq.int8.onnx", "x", other, dir);
  ASSERT_EQ(ort.size(), 1u);
  // ONNX Runtime also rounds conv_a's result before the HardSwish (Hone's int8 convolution fuses the HardSwish and
  // skips that rounding), so its error is larger, but of the same order as the plain model's in Hone.
  const double e_ort = mse(ref, ort[0]);
  EXPECT_LT(e_ort, 3 * e_plain) << "ONNX Runtime " << e_ort << ", Hone plain " << e_plain;
}

}  // namespace
}  // namespace hone::quant
