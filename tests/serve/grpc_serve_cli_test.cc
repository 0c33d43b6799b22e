// `hone serve` through the built program, over gRPC: it prints the gRPC address, answers Hone's gRPC client, and on
// SIGTERM finishes the gRPC calls in flight before exiting 0.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <cstring>
#include <future>
#include <regex>
#include <thread>

#include "../cli/cli_harness.h"
#include "data/npy.h"
#include "hone/hone.h"
#include "serve/infer_client.h"
#include "serve_process.h"

namespace hone::serve {
namespace {

namespace fs = std::filesystem;

std::string fixture(const std::string& file) { return std::string(HONE_SOURCE_DIR) + "/tests/fixtures/" + file; }

using ServeProgram = testing::ServeProcess;

TEST(GrpcServeCli, ServesGrpcAndFinishesTheCallInFlightOnSigterm) {
  HONE_REQUIRE_CLI_BINARY();
  // A lone request waits up to 1.5 s for company in the batcher: long enough to signal while it is in flight.
  ServeProgram serve({"--model", "cnn=" + fixture("fashion_mnist_cnn.onnx"), "--host", "127.0.0.1", "--http-port",
                      "0", "--grpc-port", "0", "--threads", "1", "--max-queue-delay-us", "1500000"});
  ASSERT_GT(serve.pid(), 0);
  const int grpc_port = serve.wait_for_port(std::regex(R"(gRPC: 127\.0\.0\.1:(\d+))"));
  ASSERT_GT(grpc_port, 0) << serve.out() << serve.err();
  const int http_port = serve.wait_for_port(std::regex(R"(HTTP: http://127\.0\.0\.1:(\d+))"));
  ASSERT_GT(http_port, 0) << serve.out();

  auto client = make_grpc_client("127.0.0.1:" + std::to_string(grpc_port));
  EXPECT_TRUE(client->server_ready());
  EXPECT_EQ(client->model_metadata("cnn", "").inputs.at(0).name, "input");

  const Tensor all = read_npy_file(fixture("fashion_mnist_test_1000_images.npy"));
  Session session = Session::load(fixture("fashion_mnist_cnn.onnx"), {.threads = 1});
  auto request_for = [&](int image) {
    InferRequest r;
    r.model = "cnn";
    Tensor x(DType::Float32, {1, 1, 28, 28});
    std::memcpy(x.raw(), all.data<float>() + image * 784, 784 * sizeof(float));
    r.inputs.push_back({"input", x});
    return r;
  };
  // Six calls at once. Once the batcher has seen concurrency it holds a batch of fewer than 8 rows up to 1.5 s: signal
  // while it holds some and every other call is answered (the HTTP front end's /metrics shows the calls in flight).
  // Should all six be answered first (the first calls may run alone before the batcher sees them overlap), again.
  constexpr int kCalls = 6;
  const std::regex inflight_line(R"(hone_inflight_requests\{model="cnn",version="1"\} (\d+))");
  auto inflight = [&] {
    httplib::Client metrics("127.0.0.1", http_port);
    metrics.set_keep_alive(false);
    auto m = metrics.Get("/metrics");
    std::smatch match;
    return m && std::regex_search(m->body, match, inflight_line) ? std::stoi(match[1]) : -1;
  };
  std::vector<std::future<InferResponse>> calls;
  bool held = false;
  for (int round = 0; round < 20 && !held; ++round) {
    calls.clear();
    for (int c = 0; c < kCalls; ++c)
      calls.push_back(std::async(std::launch::async, [&, c] { return client->infer(request_for(c)); }));
    for (int i = 0; i < 400 && !held; ++i) {
      int answered = 0;
      for (auto& call : calls) answered += call.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
      if (answered == kCalls) break;
      const int holding = inflight();
      held = holding >= 1 && holding + answered == kCalls;
      if (!held) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (!held)
      for (auto& call : calls) call.wait();
  }
  ASSERT_TRUE(held) << "no gRPC call ever showed as in flight";
  ASSERT_EQ(::kill(serve.pid(), SIGTERM), 0);

  for (int c = 0; c < kCalls; ++c) {
    InferResponse response = calls[static_cast<size_t>(c)].get();  // throws if the drain dropped it
    ASSERT_EQ(response.outputs.size(), 1u);
    const Tensor want = session.run({{"input", request_for(c).inputs[0].tensor}})[0];
    for (int k = 0; k < 10; ++k)
      EXPECT_NEAR(response.outputs[0].tensor.data<float>()[k], want.data<float>()[k], 1e-4) << "call " << c;
  }
  EXPECT_EQ(serve.wait_exit(30), 0) << serve.out() << serve.err();
  EXPECT_FALSE(client->server_live());  // the gRPC listener is gone too
}

TEST(GrpcServeCli, BusyGrpcPortIsAnError) {
  HONE_REQUIRE_CLI_BINARY();
  ServeProgram first({"--model", "cnn=" + fixture("fashion_mnist_cnn.onnx"), "--host", "127.0.0.1", "--http-port",
                      "0", "--grpc-port", "0"});
  const int grpc_port = first.wait_for_port(std::regex(R"(gRPC: 127\.0\.0\.1:(\d+))"));
  ASSERT_GT(grpc_port, 0) << first.out() << first.err();
  auto second = hone::testing::run_hone({"serve", "--model", "cnn=" + fixture("fashion_mnist_cnn.onnx"), "--host",
                                         "127.0.0.1", "--http-port", "0", "--grpc-port", std::to_string(grpc_port)});
  EXPECT_EQ(second.status, 1);
  EXPECT_NE(second.err.find("127.0.0.1:" + std::to_string(grpc_port)), std::string::npos) << second.err;
}

}  // namespace
}  // namespace hone::serve
