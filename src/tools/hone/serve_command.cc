// `hone serve`: models behind the KServe v2 / Open Inference protocol (HTTP/REST, and gRPC), with dynamic batching,
// a bounded queue, Prometheus metrics and a graceful drain on SIGTERM / SIGINT. The work is libhone's serve layer
// (src/serve/); this file turns flags into its options, prints what it serves, and waits for a signal.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <thread>

#include "serve/grpc_frontend.h"
#include "serve/http_frontend.h"
#include "serve/inference_server.h"
#include "tools/hone/commands.h"

namespace hone::cli {
namespace {

struct ServeOptions {
  std::vector<std::string> models;  // NAME=PATH.onnx
  std::string repository;
  std::string host = "0.0.0.0";
  int http_port = 8000;
  int grpc_port = 8001;
  bool no_grpc = false;
  int http_threads = 0;
  serve::ModelConfig config;
  size_t max_request_bytes = 64u << 20;
};

// A model name travels in URLs (/v2/models/NAME/infer) and metric labels: keep it to characters that need no escaping.
std::string check_model_assignment(const std::string& arg) {
  size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == arg.size())
    return "'" + arg + "' is not NAME=PATH.onnx";
  std::string name = arg.substr(0, eq);
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.')
      return "model name '" + name + "' may hold only letters, digits, '_', '-' and '.' (it is part of URLs)";
  if (name == "." || name == "..") return "model name '" + name + "' is not allowed";
  return "";
}

std::string tensor_list(const std::vector<serve::TensorMetadata>& ts) {
  std::string s;
  for (const auto& t : ts) {
    std::string shape;
    for (int64_t d : t.shape) shape += (shape.empty() ? "" : ",") + (d < 0 ? std::string("-1") : std::to_string(d));
    s += fmt::format("{}{} {} [{}]", s.empty() ? "" : ", ", t.name, t.datatype, shape);
  }
  return s;
}

void print_model(const serve::InferenceServer& server, const std::string& name, const std::string& source) {
  serve::ModelMetadata m = server.model_metadata(name, "");
  fmt::print("model '{}' version {} ready{}: inputs {}; outputs {}\n", name,
             m.versions.empty() ? "?" : m.versions.back(), source.empty() ? "" : " (" + source + ")",
             tensor_list(m.inputs), tensor_list(m.outputs));
}

const char* signal_name(int sig) { return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "a signal"; }

int serve_models(const ServeOptions& o) {
  // Signals go to no thread but the one waiting for them (sigwait below): block them before any thread starts, so
  // every server thread inherits the mask, and no work ever happens inside a signal handler.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  serve::ServerOptions options;
  options.defaults = o.config;
  options.repository = o.repository;
  options.max_request_bytes = o.max_request_bytes;
  serve::InferenceServer server(options);
  if (!o.repository.empty()) {
    server.load_repository();
    int ready = 0;
    for (const serve::RepositoryEntry& e : server.repository_index()) {
      if (e.state == "READY") {
        ++ready;
        print_model(server, e.name, o.repository + "/" + e.name);
      } else {
        fmt::print("model '{}' version {} {}{}\n", e.name, e.version, e.state, e.reason.empty() ? "" : ": " + e.reason);
      }
    }
    if (ready == 0) fmt::print("no model of {} is ready (load one with POST /v2/repository/models/NAME/load)\n",
                               o.repository);
  }
  for (const std::string& arg : o.models) {
    size_t eq = arg.find('=');
    std::string name = arg.substr(0, eq), path = arg.substr(eq + 1);
    server.add_model(name, path);
    print_model(server, name, path);
  }

  serve::HttpOptions http_options;
  http_options.host = o.host;
  http_options.port = o.http_port;
  http_options.threads = o.http_threads;
  serve::HttpFrontend http(server, http_options);
  fmt::print("HTTP: http://{}:{} (KServe v2 REST: /v2/models/NAME/infer; Prometheus metrics: /metrics)\n", o.host,
             http.port());
  std::unique_ptr<serve::GrpcFrontend> grpc;
  if (!o.no_grpc) {
    grpc = std::make_unique<serve::GrpcFrontend>(server, serve::GrpcOptions{.host = o.host, .port = o.grpc_port});
    fmt::print("gRPC: {}:{} (KServe v2 inference.GRPCInferenceService: ModelInfer, metadata, health, repository)\n",
               o.host, grpc->port());
  }
  fmt::print("serving; SIGTERM or Ctrl-C drains and exits\n");
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  fmt::print("{}: draining (no new connections; requests in flight finish)\n", signal_name(sig));
  std::fflush(stdout);
  // A second signal while draining gives up on it.
  std::thread([stop_signals] {
    int again = 0;
    sigwait(&stop_signals, &again);
    fmt::print(stderr, "hone serve: {} again: exiting without draining\n", signal_name(again));
    _exit(1);
  }).detach();
  // Both listeners close at once; each front end returns when the calls it had accepted are answered.
  std::thread grpc_stopping([&grpc] {
    if (grpc) grpc->stop();
  });
  http.stop();     // the listener closes; each connection finishes the request it is serving
  grpc_stopping.join();
  server.drain();  // whatever is still queued runs
  fmt::print("drained; exiting\n");
  std::fflush(stdout);
  return 0;
}

}  // namespace

