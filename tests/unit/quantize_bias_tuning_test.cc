// Helper F's additions to `hone quantize` (issue 5): MSE-optimal weight clipping (quantize_weight's mse_clip) against
// the squared error it minimizes, and empirical bias correction (bias_tuning.h): after it, each corrected layer's
// per-channel mean over the calibration data matches fp32's, and the output's squared error drops; the QDQ format is
// unchanged (int32 biases stay int32, same nodes). The command's flags and their errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "../cli/cli_harness.h"
#include "compress/quantize/bias_tuning.h"
#include "compress/quantize/quant_math.h"
#include "compress/quantize/quantize_model.h"
#include "quantize_test_util.h"
#include "test_paths.h"

namespace hone::quant {
namespace {

using namespace testing;  // NOLINT
namespace fs = std::filesystem;

// Squared error of channel c (axis 0) of w quantized as qw.
double channel_error(const Tensor& w, const QuantizedWeight& qw, int64_t c) {
  const int64_t inner = w.numel() / w.dim(0);
  double e = 0;
  for (int64_t i = c * inner; i < (c + 1) * inner; ++i) {
    double d = w.data<float>()[i] - qw.q.data<int8_t>()[i] * static_cast<double>(qw.scale.data<float>()[c]);
    e += d * d;
  }
  return e;
}

// Channel 0: many values in [-0.8, 0.8] and one at 1: clipping that one buys a finer step for all the others.
// Channel 1: only -1, 0 and 1, which max|w| / 127 represents exactly: no clip. Per tensor: never worse than max.
TEST(QuantizeWeightClip, MseClipLowersEachChannelsError) {
  const int64_t inner = 20000;
  Tensor w = random_tensor({2, inner}, 7, -0.8f, 0.8f);
  w.data<float>()[5] = 1.0f;
  for (int64_t i = 0; i < inner; ++i) w.data<float>()[inner + i] = static_cast<float>(i % 3) - 1.0f;
  QuantizedWeight plain = quantize_weight(w, 0), clipped = quantize_weight(w, 0, nullptr, true);
  EXPECT_LT(clipped.scale.data<float>()[0], 0.95f / 127);
  EXPECT_LT(channel_error(w, clipped, 0), 0.95 * channel_error(w, plain, 0));
  EXPECT_FLOAT_EQ(clipped.scale.data<float>()[1], 1.0f / 127);
  EXPECT_LT(channel_error(w, clipped, 1), 1e-9);  // float rounding of the scale only
  // Clipped values saturate at +-127.
  EXPECT_EQ(clipped.q.data<int8_t>()[5], 127);
  // Per tensor on a single row: not worse than max|w|.
  Tensor row = w.reshaped({1, 2 * inner});
  QuantizedWeight pt = quantize_weight(row, -1), ptc = quantize_weight(row, -1, nullptr, true);
  auto err = [&](const QuantizedWeight& q) {
    double e = 0;
    for (int64_t i = 0; i < row.numel(); ++i) {
      double d = row.data<float>()[i] - q.q.data<int8_t>()[i] * static_cast<double>(q.scale.data<float>()[0]);
      e += d * d;
    }
    return e;
  };
  EXPECT_LE(err(ptc), err(pt));
  // With a floor, the floor still wins.
  std::vector<float> floor = {0.5f, 0.5f};
  EXPECT_FLOAT_EQ(quantize_weight(w, 0, &floor, true).scale.data<float>()[0], 0.5f);
}

// x [batch, 3, 6, 6] (in [0, 1) but for 2% outliers in (3, 6]) -> Conv a (3x3, pad 1) -> Relu -> Conv b (1x1)
// -> y. Percentile 95 calibration clips the outliers, which shifts the means of both layers' outputs.
Model two_conv_model() {
  Model m = empty_model(13);
  Graph& g = m.graph;
  g.inputs = {float_input("x", {Dim::named("batch"), 3, 6, 6})};
  g.initializers["wa"] = random_tensor({4, 3, 3, 3}, 31, -0.5f, 0.5f);
  g.initializers["ba"] = random_tensor({4}, 32, 0.0f, 0.2f);
  g.initializers["wb"] = random_tensor({2, 4, 1, 1}, 33, -0.5f, 0.5f);
  g.initializers["bb"] = random_tensor({2}, 34, -0.1f, 0.1f);
  Node a = make_node("Conv", {"x", "wa", "ba"}, {"a"}, "conv_a");
  a.attributes = {ints_attr("pads", {1, 1, 1, 1})};
  g.nodes = {a, make_node("Relu", {"a"}, {"ar"}, "relu_a"), make_node("Conv", {"ar", "wb", "bb"}, {"y"}, "conv_b")};
  g.outputs = {{"y", TypeInfo::tensor(DType::Float32), ""}};
  return m;
}

Tensor skewed_data(int64_t n, uint64_t seed) {
  Tensor x = random_tensor({n, 3, 6, 6}, seed, 0.0f, 1.0f);
  for (float& v : x.span<float>()) v = v > 0.98f ? 150 * v - 144 : v;  // 2% outliers in (3, 6]
  return x;
}

std::map<std::string, std::vector<double>> means_of(const Model& m, const data::Dataset& d) {
  ObserveOptions o{.batch = 16, .threads = 1, .histograms = false, .progress = false, .label = ""};
  o.channel_axes = {{"a", 1}, {"y", 1}};
  auto obs = observe_tensors(m, {}, d, o);
  return {{"a", obs.at("a").channel_means()}, {"y", obs.at("y").channel_means()}};
}

double worst_mean_gap(const std::vector<double>& a, const std::vector<double>& b) {
  double w = 0;
  for (size_t k = 0; k < a.size(); ++k) w = std::max(w, std::fabs(a[k] - b[k]));
  return w;
}

double output_mse(const Model& ref, const Model& q, const Tensor& x) {
  Session rs(ref, {.threads = 1}), qs(q, {.threads = 1});
  Tensor yr = rs.run_values({Value::of(x)})[0].tensor, yq = qs.run_values({Value::of(x)})[0].tensor;
  double e = 0;
  for (int64_t i = 0; i < yr.numel(); ++i) {
    double d = yr.data<float>()[i] - yq.data<float>()[i];
    e += d * d;
  }
  return e / static_cast<double>(yr.numel());
}

TEST(QuantizeBiasTuning, EmpiricalCorrectionMatchesTheFp32MeansAndLowersTheError) {
  Model m = two_conv_model();
  name_nodes(m.graph);
  Tensor x = skewed_data(64, 5);
  MemoryDataset data(x);
  QuantizeConfig c{.mode = QuantMode::Static, .per_channel = true, .symmetric = false, .exclude = {}};
  ObserveOptions run{.batch = 16, .threads = 1, .histograms = true, .progress = false, .label = ""};
  CalibrationOptions method{.method = CalibrationMethod::Percentile, .percentile = 95.0, .symmetric = false};
  auto ranges = calibrate(m, c, data, method, run);
  QuantPlan plan;
  QuantizedModel q = quantize(m, c, &ranges, {}, &plan);
  QuantizedModel before = q;
  auto ref = means_of(m, data), off = means_of(q.model, data);
  const double gap_a = worst_mean_gap(ref["a"], off["a"]), gap_y = worst_mean_gap(ref["y"], off["y"]);
  ASSERT_GT(gap_a, 1e-2) << "the test needs a visible mean shift";

  EmpiricalBiasReport r = correct_bias_empirically(m, plan, q, data, run, 2);
  EXPECT_EQ(r.layers, 2);
  ASSERT_EQ(r.mean_shift.size(), 2u);
  auto got = means_of(q.model, data);
  // Sequential (2 passes for 2 layers): each layer's means land on fp32's up to the int32 bias step.
  EXPECT_LT(worst_mean_gap(ref["a"], got["a"]), 1e-3 + 0.02 * gap_a);
  EXPECT_LT(worst_mean_gap(ref["y"], got["y"]), 1e-3 + 0.02 * gap_y);
  // Removing the mean error lowers the squared error on the same data, and on other data drawn alike.
  EXPECT_LT(output_mse(m, q.model, x), 0.97 * output_mse(m, before.model, x));
  Tensor other = skewed_data(64, 6);
  EXPECT_LT(output_mse(m, q.model, other), output_mse(m, before.model, other));
  // The format is the same: same nodes, biases still int32 behind their DequantizeLinear.
  ASSERT_EQ(q.model.graph.nodes.size(), before.model.graph.nodes.size());
  int changed = 0;
  for (const auto& [name, t] : q.model.graph.initializers) {
    const Tensor& old = before.model.graph.initializers.at(name);
    ASSERT_EQ(t.dtype(), old.dtype()) << name;
    if (t.dtype() == DType::Int32)
      for (int64_t k = 0; k < t.numel(); ++k) changed += t.data<int32_t>()[k] != old.data<int32_t>()[k];
    else if (t.dtype() == DType::Float32)
      for (int64_t k = 0; k < t.numel(); ++k) EXPECT_EQ(t.data<float>()[k], old.data<float>()[k]) << name;
  }
  EXPECT_GT(changed, 0);
  // The fp32 model's tensors are untouched (the biases are copies).
  EXPECT_EQ(m.graph.find_initializer("bb")->data<float>()[0],
            two_conv_model().graph.find_initializer("bb")->data<float>()[0]);
}

// Weights-only: the float32 bias takes the correction; one pass over two layers corrects both at once.
TEST(QuantizeBiasTuning, FloatBiasesInWeightsOnlyMode) {
  Model m = two_conv_model();
  name_nodes(m.graph);
  Tensor x = skewed_data(32, 8);
  MemoryDataset data(x);
  QuantizeConfig c{.mode = QuantMode::WeightsOnly, .per_channel = false, .symmetric = false, .exclude = {}};
  ObserveOptions run{.batch = 16, .threads = 1, .histograms = false, .progress = false, .label = ""};
  QuantPlan plan;
  QuantizedModel q = quantize(m, c, nullptr, {}, &plan);
  auto ref = means_of(m, data), off = means_of(q.model, data);
  EmpiricalBiasReport r = correct_bias_empirically(m, plan, q, data, run, 1);
  EXPECT_EQ(r.layers, 2);
  auto got = means_of(q.model, data);
  EXPECT_LT(worst_mean_gap(ref["a"], got["a"]), 1e-5);
  EXPECT_LT(worst_mean_gap(ref["a"], got["a"]), worst_mean_gap(ref["a"], off["a"]));
  EXPECT_EQ(m.graph.find_initializer("ba")->data<float>()[1],
            two_conv_model().graph.find_initializer("ba")->data<float>()[1]);
  // No passes: nothing changes.
  QuantizedModel same = quantize(m, c, nullptr, {}, &plan);
  EXPECT_EQ(correct_bias_empirically(m, plan, same, data, run, 0).layers, 0);
}

TEST(QuantizeBiasTuning, CommandFlags) {
  HONE_REQUIRE_CLI_BINARY();
  fs::path dir = hone::testing::fresh_temp_dir("bias_tuning");
  const std::string cnn = test::fixture("fashion_mnist_cnn.onnx");
  const std::string images = test::fixture("fashion_mnist_test_1000_images.npy");
  const std::string out = (dir / "q.onnx").string();
  auto r = hone::testing::run_hone({"quantize", cnn, "-o", out, "--calibration", images, "--limit", "64", "--threads",
                                    "1", "--per-channel", "--bias-passes", "3", "--weight-clip", "mse"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("empirical bias correction: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(3 passes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("MSE-optimal clip ratio per channel"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(out));
  r = hone::testing::run_hone({"quantize", cnn, "-o", (dir / "a.onnx").string(), "--bias-passes", "2", "--mode",
                               "weights-only"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("--bias-passes needs --calibration"), std::string::npos) << r.err;
  r = hone::testing::run_hone({"quantize", cnn, "-o", (dir / "c.onnx").string(), "--calibration", images, "--limit",
                               "16", "--mode", "dynamic", "--bias-passes", "1"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("--bias-passes applies to static and weights-only modes"), std::string::npos) << r.err;
  r = hone::testing::run_hone({"quantize", cnn, "-o", (dir / "b.onnx").string(), "--weight-clip", "p99"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("--weight-clip"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "a.onnx") || fs::exists(dir / "b.onnx") || fs::exists(dir / "c.onnx"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace hone::quant
