// The IR: a Model holds a Graph of Nodes that name their inputs and outputs; values are identified by name, as in
// ONNX, so import and export stay literal. Runtime plans turn names into slot indices once (see runtime/plan.h).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace hone {

// A dimension that is known (value >= 0), named (symbol, e.g. "batch") or unknown (neither).
struct Dim {
  int64_t value = -1;
  std::string symbol;
  Dim() = default;
  Dim(int64_t v) : value(v) {}  // NOLINT: a number is a known dim
  static Dim named(std::string s) {
    Dim d;
    d.symbol = std::move(s);
    return d;
  }
  bool known() const { return value >= 0; }
  bool operator==(const Dim& o) const { return value == o.value && symbol == o.symbol; }
};
using SymShape = std::vector<Dim>;
std::string sym_shape_str(const SymShape& s);
SymShape to_sym_shape(const Shape& s);
// Concrete shape when every dim is known.
std::optional<Shape> to_concrete(const SymShape& s);

struct TypeInfo {
  enum class Kind { Unknown, Tensor, Sequence, Optional, Map };
  Kind kind = Kind::Unknown;
  DType elem = DType::Undefined;    // Tensor: element type
  std::optional<SymShape> shape;    // Tensor: nullopt when even the rank is unknown
  std::shared_ptr<TypeInfo> inner;  // Sequence / Optional: element type

  static TypeInfo tensor(DType t, std::optional<SymShape> s = std::nullopt) {
    TypeInfo ti;
    ti.kind = Kind::Tensor;
    ti.elem = t;
    ti.shape = std::move(s);
    return ti;
  }
  bool is_tensor() const { return kind == Kind::Tensor; }
  std::string str() const;  // "float[1x3xbatch]", "seq(int64[?])"
};

struct Graph;

struct Attribute {
  enum class Type { Undefined, Float, Int, String, Tensor, Graph, Floats, Ints, Strings, Tensors, Graphs, TypeProto };
  std::string name;
  Type type = Type::Undefined;
  float f = 0;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::shared_ptr<Graph> g;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  std::vector<std::shared_ptr<Graph>> graphs;
  TypeInfo type_proto;

  // Builders, for code that makes nodes (passes, tests).
  static Attribute of_int(std::string name, int64_t v);
  static Attribute of_float(std::string name, float v);
  static Attribute of_string(std::string name, std::string v);
  static Attribute of_tensor(std::string name, Tensor v);
  static Attribute of_graph(std::string name, std::shared_ptr<Graph> v);
  static Attribute of_ints(std::string name, std::vector<int64_t> v);
  static Attribute of_floats(std::string name, std::vector<float> v);
  static Attribute of_strings(std::string name, std::vector<std::string> v);
};
const char* attribute_type_name(Attribute::Type t);

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;  // "" is ai.onnx
  std::vector<std::string> inputs;   // "" marks an omitted optional input
  std::vector<std::string> outputs;  // "" marks an omitted optional output
  std::vector<Attribute> attributes;
  std::string doc_string;

  const Attribute* find_attr(std::string_view name) const;
  bool has_attr(std::string_view name) const { return find_attr(name) != nullptr; }
  int64_t attr_int(std::string_view name, int64_t def) const;
  float attr_float(std::string_view name, float def) const;
  std::string attr_string(std::string_view name, const std::string& def) const;
  std::vector<int64_t> attr_ints(std::string_view name, std::vector<int64_t> def = {}) const;
  std::vector<float> attr_floats(std::string_view name, std::vector<float> def = {}) const;
  std::vector<std::string> attr_strings(std::string_view name) const;
  const Tensor* attr_tensor(std::string_view name) const;
  const Graph* attr_graph(std::string_view name) const;
  // Required attributes: throw naming the node when absent.
  int64_t require_int(std::string_view name) const;
  // "Conv 'conv1'" or "Conv (node 3)": how errors name a node.
  std::string label() const;
  bool has_input(size_t i) const { return i < inputs.size() && !inputs[i].empty(); }
};

struct ValueInfo {
  std::string name;
  TypeInfo type;
  std::string doc_string;
};

struct Graph {
  std::string name;
  std::string doc_string;
  std::vector<Node> nodes;
  std::vector<ValueInfo> inputs;   // fed at run time (initializer names removed on import, see onnx_import.cc)
  std::vector<ValueInfo> outputs;
  std::vector<ValueInfo> value_info;
  std::map<std::string, Tensor> initializers;
  // IR < 4 lists initializers among graph inputs too; the ones listed there may be overridden by a feed.
  std::vector<std::string> overridable_initializers;

  const ValueInfo* find_input(std::string_view name) const;
  const Tensor* find_initializer(const std::string& name) const;
};

struct OperatorSetId {
  std::string domain;
  int64_t version = 0;
};

struct Model {
  int64_t ir_version = 0;
  std::vector<OperatorSetId> opset_import;
  std::string producer_name, producer_version, domain, doc_string;
  int64_t model_version = 0;
  std::vector<std::pair<std::string, std::string>> metadata_props;
  Graph graph;

  // Imported version of a domain ("" and "ai.onnx" are the same), 0 when not imported.
  int64_t opset(std::string_view domain) const;
};

// Checks structure: every node input is produced before use (by a graph input, an initializer, an earlier node or,
// in subgraphs, an outer scope), no value is produced twice, no cycles, outputs exist. Throws naming the node and
// value. `outer` lists names visible from enclosing graphs.
void verify_graph(const Graph& g, const std::vector<std::string>& outer_scope = {});

// Node indices in an order where producers come before consumers; throws if the graph has a cycle.
std::vector<size_t> topological_order(const Graph& g, const std::vector<std::string>& outer_scope = {});

// Names a subgraph reads from enclosing scopes (free variables), in first-use order.
std::vector<std::string> outer_scope_names(const Graph& g);

}  // namespace hone
