// `hone bench`, driven through the built program: the JSON report's keys and relations, the profile, and errors.
// No timing is asserted; only what must hold however fast or slow the machine is.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "../cli/cli_harness.h"
#include "../cli/cli_models.h"
#include "data/npy.h"
#include "hone/hone.h"
#include "runtime/plan.h"

namespace hone::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class CliBench : public ::testing::Test {
 protected:
  void SetUp() override {
    HONE_REQUIRE_CLI_BINARY();
    dir_ = fresh_temp_dir("bench");
    model_ = save_model(elementwise_model(), (dir_ / "elementwise.onnx").string());
  }
  void TearDown() override { fs::remove_all(dir_); }
  json bench_json(std::vector<std::string> extra) {
    std::vector<std::string> args = {"bench", model_, "--json", "--threads", "1", "--warmup", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    CliResult r = run_hone(args);
    EXPECT_EQ(r.status, 0) << r.err;
    return json::parse(r.out);  // throws, failing the test, unless stdout is exactly one JSON object
  }
  fs::path dir_;
  std::string model_;
};

TEST_F(CliBench, JsonHasStableKeysTypesAndSaneRelations) {
  json j = bench_json({"--iterations", "37"});
  for (const char* k : {"load_ms", "plan_ms", "first_run_ms", "throughput_per_s", "peak_rss_mb"}) {
    ASSERT_TRUE(j.contains(k)) << k;
    EXPECT_TRUE(j[k].is_number()) << k;
    EXPECT_GE(j[k].get<double>(), 0) << k;
  }
  for (const char* k : {"arena_bytes", "threads", "batch", "iterations"}) {
    ASSERT_TRUE(j.contains(k)) << k;
    EXPECT_TRUE(j[k].is_number_integer()) << k;
  }
  EXPECT_EQ(j["model"], model_);
  EXPECT_EQ(j["iterations"], 37);
  EXPECT_EQ(j["threads"], 1);
  EXPECT_EQ(j["batch"], 1);
  EXPECT_GT(j["peak_rss_mb"].get<double>(), 0);
  EXPECT_FALSE(j.contains("profile"));
  const json& l = j["latency_ms"];
  for (const char* k : {"min", "p50", "p90", "p99", "mean", "max", "std"}) {
    ASSERT_TRUE(l.contains(k)) << k;
    EXPECT_TRUE(l[k].is_number()) << k;
  }
  EXPECT_GT(l["min"].get<double>(), 0);
  EXPECT_LE(l["min"].get<double>(), l["p50"].get<double>());
  EXPECT_LE(l["p50"].get<double>(), l["p90"].get<double>());
  EXPECT_LE(l["p90"].get<double>(), l["p99"].get<double>());
  EXPECT_LE(l["p99"].get<double>(), l["max"].get<double>());
  EXPECT_LE(l["min"].get<double>(), l["mean"].get<double>());
  EXPECT_LE(l["mean"].get<double>(), l["max"].get<double>());
  EXPECT_GE(l["std"].get<double>(), 0);
  // Throughput is samples per second: batch / mean latency.
  EXPECT_NEAR(j["throughput_per_s"].get<double>(), 1000.0 / l["mean"].get<double>(),
              1e-6 * j["throughput_per_s"].get<double>());
  ASSERT_EQ(j["inputs"].size(), 1u);
  EXPECT_EQ(j["inputs"][0]["shape"], json::array({1, 4}));
}

TEST_F(CliBench, BatchSetsTheSymbolicLeadingDimAndScalesThroughput) {
  json j = bench_json({"--iterations", "5", "--batch", "64"});
  EXPECT_EQ(j["batch"], 64);
  EXPECT_EQ(j["iterations"], 5);
  EXPECT_EQ(j["inputs"][0]["shape"], json::array({64, 4}));
  EXPECT_NEAR(j["throughput_per_s"].get<double>(), 64 * 1000.0 / j["latency_ms"]["mean"].get<double>(),
              1e-6 * j["throughput_per_s"].get<double>());
  // The arena is planned for the batch: more than for one sample (64 x 4 floats per intermediate).
  json one = bench_json({"--iterations", "1"});
  EXPECT_GT(j["arena_bytes"].get<int64_t>(), one["arena_bytes"].get<int64_t>());
}

TEST_F(CliBench, DurationRunsAtLeastOnceAndInputsFromFiles) {
  Tensor x = filled(DType::Float32, {3, 4}, -2, 0.5);
  std::string xf = (dir_ / "x.npy").string();
  write_npy_file(x, xf, true);
  json j = bench_json({"--duration", "0.05", "--input", "x=" + xf});
  EXPECT_GE(j["iterations"].get<int64_t>(), 1);
  EXPECT_EQ(j["batch"], 3);  // the file's leading dim
  EXPECT_EQ(j["inputs"][0]["shape"], json::array({3, 4}));
}

TEST_F(CliBench, ProfileRowsCoverEveryPlanStep) {
  json j = bench_json({"--iterations", "4", "--profile"});
  ASSERT_TRUE(j.contains("profile"));
  ASSERT_TRUE(j["profile"].is_array());
  // The plan the program used, made here the same way.
  Session s = Session::load(model_, {.threads = 1});
  std::vector<Value> feeds = {Value::of(filled(DType::Float32, {1, 4}))};
  const Plan& plan = s.plan_for(feeds);
  ASSERT_EQ(j["profile"].size(), plan.steps.size());
  ASSERT_FALSE(plan.steps.empty());
  double share = 0;
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const json& row = j["profile"][i];
    EXPECT_EQ(row["step"], i);
    EXPECT_EQ(row["node"], plan.steps[i].node->name);
    EXPECT_EQ(row["op"], plan.steps[i].node->op_type);
    EXPECT_EQ(row["kernel"], plan.steps[i].kernel->name());
    // Every timed run (not the warm-up, not the first run) is profiled.
    EXPECT_EQ(row["calls"], 4) << row.dump();
    EXPECT_GE(row["ms_per_call"].get<double>(), 0);
    for (const char* k : {"share", "gflops_per_s", "gb_per_s"}) EXPECT_TRUE(row[k].is_number()) << k;
    share += row["share"].get<double>();
  }
  EXPECT_NEAR(share, 1.0, 1e-9);

