// The KServe v2 REST bodies (serve/kserve_json.h): requests written by hand from the specification decode to the
// right tensors, every datatype round-trips in JSON and binary form, and every malformed body is refused with
// InvalidArgument and a message naming what is wrong.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "serve/kserve_json.h"

namespace hone::serve {
namespace {

using json = nlohmann::json;

// A tensor whose element k is start + k (for BOOL: k odd; for BYTES: "s<k>"), so every position differs.
Tensor sample(DType dtype, Shape shape, double start = -3) {
  Tensor t(dtype, std::move(shape));
  if (is_integer(dtype) && !is_signed_integer(dtype)) start = std::abs(start);
  for (int64_t k = 0; k < t.numel(); ++k) {
    if (dtype == DType::String)
      t.data<std::string>()[k] = "s" + std::to_string(k) + (k == 1 ? "\"quoted\"\n" : "");
    else if (dtype == DType::Bool)
      t.set_double(k, k % 2);
    else
      t.set_double(k, start + static_cast<double>(k));
  }
  return t;
}

void expect_same_tensor(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.dtype(), b.dtype()) << what;
  ASSERT_EQ(a.shape(), b.shape()) << what;
  for (int64_t k = 0; k < a.numel(); ++k) {
    if (a.dtype() == DType::String)
      EXPECT_EQ(a.data<std::string>()[k], b.data<std::string>()[k]) << what << " element " << k;
    else
      EXPECT_EQ(a.get_double(k), b.get_double(k)) << what << " element " << k;
  }
}

std::string error_of(const std::string& body, std::optional<size_t> json_length = std::nullopt) {
  try {
    decode_infer_request(body, json_length);
  } catch (const ServeError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << body.substr(0, 200);
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

const DType kAllDTypes[] = {DType::Bool,   DType::UInt8,   DType::UInt16,   DType::UInt32,  DType::UInt64,
                            DType::Int8,   DType::Int16,   DType::Int32,    DType::Int64,   DType::Float16,
                            DType::BFloat16, DType::Float32, DType::Float64, DType::String};

TEST(KserveJson, DecodesAJsonRequestAsTheSpecificationWritesIt) {
  std::string body = R"({"id": "42", "parameters": {"timeout": 2500},
    "inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [1, 2.5, -3, 4e-3, 5, 6]},
               {"name": "n", "shape": [2, 2], "datatype": "INT64", "data": [[1, -2], [3, 9007199254740993]]},
               {"name": "b", "shape": [3], "datatype": "BOOL", "data": [true, false, true]},
               {"name": "s", "shape": [1], "datatype": "BYTES", "data": ["h\u00e9"]}],
    "outputs": [{"name": "y", "parameters": {"binary_data": true}}, {"name": "z"}]})";
  DecodedInferRequest d = decode_infer_request(body, std::nullopt);
  EXPECT_EQ(d.request.id, "42");
  EXPECT_EQ(d.request.timeout_us, 2500);
  ASSERT_EQ(d.request.inputs.size(), 4u);
  const Tensor& x = d.request.inputs[0].tensor;
  EXPECT_EQ(d.request.inputs[0].name, "x");
  EXPECT_EQ(x.dtype(), DType::Float32);
  EXPECT_EQ(x.shape(), (Shape{2, 3}));
  const float want_x[] = {1, 2.5f, -3, 4e-3f, 5, 6};
  for (int k = 0; k < 6; ++k) EXPECT_EQ(x.data<float>()[k], want_x[k]);
  const Tensor& n = d.request.inputs[1].tensor;
  EXPECT_EQ(n.data<int64_t>()[1], -2);
  EXPECT_EQ(n.data<int64_t>()[3], 9007199254740993);  // exact beyond a double's 53 bits
  EXPECT_EQ(d.request.inputs[2].tensor.data<uint8_t>()[0], 1);
  EXPECT_EQ(d.request.inputs[2].tensor.data<uint8_t>()[1], 0);
  EXPECT_EQ(d.request.inputs[3].tensor.data<std::string>()[0], "h\xc3\xa9");
  EXPECT_EQ(d.request.outputs, (std::vector<std::string>{"y", "z"}));
  EXPECT_TRUE(d.encoding.binary("y"));
  EXPECT_FALSE(d.encoding.binary("z"));
}

TEST(KserveJson, DecodesABinaryRequestBuiltByHand) {
  std::string header =
      R"({"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","parameters":{"binary_data_size":8}},)"
      R"({"name":"s","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":11}}],)"
      R"("parameters":{"binary_data_output":true}})";
  std::string body = header;
  float xs[2] = {0.5f, -7.25f};
  body.append(reinterpret_cast<const char*>(xs), 8);
  uint32_t len = 2;
  body.append(reinterpret_cast<const char*>(&len), 4).append("ab");
  len = 1;
  body.append(reinterpret_cast<const char*>(&len), 4).append("c");
  DecodedInferRequest d = decode_infer_request(body, header.size());
  ASSERT_EQ(d.request.inputs.size(), 2u);
  EXPECT_EQ(d.request.inputs[0].tensor.data<float>()[0], 0.5f);
  EXPECT_EQ(d.request.inputs[0].tensor.data<float>()[1], -7.25f);
  EXPECT_EQ(d.request.inputs[1].tensor.data<std::string>()[0], "ab");
  EXPECT_EQ(d.request.inputs[1].tensor.data<std::string>()[1], "c");
  EXPECT_TRUE(d.encoding.binary("anything"));
}

