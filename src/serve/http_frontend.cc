// The KServe v2 REST front end on cpp-httplib 0.11. Every path is routed here by hand (one catch-all handler per
// method, then string comparisons) rather than by one std::regex per endpoint, which lets unknown paths answer 404
// and known paths with the wrong method 405, each as {"error": ...}. Infer handlers block on InferenceServer::infer
// from cpp-httplib's worker threads; a keep-alive connection holds one worker for its lifetime, so the pool is
// sized for 128 of them.
#include "serve/http_frontend.h"

#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <httplib.h>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string_view>
#include <thread>

#include "serve/kserve_json.h"

#ifndef HONE_SERVE_VERSION
#define HONE_SERVE_VERSION "unknown"
#endif

namespace hone::serve {
namespace {

constexpr int kDefaultThreads = 160;   // 128 keep-alive clients and room for health probes and metrics scrapes
constexpr int kListenBacklog = 1024;   // cpp-httplib listens with a backlog of 5, too few for a burst of connects
constexpr const char* kJson = "application/json";

// cpp-httplib keeps the listening socket to itself; Linux lets a second listen() on it change the backlog.
class WideBacklogServer : public httplib::Server {
 public:
  void widen_backlog(int backlog) {
    auto sock = svr_sock_.load();
    if (sock != INVALID_SOCKET) ::listen(sock, backlog);
  }
};

enum class Endpoint {
  None, Live, Ready, ServerMetadata, ModelMetadata, ModelReady, Infer, RepositoryIndex, RepositoryLoad,
  RepositoryUnload, Metrics,
};

struct Route {
  Endpoint endpoint = Endpoint::None;
  std::string model, version;
  bool post = false;  // the method the endpoint answers: POST, else GET (and HEAD)
};

// "/v2/models/m/versions/3/infer" -> Infer of m version 3. Empty segments (a trailing '/', "//") match nothing.
Route parse_route(std::string_view path) {
  Route r;
  std::vector<std::string_view> seg;
  if (path.empty() || path.front() != '/') return r;
  size_t at = 1;
  while (at <= path.size()) {
    size_t next = path.find('/', at);
    if (next == std::string_view::npos) next = path.size();
    seg.push_back(path.substr(at, next - at));
    at = next + 1;
  }
  for (auto s : seg)
    if (s.empty()) return r;
  auto is = [&](size_t i, std::string_view s) { return seg.size() > i && seg[i] == s; };
  if (seg.size() == 1 && is(0, "metrics")) r.endpoint = Endpoint::Metrics;
  if (!is(0, "v2")) return r;
  if (seg.size() == 1) {
    r.endpoint = Endpoint::ServerMetadata;
  } else if (seg.size() == 3 && is(1, "health")) {
    if (is(2, "live")) r.endpoint = Endpoint::Live;
    if (is(2, "ready")) r.endpoint = Endpoint::Ready;
  } else if (seg.size() == 3 && is(1, "repository") && is(2, "index")) {
    r.endpoint = Endpoint::RepositoryIndex;
    r.post = true;
  } else if (seg.size() == 5 && is(1, "repository") && is(2, "models")) {
    r.model = seg[3];
    r.post = true;
    if (is(4, "load")) r.endpoint = Endpoint::RepositoryLoad;
    if (is(4, "unload")) r.endpoint = Endpoint::RepositoryUnload;
  } else if (seg.size() >= 3 && is(1, "models")) {
    r.model = seg[2];
    size_t rest = 3;
    if (is(3, "versions")) {
      if (seg.size() < 5) return r;
      r.version = seg[4];
      rest = 5;
    }
    if (seg.size() == rest) r.endpoint = Endpoint::ModelMetadata;
    if (seg.size() == rest + 1 && is(rest, "ready")) r.endpoint = Endpoint::ModelReady;
    if (seg.size() == rest + 1 && is(rest, "infer")) {
      r.endpoint = Endpoint::Infer;
      r.post = true;
    }
  }
  return r;
}

void reply_json(httplib::Response& res, int status, std::string body) {
  res.status = status;
  res.body = std::move(body);
  res.set_header("Content-Type", kJson);
}

void reply_error(httplib::Response& res, int status, std::string_view message) {
  reply_json(res, status, encode_error(message));
}

}  // namespace

struct HttpFrontend::Impl {
  InferenceServer& server;
  HttpOptions options;
  WideBacklogServer http;
  std::thread listener;
  std::atomic<bool> listener_returned{false};
  std::once_flag stop_once;
  int port = 0;

  Impl(InferenceServer& s, HttpOptions o) : server(s), options(std::move(o)) {}

