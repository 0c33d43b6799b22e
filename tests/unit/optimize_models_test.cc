// The bench set through `hone optimize`'s default pipeline (PaddleOCR v4 det/rec/cls, openWakeWord melspectrogram /
// embedding / hey_jarvis, the Fashion-MNIST fixtures, the RepVGG fixture when it exists): the written file computes
// what the original computes, in Hone and in ONNX Runtime (tests/peer/ort_agree.js), within rtol 1e-4 / atol 1e-5;
// PaddleOCR loses at least a third of its nodes. Node counts before and after are printed. Models that are not
// installed are skipped, saying so.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <sstream>

#include "hone/hone.h"
#include "ir/onnx/onnx_io.h"
#include "passes/pass_manager.h"
#include "test_paths.h"

namespace fs = std::filesystem;

namespace hone {
namespace {

constexpr double kRtol = 1e-4, kAtol = 1e-5;

struct BenchModel {
  const char* name;
  std::string path;
  Shape input_shape;  // empty: the declared one, symbolic dims set to 1
  float lo, hi;       // inputs uniform in [lo, hi)
  bool paddle = false;
};

std::vector<BenchModel> bench_set() {
  return {{"paddle_det", test::npm_model(test::kPaddleDet), {1, 3, 640, 640}, 0.f, 1.f, true},
          {"paddle_rec", test::npm_model(test::kPaddleRec), {1, 3, 48, 320}, 0.f, 1.f, true},
          {"paddle_cls", test::npm_model(test::kPaddleCls), {1, 3, 48, 192}, 0.f, 1.f, true},
          {"melspectrogram", test::npm_model(test::kMelspec), {1, 16000}, -3000.f, 3000.f},
          {"embedding_model", test::npm_model(test::kEmbedding), {1, 76, 32, 1}, -2.f, 2.f},
          {"hey_jarvis", test::npm_model(test::kHeyJarvis), {1, 16, 96}, -2.f, 2.f},
          {"fashion_mnist_cnn", test::fixture("fashion_mnist_cnn.onnx"), {1, 1, 28, 28}, 0.f, 1.f},
          {"fashion_mnist_mlp", test::fixture("fashion_mnist_mlp.onnx"), {1, 784}, 0.f, 1.f},
          {"repvgg_tiny", test::fixture("repvgg_tiny.onnx"), {}, -1.f, 1.f}};
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string shape_arg(const Shape& s) {
  std::string out;
  for (int64_t d : s) out += (out.empty() ? "" : "x") + std::to_string(d);
  return out;
}

Shape input_shape_of(const BenchModel& bm, const ValueInfo& input) {
  if (!bm.input_shape.empty()) return bm.input_shape;
  Shape s;
  if (input.type.shape)
    for (const Dim& d : *input.type.shape) s.push_back(d.known() ? d.value : 1);
  return s;
}

// The original, and the optimized model as written to `dir` and read back.
struct Optimized {
  Model original;
  std::string original_path, optimized_path;
  Shape shape;
  OptimizeReport report;
};

Optimized optimize_to_file(const BenchModel& bm, const fs::path& dir) {
  Optimized o;
  o.original_path = bm.path;
  o.original = load_onnx_file(bm.path);
  o.shape = input_shape_of(bm, o.original.graph.inputs.at(0));
  Model m = o.original;
  OptimizeOptions opt;
  opt.input_shapes = {{m.graph.inputs.at(0).name, o.shape}};
  o.report = optimize_model(m, opt);
  o.optimized_path = (dir / (std::string(bm.name) + "_optimized.onnx")).string();
  save_onnx_file(m, o.optimized_path, /*overwrite=*/true);
  const OptimizeReport& r = o.report;
  double drop = r.nodes_before ? 100.0 * static_cast<double>(r.nodes_before - r.nodes_after) /
                                     static_cast<double>(r.nodes_before)
                               : 0;
  std::string passes;
  for (const PassStats& p : r.passes)
    if (p.rewrites) passes += fmt::format("{}{} {}", passes.empty() ? "" : ", ", p.name, p.rewrites);
  std::cout << fmt::format("[ optimize ] {}: nodes {} -> {} (-{:.1f}%), parameters {} -> {}, {} round{}; "
                           "rewrites: {}\n",
                           bm.name, r.nodes_before, r.nodes_after, drop, r.params_before, r.params_after, r.rounds,
                           r.rounds == 1 ? "" : "s", passes.empty() ? "none" : passes);
  return o;
}

class OptimizedBenchModel : public ::testing::TestWithParam<BenchModel> {
 protected:
  void SetUp() override {
    if (!fs::exists(GetParam().path)) GTEST_SKIP() << GetParam().path << " is not there (scripts/install_deps.sh)";
    dir_ = fs::temp_directory_path() / fmt::format("hone-optimize-models-{}-{}", ::getpid(), GetParam().name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  fs::path dir_;
};

TEST_P(OptimizedBenchModel, HoneGivesTheOriginalsOutputs) {
  const BenchModel& bm = GetParam();
  Optimized o = optimize_to_file(bm, dir_);
  Model written = load_onnx_file(o.optimized_path);
  verify_graph(written.graph);

  // Standard ONNX only (no hone-domain node), and the model's own fields kept.
  std::set<std::string> domains;
  for (const Node& n : o.original.graph.nodes) domains.insert(n.domain);
  for (const Node& n : written.graph.nodes)
    EXPECT_TRUE(domains.count(n.domain)) << n.name << " (" << n.domain << "." << n.op_type << ") is new";
  EXPECT_EQ(written.ir_version, o.original.ir_version);
  EXPECT_EQ(written.producer_name, o.original.producer_name);
  ASSERT_EQ(written.opset_import.size(), o.original.opset_import.size());
  for (const OperatorSetId& id : o.original.opset_import) EXPECT_EQ(written.opset(id.domain), id.version);
  ASSERT_EQ(written.graph.outputs.size(), o.original.graph.outputs.size());
  for (size_t i = 0; i < written.graph.outputs.size(); ++i)
    EXPECT_EQ(written.graph.outputs[i].name, o.original.graph.outputs[i].name);

  if (bm.paddle)  // the bar: at least a third of the nodes go
    EXPECT_LE(o.report.nodes_after * 3, o.report.nodes_before * 2)
        << o.report.nodes_before << " -> " << o.report.nodes_after;

  Tensor x(DType::Float32, o.shape);
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> dist(bm.lo, bm.hi);
  for (float& v : x.span<float>()) v = dist(rng);
  const std::string& name = o.original.graph.inputs.at(0).name;
  Session a(o.original, {.threads = 1}), b(std::move(written), {.threads = 1});
  std::vector<Tensor> want = a.run({{name, x}}), got = b.run({{name, x}});
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(a.outputs()[i].name);
    ASSERT_EQ(got[i].dtype(), want[i].dtype());
    ASSERT_EQ(got[i].shape(), want[i].shape());
    int64_t bad = 0, first = -1;
    double max_abs = 0;
    for (int64_t k = 0; k < want[i].numel(); ++k) {
      double w = want[i].get_double(k), g = got[i].get_double(k), e = std::fabs(g - w);
      if (std::isnan(w) && std::isnan(g)) continue;
      max_abs = std::max(max_abs, std::isnan(e) ? INFINITY : e);
      if (!(e <= kAtol + kRtol * std::fabs(w))) {
        if (first < 0) first = k;
        ++bad;
      }
    }
    std::cout << fmt::format("[ compare  ] {} output '{}': max abs difference {:.3g} over {} elements\n", bm.name,
                             a.outputs()[i].name, max_abs, want[i].numel());
    EXPECT_EQ(bad, 0) << bad << " of " << want[i].numel() << " elements differ; first at " << first << " (original "
                      << (first >= 0 ? want[i].get_double(first) : 0) << ", optimized "
                      << (first >= 0 ? got[i].get_double(first) : 0) << ")";
  }
}

// The node program: $NODE, else `node` (or `nodejs`) on the PATH; "" when there is none.
std::string node_binary() {
  if (const char* env = std::getenv("NODE"); env && *env) return env;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string d; std::getline(dirs, d, ':');)
    for (const char* exe : {"node", "nodejs"}) {
      fs::path p = fs::path(d.empty() ? "." : d) / exe;
      if (::access(p.c_str(), X_OK) == 0) return p.string();
    }
  return "";
}

TEST_P(OptimizedBenchModel, OnnxRuntimeLoadsTheWrittenFileAndAgrees) {
  const BenchModel& bm = GetParam();
  std::string node = node_binary();
  if (node.empty()) GTEST_SKIP() << "no node program on the PATH (set NODE): the ONNX Runtime check needs it";
  if (!fs::exists(test::source_dir() + "/node_modules/onnxruntime-node/package.json"))
    GTEST_SKIP() << "node_modules/onnxruntime-node is missing (scripts/install_deps.sh)";
  Optimized o = optimize_to_file(bm, dir_);
  std::string log = (dir_ / "ort.log").string();
  std::string cmd = shell_quote(node) + " " + shell_quote(test::source_dir() + "/tests/peer/ort_agree.js") + " " +
                    shell_quote(o.original_path) + " " + shell_quote(o.optimized_path) + " --shape " +
                    shell_quote(o.original.graph.inputs.at(0).name + "=" + shape_arg(o.shape)) +
                    fmt::format(" --range {},{} --rtol {} --atol {} --threads 1", bm.lo, bm.hi, kRtol, kAtol) +
                    " >" + shell_quote(log) + " 2>&1";
  int raw = std::system(cmd.c_str());
  std::ifstream f(log);
  std::string text((std::istreambuf_iterator<char>(f)), {});
  std::cout << "[ ort      ] " << bm.name << ":\n" << text;
  EXPECT_TRUE(WIFEXITED(raw) && WEXITSTATUS(raw) == 0) << text;
}

INSTANTIATE_TEST_SUITE_P(BenchSet, OptimizedBenchModel, ::testing::ValuesIn(bench_set()),
                         [](const ::testing::TestParamInfo<BenchModel>& info) { return info.param.name; });

}  // namespace
}  // namespace hone
