// `hone quantize --dtype fp16|bf16`, driven through the built program: the file it writes (float16 / bfloat16 inside,
// float32 at the graph boundary, opset 22 for bfloat16 convolutions), what it prints and its --json keys, --exclude,
// calibration data keeping overflowing values float32, and that the written models compute what the float32 one
// does within the type's precision (hone eval --reference).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "../cli/cli_harness.h"
#include "data/npy.h"
#include "ir/onnx/onnx_io.h"
#include "test_paths.h"

namespace hone::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class CliQuantizeFloat : public ::testing::Test {
 protected:
  void SetUp() override {
    HONE_REQUIRE_CLI_BINARY();
    dir_ = fresh_temp_dir("quantize-float");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
  std::string cnn_ = test::fixture("fashion_mnist_cnn.onnx");
  std::string images_ = test::fixture("fashion_mnist_test_1000_images.npy");
};

TEST_F(CliQuantizeFloat, Float16FileAndReport) {
  CliResult r = run_hone({"quantize", cnn_, "-o", path("cnn_fp16.onnx"), "--dtype", "fp16"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "converted to float16")) << r.out;
  // No calibration data: activation ranges unchecked, said loudly with what to do.
  EXPECT_TRUE(contains(r.err, "WARNING")) << r.err;
  EXPECT_TRUE(contains(r.err, "--calibration DATA")) << r.err;
  Model m = load_onnx_file(path("cnn_fp16.onnx"));
  EXPECT_EQ(m.graph.inputs[0].type.elem, DType::Float32);
  EXPECT_EQ(m.graph.outputs[0].type.elem, DType::Float32);
  for (const auto& [name, t] : m.graph.initializers) EXPECT_EQ(t.dtype(), DType::Float16) << name;
  EXPECT_LT(fs::file_size(path("cnn_fp16.onnx")) * 1.8, fs::file_size(cnn_));
  // Never overwrites without --force.
  CliResult again = run_hone({"quantize", cnn_, "-o", path("cnn_fp16.onnx"), "--dtype", "fp16"});
  EXPECT_NE(again.status, 0);
}

TEST_F(CliQuantizeFloat, BFloat16JsonAndFidelity) {
  CliResult r = run_hone({"quantize", cnn_, "-o", path("cnn_bf16.onnx"), "--dtype", "bf16", "--calibration", images_,
                          "--limit", "64", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["dtype"], "bf16");
  EXPECT_EQ(j["opset_after"], 22);  // bfloat16 Conv needs opset 22
  EXPECT_EQ(j["calibration_samples"], 64);
  EXPECT_EQ(j["kept_float32"].size(), 0u);
  EXPECT_TRUE(j["ranges_checked"].get<bool>());
  EXPECT_LE(j["output_error"].get<double>(), 1e-2);  // checked on the calibration data (--max-output-error 0.01)
  EXPECT_DOUBLE_EQ(j["low_precision_share"].get<double>(), 1.0);
  EXPECT_GT(j["converted_nodes"].get<int>(), 0);
  EXPECT_LT(j["size_after"].get<double>(), j["size_before"].get<double>());
  Model m = load_onnx_file(path("cnn_bf16.onnx"));
  EXPECT_EQ(m.opset(""), 22);
  // The bfloat16 model against the float32 one on 200 test images.
  CliResult e = run_hone({"eval", path("cnn_bf16.onnx"), "--data", images_, "--limit", "200", "--reference", cnn_,
                          "--json"});
  ASSERT_EQ(e.status, 0) << e.err;
  json f = json::parse(e.out);
  EXPECT_GT(f["cosine"].get<double>(), 0.9999);
  EXPECT_GT(f["sqnr_db"].get<double>(), 35.0);
  EXPECT_LT(f["sqnr_db"].get<double>(), 80.0) << "bfloat16 computed like float32?";
  EXPECT_GE(f["top1_agreement"].get<double>(), 0.99);
}

TEST_F(CliQuantizeFloat, ExcludeAndCalibrationKeepFloat32) {
  // The images scaled by 3000 take the fully connected layers beyond float16's safe range: calibration finds it.
  Tensor images = read_npy_file(images_);
  Tensor big(DType::Float32, {32, 1, 28, 28});
  for (int64_t i = 0; i < big.numel(); ++i) big.data<float>()[i] = images.data<float>()[i] * 3000.f;
  write_npy_file(big, path("big.npy"));
  CliResult r = run_hone({"quantize", cnn_, "-o", path("out.onnx"), "--dtype", "fp16", "--calibration",
                          path("big.npy"), "--exclude", "Conv"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "kept float32")) << r.out;
  EXPECT_TRUE(contains(r.out, "on the calibration data")) << r.out;
  EXPECT_TRUE(contains(r.out, "excluded by op type")) << r.out;
  EXPECT_TRUE(contains(r.out, "/fc1/Gemm (Gemm): writes")) << r.out;
  Model m = load_onnx_file(path("out.onnx"));
  for (const Node& n : m.graph.nodes)
    if (n.op_type == "Gemm" || n.op_type == "Conv")
      EXPECT_EQ(m.graph.initializers.at(n.inputs[1]).dtype(), DType::Float32) << n.name;
}

TEST_F(CliQuantizeFloat, CalibrationThatDoesNotFitIsAnError) {
  Tensor wrong(DType::Float32, {4, 3, 9, 9});
  write_npy_file(wrong, path("wrong.npy"));
  CliResult r = run_hone({"quantize", cnn_, "-o", path("out.onnx"), "--dtype", "bf16", "--calibration",
                          path("wrong.npy")});
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.err, "input")) << r.err;
  EXPECT_FALSE(fs::exists(path("out.onnx")));
}

}  // namespace
}  // namespace hone::testing
