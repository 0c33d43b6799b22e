// The KServe v2 REST protocol end to end: a raw HTTP client, requests written from the specification, an
// InferenceServer + HttpFrontend on 127.0.0.1. Results must equal Session::run's.
#include <cstring>

#include "http_test_util.h"

namespace hone::serve::testing {
namespace {

using json = nlohmann::json;

// The CNN's logits for `x` straight from the engine: the oracle for every answer the server gives.
Tensor cnn_logits(const Tensor& x) {
  static Session session = Session::load(cnn_path(), {.threads = 1});
  return session.run({{"input", x}})[0];
}

void expect_close(const json& got, const Tensor& want, const std::string& what) {
  ASSERT_TRUE(got.is_array()) << what;
  ASSERT_EQ(static_cast<int64_t>(got.size()), want.numel()) << what;
  for (int64_t k = 0; k < want.numel(); ++k) {
    double w = want.get_double(k);
    EXPECT_NEAR(got[static_cast<size_t>(k)].get<double>(), w, 1e-4 * std::max(1.0, std::abs(w)))
        << what << " element " << k;
  }
}

json cnn_request(const Tensor& x, bool nested = false) {
  json data = json_values(x);
  if (nested) {  // [n][1][28][28], as the specification also allows
    json rows = json::array();
    for (int64_t i = 0; i < x.dim(0); ++i) {
      json image = json::array();
      for (int r = 0; r < 28; ++r) {
        json row = json::array();
        for (int c = 0; c < 28; ++c) row.push_back(data[static_cast<size_t>(i * 784 + r * 28 + c)]);
        image.push_back(row);
      }
      rows.push_back(json::array({image}));
    }
    data = rows;
  }
  return {{"id", "req-7"},
          {"inputs", json::array({{{"name", "input"}, {"shape", x.shape()}, {"datatype", "FP32"}, {"data", data}}})}};
}

using HttpProtocol = HttpServerTest;

TEST_F(HttpProtocol, HealthAndServerMetadata) {
  auto live = get("/v2/health/live");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200);
  EXPECT_EQ(json_of(live)["live"], true);
  auto ready = get("/v2/health/ready");
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(json_of(ready)["ready"], true);
  auto meta = get("/v2");
  EXPECT_EQ(meta->status, 200);
  json m = json_of(meta);
  EXPECT_EQ(m["name"], "hone");
  EXPECT_TRUE(m["version"].is_string() && !m["version"].get<std::string>().empty());
  EXPECT_NE(std::find(m["extensions"].begin(), m["extensions"].end(), "binary_tensor_data"), m["extensions"].end());
  server_->drain();  // a draining server is live but not ready
  EXPECT_EQ(get("/v2/health/ready")->status, 400);
  EXPECT_EQ(json_of(get("/v2/health/ready"))["ready"], false);
  EXPECT_EQ(get("/v2/health/live")->status, 200);
}

TEST_F(HttpProtocol, ModelMetadataAndReadiness) {
  for (std::string path : {"/v2/models/cnn", "/v2/models/cnn/versions/1"}) {
    auto r = get(path);
    ASSERT_EQ(r->status, 200) << path << ": " << r->body;
    json m = json_of(r);
    EXPECT_EQ(m["name"], "cnn");
    EXPECT_EQ(m["versions"], json::array({"1"}));
    EXPECT_EQ(m["platform"], "onnx");
    EXPECT_EQ(m["inputs"][0]["name"], "input");
    EXPECT_EQ(m["inputs"][0]["datatype"], "FP32");
    EXPECT_EQ(m["inputs"][0]["shape"], json::array({-1, 1, 28, 28}));
    EXPECT_EQ(m["outputs"][0]["name"], "logits");
    EXPECT_EQ(m["outputs"][0]["shape"], json::array({-1, 10}));
  }
  json d = json_of(get("/v2/models/dtypes"));
  EXPECT_EQ(d["inputs"][0]["datatype"], "INT64");
  EXPECT_EQ(d["inputs"][2]["datatype"], "BOOL");
  EXPECT_EQ(d["outputs"][3]["datatype"], "FP16");
  EXPECT_EQ(get("/v2/models/cnn/ready")->status, 200);
  EXPECT_EQ(json_of(get("/v2/models/cnn/ready"))["ready"], true);
  EXPECT_EQ(get("/v2/models/cnn/versions/1/ready")->status, 200);
  EXPECT_EQ(get("/v2/models/cnn/versions/2/ready")->status, 400);
  EXPECT_EQ(get("/v2/models/nope/ready")->status, 400);
  EXPECT_EQ(json_of(get("/v2/models/nope/ready"))["ready"], false);
  auto unknown = get("/v2/models/nope");
  EXPECT_EQ(unknown->status, 404);
  EXPECT_NE(json_of(unknown)["error"].get<std::string>().find("nope"), std::string::npos);
  EXPECT_EQ(get("/v2/models/cnn/versions/9")->status, 404);
}

TEST_F(HttpProtocol, InferWithJsonTensorsFlatAndNested) {
  Tensor x = images(0, 3);
  Tensor want = cnn_logits(x);
  for (bool nested : {false, true}) {
    auto r = post_json("/v2/models/cnn/infer", cnn_request(x, nested));
    ASSERT_EQ(r->status, 200) << r->body.substr(0, 300);
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
    EXPECT_FALSE(r->has_header("Inference-Header-Content-Length"));
    json j = json_of(r);
    EXPECT_EQ(j["model_name"], "cnn");
    EXPECT_EQ(j["model_version"], "1");
    EXPECT_EQ(j["id"], "req-7");
    ASSERT_EQ(j["outputs"].size(), 1u);
    EXPECT_EQ(j["outputs"][0]["name"], "logits");
    EXPECT_EQ(j["outputs"][0]["datatype"], "FP32");
    EXPECT_EQ(j["outputs"][0]["shape"], json::array({3, 10}));
    expect_close(j["outputs"][0]["data"], want, nested ? "nested" : "flat");
  }
  // The version in the path.
  auto v1 = post_json("/v2/models/cnn/versions/1/infer", cnn_request(x));
  ASSERT_EQ(v1->status, 200) << v1->body;
  expect_close(json_of(v1)["outputs"][0]["data"], want, "versions/1");
}

TEST_F(HttpProtocol, InferWithBinaryTensorsBothWays) {
  Tensor x = images(3, 2);
  Tensor want = cnn_logits(x);
  std::string header = json{{"inputs", json::array({{{"name", "input"},
                                                     {"shape", {2, 1, 28, 28}},
                                                     {"datatype", "FP32"},
                                                     {"parameters", {{"binary_data_size", x.nbytes()}}}}})},
                            {"parameters", {{"binary_data_output", true}}}}
                           .dump();
  std::string body = header + std::string(static_cast<const char*>(x.raw()), x.nbytes());
  auto r = client_->Post("/v2/models/cnn/infer", {{"Inference-Header-Content-Length", std::to_string(header.size())}},
                         body, "application/octet-stream");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body.substr(0, 300);
  ASSERT_TRUE(r->has_header("Inference-Header-Content-Length"));
  size_t json_length = std::stoul(r->get_header_value("Inference-Header-Content-Length"));
  ASSERT_LE(json_length, r->body.size());
  json j = json::parse(r->body.substr(0, json_length));
  EXPECT_EQ(j["outputs"][0]["parameters"]["binary_data_size"], 80);
  EXPECT_FALSE(j["outputs"][0].contains("data"));
  ASSERT_EQ(r->body.size() - json_length, 80u);
  Tensor got(DType::Float32, {2, 10});
  std::memcpy(got.raw(), r->body.data() + json_length, 80);
  expect_close(json_values(got), want, "binary reply");

  // JSON in, one output asked for as binary data.
  json req = cnn_request(x);
  req["outputs"] = json::array({{{"name", "logits"}, {"parameters", {{"binary_data", true}}}}});
  auto mixed = post_json("/v2/models/cnn/infer", req);
  ASSERT_EQ(mixed->status, 200) << mixed->body;
  EXPECT_EQ(mixed->body.size() - std::stoul(mixed->get_header_value("Inference-Header-Content-Length")), 80u);
}

TEST_F(HttpProtocol, EveryDatatypeOfTheDtypesModelInJsonAndBinary) {
  Tensor i64(DType::Int64, {2, 3}), i32(DType::Int32, {2, 3}), b(DType::Bool, {2, 3}), h(DType::Float16, {2, 3});
  for (int64_t k = 0; k < 6; ++k) {
    i64.data<int64_t>()[k] = (int64_t{1} << 40) * (k - 2) + k;  // beyond 32 bits
    i32.data<int32_t>()[k] = static_cast<int32_t>(k * 1000 - 2500);
    b.data<uint8_t>()[k] = k % 3 == 0;
    h.data<Float16>()[k] = Float16(0.5f * static_cast<float>(k) - 1.25f);
  }
  Session oracle = Session::load(dir_ / "dtypes.onnx", {.threads = 1});
  std::vector<Tensor> want = oracle.run({{"i64", i64}, {"i32", i32}, {"b", b}, {"h", h}});
  const char* names[] = {"i64_sum", "i32_product", "b_not", "h_sum"};
  const char* types[] = {"INT64", "INT32", "BOOL", "FP16"};

  // JSON: integers as integers, BOOL as true/false, FP16 as numbers.
  json inputs = json::array();
  std::pair<const char*, const Tensor*> ins[] = {{"i64", &i64}, {"i32", &i32}, {"b", &b}, {"h", &h}};
  for (int i = 0; i < 4; ++i) {
    json data = json::array();
    for (int64_t k = 0; k < 6; ++k) {
      const Tensor& t = *ins[i].second;
      if (t.dtype() == DType::Int64) data.push_back(t.data<int64_t>()[k]);
      else if (t.dtype() == DType::Int32) data.push_back(t.data<int32_t>()[k]);
      else if (t.dtype() == DType::Bool) data.push_back(t.data<uint8_t>()[k] != 0);
      else data.push_back(t.get_double(k));
    }
    inputs.push_back({{"name", ins[i].first}, {"shape", {2, 3}}, {"datatype", types[i]}, {"data", data}});
  }
  auto r = post_json("/v2/models/dtypes/infer", {{"inputs", inputs}});
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json_of(r);
  ASSERT_EQ(j["outputs"].size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(j["outputs"][i]["name"], names[i]);
    EXPECT_EQ(j["outputs"][i]["datatype"], types[i]);
    const json& data = j["outputs"][i]["data"];
    ASSERT_EQ(data.size(), 6u) << names[i];
    for (int64_t k = 0; k < 6; ++k) {
      if (want[i].dtype() == DType::Int64) EXPECT_EQ(data[k].get<int64_t>(), want[i].data<int64_t>()[k]);
      else if (want[i].dtype() == DType::Bool) EXPECT_EQ(data[k].get<bool>(), want[i].data<uint8_t>()[k] != 0);
      else EXPECT_EQ(data[k].get<double>(), want[i].get_double(k)) << names[i] << " " << k;
    }
  }

  // Binary: each input's raw little-endian bytes in order; every output back as binary data.
  json header_inputs = json::array();
  std::string bytes;
  for (int i = 0; i < 4; ++i) {
    const Tensor& t = *ins[i].second;
    header_inputs.push_back({{"name", ins[i].first}, {"shape", {2, 3}}, {"datatype", types[i]},
                             {"parameters", {{"binary_data_size", t.nbytes()}}}});
    bytes.append(static_cast<const char*>(t.raw()), t.nbytes());
  }
  std::string header = json{{"inputs", header_inputs}, {"parameters", {{"binary_data_output", true}}}}.dump();
  auto rb = client_->Post("/v2/models/dtypes/infer",
                          {{"Inference-Header-Content-Length", std::to_string(header.size())}}, header + bytes,
                          "application/octet-stream");
  ASSERT_EQ(rb->status, 200) << rb->body.substr(0, 300);
  size_t at = std::stoul(rb->get_header_value("Inference-Header-Content-Length"));
  json jb = json::parse(rb->body.substr(0, at));
  for (int i = 0; i < 4; ++i) {
    size_t n = jb["outputs"][i]["parameters"]["binary_data_size"].get<size_t>();
    ASSERT_EQ(n, want[i].nbytes()) << names[i];
    EXPECT_EQ(std::memcmp(rb->body.data() + at, want[i].raw(), n), 0) << names[i];
    at += n;
  }
  EXPECT_EQ(at, rb->body.size());
}

}  // namespace
}  // namespace hone::serve::testing
