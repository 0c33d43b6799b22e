#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>

#include "ir/onnx/onnx_io.h"

namespace hone {
namespace {

void type_to_proto(const TypeInfo& ti, onnx::TypeProto* tp) {
  switch (ti.kind) {
    case TypeInfo::Kind::Tensor: {
      auto* tt = tp->mutable_tensor_type();
      tt->set_elem_type(static_cast<int32_t>(ti.elem));
      if (ti.shape) {
        auto* sh = tt->mutable_shape();
        for (const Dim& d : *ti.shape) {
          auto* dp = sh->add_dim();
          if (d.known()) dp->set_dim_value(d.value);
          else if (!d.symbol.empty()) dp->set_dim_param(d.symbol);
        }
      }
      break;
    }
    case TypeInfo::Kind::Sequence:
      if (ti.inner) type_to_proto(*ti.inner, tp->mutable_sequence_type()->mutable_elem_type());
      else tp->mutable_sequence_type();
      break;
    case TypeInfo::Kind::Optional:
      if (ti.inner) type_to_proto(*ti.inner, tp->mutable_optional_type()->mutable_elem_type());
      else tp->mutable_optional_type();
      break;
    default:
      break;
  }
}

void value_info_to_proto(const ValueInfo& v, onnx::ValueInfoProto* p) {
  p->set_name(v.name);
  if (!v.doc_string.empty()) p->set_doc_string(v.doc_string);
  if (v.type.kind != TypeInfo::Kind::Unknown) type_to_proto(v.type, p->mutable_type());
}

void graph_to_proto(const Graph& g, onnx::GraphProto* gp);

void attribute_to_proto(const Attribute& a, onnx::AttributeProto* ap) {
  using AP = onnx::AttributeProto;
  ap->set_name(a.name);
  switch (a.type) {
    case Attribute::Type::Float: ap->set_type(AP::FLOAT); ap->set_f(a.f); break;
    case Attribute::Type::Int: ap->set_type(AP::INT); ap->set_i(a.i); break;
    case Attribute::Type::String: ap->set_type(AP::STRING); ap->set_s(a.s); break;
    case Attribute::Type::Tensor: ap->set_type(AP::TENSOR); tensor_to_proto(a.t, ap->mutable_t()); break;
    case Attribute::Type::Graph: ap->set_type(AP::GRAPH); graph_to_proto(*a.g, ap->mutable_g()); break;
    case Attribute::Type::Floats: ap->set_type(AP::FLOATS); for (float f : a.floats) ap->add_floats(f); break;
    case Attribute::Type::Ints: ap->set_type(AP::INTS); for (int64_t i : a.ints) ap->add_ints(i); break;
    case Attribute::Type::Strings: ap->set_type(AP::STRINGS); for (const auto& s : a.strings) ap->add_strings(s); break;
    case Attribute::Type::Tensors:
      ap->set_type(AP::TENSORS);
      for (const auto& t : a.tensors) tensor_to_proto(t, ap->add_tensors());
      break;
    case Attribute::Type::Graphs:
      ap->set_type(AP::GRAPHS);
      for (const auto& g : a.graphs) graph_to_proto(*g, ap->add_graphs());
      break;
    case Attribute::Type::TypeProto: ap->set_type(AP::TYPE_PROTO); type_to_proto(a.type_proto, ap->mutable_tp()); break;
    default: fail("attribute '{}' has no type and cannot be written", a.name);
  }
}

void graph_to_proto(const Graph& g, onnx::GraphProto* gp) {
  gp->set_name(g.name);
  if (!g.doc_string.empty()) gp->set_doc_string(g.doc_string);
  for (const auto& [name, t] : g.initializers) {
    auto* tp = gp->add_initializer();
    tensor_to_proto(t, tp);
    tp->set_name(name);
  }
  for (const ValueInfo& v : g.inputs) value_info_to_proto(v, gp->add_input());
  for (const std::string& name : g.overridable_initializers) {
    const Tensor& t = g.initializers.at(name);
    ValueInfo v{name, TypeInfo::tensor(t.dtype(), to_sym_shape(t.shape())), ""};
    value_info_to_proto(v, gp->add_input());
  }
  for (const ValueInfo& v : g.outputs) value_info_to_proto(v, gp->add_output());
  for (const ValueInfo& v : g.value_info) value_info_to_proto(v, gp->add_value_info());
  for (const Node& n : g.nodes) {
    auto* np = gp->add_node();
    np->set_name(n.name);
    np->set_op_type(n.op_type);
    if (!n.domain.empty()) np->set_domain(n.domain);
    if (!n.doc_string.empty()) np->set_doc_string(n.doc_string);
    for (const auto& i : n.inputs) np->add_input(i);
    for (const auto& o : n.outputs) np->add_output(o);
    for (const Attribute& a : n.attributes) attribute_to_proto(a, np->add_attribute());
  }
}

}  // namespace

void tensor_to_proto(const Tensor& t, onnx::TensorProto* p) {
  p->set_data_type(static_cast<int32_t>(t.dtype()));
  for (int64_t d : t.shape()) p->add_dims(d);
  if (t.dtype() == DType::String) {
    for (int64_t i = 0; i < t.numel(); ++i) p->add_string_data(t.data<std::string>()[i]);
    return;
  }
  if (is_sub_byte(t.dtype())) {  // pack, low bits first
    int bits = dtype_bits(t.dtype());
    int per_byte = 8 / bits;
    std::string packed(static_cast<size_t>((t.numel() + per_byte - 1) / per_byte), '\0');
    uint8_t mask = static_cast<uint8_t>((1u << bits) - 1);
    for (int64_t i = 0; i < t.numel(); ++i)
      packed[static_cast<size_t>(i / per_byte)] |= static_cast<char>((t.data<uint8_t>()[i] & mask) << ((i % per_byte) * bits));
    p->set_raw_data(packed);
    return;
  }
  p->set_raw_data(t.raw(), t.nbytes());
}

std::string save_onnx_bytes(const Model& m) {
  onnx::ModelProto mp;
  mp.set_ir_version(m.ir_version);
  if (!m.producer_name.empty()) mp.set_producer_name(m.producer_name);
  if (!m.producer_version.empty()) mp.set_producer_version(m.producer_version);
  if (!m.domain.empty()) mp.set_domain(m.domain);
  if (m.model_version) mp.set_model_version(m.model_version);
  if (!m.doc_string.empty()) mp.set_doc_string(m.doc_string);
  for (const auto& [k, v] : m.metadata_props) {
    auto* kv = mp.add_metadata_props();
    kv->set_key(k);
    kv->set_value(v);
  }
  for (const OperatorSetId& o : m.opset_import) {
    auto* op = mp.add_opset_import();
    op->set_domain(o.domain);
    op->set_version(o.version);
  }
  graph_to_proto(m.graph, mp.mutable_graph());
  std::string out;
  if (!mp.SerializeToString(&out)) fail("could not serialize the model (over 2 GiB?)");
  return out;
}

void save_onnx_file(const Model& m, const std::string& path, bool overwrite) {
  if (!overwrite && std::filesystem::exists(path)) fail("{}: file exists; refusing to overwrite it", path);
  std::string bytes = save_onnx_bytes(m);
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) fail("{}: cannot open for writing", tmp);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) fail("{}: write failed", tmp);
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace hone
