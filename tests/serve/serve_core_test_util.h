// Shared by the core's tests (inference server, batcher, repository, metrics): fixture paths, sample images,
// small models built node by node (two outputs, a non-batch-major output, a fixed batch) written to a temp folder.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "data/npy.h"
#include "hone/hone.h"
#include "ir/onnx/onnx_io.h"
#include "serve/inference_server.h"

namespace hone::serve::testing {

inline std::string fixture(const std::string& file) { return std::string(HONE_SOURCE_DIR) + "/tests/fixtures/" + file; }
inline std::string cnn_path() { return fixture("fashion_mnist_cnn.onnx"); }

// The first `n` Fashion-MNIST test images from `first`, as a [n,1,28,28] float32 tensor.
inline Tensor images(int64_t first, int64_t n) {
  static const Tensor all = read_npy_file(fixture("fashion_mnist_test_1000_images.npy"));
  Tensor t(DType::Float32, {n, 1, 28, 28});
  std::memcpy(t.raw(), all.data<float>() + first * 784, static_cast<size_t>(n * 784) * sizeof(float));
  return t;
}

// A fresh folder under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("hone_serve_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return (path_ / rel).string(); }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::filesystem::path path_;
};

// float32 input "x" of shape [batch_dim, width] (batch_dim < 0: symbolic "batch"; width < 0: symbolic "width").
inline Model model_with(int64_t batch_dim, const std::vector<std::pair<std::string, std::string>>& outputs_by_op,
                        int64_t width = 4) {
  Model m;
  m.ir_version = 8;
  m.opset_import = {{"", 13}};
  SymShape s = {batch_dim < 0 ? Dim::named("batch") : Dim(batch_dim), width < 0 ? Dim::named("width") : Dim(width)};
  m.graph.inputs.push_back({"x", TypeInfo::tensor(DType::Float32, s), ""});
  for (const auto& [name, op] : outputs_by_op) {
    Node n;
    n.name = "node_" + name;
    n.op_type = op;
    n.inputs = {"x"};
    n.outputs = {name};
    if (op == "ReduceMean") n.attributes = {Attribute::of_ints("axes", {0}), Attribute::of_int("keepdims", 1)};
    m.graph.nodes.push_back(n);
    m.graph.outputs.push_back({name, TypeInfo::tensor(DType::Float32), ""});
  }
  return m;
}

// Two batch-major outputs: "relu" = Relu(x), "neg" = Neg(x). x: [batch, 4], or [batch, width] when `any_width`.
inline std::string write_two_output_model(const TempDir& dir, bool any_width = false) {
  std::string path = dir / (any_width ? "two_outputs_any_width.onnx" : "two_outputs.onnx");
  save_onnx_file(model_with(-1, {{"relu", "Relu"}, {"neg", "Neg"}}, any_width ? -1 : 4), path, true);
  return path;
}
// One output that is not batch-major: the mean over the batch, shape [1, width]; x: [batch, width].
inline std::string write_batch_mean_model(const TempDir& dir) {
  std::string path = dir / "batch_mean.onnx";
  save_onnx_file(model_with(-1, {{"mean", "ReduceMean"}}, -1), path, true);
  return path;
}
// A fixed batch of 2 rows.
inline std::string write_fixed_batch_model(const TempDir& dir) {
  std::string path = dir / "fixed_batch.onnx";
  save_onnx_file(model_with(2, {{"relu", "Relu"}}), path, true);
  return path;
}

// x of shape [rows, 4] with values distinct per row: row r holds (r + offset) * 10 + column - 20.
inline Tensor rows_tensor(int64_t rows, int64_t offset, int64_t width = 4) {
  Tensor t(DType::Float32, {rows, width});
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < width; ++c)
      t.data<float>()[r * width + c] = static_cast<float>((r + offset) * 10 + c - 20);
  return t;
}

// A request that keeps an instance busy for a few milliseconds (an any-width model on 2M floats), so that the
// requests sent after it wait in the queue together.
inline Tensor wide_tensor() { return Tensor(DType::Float32, {1, int64_t{1} << 21}); }

inline InferRequest request_for(const std::string& model, std::string input, Tensor t) {
  InferRequest r;
  r.model = model;
  r.inputs.push_back({std::move(input), std::move(t)});
  return r;
}

// The error infer() throws, or a test failure when it does not throw.
template <typename F>
ServeError error_of(F&& f) {
  try {
    f();
  } catch (const ServeError& e) {
    return e;
  }
  ADD_FAILURE() << "no ServeError thrown";
  return ServeError(ErrorKind::Internal, "");
}

// The value of the sample line that starts with `series` ("name{labels}"), or -1 when there is none.
inline double sample_value(const std::string& text, const std::string& series) {
  size_t at = 0;
  while ((at = text.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') return std::stod(text.substr(at + series.size() + 1));
    at += 1;
  }
  return -1;
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace hone::serve::testing
