// The KServe v2 REST client (infer_client.h) on cpp-httplib: one keep-alive connection, JSON or binary tensors.
// An error reply becomes ServeError with the kind its status stands for and the server's message.
#include <fmt/format.h>
#include <httplib.h>

#include <charconv>

#include "serve/infer_client.h"
#include "serve/kserve_json.h"

namespace hone::serve {
namespace {

ErrorKind kind_from_status(int status) {
  switch (status) {
    case 404: return ErrorKind::NotFound;
    case 413: return ErrorKind::TooLarge;
    case 503: return ErrorKind::Unavailable;
    default: return status >= 400 && status < 500 ? ErrorKind::InvalidArgument : ErrorKind::Internal;
  }
}

struct HostPort {
  std::string host;
  int port = 8000;
};

HostPort parse_url(const std::string& url) {
  std::string_view rest = url;
  if (rest.starts_with("http://")) rest.remove_prefix(7);
  if (rest.starts_with("https://")) fail("'{}': this client speaks plain HTTP only", url);
  while (rest.ends_with('/')) rest.remove_suffix(1);
  HostPort hp;
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || rest.find('/') != std::string_view::npos) {
    if (rest.empty() || rest.find('/') != std::string_view::npos)
      fail("'{}' is not a server URL (http://HOST:PORT)", url);
    hp.host = std::string(rest);
    return hp;
  }
  hp.host = std::string(rest.substr(0, colon));
  std::string_view port = rest.substr(colon + 1);
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), hp.port);
  if (ec != std::errc() || end != port.data() + port.size() || hp.port <= 0 || hp.port > 65535 || hp.host.empty())
    fail("'{}' is not a server URL (http://HOST:PORT)", url);
  return hp;
}

std::string model_path(const std::string& model, const std::string& version) {
  std::string p = "/v2/models/" + model;
  if (!version.empty()) p += "/versions/" + version;
  return p;
}

class HttpInferClient final : public InferClient {
 public:
  explicit HttpInferClient(const std::string& url) : url_(url), hp_(parse_url(url)), http_(hp_.host, hp_.port) {
    http_.set_keep_alive(true);
    http_.set_tcp_nodelay(true);
    http_.set_connection_timeout(5);
    http_.set_read_timeout(300);  // a request may wait in a long queue
    http_.set_write_timeout(60);
  }

  bool server_live() override { return get("/v2/health/live").status == 200; }
  bool server_ready() override { return get("/v2/health/ready").status == 200; }

  ModelMetadata model_metadata(const std::string& model, const std::string& version) override {
    httplib::Response res = get(model_path(model, version));
    check(res);
    return decode_model_metadata(res.body);
  }

  InferResponse infer(const InferRequest& request, bool binary) override {
    EncodedBody body = encode_infer_request(request, binary);
    httplib::Headers headers;
    if (body.json_length) headers.emplace(std::string(kHeaderLengthField), std::to_string(*body.json_length));
    auto result = http_.Post(model_path(request.model, request.version) + "/infer", headers, body.body,
                             body.json_length ? "application/octet-stream" : "application/json");
    if (!result) fail("cannot reach {}: {}", url_, httplib::to_string(result.error()));
    const httplib::Response& res = result.value();
    check(res);
    std::optional<size_t> json_length;
    if (res.has_header(std::string(kHeaderLengthField))) {
      std::string v = res.get_header_value(std::string(kHeaderLengthField));
      size_t n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || end != v.data() + v.size())
        throw ServeError(ErrorKind::Internal, fmt::format("the reply's {} is '{}'", kHeaderLengthField, v));
      json_length = n;
    }
    return decode_infer_response(res.body, json_length);
  }

 private:
  httplib::Response get(const std::string& path) {
    auto result = http_.Get(path);
    if (!result) fail("cannot reach {}: {}", url_, httplib::to_string(result.error()));
    return result.value();
  }

  static void check(const httplib::Response& res) {
    if (res.status == 200) return;
    throw ServeError(kind_from_status(res.status), decode_error(res.body));
  }

  std::string url_;
  HostPort hp_;
  httplib::Client http_;
};

}  // namespace

std::unique_ptr<InferClient> make_http_client(const std::string& url) {
  return std::make_unique<HttpInferClient>(url);
}

}  // namespace hone::serve
