// The KServe v2 REST front end of `hone serve` (cpp-httplib): health, server and model metadata, readiness, infer
// with JSON tensors and the binary-tensor extension, the repository extension, and GET /metrics.
#pragma once
#include <memory>
#include <string>

#include "serve/inference_server.h"

namespace hone::serve {

struct HttpOptions {
  std::string host = "0.0.0.0";
  int port = 8000;           // 0 = any free port (tests); HttpFrontend::port() tells which
  int threads = 0;           // connection threads; 0 = enough for 128 keep-alive clients
};

class HttpFrontend {
 public:
  // Binds and starts serving on background threads; throws hone::Error when the port cannot be bound.
  HttpFrontend(InferenceServer& server, HttpOptions options);
  ~HttpFrontend();  // stop()
  int port() const;
  // Stops accepting new connections and returns once the listener has stopped (in-flight handlers finish).
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hone::serve