Command add_serve_command(CLI::App& root) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* app = root.add_subcommand(
      "serve", "Serve models over the KServe v2 / Open Inference protocol (HTTP/REST and gRPC) with dynamic batching");
  auto* model = app->add_option("--model", o->models, "Serve an ONNX file as model NAME, version 1 (repeatable)")
                    ->type_name("NAME=PATH.onnx")
                    ->check(check_model_assignment);
  auto* repo = app->add_option("--model-repository", o->repository,
                               "Serve a Triton-style folder: NAME/VERSION/model.onnx [+ NAME/config.pbtxt]")
                   ->type_name("DIR")
                   ->check(CLI::ExistingDirectory);
  model->excludes(repo);
  app->add_option("--http-port", o->http_port, "HTTP port (default 8000; 0 picks a free one)")
      ->type_name("PORT")
      ->check(CLI::Range(0, 65535));
  app->add_option("--grpc-port", o->grpc_port, "gRPC port (default 8001; 0 picks a free one)")
      ->type_name("PORT")
      ->check(CLI::Range(0, 65535));
  app->add_flag("--no-grpc", o->no_grpc, "Serve HTTP only");
  app->add_option("--host", o->host, "Address to listen on (default 0.0.0.0: every interface)")->type_name("ADDR");
  app->add_option("--threads", o->config.threads,
                  "Intra-op threads per model instance (default: measured at load, see --instances; with --instances: "
                  "cores / instances, at least 1)")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber);
  app->add_option("--instances", o->config.instances, "Instances (sessions) per model running batches in parallel "
                                                      "(default: measured at load: a model whose batch-1 run takes "
                                                      "under 1 ms on one thread gets one single-threaded instance "
                                                      "per core, others one instance on every core; with --threads: "
                                                      "1)")
      ->type_name("K")
      ->check(CLI::Range(1, 256));
  app->add_option("--max-batch-size", o->config.max_batch_size,
                  "Rows the dynamic batcher gathers into one run (default 8; 1 turns batching off)")
      ->type_name("B")
      ->check(CLI::Range(1, 1 << 16));
  app->add_option("--max-queue-delay-us", o->config.max_queue_delay_us,
                  "How long the first request of a batch waits for company, in microseconds (default 500)")
      ->type_name("U")
      ->check(CLI::Range(int64_t{0}, int64_t{60'000'000}));
  app->add_option("--max-queue", o->config.max_queue,
                  "Requests that may wait per model; more are refused with HTTP 503 (default 1024)")
      ->type_name("N")
      ->check(CLI::Range(1, 1 << 24));
  app->add_option("--timeout-us", o->config.default_timeout_us,
                  "Longest a request may wait in the queue before it is refused with 503, in microseconds "
                  "(default 0: no limit; a request's own \"timeout\" parameter overrides it)")
      ->type_name("T")
      ->check(CLI::NonNegativeNumber);
  app->add_option("--max-request-bytes", o->max_request_bytes,
                  "Largest request body accepted; larger ones get HTTP 413 (default 67108864)")
      ->type_name("N")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 34));
  app->add_option("--http-threads", o->http_threads,
                  "HTTP connection threads; each keep-alive connection holds one (default 160)")
      ->type_name("N")
      ->check(CLI::Range(0, 4096));
  app->parse_complete_callback([o] {
    if (o->models.empty() && o->repository.empty())
      throw CLI::ValidationError("hone serve", "give the models to serve: --model NAME=PATH.onnx or "
                                               "--model-repository DIR");
  });
  app->footer(
      "Endpoints (KServe v2): GET /v2/health/live, /v2/health/ready, /v2, /v2/models/NAME[/versions/V][/ready]; POST "
      "/v2/models/NAME[/versions/V]/infer with JSON or binary tensors (Inference-Header-Content-Length); POST "
      "/v2/repository/index, /v2/repository/models/NAME/load|unload; GET /metrics (Prometheus). gRPC (--grpc-port): "
      "inference.GRPCInferenceService, the same calls (Triton's and KServe's gRPC clients work).\n"
      "Example: hone serve --model cnn=model.onnx --http-port 8000 &\n"
      "  curl -s localhost:8000/v2/models/cnn/infer -d '{\"inputs\":[{\"name\":\"input\",\"shape\":[1,4],"
      "\"datatype\":\"FP32\",\"data\":[1,2,3,4]}]}'\n"
      "SIGTERM or SIGINT drains: the listener closes, requests in flight finish, and the program exits 0.");
  return {app, [o] { return serve_models(*o); }};
}

}  // namespace hone::cli
