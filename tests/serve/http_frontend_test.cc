// The HTTP front end beyond single requests: the repository extension (index, unload, load), /metrics, 128
// concurrent keep-alive clients, and hone's own HTTP client (infer_client.h) in JSON and binary modes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <filesystem>
#include <thread>

#include "http_test_util.h"
#include "serve/infer_client.h"

namespace hone::serve::testing {
namespace {

using json = nlohmann::json;

Tensor cnn_logits(const Tensor& x) {
  static Session session = Session::load(cnn_path(), {.threads = 1});
  return session.run({{"input", x}})[0];
}

void expect_close(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what;
  for (int64_t k = 0; k < want.numel(); ++k) {
    double w = want.get_double(k);
    EXPECT_NEAR(got.get_double(k), w, 1e-4 * std::max(1.0, std::abs(w))) << what << " element " << k;
  }
}

// Sends `request` as is over a fresh TCP connection and returns everything the server answers until it closes.
std::string raw_exchange(int port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return "";
  }
  ::send(fd, request.data(), request.size(), 0);
  std::string reply;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) reply.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return reply;
}

// A repository with the CNN as cnn/1/model.onnx.
class HttpRepository : public HttpServerTest {
 protected:
  void configure(ServerOptions& options) override {
    std::filesystem::create_directories(dir_.path() / "repo/cnn/1");
    std::filesystem::copy_file(cnn_path(), dir_.path() / "repo/cnn/1/model.onnx");
    options.repository = dir_ / "repo";
  }
  void add_models() override { server_->load_repository(); }
};

TEST_F(HttpRepository, IndexUnloadAndLoad) {
  auto index = post("/v2/repository/index", "");
  ASSERT_EQ(index->status, 200) << index->body;
  json list = json_of(index);
  ASSERT_EQ(list.size(), 1u) << list;
  EXPECT_EQ(list[0]["name"], "cnn");
  EXPECT_EQ(list[0]["version"], "1");
  EXPECT_EQ(list[0]["state"], "READY");

  auto unload = post("/v2/repository/models/cnn/unload", "");
  ASSERT_EQ(unload->status, 200) << unload->body;
  EXPECT_EQ(get("/v2/models/cnn/ready")->status, 400);
  EXPECT_EQ(json_of(post_json("/v2/repository/index", {{"ready", true}})).size(), 0u);
  json not_ready = json_of(post("/v2/repository/index", "{}"));
  ASSERT_EQ(not_ready.size(), 1u);
  EXPECT_NE(not_ready[0]["state"], "READY");
  Tensor x = images(0, 1);
  json req = {{"inputs", json::array({{{"name", "input"}, {"shape", x.shape()}, {"datatype", "FP32"},
                                       {"data", json_values(x)}}})}};
  auto refused = post_json("/v2/models/cnn/infer", req);
  EXPECT_TRUE(refused->status == 404 || refused->status == 503) << refused->status << " " << refused->body;

  auto load = post("/v2/repository/models/cnn/load", "");
  ASSERT_EQ(load->status, 200) << load->body;
  EXPECT_EQ(get("/v2/models/cnn/ready")->status, 200);
  auto r = post_json("/v2/models/cnn/infer", req);
  ASSERT_EQ(r->status, 200) << r->body;
  Tensor want = cnn_logits(x);
  for (int k = 0; k < 10; ++k)
    EXPECT_NEAR(json_of(r)["outputs"][0]["data"][k].get<double>(), want.get_double(k), 1e-4);

  // A POST with no Content-Length at all (curl -X POST) has an empty body.
  std::string reply = raw_exchange(frontend_->port(), "POST /v2/repository/models/cnn/unload HTTP/1.1\r\nHost: t\r\n"
                                                      "Connection: close\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  EXPECT_EQ(get("/v2/models/cnn/ready")->status, 400);
  reply = raw_exchange(frontend_->port(), "POST /v2/repository/index HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  EXPECT_NE(reply.find("\"name\":\"cnn\""), std::string::npos) << reply;

  auto unknown = post("/v2/repository/models/resnet/load", "");
  EXPECT_EQ(unknown->status, 404) << unknown->body;
  EXPECT_FALSE(json_of(unknown)["error"].get<std::string>().empty());
  EXPECT_EQ(post("/v2/repository/index", "[1]")->status, 400);
  EXPECT_EQ(get("/v2/repository/index")->status, 405);
}

using HttpFrontendTest = HttpServerTest;

