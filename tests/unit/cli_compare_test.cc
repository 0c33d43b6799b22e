// `hone compare`, driven through the built program on the Fashion-MNIST fixtures (the CNN, the MLP and the CNN
// after `hone optimize`), with every figure checked against what it must equal: `hone eval`'s accuracy and fidelity,
// the files' sizes, ratios recomputed from the measured columns, Pareto marks recomputed from the definition. No
// timing is asserted. The Pareto function itself is tested directly on made-up points.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../cli/cli_harness.h"
#include "../cli/cli_models.h"
#include "bench/pareto.h"
#include "data/npy.h"
#include "test_paths.h"

namespace hone::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---- the Pareto frontier on made-up points ----

TEST(Pareto, DominanceNeedsNoWorseOnBothAndBetterOnOne) {
  EXPECT_TRUE(dominates({0.9, 1.0}, {0.8, 2.0}));   // better on both
  EXPECT_TRUE(dominates({0.9, 1.0}, {0.9, 2.0}));   // as accurate, cheaper
  EXPECT_TRUE(dominates({0.9, 1.0}, {0.8, 1.0}));   // more accurate, as cheap
  EXPECT_FALSE(dominates({0.9, 1.0}, {0.9, 1.0}));  // equal
  EXPECT_FALSE(dominates({0.9, 2.0}, {0.8, 1.0}));  // a trade-off
  EXPECT_FALSE(dominates({0.8, 2.0}, {0.9, 1.0}));  // worse on both
  EXPECT_FALSE(dominates({NAN, 0.5}, {0.1, 9.0}));  // unknown quality
  EXPECT_FALSE(dominates({0.9, 1.0}, {0.8, NAN}));
}

TEST(Pareto, FrontierOfMadeUpVariants) {
  // fp32 and optimized are as accurate, optimized is faster: fp32 drops off. int8 is the fastest, bf16 sits between
  // int8 and optimized on both axes (a trade-off with each), broken is the worst on both.
  std::vector<QualityCost> pts = {{0.91, 10.0}, {0.91, 8.0}, {0.905, 3.0}, {0.908, 5.0}, {0.5, 12.0}};
  std::vector<bool> want = {false, true, true, true, false};
  EXPECT_EQ(pareto_frontier(pts), want);
  // Equal points do not dominate each other.
  EXPECT_EQ(pareto_frontier({{0.5, 1.0}, {0.5, 1.0}}), (std::vector<bool>{true, true}));
  // One point is its own frontier; none gives none; an unknown coordinate is never on it and dominates nothing.
  EXPECT_EQ(pareto_frontier({{0.1, 100.0}}), std::vector<bool>{true});
  EXPECT_TRUE(pareto_frontier({}).empty());
  EXPECT_EQ(pareto_frontier({{NAN, 1.0}, {0.2, 5.0}, {0.3, NAN}}), (std::vector<bool>{false, true, false}));
  // Infinite quality (SQNR of the reference against itself) beats every finite one.
  EXPECT_EQ(pareto_frontier({{INFINITY, 5.0}, {40.0, 5.0}, {30.0, 1.0}}), (std::vector<bool>{true, false, true}));
}

// ---- the command ----

// Marks by the definition, from the JSON's own columns (quality top1; cost p50 per sample, or size).
std::vector<bool> expected_marks(const json& variants, bool by_size) {
  std::vector<bool> marks;
  for (const json& a : variants) {
    auto cost = [&](const json& v) {
      return by_size ? v["size_bytes"].get<double>()
                     : v["p50_ms_batch1"].get<double>() / v["latency_batch"].get<double>();
    };
    bool dominated = false;
    for (const json& b : variants) {
      if (&a == &b) continue;
      const double qa = a["top1"].get<double>(), qb = b["top1"].get<double>();
      if (qb >= qa && cost(b) <= cost(a) && (qb > qa || cost(b) < cost(a))) dominated = true;
    }
    marks.push_back(!dominated);
  }
  return marks;
}

