// One loaded model version: its instances (Sessions behind a DynamicBatcher), its metadata as KServe reports it,
// and the checks a request must pass before it may join the queue.
#pragma once
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

// Intra-op threads an instance gets: the configured number, else the cores shared among the instances.
int threads_per_instance(const ModelConfig& config);

}  // namespace hone::serve
