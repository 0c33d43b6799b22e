// The gRPC front end against the protocol: an InferenceServer with the Fashion-MNIST fixtures behind a GrpcFrontend
// on 127.0.0.1, driven through the stub generated from grpc_predict_v2.proto (what Triton's and KServe's clients
// use), not through Hone's own client. Results are compared with Session::run on the same images; every error comes
// back with its status code and a message, and the server answers normally afterwards.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <sstream>
#include <thread>

#include "data/npy.h"
#include "grpc_predict_v2.grpc.pb.h"
#include "hone/hone.h"
#include "ir/onnx/onnx_io.h"
#include "serve/grpc_frontend.h"
#include "serve/grpc_tensor_codec.h"
#include "serve/infer_client.h"
#include "http_test_util.h"

namespace hone::serve {
namespace {

namespace fs = std::filesystem;
using grpc::StatusCode;

std::string fixture(const std::string& file) { return std::string(HONE_SOURCE_DIR) + "/tests/fixtures/" + file; }

// Fashion-MNIST test images [first, first + n) as float32 [n,1,28,28].
Tensor images(int64_t first, int64_t n) {
  static const Tensor all = read_npy_file(fixture("fashion_mnist_test_1000_images.npy"));
  Tensor t(DType::Float32, {n, 1, 28, 28});
  std::memcpy(t.raw(), all.data<float>() + first * 784, static_cast<size_t>(n * 784) * sizeof(float));
  return t;
}

// What the engine computes in process for the same input: the oracle for every served result.
Tensor session_output(const std::string& model_file, const std::string& input, const Tensor& x) {
  Session s = Session::load(fixture(model_file));
  return s.run({{input, x}}).at(0);
}

// The server may batch a request with others, which can change the kernels' summation order in the last bits.
void expect_close(const float* got, const Tensor& want, int64_t count) {
  ASSERT_EQ(count, want.numel());
  for (int64_t i = 0; i < count; ++i) EXPECT_NEAR(got[i], want.data<float>()[i], 1e-4f) << "element " << i;
}

void expect_status(const grpc::Status& s, StatusCode code, std::initializer_list<std::string> words) {
  EXPECT_EQ(s.error_code(), code) << s.error_message();
  EXPECT_FALSE(s.error_message().empty());
  for (const auto& w : words)
    EXPECT_NE(s.error_message().find(w), std::string::npos) << "'" << w << "' not in: " << s.error_message();
}

// Sum of hone_requests_total over the lines for `model` with `outcome`.
double requests_total(const std::string& metrics, const std::string& model, const std::string& outcome) {
  std::istringstream in(metrics);
  double sum = 0;
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("hone_requests_total{")) continue;
    if (line.find("model=\"" + model + "\"") == std::string::npos) continue;
    if (line.find("outcome=\"" + outcome + "\"") == std::string::npos) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

inference::ModelInferRequest infer_request(const std::string& model, const Tensor& x, bool raw,
                                           const std::string& input = "input") {
  inference::ModelInferRequest m;
  m.set_model_name(model);
  auto* in = m.add_inputs();
  in->set_name(input);
  in->set_datatype(kserve_datatype(x.dtype()));
  for (int64_t d : x.shape()) in->add_shape(d);
  if (raw)
    m.add_raw_input_contents(raw_contents(x));
  else
    typed_contents(x, in->mutable_contents());
  return m;
}

// A model of Identity nodes: input "in_<dtype>" [batch, 3] -> output "out_<dtype>", one per datatype.
std::string write_identity_model(const fs::path& path, const std::vector<DType>& dtypes) {
  Model m;
  m.ir_version = 8;
  m.opset_import = {{"", 13}};
  for (DType t : dtypes) {
    const std::string suffix(dtype_name(t));
    m.graph.inputs.push_back({"in_" + suffix, TypeInfo::tensor(t, SymShape{Dim::named("batch"), Dim(3)}), ""});
    Node n;
    n.name = "copy_" + suffix;
    n.op_type = "Identity";
    n.inputs = {"in_" + suffix};
    n.outputs = {"out_" + suffix};
    m.graph.nodes.push_back(n);
    m.graph.outputs.push_back({"out_" + suffix, TypeInfo::tensor(t), ""});
  }
  save_onnx_file(m, path.string(), true);
  return path.string();
}

// Element values that differ per position and per datatype's sign and range.
Tensor distinct_values(DType dtype, Shape shape) {
  Tensor t(dtype, shape);
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (dtype == DType::String)
      t.data<std::string>()[i] = "s" + std::to_string(i * 7);
    else if (dtype == DType::Bool)
      t.data<bool>()[i] = i % 2 == 0;
    else
      t.set_double(i, (is_signed_integer(dtype) || is_float(dtype)) && i % 2 ? -double(i) : double(i + 1));
  }
  return t;
}

void expect_same_bytes(const Tensor& got, const Tensor& want) {
  ASSERT_EQ(got.dtype(), want.dtype());
  ASSERT_EQ(got.shape(), want.shape());
  if (want.dtype() == DType::String) {
    for (int64_t i = 0; i < want.numel(); ++i) EXPECT_EQ(got.data<std::string>()[i], want.data<std::string>()[i]);
  } else {
    EXPECT_EQ(std::memcmp(got.raw(), want.raw(), want.nbytes()), 0) << kserve_datatype(want.dtype());
  }
}

class GrpcProtocolTest : public ::testing::Test {
 protected:
  static constexpr size_t kMaxRequestBytes = 1u << 20;