class CliCompare : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(hone_binary())) return;
    dir_ = new fs::path(fresh_temp_dir("compare"));
    optimized_ = new std::string((*dir_ / "cnn_optimized.onnx").string());
    CliResult r = run_hone({"optimize", test::fixture("fashion_mnist_cnn.onnx"), "-o", *optimized_});
    ASSERT_EQ(r.status, 0) << r.err;
  }
  static void TearDownTestSuite() {
    if (dir_) fs::remove_all(*dir_);
    delete dir_;
    delete optimized_;
    dir_ = nullptr;
    optimized_ = nullptr;
  }
  void SetUp() override { HONE_REQUIRE_CLI_BINARY(); }
  std::string path(const std::string& name) const { return (*dir_ / name).string(); }

  // Short timings: three rounds of a few milliseconds each.
  json compare_json(std::vector<std::string> args) {
    std::vector<std::string> all = {"compare"};
    all.insert(all.end(), args.begin(), args.end());
    for (const char* a : {"--duration", "0.03", "--threads", "1", "--json"}) all.push_back(a);
    CliResult r = run_hone(all);
    EXPECT_EQ(r.status, 0) << r.err;
    if (r.status != 0) return json::object();
    return json::parse(r.out);
  }
  json eval_json(const std::vector<std::string>& args) {
    std::vector<std::string> all = {"eval"};
    all.insert(all.end(), args.begin(), args.end());
    all.push_back("--json");
    CliResult r = run_hone(all);
    EXPECT_EQ(r.status, 0) << r.err;
    return r.status == 0 ? json::parse(r.out) : json::object();
  }

  static fs::path* dir_;
  static std::string* optimized_;
  const std::string cnn_ = test::fixture("fashion_mnist_cnn.onnx"), mlp_ = test::fixture("fashion_mnist_mlp.onnx");
  const std::string images_ = test::fixture("fashion_mnist_test_1000_images.npy");
  const std::string labels_ = test::fixture("fashion_mnist_test_1000_labels.npy");
};

fs::path* CliCompare::dir_ = nullptr;
std::string* CliCompare::optimized_ = nullptr;

TEST_F(CliCompare, ThreeVariantsAgreeWithEvalSizesAndTheirOwnColumns) {
  json j = compare_json({"fp32=" + cnn_, "optimized=" + *optimized_, mlp_, "--data", images_, "--labels", labels_});
  ASSERT_TRUE(j.contains("variants"));
  EXPECT_EQ(j["samples"], 1000);
  EXPECT_EQ(j["threads"], 1);
  EXPECT_EQ(j["latency_batch"], 1);
  EXPECT_EQ(j["throughput_batch"], 64);
  EXPECT_EQ(j["timing"], "round-robin");
  EXPECT_EQ(j["rounds"], 3);
  EXPECT_EQ(j["pareto_quality"], "top1");
  EXPECT_EQ(j["reference"]["label"], "fp32");
  EXPECT_EQ(j["reference"]["path"], cnn_);
  const json& vs = j["variants"];
  ASSERT_EQ(vs.size(), 3u);
  EXPECT_EQ(vs[0]["label"], "fp32");
  EXPECT_EQ(vs[1]["label"], "optimized");
  EXPECT_EQ(vs[2]["label"], "fashion_mnist_mlp");  // the file's stem
  EXPECT_EQ(vs[2]["path"], mlp_);

  const std::vector<std::string> paths = {cnn_, *optimized_, mlp_};
  const json& base = vs[0];
  for (size_t i = 0; i < vs.size(); ++i) {
    const json& v = vs[i];
    SCOPED_TRACE(v["label"].get<std::string>());
    for (const char* key : {"label", "path", "top1", "top5", "cosine", "sqnr_db", "top1_agreement", "p50_ms_batch1",
                            "throughput_batch64", "size_bytes", "speedup_p50", "speedup_throughput", "size_ratio",
                            "pareto_latency", "pareto_size"})
      EXPECT_TRUE(v.contains(key)) << key;
    // Accuracy and fidelity: exactly what `hone eval` reports for the same model, data and reference.
    json e = eval_json({paths[i], "--data", images_, "--labels", labels_, "--reference", cnn_, "--threads", "1"});
    EXPECT_EQ(v["samples"], 1000);
    EXPECT_EQ(v["top1"], e["top1"]);
    EXPECT_EQ(v["top5"], e["top5"]);
    EXPECT_EQ(v["cosine"], e["cosine"]);
    EXPECT_EQ(v["sqnr_db"], e["sqnr_db"]);
    EXPECT_EQ(v["top1_agreement"], e["top1_agreement"]);
    // Size: the file's.
    EXPECT_EQ(v["size_bytes"].get<uintmax_t>(), fs::file_size(paths[i]));
    // Each timing is the median (nearest rank) of its rounds; the ratios follow from the columns.
    ASSERT_EQ(v["p50_ms_rounds"].size(), 3u);
    ASSERT_EQ(v["throughput_rounds"].size(), 3u);
    std::vector<double> p50s = v["p50_ms_rounds"], thr = v["throughput_rounds"];
    std::sort(p50s.begin(), p50s.end());
    std::sort(thr.begin(), thr.end());
    EXPECT_EQ(v["p50_ms_batch1"].get<double>(), p50s[1]);
    EXPECT_EQ(v["throughput_batch64"].get<double>(), thr[1]);
    EXPECT_GT(v["p50_ms_batch1"].get<double>(), 0);
    EXPECT_DOUBLE_EQ(v["speedup_p50"].get<double>(),
                     base["p50_ms_batch1"].get<double>() / v["p50_ms_batch1"].get<double>());
    EXPECT_DOUBLE_EQ(v["speedup_throughput"].get<double>(),
                     v["throughput_batch64"].get<double>() / base["throughput_batch64"].get<double>());
    EXPECT_DOUBLE_EQ(v["size_ratio"].get<double>(),
                     static_cast<double>(fs::file_size(paths[i])) / static_cast<double>(fs::file_size(cnn_)));
  }
  // The reference against itself; the optimized CNN computes the same classes.
  EXPECT_EQ(base["cosine"], 1.0);
  EXPECT_TRUE(base["sqnr_db"].is_null());
  EXPECT_EQ(base["speedup_p50"], 1.0);
  EXPECT_EQ(base["size_ratio"], 1.0);
  EXPECT_EQ(vs[1]["top1"], base["top1"]);
  EXPECT_LT(vs[2]["cosine"].get<double>(), 0.99);

  std::vector<bool> lat, size;
  for (const json& v : vs) {
    lat.push_back(v["pareto_latency"].get<bool>());
    size.push_back(v["pareto_size"].get<bool>());
  }
  EXPECT_EQ(lat, expected_marks(vs, false));
  EXPECT_EQ(size, expected_marks(vs, true));
  // Size needs no timing: the CNN files are smaller than the MLP's and the MLP is less accurate; the smaller CNN
  // file is on the frontier.
  EXPECT_FALSE(vs[2]["pareto_size"].get<bool>());
}

