// `hone inspect`, driven through the built program.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../cli/cli_harness.h"
#include "../cli/cli_models.h"

namespace hone::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Three independent costed ops: MatMul [2,3,4]x[4,5], Gemm [2,6]x[4,6]^T + C[4], Conv [1,2,5,5] * [3,2,3,3] pad 1
// with bias, then MaxPool 2x2 stride 2; and a 128x128 MatMul that is compute-bound on any real machine.
Model costed_model() {
  Model m = empty_model();
  Graph& g = m.graph;
  g.inputs = {{"a", TypeInfo::tensor(DType::Float32, SymShape{2, 3, 4})},
              {"b", TypeInfo::tensor(DType::Float32, SymShape{2, 6})},
              {"img", TypeInfo::tensor(DType::Float32, SymShape{Dim::named("N"), 2, 5, 5})},
              {"z", TypeInfo::tensor(DType::Float32, SymShape{128, 128})}};
  g.initializers["w_mm"] = filled(DType::Float32, {4, 5}, 0, 0.1);
  g.initializers["w_gemm"] = filled(DType::Float32, {4, 6}, 0, 0.1);
  g.initializers["c_gemm"] = filled(DType::Float32, {4});
  g.initializers["w_conv"] = filled(DType::Float32, {3, 2, 3, 3}, 0, 0.01);
  g.initializers["b_conv"] = filled(DType::Float32, {3});
  g.initializers["w_big"] = filled(DType::Float32, {128, 128}, 0, 1e-4);
  g.nodes.push_back(make_node("MatMul", {"a", "w_mm"}, {"mm"}, "matmul"));
  Node gemm = make_node("Gemm", {"b", "w_gemm", "c_gemm"}, {"gm"}, "gemm");
  gemm.attributes.push_back(int_attr("transB", 1));
  g.nodes.push_back(gemm);
  Node conv = make_node("Conv", {"img", "w_conv", "b_conv"}, {"cv"}, "conv");
  conv.attributes.push_back(ints_attr("pads", {1, 1, 1, 1}));
  conv.attributes.push_back(ints_attr("kernel_shape", {3, 3}));
  g.nodes.push_back(conv);
  Node pool = make_node("MaxPool", {"cv"}, {"pl"}, "pool");
  pool.attributes.push_back(ints_attr("kernel_shape", {2, 2}));
  pool.attributes.push_back(ints_attr("strides", {2, 2}));
  g.nodes.push_back(pool);
  g.nodes.push_back(make_node("MatMul", {"z", "w_big"}, {"big"}, "big_matmul"));
  for (const char* o : {"mm", "gm", "pl", "big"}) g.outputs.push_back({o, TypeInfo::tensor(DType::Float32)});
  return m;
}

