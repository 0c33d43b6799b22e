// `hone serve` through the built program: it serves on a free port, answers a request, and on SIGTERM (or SIGINT)
// finishes the request in flight and exits 0. Flag mistakes are usage errors.

#include <chrono>
#include <fstream>
#include <future>
#include <regex>
#include <thread>

#include "../cli/cli_harness.h"
#include "http_test_util.h"
#include "serve_process.h"

namespace hone::serve::testing {
namespace {

using json = nlohmann::json;
using hone::testing::CliResult;
using hone::testing::run_hone;
namespace fs = std::filesystem;

TEST(HttpServeCli, SigtermFinishesTheRequestInFlightAndExitsZero) {
  HONE_REQUIRE_CLI_BINARY();
  TempDir dir;
  ServeProcess serve({"--model", "slow=" + write_slow_model(dir.path()), "--http-port", "0", "--host", "127.0.0.1",
                      "--no-grpc", "--threads", "1"});
  ASSERT_GT(serve.pid(), 0);
  int port = serve.wait_for_http_port();
  ASSERT_GT(port, 0) << serve.out() << serve.err();
  EXPECT_NE(serve.out().find("model 'slow' version 1 ready"), std::string::npos) << serve.out();

  httplib::Client probe("127.0.0.1", port);
  ASSERT_EQ(probe.Get("/v2/health/ready")->status, 200);
  probe.stop();  // no idle keep-alive connection holds up the drain

  // x = 0.5 everywhere, sent as binary data: the mean stays 0.5 through the identities.
  std::string header = json{{"inputs", json::array({{{"name", "x"}, {"shape", {1, 1024, 1024}}, {"datatype", "FP32"},
                                                     {"parameters", {{"binary_data_size", 4 << 20}}}}})}}
                           .dump();
  std::vector<float> halves(1 << 20, 0.5f);
  std::string body = header + std::string(reinterpret_cast<const char*>(halves.data()), 4 << 20);
  auto in_flight = std::async(std::launch::async, [&] {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(60);
    return client.Post("/v2/models/slow/infer", {{"Inference-Header-Content-Length", std::to_string(header.size())}},
                       body, "application/octet-stream");
  });
  // Signal once the server holds the request (hone_inflight_requests says 1).
  bool held = false;
  for (int i = 0; i < 1000 && !held; ++i) {
    httplib::Client metrics("127.0.0.1", port);
    metrics.set_keep_alive(false);
    auto m = metrics.Get("/metrics");
    held = m && m->body.find("hone_inflight_requests{model=\"slow\",version=\"1\"} 1") != std::string::npos;
    if (!held) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(held) << "the request never showed as in flight";
  ASSERT_EQ(::kill(serve.pid(), SIGTERM), 0);

  auto r = in_flight.get();
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  EXPECT_EQ(j["outputs"][0]["shape"], json::array({1, 1, 1}));
  EXPECT_NEAR(j["outputs"][0]["data"][0].get<double>(), 0.5, 1e-6);

  EXPECT_EQ(serve.wait_exit(30), 0) << serve.out() << serve.err();
  EXPECT_NE(serve.out().find("SIGTERM: draining"), std::string::npos) << serve.out();
  // The listener is closed.
  httplib::Client after("127.0.0.1", port);
  EXPECT_FALSE(after.Get("/v2/health/live"));
}

TEST(HttpServeCli, SigintDrainsToo) {
  HONE_REQUIRE_CLI_BINARY();
  ServeProcess serve({"--model", "cnn=" + cnn_path(), "--http-port", "0", "--host", "127.0.0.1", "--no-grpc"});
  ASSERT_GT(serve.wait_for_http_port(), 0) << serve.out() << serve.err();
  ASSERT_EQ(::kill(serve.pid(), SIGINT), 0);
  EXPECT_EQ(serve.wait_exit(30), 0) << serve.out() << serve.err();
  EXPECT_NE(serve.out().find("SIGINT: draining"), std::string::npos) << serve.out();
}

TEST(HttpServeCli, FlagMistakesAreUsageErrors) {
  HONE_REQUIRE_CLI_BINARY();
  CliResult none = run_hone({"serve"});
  EXPECT_EQ(none.status, 2);
  EXPECT_NE(none.err.find("--model NAME=PATH.onnx or --model-repository DIR"), std::string::npos) << none.err;
  CliResult no_path = run_hone({"serve", "--model", "cnn"});
  EXPECT_EQ(no_path.status, 2);
  EXPECT_NE(no_path.err.find("'cnn' is not NAME=PATH.onnx"), std::string::npos) << no_path.err;
  CliResult bad_name = run_hone({"serve", "--model", "a/b=" + cnn_path()});
  EXPECT_EQ(bad_name.status, 2);
  EXPECT_NE(bad_name.err.find("model name 'a/b'"), std::string::npos) << bad_name.err;
  CliResult both = run_hone({"serve", "--model", "cnn=" + cnn_path(), "--model-repository", "."});
  EXPECT_EQ(both.status, 2);
  EXPECT_NE(both.err.find("excludes"), std::string::npos) << both.err;
  CliResult port = run_hone({"serve", "--model", "cnn=" + cnn_path(), "--http-port", "70000"});
  EXPECT_EQ(port.status, 2);
  CliResult missing = run_hone({"serve", "--model", "cnn=/no/such/model.onnx", "--http-port", "0"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("/no/such/model.onnx"), std::string::npos) << missing.err;
  CliResult help = run_hone({"serve", "--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("--max-queue-delay-us"), std::string::npos);
  EXPECT_NE(help.out.find("SIGTERM"), std::string::npos);
}

}  // namespace
}  // namespace hone::serve::testing
