// `hone optimize`, driven through the built program: the file it writes loads and computes what the original does,
// it never writes over the input nor (without --force) over an existing file, and bad --passes / --shape arguments
// are errors that say what is wrong. No timing is asserted.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../cli/cli_harness.h"
#include "../cli/cli_models.h"
#include "pass_test_util.h"

namespace hone::testing {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class CliOptimize : public ::testing::Test {
 protected:
  void SetUp() override {
    HONE_REQUIRE_CLI_BINARY();
    dir_ = fresh_temp_dir("optimize");
    original_ = elementwise_model();
    original_.producer_version = "9.9";
    original_.model_version = 42;
    original_.doc_string = "a model for the optimize tests";
    original_.metadata_props = {{"author", "hone tests"}, {"license", "none"}};
    model_ = save_model(original_, (dir_ / "elementwise.onnx").string());
    model_bytes_ = read_text_file(model_);
    out_ = (dir_ / "out.onnx").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  CliResult optimize(std::vector<std::string> extra) {
    std::vector<std::string> args = {"optimize", model_, "-o", out_};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_hone(args);
  }
  fs::path dir_;
  Model original_;
  std::string model_, model_bytes_, out_;
};

// The passes of the hone program (the test binary also registers a probe of its own, pass_manager_test.cc).
std::vector<std::string> program_passes() {
  std::vector<std::string> names;
  for (const PassInfo& p : PassRegistry::instance().all())
    if (p.name.rfind("test-", 0) != 0) names.push_back(p.name);
  return names;
}

TEST_F(CliOptimize, WritesALoadableModelWithTheSameOutputsAndTheModelsFields) {
  CliResult r = optimize({});
  ASSERT_EQ(r.status, 0) << r.err;
  Model out = load_onnx_file(out_);
  verify_graph(out.graph);
  // The Constant node folds into an initializer; what depends on the input stays.
  EXPECT_EQ(test::count_ops(out.graph, "Constant"), 0);
  EXPECT_LT(out.graph.nodes.size(), original_.graph.nodes.size());
  test::expect_same_outputs(original_, out);
  // Graph inputs and outputs keep their names (the odd one too); the model's own fields are kept.
  ASSERT_EQ(out.graph.inputs.size(), 1u);
  EXPECT_EQ(out.graph.inputs[0].name, "x");
  ASSERT_EQ(out.graph.outputs.size(), 2u);
  EXPECT_EQ(out.graph.outputs[0].name, "y");
  EXPECT_EQ(out.graph.outputs[1].name, "../odd/name:1");
  EXPECT_EQ(out.ir_version, original_.ir_version);
  EXPECT_EQ(out.opset_import.size(), original_.opset_import.size());
  EXPECT_EQ(out.opset(""), original_.opset(""));
  EXPECT_EQ(out.producer_name, original_.producer_name);
  EXPECT_EQ(out.producer_version, "9.9");
  EXPECT_EQ(out.model_version, 42);
  EXPECT_EQ(out.doc_string, original_.doc_string);
  EXPECT_EQ(out.metadata_props, original_.metadata_props);
  for (const Node& n : out.graph.nodes) EXPECT_TRUE(n.domain.empty() || n.domain == "ai.onnx") << n.op_type;
  // The report: a line per pass of the default pipeline, the totals and the sizes.
  for (const std::string& p : program_passes()) EXPECT_TRUE(contains(r.out, p)) << p << "\n" << r.out;
  EXPECT_TRUE(contains(r.out, "total, ")) << r.out;
  EXPECT_TRUE(contains(r.out, fmt::format("{} -> {}", original_.graph.nodes.size(), out.graph.nodes.size()))) << r.out;
  EXPECT_TRUE(contains(r.out, "wrote " + out_)) << r.out;
  EXPECT_TRUE(contains(r.out, "rewrites")) << r.out;
  // The input file is untouched.
  EXPECT_EQ(read_text_file(model_), model_bytes_);
}

TEST_F(CliOptimize, OpsetRaisesTheModelsOpsetAndRewritesChangedOps) {
  // An opset-9 Clip (min/max attributes) followed by a Softmax over two flattened dims: both change form at 11/13.
  Model m = empty_model();
  m.opset_import = {{"", 9}};
  m.graph.inputs = {{"x", TypeInfo::tensor(DType::Float32, SymShape{2, 3, 4})}};
  Node clip = make_node("Clip", {"x"}, {"c"}, "clip");
  clip.attributes = {Attribute::of_float("min", -0.5f), Attribute::of_float("max", 0.5f)};
  m.graph.nodes.push_back(clip);
  m.graph.nodes.push_back(make_node("Softmax", {"c"}, {"y"}, "softmax"));  // axis 1: over dims 1 and 2
  m.graph.outputs = {{"y", TypeInfo::tensor(DType::Float32)}};
  std::string in = save_model(m, (dir_ / "old.onnx").string());
  CliResult r = run_hone({"optimize", in, "-o", out_, "--opset", "13", "--passes", "eliminate-dead"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "opset: 9 -> 13 (2 nodes rewritten")) << r.out;
  Model out = load_onnx_file(out_);
  EXPECT_EQ(out.opset(""), 13);
  EXPECT_FALSE(out.graph.nodes[0].has_attr("min"));
  test::expect_same_outputs(m, out);
  // Beyond what the converter knows: an error, nothing written.
  fs::remove(out_);
  r = run_hone({"optimize", in, "-o", out_, "--opset", "18"});
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains(r.err, "opset")) << r.err;
  EXPECT_FALSE(fs::exists(out_));
}

TEST_F(CliOptimize, PassesRestrictsThePipeline) {
  CliResult r = optimize({"--passes", "fold-batchnorm"});
  ASSERT_EQ(r.status, 0) << r.err;
  Model out = load_onnx_file(out_);
  EXPECT_EQ(test::count_ops(out.graph, "Constant"), 1);  // fold-constants did not run
  EXPECT_EQ(out.graph.nodes.size(), original_.graph.nodes.size());
  EXPECT_TRUE(contains(r.out, "fold-batchnorm")) << r.out;
  EXPECT_FALSE(contains(r.out, "fold-constants")) << r.out;
  test::expect_same_outputs(original_, out);
}

TEST_F(CliOptimize, NeverOverwritesTheInputEvenThroughAnotherPath) {
  fs::create_symlink(model_, dir_ / "link.onnx");
  fs::create_hard_link(model_, dir_ / "hard.onnx");
  for (const std::string& target : {model_, (dir_ / "." / "elementwise.onnx").string(), (dir_ / "link.onnx").string(),
                                    (dir_ / "hard.onnx").string()}) {
    for (bool force : {false, true}) {
      std::vector<std::string> args = {"optimize", model_, "-o", target};
      if (force) args.push_back("--force");
      CliResult r = run_hone(args);
      EXPECT_EQ(r.status, 1) << target << " " << r.out;
      EXPECT_TRUE(contains(r.err, "never overwrites")) << r.err;
    }
  }
  EXPECT_EQ(read_text_file(model_), model_bytes_);
}

TEST_F(CliOptimize, RefusesAnExistingOutputUnlessForced) {
  { std::ofstream(out_) << "precious"; }
  CliResult r = optimize({});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "exists")) << r.err;
  EXPECT_TRUE(contains(r.err, "--force")) << r.err;
  EXPECT_EQ(read_text_file(out_), "precious");
  r = optimize({"--force"});
  ASSERT_EQ(r.status, 0) << r.err;
  test::expect_same_outputs(original_, load_onnx_file(out_));
  // A directory is never a place to write the model to.
  r = run_hone({"optimize", model_, "-o", dir_.string(), "--force"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "directory")) << r.err;
}