class CliInspect : public ::testing::Test {
 protected:
  void SetUp() override {
    HONE_REQUIRE_CLI_BINARY();
    dir_ = fresh_temp_dir("inspect");
    cache_ = "XDG_CACHE_HOME=" + (dir_ / "cache").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  json inspect_json(const std::string& model, std::vector<std::string> extra = {}, std::string target = "zen5-2c") {
    std::vector<std::string> args = {"inspect", model, "--json", "--target", target};
    args.insert(args.end(), extra.begin(), extra.end());
    CliResult r = run_hone(args, {cache_});
    EXPECT_EQ(r.status, 0) << r.err;
    try {
      return json::parse(r.out);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what() << "\n" << r.out;
      return json::object();
    }
  }
  const json* node(const json& j, const std::string& name) {
    for (const json& n : j["nodes"])
      if (n["name"] == name) return &n;
    ADD_FAILURE() << "no node " << name;
    return nullptr;
  }
  fs::path dir_;
  std::string cache_;
};

TEST_F(CliInspect, JsonHasStableKeysAndTotals) {
  std::string model = save_model(elementwise_model(), path("ew.onnx"));
  json j = inspect_json(model);
  for (const char* k : {"inputs", "outputs", "opsets", "op_histogram", "parameters", "nodes", "totals", "memory",
                        "machine", "ir_version", "producer"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["ir_version"], 8);
  EXPECT_EQ(j["producer"]["name"], "hone-cli-test");
  EXPECT_EQ(j["opsets"]["ai.onnx"], 17);
  EXPECT_EQ(j["inputs"][0]["name"], "x");
  EXPECT_EQ(j["inputs"][0]["dtype"], "float32");
  EXPECT_EQ(j["inputs"][0]["shape"], json::parse(R"(["batch", 4])"));
  EXPECT_EQ(j["inputs"][0]["used_shape"], json::parse("[1, 4]"));
  EXPECT_EQ(j["outputs"].size(), 2u);
  EXPECT_EQ(j["op_histogram"]["Add"], 1);
  EXPECT_EQ(j["op_histogram"]["Constant"], 1);
  // c (4) + d (1) initializers + the Constant node's 4 floats.
  EXPECT_EQ(j["parameters"]["count"], 9);
  EXPECT_EQ(j["parameters"]["bytes_by_dtype"]["float32"]["bytes"], 36);
  ASSERT_EQ(j["nodes"].size(), 6u);
  for (const json& n : j["nodes"])
    for (const char* k : {"name", "op", "output_shapes", "macs", "flops", "activation_bytes", "intensity", "bound"})
      EXPECT_TRUE(n.contains(k)) << k;
  // Five elementwise ops over [1,4]: 4 FLOPs and 16 bytes out each; the Constant is folded at plan time.
  EXPECT_EQ(j["totals"]["macs"], 0);
  EXPECT_EQ(j["totals"]["flops"], 20);
  EXPECT_EQ(j["totals"]["activation_bytes"], 80);
  EXPECT_EQ((*node(j, "const_e"))["bound"], "folded");
  const json& add = *node(j, "add");
  EXPECT_EQ(add["output_shapes"], json::parse("[[1, 4]]"));
  EXPECT_EQ(add["bound"], "memory-bound");
  EXPECT_DOUBLE_EQ(add["intensity"].get<double>(), 4.0 / (16 + 16 + 16));  // x and c read, s written
  EXPECT_TRUE(j["memory"]["arena_peak_bytes"].is_number());
  EXPECT_TRUE(j["memory"]["intermediate_sum_bytes"].is_number());
  EXPECT_GT(j["memory"]["arena_peak_bytes"].get<int64_t>(), 0);  // 64-byte aligned slots: may exceed the plain sum
  EXPECT_EQ(j["machine"]["name"], "zen5-2c");
  EXPECT_EQ(j["machine"]["peak_gflops"], 466);
  EXPECT_EQ(j["machine"]["bandwidth_gbs"], 40);
  EXPECT_TRUE(contains(j["machine"]["source"].get<std::string>(), "nominal")) << j["machine"];

  // --shape scales the totals.
  json j3 = inspect_json(model, {"--shape", "x=3x4"});
  EXPECT_EQ(j3["inputs"][0]["used_shape"], json::parse("[3, 4]"));
  EXPECT_EQ(j3["totals"]["flops"], 60);
  EXPECT_EQ(j3["totals"]["activation_bytes"], 240);
}

TEST_F(CliInspect, CountsMacsOfMatMulGemmConvAndPool) {
  std::string model = save_model(costed_model(), path("costed.onnx"));
  json j = inspect_json(model);
  EXPECT_EQ((*node(j, "matmul"))["macs"], 2 * 3 * 5 * 4);
  EXPECT_EQ((*node(j, "matmul"))["flops"], 2 * 2 * 3 * 5 * 4);
  EXPECT_EQ((*node(j, "gemm"))["macs"], 2 * 4 * 6);
  EXPECT_EQ((*node(j, "gemm"))["flops"], 2 * 2 * 4 * 6 + 2 * 4);  // plus the bias add
  const json& conv = *node(j, "conv");
  EXPECT_EQ(conv["output_shapes"], json::parse("[[1, 3, 5, 5]]"));
  EXPECT_EQ(conv["macs"], 75 * 2 * 3 * 3);
  EXPECT_EQ(conv["flops"], 2 * 75 * 18 + 75);
  EXPECT_EQ((*node(j, "pool"))["macs"], 0);
  EXPECT_EQ((*node(j, "pool"))["flops"], 12 * 4);
  const json& big = *node(j, "big_matmul");
  EXPECT_EQ(big["macs"], 128 * 128 * 128);
  EXPECT_EQ(big["bound"], "compute-bound");  // 21 FLOP/byte against zen5-2c's ridge of 11.65
  EXPECT_EQ((*node(j, "matmul"))["bound"], "memory-bound");
  int64_t macs = 120 + 48 + 1350 + 128 * 128 * 128;
  EXPECT_EQ(j["totals"]["macs"], macs);

  CliResult human = run_hone({"inspect", model, "--target", "zen5-2c"}, {cache_});
  ASSERT_EQ(human.status, 0) << human.err;
  for (const char* s : {"1 MAC = 2 FLOPs", "matmul", "compute-bound", "memory-bound", "planned arena peak",
                        "466.0 GFLOP/s", "40.0 GB/s", "nominal built-in target 'zen5-2c'", "symbolic dimension 'N'"})
    EXPECT_TRUE(contains(human.out, s)) << "'" << s << "' not in:\n" << human.out;
}

TEST_F(CliInspect, BadShapesAndTargetsFail) {
  std::string model = save_model(elementwise_model(), path("ew.onnx"));
  struct Case {
    std::vector<std::string> args;
    std::string expect;
  };
  { std::ofstream(path("t_bad.json")) << R"({"name": "x", "peak_gflops": 10})"; }
  { std::ofstream(path("t_junk.json")) << "{not json"; }
  std::vector<Case> cases = {
      {{"--shape", "x=2x5"}, "input 'x'"},
      {{"--shape", "x=2x4x1"}, "rank"},
      {{"--shape", "nope=1"}, "no input named 'nope'"},
      {{"--shape", "x=2xQ"}, "bad shape '2xQ'"},
      {{"--target", "no-such-target"}, "zen5-2c"},
      {{"--target", path("t_bad.json")}, "bandwidth_gbs"},
      {{"--target", path("t_junk.json")}, path("t_junk.json")},
      {{"--target", path("t_missing.json")}, path("t_missing.json")},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"inspect", model};
    args.insert(args.end(), c.args.begin(), c.args.end());
    CliResult r = run_hone(args, {cache_});
    EXPECT_EQ(r.status, 1) << c.args[1];
    EXPECT_TRUE(contains(r.err, "hone: error: ")) << r.err;
    EXPECT_TRUE(contains(r.err, c.expect)) << "'" << c.expect << "' not in: " << r.err;
  }
  { std::ofstream(path("t_ok.json")) << R"({"name": "mybox", "peak_gflops": 100, "bandwidth_gbs": 10})"; }
  json j = inspect_json(model, {}, path("t_ok.json"));
  EXPECT_EQ(j["machine"]["name"], "mybox");
  EXPECT_TRUE(contains(j["machine"]["source"].get<std::string>(), "t_ok.json"));
}

TEST_F(CliInspect, MeasuresThisMachineOnceAndCachesIt) {
  std::string model = save_model(elementwise_model(), path("ew.onnx"));
  CliResult first = run_hone({"inspect", model, "--json"}, {cache_});
  ASSERT_EQ(first.status, 0) << first.err;
  json j = json::parse(first.out);
  EXPECT_GT(j["machine"]["peak_gflops"].get<double>(), 0.1);
  EXPECT_GT(j["machine"]["bandwidth_gbs"].get<double>(), 0.1);
  EXPECT_TRUE(contains(j["machine"]["source"].get<std::string>(), "measured now")) << j["machine"];
  ASSERT_TRUE(fs::exists(dir_ / "cache/hone/machine.json"));
  CliResult second = run_hone({"inspect", model, "--json"}, {cache_});
  json j2 = json::parse(second.out);
  EXPECT_TRUE(contains(j2["machine"]["source"].get<std::string>(), "cached in")) << j2["machine"];
  EXPECT_EQ(j2["machine"]["peak_gflops"], j["machine"]["peak_gflops"]);
  // A cache for another CPU is measured again.
  json cache = json::parse(read_text_file(dir_ / "cache/hone/machine.json"));
  cache["cpu_model"] = "Some Other CPU";
  { std::ofstream(dir_ / "cache/hone/machine.json") << cache.dump(); }
  json j3 = json::parse(run_hone({"inspect", model, "--json"}, {cache_}).out);
  EXPECT_TRUE(contains(j3["machine"]["source"].get<std::string>(), "measured now")) << j3["machine"];
}

TEST_F(CliInspect, LargeGraphsShowTheTopNodesAndJsonHasAll) {
  Model m = empty_model();
  m.graph.inputs = {{"v0", TypeInfo::tensor(DType::Float32, SymShape{1, 8})}};
  for (int i = 0; i < 70; ++i) {
    std::string in = "v" + std::to_string(i), out = "v" + std::to_string(i + 1);
    m.graph.nodes.push_back(make_node(i % 2 ? "Relu" : "Add", i % 2 ? std::vector<std::string>{in}
                                                                     : std::vector<std::string>{in, in},
                                      {out}, "n" + std::to_string(i)));
  }
  m.graph.outputs = {{"v70", TypeInfo::tensor(DType::Float32)}};
  std::string model = save_model(m, path("long.onnx"));
  CliResult r = run_hone({"inspect", model, "--target", "zen5-2c"}, {cache_});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "top 25 of 70")) << r.out;
  EXPECT_TRUE(contains(r.out, "45 more nodes omitted")) << r.out;
  EXPECT_EQ(inspect_json(model)["nodes"].size(), 70u);
}

