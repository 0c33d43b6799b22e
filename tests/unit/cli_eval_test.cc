// `hone eval`, driven through the built program: the Fashion-MNIST fixtures (expected accuracy computed from the
// PyTorch logits fixture, never typed in), Debian's IDX test set, an image folder, --reference, and the errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../cli/cli_harness.h"
#include "../cli/cli_models.h"
#include "bench/fidelity.h"
#include "data/npy.h"
#include "data/npz.h"
#include "test_paths.h"

namespace hone::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* const kIdxImages = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
const char* const kIdxLabels = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string fixture(const std::string& name) { return test::fixture(name); }

// Accuracy the PyTorch logits fixture implies for `model` ("cnn" or "mlp") on the first `n` labels.
AccuracyAccumulator expected_accuracy(const std::string& model, int64_t n = 1000) {
  Tensor logits = read_npy_file(fixture("fashion_mnist_test_1000_" + model + "_logits.npy"));
  std::vector<int64_t> labels = read_npy_file(fixture("fashion_mnist_test_1000_labels.npy")).to_int64_vector();
  AccuracyAccumulator a;
  a.add(Tensor::borrow(DType::Float32, {n, 10}, logits.data<float>()), labels.data(), n);
  return a;
}

json eval_json(const std::vector<std::string>& args) {
  std::vector<std::string> all = {"eval"};
  all.insert(all.end(), args.begin(), args.end());
  all.push_back("--json");
  CliResult r = run_hone(all);
  EXPECT_EQ(r.status, 0) << r.err;
  if (r.status != 0) return json::object();
  return json::parse(r.out);
}

