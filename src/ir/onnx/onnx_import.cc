#include <google/protobuf/io/coded_stream.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "core/half.h"
#include "ir/onnx/onnx_io.h"

namespace hone {
namespace fs = std::filesystem;

namespace {

std::string read_file_bytes(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail("{}: is a directory, not an ONNX file", path);
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("{}: cannot open file: {}", path, std::strerror(errno));
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

DType checked_dtype(int32_t code, const std::string& what) {
  if (!dtype_is_valid(code)) fail("{}: unknown element type code {}", what, code);
  DType t = static_cast<DType>(code);
  if (t == DType::Complex64 || t == DType::Complex128) fail("{}: complex element types are not supported", what);
  return t;
}

// Unpacks `count` sub-byte elements from a packed little-endian byte stream (low bits first).
void unpack_sub_byte(DType t, const uint8_t* packed, size_t packed_size, int64_t count, uint8_t* out) {
  int bits = dtype_bits(t);
  int per_byte = 8 / bits;
  if (static_cast<int64_t>(packed_size) * per_byte < count)
    fail("packed data holds {} bytes, too few for {} {} elements", packed_size, count, dtype_name(t));
  uint8_t mask = static_cast<uint8_t>((1u << bits) - 1);
  bool sign = (t == DType::Int4 || t == DType::Int2);
  for (int64_t i = 0; i < count; ++i) {
    uint8_t v = (packed[i / per_byte] >> ((i % per_byte) * bits)) & mask;
    if (sign && (v >> (bits - 1))) v = static_cast<uint8_t>(v | ~mask);  // sign-extend
    out[i] = v;
  }
}

std::string resolve_external_path(const std::string& base_dir, const std::string& location, const std::string& tname) {
  if (base_dir.empty()) fail("tensor '{}' uses external data '{}', but the model was not loaded from a file", tname, location);
  fs::path loc(location);
  if (loc.is_absolute()) fail("tensor '{}': external data path '{}' is absolute; it must be relative to the model's folder", tname, location);
  fs::path base = fs::weakly_canonical(fs::path(base_dir));
  fs::path full = fs::weakly_canonical(base / loc);
  auto rel = full.lexically_relative(base);
  if (rel.empty() || *rel.begin() == "..")
    fail("tensor '{}': external data path '{}' points outside the model's folder {}", tname, location, base.string());
  return full.string();
}

Tensor read_external(const onnx::TensorProto& p, DType dtype, const Shape& shape, const std::string& base_dir) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : p.external_data()) {
    if (kv.key() == "location") location = kv.value();
    else if (kv.key() == "offset") offset = std::stoll(kv.value());
    else if (kv.key() == "length") length = std::stoll(kv.value());
  }
  if (location.empty()) fail("tensor '{}' is marked external but names no location", p.name());
  std::string path = resolve_external_path(base_dir, location, p.name());
  std::error_code ec;
  auto file_size = static_cast<int64_t>(fs::file_size(path, ec));
  if (ec) fail("tensor '{}': cannot read external data file '{}': {}", p.name(), path, ec.message());
  int64_t numel = shape_numel(shape);
  int64_t want = is_sub_byte(dtype) ? (numel * dtype_bits(dtype) + 7) / 8 : numel * static_cast<int64_t>(dtype_size(dtype));
  if (length >= 0 && length != want)
    fail("tensor '{}': external data length {} does not match its shape {} ({} bytes)", p.name(), length, shape_str(shape), want);
  if (offset < 0 || offset + want > file_size)
    fail("tensor '{}': external data [{}, {}) lies past the end of '{}' ({} bytes)", p.name(), offset, offset + want, path, file_size);
  std::ifstream f(path, std::ios::binary);
  std::string buf(static_cast<size_t>(want), '\0');
  f.seekg(offset);
  f.read(buf.data(), want);
  if (!f) fail("tensor '{}': short read from '{}'", p.name(), path);
  Tensor t(dtype, shape);
  if (is_sub_byte(dtype)) unpack_sub_byte(dtype, reinterpret_cast<const uint8_t*>(buf.data()), buf.size(), numel, t.data<uint8_t>());
  else std::memcpy(t.raw(), buf.data(), buf.size());
  return t;
}

template <typename Src, typename Dst>
void copy_typed(const google::protobuf::RepeatedField<Src>& src, Tensor& t, const std::string& name) {
  if (static_cast<int64_t>(src.size()) != t.numel())
    fail("tensor '{}' declares {} elements but stores {}", name, t.numel(), src.size());
  Dst* d = t.data<Dst>();
  for (int i = 0; i < src.size(); ++i) d[i] = static_cast<Dst>(src.Get(i));
}

}  // namespace