TEST(KserveJson, EveryDatatypeRoundTripsThroughRequestsAndResponsesInBothForms) {
  for (bool binary : {false, true}) {
    for (DType dtype : kAllDTypes) {
      std::string what = kserve_datatype(dtype) + (binary ? " binary" : " json");
      InferRequest req;
      req.id = "r1";
      req.inputs.push_back({"in", sample(dtype, {2, 3})});
      req.outputs = {"out"};
      EncodedBody wire = encode_infer_request(req, binary);
      EXPECT_EQ(wire.json_length.has_value(), binary) << what;
      DecodedInferRequest d = decode_infer_request(wire.body, wire.json_length);
      ASSERT_EQ(d.request.inputs.size(), 1u) << what;
      expect_same_tensor(d.request.inputs[0].tensor, req.inputs[0].tensor, what);
      EXPECT_EQ(d.encoding.binary("out"), binary) << what;

      InferResponse resp{"m", "1", "r1", {{"out", sample(dtype, {3, 1}, 5)}}};
      EncodedBody reply = encode_infer_response(resp, d.encoding);
      EXPECT_EQ(reply.json_length.has_value(), binary) << what;
      InferResponse back = decode_infer_response(reply.body, reply.json_length);
      EXPECT_EQ(back.model, "m");
      EXPECT_EQ(back.version, "1");
      EXPECT_EQ(back.id, "r1");
      ASSERT_EQ(back.outputs.size(), 1u) << what;
      expect_same_tensor(back.outputs[0].tensor, resp.outputs[0].tensor, what);
    }
  }
}

TEST(KserveJson, ResponsesAreTheJsonTheSpecificationDescribes) {
  InferResponse resp{"cnn", "1", "",
                     {{"logits", sample(DType::Float32, {1, 3})}, {"nan", Tensor(DType::Float32, {1})}}};
  resp.outputs[1].tensor.data<float>()[0] = std::nanf("");
  OutputEncoding enc;
  enc.per_output = {{"logits", true}};
  EncodedBody reply = encode_infer_response(resp, enc);
  ASSERT_TRUE(reply.json_length);
  json j = json::parse(reply.body.substr(0, *reply.json_length));
  EXPECT_EQ(j["model_name"], "cnn");
  EXPECT_EQ(j["model_version"], "1");
  EXPECT_FALSE(j.contains("id"));  // none was given
  EXPECT_EQ(j["outputs"][0]["name"], "logits");
  EXPECT_EQ(j["outputs"][0]["datatype"], "FP32");
  EXPECT_EQ(j["outputs"][0]["shape"], json::array({1, 3}));
  EXPECT_EQ(j["outputs"][0]["parameters"]["binary_data_size"], 12);
  EXPECT_FALSE(j["outputs"][0].contains("data"));
  EXPECT_TRUE(j["outputs"][1]["data"][0].is_null());  // JSON has no NaN
  ASSERT_EQ(reply.body.size(), *reply.json_length + 12);
  float got[3];
  std::memcpy(got, reply.body.data() + *reply.json_length, 12);
  EXPECT_EQ(got[0], -3.f);
  EXPECT_EQ(got[2], -1.f);
}

