// `hone quantize`, driven through the built program: static int8 on the Fashion-MNIST CNN fixture (calibrated on the
// committed test images) keeps its accuracy and prints what it quantized; --report, --json, dynamic and weights-only
// modes, --list-nodes, the accuracy-aware targets, opset raising for per-channel weights; and the errors: never
// overwriting MODEL or (without --force) OUT, missing calibration data, bad --exclude, contradictory flags.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "../cli/cli_harness.h"
#include "compress/quantize/accuracy_search.h"
#include "data/dataset.h"
#include "ir/onnx/onnx_io.h"
#include "quantize_test_util.h"
#include "test_paths.h"

namespace hone::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

int count_op(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& x : g.nodes) n += x.op_type == op;
  return n;
}

class CliQuantize : public ::testing::Test {
 protected:
  void SetUp() override {
    HONE_REQUIRE_CLI_BINARY();
    dir_ = fresh_temp_dir("quantize");
    out_ = (dir_ / "out.onnx").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  // The CNN fixture calibrated on the first 200 committed test images (already normalized floats).
  CliResult quantize_cnn(std::vector<std::string> extra, int limit = 200) {
    std::vector<std::string> args = {"quantize", cnn_, "-o", out_, "--calibration", images_, "--limit",
                                     std::to_string(limit), "--threads", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_hone(args);
  }
  fs::path dir_;
  std::string out_;
  std::string cnn_ = test::fixture("fashion_mnist_cnn.onnx"), mlp_ = test::fixture("fashion_mnist_mlp.onnx");
  std::string images_ = test::fixture("fashion_mnist_test_1000_images.npy");
  std::string labels_ = test::fixture("fashion_mnist_test_1000_labels.npy");
};

double accuracy(const std::string& model, const std::string& images, const std::string& labels) {
  Model m = load_onnx_file(model);
  std::unique_ptr<data::Dataset> d = data::open_dataset(images, {});
  std::vector<int64_t> l = data::read_labels(labels);
  return quant::top1_accuracy(m, *d, l, {.batch = 100, .threads = 1, .histograms = false, .progress = false,
                                         .label = ""});
}

TEST_F(CliQuantize, StaticPerChannelKeepsTheCnnsAccuracy) {
  CliResult r = quantize_cnn({"--per-channel"});
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  Model q = load_onnx_file(out_);
  EXPECT_EQ(count_op(q.graph, "QuantizeLinear"), 8);
  EXPECT_EQ(count_op(q.graph, "Relu"), 0);
  ASSERT_EQ(q.graph.inputs.size(), 1u);
  EXPECT_EQ(q.graph.inputs[0].name, "input");
  EXPECT_EQ(q.graph.outputs[0].name, "logits");
  EXPECT_TRUE(contains(r.out, "int8 layers: Conv 2, Gemm 3")) << r.out;
  EXPECT_TRUE(contains(r.out, "removed activations (the quantization's clamp does them exactly): Relu 4")) << r.out;
  EXPECT_TRUE(contains(r.out, "on the input's scale (run on int8 values): Flatten 1, MaxPool 2")) << r.out;
  EXPECT_TRUE(contains(r.out, "wrote " + out_)) << r.out;
  EXPECT_LT(fs::file_size(out_), fs::file_size(cnn_) / 2);
  // All 1000 committed test images (200 of them were the calibration data): within a point of fp32.
  double fp32 = accuracy(cnn_, images_, labels_), int8 = accuracy(out_, images_, labels_);
  EXPECT_NEAR(int8, fp32, 0.01) << "fp32 " << fp32 << ", int8 " << int8;
}

TEST_F(CliQuantize, ReportAndJson) {
  CliResult r = quantize_cnn({"--report", "--method", "percentile"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "report: quantized vs fp32 on the calibration data (200 samples)")) << r.out;
  for (const char* layer : {"/conv1/Conv", "/conv2/Conv", "/fc1/Gemm", "/fc2/Gemm", "/fc3/Gemm"})
    EXPECT_TRUE(contains(r.out, layer)) << layer;
  EXPECT_TRUE(contains(r.out, "output 'logits': SQNR")) << r.out;

  CliResult j = quantize_cnn({"--report", "--json", "--force", "--method", "mse"});
  ASSERT_EQ(j.status, 0) << j.err;
  json o = json::parse(j.out);  // throws, failing the test, unless stdout is exactly one JSON object
  EXPECT_EQ(o["mode"], "static");
  EXPECT_EQ(o["method"], "mse");
  EXPECT_EQ(o["activations"], "uint8");
  EXPECT_EQ(o["quantized"]["Conv"], 2);
  EXPECT_EQ(o["quantized"]["Gemm"], 3);
  EXPECT_EQ(o["removed_activations"].size(), 4u);
  EXPECT_EQ(o["pairs"], 8);
  EXPECT_EQ(o["calibration_samples"], 200);
  ASSERT_EQ(o["layers"].size(), 5u);
  for (const json& l : o["layers"]) {
    EXPECT_TRUE(l["sqnr_db"].is_number());
    EXPECT_GT(l["sqnr_db"].get<double>(), 20) << l.dump();
  }
  EXPECT_GT(o["output_sqnr_db"].get<double>(), 25);
  EXPECT_EQ(o["size_after"].get<uint64_t>(), fs::file_size(out_));
}

TEST_F(CliQuantize, DynamicAndWeightsOnlyNeedNoCalibration) {
  CliResult d = run_hone({"quantize", mlp_, "-o", out_, "--mode", "dynamic", "--per-channel"});
  ASSERT_EQ(d.status, 0) << d.err;
  Model q = load_onnx_file(out_);
  EXPECT_EQ(count_op(q.graph, "MatMulInteger"), 3);
  EXPECT_EQ(count_op(q.graph, "DynamicQuantizeLinear"), 3);
  EXPECT_TRUE(contains(d.out, "int8 layers: Gemm 3")) << d.out;
  // The MLP reads flat images: the committed [N, 1, 28, 28] test images are reshaped to its [N, 784] input.
  double fp32 = accuracy(mlp_, images_, labels_), int8 = accuracy(out_, images_, labels_);
  EXPECT_NEAR(int8, fp32, 0.01);

  std::string w = (dir_ / "w.onnx").string();
  CliResult wo = run_hone({"quantize", cnn_, "-o", w, "--mode", "weights-only"});
  ASSERT_EQ(wo.status, 0) << wo.err;
  Model qw = load_onnx_file(w);
  EXPECT_EQ(count_op(qw.graph, "QuantizeLinear"), 0);
  EXPECT_EQ(count_op(qw.graph, "DequantizeLinear"), 5);
  EXPECT_NEAR(accuracy(w, images_, labels_), accuracy(cnn_, images_, labels_), 0.01);
}

TEST_F(CliQuantize, ExcludeAndListNodes) {
  CliResult list = run_hone({"quantize", cnn_, "--list-nodes"});
  ASSERT_EQ(list.status, 0) << list.err;
  EXPECT_TRUE(contains(list.out, "/fc3/Gemm")) << list.out;
  CliResult r = quantize_cnn({"--exclude", "/fc3/Gemm,Conv"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "int8 layers: Gemm 2")) << r.out;
  EXPECT_TRUE(contains(r.out, "/fc3/Gemm (Gemm): excluded (--exclude)")) << r.out;
  EXPECT_TRUE(contains(r.out, "/conv1/Conv (Conv): excluded (--exclude)")) << r.out;
  CliResult bad = quantize_cnn({"--exclude", "no_such_node", "--force"});
  EXPECT_EQ(bad.status, 1);
  EXPECT_TRUE(contains(bad.err, "--exclude 'no_such_node' names neither a node nor an op type")) << bad.err;
}

TEST_F(CliQuantize, AccuracyTargets) {
  // An SQNR no 8-bit model reaches: it holds only with every layer float, which is an error, and nothing is written.
  CliResult r = quantize_cnn({"--min-sqnr", "150"}, 64);
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "cannot be met")) << r.err;
  EXPECT_FALSE(fs::exists(out_));
  // A reachable SQNR above the fully quantized model's: some layers stay float, named with what each changed.
  CliResult j = quantize_cnn({"--report", "--json"}, 64);
  ASSERT_EQ(j.status, 0) << j.err;
  double full = json::parse(j.out)["output_sqnr_db"].get<double>();
  CliResult s = quantize_cnn({"--min-sqnr", fmt::format("{:.2f}", full + 4), "--json", "--force"}, 64);
  ASSERT_EQ(s.status, 0) << s.err;
  json o = json::parse(s.out);
  const json& t = o["accuracy_target"];
  EXPECT_EQ(t["metric"], "sqnr_db");
  EXPECT_NEAR(t["quantized"].get<double>(), full, 0.01);
  ASSERT_GE(t["kept_float"].size(), 1u);
  EXPECT_GE(t["final"].get<double>(), full + 4);
  EXPECT_EQ(t["sensitivity"].size(), 5u);  // all five layers measured (all quantized but one)
  EXPECT_EQ(o["left_float"].size(), t["kept_float"].size());
  for (const json& l : o["left_float"]) EXPECT_EQ(l["reason"], "kept float (accuracy target)");
  // --sqnr-limit: the search measures on the first N calibration samples; it needs --min-sqnr.
  CliResult few = quantize_cnn({"--min-sqnr", fmt::format("{:.2f}", full + 1), "--sqnr-limit", "16", "--force"}, 64);
  ASSERT_EQ(few.status, 0) << few.err;
  EXPECT_TRUE(contains(few.out, "on the first 16 calibration samples, --sqnr-limit")) << few.out;
  // --eval-data with --min-sqnr: measured on data calibration did not see (the committed images past the 64
  // calibrated on, written to a file of their own); --sqnr-limit, which cuts the calibration data, is refused then.
  std::unique_ptr<data::Dataset> all = data::open_dataset(images_, {});
  std::string unseen = (dir_ / "unseen.npy").string();
  write_npy_file(all->batch(64, 200), unseen);
  CliResult held = quantize_cnn({"--min-sqnr", fmt::format("{:.2f}", full + 1), "--eval-data", unseen, "--json",
                                 "--force"}, 64);
  ASSERT_EQ(held.status, 0) << held.err;
  json hj = json::parse(held.out);
  EXPECT_GE(hj["accuracy_target"]["final"].get<double>(), full + 1);
  CliResult text = quantize_cnn({"--min-sqnr", fmt::format("{:.2f}", full + 1), "--eval-data", unseen,
                                 "--eval-limit", "50", "--force"}, 64);
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_TRUE(contains(text.out, "data calibration did not see")) << text.out;
  EXPECT_TRUE(contains(text.out, "50")) << text.out;
  CliResult both = quantize_cnn({"--min-sqnr", "20", "--eval-data", unseen, "--sqnr-limit", "16", "--force"}, 64);
  EXPECT_EQ(both.status, 2) << both.err;
  EXPECT_TRUE(contains(both.err, "with --eval-data use --eval-limit")) << both.err;
  CliResult lone = quantize_cnn({"--sqnr-limit", "16", "--force"}, 64);
  EXPECT_EQ(lone.status, 2) << lone.err;
  EXPECT_TRUE(contains(lone.err, "--sqnr-limit requires --min-sqnr")) << lone.err;
  // Top-1 against labels: a generous drop holds with everything quantized.
  CliResult a = quantize_cnn({"--max-accuracy-drop", "5", "--eval-data", images_, "--labels", labels_, "--force"});
  ASSERT_EQ(a.status, 0) << a.err;
  EXPECT_TRUE(contains(a.out, "met with every layer quantized")) << a.out;
}