  void SetUp() override { start({}); }

  void start(const std::string& repository) {
    frontend_.reset();
    server_.reset();
    ServerOptions options;
    options.max_request_bytes = kMaxRequestBytes;
    options.repository = repository;
    server_ = std::make_unique<InferenceServer>(options);
    if (repository.empty()) {
      server_->add_model("cnn", fixture("fashion_mnist_cnn.onnx"));
      server_->add_model("mlp", fixture("fashion_mnist_mlp.onnx"));
    } else {
      server_->load_repository();
    }
    frontend_ = std::make_unique<GrpcFrontend>(*server_, GrpcOptions{.host = "127.0.0.1", .port = 0});
    ASSERT_GT(frontend_->port(), 0);
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(frontend_->port()),
                                       grpc::InsecureChannelCredentials());
    stub_ = inference::GRPCInferenceService::NewStub(channel);
  }

  // One call with a deadline, so a server that never answers fails the test instead of hanging it.
  template <typename Request, typename Response>
  grpc::Status call(grpc::Status (inference::GRPCInferenceService::Stub::*rpc)(grpc::ClientContext*, const Request&,
                                                                                Response*),
                    const Request& request, Response* response) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return ((*stub_).*rpc)(&ctx, request, response);
  }

  grpc::Status infer(const inference::ModelInferRequest& request, inference::ModelInferResponse* response) {
    return call(&inference::GRPCInferenceService::Stub::ModelInfer, request, response);
  }

  // After an error: the server is live and still infers correctly.
  void expect_still_serving() {
    inference::ServerLiveResponse live;
    ASSERT_TRUE(call(&inference::GRPCInferenceService::Stub::ServerLive, {}, &live).ok());
    EXPECT_TRUE(live.live());
    Tensor x = images(40, 1);
    inference::ModelInferResponse response;
    grpc::Status s = infer(infer_request("cnn", x, true), &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(response.raw_output_contents_size(), 1);
    expect_close(reinterpret_cast<const float*>(response.raw_output_contents(0).data()),
                 session_output("fashion_mnist_cnn.onnx", "input", x), 10);
  }

  std::unique_ptr<InferenceServer> server_;
  std::unique_ptr<GrpcFrontend> frontend_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
};

