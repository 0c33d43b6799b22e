// Shared by the quantization tests (tests/unit/quantize_*_test.cc): an in-memory data set, small seeded models with
// the structures `hone quantize` must handle (conv chains with Relu / pooling / flatten / Gemm, residual Adds,
// Concat, MLPs, MatMul), and a runner for ONNX Runtime (tests/peer/ort_run.js).
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "../cli/cli_models.h"
#include "data/dataset.h"
#include "data/npy.h"
#include "hone/hone.h"
#include "test_paths.h"

namespace hone::quant::testing {

using hone::testing::empty_model;
using hone::testing::int_attr;
using hone::testing::ints_attr;
using hone::testing::make_node;

// Samples held in one tensor [N, ...].
class MemoryDataset : public data::Dataset {
 public:
  explicit MemoryDataset(Tensor samples) : t_(std::move(samples)) {
    sample_ = Shape(t_.shape().begin() + 1, t_.shape().end());
  }
  int64_t size() const override { return t_.dim(0); }
  const Shape& sample_shape() const override { return sample_; }
  Tensor batch(int64_t first, int64_t count) const override {
    Shape s = t_.shape();
    s[0] = count;
    Tensor b(DType::Float32, s);
    int64_t per = t_.numel() / t_.dim(0);
    std::copy(t_.data<float>() + first * per, t_.data<float>() + (first + count) * per, b.data<float>());
    return b;
  }
  std::string describe() const override { return "memory"; }

 private:
  Tensor t_;
  Shape sample_;
};

inline Tensor random_tensor(Shape s, uint64_t seed, float lo = -1, float hi = 1) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  Tensor t(DType::Float32, std::move(s));
  for (float& v : t.span<float>()) v = d(rng);
  return t;
}

inline ValueInfo float_input(const std::string& name, SymShape s) {
  return {name, TypeInfo::tensor(DType::Float32, std::move(s)), ""};
}

// x [batch, 1, 8, 8] -> Conv(4, 3x3, pad 1, bias) -> Relu -> MaxPool 2x2 -> Flatten -> Gemm(transB, bias) -> logits.
inline Model cnn_model() {
  Model m = empty_model(13);
  Graph& g = m.graph;
  g.inputs = {float_input("x", {Dim::named("batch"), 1, 8, 8})};
  g.initializers["w1"] = random_tensor({4, 1, 3, 3}, 1, -0.5f, 0.5f);
  g.initializers["b1"] = random_tensor({4}, 2, -0.1f, 0.1f);
  g.initializers["w2"] = random_tensor({10, 64}, 3, -0.2f, 0.2f);
  g.initializers["b2"] = random_tensor({10}, 4, -0.1f, 0.1f);
  Node conv = make_node("Conv", {"x", "w1", "b1"}, {"c"}, "conv");
  conv.attributes = {ints_attr("pads", {1, 1, 1, 1}), ints_attr("kernel_shape", {3, 3})};
  Node pool = make_node("MaxPool", {"r"}, {"p"}, "pool");
  pool.attributes = {ints_attr("kernel_shape", {2, 2}), ints_attr("strides", {2, 2})};
  Node gemm = make_node("Gemm", {"f", "w2", "b2"}, {"logits"}, "gemm");
  gemm.attributes = {int_attr("transB", 1)};
  g.nodes = {conv, make_node("Relu", {"c"}, {"r"}, "relu"), pool, make_node("Flatten", {"p"}, {"f"}, "flatten"), gemm};
  g.outputs = {{"logits", TypeInfo::tensor(DType::Float32), ""}};
  return m;
}

// x [batch, 4, 6, 6] -> Conv a -> Relu -> Conv b -> Add(., x) -> Relu -> Conv c (1x1) -> y.
inline Model residual_model() {
  Model m = empty_model(13);
  Graph& g = m.graph;
  g.inputs = {float_input("x", {Dim::named("batch"), 4, 6, 6})};
  auto conv = [&](const std::string& name, const std::string& in, const std::string& out, int64_t k, uint64_t seed) {
    g.initializers[name + "_w"] = random_tensor({4, 4, k, k}, seed, -0.3f, 0.3f);
    g.initializers[name + "_b"] = random_tensor({4}, seed + 100, -0.1f, 0.1f);
    Node n = make_node("Conv", {in, name + "_w", name + "_b"}, {out}, name);
    int64_t p = k / 2;
    n.attributes = {ints_attr("pads", {p, p, p, p})};
    return n;
  };
  g.nodes = {conv("conv_a", "x", "a", 3, 11), make_node("Relu", {"a"}, {"ar"}, "relu_a"), conv("conv_b", "ar", "b", 3, 12),
             make_node("Add", {"b", "x"}, {"s"}, "add"), make_node("Relu", {"s"}, {"sr"}, "relu_s"),
             conv("conv_c", "sr", "y", 1, 13)};
  g.outputs = {{"y", TypeInfo::tensor(DType::Float32), ""}};
  return m;
}