Tensor tensor_from_proto(const onnx::TensorProto& p, const std::string& base_dir) {
  std::string name = p.name().empty() ? "<unnamed>" : p.name();
  DType dtype = checked_dtype(p.data_type(), "tensor '" + name + "'");
  Shape shape(p.dims().begin(), p.dims().end());
  for (int64_t d : shape)
    if (d < 0) fail("tensor '{}' has a negative dimension in shape {}", name, shape_str(shape));
  int64_t numel = shape_numel(shape);  // refuses absurd sizes before any allocation
  if (p.has_segment()) fail("tensor '{}' is segmented; segmented tensors are not supported", name);
  if (p.data_location() == onnx::TensorProto::EXTERNAL) return read_external(p, dtype, shape, base_dir);

  if (dtype == DType::String) {
    if (p.string_data_size() != numel)
      fail("tensor '{}' declares {} strings but stores {}", name, numel, p.string_data_size());
    Tensor t(dtype, shape);
    for (int64_t i = 0; i < numel; ++i) t.data<std::string>()[i] = p.string_data(static_cast<int>(i));
    return t;
  }
  if (p.has_raw_data()) {
    const std::string& raw = p.raw_data();
    int64_t want = is_sub_byte(dtype) ? (numel * dtype_bits(dtype) + 7) / 8 : numel * static_cast<int64_t>(dtype_size(dtype));
    if (static_cast<int64_t>(raw.size()) != want)
      fail("tensor '{}' of shape {} and type {} needs {} bytes of raw data but has {}", name, shape_str(shape),
           dtype_name(dtype), want, raw.size());
    Tensor t(dtype, shape);
    if (is_sub_byte(dtype)) unpack_sub_byte(dtype, reinterpret_cast<const uint8_t*>(raw.data()), raw.size(), numel, t.data<uint8_t>());
    else if (!raw.empty()) std::memcpy(t.raw(), raw.data(), raw.size());
    if (dtype == DType::Bool)
      for (int64_t i = 0; i < numel; ++i) t.data<uint8_t>()[i] = t.data<uint8_t>()[i] != 0;
    return t;
  }
  // Typed fields. Count checks come before the allocation.
  auto check_count = [&](int64_t have) {
    if (have != numel) fail("tensor '{}' of shape {} declares {} elements but stores {}", name, shape_str(shape), numel, have);
  };
  switch (dtype) {
    case DType::Float32: { check_count(p.float_data_size()); Tensor t(dtype, shape); copy_typed<float, float>(p.float_data(), t, name); return t; }
    case DType::Float64: { check_count(p.double_data_size()); Tensor t(dtype, shape); copy_typed<double, double>(p.double_data(), t, name); return t; }
    case DType::Int64: { check_count(p.int64_data_size()); Tensor t(dtype, shape); copy_typed<int64_t, int64_t>(p.int64_data(), t, name); return t; }
    case DType::UInt64: { check_count(p.uint64_data_size()); Tensor t(dtype, shape); copy_typed<uint64_t, uint64_t>(p.uint64_data(), t, name); return t; }
    case DType::UInt32: { check_count(p.uint64_data_size()); Tensor t(dtype, shape); copy_typed<uint64_t, uint32_t>(p.uint64_data(), t, name); return t; }
    case DType::Int32: { check_count(p.int32_data_size()); Tensor t(dtype, shape); copy_typed<int32_t, int32_t>(p.int32_data(), t, name); return t; }
    case DType::Int16: { check_count(p.int32_data_size()); Tensor t(dtype, shape); copy_typed<int32_t, int16_t>(p.int32_data(), t, name); return t; }
    case DType::UInt16: case DType::Float16: case DType::BFloat16: {
      check_count(p.int32_data_size()); Tensor t(dtype, shape); copy_typed<int32_t, uint16_t>(p.int32_data(), t, name); return t; }
    case DType::Int8: { check_count(p.int32_data_size()); Tensor t(dtype, shape); copy_typed<int32_t, int8_t>(p.int32_data(), t, name); return t; }
    case DType::Bool: {
      check_count(p.int32_data_size()); Tensor t(dtype, shape);
      for (int64_t i = 0; i < numel; ++i) t.data<uint8_t>()[i] = p.int32_data(static_cast<int>(i)) != 0;
      return t; }
    case DType::UInt8: case DType::Float8E4M3FN: case DType::Float8E4M3FNUZ: case DType::Float8E5M2:
    case DType::Float8E5M2FNUZ: case DType::Float8E8M0: {
      check_count(p.int32_data_size()); Tensor t(dtype, shape); copy_typed<int32_t, uint8_t>(p.int32_data(), t, name); return t; }
    default:
      if (is_sub_byte(dtype)) {
        int64_t want = (numel * dtype_bits(dtype) + 7) / 8;
        if (p.int32_data_size() != want)
          fail("tensor '{}' of {} {} elements needs {} packed int32_data entries but has {}", name, numel, dtype_name(dtype), want, p.int32_data_size());
        std::vector<uint8_t> packed(static_cast<size_t>(want));
        for (int64_t i = 0; i < want; ++i) packed[static_cast<size_t>(i)] = static_cast<uint8_t>(p.int32_data(static_cast<int>(i)));
        Tensor t(dtype, shape);
        unpack_sub_byte(dtype, packed.data(), packed.size(), numel, t.data<uint8_t>());
        return t;
      }
      fail("tensor '{}': element type {} cannot be read", name, dtype_name(dtype));
  }
}

