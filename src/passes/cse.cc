// Common-subexpression elimination. Two deterministic nodes with the same op, the same inputs in the same order and
// bit-identical attributes compute the same values, so the later one's readers read the earlier one's outputs.
// Nodes are visited in topological order with their inputs already renamed, so whole duplicated chains collapse in
// one run. Equal constants (initializers and Constant nodes of the same dtype, shape and bytes) become one.
// Not merged: nodes with subgraphs, random operators, operators Hone does not know (no promise they are pure) and
// a later node with a graph output (its name must stay produced).
#include <cstring>

#include "ir/graph_equal.h"
#include "passes/pass_manager.h"

namespace hone {
namespace {

bool standard_domain(const std::string& d) { return d.empty() || d == "ai.onnx" || d == "ai.onnx.ml"; }

bool mergeable_op(const Node& n, int64_t opset) {
  static const std::unordered_set<std::string> random_ops = {
      "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli", "Dropout"};
  if (!standard_domain(n.domain) || n.outputs.empty() || random_ops.count(n.op_type)) return false;
  const OpSchema* s = OpRegistry::instance().find(n.domain, n.op_type, opset);
  return s && s->deterministic;
}

void append_raw(std::string& key, const void* p, size_t n) { key.append(static_cast<const char*>(p), n); }
template <typename T>
void append_pod(std::string& key, const T& v) {
  append_raw(key, &v, sizeof v);
}
void append_str(std::string& key, const std::string& s) {
  append_pod(key, s.size());
  key += s;
}

void append_tensor(std::string& key, const Tensor& t) {
  append_pod(key, t.dtype());
  append_pod(key, t.shape().size());
  for (int64_t d : t.shape()) append_pod(key, d);
  if (t.dtype() == DType::String) {
    for (int64_t i = 0; i < t.numel(); ++i) append_str(key, t.data<std::string>()[i]);
  } else if (t.numel() > 0) {
    append_raw(key, t.raw(), t.nbytes());
  }
}

// Bit-exact description of an attribute; false for kinds never merged (subgraphs, type protos).
bool append_attribute(std::string& key, const Attribute& a) {
  using T = Attribute::Type;
  if (a.g || !a.graphs.empty() || a.type == T::Graph || a.type == T::Graphs || a.type == T::TypeProto ||
      a.type == T::Undefined)
    return false;
  append_str(key, a.name);
  append_pod(key, a.type);
  switch (a.type) {
    case T::Float: append_pod(key, a.f); break;  // bits: -0 and 0 differ, NaN equals itself
    case T::Int: append_pod(key, a.i); break;
    case T::String: append_str(key, a.s); break;
    case T::Tensor: append_tensor(key, a.t); break;
    case T::Floats:
      append_pod(key, a.floats.size());
      if (!a.floats.empty()) append_raw(key, a.floats.data(), a.floats.size() * sizeof(float));
      break;
    case T::Ints:
      append_pod(key, a.ints.size());
      for (int64_t v : a.ints) append_pod(key, v);
      break;
    case T::Strings:
      append_pod(key, a.strings.size());
      for (const std::string& s : a.strings) append_str(key, s);
      break;
    case T::Tensors:
      append_pod(key, a.tensors.size());
      for (const Tensor& t : a.tensors) append_tensor(key, t);
      break;
    default: return false;
  }
  return true;
}

// What makes two nodes compute the same outputs (inputs already renamed); false when the node is never merged.
bool node_key(const Node& n, const std::unordered_map<std::string, std::string>& alias, std::string* key) {
  key->clear();
  append_str(*key, n.domain == "ai.onnx" ? std::string() : n.domain);
  append_str(*key, n.op_type);
  append_pod(*key, n.inputs.size());
  for (const std::string& in : n.inputs) {
    auto it = alias.find(in);
    append_str(*key, it == alias.end() ? in : it->second);
  }
  append_pod(*key, n.outputs.size());
  for (const std::string& o : n.outputs) key->push_back(o.empty() ? '0' : '1');
  std::vector<const Attribute*> attrs;
  for (const Attribute& a : n.attributes) attrs.push_back(&a);
  std::sort(attrs.begin(), attrs.end(), [](const Attribute* a, const Attribute* b) { return a->name < b->name; });
  for (const Attribute* a : attrs)
    if (!append_attribute(*key, *a)) return false;
  return true;
}

// Constants seen so far, bucketed by a hash of their bytes; the first of equal ones is kept.
class ConstantTable {
 public:
  // The name of an equal constant seen before, or "" after recording this one.
  std::string find_or_add(const std::string& name, const Tensor& t) {
    std::string key;
    append_tensor(key, t);
    std::vector<std::pair<std::string, const Tensor*>>& bucket = buckets_[std::hash<std::string>{}(key)];
    for (const auto& [other, ot] : bucket)
      if (tensors_bit_equal(t, *ot)) return other;
    bucket.emplace_back(name, &t);
    return {};
  }

 private:
  std::unordered_map<size_t, std::vector<std::pair<std::string, const Tensor*>>> buckets_;
};

}  // namespace

int cse(Graph& g, PassContext& ctx) {
  GraphUses uses(g);
  std::unordered_set<std::string> sub = names_defined_in_subgraphs(g);
  std::unordered_set<std::string> fed(g.overridable_initializers.begin(), g.overridable_initializers.end());
  std::unordered_map<std::string, std::string> alias;  // merged value -> the value kept
  int merged = 0;

  ConstantTable constants;
  for (const auto& [name, t] : g.initializers) {
    if (fed.count(name) || !t.defined()) continue;  // an overridable initializer is an input
    std::string same = constants.find_or_add(name, t);
    if (same.empty() || uses.is_graph_output(name) || sub.count(same)) continue;
    alias[name] = same;
    ++merged;
  }

  std::vector<bool> dead(g.nodes.size(), false);
  std::unordered_map<std::string, size_t> first;  // node key -> index of the node kept
  std::string key;
  for (size_t i : topological_order(g)) {
    const Node& n = g.nodes[i];
    int64_t opset = ctx.opset(n.domain);
    if (!mergeable_op(n, opset)) continue;
    bool at_output = false, captured = false;
    for (const std::string& o : n.outputs) at_output = at_output || (!o.empty() && uses.is_graph_output(o));
    const Tensor* value = n.op_type == "Constant" && n.outputs.size() == 1 ? ctx.constant(n.outputs[0]) : nullptr;
    if (value) {
      std::string same = constants.find_or_add(n.outputs[0], *value);
      if (same.empty() || at_output || sub.count(same)) continue;
      alias[n.outputs[0]] = same;
      dead[i] = true;
      ++merged;
      continue;
    }
    if (!node_key(n, alias, &key)) continue;
    auto [it, inserted] = first.emplace(key, i);
    if (inserted || at_output) continue;
    const Node& kept = g.nodes[it->second];
    for (const std::string& o : kept.outputs) captured = captured || sub.count(o);
    if (captured) continue;
    for (size_t k = 0; k < n.outputs.size(); ++k)
      if (!n.outputs[k].empty()) alias[n.outputs[k]] = kept.outputs[k];
    dead[i] = true;
    ++merged;
  }
  rename_reads(g, alias);
  erase_nodes(g, dead);
  remove_unused_initializers(g);
  std::erase_if(g.value_info, [&](const ValueInfo& v) { return alias.count(v.name) > 0; });
  return merged;
}

HONE_REGISTER_PASS({.name = "cse",
                    .summary = "identical deterministic nodes merged, equal constants (initializers, Constant nodes) "
                               "deduplicated",
                    .order = 800,
                    .run = cse});

}  // namespace hone
