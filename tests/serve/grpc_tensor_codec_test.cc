// The gRPC tensor codec on its own: every KServe datatype through typed and raw contents, and every way a client can
// get a tensor wrong, each refused as InvalidArgument with a message naming the input.
#include <gtest/gtest.h>

#include <cstring>

#include "serve/grpc_tensor_codec.h"

namespace hone::serve {
namespace {

using inference::ModelInferRequest;

const DType kEveryDatatype[] = {DType::Bool,  DType::UInt8,   DType::UInt16,  DType::UInt32, DType::UInt64,
                                DType::Int8,  DType::Int16,   DType::Int32,   DType::Int64,  DType::Float16,
                                DType::BFloat16, DType::Float32, DType::Float64, DType::String};

// Values that differ per element and reach each type's sign and width (-3, 5, 127 ... for signed types).
Tensor sample(DType dtype, Shape shape) {
  Tensor t(dtype, shape);
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (dtype == DType::String) {
      t.data<std::string>()[i] = std::string(static_cast<size_t>(i % 4), static_cast<char>('a' + i)) + '\0' + "x";
    } else if (dtype == DType::Bool) {
      t.data<bool>()[i] = i % 3 == 1;
    } else {
      const bool is_signed = is_signed_integer(dtype) || is_float(dtype);
      double v = static_cast<double>(i * 37 % 101) * ((is_signed && i % 2) ? -1 : 1);
      if (is_float(dtype)) v /= 8;  // exact in FP16 and BF16 too
      t.set_double(i, v);
    }
  }
  return t;
}

void expect_equal(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.dtype(), b.dtype());
  ASSERT_EQ(a.shape(), b.shape());
  if (a.dtype() == DType::String) {
    for (int64_t i = 0; i < a.numel(); ++i) EXPECT_EQ(a.data<std::string>()[i], b.data<std::string>()[i]) << i;
  } else {
    EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0);
  }
}

ModelInferRequest::InferInputTensor header(const std::string& name, DType dtype, const Shape& shape) {
  ModelInferRequest::InferInputTensor input;
  input.set_name(name);
  input.set_datatype(kserve_datatype(dtype));
  for (int64_t d : shape) input.add_shape(d);
  return input;
}

// Runs `decode`, expecting InvalidArgument with every one of `words` in the message.
template <typename Decode>
void expect_invalid(Decode decode, std::initializer_list<std::string> words) {
  try {
    decode();
    ADD_FAILURE() << "no error";
  } catch (const ServeError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument) << e.what();
    for (const auto& w : words) EXPECT_NE(std::string(e.what()).find(w), std::string::npos) << e.what();
  }
}

TEST(GrpcTensorCodec, EveryDatatypeRoundTripsRaw) {
  for (DType dtype : kEveryDatatype) {
    SCOPED_TRACE(kserve_datatype(dtype));
    Tensor t = sample(dtype, {2, 3, 5});
    const std::string raw = raw_contents(t);
    if (dtype != DType::String) EXPECT_EQ(raw.size(), t.nbytes());
    expect_equal(tensor_from_grpc(header("x", dtype, {2, 3, 5}), &raw), t);
  }
}

TEST(GrpcTensorCodec, EveryTypedDatatypeRoundTripsTyped) {
  for (DType dtype : kEveryDatatype) {
    if (dtype == DType::Float16 || dtype == DType::BFloat16) continue;
    SCOPED_TRACE(kserve_datatype(dtype));
    Tensor t = sample(dtype, {4, 7});
    auto input = header("x", dtype, {4, 7});
    typed_contents(t, input.mutable_contents());
    expect_equal(tensor_from_grpc(input, nullptr), t);
  }
}

TEST(GrpcTensorCodec, RawBytesAreLengthPrefixedLittleEndian) {
  Tensor t(DType::String, {2});
  t.data<std::string>()[0] = "ab";
  t.data<std::string>()[1] = "";
  EXPECT_EQ(raw_contents(t), std::string("\x02\x00\x00\x00" "ab" "\x00\x00\x00\x00", 10));
}

