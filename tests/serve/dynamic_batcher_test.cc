// Dynamic batching through InferenceServer: batches form, each request gets its own rows back, shapes that differ
// are not mixed, a fixed batch dim is never batched, non-batch-major outputs are an Internal error, the queue is
// bounded, requests time out in the queue.
#include "serve/dynamic_batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "serve/batch_tensors.h"
#include "serve_core_test_util.h"

namespace hone::serve {
namespace {

using namespace testing;

ServerOptions batching(int max_batch_size, int64_t delay_us) {
  ServerOptions o;
  o.defaults.max_batch_size = max_batch_size;
  o.defaults.max_queue_delay_us = delay_us;
  o.defaults.instances = 1;
  return o;
}

// Collects the results of asynchronous requests, by request index.
struct Results {
  std::mutex mutex;
  std::vector<std::optional<InferenceServer::Result>> slots;
  explicit Results(size_t n) : slots(n) {}
  std::function<void(InferenceServer::Result)> slot(size_t i) {
    return [this, i](InferenceServer::Result r) {
      std::lock_guard lock(mutex);
      slots[i] = std::move(r);
    };
  }
  const InferResponse& response(size_t i) {
    EXPECT_TRUE(slots[i].has_value()) << "request " << i << " not answered";
    if (auto* e = std::get_if<ServeError>(&*slots[i])) ADD_FAILURE() << "request " << i << ": " << e->what();
    return std::get<InferResponse>(*slots[i]);
  }
};

std::string series(const std::string& name, const std::string& model, const std::string& extra = "") {
  return name + "{model=\"" + model + "\",version=\"1\"" + extra + "}";
}

TEST(BatchTensors, ConcatThenSliceGivesThePartsBack) {
  Tensor a = rows_tensor(1, 0, 3), b = rows_tensor(3, 5, 3);
  Tensor both = concat_rows({&a, &b});
  ASSERT_EQ(both.shape(), (Shape{4, 3}));
  Tensor a2 = slice_rows(both, 0, 1), b2 = slice_rows(both, 1, 3);
  for (int64_t k = 0; k < 3; ++k) EXPECT_EQ(a2.data<float>()[k], a.data<float>()[k]);
  for (int64_t k = 0; k < 9; ++k) EXPECT_EQ(b2.data<float>()[k], b.data<float>()[k]);
  Tensor s1(DType::String, {1, 2}), s2(DType::String, {2, 2});
  s1.data<std::string>()[1] = "one";
  s2.data<std::string>()[3] = "four";
  Tensor ss = concat_rows({&s1, &s2});
  EXPECT_EQ(ss.data<std::string>()[1], "one");
  EXPECT_EQ(ss.data<std::string>()[5], "four");
  EXPECT_EQ(slice_rows(ss, 1, 2).data<std::string>()[3], "four");
  EXPECT_THROW(slice_rows(ss, 2, 2), Error);
}

TEST(DynamicBatcher, ConcurrentRequestsFormBatchesAndEachGetsItsOwnRows) {
  TempDir dir;
  InferenceServer server(batching(8, 20'000));
  server.add_model("two", write_two_output_model(dir, true));
  constexpr int kRequests = 16;
  Results results(kRequests + 1);
  // The wide request keeps the one instance busy while the others queue up behind it.
  server.infer_async(request_for("two", "x", wide_tensor()), results.slot(kRequests));
  for (int i = 0; i < kRequests; ++i) {
    InferRequest r = request_for("two", "x", rows_tensor(1 + i % 3, 100 * i));
    r.outputs = {"neg"};
    server.infer_async(std::move(r), results.slot(static_cast<size_t>(i)));
  }
  server.drain();
  for (int i = 0; i < kRequests; ++i) {
    const InferResponse& got = results.response(static_cast<size_t>(i));
    Tensor x = rows_tensor(1 + i % 3, 100 * i);
    ASSERT_EQ(got.outputs.size(), 1u);
    ASSERT_EQ(got.outputs[0].tensor.shape(), x.shape()) << "request " << i;
    for (int64_t k = 0; k < x.numel(); ++k)
      ASSERT_EQ(got.outputs[0].tensor.data<float>()[k], -x.data<float>()[k]) << "request " << i << " at " << k;
  }
  std::string m = server.metrics_text();
  double runs = sample_value(m, series("hone_batch_size_count", "two"));
  double rows = sample_value(m, series("hone_batch_size_sum", "two"));
  double single_row_runs = sample_value(m, series("hone_batch_size_bucket", "two", ",le=\"1\""));
  double want_rows = 1;  // the wide request
  for (int i = 0; i < kRequests; ++i) want_rows += 1 + i % 3;
  EXPECT_EQ(rows, want_rows);                 // every row ran once
  EXPECT_LT(runs, kRequests) << m;            // so some runs held several requests
  EXPECT_LT(single_row_runs, runs) << m;
  for (double v : {sample_value(m, series("hone_batch_size_bucket", "two", ",le=\"8\"")),
                   sample_value(m, series("hone_batch_size_bucket", "two", ",le=\"+Inf\""))})
    EXPECT_EQ(v, runs);  // nothing over max_batch_size
}

TEST(DynamicBatcher, BatchedCnnResultsMatchSessionRun) {
  InferenceServer server(batching(8, 20'000));
  server.add_model("cnn", cnn_path());
  Session reference = Session::load(cnn_path());
  constexpr int kRequests = 16;
  Results results(kRequests);
  for (int i = 0; i < kRequests; ++i)
    server.infer_async(request_for("cnn", "input", images(i, 1)), results.slot(static_cast<size_t>(i)));
  server.drain();
  for (int i = 0; i < kRequests; ++i) {
    Tensor want = reference.run({{"input", images(i, 1)}})[0];
    const Tensor& got = results.response(static_cast<size_t>(i)).outputs[0].tensor;
    ASSERT_EQ(got.shape(), want.shape());
    // A batch may take other kernel paths than one image (blocking, accumulation order): 1e-4 on logits ~10.
    for (int64_t k = 0; k < 10; ++k) EXPECT_NEAR(got.data<float>()[k], want.data<float>()[k], 1e-4) << i;
  }
}

TEST(DynamicBatcher, RequestsOfOtherShapesAreNotMixed) {
  TempDir dir;
  InferenceServer server(batching(8, 20'000));
  server.add_model("two", write_two_output_model(dir, true));
  constexpr int kRequests = 12;
  Results results(kRequests + 1);
  server.infer_async(request_for("two", "x", wide_tensor()), results.slot(kRequests));
  auto width = [](int i) { return i % 2 == 0 ? 4 : 6; };
  for (int i = 0; i < kRequests; ++i)
    server.infer_async(request_for("two", "x", rows_tensor(1, i, width(i))), results.slot(static_cast<size_t>(i)));
  server.drain();
  for (int i = 0; i < kRequests; ++i) {
    Tensor x = rows_tensor(1, i, width(i));
    const InferResponse& got = results.response(static_cast<size_t>(i));
    ASSERT_EQ(got.outputs[0].tensor.shape(), x.shape());
    for (int64_t k = 0; k < x.numel(); ++k)
      EXPECT_EQ(got.outputs[1].tensor.data<float>()[k], -x.data<float>()[k]) << "request " << i;
  }
  // Two widths: at least two runs besides the wide one, however the requests grouped.
  EXPECT_GE(sample_value(server.metrics_text(), series("hone_batch_size_count", "two")), 3);
}

TEST(DynamicBatcher, FixedBatchModelsAreNeverBatched) {
  TempDir dir;
  InferenceServer server(batching(8, 20'000));
  std::string path = dir / "fixed.onnx";
  save_onnx_file(model_with(2, {{"relu", "Relu"}}), path, true);
  server.add_model("fixed", path);
  constexpr int kRequests = 8;
  Results results(kRequests);
  for (int i = 0; i < kRequests; ++i)
    server.infer_async(request_for("fixed", "x", rows_tensor(2, i)), results.slot(static_cast<size_t>(i)));
  server.drain();
  for (int i = 0; i < kRequests; ++i) EXPECT_EQ(results.response(static_cast<size_t>(i)).outputs[0].tensor.dim(0), 2);
  EXPECT_EQ(sample_value(server.metrics_text(), series("hone_batch_size_count", "fixed")), kRequests);
}

TEST(DynamicBatcher, NonBatchMajorOutputsAreAnInternalErrorThatSaysWhatToDo) {
  TempDir dir;
  InferenceServer server(batching(3, 20'000));
  server.add_model("mean", write_batch_mean_model(dir));
  Results results(4);
  server.infer_async(request_for("mean", "x", wide_tensor()), results.slot(3));
  for (int i = 0; i < 3; ++i)
    server.infer_async(request_for("mean", "x", rows_tensor(1, i)), results.slot(static_cast<size_t>(i)));
  server.drain();
  EXPECT_EQ(results.response(3).outputs[0].tensor.shape(), (Shape{1, int64_t{1} << 21}));  // alone: fine
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(results.slots[static_cast<size_t>(i)].has_value());
    auto* e = std::get_if<ServeError>(&*results.slots[static_cast<size_t>(i)]);
    ASSERT_NE(e, nullptr) << "request " << i << " was answered, though its batch's output is [1,4]";
    EXPECT_EQ(e->kind(), ErrorKind::Internal);
    EXPECT_TRUE(contains(e->what(), "'mean'")) << e->what();
    EXPECT_TRUE(contains(e->what(), "not batch-major")) << e->what();
    EXPECT_TRUE(contains(e->what(), "max_batch_size: 0")) << e->what();
  }
}

TEST(DynamicBatcher, OutputsDeclaredNotBatchMajorTurnBatchingOff) {
  TempDir dir;
  Model m = model_with(-1, {{"mean", "ReduceMean"}});
  m.graph.outputs[0].type = TypeInfo::tensor(DType::Float32, SymShape{Dim(1), Dim(4)});
  std::string path = dir / "declared_mean.onnx";
  save_onnx_file(m, path, true);
  InferenceServer server(batching(3, 20'000));
  server.add_model("mean", path);
  Results results(4);
  server.infer_async(request_for("mean", "x", rows_tensor(1, 9)), results.slot(3));
  for (int i = 0; i < 3; ++i)
    server.infer_async(request_for("mean", "x", rows_tensor(1, i)), results.slot(static_cast<size_t>(i)));
  // A request of several rows is the model's business then, not refused for max_batch_size.
  EXPECT_EQ(server.infer(request_for("mean", "x", rows_tensor(5, 0))).outputs[0].tensor.dim(0), 1);
  server.drain();
  for (int i = 0; i < 3; ++i) {  // each ran alone: its own row is the mean
    const Tensor& got = results.response(static_cast<size_t>(i)).outputs[0].tensor;
    Tensor x = rows_tensor(1, i);
    for (int64_t k = 0; k < 4; ++k) EXPECT_EQ(got.data<float>()[k], x.data<float>()[k]);
  }
}

TEST(DynamicBatcher, AFullQueueRefusesWithUnavailable) {
  TempDir dir;
  ServerOptions options = batching(1, 0);
  options.defaults.max_queue = 2;
  InferenceServer server(options);
  server.add_model("two", write_two_output_model(dir, true));
  std::atomic<int> succeeded{0};
  auto count = [&](InferenceServer::Result r) { succeeded += std::holds_alternative<InferResponse>(r); };
  server.infer_async(request_for("two", "x", wide_tensor()), count);
  int accepted = 1;
  std::optional<ServeError> refused;
  for (int i = 0; i < 4 && !refused; ++i) {
    try {
      server.infer_async(request_for("two", "x", rows_tensor(1, i)), count);
      ++accepted;
    } catch (const ServeError& e) {
      refused = e;
    }
  }
  ASSERT_TRUE(refused.has_value()) << "a queue of 2 took 5 requests while its instance was busy";
  EXPECT_EQ(refused->kind(), ErrorKind::Unavailable);
  EXPECT_TRUE(contains(refused->what(), "queue full")) << refused->what();
  EXPECT_LE(accepted, 3);  // the one running + 2 queued at most
  server.drain();
  EXPECT_EQ(succeeded.load(), accepted);
  EXPECT_EQ(sample_value(server.metrics_text(), series("hone_requests_total", "two", ",outcome=\"unavailable\"")), 1);
}

TEST(DynamicBatcher, RequestsThatWaitPastTheirTimeoutAreUnavailable) {
  TempDir dir;
  ServerOptions options = batching(1, 0);
  options.defaults.default_timeout_us = 100;
  InferenceServer server(options);
  server.add_model("two", write_two_output_model(dir, true));
  Results results(3);
  InferRequest busy = request_for("two", "x", wide_tensor());
  busy.timeout_us = 60'000'000;  // its own timeout overrides the model's default
  server.infer_async(std::move(busy), results.slot(2));
  server.infer_async(request_for("two", "x", rows_tensor(1, 0)), results.slot(0));  // the default: 100 us
  InferRequest patient = request_for("two", "x", rows_tensor(1, 1));
  patient.timeout_us = 60'000'000;
  server.infer_async(std::move(patient), results.slot(1));
  server.drain();
  results.response(2);
  results.response(1);
  ASSERT_TRUE(results.slots[0].has_value());
  auto* e = std::get_if<ServeError>(&*results.slots[0]);
  ASSERT_NE(e, nullptr) << "waited behind a run of 2M floats, yet did not time out after 100 us";
  EXPECT_EQ(e->kind(), ErrorKind::Unavailable);
  EXPECT_TRUE(contains(e->what(), "timed out after 100 us in the queue")) << e->what();
}

TEST(DynamicBatcher, ACallersDeadlineBoundsItsTimeInTheQueue) {
  TempDir dir;
  InferenceServer server(batching(1, 0));
  server.add_model("two", write_two_output_model(dir, true));
  Results results(3);
  server.infer_async(request_for("two", "x", wide_tensor()), results.slot(2));  // keeps the one instance busy
  InferRequest gone = request_for("two", "x", rows_tensor(1, 0));
  gone.timeout_us = 60'000'000;  // its own timeout is longer than the caller waits
  gone.deadline_us = 100;
  server.infer_async(std::move(gone), results.slot(0));
  InferRequest waiting = request_for("two", "x", rows_tensor(1, 1));
  waiting.deadline_us = 60'000'000;
  server.infer_async(std::move(waiting), results.slot(1));
  server.drain();
  results.response(2);
  results.response(1);
  ASSERT_TRUE(results.slots[0].has_value());
  auto* e = std::get_if<ServeError>(&*results.slots[0]);
  ASSERT_NE(e, nullptr) << "waited behind a run of 2M floats past its caller's 100 us deadline, yet ran";
  EXPECT_EQ(e->kind(), ErrorKind::Unavailable);
  EXPECT_TRUE(contains(e->what(), "timed out after 100 us in the queue")) << e->what();
}

TEST(DynamicBatcher, SeveralInstancesServeOneModel) {
  TempDir dir;
  ServerOptions options = batching(4, 1'000);
  options.defaults.instances = 3;
  InferenceServer server(options);
  server.add_model("two", write_two_output_model(dir));
  constexpr int kRequests = 48;
  Results results(kRequests);
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c)
    clients.emplace_back([&, c] {
      for (int i = c; i < kRequests; i += 4)
        server.infer_async(request_for("two", "x", rows_tensor(1 + i % 2, i)), results.slot(static_cast<size_t>(i)));
    });
  for (auto& t : clients) t.join();
  server.drain();
  for (int i = 0; i < kRequests; ++i) {
    Tensor x = rows_tensor(1 + i % 2, i);
    const InferResponse& got = results.response(static_cast<size_t>(i));
    for (int64_t k = 0; k < x.numel(); ++k)
      ASSERT_EQ(got.outputs[0].tensor.data<float>()[k], std::max(0.0f, x.data<float>()[k])) << i;
  }
}

// The inline path: a lone request on an idle batcher runs on the caller's thread (no hand-off); with the session
// busy, or while requests were recently outstanding together, the caller must queue instead.
// Results equal the queued path's, and drain() waits for inline runs.
std::unique_ptr<QueuedRequest> queued(Tensor x, std::function<void(InferenceServer::Result)> done) {
  auto q = std::make_unique<QueuedRequest>();
  q->request.inputs.push_back({"x", std::move(x)});
  q->outputs = {0, 1};
  q->rows = q->request.inputs[0].tensor.dim(0);
  q->arrival = Clock::now();
  q->done = std::move(done);
  return q;
}

TEST(DynamicBatcher, ALoneRequestRunsOnTheCallersThreadOnlyWhenNothingElseWaits) {
  TempDir dir;
  const std::string path = write_two_output_model(dir, true);
  for (int max_batch : {1, 8}) {
    ModelMetrics metrics("two", "1");
    BatcherSettings settings{.model = "two", .version = "1", .output_names = {"relu", "neg"},
                             .max_batch_size = max_batch, .max_queue_delay_us = 20'000, .metrics = &metrics};
    std::vector<Session> sessions;
    sessions.push_back(Session::load(path, {.threads = 1}));
    DynamicBatcher batcher(std::move(settings), std::move(sessions));

    std::thread::id ran_on;
    std::optional<InferenceServer::Result> inline_result;
    auto q = queued(rows_tensor(2, 3), [&](InferenceServer::Result r) {
      ran_on = std::this_thread::get_id();
      inline_result = std::move(r);
    });
    ASSERT_TRUE(batcher.try_run_inline(q)) << "max_batch_size " << max_batch;
    EXPECT_EQ(ran_on, std::this_thread::get_id());
    ASSERT_TRUE(inline_result && std::holds_alternative<InferResponse>(*inline_result));
    const Tensor& neg = std::get<InferResponse>(*inline_result).outputs[1].tensor;
    Tensor x = rows_tensor(2, 3);
    ASSERT_EQ(neg.shape(), x.shape());
    for (int64_t k = 0; k < x.numel(); ++k) EXPECT_EQ(neg.data<float>()[k], -x.data<float>()[k]);

    // A request whose answer is held keeps the only session busy (the instance releases it after answering); the
    // next ones cannot run inline and are queued, then answered on the instance thread.
    Results results(2);
    std::atomic<bool> answering{false}, let_go{false};
    auto held = queued(rows_tensor(1, 1), [&](InferenceServer::Result) {
      answering = true;
      while (!let_go) std::this_thread::yield();
    });
    ASSERT_TRUE(batcher.submit(held));
    while (!answering) std::this_thread::yield();
    auto behind = queued(rows_tensor(1, 7), results.slot(1));
    EXPECT_FALSE(batcher.try_run_inline(behind));
    ASSERT_NE(behind, nullptr) << "a refused inline request must be left to the caller";
    ASSERT_TRUE(batcher.submit(behind));
    auto second = queued(rows_tensor(1, 8), results.slot(0));  // outstanding together with `behind`
    ASSERT_TRUE(batcher.submit(second));
    let_go = true;
    for (bool both = false; !both; std::this_thread::yield()) {
      std::lock_guard lock(results.mutex);
      both = results.slots[0].has_value() && results.slots[1].has_value();
    }
    EXPECT_EQ(results.response(1).outputs[1].tensor.data<float>()[0], -rows_tensor(1, 7).data<float>()[0]);
    // Two requests were just outstanding together: the next caller queues too (so that batches can form, and so that
    // connection threads do not each become an OpenMP master under load).
    bool late_ran = false;
    auto late = queued(rows_tensor(1, 0), [&](InferenceServer::Result) { late_ran = true; });
    EXPECT_FALSE(batcher.try_run_inline(late)) << "max_batch_size " << max_batch;
    EXPECT_FALSE(late_ran);
    batcher.drain();
    auto after_drain = queued(rows_tensor(1, 0), [](InferenceServer::Result) {});
    EXPECT_FALSE(batcher.try_run_inline(after_drain));
    EXPECT_EQ(metrics.inflight.load(), 0);
  }
}

}  // namespace
}  // namespace hone::serve
