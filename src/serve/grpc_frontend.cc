// inference.GRPCInferenceService over InferenceServer, on gRPC's callback API: ModelInfer hands the request to the
// server's queue and returns, and the instance that ran the batch finishes the call, so no gRPC thread waits on a
// model and any number of calls can be in flight (the server's bounded queue, not a thread count, limits them).
#include "serve/grpc_frontend.h"

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <mutex>
#include <thread>

#include "grpc_predict_v2.grpc.pb.h"
#include "serve/grpc_tensor_codec.h"

#ifndef HONE_SERVE_VERSION
#define HONE_SERVE_VERSION "0"
#endif

namespace hone::serve {
namespace {

grpc::StatusCode grpc_code(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::InvalidArgument: return grpc::StatusCode::INVALID_ARGUMENT;
    case ErrorKind::NotFound: return grpc::StatusCode::NOT_FOUND;
    case ErrorKind::TooLarge: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case ErrorKind::Unavailable: return grpc::StatusCode::UNAVAILABLE;
    case ErrorKind::Internal: return grpc::StatusCode::INTERNAL;
  }
  return grpc::StatusCode::INTERNAL;
}

grpc::Status to_status(const ServeError& e) { return {grpc_code(e.kind()), e.what()}; }

// Runs `body`, turning what it throws into the call's status: ServeError by its kind, anything else INTERNAL.
template <typename Body>
grpc::Status guarded(Body&& body) {
  try {
    body();
    return grpc::Status::OK;
  } catch (const ServeError& e) {
    return to_status(e);
  } catch (const std::exception& e) {
    return {grpc::StatusCode::INTERNAL, e.what()};
  }
}

void fill_tensor_metadata(const TensorMetadata& from, inference::ModelMetadataResponse::TensorMetadata* to) {
  to->set_name(from.name);
  to->set_datatype(from.datatype);
  for (int64_t d : from.shape) to->add_shape(d);
}

class InferenceService final : public inference::GRPCInferenceService::CallbackService {
 public:
  explicit InferenceService(InferenceServer& server) : server_(server) {}

  // Joins the threads that ran repository loads; called once the gRPC server has shut down.
  void join_workers() {
    std::lock_guard lock(workers_mutex_);
    for (auto& w : workers_) w.thread.join();
    workers_.clear();
  }

  grpc::ServerUnaryReactor* ServerLive(grpc::CallbackServerContext* ctx, const inference::ServerLiveRequest*,
                                       inference::ServerLiveResponse* response) override {
    return finish(ctx, guarded([&] { response->set_live(server_.live()); }));
  }

  grpc::ServerUnaryReactor* ServerReady(grpc::CallbackServerContext* ctx, const inference::ServerReadyRequest*,
                                        inference::ServerReadyResponse* response) override {
    return finish(ctx, guarded([&] { response->set_ready(server_.ready()); }));
  }

  grpc::ServerUnaryReactor* ModelReady(grpc::CallbackServerContext* ctx, const inference::ModelReadyRequest* request,
                                       inference::ModelReadyResponse* response) override {
    return finish(ctx, guarded([&] { response->set_ready(server_.model_ready(request->name(), request->version())); }));
  }

  grpc::ServerUnaryReactor* ServerMetadata(grpc::CallbackServerContext* ctx, const inference::ServerMetadataRequest*,
                                           inference::ServerMetadataResponse* response) override {
    return finish(ctx, guarded([&] {
                    response->set_name("hone");
                    response->set_version(HONE_SERVE_VERSION);
                    response->add_extensions("model_repository");  // as the HTTP front end says at GET /v2
                  }));
  }