TEST(GrpcTensorCodec, RawBoolNonzeroBytesAreTrue) {
  const std::string raw("\x00\x07\x01", 3);
  Tensor t = tensor_from_grpc(header("b", DType::Bool, {3}), &raw);
  EXPECT_FALSE(t.data<bool>()[0]);
  EXPECT_TRUE(t.data<bool>()[1]);
  EXPECT_TRUE(t.data<bool>()[2]);
}

TEST(GrpcTensorCodec, RefusesWrongSizes) {
  const std::string raw(4 * 5, '\0');  // 5 floats for a shape of 6
  expect_invalid([&] { tensor_from_grpc(header("in0", DType::Float32, {2, 3}), &raw); }, {"in0", "24", "20"});
  auto typed = header("in0", DType::Float32, {2, 3});
  for (int i = 0; i < 5; ++i) typed.mutable_contents()->add_fp32_contents(1.0f);
  expect_invalid([&] { tensor_from_grpc(typed, nullptr); }, {"in0", "fp32_contents", "5"});
  auto none = header("in0", DType::Float32, {2, 3});
  expect_invalid([&] { tensor_from_grpc(none, nullptr); }, {"in0", "0 values"});
}

TEST(GrpcTensorCodec, RefusesTheWrongTypedField) {
  auto input = header("in0", DType::Float32, {2});
  input.mutable_contents()->add_int64_contents(1);
  input.mutable_contents()->add_int64_contents(2);
  expect_invalid([&] { tensor_from_grpc(input, nullptr); }, {"in0", "int64_contents", "fp32_contents"});
  auto half = header("h", DType::Float16, {1});
  half.mutable_contents()->add_fp32_contents(1.0f);
  expect_invalid([&] { tensor_from_grpc(half, nullptr); }, {"'h'", "FP16", "raw"});
}

TEST(GrpcTensorCodec, RefusesValuesOutsideTheDatatype) {
  auto input = header("q", DType::Int8, {2});
  input.mutable_contents()->add_int_contents(5);
  input.mutable_contents()->add_int_contents(200);
  expect_invalid([&] { tensor_from_grpc(input, nullptr); }, {"'q'", "200"});
  auto u = header("u", DType::UInt16, {1});
  u.mutable_contents()->add_uint_contents(70000);
  expect_invalid([&] { tensor_from_grpc(u, nullptr); }, {"'u'", "70000"});
}

TEST(GrpcTensorCodec, RefusesBadShapesAndDatatypesBeforeAllocating) {
  const std::string raw(16, '\0');
  expect_invalid([&] { tensor_from_grpc(header("n", DType::Float32, {-1, 4}), &raw); }, {"'n'", "negative"});
  // 2^40 elements would be 4 TiB: refused by the element-count bound, not by trying to allocate them.
  expect_invalid([&] { tensor_from_grpc(header("big", DType::Float32, {1 << 20, 1 << 20}), &raw); }, {"'big'"});
  expect_invalid([&] { tensor_from_grpc(header("s", DType::String, {1 << 30}), &raw); }, {"'s'", "BYTES"});
  auto bad = header("d", DType::Float32, {4});
  bad.set_datatype("FLOAT");
  expect_invalid([&] { tensor_from_grpc(bad, &raw); }, {"'d'", "FLOAT"});
  bad.clear_datatype();
  expect_invalid([&] { tensor_from_grpc(bad, &raw); }, {"'d'", "datatype"});
}

TEST(GrpcTensorCodec, RefusesMalformedRawBytes) {
  const std::string short_length("\x05\x00\x00\x00" "abc", 7);
  expect_invalid([&] { tensor_from_grpc(header("s", DType::String, {1}), &short_length); }, {"'s'", "5 bytes"});
  const std::string trailing("\x01\x00\x00\x00" "a" "zz", 7);
  expect_invalid([&] { tensor_from_grpc(header("s", DType::String, {1}), &trailing); }, {"'s'", "left"});
}

