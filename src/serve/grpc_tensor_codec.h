// Tensors and requests between the KServe v2 gRPC messages (grpc_predict_v2.proto) and the server's own types, both
// ways: the front end decodes requests and encodes responses, the client does the reverse. Includes the generated
// protobuf header, so only the gRPC files include this one.
#pragma once
#include <string>

#include "grpc_predict_v2.pb.h"
#include "serve/inference_server.h"

namespace hone::serve {

// One input tensor from its typed `contents` or, when `raw` is given, from its raw_input_contents entry. Checks the
// datatype, the shape (no negative dims) and that the data holds exactly one element per position (raw: the byte
// count; BYTES: 4-byte little-endian lengths that stay inside the entry) before allocating. Throws
// ServeError(InvalidArgument) naming the input.
Tensor tensor_from_grpc(const inference::ModelInferRequest::InferInputTensor& input, const std::string* raw);
Tensor tensor_from_grpc(const inference::ModelInferResponse::InferOutputTensor& output, const std::string* raw);

// The raw form of a tensor's elements: row-major, little-endian, BYTES as length-prefixed strings.
std::string raw_contents(const Tensor& tensor);
// The typed form (every datatype except FP16 and BF16, which the protocol carries raw only).
void typed_contents(const Tensor& tensor, inference::InferTensorContents* contents);

// ModelInfer request -> InferRequest: inputs typed or raw (never mixed), requested outputs, the id, and the
// "timeout" parameter (int64, microseconds, as Triton's clients send it). Throws ServeError(InvalidArgument).
InferRequest infer_request_from_grpc(const inference::ModelInferRequest& message);
// InferRequest -> ModelInfer request, inputs as raw_input_contents (what the client sends).
void infer_request_to_grpc(const InferRequest& request, inference::ModelInferRequest* message);

// InferResponse -> ModelInfer response, outputs as raw_output_contents.
void infer_response_to_grpc(const InferResponse& response, inference::ModelInferResponse* message);
// ModelInfer response -> InferResponse; accepts raw or typed outputs. Throws ServeError(Internal) for a malformed one.
InferResponse infer_response_from_grpc(const inference::ModelInferResponse& message);

}  // namespace hone::serve
