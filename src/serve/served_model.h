// One loaded model version: its instances (Sessions behind a DynamicBatcher), its metadata as KServe reports it,
// and the checks a request must pass before it may join the queue.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hone/hone.h"
#include "serve/dynamic_batcher.h"
#include "serve/inference_server.h"
#include "serve/serve_metrics.h"

namespace hone::serve {

class ServedModel {
 public:
  // Loads `config.instances` Sessions of the file (throws hone::Error naming it) and starts their threads.
  ServedModel(std::string name, std::string version, const std::string& onnx_path, const ModelConfig& config,
              ModelMetrics& metrics);

  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }
  const ModelConfig& config() const { return config_; }
  ModelMetrics& metrics() { return metrics_; }
  // Whether requests are stacked along dim 0: batching configured (max_batch_size > 1) and every input has a
  // symbolic first dimension.
  bool batching() const { return batching_; }
  const std::vector<TensorMetadata>& inputs() const { return inputs_; }
  const std::vector<TensorMetadata>& outputs() const { return outputs_; }

  // Checks names, dtypes, ranks, fixed dims, rows; reorders the inputs to the model's order. Throws ServeError.
  std::unique_ptr<QueuedRequest> validate(InferRequest request) const;
  DynamicBatcher& batcher() { return *batcher_; }

 private:
  std::string name_, version_;
  ModelConfig config_;
  ModelMetrics& metrics_;
  std::vector<ValueInfo> input_infos_;
  std::vector<TensorMetadata> inputs_, outputs_;
  bool batching_ = false;
  std::unique_ptr<DynamicBatcher> batcher_;
};

// How many instances a model runs and with how many intra-op threads each.
struct Parallelism {
  int instances = 1;
  int threads = 1;
  std::string why;  // for the log: what decided it
};

// A run on one thread under this is "small": the hand-offs between intra-op threads and their spinning between runs
// cost more than they save next to a request's own handling (~100 us of HTTP, parsing and wake-ups), so the cores
// go to single-threaded instances that answer concurrent requests in parallel (BENCHMARKS.md, "Serving").
inline constexpr double kSmallModelSeconds = 1e-3;

// The configured instances x threads; where both are 0 (not configured), `single_run` times a batch-1 run on one
// thread (seconds; < 0 when it cannot): small models get `cores` single-threaded instances, others one instance on
// every core. Only threads configured: 1 instance; only instances: the cores shared among them.
Parallelism resolve_parallelism(const ModelConfig& config, int cores, const std::function<double()>& single_run);

std::string format_duration(double seconds);  // "18 us", "3.20 ms", "1.50 s"

}  // namespace hone::serve