  void handle(const httplib::Request& req, httplib::Response& res);
  // The server counts a name it does not know under "", so a name from a URL opens no new metrics series.
  void count_rejected(const std::string& model, ErrorKind kind) { server.count_rejected(model, kind); }
  void refuse(httplib::Response& res, const std::string& model, ErrorKind kind, std::string_view message);
  void infer(const Route& route, const httplib::Request& req, httplib::Response& res);
  void repository(const Route& route, const httplib::Request& req, httplib::Response& res);
  void server_metadata(httplib::Response& res);
};

void HttpFrontend::Impl::refuse(httplib::Response& res, const std::string& model, ErrorKind kind,
                                std::string_view message) {
  count_rejected(model, kind);
  reply_error(res, http_status(kind), message);
}

void HttpFrontend::Impl::handle(const httplib::Request& req, httplib::Response& res) {
  Route route = parse_route(req.path);
  if (route.endpoint == Endpoint::None) {
    refuse(res, "", ErrorKind::NotFound,
           fmt::format("no endpoint {} {} (KServe v2: /v2, /v2/health/{{live,ready}}, /v2/models/NAME[/versions/V]"
                       "[/ready|/infer], /v2/repository/..., /metrics)",
                       req.method, req.path));
    return;
  }
  bool is_get = req.method == "GET" || req.method == "HEAD";
  if (route.post ? req.method != "POST" : !is_get) {
    res.set_header("Allow", route.post ? "POST" : "GET, HEAD");
    count_rejected(route.model, ErrorKind::InvalidArgument);
    reply_error(res, 405, fmt::format("{} takes {}, not {}", req.path, route.post ? "POST" : "GET", req.method));
    return;
  }
  try {
    switch (route.endpoint) {
      case Endpoint::Live: {
        bool live = server.live();
        reply_json(res, live ? 200 : 400, fmt::format("{{\"live\":{}}}", live));
        return;
      }
      case Endpoint::Ready: {
        bool ready = server.ready();
        reply_json(res, ready ? 200 : 400, fmt::format("{{\"ready\":{}}}", ready));
        return;
      }
      case Endpoint::ServerMetadata: server_metadata(res); return;
      case Endpoint::ModelMetadata:
        reply_json(res, 200, encode_model_metadata(server.model_metadata(route.model, route.version)));
        return;
      case Endpoint::ModelReady: {
        bool ready = server.model_ready(route.model, route.version);
        std::string body = "{\"name\":";
        append_json_string(body, route.model);
        body += fmt::format(",\"ready\":{}}}", ready);
        reply_json(res, ready ? 200 : 400, std::move(body));
        return;
      }
      case Endpoint::Infer: infer(route, req, res); return;
      case Endpoint::RepositoryIndex: case Endpoint::RepositoryLoad: case Endpoint::RepositoryUnload:
        repository(route, req, res);
        return;
      case Endpoint::Metrics:
        res.status = 200;
        res.body = server.metrics_text();
        res.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        return;
      case Endpoint::None: return;
    }
  } catch (const ServeError& e) {
    reply_error(res, http_status(e.kind()), e.what());
  } catch (const std::exception& e) {
    reply_error(res, 500, e.what());
  }
}

void HttpFrontend::Impl::server_metadata(httplib::Response& res) {
  nlohmann::json j = {{"name", "hone"},
                      {"version", HONE_SERVE_VERSION},
                      {"extensions", {"binary_tensor_data", "model_repository"}}};
  reply_json(res, 200, j.dump());
}

void HttpFrontend::Impl::infer(const Route& route, const httplib::Request& req, httplib::Response& res) {
  std::optional<size_t> json_length;
  if (req.has_header(std::string(kHeaderLengthField))) {
    std::string v = req.get_header_value(std::string(kHeaderLengthField));
    size_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size() || v.empty())
      return refuse(res, route.model, ErrorKind::InvalidArgument,
                    fmt::format("{} must be a byte count, not '{}'", kHeaderLengthField, v));
    json_length = n;
  }
  DecodedInferRequest decoded;
  try {
    decoded = decode_infer_request(req.body, json_length);
  } catch (const ServeError& e) {
    return refuse(res, route.model, e.kind(), e.what());
  }
  decoded.request.model = route.model;
  decoded.request.version = route.version;
  InferResponse response;
  try {
    response = server.infer(std::move(decoded.request));
  } catch (const ServeError& e) {
    return reply_error(res, http_status(e.kind()), e.what());  // the server counted it
  } catch (const hone::Error& e) {
    return reply_error(res, 400, e.what());
  }
  EncodedBody body = encode_infer_response(response, decoded.encoding);
  res.status = 200;
  res.body = std::move(body.body);
  if (body.json_length) {
    res.set_header(std::string(kHeaderLengthField), std::to_string(*body.json_length));
    res.set_header("Content-Type", "application/octet-stream");
  } else {
    res.set_header("Content-Type", kJson);
  }
}

