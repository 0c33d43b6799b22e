// `hone bench --server`, the load generator, driven through the built program against a server started in this test
// (InferenceServer + HTTP or gRPC front end on 127.0.0.1): the client's counts add up and agree with the server's own
// metrics, nothing fails under a normal load, refusals are counted by kind, and bad use is a clear error.
// No timing is asserted.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "../cli/cli_harness.h"
#include "data/npy.h"
#include "serve/grpc_frontend.h"
#include "serve/http_frontend.h"
#include "serve/inference_server.h"
#include "serve_core_test_util.h"

namespace hone::serve {
namespace {

using nlohmann::json;
using ::hone::testing::CliResult;
using ::hone::testing::run_hone;

// The value of one counter line, e.g. hone_requests_total{model="cnn",version="1",outcome="success"}; 0 if absent.
double counter(const std::string& metrics, const std::string& series) {
  size_t at = metrics.find(series + " ");
  if (at == std::string::npos) return 0;
  return std::stod(metrics.substr(at + series.size() + 1));
}

const std::string kSuccess = "hone_requests_total{model=\"cnn\",version=\"1\",outcome=\"success\"}";

class BenchServerCli : public ::testing::Test {
 protected:
  void SetUp() override { HONE_REQUIRE_CLI_BINARY(); }
  void start(ModelConfig config) {
    ServerOptions o;
    o.defaults = config;
    server_ = std::make_unique<InferenceServer>(o);
    server_->add_model("cnn", testing::cnn_path());
    http_ = std::make_unique<HttpFrontend>(*server_, HttpOptions{.host = "127.0.0.1", .port = 0, .threads = 0});
    url_ = "http://127.0.0.1:" + std::to_string(http_->port());
  }
  CliResult bench(std::vector<std::string> extra) {
    std::vector<std::string> args = {"bench", "--server", url_, "--model", "cnn", "--json-out"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_hone(args);
  }
  std::unique_ptr<InferenceServer> server_;
  std::unique_ptr<HttpFrontend> http_;
  std::string url_;
};

// Every request the client sent (warm-up and timed) is one the server answered with success, and the server's
// batch-size histogram over the timed window holds exactly the timed requests' rows.
void expect_counts_add_up(const json& j, const std::string& metrics, int64_t rows) {
  int64_t requests = j["requests"], succeeded = j["succeeded"], failed = j["failed"];
  EXPECT_EQ(failed, 0) << j.dump(2);
  EXPECT_EQ(requests, succeeded + failed);
  EXPECT_GT(succeeded, 0);
  EXPECT_TRUE(j["failures"].empty()) << j["failures"].dump();
  EXPECT_EQ(j["rows_per_request"], rows);
  EXPECT_EQ(counter(metrics, kSuccess), static_cast<double>(requests + j["warmup_requests"].get<int64_t>()));
  ASSERT_TRUE(j["server_batches"].is_object()) << j.dump(2);
  EXPECT_EQ(j["server_batches"]["rows"].get<double>(), static_cast<double>(succeeded * rows));
  double batches = 0;
  for (const json& b : j["server_batches"]["histogram"]) batches += b["batches"].get<double>();
  EXPECT_EQ(batches, j["server_batches"]["batches"].get<double>());
  EXPECT_GE(batches, 1);
  EXPECT_LE(batches, static_cast<double>(succeeded));  // a batch holds at least one request
  const json& l = j["latency_ms"];
  EXPECT_LE(l["min"].get<double>(), l["p50"].get<double>());
  EXPECT_LE(l["p50"].get<double>(), l["p99"].get<double>());
  EXPECT_LE(l["p99"].get<double>(), l["max"].get<double>());
  EXPECT_NEAR(j["rows_per_s"].get<double>(), j["requests_per_s"].get<double>() * static_cast<double>(rows), 1e-6);
}

TEST_F(BenchServerCli, BinaryTensorsCountsAddUpWithTheServersMetrics) {
  start({.max_batch_size = 8, .max_queue_delay_us = 500, .threads = 1});
  CliResult r = bench({"--concurrency", "4", "--duration", "1", "--warmup", "0.3"});
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  json j = json::parse(r.out);
  EXPECT_EQ(j["protocol"], "http");
  EXPECT_EQ(j["encoding"], "binary");
  EXPECT_EQ(j["concurrency"], 4);
  EXPECT_GT(j["warmup_requests"].get<int64_t>(), 0);
  EXPECT_EQ(j["inputs"][0]["shape"], json({1, 1, 28, 28}));
  expect_counts_add_up(j, server_->metrics_text(), 1);
}

TEST_F(BenchServerCli, JsonTensorsAndBatchedRequests) {
  start({.max_batch_size = 8, .max_queue_delay_us = 200, .threads = 1});
  CliResult r = bench({"--concurrency", "2", "--duration", "0.5", "--warmup", "0", "--json", "--batch", "3"});
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  json j = json::parse(r.out);
  EXPECT_EQ(j["encoding"], "json");
  EXPECT_EQ(j["warmup_requests"], 0);
  EXPECT_EQ(j["inputs"][0]["shape"], json({3, 1, 28, 28}));
  expect_counts_add_up(j, server_->metrics_text(), 3);
}

TEST_F(BenchServerCli, InputFromFileAndTheTable) {
  start({.max_batch_size = 4, .threads = 1});
  testing::TempDir dir;
  write_npy_file(testing::images(0, 2), dir / "x.npy");
  CliResult r = run_hone({"bench", "--server", url_.substr(7), "--model", "cnn", "--version", "1", "--input",
                          "input=" + dir / "x.npy", "--duration", "0.3", "--warmup", "0"});
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("from " + dir / "x.npy"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 rows per request"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("server batches"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("p99"), std::string::npos) << r.out;
}

TEST_F(BenchServerCli, RefusalsAreCountedByKindAndFailTheRun) {
  // One instance, no batching, a queue of one: 16 clients must find it full.
  start({.max_batch_size = 1, .max_queue = 1, .instances = 1, .threads = 1});
  CliResult r = bench({"--concurrency", "16", "--duration", "1", "--warmup", "0"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("requests failed"), std::string::npos) << r.err;
  json j = json::parse(r.out);
  int64_t failed = j["failed"];
  ASSERT_GT(failed, 0) << j.dump(2);
  EXPECT_EQ(j["requests"].get<int64_t>(), j["succeeded"].get<int64_t>() + failed);
  ASSERT_TRUE(j["failures"].contains("unavailable")) << j["failures"].dump();
  EXPECT_EQ(j["failures"]["unavailable"]["count"], failed);
  EXPECT_FALSE(j["failures"]["unavailable"]["first_error"].get<std::string>().empty());
  std::string metrics = server_->metrics_text();
  EXPECT_EQ(counter(metrics, kSuccess), static_cast<double>(j["succeeded"].get<int64_t>()));
  EXPECT_EQ(counter(metrics, "hone_requests_total{model=\"cnn\",version=\"1\",outcome=\"unavailable\"}"),
            static_cast<double>(failed));
}

TEST_F(BenchServerCli, Grpc) {
  start({.max_batch_size = 8, .threads = 1});
  GrpcFrontend grpc(*server_, GrpcOptions{.host = "127.0.0.1", .port = 0});
  CliResult r = run_hone({"bench", "--server", "127.0.0.1:" + std::to_string(grpc.port()), "--protocol", "grpc",
                          "--model", "cnn", "--concurrency", "3", "--duration", "0.5", "--warmup", "0",
                          "--json-out"});
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  json j = json::parse(r.out);
  EXPECT_EQ(j["protocol"], "grpc");
  EXPECT_EQ(j["failed"], 0);
  EXPECT_GT(j["succeeded"].get<int64_t>(), 0);
  EXPECT_EQ(j["requests"], j["succeeded"]);
  EXPECT_EQ(counter(server_->metrics_text(), kSuccess), static_cast<double>(j["requests"].get<int64_t>()));
  EXPECT_TRUE(j["server_batches"].is_null());
  EXPECT_NE(j["server_batches_problem"].get<std::string>().find("HTTP"), std::string::npos);
}

TEST_F(BenchServerCli, ErrorsNameWhatWasWrong) {
  start({.threads = 1});
  CliResult unknown = run_hone({"bench", "--server", url_, "--model", "nope", "--duration", "0.2"});
  EXPECT_EQ(unknown.status, 1);
  EXPECT_NE(unknown.err.find("nope"), std::string::npos) << unknown.err;

  CliResult no_model = run_hone({"bench", "--server", url_});
  EXPECT_EQ(no_model.status, 1);
  EXPECT_NE(no_model.err.find("--model"), std::string::npos) << no_model.err;

  CliResult model_without_server = run_hone({"bench", "--model", "cnn"});
  EXPECT_EQ(model_without_server.status, 2);
  EXPECT_NE(model_without_server.err.find("--server"), std::string::npos) << model_without_server.err;

  CliResult local_option = bench({"--threads", "2"});
  EXPECT_EQ(local_option.status, 2);
  EXPECT_NE(local_option.err.find("--threads"), std::string::npos) << local_option.err;

  CliResult both_encodings = bench({"--json", "--binary", "--duration", "0.2"});
  EXPECT_EQ(both_encodings.status, 1);
  EXPECT_NE(both_encodings.err.find("--binary"), std::string::npos) << both_encodings.err;

  CliResult bad_shape = bench({"--shape", "input=1x1x28x27", "--duration", "0.2"});
  EXPECT_EQ(bad_shape.status, 1);
  EXPECT_NE(bad_shape.err.find("input"), std::string::npos) << bad_shape.err;

  http_->stop();
  CliResult refused = bench({"--duration", "0.2"});
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.err.find("127.0.0.1"), std::string::npos) << refused.err;
}

}  // namespace
}  // namespace hone::serve
