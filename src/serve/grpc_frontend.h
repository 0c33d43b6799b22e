// The KServe v2 gRPC front end of `hone serve`: inference.GRPCInferenceService (grpc_predict_v2.proto, written from
// the Open Inference protocol's specification) over the same InferenceServer as the HTTP front end.
#pragma once
#include <memory>
#include <string>

#include "serve/inference_server.h"

namespace hone::serve {

struct GrpcOptions {
  std::string host = "0.0.0.0";
  int port = 8001;  // 0 = any free port (tests); GrpcFrontend::port() tells which
};

class GrpcFrontend {
 public:
  GrpcFrontend(InferenceServer& server, GrpcOptions options);  // throws hone::Error when the port cannot be bound
  ~GrpcFrontend();                                               // stop()
  int port() const;
  void stop();  // stops accepting; in-flight calls finish

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hone::serve
