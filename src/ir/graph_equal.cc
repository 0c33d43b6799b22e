#include "ir/graph_equal.h"

#include <cstring>

namespace hone {
namespace {

bool set_why(std::string* why, std::string msg) {
  if (why) *why = std::move(msg);
  return false;
}

bool types_equal(const TypeInfo& a, const TypeInfo& b) {
  if (a.kind != b.kind || a.elem != b.elem || a.shape.has_value() != b.shape.has_value()) return false;
  if (a.shape && !(*a.shape == *b.shape)) return false;
  if ((a.inner == nullptr) != (b.inner == nullptr)) return false;
  return !a.inner || types_equal(*a.inner, *b.inner);
}

bool value_infos_equal(const std::vector<ValueInfo>& a, const std::vector<ValueInfo>& b, const char* what,
                       std::string* why) {
  if (a.size() != b.size()) return set_why(why, fmt::format("{} count {} vs {}", what, a.size(), b.size()));
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name) return set_why(why, fmt::format("{} {} is '{}' vs '{}'", what, i, a[i].name, b[i].name));
    if (!types_equal(a[i].type, b[i].type))
      return set_why(why, fmt::format("{} '{}' has type {} vs {}", what, a[i].name, a[i].type.str(), b[i].type.str()));
  }
  return true;
}

bool attributes_equal(const Attribute& a, const Attribute& b, std::string* why) {
  auto diff = [&](const char* field) { return set_why(why, fmt::format("attribute '{}' differs in {}", a.name, field)); };
  if (a.name != b.name || a.type != b.type) return diff("name or type");
  if (std::memcmp(&a.f, &b.f, sizeof a.f) != 0 || a.i != b.i || a.s != b.s) return diff("value");
  if (a.floats.size() != b.floats.size() ||
      (!a.floats.empty() && std::memcmp(a.floats.data(), b.floats.data(), a.floats.size() * sizeof(float)) != 0))
    return diff("floats");
  if (a.ints != b.ints || a.strings != b.strings) return diff("ints or strings");
  if (a.t.defined() != b.t.defined() || (a.t.defined() && !tensors_bit_equal(a.t, b.t, why))) return false;
  if (a.tensors.size() != b.tensors.size()) return diff("tensors");
  for (size_t i = 0; i < a.tensors.size(); ++i)
    if (!tensors_bit_equal(a.tensors[i], b.tensors[i], why)) return false;
  if ((a.g == nullptr) != (b.g == nullptr) || (a.g && !graphs_equal(*a.g, *b.g, why))) return false;
  if (a.graphs.size() != b.graphs.size()) return diff("graphs");
  for (size_t i = 0; i < a.graphs.size(); ++i)
    if (!graphs_equal(*a.graphs[i], *b.graphs[i], why)) return false;
  if (a.type == Attribute::Type::TypeProto && !types_equal(a.type_proto, b.type_proto)) return diff("type_proto");
  return true;
}

}  // namespace

bool tensors_bit_equal(const Tensor& a, const Tensor& b, std::string* why) {
  if (a.dtype() != b.dtype()) return set_why(why, fmt::format("dtype {} vs {}", dtype_name(a.dtype()), dtype_name(b.dtype())));
  if (a.shape() != b.shape()) return set_why(why, fmt::format("shape {} vs {}", shape_str(a.shape()), shape_str(b.shape())));
  if (a.dtype() == DType::String) {
    for (int64_t i = 0; i < a.numel(); ++i)
      if (a.data<std::string>()[i] != b.data<std::string>()[i]) return set_why(why, fmt::format("string {} differs", i));
    return true;
  }
  if (a.nbytes() && std::memcmp(a.raw(), b.raw(), a.nbytes()) != 0) {
    const auto* pa = static_cast<const unsigned char*>(a.raw());
    const auto* pb = static_cast<const unsigned char*>(b.raw());
    size_t k = 0;
    while (pa[k] == pb[k]) ++k;
    return set_why(why, fmt::format("data differs at byte {}", k));
  }
  return true;
}

bool graphs_equal(const Graph& a, const Graph& b, std::string* why) {
  if (a.name != b.name) return set_why(why, fmt::format("graph name '{}' vs '{}'", a.name, b.name));
  if (!value_infos_equal(a.inputs, b.inputs, "input", why) || !value_infos_equal(a.outputs, b.outputs, "output", why) ||
      !value_infos_equal(a.value_info, b.value_info, "value_info", why))
    return false;
  if (a.overridable_initializers != b.overridable_initializers) return set_why(why, "initializers listed as inputs differ");
  if (a.initializers.size() != b.initializers.size())
    return set_why(why, fmt::format("{} vs {} initializers", a.initializers.size(), b.initializers.size()));
  for (const auto& [name, t] : a.initializers) {
    const Tensor* o = b.find_initializer(name);
    if (!o) return set_why(why, fmt::format("initializer '{}' missing", name));
    std::string w;
    if (!tensors_bit_equal(t, *o, &w)) return set_why(why, fmt::format("initializer '{}': {}", name, w));
  }
  if (a.nodes.size() != b.nodes.size()) return set_why(why, fmt::format("{} vs {} nodes", a.nodes.size(), b.nodes.size()));
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const Node& x = a.nodes[i];
    const Node& y = b.nodes[i];
    if (x.name != y.name || x.op_type != y.op_type || x.domain != y.domain || x.inputs != y.inputs || x.outputs != y.outputs)
      return set_why(why, fmt::format("node {} ({}) differs in name, op, inputs or outputs", i, x.label()));
    if (x.attributes.size() != y.attributes.size()) return set_why(why, fmt::format("node {}: attribute count", x.label()));
    for (size_t k = 0; k < x.attributes.size(); ++k) {
      std::string w;
      if (!attributes_equal(x.attributes[k], y.attributes[k], &w)) return set_why(why, fmt::format("node {}: {}", x.label(), w));
    }
  }
  return true;
}

bool models_equal(const Model& a, const Model& b, std::string* why) {
  if (a.ir_version != b.ir_version) return set_why(why, "ir_version differs");
  if (a.opset_import.size() != b.opset_import.size()) return set_why(why, "opset imports differ");
  for (size_t i = 0; i < a.opset_import.size(); ++i)
    if (a.opset_import[i].domain != b.opset_import[i].domain || a.opset_import[i].version != b.opset_import[i].version)
      return set_why(why, "opset imports differ");
  if (a.producer_name != b.producer_name || a.producer_version != b.producer_version || a.metadata_props != b.metadata_props)
    return set_why(why, "model metadata differs");
  return graphs_equal(a.graph, b.graph, why);
}

}  // namespace hone