TEST_F(CliOptimize, UnknownPassIsAUsageErrorListingThePasses) {
  CliResult r = optimize({"--passes", "fold-constants,fold-everything"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "unknown pass 'fold-everything'")) << r.err;
  for (const std::string& p : program_passes()) EXPECT_TRUE(contains(r.err, p)) << p << ": " << r.err;
  EXPECT_FALSE(fs::exists(out_));
}

TEST_F(CliOptimize, ListPassesNeedsNoModel) {
  CliResult r = run_hone({"optimize", "--list-passes"});
  ASSERT_EQ(r.status, 0) << r.err;
  const PassInfo* fc = PassRegistry::instance().find("fold-constants");
  ASSERT_NE(fc, nullptr);
  EXPECT_TRUE(contains(r.out, "fold-constants")) << r.out;
  EXPECT_TRUE(contains(r.out, fc->summary.substr(0, 30))) << r.out;
  EXPECT_LT(r.out.find("fold-constants"), r.out.find("fold-batchnorm")) << r.out;  // default order
}

TEST_F(CliOptimize, MissingModelOrOutputIsAUsageError) {
  CliResult r = run_hone({"optimize", model_});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "OUT")) << r.err;
  r = run_hone({"optimize"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "MODEL")) << r.err;
  r = run_hone({"optimize", (dir_ / "missing.onnx").string(), "-o", out_});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "missing.onnx")) << r.err;
}

