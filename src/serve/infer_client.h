// Clients of the KServe v2 protocol, for the load generator (`hone bench --server`) and the protocol tests.
// One interface, an HTTP implementation (http_client.cc) and a gRPC one (grpc_client.cc).
#pragma once
#include <memory>
#include <string>

#include "serve/inference_server.h"

namespace hone::serve {

class InferClient {
 public:
  virtual ~InferClient() = default;
  virtual bool server_live() = 0;
  virtual bool server_ready() = 0;
  virtual ModelMetadata model_metadata(const std::string& model, const std::string& version) = 0;
  // Throws ServeError with the server's kind and message on an error reply; hone::Error on a transport failure.
  // `binary` (HTTP only) sends and asks for tensors in the binary-tensor extension instead of JSON.
  virtual InferResponse infer(const InferRequest& request, bool binary = true) = 0;
};

// url: "http://HOST:PORT" or "HOST:PORT". One client holds one keep-alive connection; use one per thread.
std::unique_ptr<InferClient> make_http_client(const std::string& url);
std::unique_ptr<InferClient> make_grpc_client(const std::string& url);

}  // namespace hone::serve
