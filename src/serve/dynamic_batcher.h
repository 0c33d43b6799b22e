// One model version's queue and instances. Requests wait in one bounded queue; each of K instance threads owns a
// Session. An idle instance takes the oldest request; when batching is on it then gathers more requests with the
// same non-batch dims, up to max_batch_size rows or max_queue_delay_us after the first one's arrival, stacks them
// along dim 0, runs once and cuts the outputs back into each request's rows.
//
// Only one instance gathers at a time (the others wait for it to finish), so concurrent arrivals join one batch
// instead of being spread over instances in batches of one.
//
// The delay is spent only when it can pay off: not while another instance is idle (it could run the next arrivals
// at once; the batch runs now), and not when no two requests have been outstanding together in the last 100 ms (a
// lone client calling in a loop would wait the whole delay on every call for nothing). Under load the queue holds
// enough requests to fill batches without waiting.
//
// Several Sessions in one process: each instance thread is its own OpenMP master, with its own team of workers and
// its own thread-count setting (Session sets it per calling thread), so instances never share or resize each other's
// teams. Nothing is pinned: runtime/thread_placement.cc only spreads one team's threads apart for a moment and
// restores their masks, so the scheduler stays free to place the instances' teams; it does not know of the other
// instances' teams, which is why instances x threads should not exceed the cores (the default threads per instance is
// cores / instances). Idle teams spin only briefly (the hone program sets GOMP_SPINCOUNT, tools/hone/main.cc), so an
// idle instance does not hold a core another one needs. Pinning each instance to its own cores was not done: on a
// machine shared with other work it stalls an instance whose cores are busy while other cores idle.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hone/hone.h"
#include "serve/inference_server.h"
#include "serve/serve_metrics.h"

namespace hone::serve {

using Clock = std::chrono::steady_clock;

// A request that passed validation: inputs in the model's input order.
struct QueuedRequest {
  InferRequest request;
  std::vector<size_t> outputs;  // indices of the outputs asked for, in the order asked
  int64_t rows = 0;             // dim 0 shared by the inputs (batchable models); 0 otherwise
  Clock::time_point arrival;
  Clock::time_point expires = Clock::time_point::max();  // when waiting longer makes it time out
  int64_t timeout_us = 0;
  Clock::time_point picked;
  std::function<void(InferenceServer::Result)> done;
};

struct BatcherSettings {
  std::string model, version;
  std::vector<std::string> output_names;
  int max_batch_size = 0;  // > 1: batching on
  int64_t max_queue_delay_us = 0;
  int max_queue = 1024;
  ModelMetrics* metrics = nullptr;
};

class DynamicBatcher {
 public:
  // Starts one instance thread per session.
  DynamicBatcher(BatcherSettings settings, std::vector<Session> sessions);
  ~DynamicBatcher();  // drain()
  DynamicBatcher(const DynamicBatcher&) = delete;
  DynamicBatcher& operator=(const DynamicBatcher&) = delete;

  // Queues the request. Throws ServeError(Unavailable) when the queue is full; returns false (and leaves the
  // request untouched) once drain() began, so the caller can look for a newer version or refuse.
  bool submit(std::unique_ptr<QueuedRequest>& request);
  // Runs the request on the calling thread, at once, when a session is free, nothing waits in the queue and no two
  // requests were outstanding together lately: a lone caller then skips the two thread hand-offs of the queue, which
  // on an idle machine cost more than a small model's run. Returns false (and
  // leaves the request untouched) otherwise; the caller then submits it.
  bool try_run_inline(std::unique_ptr<QueuedRequest>& request);
  // Stops accepting, lets the instances finish every queued and running request, joins them. Idempotent.
  void drain();

 private:
  void instance_loop();
  void release(Session* session);
  // Under the lock: the next batch (empty when only expired requests were left); expired ones go to `expired`.
  void take_batch(std::unique_lock<std::mutex>& lock, std::vector<std::unique_ptr<QueuedRequest>>& batch,
                  std::vector<std::unique_ptr<QueuedRequest>>& expired);
  bool fits(const QueuedRequest& first, const QueuedRequest& other, int64_t rows) const;
  void run_batch(Session& session, std::vector<std::unique_ptr<QueuedRequest>>& batch);
  void answer(QueuedRequest& r, InferenceServer::Result result);

  BatcherSettings settings_;
  std::vector<Session> sessions_;
  std::vector<std::thread> threads_;

  std::mutex mutex_;
  std::condition_variable work_cv_;     // idle instances wait here for requests
  std::condition_variable company_cv_;  // the gathering instance waits here for more requests
  std::deque<std::unique_ptr<QueuedRequest>> queue_;
  bool gathering_ = false;
  int idle_ = 0;  // instances waiting for work (not counting the gatherer)
  bool stopping_ = false;
  std::vector<Session*> free_sessions_;  // sessions neither an instance nor an inline caller is running
  int inline_runs_ = 0;                  // callers running a request on their own thread
  std::condition_variable inline_done_cv_;
  std::atomic<int64_t> outstanding_{0};      // accepted, not answered
  Clock::time_point last_concurrent_{};      // last time two requests were outstanding together

  std::mutex drain_mutex_;  // one drain joins the threads; the others wait for it
  bool joined_ = false;
};

}  // namespace hone::serve