TEST_F(CliOptimize, ShapeFixesTheInputInTheWrittenModel) {
  CliResult r = optimize({"--shape", "x=3x4"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "shape fixed to [3x4]")) << r.out;
  Model out = load_onnx_file(out_);
  ASSERT_TRUE(out.graph.inputs[0].type.shape.has_value());
  const SymShape& s = *out.graph.inputs[0].type.shape;
  ASSERT_EQ(s.size(), 2u);
  EXPECT_TRUE(s[0].known() && s[0].value == 3);
  test::expect_same_outputs(out, original_);  // feeds follow the fixed [3, 4]
}

TEST_F(CliOptimize, ShapeErrorsSayWhatIsWrong) {
  struct Case {
    std::string arg, expect;
  };
  for (const Case& c : {Case{"z=1x4", "no input named 'z'"}, Case{"x=2x4x1", "rank"},
                        Case{"x=2x5", "dimension 1 is fixed at 4"}, Case{"x=2xfour", "bad shape"},
                        Case{"x", "NAME=VALUE"}}) {
    CliResult r = optimize({"--shape", c.arg});
    EXPECT_EQ(r.status, 1) << c.arg;
    EXPECT_TRUE(contains(r.err, c.expect)) << c.arg << ": " << r.err;
    EXPECT_FALSE(fs::exists(out_)) << c.arg;
  }
  CliResult r = optimize({"--shape", "x=2x4", "--shape", "x=3x4"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "twice")) << r.err;
}

TEST_F(CliOptimize, ReportPrintsBothLatenciesAndTheOutputDifference) {
  CliResult r = optimize({"--report", "--report-duration", "0.05"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "original p50 (min) ms")) << r.out;
  EXPECT_TRUE(contains(r.out, "optimized p50 (min) ms")) << r.out;
  // One row per thread count: 1, and all cores when there is more than one.
  size_t rows = 0;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) rows += contains(line, " runs") && line.back() == '%';
  EXPECT_EQ(rows, available_cores() > 1 ? 2u : 1u) << r.out;
  EXPECT_TRUE(contains(r.out, "'y' float32 [1x4]: max abs difference")) << r.out;
  EXPECT_TRUE(contains(r.out, "'../odd/name:1' float32 [1x4]: max abs difference")) << r.out;
  EXPECT_TRUE(contains(r.out, "max abs difference of the outputs: ")) << r.out;
  EXPECT_TRUE(contains(r.out, "(within rtol 0.0001 / atol 1e-05)")) << r.out;
}

}  // namespace
}  // namespace hone::testing
