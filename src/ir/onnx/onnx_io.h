// ONNX files in and out. Import checks everything it reads (sizes before allocation, external data paths, types)
// and throws hone::Error naming the file, node and tensor involved.
#pragma once
#include <string>

#include "ir/graph.h"

namespace onnx {
class TensorProto;
class TypeProto;
class GraphProto;
}  // namespace onnx

namespace hone {

Model load_onnx_file(const std::string& path);
// `base_dir` resolves external data; "" refuses external data. `label` names the source in errors.
Model load_onnx_bytes(const void* data, size_t size, const std::string& base_dir, const std::string& label);

std::string save_onnx_bytes(const Model& model);
// Writes `path`; refuses to overwrite an existing file unless `overwrite`.
void save_onnx_file(const Model& model, const std::string& path, bool overwrite = false);

// Used by the importer and by tools that read serialized TensorProto files (conformance data).
Tensor tensor_from_proto(const onnx::TensorProto& proto, const std::string& base_dir);
void tensor_to_proto(const Tensor& t, onnx::TensorProto* proto);
TypeInfo type_from_proto(const onnx::TypeProto& proto);
Tensor load_tensor_pb_file(const std::string& path);

}  // namespace hone
