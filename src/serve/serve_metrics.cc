#include "serve/serve_metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace hone::serve {

namespace {
// Latency buckets from 25 us (a small model's run) to 10 s (a request stuck behind a long queue).
constexpr double kSecondsBounds[] = {25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3,
                                     25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1.0,    2.5,    5.0,  10.0};
constexpr double kBatchBounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};

constexpr std::string_view kOutcomeNames[kNumOutcomes] = {"success", "invalid_argument", "not_found",
                                                          "too_large", "unavailable", "internal"};
}  // namespace

int outcome_index(ErrorKind kind) {
  std::string_view name = error_kind_name(kind);
  for (int i = 1; i < kNumOutcomes; ++i)
    if (kOutcomeNames[i] == name) return i;
  return kNumOutcomes - 1;
}

std::string_view outcome_name(int index) { return kOutcomeNames[index]; }

Histogram::Histogram(std::span<const double> upper_bounds)
    : bounds_(upper_bounds.begin(), upper_bounds.end()),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::observe(double value) {
  size_t k = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  counts_[k].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.upper_bounds = bounds_;
  uint64_t running = 0;
  for (size_t k = 0; k <= bounds_.size(); ++k) {
    running += counts_[k].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

ModelMetrics::ModelMetrics(std::string model_name, std::string model_version)
    : model(std::move(model_name)),
      version(std::move(model_version)),
      queue_seconds(kSecondsBounds),
      compute_seconds(kSecondsBounds),
      total_seconds(kSecondsBounds),
      batch_size(kBatchBounds) {}

ModelMetrics& ServeMetrics::model(const std::string& name, const std::string& version) {
  std::lock_guard lock(mutex_);
  auto& slot = models_[{name, version}];
  if (!slot) slot = std::make_unique<ModelMetrics>(name, version);
  return *slot;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

namespace {

std::string labels(const ModelMetrics& m) {
  return fmt::format("model=\"{}\",version=\"{}\"", escape_label_value(m.model), escape_label_value(m.version));
}

// Prometheus floats: shortest round-trip form; "+Inf" for the last bucket's bound.
std::string number(double v) { return fmt::format("{}", v); }

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void histogram_samples(std::string& out, std::string_view name, const std::string& label, const Histogram& h) {
  Histogram::Snapshot s = h.snapshot();
  for (size_t k = 0; k < s.upper_bounds.size(); ++k)
    out += fmt::format("{}_bucket{{{},le=\"{}\"}} {}\n", name, label, number(s.upper_bounds[k]), s.cumulative[k]);
  out += fmt::format("{}_bucket{{{},le=\"+Inf\"}} {}\n", name, label, s.cumulative.back());
  out += fmt::format("{}_sum{{{}}} {}\n", name, label, number(s.sum));
  out += fmt::format("{}_count{{{}}} {}\n", name, label, s.cumulative.back());
}

}  // namespace

std::string ServeMetrics::text() const {
  std::vector<const ModelMetrics*> ms;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, m] : models_) ms.push_back(m.get());
  }
  std::string out;
  family(out, "hone_requests_total", "counter", "Inference requests answered, by outcome (success or error kind).");
  for (const ModelMetrics* m : ms)
    for (int i = 0; i < kNumOutcomes; ++i)
      out += fmt::format("hone_requests_total{{{},outcome=\"{}\"}} {}\n", labels(*m), kOutcomeNames[i],
                         m->requests[static_cast<size_t>(i)].load(std::memory_order_relaxed));
  struct HistogramFamily {
    std::string_view name, help;
    Histogram ModelMetrics::*member;
  };
  const HistogramFamily histograms[] = {
      {"hone_request_queue_seconds", "Time from a request's arrival until an instance picked it.",
       &ModelMetrics::queue_seconds},
      {"hone_request_compute_seconds", "Time the model ran for the batch that held the request.",
       &ModelMetrics::compute_seconds},
      {"hone_request_total_seconds", "Time from a request's arrival until its answer.", &ModelMetrics::total_seconds},
      {"hone_batch_size", "Rows per model run (the dynamic batcher's batch sizes).", &ModelMetrics::batch_size},
  };
  for (const auto& h : histograms) {
    family(out, h.name, "histogram", h.help);
    for (const ModelMetrics* m : ms) histogram_samples(out, h.name, labels(*m), m->*h.member);
  }
  family(out, "hone_inflight_requests", "gauge", "Requests accepted and not yet answered.");
  for (const ModelMetrics* m : ms)
    out += fmt::format("hone_inflight_requests{{{}}} {}\n", labels(*m), m->inflight.load(std::memory_order_relaxed));
  family(out, "hone_queue_length", "gauge", "Requests waiting in the queue for an instance.");
  for (const ModelMetrics* m : ms)
    out += fmt::format("hone_queue_length{{{}}} {}\n", labels(*m), m->queue_length.load(std::memory_order_relaxed));
  return out;
}

}  // namespace hone::serve
