// The server's Prometheus metrics: per model version, request outcomes, queue / compute / total latency
// histograms, rows per run, in-flight requests and queue length. Updates are atomic adds (no lock on the hot path);
// text() renders the exposition format 0.0.4 for GET /metrics.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "serve/inference_server.h"

namespace hone::serve {

// Fixed upper bounds, counts per bucket (not cumulative: each observation touches one counter); the renderer sums.
class Histogram {
 public:
  explicit Histogram(std::span<const double> upper_bounds);
  void observe(double value);

  struct Snapshot {
    std::vector<double> upper_bounds;
    std::vector<uint64_t> cumulative;  // per bound, then +Inf last
    double sum = 0;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1 (the +Inf bucket)
  std::atomic<double> sum_{0};
};

inline constexpr int kNumOutcomes = 6;  // success, then one per ErrorKind
int outcome_index(ErrorKind kind);       // 1..5
std::string_view outcome_name(int index);

// One model version's series. Stable address: the server keeps a pointer per loaded version.
struct ModelMetrics {
  ModelMetrics(std::string model, std::string version);
  const std::string model, version;
  std::array<std::atomic<uint64_t>, kNumOutcomes> requests{};
  Histogram queue_seconds, compute_seconds, total_seconds, batch_size;
  std::atomic<int64_t> inflight{0};      // accepted, not yet answered
  std::atomic<int64_t> queue_length{0};  // accepted, not yet picked by an instance

  void count_success() { requests[0].fetch_add(1, std::memory_order_relaxed); }
  void count_error(ErrorKind kind) { requests[outcome_index(kind)].fetch_add(1, std::memory_order_relaxed); }
};

class ServeMetrics {
 public:
  // The series of a model version, made on first use; kept for the life of the server (a reloaded model counts on
  // from where it was, as Prometheus counters must).
  ModelMetrics& model(const std::string& name, const std::string& version);
  std::string text() const;  // Prometheus text exposition format 0.0.4

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<ModelMetrics>> models_;
};

// Prometheus label value escaping: backslash, double quote and newline.
std::string escape_label_value(std::string_view value);

}  // namespace hone::serve