TEST_F(GrpcProtocolTest, ServerLiveReadyAndMetadata) {
  inference::ServerLiveResponse live;
  ASSERT_TRUE(call(&inference::GRPCInferenceService::Stub::ServerLive, {}, &live).ok());
  EXPECT_TRUE(live.live());
  inference::ServerReadyResponse ready;
  ASSERT_TRUE(call(&inference::GRPCInferenceService::Stub::ServerReady, {}, &ready).ok());
  EXPECT_TRUE(ready.ready());
  inference::ServerMetadataResponse meta;
  ASSERT_TRUE(call(&inference::GRPCInferenceService::Stub::ServerMetadata, {}, &meta).ok());
  EXPECT_EQ(meta.name(), "hone");
  EXPECT_FALSE(meta.version().empty());
  EXPECT_NE(std::find(meta.extensions().begin(), meta.extensions().end(), "model_repository"), meta.extensions().end());
  server_->drain();  // draining: not ready, still live
  ASSERT_TRUE(call(&inference::GRPCInferenceService::Stub::ServerReady, {}, &ready).ok());
  EXPECT_FALSE(ready.ready());
  ASSERT_TRUE(call(&inference::GRPCInferenceService::Stub::ServerLive, {}, &live).ok());
  EXPECT_TRUE(live.live());
  inference::ModelInferResponse response;
  expect_status(infer(infer_request("cnn", images(0, 1), true), &response), StatusCode::UNAVAILABLE, {});
}

TEST_F(GrpcProtocolTest, ModelReady) {
  auto ready = [&](const std::string& name, const std::string& version) {
    inference::ModelReadyRequest request;
    request.set_name(name);
    request.set_version(version);
    inference::ModelReadyResponse response;
    EXPECT_TRUE(call(&inference::GRPCInferenceService::Stub::ModelReady, request, &response).ok());
    return response.ready();
  };
  EXPECT_TRUE(ready("cnn", ""));
  EXPECT_TRUE(ready("cnn", "1"));
  EXPECT_TRUE(ready("mlp", ""));
  EXPECT_FALSE(ready("cnn", "7"));
  EXPECT_FALSE(ready("resnet", ""));
}

TEST_F(GrpcProtocolTest, ModelMetadataMatchesTheSession) {
  inference::ModelMetadataRequest request;
  request.set_name("cnn");
  inference::ModelMetadataResponse meta;
  ASSERT_TRUE(call(&inference::GRPCInferenceService::Stub::ModelMetadata, request, &meta).ok());
  EXPECT_EQ(meta.name(), "cnn");
  ASSERT_EQ(meta.versions_size(), 1);
  EXPECT_EQ(meta.versions(0), "1");
  EXPECT_FALSE(meta.platform().empty());
  Session s = Session::load(fixture("fashion_mnist_cnn.onnx"));
  ASSERT_EQ(meta.inputs_size(), static_cast<int>(s.inputs().size()));
  ASSERT_EQ(meta.outputs_size(), static_cast<int>(s.outputs().size()));
  EXPECT_EQ(meta.inputs(0).name(), s.inputs()[0].name);
  EXPECT_EQ(meta.inputs(0).datatype(), "FP32");
  EXPECT_EQ(std::vector<int64_t>(meta.inputs(0).shape().begin(), meta.inputs(0).shape().end()),
            (std::vector<int64_t>{-1, 1, 28, 28}));
  EXPECT_EQ(meta.outputs(0).name(), s.outputs()[0].name);
  EXPECT_EQ(meta.outputs(0).datatype(), "FP32");
  EXPECT_EQ(std::vector<int64_t>(meta.outputs(0).shape().begin(), meta.outputs(0).shape().end()),
            (std::vector<int64_t>{-1, 10}));

  request.set_name("resnet");
  expect_status(call(&inference::GRPCInferenceService::Stub::ModelMetadata, request, &meta), StatusCode::NOT_FOUND,
                {"resnet"});
  request.set_name("cnn");
  request.set_version("7");
  expect_status(call(&inference::GRPCInferenceService::Stub::ModelMetadata, request, &meta), StatusCode::NOT_FOUND,
                {"7"});
  expect_still_serving();
}

