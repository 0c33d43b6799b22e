// InferenceServer without a wire protocol: metadata, request checks, results against Session::run, drain.
#include "serve/inference_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "serve_core_test_util.h"

namespace hone::serve {
namespace {

using namespace testing;

ServerOptions unbatched() {
  ServerOptions o;
  o.defaults.max_batch_size = 1;
  return o;
}

TEST(InferenceServer, HealthAndMetadataOfTheCnn) {
  InferenceServer server(unbatched());
  EXPECT_TRUE(server.live());
  server.add_model("cnn", cnn_path());
  EXPECT_TRUE(server.ready());
  EXPECT_TRUE(server.model_ready("cnn", ""));
  EXPECT_TRUE(server.model_ready("cnn", "1"));
  EXPECT_FALSE(server.model_ready("cnn", "2"));
  EXPECT_FALSE(server.model_ready("other", ""));

  ModelMetadata md = server.model_metadata("cnn", "");
  EXPECT_EQ(md.name, "cnn");
  EXPECT_EQ(md.versions, std::vector<std::string>{"1"});
  EXPECT_EQ(md.platform, "onnx");
  ASSERT_EQ(md.inputs.size(), 1u);
  EXPECT_EQ(md.inputs[0].name, "input");
  EXPECT_EQ(md.inputs[0].datatype, "FP32");
  EXPECT_EQ(md.inputs[0].shape, (std::vector<int64_t>{-1, 1, 28, 28}));
  ASSERT_EQ(md.outputs.size(), 1u);
  EXPECT_EQ(md.outputs[0].name, "logits");
  EXPECT_EQ(md.outputs[0].datatype, "FP32");

  EXPECT_EQ(error_of([&] { server.model_metadata("nope", ""); }).kind(), ErrorKind::NotFound);
  EXPECT_EQ(error_of([&] { server.model_metadata("cnn", "7"); }).kind(), ErrorKind::NotFound);
  EXPECT_EQ(error_of([&] { server.model_metadata("cnn", "x"); }).kind(), ErrorKind::NotFound);
}

TEST(InferenceServer, AnswersEqualSessionRun) {
  InferenceServer server(unbatched());
  server.add_model("cnn", cnn_path());
  Session reference = Session::load(cnn_path());
  for (int64_t rows : {1, 3}) {
    Tensor x = images(10, rows);
    std::vector<Tensor> want = reference.run({{"input", x}});
    InferRequest r = request_for("cnn", "input", x.clone());
    r.id = "req-" + std::to_string(rows);
    InferResponse got = server.infer(std::move(r));
    EXPECT_EQ(got.model, "cnn");
    EXPECT_EQ(got.version, "1");
    EXPECT_EQ(got.id, "req-" + std::to_string(rows));
    ASSERT_EQ(got.outputs.size(), 1u);
    EXPECT_EQ(got.outputs[0].name, "logits");
    ASSERT_EQ(got.outputs[0].tensor.shape(), want[0].shape());
    // Same input shape, same kernels, same thread count (all cores, one instance): bit-exact.
    for (int64_t k = 0; k < want[0].numel(); ++k)
      ASSERT_EQ(got.outputs[0].tensor.data<float>()[k], want[0].data<float>()[k]) << "rows " << rows << " at " << k;
  }
}

TEST(InferenceServer, RequestedOutputsComeInTheOrderAsked) {
  TempDir dir;
  InferenceServer server(unbatched());
  server.add_model("two", write_two_output_model(dir));
  InferRequest r = request_for("two", "x", rows_tensor(2, 0));
  r.outputs = {"neg", "relu"};
  InferResponse got = server.infer(std::move(r));
  ASSERT_EQ(got.outputs.size(), 2u);
  EXPECT_EQ(got.outputs[0].name, "neg");
  EXPECT_EQ(got.outputs[1].name, "relu");
  Tensor x = rows_tensor(2, 0);
  for (int64_t k = 0; k < 8; ++k) {
    EXPECT_EQ(got.outputs[0].tensor.data<float>()[k], -x.data<float>()[k]);
    EXPECT_EQ(got.outputs[1].tensor.data<float>()[k], std::max(0.0f, x.data<float>()[k]));
  }
  InferRequest one = request_for("two", "x", rows_tensor(1, 0));
  one.outputs = {"relu"};
  got = server.infer(std::move(one));
  ASSERT_EQ(got.outputs.size(), 1u);
  EXPECT_EQ(got.outputs[0].name, "relu");
  got = server.infer(request_for("two", "x", rows_tensor(1, 0)));  // none asked: all, in the model's order
  ASSERT_EQ(got.outputs.size(), 2u);
  EXPECT_EQ(got.outputs[0].name, "relu");
  EXPECT_EQ(got.outputs[1].name, "neg");
}

// Each bad request: the kind, and the words its message must hold.
TEST(InferenceServer, BadRequestsAreRefusedWithTheReason) {
  TempDir dir;
  ServerOptions options;
  options.defaults.max_batch_size = 4;
  InferenceServer server(options);
  server.add_model("cnn", cnn_path());
  server.add_model("two", write_two_output_model(dir));
  struct Case {
    const char* what;
    InferRequest request;
    ErrorKind kind;
    std::vector<std::string> words;
  };
  auto cnn = [](Tensor t) { return request_for("cnn", "input", std::move(t)); };
  std::vector<Case> cases;
  cases.push_back({"unknown model", request_for("nope", "input", images(0, 1)), ErrorKind::NotFound, {"nope"}});
  {
    InferRequest r = cnn(images(0, 1));
    r.version = "3";
    cases.push_back({"unknown version", std::move(r), ErrorKind::NotFound, {"cnn", "'3'"}});
  }
  cases.push_back({"unknown input", request_for("cnn", "image", images(0, 1)), ErrorKind::InvalidArgument,
                   {"'image'", "input"}});
  {
    InferRequest r;
    r.model = "cnn";
    cases.push_back({"missing input", std::move(r), ErrorKind::InvalidArgument, {"'input'", "missing"}});
  }
  {
    InferRequest r = cnn(images(0, 1));
    r.inputs.push_back({"input", images(1, 1)});
    cases.push_back({"input twice", std::move(r), ErrorKind::InvalidArgument, {"'input'", "twice"}});
  }
  cases.push_back({"wrong dtype", cnn(Tensor(DType::Int64, {1, 1, 28, 28})), ErrorKind::InvalidArgument,
                   {"'input'", "FP32", "INT64"}});
  cases.push_back({"wrong rank", cnn(Tensor(DType::Float32, {1, 28, 28})), ErrorKind::InvalidArgument,
                   {"'input'", "rank 4", "[1,28,28]"}});
  cases.push_back({"wrong fixed dim", cnn(Tensor(DType::Float32, {1, 1, 27, 28})), ErrorKind::InvalidArgument,
                   {"'input'", "dimension 2", "28", "27"}});
  cases.push_back({"empty batch", cnn(Tensor(DType::Float32, {0, 1, 28, 28})), ErrorKind::InvalidArgument,
                   {"'input'", "empty batch"}});
  cases.push_back({"batch over max_batch_size", cnn(images(0, 5)), ErrorKind::InvalidArgument,
                   {"5 rows", "max_batch_size 4"}});
  {
    InferRequest r = request_for("two", "x", rows_tensor(1, 0));
    r.outputs = {"relu", "sum"};
    cases.push_back({"unknown output", std::move(r), ErrorKind::InvalidArgument, {"'sum'", "relu, neg"}});
  }
  {
    InferRequest r = request_for("two", "x", rows_tensor(1, 0));
    r.outputs = {"neg", "neg"};
    cases.push_back({"output twice", std::move(r), ErrorKind::InvalidArgument, {"'neg'", "twice"}});
  }
  {
    InferRequest r = cnn(images(0, 1));
    r.timeout_us = -1;
    cases.push_back({"negative timeout", std::move(r), ErrorKind::InvalidArgument, {"timeout"}});
  }
  for (Case& c : cases) {
    // Refused synchronously: infer_async throws and never calls back.
    std::atomic<bool> called{false};
    ServeError e = error_of([&] { server.infer_async(std::move(c.request), [&](InferenceServer::Result) { called = true; }); });
    EXPECT_EQ(e.kind(), c.kind) << c.what << ": " << e.what();
    for (const std::string& w : c.words) EXPECT_TRUE(contains(e.what(), w)) << c.what << ": " << e.what();
    EXPECT_FALSE(called) << c.what;
  }
}

TEST(InferenceServer, DrainFinishesQueuedRequestsAndRefusesNewOnes) {
  ServerOptions options = unbatched();
  InferenceServer server(options);
  server.add_model("cnn", cnn_path());
  constexpr int kRequests = 24;
  std::atomic<int> succeeded{0}, answered{0};
  for (int i = 0; i < kRequests; ++i)
    server.infer_async(request_for("cnn", "input", images(i, 1)), [&](InferenceServer::Result r) {
      if (std::holds_alternative<InferResponse>(r)) ++succeeded;
      ++answered;
    });
  server.drain();
  EXPECT_EQ(answered.load(), kRequests);  // drain returned only after every queued request was answered
  EXPECT_EQ(succeeded.load(), kRequests);
  EXPECT_FALSE(server.ready());
  EXPECT_FALSE(server.model_ready("cnn", ""));
  EXPECT_TRUE(server.live());
  ServeError e = error_of([&] { server.infer(request_for("cnn", "input", images(0, 1))); });
  EXPECT_EQ(e.kind(), ErrorKind::Unavailable);
  EXPECT_TRUE(contains(e.what(), "draining"));
  server.drain();  // idempotent
}

TEST(InferenceServer, DestructorDrainsInFlightRequests) {
  std::atomic<int> answered{0};
  {
    InferenceServer server(unbatched());
    server.add_model("cnn", cnn_path());
    for (int i = 0; i < 8; ++i)
      server.infer_async(request_for("cnn", "input", images(i, 1)), [&](InferenceServer::Result) { ++answered; });
  }
  EXPECT_EQ(answered.load(), 8);
}

TEST(InferenceServer, AddModelNamesTheBadFile) {
  InferenceServer server(unbatched());
  try {
    server.add_model("x", "/no/such/model.onnx");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "/no/such/model.onnx")) << e.what();
  }
  EXPECT_FALSE(server.model_ready("x", ""));
}

TEST(InferenceServer, ConcurrentClientsAllGetTheirOwnAnswers) {
  ServerOptions options;
  options.defaults.instances = 2;
  InferenceServer server(options);
  server.add_model("cnn", cnn_path());
  Session reference = Session::load(cnn_path());
  std::vector<Tensor> want;
  for (int i = 0; i < 32; ++i) want.push_back(reference.run({{"input", images(i, 1)}})[0]);
  std::vector<std::thread> clients;
  std::atomic<int> mismatches{0}, failures{0};
  for (int c = 0; c < 4; ++c)
    clients.emplace_back([&, c] {
      for (int i = c; i < 32; i += 4) {
        try {
          InferResponse got = server.infer(request_for("cnn", "input", images(i, 1)));
          for (int k = 0; k < 10; ++k)
            if (std::abs(got.outputs[0].tensor.data<float>()[k] - want[static_cast<size_t>(i)].data<float>()[k]) >
                1e-4f)
              ++mismatches;
        } catch (const ServeError&) {
          ++failures;
        }
      }
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace hone::serve