TypeInfo type_from_proto(const onnx::TypeProto& tp) {
  TypeInfo ti;
  switch (tp.value_case()) {
    case onnx::TypeProto::kTensorType: {
      ti.kind = TypeInfo::Kind::Tensor;
      int32_t code = tp.tensor_type().elem_type();
      ti.elem = dtype_is_valid(code) ? static_cast<DType>(code) : DType::Undefined;
      if (tp.tensor_type().has_shape()) {
        SymShape s;
        for (const auto& d : tp.tensor_type().shape().dim()) {
          if (d.has_dim_value()) {
            if (d.dim_value() < 0) fail("declared shape has negative dimension {}", d.dim_value());
            s.push_back(Dim(d.dim_value()));
          } else if (d.has_dim_param()) {
            s.push_back(Dim::named(d.dim_param()));
          } else {
            s.push_back(Dim());
          }
        }
        ti.shape = std::move(s);
      }
      break;
    }
    case onnx::TypeProto::kSequenceType:
      ti.kind = TypeInfo::Kind::Sequence;
      ti.inner = std::make_shared<TypeInfo>(type_from_proto(tp.sequence_type().elem_type()));
      break;
    case onnx::TypeProto::kOptionalType:
      ti.kind = TypeInfo::Kind::Optional;
      ti.inner = std::make_shared<TypeInfo>(type_from_proto(tp.optional_type().elem_type()));
      break;
    case onnx::TypeProto::kMapType:
      ti.kind = TypeInfo::Kind::Map;
      break;
    case onnx::TypeProto::kSparseTensorType:
      ti.kind = TypeInfo::Kind::Tensor;
      ti.elem = static_cast<DType>(tp.sparse_tensor_type().elem_type());
      break;
    default:
      break;
  }
  return ti;
}