TEST(KserveJson, RefusesMalformedRequestsNamingTheProblem) {
  EXPECT_TRUE(contains(error_of("{\"inputs\": [1,"), "malformed JSON"));
  EXPECT_TRUE(contains(error_of(""), "malformed JSON"));
  EXPECT_TRUE(contains(error_of("[1, 2]"), "JSON object"));
  EXPECT_TRUE(contains(error_of("{}"), "no 'inputs' array"));
  EXPECT_TRUE(contains(error_of(R"({"inputs": [{"shape": [1], "datatype": "FP32", "data": [1]}]})"),
                       "'name' is missing"));
  EXPECT_TRUE(contains(error_of(R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP33", "data": [1]}]})"),
                       "unknown datatype 'FP33'"));
  EXPECT_TRUE(contains(error_of(R"({"inputs": [{"name": "x", "shape": [1, -2], "datatype": "FP32", "data": [1]}]})"),
                       "non-negative integers"));
  EXPECT_TRUE(contains(error_of(R"({"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32",
                                    "data": [1, 2, 3]}]})"),
                       "holds 3 elements but shape [2,2] needs 4"));
  EXPECT_TRUE(contains(error_of(R"({"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1, "a"]}]})"),
                       "element 1 of 'data' is \"a\", not of datatype FP32"));
  EXPECT_TRUE(contains(error_of(R"({"inputs": [{"name": "x", "shape": [1], "datatype": "UINT8", "data": [300]}]})"),
                       "element 0 of 'data' is 300, not of datatype UINT8"));
  EXPECT_TRUE(contains(error_of(R"({"inputs": [{"name": "x", "shape": [1], "datatype": "INT32", "data": [1.5]}]})"),
                       "not of datatype INT32"));
  EXPECT_TRUE(contains(error_of(R"({"inputs": [{"name": "x", "shape": [1], "datatype": "BOOL", "data": [1]}]})"),
                       "not true or false"));
  EXPECT_TRUE(contains(error_of(R"({"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [[[1, 2]]]}]})"),
                       "nested deeper"));
  // A leaf beside a nested array counts as one element: [1, [2, 3]] holds 3, not 2.
  EXPECT_TRUE(contains(error_of(R"({"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32",
                                    "data": [1, [2, 3]]}]})"),
                       "holds 3 elements"));
  EXPECT_TRUE(contains(error_of(R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32"}]})"),
                       "neither 'data' nor a binary_data_size"));
  EXPECT_TRUE(contains(error_of(R"({"inputs": [], "parameters": []})"), "'parameters' must be a JSON object"));
  EXPECT_TRUE(contains(error_of(R"({"inputs": [], "outputs": [{"nome": "y"}]})"), "'name' is missing"));
  EXPECT_TRUE(contains(error_of(R"({"inputs": [{"name": "x", "shape": [4294967296, 4294967296], "datatype": "FP32",
                                    "data": []}]})"),
                       "input 'x'"));
}

TEST(KserveJson, RefusesBinaryDataThatDoesNotAddUp) {
  std::string header = R"({"inputs":[{"name":"x","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}]})";
  std::string eight(8, '\0');
  EXPECT_NO_THROW(decode_infer_request(header + eight, header.size()));
  EXPECT_TRUE(contains(error_of(header + eight, header.size() + 100), "Inference-Header-Content-Length is"));
  EXPECT_TRUE(contains(error_of(header + eight.substr(0, 5), header.size()), "runs past the end"));
  EXPECT_TRUE(contains(error_of(header + eight + "xx", header.size()), "add up to 8"));
  EXPECT_TRUE(contains(error_of(header + eight, std::nullopt), "needs an Inference-Header-Content-Length header"));
  EXPECT_TRUE(contains(error_of(header, std::nullopt), "no Inference-Header-Content-Length"));
  std::string wrong = R"({"inputs":[{"name":"x","shape":[3],"datatype":"FP32","parameters":{"binary_data_size":8}}]})";
  EXPECT_TRUE(contains(error_of(wrong + eight, wrong.size()), "binary_data_size is 8 bytes but FP32 [3] takes 12"));
  std::string both =
      R"({"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1,2],"parameters":{"binary_data_size":8}}]})";
  EXPECT_TRUE(contains(error_of(both + eight, both.size()), "both 'data' and a binary_data_size"));
  std::string strings =
      R"({"inputs":[{"name":"s","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":6}}]})";
  std::string claim("\x09\x00\x00\x00xy", 6);  // says 9 bytes, has 2
  EXPECT_TRUE(contains(error_of(strings + claim, strings.size()), "claims 9 bytes"));
  // A shape of billions of strings with a few bytes of data is refused before anything is allocated for it.
  std::string huge =
      R"({"inputs":[{"name":"s","shape":[17179869184],"datatype":"BYTES","parameters":{"binary_data_size":6}}]})";
  EXPECT_TRUE(contains(error_of(huge + claim, huge.size()), "too few for 17179869184 BYTES elements"));
}

TEST(KserveJson, MetadataAndErrorsRoundTrip) {
  ModelMetadata m{"cnn", {"1", "2"}, "onnx", {{"input", "FP32", {-1, 1, 28, 28}}}, {{"logits", "FP32", {-1, 10}}}};
  std::string body = encode_model_metadata(m);
  json j = json::parse(body);
  EXPECT_EQ(j["inputs"][0]["shape"], json::array({-1, 1, 28, 28}));
  ModelMetadata back = decode_model_metadata(body);
  EXPECT_EQ(back.name, "cnn");
  EXPECT_EQ(back.versions, m.versions);
  EXPECT_EQ(back.outputs[0].shape, (std::vector<int64_t>{-1, 10}));
  EXPECT_EQ(json::parse(encode_error("bad \"x\"\n"))["error"], "bad \"x\"\n");
  EXPECT_EQ(decode_error(encode_error("no such model")), "no such model");
  EXPECT_EQ(decode_error("plain text"), "plain text");
}

}  // namespace
}  // namespace hone::serve
