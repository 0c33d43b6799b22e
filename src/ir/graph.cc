#include "ir/graph.h"

#include <queue>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace hone {

std::string sym_shape_str(const SymShape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ",";
    if (s[i].known()) out += std::to_string(s[i].value);
    else if (!s[i].symbol.empty()) out += s[i].symbol;
    else out += "?";
  }
  return out + "]";
}

SymShape to_sym_shape(const Shape& s) { return SymShape(s.begin(), s.end()); }

std::optional<Shape> to_concrete(const SymShape& s) {
  Shape out;
  out.reserve(s.size());
  for (const Dim& d : s) {
    if (!d.known()) return std::nullopt;
    out.push_back(d.value);
  }
  return out;
}

std::string TypeInfo::str() const {
  switch (kind) {
    case Kind::Tensor:
      return std::string(dtype_name(elem)) + (shape ? sym_shape_str(*shape) : "[*]");
    case Kind::Sequence: return "seq(" + (inner ? inner->str() : "?") + ")";
    case Kind::Optional: return "optional(" + (inner ? inner->str() : "?") + ")";
    case Kind::Map: return "map";
    default: return "unknown";
  }
}

const char* attribute_type_name(Attribute::Type t) {
  switch (t) {
    case Attribute::Type::Float: return "float";
    case Attribute::Type::Int: return "int";
    case Attribute::Type::String: return "string";
    case Attribute::Type::Tensor: return "tensor";
    case Attribute::Type::Graph: return "graph";
    case Attribute::Type::Floats: return "floats";
    case Attribute::Type::Ints: return "ints";
    case Attribute::Type::Strings: return "strings";
    case Attribute::Type::Tensors: return "tensors";
    case Attribute::Type::Graphs: return "graphs";
    case Attribute::Type::TypeProto: return "type_proto";
    default: return "undefined";
  }
}

namespace {
Attribute named(std::string name, Attribute::Type type) {
  Attribute a;
  a.name = std::move(name);
  a.type = type;
  return a;
}
}  // namespace

Attribute Attribute::of_int(std::string name, int64_t v) {
  Attribute a = named(std::move(name), Type::Int);
  a.i = v;
  return a;
}
Attribute Attribute::of_float(std::string name, float v) {
  Attribute a = named(std::move(name), Type::Float);
  a.f = v;
  return a;
}
Attribute Attribute::of_string(std::string name, std::string v) {
  Attribute a = named(std::move(name), Type::String);
  a.s = std::move(v);
  return a;
}
Attribute Attribute::of_tensor(std::string name, Tensor v) {
  Attribute a = named(std::move(name), Type::Tensor);
  a.t = std::move(v);
  return a;
}
Attribute Attribute::of_graph(std::string name, std::shared_ptr<Graph> v) {
  Attribute a = named(std::move(name), Type::Graph);
  a.g = std::move(v);
  return a;
}
Attribute Attribute::of_ints(std::string name, std::vector<int64_t> v) {
  Attribute a = named(std::move(name), Type::Ints);
  a.ints = std::move(v);
  return a;
}
Attribute Attribute::of_floats(std::string name, std::vector<float> v) {
  Attribute a = named(std::move(name), Type::Floats);
  a.floats = std::move(v);
  return a;
}
Attribute Attribute::of_strings(std::string name, std::vector<std::string> v) {
  Attribute a = named(std::move(name), Type::Strings);
  a.strings = std::move(v);
  return a;
}

const Attribute* Node::find_attr(std::string_view n) const {
  for (const Attribute& a : attributes)
    if (a.name == n) return &a;
  return nullptr;
}

namespace {
const Attribute* typed(const Node& node, std::string_view name, Attribute::Type want) {
  const Attribute* a = node.find_attr(name);
  if (a && a->type != want)
    fail("{}: attribute '{}' is {}, expected {}", node.label(), name, attribute_type_name(a->type),
         attribute_type_name(want));
  return a;
}
}  // namespace

int64_t Node::attr_int(std::string_view n, int64_t def) const {
  const Attribute* a = typed(*this, n, Attribute::Type::Int);
  return a ? a->i : def;
}
float Node::attr_float(std::string_view n, float def) const {
  const Attribute* a = typed(*this, n, Attribute::Type::Float);
  return a ? a->f : def;
}
std::string Node::attr_string(std::string_view n, const std::string& def) const {
  const Attribute* a = typed(*this, n, Attribute::Type::String);
  return a ? a->s : def;
}
std::vector<int64_t> Node::attr_ints(std::string_view n, std::vector<int64_t> def) const {
  const Attribute* a = typed(*this, n, Attribute::Type::Ints);
  return a ? a->ints : def;
}
std::vector<float> Node::attr_floats(std::string_view n, std::vector<float> def) const {
  const Attribute* a = typed(*this, n, Attribute::Type::Floats);
  return a ? a->floats : def;
}
std::vector<std::string> Node::attr_strings(std::string_view n) const {
  const Attribute* a = typed(*this, n, Attribute::Type::Strings);
  return a ? a->strings : std::vector<std::string>{};
}
const Tensor* Node::attr_tensor(std::string_view n) const {
  const Attribute* a = typed(*this, n, Attribute::Type::Tensor);
  return a ? &a->t : nullptr;
}
const Graph* Node::attr_graph(std::string_view n) const {
  const Attribute* a = typed(*this, n, Attribute::Type::Graph);
  return a ? a->g.get() : nullptr;
}
int64_t Node::require_int(std::string_view n) const {
  const Attribute* a = typed(*this, n, Attribute::Type::Int);
  if (!a) fail("{}: required attribute '{}' is missing", label(), n);
  return a->i;
}