TEST_F(HttpFrontendTest, MetricsAreThePrometheusText) {
  Tensor x = images(0, 2);
  json req = {{"inputs", json::array({{{"name", "input"}, {"shape", x.shape()}, {"datatype", "FP32"},
                                       {"data", json_values(x)}}})}};
  ASSERT_EQ(post_json("/v2/models/cnn/infer", req)->status, 200);
  auto m = get("/metrics");
  ASSERT_EQ(m->status, 200);
  EXPECT_EQ(m->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(m->body.find("hone_requests_total{model=\"cnn\",version=\"1\",outcome=\"success\"} 1"), std::string::npos)
      << m->body.substr(0, 2000);
  EXPECT_NE(m->body.find("# TYPE hone_request_total_seconds histogram"), std::string::npos);
}

TEST_F(HttpFrontendTest, OneHundredTwentyEightKeepAliveClientsAtOnce) {
  constexpr int kClients = 128, kRequests = 3;
  Tensor x = images(5, 1);
  Tensor want = cnn_logits(x);
  std::string body = json{{"inputs", json::array({{{"name", "input"}, {"shape", x.shape()}, {"datatype", "FP32"},
                                                   {"data", json_values(x)}}})}}
                         .dump();
  std::atomic<int> ok{0}, wrong{0};
  std::atomic<int> connected{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&] {
      httplib::Client client("127.0.0.1", frontend_->port());
      client.set_keep_alive(true);
      client.set_read_timeout(60);
      auto first = client.Get("/v2/health/live");  // every connection is open before any infers
      if (first && first->status == 200) ++connected;
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (connected.load() < kClients && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      for (int i = 0; i < kRequests; ++i) {
        auto r = client.Post("/v2/models/cnn/infer", body, "application/json");
        if (!r || r->status != 200) {
          ++wrong;
          continue;
        }
        json j = json::parse(r->body, nullptr, false);
        bool same = !j.is_discarded() && j["outputs"][0]["data"].size() == 10;
        for (int k = 0; same && k < 10; ++k)
          same = std::abs(j["outputs"][0]["data"][k].get<double>() - want.get_double(k)) < 1e-4;
        ++(same ? ok : wrong);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(connected.load(), kClients);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(ok.load(), kClients * kRequests);
}

TEST_F(HttpFrontendTest, HoneHttpClientInJsonAndBinary) {
  auto client = make_http_client("http://127.0.0.1:" + std::to_string(frontend_->port()));
  EXPECT_TRUE(client->server_live());
  EXPECT_TRUE(client->server_ready());
  ModelMetadata m = client->model_metadata("cnn", "");
  EXPECT_EQ(m.name, "cnn");
  EXPECT_EQ(m.inputs[0].shape, (std::vector<int64_t>{-1, 1, 28, 28}));
  Tensor x = images(10, 3);
  Tensor want = cnn_logits(x);
  for (bool binary : {false, true}) {
    InferRequest req;
    req.model = "cnn";
    req.id = "c1";
    req.inputs.push_back({"input", x});
    InferResponse r = client->infer(req, binary);
    EXPECT_EQ(r.model, "cnn");
    EXPECT_EQ(r.version, "1");
    EXPECT_EQ(r.id, "c1");
    ASSERT_EQ(r.outputs.size(), 1u);
    EXPECT_EQ(r.outputs[0].name, "logits");
    expect_close(r.outputs[0].tensor, want, binary ? "binary" : "json");
  }
  // Errors come back as ServeError with the server's kind and message.
  InferRequest unknown;
  unknown.model = "resnet";
  unknown.inputs.push_back({"input", x});
  try {
    client->infer(unknown, true);
    ADD_FAILURE() << "an unknown model was answered";
  } catch (const ServeError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
    EXPECT_NE(std::string(e.what()).find("resnet"), std::string::npos) << e.what();
  }
  InferRequest wrong_shape;
  wrong_shape.model = "cnn";
  wrong_shape.inputs.push_back({"input", images(0, 1).reshaped({1, 784})});
  try {
    client->infer(wrong_shape, false);
    ADD_FAILURE() << "a wrong shape was answered";
  } catch (const ServeError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("rank"), std::string::npos) << e.what();
  }
  try {
    client->model_metadata("cnn", "4");
    ADD_FAILURE() << "an unknown version was answered";
  } catch (const ServeError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  }
  // Transport failures are hone::Error, naming where.
  auto nowhere = make_http_client("127.0.0.1:1");
  EXPECT_THROW(nowhere->model_metadata("cnn", ""), hone::Error);
  EXPECT_THROW(make_http_client("ftp://x"), hone::Error);
  EXPECT_THROW(make_http_client("host:99999"), hone::Error);
}

}  // namespace
}  // namespace hone::serve::testing

namespace hone::serve::testing {
namespace {

// A request's "timeout" parameter (microseconds, as Triton's) bounds its wait in the queue: behind a slow request on
// the only instance, a request allowed 1 ms is refused with 503 while the slow one completes.
class HttpQueueTimeout : public HttpServerTest {
 protected:
  void configure(ServerOptions& options) override { options.max_request_bytes = 16 << 20; }
  void add_models() override { server_->add_model("slow", write_slow_model(dir_.path())); }
  httplib::Result post_halves(httplib::Client& client, int64_t timeout_us) {
    json header = {{"inputs", json::array({{{"name", "x"}, {"shape", {1, 1024, 1024}}, {"datatype", "FP32"},
                                            {"parameters", {{"binary_data_size", 4 << 20}}}}})}};
    if (timeout_us > 0) header["parameters"] = {{"timeout", timeout_us}};
    std::string text = header.dump();
    std::vector<float> halves(1 << 20, 0.5f);
    return client.Post("/v2/models/slow/infer", {{"Inference-Header-Content-Length", std::to_string(text.size())}},
                       text + std::string(reinterpret_cast<const char*>(halves.data()), 4 << 20),
                       "application/octet-stream");
  }
};

TEST_F(HttpQueueTimeout, ARequestThatWaitsPastItsTimeoutIs503) {
  auto slow = std::async(std::launch::async, [&] {
    httplib::Client client("127.0.0.1", frontend_->port());
    client.set_read_timeout(60);
    return post_halves(client, 0);
  });
  bool running = false;  // the slow request has left the queue for the instance
  for (int i = 0; i < 2000 && !running; ++i) {
    std::string m = get("/metrics")->body;
    running = m.find("hone_inflight_requests{model=\"slow\",version=\"1\"} 1") != std::string::npos &&
              m.find("hone_queue_length{model=\"slow\",version=\"1\"} 0") != std::string::npos;
    if (!running) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(running);
  auto late = post_halves(*client_, 1000);
  ASSERT_TRUE(late);
  EXPECT_EQ(late->status, 503) << late->body;
  EXPECT_FALSE(json_of(late)["error"].get<std::string>().empty());
  auto done = slow.get();
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, 200) << done->body.substr(0, 300);
}

}  // namespace
}  // namespace hone::serve::testing