TEST_F(CliCompare, ReferenceByLabelOrFileAndNoLabels) {
  json j = compare_json({"cnn=" + cnn_, "mlp=" + mlp_, "--data", images_, "--limit", "100", "--reference", "mlp"});
  ASSERT_TRUE(j.contains("variants"));
  EXPECT_EQ(j["samples"], 100);
  EXPECT_TRUE(j["labels"].is_null());
  EXPECT_EQ(j["reference"]["label"], "mlp");
  EXPECT_EQ(j["pareto_quality"], "sqnr_db");
  const json& vs = j["variants"];
  EXPECT_TRUE(vs[0]["top1"].is_null());
  EXPECT_EQ(vs[1]["cosine"], 1.0);  // the MLP against itself
  json e = eval_json({cnn_, "--data", images_, "--limit", "100", "--reference", mlp_});
  EXPECT_EQ(vs[0]["cosine"], e["cosine"]);
  EXPECT_EQ(vs[0]["sqnr_db"], e["sqnr_db"]);
  // Quality is the SQNR against the reference: the reference's is infinite, so it is on both frontiers.
  EXPECT_TRUE(vs[1]["pareto_latency"].get<bool>());
  EXPECT_TRUE(vs[1]["pareto_size"].get<bool>());

  json f = compare_json({"cnn=" + cnn_, "--data", images_, "--limit", "50", "--reference", mlp_});
  ASSERT_TRUE(f.contains("variants"));
  EXPECT_TRUE(f["reference"]["label"].is_null());
  EXPECT_EQ(f["reference"]["path"], mlp_);
  EXPECT_EQ(f["variants"][0]["throughput_batch"], 64);  // 50 samples, repeated to fill the batch
  EXPECT_EQ(f["variants"][0]["cosine"], eval_json({cnn_, "--data", images_, "--limit", "50", "--reference", mlp_})["cosine"]);
}

TEST_F(CliCompare, FixedBatchDimensionIsTimedAtItsOwnBatch) {
  // scores = x @ W with x float32[2, 784]: a fixed batch of two.
  Model m = empty_model(13);
  m.graph.inputs = {{"x", TypeInfo::tensor(DType::Float32, SymShape{2, 784})}};
  m.graph.initializers["w"] = filled(DType::Float32, {784, 10}, -0.5, 1.0 / 7840);
  m.graph.nodes.push_back(make_node("MatMul", {"x", "w"}, {"scores"}, "matmul"));
  m.graph.outputs = {{"scores", TypeInfo::tensor(DType::Float32)}};
  std::string fixed = save_model(m, path("fixed2.onnx"));
  json j = compare_json({cnn_, fixed, "--data", images_, "--labels", labels_, "--limit", "99"});
  ASSERT_TRUE(j.contains("variants"));
  const json& v = j["variants"][1];
  EXPECT_EQ(v["latency_batch"], 2);
  EXPECT_EQ(v["throughput_batch"], 2);
  EXPECT_EQ(v["samples"], 99);  // the padded last batch is not scored
  EXPECT_EQ(v["top1"], eval_json({fixed, "--data", images_, "--labels", labels_, "--limit", "99"})["top1"]);
  CliResult text = run_hone({"compare", cnn_, fixed, "--data", images_, "--limit", "99", "--duration", "0.03"});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_TRUE(contains(text.out, "note: 'fixed2' has a fixed batch dimension of 2")) << text.out;
  EXPECT_TRUE(contains(text.out, "(b2)")) << text.out;
}