// x [batch, 2, 6, 6] -> (Conv l -> Relu) and (Conv r, no activation: signed) -> Concat -> Conv out -> y.
// With `both_relu` the right branch has a Relu too.
inline Model concat_model(bool both_relu) {
  Model m = empty_model(13);
  Graph& g = m.graph;
  g.inputs = {float_input("x", {Dim::named("batch"), 2, 6, 6})};
  g.initializers["wl"] = random_tensor({3, 2, 1, 1}, 21);
  g.initializers["wr"] = random_tensor({3, 2, 1, 1}, 22);
  g.initializers["wo"] = random_tensor({2, 6, 1, 1}, 23);
  g.nodes = {make_node("Conv", {"x", "wl"}, {"l"}, "conv_l"), make_node("Relu", {"l"}, {"lr"}, "relu_l"),
             make_node("Conv", {"x", "wr"}, {both_relu ? "r0" : "rr"}, "conv_r")};
  if (both_relu) g.nodes.push_back(make_node("Relu", {"r0"}, {"rr"}, "relu_r"));
  Node cat = make_node("Concat", {"lr", "rr"}, {"cat"}, "concat");
  cat.attributes = {int_attr("axis", 1)};
  g.nodes.push_back(cat);
  g.nodes.push_back(make_node("Conv", {"cat", "wo"}, {"y"}, "conv_out"));
  g.outputs = {{"y", TypeInfo::tensor(DType::Float32), ""}};
  return m;
}

// x [batch, 16] -> Gemm(W1 [16, 32], b1) -> Relu -> Gemm(W2 [10, 32] transB, b2, alpha 0.5, beta 2) -> y, and
// a MatMul branch x -> MatMul(W3 [16, 4]) -> Add(bias) -> z.
inline Model mlp_model() {
  Model m = empty_model(13);
  Graph& g = m.graph;
  g.inputs = {float_input("x", {Dim::named("batch"), 16})};
  g.initializers["w1"] = random_tensor({16, 32}, 31, -0.4f, 0.4f);
  g.initializers["b1"] = random_tensor({32}, 32, -0.1f, 0.1f);
  g.initializers["w2"] = random_tensor({10, 32}, 33, -0.4f, 0.4f);
  g.initializers["b2"] = random_tensor({10}, 34, -0.1f, 0.1f);
  g.initializers["w3"] = random_tensor({16, 4}, 35);
  g.initializers["b3"] = random_tensor({4}, 36);
  Node g2 = make_node("Gemm", {"h", "w2", "b2"}, {"y"}, "fc2");
  Attribute alpha, beta;
  alpha.name = "alpha";
  alpha.type = Attribute::Type::Float;
  alpha.f = 0.5f;
  beta.name = "beta";
  beta.type = Attribute::Type::Float;
  beta.f = 2.0f;
  g2.attributes = {int_attr("transB", 1), alpha, beta};
  g.nodes = {make_node("Gemm", {"x", "w1", "b1"}, {"h0"}, "fc1"), make_node("Relu", {"h0"}, {"h"}, "relu"), g2,
             make_node("MatMul", {"x", "w3"}, {"m"}, "mm"), make_node("Add", {"m", "b3"}, {"z"}, "bias")};
  g.outputs = {{"y", TypeInfo::tensor(DType::Float32), ""}, {"z", TypeInfo::tensor(DType::Float32), ""}};
  return m;
}

// Runs `model` (a file) in ONNX Runtime on `input` and returns its outputs; fails the test when node cannot run it.
inline std::vector<Tensor> run_ort(const std::string& model, const std::string& input_name, const Tensor& input,
                                   const std::string& dir) {
  namespace fs = std::filesystem;
  std::string in = dir + "/ort_in.npy", out = dir + "/ort_out";
  fs::create_directories(out);
  write_npy_file(input, in, true);
  std::string cmd = "node '" + test::source_dir() + "/tests/peer/ort_run.js' '" + model + "' '" + out + "' '" +
                    input_name + "=" + in + "' > '" + dir + "/ort.log' 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    std::ifstream log(dir + "/ort.log");
    std::string text((std::istreambuf_iterator<char>(log)), {});
    ADD_FAILURE() << "ONNX Runtime failed on " << model << ":\n" << text;
    return {};
  }
  std::vector<Tensor> r;
  for (int i = 0; fs::exists(out + "/" + std::to_string(i) + ".npy"); ++i)
    r.push_back(read_npy_file(out + "/" + std::to_string(i) + ".npy"));
  return r;
}

// Whether ONNX Runtime can be run here (node and the npm package); tests needing it skip otherwise.
inline bool ort_available() {
  std::string probe = "node -e \"require('" + test::source_dir() + "/node_modules/onnxruntime-node')\" >/dev/null 2>&1";
  return std::system(probe.c_str()) == 0;
}

inline int count_ops(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& x : g.nodes) n += x.op_type == op;
  return n;
}

inline const Node* find_node_by_output(const Graph& g, const std::string& out) {
  for (const Node& n : g.nodes)
    for (const std::string& o : n.outputs)
      if (o == out) return &n;
  return nullptr;
}

}  // namespace hone::quant::testing