class CliEval : public ::testing::Test {
 protected:
  void SetUp() override {
    HONE_REQUIRE_CLI_BINARY();
    dir_ = fresh_temp_dir("eval");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string write_npy(const std::string& name, const Tensor& t) const {
    write_npy_file(t, path(name), true);
    return path(name);
  }
  fs::path dir_;
  const std::string cnn_ = fixture("fashion_mnist_cnn.onnx"), mlp_ = fixture("fashion_mnist_mlp.onnx");
  const std::string images_ = fixture("fashion_mnist_test_1000_images.npy");
  const std::string labels_ = fixture("fashion_mnist_test_1000_labels.npy");
};

TEST_F(CliEval, CnnAccuracyOnTheFixtureIsWhatTheLogitsImply) {
  AccuracyAccumulator want = expected_accuracy("cnn");
  json j = eval_json({cnn_, "--data", images_, "--labels", labels_, "--threads", "1"});
  EXPECT_EQ(j["samples"], 1000);
  EXPECT_DOUBLE_EQ(j["top1"].get<double>(), want.top1());
  EXPECT_DOUBLE_EQ(j["top5"].get<double>(), want.top5());
  EXPECT_EQ(j["accuracy_output"], "logits");
  for (const char* key : {"cosine", "max_abs_error", "sqnr_db", "top1_agreement"}) EXPECT_TRUE(j[key].is_null()) << key;
  EXPECT_TRUE(j["per_output"].empty());

  CliResult text = run_hone({"eval", cnn_, "--data", images_, "--labels", labels_, "--batch", "64"});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_TRUE(contains(text.out, fmt::format("top-1  {:.4f}", want.top1()))) << text.out;
  EXPECT_TRUE(contains(text.out, "batches of 64 x [1x28x28] (16 batches)")) << text.out;
  EXPECT_TRUE(contains(text.out, "1000 samples of float32 [1x28x28], values unchanged")) << text.out;
}

TEST_F(CliEval, MlpTakesTheSameImagesReshaped) {
  AccuracyAccumulator want = expected_accuracy("mlp");
  json j = eval_json({mlp_, "--data", images_, "--labels", labels_, "--limit", "500"});
  EXPECT_EQ(j["samples"], 500);  // the 1000 labels serve the first 500 samples
  EXPECT_DOUBLE_EQ(j["top1"].get<double>(), expected_accuracy("mlp", 500).top1());
  json all = eval_json({mlp_, "--data", images_, "--labels", labels_});
  EXPECT_DOUBLE_EQ(all["top1"].get<double>(), want.top1());
}

TEST_F(CliEval, DebianIdxTestSet) {
  if (!fs::exists(kIdxImages)) GTEST_SKIP() << kIdxImages << " is not installed (dataset-fashion-mnist)";
  std::ifstream meta(fixture("fashion_mnist.json"));
  json recorded = json::parse(meta);
  // Raw uint8 pixels with the fixtures' normalization: the first 1000 must score as the logits fixture says.
  std::vector<std::string> norm = {"--mean", "0.286", "--std", "0.353"};
  std::vector<std::string> args = {cnn_, "--data", kIdxImages, "--labels", kIdxLabels, "--limit", "1000"};
  args.insert(args.end(), norm.begin(), norm.end());
  json first = eval_json(args);
  EXPECT_DOUBLE_EQ(first["top1"].get<double>(), expected_accuracy("cnn").top1());
  // All 10,000 (about a tenth of a second): printed, and near what PyTorch measured.
  args = {cnn_, "--data", kIdxImages, "--labels", kIdxLabels};
  args.insert(args.end(), norm.begin(), norm.end());
  json full = eval_json(args);
  ASSERT_EQ(full["samples"], 10000);
  std::printf("Fashion-MNIST CNN fixture, full test set (10,000) in Hone: top-1 %.4f, top-5 %.4f (PyTorch: %.4f)\n",
              full["top1"].get<double>(), full["top5"].get<double>(),
              recorded["models"]["cnn"]["test_accuracy"].get<double>());
  EXPECT_NEAR(full["top1"].get<double>(), recorded["models"]["cnn"]["test_accuracy"].get<double>(), 0.002);
}

TEST_F(CliEval, ReferenceFidelity) {
  json self = eval_json({cnn_, "--data", images_, "--reference", cnn_});
  EXPECT_EQ(self["cosine"], 1.0);
  EXPECT_TRUE(self["sqnr_db"].is_null());  // infinite
  EXPECT_EQ(self["max_abs_error"], 0.0);
  EXPECT_EQ(self["top1_agreement"], 1.0);
  EXPECT_TRUE(self["top1"].is_null());
  ASSERT_EQ(self["per_output"].size(), 1u);
  EXPECT_EQ(self["per_output"][0]["name"], "logits");
  EXPECT_EQ(self["per_output"][0]["elements"], 10000);
  CliResult text = run_hone({"eval", cnn_, "--data", images_, "--reference", cnn_});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_TRUE(contains(text.out, "1.000000")) << text.out;
  EXPECT_TRUE(contains(text.out, "inf")) << text.out;

  // The MLP against the CNN: what their PyTorch logits say, within float noise.
  Tensor cnn_logits = read_npy_file(fixture("fashion_mnist_test_1000_cnn_logits.npy"));
  Tensor mlp_logits = read_npy_file(fixture("fashion_mnist_test_1000_mlp_logits.npy"));
  FidelityAccumulator want;
  want.add(mlp_logits, cnn_logits);
  json j = eval_json({mlp_, "--data", images_, "--reference", cnn_});
  EXPECT_NEAR(j["cosine"].get<double>(), want.cosine(), 1e-5);
  EXPECT_NEAR(j["sqnr_db"].get<double>(), want.sqnr_db(), 1e-3);
  EXPECT_NEAR(j["max_abs_error"].get<double>(), want.max_abs_error(), 1e-3);
  EXPECT_NEAR(j["top1_agreement"].get<double>(), want.top1_agreement(), 0.0015);
}

TEST_F(CliEval, ImageFolderLabelsComeFromSubfolders) {
  // [N,3,4,4] -> mean per channel [N,3]: the class scores of a tiny three-class "classifier".
  Model m = empty_model(13);
  m.graph.inputs = {{"img", TypeInfo::tensor(DType::Float32, SymShape{Dim::named("N"), 3, 4, 4})}};
  m.graph.nodes.push_back(make_node("GlobalAveragePool", {"img"}, {"pooled"}, "gap"));
  m.graph.nodes.push_back(make_node("Flatten", {"pooled"}, {"scores"}, "flatten"));
  m.graph.outputs = {{"scores", TypeInfo::tensor(DType::Float32)}};
  std::string model = save_model(m, path("gap.onnx"));
  auto expected = read_npz_file(fixture("images/classes_expected.npz"));
  const Tensor& imgs = expected[0].second;  // PyTorch's preprocessing of the folder
  std::vector<int64_t> labels = expected[1].second.to_int64_vector();
  Tensor scores(DType::Float32, {3, 3});
  for (int64_t i = 0; i < 3 * 3; ++i) {
    double s = 0;
    for (int64_t p = 0; p < 16; ++p) s += imgs.data<float>()[i * 16 + p];
    scores.data<float>()[i] = static_cast<float>(s / 16);
  }
  AccuracyAccumulator want;
  want.add(scores, labels.data(), 3);
  json j = eval_json({model, "--data", fixture("images/classes"), "--resize", "5", "--crop", "4", "--mean",
                      "0.485,0.456,0.406", "--std", "0.229,0.224,0.225"});
  EXPECT_EQ(j["samples"], 3);
  EXPECT_EQ(j["labels"], "the class subfolders");
  EXPECT_DOUBLE_EQ(j["top1"].get<double>(), want.top1());
  EXPECT_TRUE(j["top5"].is_null());  // three classes
  CliResult text = run_hone({"eval", model, "--data", fixture("images/classes"), "--resize", "4x4"});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_TRUE(contains(text.out, "3 images in 2 classes")) << text.out;
  EXPECT_TRUE(contains(text.out, "preprocessing: resize 4x4")) << text.out;
  EXPECT_TRUE(contains(text.out, "top-5  n/a")) << text.out;
}

TEST_F(CliEval, ErrorsNameWhatIsWrong) {
  CliResult r = run_hone({"eval", path("missing.onnx"), "--data", images_});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "missing.onnx")) << r.err;
  r = run_hone({"eval", cnn_, "--data", path("nope.npy")});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "nope.npy: no such file")) << r.err;
  r = run_hone({"eval", cnn_, "--data", write_npy("rgb.npy", Tensor(DType::UInt8, {2, 3, 32, 32}))});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "input 'input' takes [batchx1x28x28]")) << r.err;
  EXPECT_TRUE(contains(r.err, "samples of [3x32x32] (3072 values) do not fit")) << r.err;
  r = run_hone({"eval", cnn_, "--data", images_, "--labels", write_npy("l.npy", Tensor(DType::Int64, {999}))});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "l.npy holds 999 labels but the data has 1000 samples")) << r.err;
  r = run_hone({"eval", cnn_, "--data", images_, "--labels", write_npy("f.npy", Tensor(DType::Float32, {1000}))});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "labels must be integers")) << r.err;
  r = run_hone({"eval", cnn_, "--data", images_, "--reference", save_model(elementwise_model(), path("ew.onnx"))});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "the model has 1 output and the reference model 2")) << r.err;
  r = run_hone({"eval", cnn_, "--data", images_, "--resize", "8"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "apply to image folders")) << r.err;
}

TEST_F(CliEval, MalformedDataOptionsAreUsageErrors) {
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"--resize", "abc"}, {"--crop", "1x2x3"}, {"--mean", "0.5,x"}, {"--std", "0"}, {"--scale", "1/0"},
           {"--layout", "chw"}, {"--color", "cmyk"}, {"--limit", "0"}, {"--batch", "-1"}}) {
    std::vector<std::string> args = {"eval", cnn_, "--data", images_};
    args.insert(args.end(), bad.begin(), bad.end());
    CliResult r = run_hone(args);
    EXPECT_EQ(r.status, 2) << bad[0] << " " << bad[1] << ": " << r.err;
    EXPECT_TRUE(contains(r.err, bad[0])) << r.err;
  }
  CliResult r = run_hone({"eval", cnn_});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "--data")) << r.err;
  r = run_hone({"eval", "--help"});
  EXPECT_EQ(r.status, 0);
  for (const char* opt : {"--resize", "--crop", "--scale", "--mean", "--std", "--layout", "--color", "--limit",
                          "--batch", "--reference", "--labels", "--json"})
    EXPECT_TRUE(contains(r.out, opt)) << opt;
}

}  // namespace
}  // namespace hone::testing
