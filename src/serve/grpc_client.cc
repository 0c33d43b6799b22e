// The gRPC InferClient: one channel and one stub per client, tensors sent and read as raw contents.
#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

#include "grpc_predict_v2.grpc.pb.h"
#include "serve/grpc_tensor_codec.h"
#include "serve/infer_client.h"

namespace hone::serve {
namespace {

// The server's status back into the error kind it came from; codes a server of this protocol does not send for a
// request (the channel failed: UNAVAILABLE with no server, DEADLINE_EXCEEDED, ...) are transport failures.
ErrorKind error_kind(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT: return ErrorKind::InvalidArgument;
    case grpc::StatusCode::NOT_FOUND: return ErrorKind::NotFound;
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return ErrorKind::TooLarge;
    case grpc::StatusCode::UNAVAILABLE: return ErrorKind::Unavailable;
    default: return ErrorKind::Internal;
  }
}

class GrpcInferClient final : public InferClient {
 public:
  explicit GrpcInferClient(const std::string& target) : target_(target) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    // A channel of its own (not shared with other clients in this process): one client per load-generator thread.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    channel_ = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    stub_ = inference::GRPCInferenceService::NewStub(channel_);
  }

  bool server_live() override {
    inference::ServerLiveResponse response;
    return call([&](grpc::ClientContext* ctx) {
             return stub_->ServerLive(ctx, inference::ServerLiveRequest(), &response);
           }) && response.live();
  }

  bool server_ready() override {
    inference::ServerReadyResponse response;
    return call([&](grpc::ClientContext* ctx) {
             return stub_->ServerReady(ctx, inference::ServerReadyRequest(), &response);
           }) && response.ready();
  }

  ModelMetadata model_metadata(const std::string& model, const std::string& version) override {
    inference::ModelMetadataRequest request;
    request.set_name(model);
    request.set_version(version);
    inference::ModelMetadataResponse response;
    check("ModelMetadata", [&](grpc::ClientContext* ctx) { return stub_->ModelMetadata(ctx, request, &response); });
    ModelMetadata m;
    m.name = response.name();
    m.versions.assign(response.versions().begin(), response.versions().end());
    m.platform = response.platform();
    auto tensors = [](const auto& from, std::vector<TensorMetadata>& to) {
      for (const auto& t : from) to.push_back({t.name(), t.datatype(), {t.shape().begin(), t.shape().end()}});
    };
    tensors(response.inputs(), m.inputs);
    tensors(response.outputs(), m.outputs);
    return m;
  }

  InferResponse infer(const InferRequest& request, bool /*binary: gRPC always sends raw contents*/) override {
    inference::ModelInferRequest message;
    infer_request_to_grpc(request, &message);
    inference::ModelInferResponse response;
    check("ModelInfer", [&](grpc::ClientContext* ctx) { return stub_->ModelInfer(ctx, message, &response); });
    return infer_response_from_grpc(response);
  }

 private:
  // Health calls answer false rather than throw when the server cannot be reached or says no.
  template <typename Rpc>
  bool call(Rpc rpc) {
    grpc::ClientContext ctx;
    return rpc(&ctx).ok();
  }

  template <typename Rpc>
  void check(const char* method, Rpc rpc) {
    grpc::ClientContext ctx;
    grpc::Status status = rpc(&ctx);
    if (status.ok()) return;
    // A server that answered sets a message; a channel that never reached one fails with UNAVAILABLE and gRPC's own
    // connection message, which is a transport failure rather than the server refusing the request.
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
        channel_->GetState(false) != GRPC_CHANNEL_READY)
      fail("gRPC {} to {}: cannot reach the server: {}", method, target_, status.error_message());
    throw ServeError(error_kind(status.error_code()), status.error_message());
  }

  std::string target_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
};

}  // namespace

std::unique_ptr<InferClient> make_grpc_client(const std::string& url) {
  std::string target = url;
  for (std::string_view scheme : {"grpc://", "http://"})
    if (target.starts_with(scheme)) target.erase(0, scheme.size());
  while (!target.empty() && target.back() == '/') target.pop_back();
  if (target.empty() || target.find(':') == std::string::npos)
    fail("gRPC server address '{}' is not HOST:PORT (for example 127.0.0.1:8001)", url);
  return std::make_unique<GrpcInferClient>(target);
}

}  // namespace hone::serve