std::string Node::label() const {
  std::string op = domain.empty() ? op_type : domain + ":" + op_type;
  if (!name.empty()) return op + " '" + name + "'";
  if (!outputs.empty() && !outputs[0].empty()) return op + " (producing '" + outputs[0] + "')";
  return op;
}

const ValueInfo* Graph::find_input(std::string_view n) const {
  for (const ValueInfo& v : inputs)
    if (v.name == n) return &v;
  return nullptr;
}

const Tensor* Graph::find_initializer(const std::string& n) const {
  auto it = initializers.find(n);
  return it == initializers.end() ? nullptr : &it->second;
}

int64_t Model::opset(std::string_view d) const {
  if (d == "ai.onnx") d = "";
  for (const OperatorSetId& o : opset_import)
    if (o.domain == d || (d.empty() && o.domain == "ai.onnx")) return o.version;
  return 0;
}

namespace {

void collect_outer_names(const Graph& g, std::unordered_set<std::string>& defined, std::vector<std::string>& out,
                         std::unordered_set<std::string>& seen) {
  std::unordered_set<std::string> local = defined;
  for (const ValueInfo& v : g.inputs) local.insert(v.name);
  for (const auto& [name, t] : g.initializers) local.insert(name);
  auto use = [&](const std::string& n) {
    if (!n.empty() && !local.count(n) && !seen.count(n)) {
      seen.insert(n);
      out.push_back(n);
    }
  };
  for (const Node& n : g.nodes) {
    for (const std::string& i : n.inputs) use(i);
    for (const Attribute& a : n.attributes) {
      std::vector<const Graph*> subs;
      if (a.g) subs.push_back(a.g.get());
      for (const auto& sg : a.graphs) subs.push_back(sg.get());
      for (const Graph* sg : subs) {
        std::vector<std::string> inner;
        std::unordered_set<std::string> inner_seen;
        std::unordered_set<std::string> none;
        collect_outer_names(*sg, none, inner, inner_seen);
        for (const std::string& v : inner) use(v);
      }
    }
    for (const std::string& o : n.outputs)
      if (!o.empty()) local.insert(o);
  }
  for (const ValueInfo& v : g.outputs) use(v.name);
}

}  // namespace

std::vector<std::string> outer_scope_names(const Graph& g) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen, defined;
  collect_outer_names(g, defined, out, seen);
  return out;
}

std::vector<size_t> topological_order(const Graph& g, const std::vector<std::string>& outer_scope) {
  std::unordered_map<std::string, size_t> producer;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const std::string& o : g.nodes[i].outputs) {
      if (o.empty()) continue;
      if (!producer.emplace(o, i).second)
        fail("value '{}' is produced twice (by {} and {})", o, g.nodes[producer[o]].label(), g.nodes[i].label());
    }
  std::unordered_set<std::string> available(outer_scope.begin(), outer_scope.end());
  for (const ValueInfo& v : g.inputs) available.insert(v.name);
  for (const auto& [name, t] : g.initializers) available.insert(name);

  // Dependencies of a node: its inputs plus what its subgraphs read from outside.
  std::vector<std::vector<size_t>> users(g.nodes.size());
  std::vector<size_t> pending(g.nodes.size(), 0);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    std::vector<std::string> deps(n.inputs.begin(), n.inputs.end());
    for (const Attribute& a : n.attributes) {
      if (a.g) for (auto& v : outer_scope_names(*a.g)) deps.push_back(v);
      for (const auto& sg : a.graphs) for (auto& v : outer_scope_names(*sg)) deps.push_back(v);
    }
    std::set<size_t> preds;
    for (const std::string& d : deps) {
      if (d.empty()) continue;
      auto it = producer.find(d);
      if (it != producer.end()) {
        if (it->second == i) fail("{} consumes its own output '{}' (a cycle)", n.label(), d);
        preds.insert(it->second);
      } else if (!available.count(d)) {
        fail("{} reads '{}', which no graph input, initializer or node provides", n.label(), d);
      }
    }
    pending[i] = preds.size();
    for (size_t p : preds) users[p].push_back(i);
  }
  // Kahn's algorithm; a min-queue keeps the file's order where it is already valid.
  std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (pending[i] == 0) ready.push(i);
  std::vector<size_t> order;
  order.reserve(g.nodes.size());
  while (!ready.empty()) {
    size_t i = ready.top();
    ready.pop();
    order.push_back(i);
    for (size_t u : users[i])
      if (--pending[u] == 0) ready.push(u);
  }
  if (order.size() != g.nodes.size()) {
    for (size_t i = 0; i < g.nodes.size(); ++i)
      if (pending[i] != 0) fail("the graph has a cycle through {}", g.nodes[i].label());
  }
  return order;
}

void verify_graph(const Graph& g, const std::vector<std::string>& outer_scope) {
  std::vector<size_t> order = topological_order(g, outer_scope);
  std::unordered_set<std::string> known(outer_scope.begin(), outer_scope.end());
  for (const ValueInfo& v : g.inputs) known.insert(v.name);
  for (const auto& [name, t] : g.initializers) known.insert(name);
  for (const Node& n : g.nodes) {
    if (n.op_type.empty()) fail("a node in graph '{}' has no op_type", g.name);
    for (const std::string& o : n.outputs)
      if (!o.empty()) known.insert(o);
  }
  for (const Node& n : g.nodes) {
    std::vector<std::string> scope(known.begin(), known.end());
    for (const Attribute& a : n.attributes) {
      if (a.g) verify_graph(*a.g, scope);
      for (const auto& sg : a.graphs) verify_graph(*sg, scope);
    }
  }
  for (const ValueInfo& v : g.outputs)
    if (!known.count(v.name)) fail("graph output '{}' is not produced by any node, input or initializer", v.name);
}

}  // namespace hone