TEST_F(CliQuantize, PerChannelRaisesTheOpsetOrSaysWhyNot) {
  // Opset 11 with a Clip (min / max inputs): raised to 13.
  Model m = quant::testing::cnn_model();
  m.opset_import = {{"", 11}};
  std::string f11 = (dir_ / "m11.onnx").string();
  save_model(m, f11);
  std::string data = (dir_ / "x.npy").string();
  write_npy_file(quant::testing::random_tensor({16, 1, 8, 8}, 3), data);
  CliResult r = run_hone({"quantize", f11, "-o", out_, "--calibration", data, "--per-channel"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "opset raised 11 -> 13")) << r.out;
  EXPECT_EQ(load_onnx_file(out_).opset(""), 13);
  // Opset 9 with an Upsample that shrinks (no opset-13 form): refused, saying why 13 is needed.
  Model u = empty_model(9);
  u.graph.inputs = {{"x", TypeInfo::tensor(DType::Float32, SymShape{1, 1, 4, 4}), ""}};
  u.graph.initializers["scales"] = filled(DType::Float32, {4}, 1, 0);
  u.graph.initializers["scales"].data<float>()[2] = 0.5f;
  u.graph.initializers["scales"].data<float>()[3] = 0.5f;
  u.graph.initializers["w"] = quant::testing::random_tensor({2, 1, 1, 1}, 4);
  u.graph.nodes = {make_node("Conv", {"x", "w"}, {"c"}, "conv"), make_node("Upsample", {"c", "scales"}, {"y"}, "up")};
  u.graph.outputs = {{"y", TypeInfo::tensor(DType::Float32), ""}};
  std::string f9 = (dir_ / "m9.onnx").string();
  save_model(u, f9);
  std::string x = (dir_ / "x4.npy").string();
  write_npy_file(quant::testing::random_tensor({2, 1, 4, 4}, 5), x);
  CliResult bad = run_hone({"quantize", f9, "-o", (dir_ / "u.onnx").string(), "--calibration", x, "--per-channel"});
  EXPECT_EQ(bad.status, 1);
  EXPECT_TRUE(contains(bad.err, "per-channel quantization needs DequantizeLinear's axis (opset 13)")) << bad.err;
  EXPECT_TRUE(contains(bad.err, "Upsample")) << bad.err;
}