TEST_F(CliCompare, TextAndMarkdownTables) {
  std::vector<std::string> args = {"compare", "fp32=" + cnn_, "mlp=" + mlp_, "--data", images_, "--labels", labels_,
                                   "--limit", "200", "--duration", "0.03", "--batch-sizes", "2,16"};
  CliResult text = run_hone(args);
  ASSERT_EQ(text.status, 0) << text.err;
  for (const char* s : {"2 variants on 200 samples", "round-robin", "p50 ms b2", "samples/s b16", "size ratio", "pareto", "fp32 ",
                        "mlp ", "1.00x", "ratios: to 'fp32'", "200 samples"})
    EXPECT_TRUE(contains(text.out, s)) << s << "\n" << text.out;
  EXPECT_TRUE(contains(text.err, "[2/2] mlp")) << text.err;  // progress on stderr
  EXPECT_TRUE(contains(text.err, "timing batch 16")) << text.err;
  args.push_back("--markdown");
  CliResult md = run_hone(args);
  ASSERT_EQ(md.status, 0) << md.err;
  EXPECT_TRUE(contains(md.out, "| variant ")) << md.out;
  EXPECT_TRUE(contains(md.out, "| fp32 ")) << md.out;
  EXPECT_TRUE(contains(md.out, "| ----")) << md.out;
  EXPECT_TRUE(contains(md.out, ": |")) << md.out;
  EXPECT_TRUE(contains(md.out, "- timing: ")) << md.out;
}

TEST_F(CliCompare, ErrorsNameTheVariant) {
  CliResult r = run_hone({"compare", cnn_, "int8=" + path("missing.onnx"), "--data", images_});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "variant 'int8': " + path("missing.onnx") + ": no such file")) << r.err;

  // A model whose input does not take the data: named, with what did not fit.
  std::string ew = save_model(elementwise_model(), path("ew.onnx"));
  r = run_hone({"compare", cnn_, "ew=" + ew, "--data", images_, "--duration", "0.03"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "variant 'ew' (" + ew + ")")) << r.err;
  EXPECT_TRUE(contains(r.err, "input 'x'")) << r.err;

  // A file that is not ONNX.
  std::string junk = path("junk.onnx");
  {
    std::ofstream f(junk);
    f << "not a model";
  }
  r = run_hone({"compare", cnn_, junk, "--data", images_});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "variant 'junk'")) << r.err;

  r = run_hone({"compare", cnn_, cnn_, "--data", images_});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "two variants are labelled 'fashion_mnist_cnn'")) << r.err;
  r = run_hone({"compare", "=" + cnn_ + "x", "--data", images_});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "LABEL=PATH")) << r.err;
  r = run_hone({"compare", cnn_, "--data", images_, "--reference", "nobody"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "--reference nobody: no such file")) << r.err;
  r = run_hone({"compare", cnn_, "--data", path("nope.npy")});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "nope.npy")) << r.err;
  std::string labels999 = path("l999.npy");
  write_npy_file(Tensor(DType::Int64, {999}), labels999, true);
  r = run_hone({"compare", cnn_, "--data", images_, "--labels", labels999});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "holds 999 labels but the data has 1000 samples")) << r.err;

  // Usage errors.
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"--batch-sizes", "1"}, {"--batch-sizes", "0,64"}, {"--batch-sizes", "1,x"}, {"--batch-sizes", "1,2,3"},
           {"--duration", "0"}, {"--json", "--markdown"}}) {
    std::vector<std::string> args = {"compare", cnn_, "--data", images_};
    args.insert(args.end(), bad.begin(), bad.end());
    r = run_hone(args);
    EXPECT_EQ(r.status, 2) << bad[0] << " " << bad[1] << ": " << r.err;
    EXPECT_TRUE(contains(r.err, bad[0])) << r.err;
  }
  r = run_hone({"compare", cnn_});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "--data")) << r.err;
  r = run_hone({"compare", "--help"});
  EXPECT_EQ(r.status, 0);
  for (const char* opt : {"--reference", "--labels", "--batch-sizes", "--duration", "--markdown", "--json", "--mean",
                          "--limit", "LABEL=PATH"})
    EXPECT_TRUE(contains(r.out, opt)) << opt;
}

}  // namespace
}  // namespace hone::testing
