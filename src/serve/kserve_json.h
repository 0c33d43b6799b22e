// The KServe v2 / Open Inference protocol's REST bodies: infer requests and responses as JSON tensors ("data",
// flat or nested, row-major) or in the binary-tensor extension (a JSON header of Inference-Header-Content-Length
// bytes followed by each binary tensor's little-endian bytes, in order), plus model metadata and error bodies.
// Shared by the HTTP front end (decode requests, encode responses), the HTTP client and the load generator (the
// reverse). Everything here is pure: no sockets, no server.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "serve/inference_server.h"

namespace hone::serve {

inline constexpr std::string_view kHeaderLengthField = "Inference-Header-Content-Length";

// How the outputs of one request are to be sent back: the request's "binary_data_output" parameter, overridden per
// output by "outputs"[i].parameters.binary_data.
struct OutputEncoding {
  bool binary_by_default = false;
  std::vector<std::pair<std::string, bool>> per_output;
  bool binary(const std::string& output) const;
};

struct DecodedInferRequest {
  InferRequest request;  // model and version are left empty: they come from the URL
  OutputEncoding encoding;
};

// An HTTP body and, when binary tensor data follows the JSON, the JSON part's length (for the
// Inference-Header-Content-Length header).
struct EncodedBody {
  std::string body;
  std::optional<size_t> json_length;
};

// Server side. `json_length` is the request's Inference-Header-Content-Length, when given. Throws
// ServeError(InvalidArgument) naming what is wrong: malformed JSON, a missing or mistyped field, an unknown datatype,
// data whose element count or types do not match the shape and datatype, binary data that does not add up.
DecodedInferRequest decode_infer_request(std::string_view body, std::optional<size_t> json_length);
EncodedBody encode_infer_response(const InferResponse& response, const OutputEncoding& encoding);

// Client side: the mirror images. With `binary`, every input travels as binary data and every output is asked for
// as binary data. decode_infer_response throws ServeError(Internal) on a body it cannot read.
EncodedBody encode_infer_request(const InferRequest& request, bool binary);
InferResponse decode_infer_response(std::string_view body, std::optional<size_t> json_length);

// {"name", "versions", "platform", "inputs": [{"name", "datatype", "shape"}], "outputs": [...]}
std::string encode_model_metadata(const ModelMetadata& metadata);
ModelMetadata decode_model_metadata(std::string_view body);  // throws ServeError(Internal) on a malformed body

// {"error": "..."}; the reverse returns the message, or the body itself when it is not such an object.
std::string encode_error(std::string_view message);
std::string decode_error(std::string_view body);

// `s` as a JSON string literal, quotes included.
void append_json_string(std::string& out, std::string_view s);

}  // namespace hone::serve