TEST_F(GrpcProtocolTest, InferRawAndTypedContentsEqualSessionRun) {
  for (bool raw : {true, false}) {
    SCOPED_TRACE(raw ? "raw_input_contents" : "fp32_contents");
    Tensor x = images(3, 4);
    auto request = infer_request("cnn", x, raw);
    request.set_id(raw ? "raw-1" : "typed-1");
    inference::ModelInferResponse response;
    grpc::Status s = infer(request, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(response.model_name(), "cnn");
    EXPECT_EQ(response.model_version(), "1");
    EXPECT_EQ(response.id(), request.id());
    ASSERT_EQ(response.outputs_size(), 1);
    EXPECT_EQ(response.outputs(0).name(), "logits");
    EXPECT_EQ(response.outputs(0).datatype(), "FP32");
    EXPECT_EQ(std::vector<int64_t>(response.outputs(0).shape().begin(), response.outputs(0).shape().end()),
              (std::vector<int64_t>{4, 10}));
    ASSERT_EQ(response.raw_output_contents_size(), 1);
    ASSERT_EQ(response.raw_output_contents(0).size(), 40 * sizeof(float));
    expect_close(reinterpret_cast<const float*>(response.raw_output_contents(0).data()),
                 session_output("fashion_mnist_cnn.onnx", "input", x), 40);
  }
}

// Every datatype the engine and the protocol share goes through the server unchanged: raw for all of them, typed
// for those with a typed field (BYTES included). Outputs must come back byte for byte.
TEST_F(GrpcProtocolTest, EveryDatatypeThroughAnIdentityModel) {
  const fs::path dir = fs::temp_directory_path() / ("hone_grpc_identity_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::vector<DType> typed = {DType::Bool,  DType::UInt8, DType::UInt16,  DType::UInt32,  DType::UInt64,
                                    DType::Int8,  DType::Int16, DType::Int32,   DType::Int64,   DType::Float32,
                                    DType::Float64, DType::String};
  std::vector<DType> raw_only = typed;
  raw_only.push_back(DType::Float16);
  raw_only.push_back(DType::BFloat16);
  server_->add_model("identity_typed", write_identity_model(dir / "typed.onnx", typed));
  server_->add_model("identity_raw", write_identity_model(dir / "raw.onnx", raw_only));
  for (bool raw : {true, false}) {
    SCOPED_TRACE(raw ? "raw" : "typed");
    const auto& dtypes = raw ? raw_only : typed;
    inference::ModelInferRequest request;
    request.set_model_name(raw ? "identity_raw" : "identity_typed");
    std::vector<Tensor> sent;
    for (DType t : dtypes) {
      sent.push_back(distinct_values(t, {2, 3}));
      auto* in = request.add_inputs();
      in->set_name("in_" + std::string(dtype_name(t)));
      in->set_datatype(kserve_datatype(t));
      in->add_shape(2);
      in->add_shape(3);
      if (raw)
        request.add_raw_input_contents(raw_contents(sent.back()));
      else
        typed_contents(sent.back(), in->mutable_contents());
    }
    inference::ModelInferResponse response;
    grpc::Status s = infer(request, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(response.outputs_size(), static_cast<int>(dtypes.size()));
    InferResponse decoded = infer_response_from_grpc(response);
    for (size_t i = 0; i < dtypes.size(); ++i) {
      EXPECT_EQ(decoded.outputs[i].name, "out_" + std::string(dtype_name(dtypes[i])));
      expect_same_bytes(decoded.outputs[i].tensor, sent[i]);
    }
  }
  fs::remove_all(dir);
}

TEST_F(GrpcProtocolTest, InferMlpWithRequestedOutputAndVersion) {
  Tensor x = images(100, 3).reshaped({3, 784});
  auto request = infer_request("mlp", x, true);
  request.set_model_version("1");
  request.add_outputs()->set_name("logits");
  inference::ModelInferResponse response;
  grpc::Status s = infer(request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(response.raw_output_contents_size(), 1);
  expect_close(reinterpret_cast<const float*>(response.raw_output_contents(0).data()),
               session_output("fashion_mnist_mlp.onnx", "input", x), 30);
  request.mutable_outputs(0)->set_name("probabilities");
  expect_status(infer(request, &response), StatusCode::INVALID_ARGUMENT, {"probabilities"});
}

TEST_F(GrpcProtocolTest, WrongInputsAreInvalidArgument) {
  inference::ModelInferResponse response;
  // Wrong shape, dtype, name; an empty batch; raw bytes that do not fill the shape; typed values in the wrong field.
  expect_status(infer(infer_request("cnn", Tensor(DType::Float32, {1, 1, 28, 27}), true), &response),
                StatusCode::INVALID_ARGUMENT, {"input"});
  expect_status(infer(infer_request("cnn", Tensor(DType::Int64, {1, 1, 28, 28}), true), &response),
                StatusCode::INVALID_ARGUMENT, {"input"});
  expect_status(infer(infer_request("cnn", images(0, 1), true, "pixels"), &response), StatusCode::INVALID_ARGUMENT,
                {"pixels"});
  expect_status(infer(infer_request("cnn", Tensor(DType::Float32, {0, 1, 28, 28}), true), &response),
                StatusCode::INVALID_ARGUMENT, {});
  // The front end refuses these two while decoding, before the server sees them; the metrics count them still.
  const double rejected_before = requests_total(server_->metrics_text(), "cnn", "invalid_argument");
  auto short_raw = infer_request("cnn", images(0, 2), true);
  short_raw.mutable_raw_input_contents(0)->resize(784 * 4);
  expect_status(infer(short_raw, &response), StatusCode::INVALID_ARGUMENT, {"input", "bytes"});
  auto wrong_field = infer_request("cnn", images(0, 1), false);
  wrong_field.mutable_inputs(0)->set_datatype("FP64");
  expect_status(infer(wrong_field, &response), StatusCode::INVALID_ARGUMENT, {"fp32_contents"});
  EXPECT_EQ(requests_total(server_->metrics_text(), "cnn", "invalid_argument"), rejected_before + 2);
  expect_still_serving();
}

TEST_F(GrpcProtocolTest, UnknownModelOrVersionIsNotFound) {
  inference::ModelInferResponse response;
  expect_status(infer(infer_request("resnet", images(0, 1), true), &response), StatusCode::NOT_FOUND, {"resnet"});
  auto request = infer_request("cnn", images(0, 1), true);
  request.set_model_version("3");
  expect_status(infer(request, &response), StatusCode::NOT_FOUND, {"3"});
  inference::ModelInferRequest nameless = infer_request("", images(0, 1), true);
  expect_status(infer(nameless, &response), StatusCode::INVALID_ARGUMENT, {"model"});
  expect_still_serving();
}

TEST_F(GrpcProtocolTest, MessageOverTheLimitIsResourceExhausted) {
  Tensor x = images(0, 400);  // 400 * 3136 bytes = 1.2 MiB > the 1 MiB limit
  inference::ModelInferResponse response;
  expect_status(infer(infer_request("cnn", x, true), &response), StatusCode::RESOURCE_EXHAUSTED, {});
  expect_still_serving();
}

TEST_F(GrpcProtocolTest, SixtyFourConcurrentCallsAllAnswerCorrectly) {
  constexpr int kClients = 64, kCallsEach = 3;
  const Tensor x = images(200, kClients);
  const Tensor want = session_output("fashion_mnist_cnn.onnx", "input", x);
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      Tensor row(DType::Float32, {1, 1, 28, 28});
      std::memcpy(row.raw(), x.data<float>() + c * 784, 784 * sizeof(float));
      for (int i = 0; i < kCallsEach; ++i) {
        inference::ModelInferResponse response;
        grpc::Status s = infer(infer_request("cnn", row, true), &response);
        if (!s.ok() || response.raw_output_contents_size() != 1) continue;
        const auto* got = reinterpret_cast<const float*>(response.raw_output_contents(0).data());
        bool same = true;
        for (int k = 0; k < 10; ++k) same = same && std::abs(got[k] - want.data<float>()[c * 10 + k]) < 1e-4f;
        if (same) ++ok;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), kClients * kCallsEach);
}

TEST_F(GrpcProtocolTest, BusyPortIsAnError) {
  const std::string port = std::to_string(frontend_->port());
  try {
    GrpcFrontend second(*server_, GrpcOptions{.host = "127.0.0.1", .port = frontend_->port()});
    ADD_FAILURE() << "a second front end started on busy port " << port;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + port), std::string::npos) << e.what();
  }
  expect_still_serving();
}

