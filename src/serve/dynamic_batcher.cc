#include "serve/dynamic_batcher.h"

#include <fmt/format.h>

#include "serve/batch_tensors.h"

namespace hone::serve {

namespace {
// How long two requests seen outstanding together keep the batcher waiting for company (see the header).
constexpr auto kConcurrencyMemory = std::chrono::milliseconds(100);

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

DynamicBatcher::DynamicBatcher(BatcherSettings settings, std::vector<Session> sessions)
    : settings_(std::move(settings)), sessions_(std::move(sessions)) {
  threads_.reserve(sessions_.size());
  for (Session& s : sessions_) free_sessions_.push_back(&s);
  for (size_t i = 0; i < sessions_.size(); ++i) threads_.emplace_back([this] { instance_loop(); });
}

DynamicBatcher::~DynamicBatcher() { drain(); }

bool DynamicBatcher::submit(std::unique_ptr<QueuedRequest>& request) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    if (static_cast<int64_t>(queue_.size()) >= settings_.max_queue)
      throw ServeError(ErrorKind::Unavailable,
                       fmt::format("model '{}' version {}: queue full ({} requests waiting)", settings_.model,
                                   settings_.version, queue_.size()));
    if (outstanding_.fetch_add(1, std::memory_order_relaxed) >= 1) last_concurrent_ = request->arrival;
    settings_.metrics->inflight.fetch_add(1, std::memory_order_relaxed);
    settings_.metrics->queue_length.fetch_add(1, std::memory_order_relaxed);
    queue_.push_back(std::move(request));
    if (gathering_) company_cv_.notify_one();
  }
  // Outside the lock: the woken instance does not block on it at once.
  work_cv_.notify_one();
  return true;
}

bool DynamicBatcher::try_run_inline(std::unique_ptr<QueuedRequest>& request) {
  Session* session = nullptr;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || !queue_.empty() || gathering_ || free_sessions_.empty()) return false;
    const Clock::time_point now = Clock::now();
    // Under concurrent load the instances run everything, batched or not: a caller running a model becomes an
    // OpenMP master with a team of its own, and one team per connection thread would crowd the cores.
    if (now - last_concurrent_ < kConcurrencyMemory) return false;
    if (outstanding_.fetch_add(1, std::memory_order_relaxed) >= 1) last_concurrent_ = request->arrival;
    settings_.metrics->inflight.fetch_add(1, std::memory_order_relaxed);
    session = free_sessions_.back();
    free_sessions_.pop_back();
    ++inline_runs_;
    request->picked = now;
  }
  std::vector<std::unique_ptr<QueuedRequest>> batch;
  batch.push_back(std::move(request));
  run_batch(*session, batch);
  // The request (and its inputs, which the session still references until its next run) goes before the session is
  // handed back: whichever thread runs the session next then drops the last reference after this one.
  batch.clear();
  {
    std::lock_guard lock(mutex_);
    free_sessions_.push_back(session);
    --inline_runs_;
  }
  work_cv_.notify_one();
  inline_done_cv_.notify_all();
  return true;
}

void DynamicBatcher::release(Session* session) {
  {
    std::lock_guard lock(mutex_);
    free_sessions_.push_back(session);
  }
  work_cv_.notify_one();
}

void DynamicBatcher::drain() {
  std::lock_guard drain_lock(drain_mutex_);
  if (joined_) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  company_cv_.notify_all();
  for (auto& t : threads_) t.join();
  {
    std::unique_lock lock(mutex_);
    inline_done_cv_.wait(lock, [&] { return inline_runs_ == 0; });
  }
  joined_ = true;
}

void DynamicBatcher::instance_loop() {
  std::vector<std::unique_ptr<QueuedRequest>> batch, expired;
  for (;;) {
    Session* session = nullptr;
    {
      std::unique_lock lock(mutex_);
      auto has_work = [&] {
        return (!queue_.empty() && !gathering_ && !free_sessions_.empty()) || (stopping_ && queue_.empty());
      };
      if (!has_work()) {
        ++idle_;
        if (gathering_) company_cv_.notify_one();  // an idle instance: the gatherer need not wait any longer
        work_cv_.wait(lock, has_work);
        --idle_;
      }
      if (queue_.empty()) {
        // Stopping, and nothing left to do. Instances that drain()'s wake-up found waiting for a gatherer went back
        // to sleep; wake them to see the empty queue too.
        work_cv_.notify_all();
        return;
      }
      // The session is taken before gathering, which unlocks: an inline caller cannot take the last one meanwhile.
      session = free_sessions_.back();
      free_sessions_.pop_back();
      take_batch(lock, batch, expired);
      // Another instance may start on what this batch left behind.
      if (!queue_.empty()) work_cv_.notify_one();
    }
    for (auto& r : expired)
      answer(*r, ServeError(ErrorKind::Unavailable,
                            fmt::format("model '{}' version {}: timed out after {} us in the queue", settings_.model,
                                        settings_.version, r->timeout_us)));
    expired.clear();
    if (!batch.empty()) run_batch(*session, batch);
    batch.clear();
    release(session);
  }
}

bool DynamicBatcher::fits(const QueuedRequest& first, const QueuedRequest& other, int64_t rows) const {
  if (rows + other.rows > settings_.max_batch_size) return false;
  const auto& a = first.request.inputs;
  const auto& b = other.request.inputs;
  for (size_t k = 0; k < a.size(); ++k) {
    const Tensor& x = a[k].tensor;
    const Tensor& y = b[k].tensor;
    if (x.dtype() != y.dtype() || x.rank() != y.rank()) return false;
    for (int d = 1; d < x.rank(); ++d)
      if (x.dim(d) != y.dim(d)) return false;
  }
  return true;
}