  grpc::ServerUnaryReactor* ModelMetadata(grpc::CallbackServerContext* ctx,
                                          const inference::ModelMetadataRequest* request,
                                          inference::ModelMetadataResponse* response) override {
    return finish(ctx, guarded([&] {
                    const auto m = server_.model_metadata(request->name(), request->version());
                    response->set_name(m.name);
                    for (const auto& v : m.versions) response->add_versions(v);
                    response->set_platform(m.platform);
                    for (const auto& t : m.inputs) fill_tensor_metadata(t, response->add_inputs());
                    for (const auto& t : m.outputs) fill_tensor_metadata(t, response->add_outputs());
                  }));
  }

  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* ctx, const inference::ModelInferRequest* request,
                                       inference::ModelInferResponse* response) override {
    auto* reactor = ctx->DefaultReactor();
    InferRequest decoded;
    try {
      decoded = infer_request_from_grpc(*request);
    } catch (const ServeError& e) {
      server_.count_rejected(request->model_name(), e.kind());
      reactor->Finish(to_status(e));
      return reactor;
    }
    // The caller's deadline bounds the request's wait in the queue: past it nobody reads the answer.
    const auto deadline = ctx->deadline();
    if (deadline != std::chrono::system_clock::time_point::max()) {
      auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - std::chrono::system_clock::now());
      decoded.deadline_us = std::max<int64_t>(1, left.count());
    }
    // From here the server counts the outcome, whether it refuses the request at once or later.
    grpc::Status refused = guarded([&] {
      server_.infer_async(std::move(decoded), [reactor, response](InferenceServer::Result result) {
        if (auto* error = std::get_if<ServeError>(&result)) {
          reactor->Finish(to_status(*error));
          return;
        }
        reactor->Finish(guarded([&] { infer_response_to_grpc(std::get<InferResponse>(result), response); }));
      });
    });
    if (!refused.ok()) reactor->Finish(refused);
    return reactor;
  }

  grpc::ServerUnaryReactor* RepositoryIndex(grpc::CallbackServerContext* ctx,
                                            const inference::RepositoryIndexRequest* request,
                                            inference::RepositoryIndexResponse* response) override {
    return finish(ctx, guarded([&] {
                    for (const auto& entry : server_.repository_index()) {
                      if (request->ready() && entry.state != "READY") continue;
                      auto* m = response->add_models();
                      m->set_name(entry.name);
                      m->set_version(entry.version);
                      m->set_state(entry.state);
                      m->set_reason(entry.reason);
                    }
                  }));
  }

  // Loading reads and plans a model (seconds for a large one): done on a thread of its own, not one of gRPC's.
  grpc::ServerUnaryReactor* RepositoryModelLoad(grpc::CallbackServerContext* ctx,
                                                const inference::RepositoryModelLoadRequest* request,
                                                inference::RepositoryModelLoadResponse*) override {
    return in_worker(ctx, [this, name = request->model_name()] { server_.load_model(name); });
  }

  grpc::ServerUnaryReactor* RepositoryModelUnload(grpc::CallbackServerContext* ctx,
                                                  const inference::RepositoryModelUnloadRequest* request,
                                                  inference::RepositoryModelUnloadResponse*) override {
    return in_worker(ctx, [this, name = request->model_name()] { server_.unload_model(name); });
  }

 private:
  static grpc::ServerUnaryReactor* finish(grpc::CallbackServerContext* ctx, const grpc::Status& status) {
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(status);
    return reactor;
  }

  template <typename Work>
  grpc::ServerUnaryReactor* in_worker(grpc::CallbackServerContext* ctx, Work work) {
    auto* reactor = ctx->DefaultReactor();
    std::lock_guard lock(workers_mutex_);
    // A finished thread keeps its stack until joined: join those of earlier loads so a long-lived server that loads
    // and unloads models all day does not pile them up.
    std::erase_if(workers_, [](Worker& w) {
      if (!w.done->load()) return false;
      w.thread.join();
      return true;
    });
    auto done = std::make_shared<std::atomic<bool>>(false);
    workers_.push_back({std::thread([reactor, done, work = std::move(work)] {
                          grpc::Status status = guarded(work);
                          done->store(true);  // joining it from now on waits at most for Finish to return
                          reactor->Finish(status);
                        }),
                        done});
    return reactor;
  }

  InferenceServer& server_;
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::mutex workers_mutex_;
  std::vector<Worker> workers_;
};

}  // namespace

struct GrpcFrontend::Impl {
  std::unique_ptr<InferenceService> service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::once_flag stopped;
};

GrpcFrontend::GrpcFrontend(InferenceServer& server, GrpcOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->service = std::make_unique<InferenceService>(server);
  const bool ipv6 = options.host.find(':') != std::string::npos;
  const std::string address =
      ipv6 ? fmt::format("[{}]:{}", options.host, options.port) : fmt::format("{}:{}", options.host, options.port);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &impl_->port);
  builder.RegisterService(impl_->service.get());
  // Larger messages are refused by gRPC itself with RESOURCE_EXHAUSTED before they reach the service (or any
  // interceptor), so unlike the HTTP front end's 413s they do not show in hone_requests_total.
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<size_t>(server.options().max_request_bytes, INT_MAX)));
  builder.SetMaxSendMessageSize(-1);
  // gRPC binds with SO_REUSEPORT by default: a second server on a busy port would start and silently take half the
  // connections. Refuse instead, as the HTTP front end does.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  impl_->server = builder.BuildAndStart();
  if (!impl_->server || impl_->port == 0)
    fail("gRPC front end: cannot listen on {} (address in use, or not an address of this machine)", address);
}

GrpcFrontend::~GrpcFrontend() { stop(); }

int GrpcFrontend::port() const { return impl_->port; }

void GrpcFrontend::stop() {
  std::call_once(impl_->stopped, [this] {
    if (!impl_->server) return;
    impl_->server->Shutdown();  // refuses new calls, waits for the running ones (queued inferences included)
    impl_->server->Wait();
    impl_->service->join_workers();
  });
}

}  // namespace hone::serve