namespace {

Tensor sparse_to_dense(const onnx::SparseTensorProto& sp, const std::string& base_dir) {
  Tensor values = tensor_from_proto(sp.values(), base_dir);
  Tensor indices = tensor_from_proto(sp.indices(), base_dir);
  Shape shape(sp.dims().begin(), sp.dims().end());
  Tensor dense(values.dtype(), shape);
  int64_t nnz = values.numel();
  int64_t numel = dense.numel();
  size_t esz = dtype_size(values.dtype());
  auto put = [&](int64_t k, int64_t linear) {
    if (linear < 0 || linear >= numel) fail("sparse tensor '{}': index {} is out of range", sp.values().name(), linear);
    std::memcpy(static_cast<char*>(dense.raw()) + linear * esz, static_cast<const char*>(values.raw()) + k * esz, esz);
  };
  if (indices.rank() == 1) {
    if (indices.numel() != nnz) fail("sparse tensor '{}': {} indices for {} values", sp.values().name(), indices.numel(), nnz);
    for (int64_t k = 0; k < nnz; ++k) put(k, indices.get_int(k));
  } else if (indices.rank() == 2 && indices.dim(0) == nnz && indices.dim(1) == static_cast<int64_t>(shape.size())) {
    for (int64_t k = 0; k < nnz; ++k) {
      int64_t linear = 0;
      for (size_t d = 0; d < shape.size(); ++d) linear = linear * shape[d] + indices.get_int(k * indices.dim(1) + static_cast<int64_t>(d));
      put(k, linear);
    }
  } else {
    fail("sparse tensor '{}': indices of shape {} do not fit", sp.values().name(), shape_str(indices.shape()));
  }
  return dense;
}

struct Importer {
  std::string base_dir;
  int depth = 0;

  ValueInfo value_info(const onnx::ValueInfoProto& v) {
    ValueInfo vi;
    vi.name = v.name();
    vi.doc_string = v.doc_string();
    if (v.has_type()) {
      try {
        vi.type = type_from_proto(v.type());
      } catch (const Error& e) {
        fail("value '{}': {}", v.name(), e.what());
      }
    }
    return vi;
  }

  Attribute attribute(const onnx::AttributeProto& a, const Node& node) {
    Attribute out;
    out.name = a.name();
    if (!a.ref_attr_name().empty())
      fail("{}: attribute '{}' refers to a function attribute; model-local functions are not supported", node.label(), a.name());
    using AP = onnx::AttributeProto;
    AP::AttributeType type = a.type();
    if (type == AP::UNDEFINED) {  // very old files leave the type out; infer it from the field that is set
      if (a.has_f()) type = AP::FLOAT;
      else if (a.has_i()) type = AP::INT;
      else if (a.has_s()) type = AP::STRING;
      else if (a.has_t()) type = AP::TENSOR;
      else if (a.has_g()) type = AP::GRAPH;
      else if (a.floats_size()) type = AP::FLOATS;
      else if (a.ints_size()) type = AP::INTS;
      else if (a.strings_size()) type = AP::STRINGS;
      else if (a.tensors_size()) type = AP::TENSORS;
      else if (a.graphs_size()) type = AP::GRAPHS;
    }
    switch (type) {
      case AP::FLOAT: out.type = Attribute::Type::Float; out.f = a.f(); break;
      case AP::INT: out.type = Attribute::Type::Int; out.i = a.i(); break;
      case AP::STRING: out.type = Attribute::Type::String; out.s = a.s(); break;
      case AP::TENSOR: out.type = Attribute::Type::Tensor; out.t = tensor_from_proto(a.t(), base_dir); break;
      case AP::SPARSE_TENSOR: out.type = Attribute::Type::Tensor; out.t = sparse_to_dense(a.sparse_tensor(), base_dir); break;
      case AP::GRAPH: out.type = Attribute::Type::Graph; out.g = std::make_shared<Graph>(graph(a.g(), true)); break;
      case AP::FLOATS: out.type = Attribute::Type::Floats; out.floats.assign(a.floats().begin(), a.floats().end()); break;
      case AP::INTS: out.type = Attribute::Type::Ints; out.ints.assign(a.ints().begin(), a.ints().end()); break;
      case AP::STRINGS: out.type = Attribute::Type::Strings; out.strings.assign(a.strings().begin(), a.strings().end()); break;
      case AP::TENSORS:
        out.type = Attribute::Type::Tensors;
        for (const auto& t : a.tensors()) out.tensors.push_back(tensor_from_proto(t, base_dir));
        break;
      case AP::GRAPHS:
        out.type = Attribute::Type::Graphs;
        for (const auto& g : a.graphs()) out.graphs.push_back(std::make_shared<Graph>(graph(g, true)));
        break;
      case AP::TYPE_PROTO: out.type = Attribute::Type::TypeProto; out.type_proto = type_from_proto(a.tp()); break;
      default:
        fail("{}: attribute '{}' has unsupported type {}", node.label(), a.name(), static_cast<int>(type));
    }
    return out;
  }

