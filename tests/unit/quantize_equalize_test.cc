// Depthwise input equalization (compress/quantize/equalize_depthwise.h): the scales it picks, that the rewritten fp32
// model computes what the original did, and that with one outlier channel the static int8 model's output error drops;
// the written QDQ file still runs in ONNX Runtime with Hone's result.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "compress/quantize/accuracy_search.h"
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

TEST(QuantizeEqualize, SmoothingSplitsTheRangeBetweenActivationAndWeights) {
  // Channel 1's activation reaches 16, channel 0's 1; weight columns: channel 0 reaches 4, channel 1 reaches 1.
  ChannelStats st{{-1, 0}, {0.5, 16}, {0.1, 50}};
  Tensor w(DType::Float32, {2, 2, 1, 1});
  float* wd = w.data<float>();
  wd[0] = 4, wd[1] = 0.5f, wd[2] = -2, wd[3] = 1;  // [o][c]
  // alpha 1: by the activations alone (1 : 16); alpha 0: by 1 / the weights alone (1/4 : 1); alpha 0.5: sqrt(a / w).
  std::vector<float> s = smoothing_scales(st, w, 1.0);
  EXPECT_FLOAT_EQ(s[1], 1.f);
  EXPECT_FLOAT_EQ(s[0], 1.f / 16);
  s = smoothing_scales(st, w, 0.0);
  EXPECT_FLOAT_EQ(s[1], 1.f);
  EXPECT_FLOAT_EQ(s[0], 0.25f);
  s = smoothing_scales(st, w, 0.5);
  EXPECT_FLOAT_EQ(s[1], 1.f);
  EXPECT_NEAR(s[0], std::sqrt(1.0 / 4) / std::sqrt(16.0 / 1), 1e-6);
  // A silent channel: amplified 64 times at most.
  ChannelStats silent{{0, 0}, {0, 16}, {0, 50}};
  EXPECT_FLOAT_EQ(smoothing_scales(silent, w, 0.5)[0], 1.f / 64);
  // Weights that do not have the stats' channels are a bug of the caller.
  EXPECT_THROW(smoothing_scales(st, Tensor(DType::Float32, {2, 3, 1, 1}), 0.5), Error);
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

// x [batch, 3, 8, 8] -> Conv a (1x1, 3 -> 6; output channel 2 two hundred times larger) -> HardSwish -> Conv b (3x3,
// 6 -> 16, pad 1; input channel 2's weights two hundred times smaller) -> Conv c (1x1, 16 -> 4) -> y: an outlier
// input channel of a group-1 convolution (b) that contributes no more than the others, which smoothing serves.
Model outlier_pointwise_model() {
  Model m = pointwise_depthwise_model();
  Graph& g = m.graph;
  for (int k = 0; k < 3; ++k) g.initializers.at("wa").data<float>()[2 * 3 + k] *= 4;
  g.initializers.erase("wd");
  g.initializers.erase("bd");
  Tensor wb = random_tensor({16, 6, 3, 3}, 78, -0.5f, 0.5f);
  for (int o = 0; o < 16; ++o)
    for (int k = 0; k < 9; ++k) wb.data<float>()[(o * 6 + 2) * 9 + k] /= 200;
  g.initializers["wb"] = wb;
  g.initializers["bb"] = random_tensor({16}, 79, -0.1f, 0.1f);
  g.initializers["wc"] = random_tensor({4, 16, 1, 1}, 81, -0.5f, 0.5f);
  Node b = make_node("Conv", {"h", "wb", "bb"}, {"b"}, "conv_b");
  b.attributes = {ints_attr("pads", {1, 1, 1, 1})};
  g.nodes.back() = b;
  g.nodes.push_back(make_node("Conv", {"b", "wc"}, {"y"}, "conv_c"));
  return m;
}

double sqnr_db(const Tensor& ref, const Tensor& y) {
  double power = 0;
  for (float v : ref.span<float>()) power += static_cast<double>(v) * v;
  return 10 * std::log10(power / static_cast<double>(ref.numel()) / mse(ref, y));
}

TEST(QuantizeEqualize, SearchLowersAKeptConvolutionWithItsInputSmoothed) {
  Model m = outlier_pointwise_model();
  name_nodes(m.graph);
  // conv_a float: its own rounding would otherwise compete with conv_b's input for the search's first step.
  QuantizeConfig c{.mode = QuantMode::Static, .per_channel = true, .symmetric = false, .exclude = {"conv_a"}};
  Tensor x = random_tensor({32, 3, 8, 8}, 80, -1.f, 1.f);
  MemoryDataset data(x);
  ObserveOptions run{.batch = 8, .threads = 1, .histograms = true, .progress = false, .label = ""};
  CalibrationOptions method{.method = CalibrationMethod::MinMax, .percentile = 99.99, .symmetric = false};
  std::map<std::string, Range> ranges = calibrate(m, c, data, method, run);
  const Tensor ref = run_model(m, x);
  const double plain = sqnr_db(ref, run_model(quantize(m, c, &ranges, {}).model, x));
  // The same with conv_b's input smoothed by hand (alpha 0.75): the effect the search should find.
  Model smoothed = m;
  {
    ObserveOptions o = run;
    o.histograms = false;
    o.channel_axes = {{"h", 1}};
    TensorObserver h = observe_tensors(m, {}, data, o).at("h");
    ChannelStats st{h.channel_mean_min(), h.channel_mean_max(), h.channel_mean_squares()};
    apply_channel_scales(smoothed, {{"conv_b", "h", 6}},
                         {smoothing_scales(st, *m.graph.find_initializer("wb"), 0.75)});
  }
  Tensor same = run_model(smoothed, x);
  EXPECT_GT(sqnr_db(ref, same), 100);  // the fp32 function is unchanged
  std::map<std::string, Range> smoothed_ranges = calibrate(smoothed, c, data, method, run);
  const double by_hand = sqnr_db(ref, run_model(quantize(smoothed, c, &smoothed_ranges, {}).model, x));
  ASSERT_GT(by_hand, plain + 3) << "plain " << plain << " dB, smoothed " << by_hand << " dB";

  // A target between the two: the search keeps conv_b float, then lowers it with its input smoothed.
  AccuracyGoal goal{.kind = AccuracyGoal::Kind::MinSqnr, .value = (plain + by_hand) / 2 - 1, .eval = nullptr,
                    .labels = nullptr, .calibration = &data};
  SearchResult without = search_keep_float(m, c, &ranges, goal, run);
  ASSERT_TRUE(without.met);
  EXPECT_EQ(without.keep_float, (std::set<std::string>{"conv_b"}));
  Smoothing smoothing;
  smoothing.calibration = &data;
  smoothing.method = method;
  SearchResult r = search_keep_float(m, c, &ranges, goal, run, nullptr, &smoothing);
  ASSERT_TRUE(r.met);
  EXPECT_TRUE(r.keep_float.empty());
  ASSERT_FALSE(r.steps.empty());
  EXPECT_EQ(r.steps.back().node, "conv_b");
  EXPECT_TRUE(r.steps.back().trimmed);
  EXPECT_NE(r.steps.back().how.find("smoothed"), std::string::npos);
  EXPECT_GE(r.final_metric, goal.value);
  // The rewritten model computes the fp32 function, and quantized with its ranges it meets the target as reported.
  ASSERT_TRUE(smoothing.model);
  EXPECT_EQ(count_ops(smoothing.model->graph, "Mul"), 1);
  EXPECT_GT(sqnr_db(ref, run_model(*smoothing.model, x)), 100);
  QuantizedModel q = quantize(*smoothing.model, c, &smoothing.ranges, r.keep_float);
  EXPECT_NEAR(sqnr_db(ref, run_model(q.model, x)), r.final_metric, 0.01);
}

}  // namespace
}  // namespace hone::quant