TEST_F(GrpcProtocolTest, StopFinishesAndRefusesNewCalls) {
  frontend_->stop();
  inference::ServerLiveResponse live;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  EXPECT_FALSE(stub_->ServerLive(&ctx, {}, &live).ok());
}

// A call's deadline bounds its wait in the queue: behind a long run, a call whose caller gave up is refused
// instead of run (and counted as unavailable), while a patient call runs.
TEST(GrpcDeadline, ACallWhoseDeadlinePassesInTheQueueIsNotRun) {
  const fs::path dir = fs::temp_directory_path() / ("hone_grpc_deadline_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  ServerOptions options;
  options.defaults.instances = 1;
  options.defaults.threads = 1;
  options.defaults.max_batch_size = 1;
  InferenceServer server(options);
  server.add_model("slow", testing::write_slow_model(dir));
  GrpcFrontend frontend(server, GrpcOptions{.host = "127.0.0.1", .port = 0});
  auto stub = inference::GRPCInferenceService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(frontend.port()), grpc::InsecureChannelCredentials()));
  Tensor x(DType::Float32, {1, 1024, 1024});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = 0.5f;
  const inference::ModelInferRequest request = infer_request("slow", x, true, "x");
  const auto call = [&](std::chrono::milliseconds deadline) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + deadline);
    inference::ModelInferResponse response;
    return stub->ModelInfer(&ctx, request, &response);
  };

  auto patient = std::async(std::launch::async, call, std::chrono::milliseconds(60'000));
  bool running = false;  // the patient call holds the only instance
  for (int i = 0; i < 3000 && !running; ++i) {
    running = server.metrics_text().find("hone_inflight_requests{model=\"slow\",version=\"1\"} 1") !=
              std::string::npos;
    if (!running) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(running);
  grpc::Status gone = call(std::chrono::milliseconds(20));
  EXPECT_FALSE(gone.ok());
  EXPECT_TRUE(gone.error_code() == StatusCode::DEADLINE_EXCEEDED || gone.error_code() == StatusCode::UNAVAILABLE)
      << gone.error_code() << " " << gone.error_message();
  grpc::Status done = patient.get();
  EXPECT_TRUE(done.ok()) << done.error_message();
  double unavailable = 0, success = 0;
  for (int i = 0; i < 3000 && success + unavailable < 2; ++i) {  // the refusal is counted when an instance frees
    const std::string m = server.metrics_text();
    unavailable = requests_total(m, "slow", "unavailable");
    success = requests_total(m, "slow", "success");
    if (success + unavailable < 2) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(success, 1) << "the call whose caller had gone ran anyway";
  EXPECT_EQ(unavailable, 1);
  frontend.stop();
  fs::remove_all(dir);
}

TEST_F(GrpcProtocolTest, RepositoryIndexLoadAndUnload) {
  const fs::path repo = fs::temp_directory_path() / ("hone_grpc_repo_" + std::to_string(::getpid()));
  fs::create_directories(repo / "cnn" / "1");
  fs::copy_file(fixture("fashion_mnist_cnn.onnx"), repo / "cnn" / "1" / "model.onnx",
                fs::copy_options::overwrite_existing);
  start(repo.string());
  auto index = [&](bool ready_only) {
    inference::RepositoryIndexRequest request;
    request.set_ready(ready_only);
    inference::RepositoryIndexResponse response;
    EXPECT_TRUE(call(&inference::GRPCInferenceService::Stub::RepositoryIndex, request, &response).ok());
    return response;
  };
  auto model_ready = [&] {
    inference::ModelReadyRequest request;
    request.set_name("cnn");
    inference::ModelReadyResponse response;
    EXPECT_TRUE(call(&inference::GRPCInferenceService::Stub::ModelReady, request, &response).ok());
    return response.ready();
  };
  auto all = index(false);
  ASSERT_EQ(all.models_size(), 1);
  EXPECT_EQ(all.models(0).name(), "cnn");
  EXPECT_EQ(all.models(0).version(), "1");
  EXPECT_EQ(all.models(0).state(), "READY");
  EXPECT_TRUE(model_ready());

  inference::RepositoryModelUnloadRequest unload;
  unload.set_model_name("cnn");
  inference::RepositoryModelUnloadResponse unloaded;
  ASSERT_TRUE(call(&inference::GRPCInferenceService::Stub::RepositoryModelUnload, unload, &unloaded).ok());
  EXPECT_FALSE(model_ready());
  EXPECT_EQ(index(true).models_size(), 0);
  ASSERT_EQ(index(false).models_size(), 1);
  EXPECT_NE(index(false).models(0).state(), "READY");

  inference::RepositoryModelLoadRequest load;
  load.set_model_name("cnn");
  inference::RepositoryModelLoadResponse loaded;
  ASSERT_TRUE(call(&inference::GRPCInferenceService::Stub::RepositoryModelLoad, load, &loaded).ok());
  EXPECT_TRUE(model_ready());
  load.set_model_name("resnet");
  expect_status(call(&inference::GRPCInferenceService::Stub::RepositoryModelLoad, load, &loaded),
                StatusCode::NOT_FOUND, {"resnet"});
  expect_still_serving();
  frontend_.reset();
  server_.reset();
  fs::remove_all(repo);
}

TEST_F(GrpcProtocolTest, HoneClientTalksToTheServer) {
  auto client = make_grpc_client("127.0.0.1:" + std::to_string(frontend_->port()));
  EXPECT_TRUE(client->server_live());
  EXPECT_TRUE(client->server_ready());
  ModelMetadata meta = client->model_metadata("cnn", "");
  EXPECT_EQ(meta.name, "cnn");
  ASSERT_EQ(meta.inputs.size(), 1u);
  EXPECT_EQ(meta.inputs[0].datatype, "FP32");
  InferRequest request;
  request.model = "cnn";
  request.id = "client-1";
  request.inputs.push_back({"input", images(7, 2)});
  InferResponse response = client->infer(request);
  EXPECT_EQ(response.id, "client-1");
  ASSERT_EQ(response.outputs.size(), 1u);
  EXPECT_EQ(response.outputs[0].name, "logits");
  EXPECT_EQ(response.outputs[0].tensor.shape(), (Shape{2, 10}));
  expect_close(response.outputs[0].tensor.data<float>(),
               session_output("fashion_mnist_cnn.onnx", "input", images(7, 2)), 20);

  request.model = "resnet";
  try {
    client->infer(request);
    ADD_FAILURE() << "no error";
  } catch (const ServeError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
    EXPECT_NE(std::string(e.what()).find("resnet"), std::string::npos) << e.what();
  }
  EXPECT_THROW(client->model_metadata("resnet", ""), ServeError);
  EXPECT_THROW(make_grpc_client("no-port-here"), Error);

  // Nothing listens any more: health answers false, inference is a transport failure (hone::Error, not ServeError).
  frontend_->stop();
  EXPECT_FALSE(client->server_live());
  request.model = "cnn";
  EXPECT_THROW(client->infer(request), Error);
}

}  // namespace
}  // namespace hone::serve
