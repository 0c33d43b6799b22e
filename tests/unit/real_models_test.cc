// Real models agree with ONNX Runtime (npm onnxruntime-node 1.30, run by tests/peer/ort_run.js) on fixed random
// inputs: PaddleOCR v4 det/rec/cls and openWakeWord melspectrogram/embedding/hey_jarvis, within rtol 1e-3 and
// atol 1e-4. Also: the Fashion-MNIST fixtures reproduce PyTorch's logits and accuracy.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <fstream>
#include <random>

#include "data/npy.h"
#include "hone/hone.h"
#include "test_paths.h"

namespace fs = std::filesystem;

namespace hone {
namespace {

struct RealModel {
  const char* rel_path;
  Shape input_shape;
  float lo, hi;  // uniform input range
};

std::string shell_quote(const std::string& s) { return "'" + s + "'"; }

// Runs ONNX Runtime on `inputs` (written as .npy) and reads its outputs back.
std::vector<Tensor> run_ort(const std::string& model, const std::vector<std::pair<std::string, Tensor>>& inputs,
                            const std::string& dir) {
  std::string cmd = "node " + shell_quote(test::source_dir() + "/tests/peer/ort_run.js") + " " + shell_quote(model) + " " +
                    shell_quote(dir);
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string f = dir + "/in" + std::to_string(i) + ".npy";
    write_npy_file(inputs[i].second, f, true);
    cmd += " " + shell_quote(inputs[i].first + "=" + f);
  }
  cmd += " > " + shell_quote(dir + "/ort.log") + " 2>&1";
  int rc = std::system(cmd.c_str());
  if (rc != 0) {
    std::ifstream log(dir + "/ort.log");
    std::string text((std::istreambuf_iterator<char>(log)), {});
    ADD_FAILURE() << "ONNX Runtime failed on " << model << ":\n" << text;
    return {};
  }
  std::vector<Tensor> out;
  for (int i = 0; fs::exists(dir + "/" + std::to_string(i) + ".npy"); ++i) out.push_back(read_npy_file(dir + "/" + std::to_string(i) + ".npy"));
  return out;
}

void expect_close(const Tensor& got, const Tensor& want, double rtol, double atol, const std::string& what) {
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what;
  int64_t bad = 0, first = -1;
  double max_err = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    double g = got.get_double(i), w = want.get_double(i);
    double err = std::fabs(g - w);
    max_err = std::max(max_err, err);
    if (!(err <= atol + rtol * std::fabs(w))) {
      if (first < 0) first = i;
      ++bad;
    }
  }
  std::cout << "[ compare  ] " << what << ": max abs error " << max_err << " over " << want.numel() << " elements\n";
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << want.numel() << " elements differ; first at " << first
                    << " (hone " << (first >= 0 ? got.get_double(first) : 0) << ", ort "
                    << (first >= 0 ? want.get_double(first) : 0) << "); max abs error " << max_err;
}

class AgreesWithOnnxRuntime : public ::testing::TestWithParam<RealModel> {};

TEST_P(AgreesWithOnnxRuntime, OnFixedRandomInputs) {
  const RealModel& rm = GetParam();
  std::string path = test::npm_model(rm.rel_path);
  ASSERT_TRUE(fs::exists(path)) << path << " is missing: run scripts/install_deps.sh";
  Session s = Session::load(path, {.threads = 1});
  ASSERT_EQ(s.inputs().size(), 1u);
  Tensor x(DType::Float32, rm.input_shape);
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> dist(rm.lo, rm.hi);
  for (float& v : x.span<float>()) v = dist(rng);
  std::vector<Tensor> got = s.run({{s.inputs()[0].name, x}});

  fs::path dir = fs::temp_directory_path() / ("hone_ort_" + fs::path(path).stem().string() + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::vector<Tensor> want = run_ort(path, {{s.inputs()[0].name, x}}, dir.string());
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) expect_close(got[i], want[i], 1e-3, 1e-4, path + " output " + s.outputs()[i].name);
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(
    RealModels, AgreesWithOnnxRuntime,
    ::testing::Values(RealModel{test::kPaddleDet, {1, 3, 640, 640}, 0.f, 1.f},
                      RealModel{test::kPaddleRec, {1, 3, 48, 320}, 0.f, 1.f},
                      RealModel{test::kPaddleCls, {1, 3, 48, 192}, 0.f, 1.f},
                      RealModel{test::kMelspec, {1, 16000}, -3000.f, 3000.f},
                      RealModel{test::kEmbedding, {1, 76, 32, 1}, -2.f, 2.f},
                      RealModel{test::kHeyJarvis, {1, 16, 96}, -2.f, 2.f}),
    [](const ::testing::TestParamInfo<RealModel>& info) {
      std::string stem = fs::path(info.param.rel_path).stem().string();
      for (char& c : stem)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return stem;
    });

TEST(FashionMnistFixtures, ReproducePyTorchLogitsAndAccuracy) {
  Tensor images = read_npy_file(test::fixture("fashion_mnist_test_1000_images.npy"));
  Tensor labels = read_npy_file(test::fixture("fashion_mnist_test_1000_labels.npy"));
  ASSERT_EQ(images.shape(), (Shape{1000, 1, 28, 28}));
  for (const char* which : {"cnn", "mlp"}) {
    SCOPED_TRACE(which);
    Session s = Session::load(test::fixture(std::string("fashion_mnist_") + which + ".onnx"), {.threads = 1});
    Tensor x = std::string(which) == "mlp" ? images.reshaped({1000, 784}) : images;
    std::vector<Tensor> out = s.run({{"input", x}});
    Tensor want = read_npy_file(test::fixture(std::string("fashion_mnist_test_1000_") + which + "_logits.npy"));
    expect_close(out[0], want, 1e-4, 1e-4, which);
    int correct = 0;
    for (int64_t i = 0; i < 1000; ++i) {
      const float* row = out[0].data<float>() + i * 10;
      int best = static_cast<int>(std::max_element(row, row + 10) - row);
      correct += best == labels.data<int64_t>()[i];
    }
    // fashion_mnist.json records PyTorch's accuracy on this slice: 0.903 (CNN) and 0.900 (MLP).
    EXPECT_EQ(correct, std::string(which) == "cnn" ? 903 : 900);
  }
}

}  // namespace
}  // namespace hone