  // The human table names every step's node and kernel (there are fewer than 30).
  CliResult r = run_hone({"bench", model_, "--iterations", "3", "--warmup", "0", "--profile"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "per node, " + std::to_string(plan.steps.size()) + " of " +
                                  std::to_string(plan.steps.size()) + " steps")) << r.out;
  for (const PlanStep& st : plan.steps) EXPECT_TRUE(contains(r.out, st.node->name)) << st.node->name;
  EXPECT_TRUE(contains(r.out, "GFLOP/s")) << r.out;
}

TEST_F(CliBench, HumanReportNamesEveryFigure) {
  CliResult r = run_hone({"bench", model_, "--iterations", "3", "--warmup", "1", "--threads", "1"});
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* s : {"load", "plan", "first run", "p50", "p90", "p99", "mean", "std", "max", "throughput",
                        "peak RSS", "arena", "threads 1, batch 1", "3 timed runs", "nearest rank"})
    EXPECT_TRUE(contains(r.out, s)) << s << "\n" << r.out;
  EXPECT_EQ(r.err, "");  // no progress bar when stderr is not a terminal
}

TEST_F(CliBench, ClearErrors) {
  struct Case {
    std::vector<std::string> args;
    int status;
    std::string says;
  };
  std::string missing = (dir_ / "nope.npy").string();
  std::vector<Case> cases = {
      {{"bench"}, 2, "MODEL is required"},
      {{"bench", model_, "--iterations", "0"}, 2, "--iterations"},
      {{"bench", model_, "--iterations", "3", "--duration", "1"}, 2, "excludes"},
      {{"bench", model_, "--duration", "-1"}, 2, "--duration"},
      {{"bench", model_, "--batch", "0"}, 2, "--batch"},
      {{"bench", model_, "--threads", "x"}, 2, "--threads"},
      {{"bench", model_, "--bogus"}, 2, "--bogus"},
      {{"bench", (dir_ / "absent.onnx").string()}, 1, "absent.onnx"},
      {{"bench", model_, "--input", "y=" + missing}, 1, "no input named 'y'"},
      {{"bench", model_, "--input", "x=" + missing}, 1, "nope.npy"},
      {{"bench", model_, "--shape", "x=2x5"}, 1, "differs in dimension 1"},
      {{"bench", model_, "--shape", "x=2x4", "--batch", "3"}, 1, "disagrees with --batch 3"},
  };
  for (const Case& c : cases) {
    CliResult r = run_hone(c.args);
    std::string cmd;
    for (const std::string& a : c.args) cmd += a + " ";
    EXPECT_EQ(r.status, c.status) << cmd << "\n" << r.err;
    EXPECT_TRUE(contains(r.err, "hone: error: ")) << cmd << "\n" << r.err;
    EXPECT_TRUE(contains(r.err, c.says)) << cmd << "\n" << r.err;
    EXPECT_EQ(r.out, "") << cmd;
  }
}

TEST_F(CliBench, BatchCannotChangeAFixedLeadingDim) {
  Model m = elementwise_model();
  m.graph.inputs[0].type = TypeInfo::tensor(DType::Float32, SymShape{Dim(2), 4});
  std::string fixed = save_model(m, (dir_ / "fixed.onnx").string());
  CliResult r = run_hone({"bench", fixed, "--batch", "8", "--iterations", "1"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "fixed leading dimension 2")) << r.err;
  CliResult same = run_hone({"bench", fixed, "--batch", "2", "--iterations", "1", "--json", "--warmup", "0"});
  ASSERT_EQ(same.status, 0) << same.err;
  EXPECT_EQ(json::parse(same.out)["batch"], 2);
}

}  // namespace
}  // namespace hone::testing
