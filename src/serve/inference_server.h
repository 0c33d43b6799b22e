// The core of `hone serve`, independent of any wire protocol: a set of models (from --model NAME=PATH or a
// Triton-style repository), each with K instances (a Session each) fed by a dynamic batcher over one bounded
// queue, plus the metrics every request updates. The HTTP (http_frontend.h) and gRPC (grpc_frontend.h) front ends
// translate the KServe v2 / Open Inference protocol into calls on this class and nothing else, so both behave alike.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/tensor.h"

namespace hone::serve {

// What went wrong, as both protocols classify it. Each maps to one HTTP status and one gRPC code.
enum class ErrorKind {
  InvalidArgument,  // 400 / INVALID_ARGUMENT: malformed body, unknown input name, wrong dtype or shape, empty batch
  NotFound,         // 404 / NOT_FOUND: unknown model or version
  TooLarge,         // 413 / RESOURCE_EXHAUSTED: body or tensor over the size limit
  Unavailable,      // 503 / UNAVAILABLE: queue full, model not ready, server draining, request timed out in the queue
  Internal,         // 500 / INTERNAL: the model failed to run (a bug or a model Hone cannot run)
};
int http_status(ErrorKind kind);
std::string_view error_kind_name(ErrorKind kind);  // "invalid_argument", ... (metrics labels)

class ServeError : public std::runtime_error {
 public:
  ServeError(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// KServe v2 tensor datatypes: BOOL UINT8 UINT16 UINT32 UINT64 INT8 INT16 INT32 INT64 FP16 BF16 FP32 FP64 BYTES.
// Throws ServeError(InvalidArgument) for a dtype or name with no counterpart.
std::string kserve_datatype(DType dtype);
DType dtype_from_kserve(std::string_view datatype);

struct NamedTensor {
  std::string name;
  Tensor tensor;  // owns its data
};

struct InferRequest {
  std::string model;
  std::string version;  // "" = the newest ready version
  std::string id;       // echoed in the response
  std::vector<NamedTensor> inputs;
  std::vector<std::string> outputs;  // the outputs wanted, by name; empty = all, in the model's order
  int64_t timeout_us = 0;            // time allowed in the queue; 0 = the model's default (none unless configured)
  int64_t deadline_us = 0;  // how long the caller still waits for the answer (a gRPC deadline); bounds the queue
                            // time too, so nothing runs for a caller who has gone; 0 = no deadline
};

struct InferResponse {
  std::string model;
  std::string version;
  std::string id;
  std::vector<NamedTensor> outputs;
};

struct TensorMetadata {
  std::string name;
  std::string datatype;        // KServe name
  std::vector<int64_t> shape;  // -1 for a dimension that varies (the batch dimension, symbolic dims)
};

struct ModelMetadata {
  std::string name;
  std::vector<std::string> versions;  // loaded versions, ascending
  std::string platform = "onnx";
  std::vector<TensorMetadata> inputs;
  std::vector<TensorMetadata> outputs;
};

// Per model: from the server's flags, overridden by the model's config.pbtxt in a repository.
struct ModelConfig {
  int max_batch_size = 8;          // rows gathered into one run; <= 1 turns dynamic batching off
  int64_t max_queue_delay_us = 500;  // how long the first request of a batch waits for company
  int max_queue = 1024;            // requests waiting beyond this are refused (Unavailable, HTTP 503)
  // Sessions of this model running batches in parallel, and intra-op threads each. 0 = chosen at load: both 0: by
  // a measured run (resolve_parallelism); only threads given: 1 instance; only instances: cores / instances threads.
  int instances = 0;
  int threads = 0;
  int64_t default_timeout_us = 0;  // queue timeout for requests that give none; 0 = none
};

struct ServerOptions {
  ModelConfig defaults;          // what every model gets unless its config.pbtxt says otherwise
  std::string repository;        // a Triton-style folder: <name>/<version>/model.onnx [+ <name>/config.pbtxt]
  size_t max_request_bytes = 64u << 20;  // front ends refuse larger bodies with TooLarge
};

// A model version's state as the repository API reports it.
struct RepositoryEntry {
  std::string name;
  std::string version;
  std::string state;   // "READY", "UNAVAILABLE" (unloaded or failed to load)
  std::string reason;  // why not ready, "" when ready
};

class InferenceServer {
 public:
  explicit InferenceServer(ServerOptions options);
  ~InferenceServer();  // drains, then stops every instance
  InferenceServer(const InferenceServer&) = delete;
  InferenceServer& operator=(const InferenceServer&) = delete;

  const ServerOptions& options() const;

  // --model NAME=PATH: loads PATH as version "1" of NAME with the default config. Throws hone::Error naming the file.
  void add_model(const std::string& name, const std::string& onnx_path);
  // Repository API (needs options().repository): index lists every model folder and version found on disk;
  // load (re)loads a model's versions from disk (new requests go to the new instances, queued ones finish on the
  // old); unload drains and drops it. Unknown names throw ServeError(NotFound).
  std::vector<RepositoryEntry> repository_index() const;
  void load_model(const std::string& name);
  void unload_model(const std::string& name);
  void load_repository();  // loads every model in the repository (at start-up)

  bool live() const;   // the process is up (false only once destroyed)
  bool ready() const;  // not draining, and every loaded model is ready
  // Versions: "" = newest. Unknown model or version: model_ready is false, model_metadata throws NotFound.
  bool model_ready(const std::string& name, const std::string& version) const;
  ModelMetadata model_metadata(const std::string& name, const std::string& version) const;

  // Checks the request against the model (input names, dtypes, ranks and fixed dims, batch <= max_batch_size when
  // batching, no empty batch) and throws ServeError synchronously when it is wrong; otherwise queues it and calls
  // `done` exactly once, from an instance thread, with the response or the error. Never blocks on the model.
  using Result = std::variant<InferResponse, ServeError>;
  void infer_async(InferRequest request, std::function<void(Result)> done);
  // infer_async, waiting for the result; throws ServeError. A lone caller (a session idle, nothing queued, no
  // concurrent requests lately) runs the model on its own thread instead (DynamicBatcher::try_run_inline).
  InferResponse infer(InferRequest request);

  // A front end counts a request it refused before it reached the model (malformed body, over the size limit), so
  // the metrics see every request. `model` may be "" when the request named none.
  void count_rejected(const std::string& model, ErrorKind kind);
  // Prometheus text exposition (version 0.0.4): hone_requests_total{model,version,outcome},
  // hone_request_{queue,compute,total}_seconds histograms, hone_batch_size histogram, hone_inflight_requests,
  // hone_queue_length, per model.
  std::string metrics_text() const;

  // Stops accepting (infer_async throws Unavailable, ready() turns false), waits for every queued and running
  // request to finish. Idempotent.
  void drain();

 private:
  void submit(InferRequest request, std::function<void(Result)> done, bool may_run_here);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hone::serve
