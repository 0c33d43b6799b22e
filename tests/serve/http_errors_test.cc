// Every way a REST request can be wrong gets a 4xx with {"error": message naming the problem}, is counted in
// /metrics, and leaves the server answering.
#include "http_test_util.h"

namespace hone::serve::testing {
namespace {

using json = nlohmann::json;

class HttpErrors : public HttpServerTest {
 protected:
  // Checks status and message, then that the server still answers a good request.
  void expect_refused(const httplib::Result& r, int status, const std::string& fragment, const std::string& what) {
    ASSERT_TRUE(r) << what << ": no reply (" << httplib::to_string(r.error()) << ")";
    EXPECT_EQ(r->status, status) << what << ": " << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json") << what;
    json j = json_of(r);
    ASSERT_TRUE(j.is_object() && j["error"].is_string()) << what << ": " << r->body;
    EXPECT_NE(j["error"].get<std::string>().find(fragment), std::string::npos)
        << what << ": '" << j["error"].get<std::string>() << "' does not say '" << fragment << "'";
    auto live = get("/v2/health/live");
    ASSERT_TRUE(live) << "after " << what;
    EXPECT_EQ(live->status, 200) << "after " << what;
  }

  static json input(json shape, std::string datatype, json data, std::string name = "input") {
    return {{"inputs", json::array({{{"name", name}, {"shape", shape}, {"datatype", datatype}, {"data", data}}})}};
  }
  static json zeros(size_t n) { return json(std::vector<float>(n, 0.f)); }
};

TEST_F(HttpErrors, MalformedOrMistypedBodiesAre400) {
  expect_refused(post("/v2/models/cnn/infer", "{\"inputs\": [{\"name\": "), 400, "malformed JSON", "truncated JSON");
  expect_refused(post("/v2/models/cnn/infer", ""), 400, "malformed JSON", "empty body");
  expect_refused(post("/v2/models/cnn/infer", "[]"), 400, "JSON object", "an array body");
  expect_refused(post_json("/v2/models/cnn/infer", {{"inputs", 3}}), 400, "'inputs'", "inputs not an array");
  expect_refused(post_json("/v2/models/cnn/infer", input({1, 784}, "FP32", "oops")), 400, "'data' must be an array",
                 "data a string");
  json strings = zeros(784);
  strings[5] = "x";
  expect_refused(post_json("/v2/models/cnn/infer", input({1, 1, 28, 28}, "FP32", strings)), 400,
                 "element 5 of 'data'", "a string among floats");
  expect_refused(post_json("/v2/models/cnn/infer", input({1, 1, 28, 28}, "FP32", zeros(783))), 400,
                 "holds 783 elements but shape [1,1,28,28] needs 784", "data shorter than the shape");
  expect_refused(post_json("/v2/models/cnn/infer", input({1, 1, 28, 28}, "FLOAT", zeros(784))), 400,
                 "unknown datatype 'FLOAT'", "a datatype KServe does not name");
}

TEST_F(HttpErrors, RequestsTheModelCannotTakeAre400) {
  expect_refused(post_json("/v2/models/cnn/infer", input({1, 1, 28, 28}, "FP32", zeros(784), "image")), 400,
                 "no input named 'image'", "wrong input name");
  expect_refused(post_json("/v2/models/cnn/infer", input({1, 1, 28, 28}, "INT32", json(std::vector<int>(784, 0)))),
                 400, "must be FP32", "wrong datatype");
  expect_refused(post_json("/v2/models/cnn/infer", input({1, 1, 28, 27}, "FP32", zeros(756))), 400, "dimension 3",
                 "wrong shape");
  expect_refused(post_json("/v2/models/cnn/infer", input({1, 784}, "FP32", zeros(784))), 400, "rank", "wrong rank");
  expect_refused(post_json("/v2/models/cnn/infer", input({0, 1, 28, 28}, "FP32", json::array())), 400, "empty batch",
                 "empty batch");
  json unknown_output = input({1, 1, 28, 28}, "FP32", zeros(784));
  unknown_output["outputs"] = json::array({{{"name", "probabilities"}}});
  expect_refused(post_json("/v2/models/cnn/infer", unknown_output), 400, "probabilities", "unknown output");
}

TEST_F(HttpErrors, UnknownModelsVersionsAndRoutesAre404) {
  json good = input({1, 1, 28, 28}, "FP32", zeros(784));
  expect_refused(post_json("/v2/models/resnet/infer", good), 404, "resnet", "unknown model");
  expect_refused(post_json("/v2/models/cnn/versions/3/infer", good), 404, "'3'", "unknown version");
  expect_refused(get("/v2/models/resnet/versions/1"), 404, "resnet", "metadata of an unknown model");
  expect_refused(get("/v2/nothing/here"), 404, "no endpoint GET /v2/nothing/here", "unknown route");
  expect_refused(get("/"), 404, "no endpoint", "the root");
  expect_refused(get("/v2/models/cnn/"), 404, "no endpoint", "a trailing slash");
}

TEST_F(HttpErrors, WrongMethodsAre405) {
  auto r = get("/v2/models/cnn/infer");
  expect_refused(r, 405, "takes POST, not GET", "GET on infer");
  EXPECT_EQ(r->get_header_value("Allow"), "POST");
  expect_refused(post("/v2/health/live", "{}"), 405, "takes GET", "POST on a health check");
  expect_refused(client_->Delete("/v2/models/cnn"), 405, "not DELETE", "DELETE on metadata");
  expect_refused(client_->Put("/v2/models/cnn/infer", "{}", "application/json"), 405, "not PUT", "PUT on infer");
}

TEST_F(HttpErrors, BodiesOverTheLimitAre413) {
  std::string big(kMaxRequestBytes + 1, ' ');
  expect_refused(post("/v2/models/cnn/infer", big), 413, "limit of 1048576 bytes", "a body over the limit");
  // A body just under the limit is read (and then refused for what it is, not for its size).
  std::string under = "{\"inputs\": 1}" + std::string(kMaxRequestBytes - 100, ' ');
  expect_refused(post("/v2/models/cnn/infer", under), 400, "'inputs'", "a body under the limit");
}

TEST_F(HttpErrors, BinaryHeadersThatDoNotAddUpAre400) {
  std::string header = json{{"inputs", json::array({{{"name", "input"},
                                                     {"shape", {1, 1, 28, 28}},
                                                     {"datatype", "FP32"},
                                                     {"parameters", {{"binary_data_size", 3136}}}}})}}
                           .dump();
  std::string body = header + std::string(3136, '\0');
  auto with_length = [&](const std::string& length, const std::string& b) {
    return client_->Post("/v2/models/cnn/infer", {{"Inference-Header-Content-Length", length}}, b,
                         "application/octet-stream");
  };
  ASSERT_EQ(with_length(std::to_string(header.size()), body)->status, 200);
  expect_refused(with_length(std::to_string(body.size() + 1), body), 400, "Inference-Header-Content-Length is",
                 "header length past the body");
  expect_refused(with_length("12abc", body), 400, "must be a byte count", "header length not a number");
  expect_refused(with_length(std::to_string(header.size() - 1), body), 400, "malformed JSON",
                 "header length cutting the JSON");
  expect_refused(with_length(std::to_string(header.size()), body.substr(0, body.size() - 4)), 400,
                 "runs past the end", "binary data too short");
  expect_refused(with_length(std::to_string(header.size()), body + "tail"), 400, "add up to 3136",
                 "binary data too long");
  expect_refused(post("/v2/models/cnn/infer", body), 400, "Inference-Header-Content-Length",
                 "binary data without the header");
}

TEST_F(HttpErrors, RefusedRequestsAreCountedInMetrics) {
  post("/v2/models/cnn/infer", "not json");
  post("/v2/models/cnn/infer", "not json either");
  get("/v2/unknown");
  auto m = get("/metrics");
  ASSERT_EQ(m->status, 200);
  EXPECT_EQ(m->get_header_value("Content-Type").rfind("text/plain", 0), 0u);
  EXPECT_NE(m->body.find("hone_requests_total{model=\"cnn\",version=\"1\",outcome=\"invalid_argument\"} 2"),
            std::string::npos)
      << m->body.substr(0, 3000);
  EXPECT_NE(m->body.find("hone_requests_total{model=\"\",version=\"\",outcome=\"not_found\"} 1"), std::string::npos)
      << m->body.substr(0, 3000);
}

}  // namespace
}  // namespace hone::serve::testing