void DynamicBatcher::take_batch(std::unique_lock<std::mutex>& lock,
                                std::vector<std::unique_ptr<QueuedRequest>>& batch,
                                std::vector<std::unique_ptr<QueuedRequest>>& expired) {
  auto take = [&](std::unique_ptr<QueuedRequest> r, Clock::time_point now) {
    settings_.metrics->queue_length.fetch_sub(1, std::memory_order_relaxed);
    r->picked = now;
    (now > r->expires ? expired : batch).push_back(std::move(r));
  };
  Clock::time_point now = Clock::now();
  while (batch.empty() && !queue_.empty()) {
    take(std::move(queue_.front()), now);
    queue_.pop_front();
  }
  const bool batching = settings_.max_batch_size > 1;
  if (batch.empty() || !batching || batch[0]->rows >= settings_.max_batch_size) return;

  const QueuedRequest& first = *batch[0];
  int64_t rows = first.rows;
  const bool wait = now - last_concurrent_ < kConcurrencyMemory;
  const Clock::time_point until = first.arrival + std::chrono::microseconds(settings_.max_queue_delay_us);
  gathering_ = true;
  for (;;) {
    now = Clock::now();
    for (auto it = queue_.begin(); it != queue_.end() && rows < settings_.max_batch_size;) {
      if (!fits(first, **it, rows)) {
        ++it;
        continue;
      }
      if (now <= (*it)->expires) rows += (*it)->rows;
      take(std::move(*it), now);
      it = queue_.erase(it);
    }
    // Waiting for company is worth it only while no other instance is free to run what arrives next.
    if (rows >= settings_.max_batch_size || stopping_ || !wait || idle_ > 0 || now >= until) break;
    company_cv_.wait_until(lock, until);
  }
  gathering_ = false;
}

void DynamicBatcher::run_batch(Session& session, std::vector<std::unique_ptr<QueuedRequest>>& batch) {
  const size_t n_inputs = batch[0]->request.inputs.size();
  std::vector<Value> feeds(n_inputs);
  int64_t total_rows = 0;
  for (const auto& r : batch) total_rows += r->rows;
  if (batch.size() == 1) {
    for (size_t k = 0; k < n_inputs; ++k) feeds[k] = Value::of(batch[0]->request.inputs[k].tensor);
  } else {
    std::vector<const Tensor*> parts(batch.size());
    for (size_t k = 0; k < n_inputs; ++k) {
      for (size_t i = 0; i < batch.size(); ++i) parts[i] = &batch[i]->request.inputs[k].tensor;
      feeds[k] = Value::of(concat_rows(parts));
    }
  }

  std::vector<Value> outputs;
  const Clock::time_point start = Clock::now();
  std::string failure;
  try {
    outputs = session.run_values(feeds);
  } catch (const std::exception& e) {
    failure = fmt::format("model '{}' version {} failed to run: {}", settings_.model, settings_.version, e.what());
  }
  const double compute = seconds(Clock::now() - start);
  settings_.metrics->batch_size.observe(static_cast<double>(batch.size() == 1 ? std::max<int64_t>(total_rows, 1)
                                                                               : total_rows));
  for (size_t j = 0; failure.empty() && j < outputs.size(); ++j) {
    const std::string& name = settings_.output_names[j];
    if (!outputs[j].is_tensor()) {
      failure = fmt::format("model '{}' output '{}' is not a tensor; KServe v2 carries only tensors", settings_.model,
                            name);
    } else if (batch.size() > 1 &&
               (outputs[j].tensor.rank() < 1 || outputs[j].tensor.dim(0) != total_rows)) {
      failure = fmt::format(
          "model '{}' output '{}' has shape {} for a batch of {} rows: its outputs are not batch-major (dim 0 = "
          "rows), so requests cannot be batched; set max_batch_size: 0 in its config.pbtxt (or --max-batch-size 0)",
          settings_.model, name, shape_str(outputs[j].tensor.shape()), total_rows);
    }
  }
  int64_t row = 0;
  for (auto& r : batch) {
    settings_.metrics->compute_seconds.observe(compute);
    if (!failure.empty()) {
      answer(*r, ServeError(ErrorKind::Internal, failure));
      continue;
    }
    InferResponse response;
    response.model = settings_.model;
    response.version = settings_.version;
    response.id = std::move(r->request.id);
    response.outputs.reserve(r->outputs.size());
    for (size_t j : r->outputs) {
      Tensor t = batch.size() == 1 ? std::move(outputs[j].tensor) : slice_rows(outputs[j].tensor, row, r->rows);
      response.outputs.push_back({settings_.output_names[j], std::move(t)});
    }
    row += r->rows;
    answer(*r, std::move(response));
  }
}

void DynamicBatcher::answer(QueuedRequest& r, InferenceServer::Result result) {
  ModelMetrics& m = *settings_.metrics;
  const Clock::time_point now = Clock::now();
  m.queue_seconds.observe(seconds(r.picked - r.arrival));
  m.total_seconds.observe(seconds(now - r.arrival));
  if (std::holds_alternative<InferResponse>(result)) m.count_success();
  else m.count_error(std::get<ServeError>(result).kind());
  m.inflight.fetch_sub(1, std::memory_order_relaxed);
  outstanding_.fetch_sub(1, std::memory_order_relaxed);
  try {
    r.done(std::move(result));
  } catch (...) {
    // A front end's callback must not take the instance down; it owns reporting its own failures.
  }
}

}  // namespace hone::serve
