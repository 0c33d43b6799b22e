// Shared by the HTTP front end's tests: an InferenceServer with the Fashion-MNIST CNN and a model of every other
// datatype the tests send (INT64, INT32, BOOL, FP16), served by an HttpFrontend on 127.0.0.1 at a free port, and a
// raw cpp-httplib client (requests are written from the KServe v2 specification, not through hone's own client).
#pragma once
#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "hone/hone.h"
#include "ir/onnx/onnx_io.h"
#include "serve/http_frontend.h"
#include "serve_core_test_util.h"

namespace hone::serve::testing {

// Inputs i64 INT64, i32 INT32, b BOOL, h FP16, each [batch, 3]; outputs i64_sum = i64 + i64, i32_product =
// i32 * i32, b_not = Not(b), h_sum = h + h.
inline Model dtypes_model() {
  Model m;
  m.ir_version = 8;
  m.opset_import = {{"", 13}};
  SymShape s = {Dim::named("batch"), Dim(3)};
  struct Io {
    const char *in, *out, *op;
    DType dtype;
    bool binary_op;
  };
  const Io ios[] = {{"i64", "i64_sum", "Add", DType::Int64, true},
                    {"i32", "i32_product", "Mul", DType::Int32, true},
                    {"b", "b_not", "Not", DType::Bool, false},
                    {"h", "h_sum", "Add", DType::Float16, true}};
  for (const Io& io : ios) {
    m.graph.inputs.push_back({io.in, TypeInfo::tensor(io.dtype, s), ""});
    Node n;
    n.name = std::string("node_") + io.out;
    n.op_type = io.op;
    n.inputs = io.binary_op ? std::vector<std::string>{io.in, io.in} : std::vector<std::string>{io.in};
    n.outputs = {io.out};
    m.graph.nodes.push_back(n);
    m.graph.outputs.push_back({io.out, TypeInfo::tensor(io.dtype), ""});
  }
  return m;
}

// A model slow enough (about 2 x 40 x 1024^3 FLOP, a few tenths of a second on one core) to signal the server
// while it runs: x float32 [1, 1024, 1024] through 40 MatMuls with the identity, then the mean, [1, 1, 1].
inline std::string write_slow_model(const std::filesystem::path& dir) {
  constexpr int64_t n = 1024;
  Model m;
  m.ir_version = 8;
  m.opset_import = {{"", 13}};
  m.graph.inputs.push_back({"x", TypeInfo::tensor(DType::Float32, SymShape{Dim(1), Dim(n), Dim(n)}), ""});
  Tensor identity(DType::Float32, {n, n});
  for (int64_t i = 0; i < n; ++i) identity.data<float>()[i * n + i] = 1.f;
  m.graph.initializers["identity"] = identity;
  std::string prev = "x";
  for (int k = 0; k < 40; ++k) {
    Node mm;
    mm.name = "matmul_" + std::to_string(k);
    mm.op_type = "MatMul";
    mm.inputs = {prev, "identity"};
    mm.outputs = {"y" + std::to_string(k)};
    m.graph.nodes.push_back(mm);
    prev = mm.outputs[0];
  }
  Node mean;
  mean.name = "mean";
  mean.op_type = "ReduceMean";
  mean.inputs = {prev};
  mean.outputs = {"mean"};
  mean.attributes = {Attribute::of_ints("axes", {1, 2}), Attribute::of_int("keepdims", 1)};
  m.graph.nodes.push_back(mean);
  m.graph.outputs.push_back({"mean", TypeInfo::tensor(DType::Float32), ""});
  std::string path = (dir / "slow.onnx").string();
  save_onnx_file(m, path, true);
  return path;
}

class HttpServerTest : public ::testing::Test {
 protected:
  // Bodies over 1 MiB are refused, so the over-the-limit test sends little.
  static constexpr size_t kMaxRequestBytes = 1 << 20;

  void SetUp() override {
    ServerOptions options;
    options.defaults.max_batch_size = 8;
    options.defaults.max_queue_delay_us = 200;
    options.defaults.threads = 1;
    options.max_request_bytes = kMaxRequestBytes;
    configure(options);
    server_ = std::make_unique<InferenceServer>(options);
    add_models();
    HttpOptions http;
    http.host = "127.0.0.1";
    http.port = 0;
    frontend_ = std::make_unique<HttpFrontend>(*server_, http);
    ASSERT_GT(frontend_->port(), 0);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", frontend_->port());
    client_->set_keep_alive(true);
    client_->set_read_timeout(30);
  }
  void TearDown() override {
    client_.reset();
    frontend_.reset();
    server_.reset();
  }
  virtual void configure(ServerOptions&) {}
  virtual void add_models() {
    server_->add_model("cnn", cnn_path());
    std::string dtypes = dir_ / "dtypes.onnx";
    save_onnx_file(dtypes_model(), dtypes, true);
    server_->add_model("dtypes", dtypes);
  }

  httplib::Result get(const std::string& path) { return client_->Get(path); }
  httplib::Result post(const std::string& path, const std::string& body, const httplib::Headers& headers = {}) {
    return client_->Post(path, headers, body, "application/json");
  }
  httplib::Result post_json(const std::string& path, const nlohmann::json& body) { return post(path, body.dump()); }

  TempDir dir_;
  std::unique_ptr<InferenceServer> server_;
  std::unique_ptr<HttpFrontend> frontend_;
  std::unique_ptr<httplib::Client> client_;
};

// The body of a reply as JSON (a test failure when it is not).
inline nlohmann::json json_of(const httplib::Result& r) {
  if (!r) {
    ADD_FAILURE() << "no reply: " << httplib::to_string(r.error());
    return {};
  }
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded()) ADD_FAILURE() << "reply is not JSON: " << r->body.substr(0, 200);
  return j;
}

// A float32 tensor's values as a flat JSON array.
inline nlohmann::json json_values(const Tensor& t) {
  nlohmann::json a = nlohmann::json::array();
  for (int64_t k = 0; k < t.numel(); ++k) a.push_back(t.get_double(k));
  return a;
}

}  // namespace hone::serve::testing