TEST_F(CliQuantize, RefusesToOverwriteAndBadArguments) {
  // Never MODEL, and OUT only with --force.
  CliResult self = run_hone({"quantize", cnn_, "-o", cnn_, "--calibration", images_});
  EXPECT_EQ(self.status, 1);
  EXPECT_TRUE(contains(self.err, "is the input model")) << self.err;
  { std::ofstream(out_) << "keep me"; }
  CliResult exists = quantize_cnn({});
  EXPECT_EQ(exists.status, 1);
  EXPECT_TRUE(contains(exists.err, "exists; pass --force")) << exists.err;
  EXPECT_EQ(read_text_file(out_), "keep me");
  fs::remove(out_);
  // Static needs calibration data; --report and --min-sqnr need it in every mode.
  CliResult nocal = run_hone({"quantize", cnn_, "-o", out_});
  EXPECT_EQ(nocal.status, 1);
  EXPECT_TRUE(contains(nocal.err, "static quantization needs --calibration DATA")) << nocal.err;
  CliResult rep = run_hone({"quantize", mlp_, "-o", out_, "--mode", "dynamic", "--report"});
  EXPECT_EQ(rep.status, 1);
  EXPECT_TRUE(contains(rep.err, "--report measures against fp32 on the calibration data")) << rep.err;
  EXPECT_FALSE(fs::exists(out_));
  // Usage errors (exit 2).
  for (std::vector<std::string> args :
       {std::vector<std::string>{"--dtype", "int8", "--asymmetric"}, {"--dtype", "uint8", "--symmetric"},
        {"--max-accuracy-drop", "1"}, {"--method", "kl"}, {"--mode", "dynamic", "--method", "entropy"},
        {"--dtype", "fp16", "--per-channel"}, {"--min-sqnr", "20", "--max-accuracy-drop", "1"}}) {
    std::vector<std::string> full = {"quantize", cnn_, "-o", out_, "--calibration", images_};
    full.insert(full.end(), args.begin(), args.end());
    CliResult u = run_hone(full);
    EXPECT_EQ(u.status, 2) << args[0] << " " << args[1] << ": " << u.err;
  }
  // Equalization where per-tensor weights cannot absorb it.
  CliResult eq = run_hone({"quantize", cnn_, "-o", out_, "--calibration", images_, "--equalize"});
  EXPECT_EQ(eq.status, 1);
  EXPECT_TRUE(contains(eq.err, "--equalize needs static mode and --per-channel")) << eq.err;
  // A data set that does not fit the input names both shapes.
  std::string wrong = (dir_ / "wrong.npy").string();
  write_npy_file(quant::testing::random_tensor({4, 3, 5}, 1), wrong);
  CliResult shape = run_hone({"quantize", cnn_, "-o", out_, "--calibration", wrong});
  EXPECT_EQ(shape.status, 1);
  EXPECT_TRUE(contains(shape.err, "input")) << shape.err;
  EXPECT_FALSE(fs::exists(out_));
}

}  // namespace
}  // namespace hone::testing