TEST_F(CliInspect, ModelsWithUnsupportedOpsAreStillInspected) {
  Model m = empty_model();
  m.opset_import.push_back({"com.example", 1});
  m.graph.inputs = {{"x", TypeInfo::tensor(DType::Float32, SymShape{2, 2})}};
  Node odd = make_node("Frobnicate", {"x"}, {"f"}, "odd");
  odd.domain = "com.example";
  m.graph.nodes.push_back(odd);
  m.graph.nodes.push_back(make_node("Relu", {"x"}, {"r"}, "relu"));
  m.graph.outputs = {{"f", TypeInfo::tensor(DType::Float32)}, {"r", TypeInfo::tensor(DType::Float32)}};
  std::string model = save_model(m, path("odd.onnx"));
  json j = inspect_json(model);
  EXPECT_TRUE(j["memory"]["arena_peak_bytes"].is_null());
  EXPECT_TRUE(contains(j["memory"]["unavailable_reason"].get<std::string>(), "Frobnicate"));
  EXPECT_EQ((*node(j, "odd"))["bound"], "unknown");
  EXPECT_EQ((*node(j, "relu"))["flops"], 4);
  EXPECT_EQ(j["opsets"]["com.example"], 1);
  CliResult r = run_hone({"run", model});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(contains(r.err, "Frobnicate")) << r.err;
}

TEST_F(CliInspect, FashionMnistCnn) {
  std::string fx = std::string(HONE_SOURCE_DIR) + "/tests/fixtures/fashion_mnist_cnn.onnx";
  json j = inspect_json(fx, {"--shape", "input=8x1x28x28"});
  EXPECT_EQ(j["op_histogram"]["Conv"], 2);
  // The conv's output is fused away in the runtime's lowered graph (BatchNormalization folds into it): inspect
  // still reports the model's own nodes.
  const json& conv1 = *node(j, "/conv1/Conv");
  EXPECT_NE(conv1["bound"], "unknown");
  EXPECT_EQ(conv1["output_shapes"], json::parse("[[8, 6, 28, 28]]"));
  EXPECT_EQ(conv1["macs"], 8 * 6 * 28 * 28 * 25);
  EXPECT_EQ((*node(j, "/fc1/Gemm"))["macs"], 8 * 400 * 120);
  EXPECT_GT(j["parameters"]["count"].get<int64_t>(), 60000);
}

}  // namespace
}  // namespace hone::testing
