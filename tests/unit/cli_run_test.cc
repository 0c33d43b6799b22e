// `hone run`, driven through the built program.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../cli/cli_harness.h"
#include "../cli/cli_models.h"
#include "data/npy.h"

namespace hone::testing {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class CliRun : public ::testing::Test {
 protected:
  void SetUp() override {
    HONE_REQUIRE_CLI_BINARY();
    dir_ = fresh_temp_dir("run");
    model_ = save_model(elementwise_model(), (dir_ / "elementwise.onnx").string());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string write_npy(const std::string& name, const Tensor& t) const {
    write_npy_file(t, path(name), true);
    return path(name);
  }
  fs::path dir_;
  std::string model_;
};

TEST_F(CliRun, PrintsOutputsAndAnnouncesRandomInputs) {
  CliResult r = run_hone({"run", model_, "--threads", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "filled 1 input with random data (seed 0")) << r.out;
  EXPECT_TRUE(contains(r.out, "'x': float32 [1x4]")) << r.out;
  EXPECT_TRUE(contains(r.out, "symbolic dimension 'batch' set to 1")) << r.out;
  EXPECT_TRUE(contains(r.out, "2 outputs")) << r.out;
  EXPECT_TRUE(contains(r.out, "../odd/name:1")) << r.out;
  EXPECT_TRUE(contains(r.out, "min ")) << r.out;
  EXPECT_TRUE(contains(r.out, "mean ")) << r.out;
  // The same seed gives the same numbers; another seed other ones.
  CliResult again = run_hone({"run", model_, "--threads", "1"});
  CliResult other = run_hone({"run", model_, "--threads", "1", "--seed", "7"});
  auto values = [](const std::string& out) { return out.substr(out.find("outputs:")); };
  EXPECT_EQ(values(r.out), values(again.out));
  EXPECT_NE(values(r.out), values(other.out));
  EXPECT_TRUE(contains(other.out, "seed 7")) << other.out;
}

TEST_F(CliRun, WritesOutputsAsNpyInsideTheFolderOnly) {
  Tensor x = filled(DType::Float32, {2, 4}, -2, 0.5);
  std::string xf = write_npy("x.npy", x);
  std::string out = path("out/nested");
  CliResult r = run_hone({"run", model_, "--input", "x=" + xf, "--output-dir", out});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(contains(r.out, "random data")) << r.out;
  EXPECT_TRUE(contains(r.out, "input 'x' from " + xf)) << r.out;
  Tensor y = read_npy_file(out + "/y.npy");
  ASSERT_EQ(y.shape(), (Shape{2, 4}));
  const float c[4] = {-1.5f, -0.5f, 0.5f, 1.5f};
  for (int64_t i = 0; i < 8; ++i) {
    float want = std::max(0.0f, (x.data<float>()[i] + c[i % 4]) * 2.0f) - 0.25f;
    EXPECT_FLOAT_EQ(y.data<float>()[i], want) << i;
  }
  // "../odd/name:1" becomes a plain file name inside the folder.
  EXPECT_TRUE(fs::exists(out + "/.._odd_name_1.npy")) << r.out;
  EXPECT_FALSE(fs::exists(path("out/odd")));
  EXPECT_EQ(read_npy_file(out + "/.._odd_name_1.npy").shape(), (Shape{2, 4}));

  // Existing files are kept unless --force.
  CliResult again = run_hone({"run", model_, "--input", "x=" + xf, "--output-dir", out});
  EXPECT_EQ(again.status, 1);
  EXPECT_TRUE(contains(again.err, "hone: error: ")) << again.err;
  EXPECT_TRUE(contains(again.err, "already exists")) << again.err;
  EXPECT_TRUE(contains(again.err, "--force")) << again.err;
  CliResult forced = run_hone({"run", model_, "--input", "x=" + xf, "--output-dir", out, "--force"});
  EXPECT_EQ(forced.status, 0) << forced.err;
}

TEST_F(CliRun, BadInputsFailNamingTheTensorAndFile) {
  std::string good = write_npy("good.npy", filled(DType::Float32, {1, 4}));
  std::string wrong_shape = write_npy("shape.npy", filled(DType::Float32, {1, 5}));
  std::string wrong_rank = write_npy("rank.npy", filled(DType::Float32, {4}));
  std::string wrong_type = write_npy("type.npy", filled(DType::Int64, {1, 4}));
  { std::ofstream(path("empty.npy")); }
  { std::ofstream(path("junk.npy")) << "definitely not numpy"; }
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> expect;
  };
  std::vector<Case> cases = {
      {{"--input", "nope=" + good}, {"no input named 'nope'", "'x'"}},
      {{"--input", "x=" + wrong_shape}, {"input 'x'", wrong_shape, "1x5"}},
      {{"--input", "x=" + wrong_rank}, {"input 'x'", wrong_rank}},
      {{"--input", "x=" + wrong_type}, {"input 'x'", wrong_type, "float32", "int64"}},
      {{"--input", "x=" + path("missing.npy")}, {path("missing.npy")}},
      {{"--input", "x=" + path("empty.npy")}, {path("empty.npy"), "empty"}},
      {{"--input", "x=" + path("junk.npy")}, {path("junk.npy"), "not a .npy file"}},
      {{"--input", "x=" + good, "--input", "x=" + good}, {"'x' is given twice"}},
      {{"--input", good}, {"--input expects NAME=VALUE"}},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"run", model_};
    args.insert(args.end(), c.args.begin(), c.args.end());
    CliResult r = run_hone(args);
    EXPECT_EQ(r.status, 1) << c.args[1] << "\n" << r.err;
    EXPECT_TRUE(r.err.rfind("hone: error: ", 0) == 0) << r.err;
    for (const std::string& e : c.expect) EXPECT_TRUE(contains(r.err, e)) << "'" << e << "' not in: " << r.err;
  }
}