  Graph graph(const onnx::GraphProto& gp, bool is_subgraph) {
    if (++depth > 64) fail("subgraphs nested more than 64 deep");
    Graph g;
    g.name = gp.name();
    g.doc_string = gp.doc_string();
    for (const auto& t : gp.initializer()) {
      if (t.name().empty()) fail("graph '{}' has an initializer without a name", gp.name());
      try {
        g.initializers[t.name()] = tensor_from_proto(t, base_dir);
      } catch (const Error& e) {
        fail("initializer '{}': {}", t.name(), e.what());
      }
    }
    for (const auto& sp : gp.sparse_initializer()) g.initializers[sp.values().name()] = sparse_to_dense(sp, base_dir);
    for (const auto& v : gp.input()) {
      if (g.initializers.count(v.name())) g.overridable_initializers.push_back(v.name());
      else g.inputs.push_back(value_info(v));
    }
    for (const auto& v : gp.output()) g.outputs.push_back(value_info(v));
    for (const auto& v : gp.value_info()) g.value_info.push_back(value_info(v));
    g.nodes.reserve(static_cast<size_t>(gp.node_size()));
    for (const auto& np : gp.node()) {
      Node n;
      n.name = np.name();
      n.op_type = np.op_type();
      n.domain = np.domain() == "ai.onnx" ? "" : np.domain();
      n.doc_string = np.doc_string();
      n.inputs.assign(np.input().begin(), np.input().end());
      n.outputs.assign(np.output().begin(), np.output().end());
      for (const auto& a : np.attribute()) n.attributes.push_back(attribute(a, n));
      g.nodes.push_back(std::move(n));
    }
    (void)is_subgraph;
    --depth;
    return g;
  }
};

}  // namespace

Model load_onnx_bytes(const void* data, size_t size, const std::string& base_dir, const std::string& label) {
  try {
    if (size == 0) fail("the file is empty");
    onnx::ModelProto mp;
    google::protobuf::io::CodedInputStream stream(static_cast<const uint8_t*>(data), static_cast<int>(std::min<size_t>(size, INT32_MAX)));
    stream.SetTotalBytesLimit(INT32_MAX);
    stream.SetRecursionLimit(256);
    if (size > INT32_MAX) fail("the file is larger than 2 GiB; such models must keep their weights as external data");
    if (!mp.ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage())
      fail("not a valid ONNX model (the protobuf is truncated or malformed)");
    if (mp.ir_version() <= 0 || !mp.has_graph())
      fail("not an ONNX model (no ir_version or no graph; is this another kind of protobuf?)");
    if (mp.ir_version() < 3) fail("ONNX IR version {} is not supported (3 and newer are)", mp.ir_version());
    if (mp.functions_size() > 0) fail("the model defines {} local function(s); model-local functions are not supported", mp.functions_size());
    Model m;
    m.ir_version = mp.ir_version();
    m.producer_name = mp.producer_name();
    m.producer_version = mp.producer_version();
    m.domain = mp.domain();
    m.model_version = mp.model_version();
    m.doc_string = mp.doc_string();
    for (const auto& kv : mp.metadata_props()) m.metadata_props.emplace_back(kv.key(), kv.value());
    for (const auto& o : mp.opset_import()) m.opset_import.push_back({o.domain() == "ai.onnx" ? "" : o.domain(), o.version()});
    if (m.opset_import.empty()) m.opset_import.push_back({"", 1});  // IR 3 files may omit it; ONNX then means opset 1
    Importer imp{base_dir};
    m.graph = imp.graph(mp.graph(), false);
    verify_graph(m.graph);
    return m;
  } catch (const Error& e) {
    throw Error(label + ": " + e.what());
  }
}

Model load_onnx_file(const std::string& path) {
  std::string bytes;
  try {
    bytes = read_file_bytes(path);
  } catch (const Error&) {
    throw;
  }
  std::string base = fs::path(path).parent_path().string();
  if (base.empty()) base = ".";
  return load_onnx_bytes(bytes.data(), bytes.size(), base, path);
}

Tensor load_tensor_pb_file(const std::string& path) {
  std::string bytes = read_file_bytes(path);
  onnx::TensorProto tp;
  if (!tp.ParseFromString(bytes)) fail("{}: not a serialized TensorProto", path);
  try {
    return tensor_from_proto(tp, "");
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

}  // namespace hone