TEST(GrpcTensorCodec, RequestChecksInputsAndParameters) {
  ModelInferRequest m;
  expect_invalid([&] { infer_request_from_grpc(m); }, {"model_name"});
  m.set_model_name("cnn");
  *m.add_inputs() = header("x", DType::Int64, {1});
  m.add_raw_input_contents(std::string(8, '\0'));
  *m.add_inputs() = header("y", DType::Int64, {1});
  expect_invalid([&] { infer_request_from_grpc(m); }, {"raw_input_contents", "1 entries", "2 inputs"});
  m.mutable_inputs(1)->set_name("x");
  m.add_raw_input_contents(std::string(8, '\0'));
  expect_invalid([&] { infer_request_from_grpc(m); }, {"'x'", "twice"});
  m.mutable_inputs(1)->set_name("y");
  m.mutable_inputs(1)->mutable_contents()->add_int64_contents(3);
  expect_invalid([&] { infer_request_from_grpc(m); }, {"'y'", "both"});
  m.mutable_inputs(1)->clear_contents();
  (*m.mutable_parameters())["timeout"].set_string_param("soon");
  expect_invalid([&] { infer_request_from_grpc(m); }, {"timeout"});
  (*m.mutable_parameters())["timeout"].set_int64_param(2500);
  (*m.mutable_parameters())["priority"].set_int64_param(1);  // unknown to Hone: ignored
  m.add_outputs()->set_name("logits");
  m.set_id("req-7");
  InferRequest r = infer_request_from_grpc(m);
  EXPECT_EQ(r.model, "cnn");
  EXPECT_EQ(r.id, "req-7");
  EXPECT_EQ(r.timeout_us, 2500);
  ASSERT_EQ(r.inputs.size(), 2u);
  EXPECT_EQ(r.inputs[1].name, "y");
  EXPECT_EQ(r.outputs, std::vector<std::string>{"logits"});
}

TEST(GrpcTensorCodec, ClientMessagesRoundTrip) {
  InferRequest request{.model = "m", .version = "2", .id = "abc", .inputs = {}, .outputs = {"out"}, .timeout_us = 40};
  request.inputs.push_back({"a", sample(DType::Float16, {3, 2})});
  request.inputs.push_back({"b", sample(DType::String, {4})});
  ModelInferRequest message;
  infer_request_to_grpc(request, &message);
  InferRequest back = infer_request_from_grpc(message);
  EXPECT_EQ(back.model, "m");
  EXPECT_EQ(back.version, "2");
  EXPECT_EQ(back.id, "abc");
  EXPECT_EQ(back.timeout_us, 40);
  EXPECT_EQ(back.outputs, request.outputs);
  ASSERT_EQ(back.inputs.size(), 2u);
  expect_equal(back.inputs[0].tensor, request.inputs[0].tensor);
  expect_equal(back.inputs[1].tensor, request.inputs[1].tensor);

  InferResponse response{.model = "m", .version = "2", .id = "abc", .outputs = {}};
  response.outputs.push_back({"out", sample(DType::Int64, {2, 2})});
  inference::ModelInferResponse reply;
  infer_response_to_grpc(response, &reply);
  EXPECT_EQ(reply.raw_output_contents_size(), 1);
  InferResponse decoded = infer_response_from_grpc(reply);
  EXPECT_EQ(decoded.id, "abc");
  ASSERT_EQ(decoded.outputs.size(), 1u);
  expect_equal(decoded.outputs[0].tensor, response.outputs[0].tensor);
  // Typed outputs (what another server may send) decode too.
  reply.clear_raw_output_contents();
  typed_contents(response.outputs[0].tensor, reply.mutable_outputs(0)->mutable_contents());
  expect_equal(infer_response_from_grpc(reply).outputs[0].tensor, response.outputs[0].tensor);
  reply.add_raw_output_contents("x");
  reply.add_raw_output_contents("y");
  EXPECT_THROW(infer_response_from_grpc(reply), Error);
}

}  // namespace
}  // namespace hone::serve