TEST_F(CliRun, BadModelsFailNamingTheFile) {
  std::string bytes = read_text_file(model_);
  std::string truncated = path("truncated.onnx");
  { std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2); }
  std::string empty = path("empty.onnx");
  { std::ofstream(empty, std::ios::binary); }
  for (const std::string& m : {truncated, empty, path("missing.onnx"), dir_.string()}) {
    CliResult r = run_hone({"run", m});
    EXPECT_EQ(r.status, 1) << m << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "hone: error: ")) << r.err;
    EXPECT_TRUE(contains(r.err, m)) << r.err;
  }
}

TEST_F(CliRun, OutputDirThatIsAFileIsRefused) {
  { std::ofstream(path("plain")) << "x"; }
  CliResult r = run_hone({"run", model_, "--output-dir", path("plain")});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, path("plain"))) << r.err;
}

TEST(CliUsage, HelpVersionAndUsageErrors) {
  HONE_REQUIRE_CLI_BINARY();
  CliResult v = run_hone({"--version"});
  EXPECT_EQ(v.status, 0);
  EXPECT_TRUE(contains(v.out, "hone 0.")) << v.out;
  for (const auto& args : std::vector<std::vector<std::string>>{{"--help"}, {"help"}}) {
    CliResult h = run_hone(args);
    EXPECT_EQ(h.status, 0);
    EXPECT_TRUE(contains(h.out, "run") && contains(h.out, "inspect")) << h.out;
  }
  CliResult hr = run_hone({"help", "run"});
  EXPECT_EQ(hr.status, 0);
  EXPECT_TRUE(contains(hr.out, "--output-dir")) << hr.out;
  CliResult hi = run_hone({"inspect", "--help"});
  EXPECT_EQ(hi.status, 0);
  EXPECT_TRUE(contains(hi.out, "--target")) << hi.out;
  for (const auto& args : std::vector<std::vector<std::string>>{
           {}, {"bogus"}, {"run"}, {"run", "m.onnx", "--no-such-flag"}, {"run", "m.onnx", "--threads", "-3"},
           {"help", "bogus"}}) {
    CliResult u = run_hone(args);
    EXPECT_EQ(u.status, 2) << (args.empty() ? "" : args[0]);
    EXPECT_TRUE(contains(u.err, "hone: error: ")) << u.err;
  }
}

// The committed Fashion-MNIST CNN, fed the committed test images, reproduces PyTorch's logits.
TEST(CliFixtures, CnnMatchesPyTorchLogits) {
  HONE_REQUIRE_CLI_BINARY();
  std::string fx = std::string(HONE_SOURCE_DIR) + "/tests/fixtures/";
  fs::path dir = fresh_temp_dir("fixture");
  CliResult r = run_hone({"run", fx + "fashion_mnist_cnn.onnx", "--input",
                          "input=" + fx + "fashion_mnist_test_1000_images.npy", "--output-dir", dir.string()});
  if (r.status != 0 && contains(r.err, "unsupported operator")) GTEST_SKIP() << r.err;
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "logits  1000x10")) << r.out;
  Tensor got = read_npy_file((dir / "logits.npy").string());
  Tensor want = read_npy_file(fx + "fashion_mnist_test_1000_cnn_logits.npy");
  ASSERT_EQ(got.shape(), want.shape());
  float worst = 0;
  for (int64_t i = 0; i < got.numel(); ++i)
    worst = std::max(worst, std::abs(got.data<float>()[i] - want.data<float>()[i]));
  EXPECT_LT(worst, 1e-3f);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace hone::testing