// Triton's repository extension: POST /v2/repository/index [{"ready": bool}] -> [{"name", "version", "state",
// "reason"}]; POST /v2/repository/models/NAME/load and /unload -> 200 with an empty body.
void HttpFrontend::Impl::repository(const Route& route, const httplib::Request& req, httplib::Response& res) {
  nlohmann::json body = nlohmann::json::object();
  if (!req.body.empty()) {
    body = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object())
      return reply_error(res, 400, "the repository request body must be a JSON object (or empty)");
  }
  try {
    if (route.endpoint == Endpoint::RepositoryIndex) {
      bool ready_only = false;
      if (body.contains("ready")) {
        if (!body["ready"].is_boolean()) return reply_error(res, 400, "'ready' must be true or false");
        ready_only = body["ready"].get<bool>();
      }
      nlohmann::json list = nlohmann::json::array();
      for (const RepositoryEntry& e : server.repository_index()) {
        if (ready_only && e.state != "READY") continue;
        nlohmann::json item = {{"name", e.name}, {"version", e.version}, {"state", e.state}};
        if (!e.reason.empty()) item["reason"] = e.reason;
        list.push_back(std::move(item));
      }
      return reply_json(res, 200, list.dump());
    }
    if (route.endpoint == Endpoint::RepositoryLoad)
      server.load_model(route.model);
    else
      server.unload_model(route.model);
    res.status = 200;
  } catch (const ServeError& e) {
    reply_error(res, http_status(e.kind()), e.what());
  } catch (const hone::Error& e) {
    reply_error(res, 400, e.what());
  }
}

HttpFrontend::HttpFrontend(InferenceServer& server, HttpOptions options)
    : impl_(std::make_unique<Impl>(server, std::move(options))) {
  Impl& s = *impl_;
  // cpp-httplib 0.11 writes with send(..., 0): a client that hung up would raise SIGPIPE, whose default action ends
  // the process. Ignore it (writes then fail with EPIPE) unless the program chose a handler of its own.
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) signal(SIGPIPE, SIG_IGN);
  int threads = s.options.threads > 0 ? s.options.threads : kDefaultThreads;
  s.http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.http.set_keep_alive_max_count(1000000000);
  s.http.set_tcp_nodelay(true);
  s.http.set_payload_max_length(server.options().max_request_bytes);
  // Requests without a body are answered before cpp-httplib routes them: they skip its std::regex matching, and a
  // POST with neither Content-Length nor Transfer-Encoding (curl -X POST) has an empty body (RFC 9112 6.3), which
  // cpp-httplib 0.11 would refuse with a bare 400. Requests with a body take the routes below once it is read.
  s.http.set_pre_routing_handler([&s](const httplib::Request& req, httplib::Response& res) {
    bool bodyless = !req.has_header("Transfer-Encoding") &&
                    (!req.has_header("Content-Length") || req.get_header_value("Content-Length") == "0");
    if (!bodyless) return httplib::Server::HandlerResponse::Unhandled;
    s.handle(req, res);
    return httplib::Server::HandlerResponse::Handled;
  });
  auto handler = [&s](const httplib::Request& req, httplib::Response& res) { s.handle(req, res); };
  s.http.Get(".*", handler);
  s.http.Post(".*", handler);
  s.http.Put(".*", handler);
  s.http.Patch(".*", handler);
  s.http.Delete(".*", handler);
  s.http.Options(".*", handler);
  // Replies cpp-httplib makes itself (a body over the size limit, a request line it cannot parse) get a JSON body
  // too, and count as refused requests.
  s.http.set_error_handler(httplib::Server::HandlerWithResponse([&s](const httplib::Request& req,
                                                                     httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string message;
    ErrorKind kind = ErrorKind::InvalidArgument;
    if (res.status == 413) {
      kind = ErrorKind::TooLarge;
      message = fmt::format("the request body is larger than the server's limit of {} bytes (--max-request-bytes)",
                            s.server.options().max_request_bytes);
    } else {
      message = fmt::format("{} {}: refused with HTTP status {} (a request the server could not read)", req.method,
                            req.path, res.status);
    }
    s.count_rejected(parse_route(req.path).model, kind);
    reply_error(res, res.status, message);
    return httplib::Server::HandlerResponse::Handled;
  }));

  if (s.options.port == 0) {
    s.port = s.http.bind_to_any_port(s.options.host);
  } else {
    s.port = s.http.bind_to_port(s.options.host, s.options.port) ? s.options.port : -1;
  }
  if (s.port < 0)
    fail("cannot listen for HTTP on {}:{} (port in use, or not an address of this machine)", s.options.host,
         s.options.port);
  s.http.widen_backlog(kListenBacklog);
  s.listener = std::thread([&s] {
    s.http.listen_after_bind();
    s.listener_returned = true;
  });
  // stop() does nothing to a server whose listen loop has not started yet, so wait for it.
  while (!s.http.is_running() && !s.listener_returned) std::this_thread::sleep_for(std::chrono::microseconds(100));
}

HttpFrontend::~HttpFrontend() { stop(); }

int HttpFrontend::port() const { return impl_->port; }

void HttpFrontend::stop() {
  std::call_once(impl_->stop_once, [this] {
    impl_->http.stop();
    if (impl_->listener.joinable()) impl_->listener.join();
  });
}

}  // namespace hone::serve
