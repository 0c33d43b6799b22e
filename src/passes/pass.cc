#include "passes/pass.h"

namespace hone {

void PassContext::refresh_types(const Graph& g) {
  InferOptions io;
  io.opset = opset;
  io.max_folded_bytes = max_folded_bytes;
  io.throw_on_unsupported = false;
  types = infer_graph(g, io, {});
}

const Tensor* PassContext::constant(const std::string& name) const {
  auto it = types.constants.find(name);
  return it == types.constants.end() ? nullptr : &it->second;
}

const TypeInfo* PassContext::type(const std::string& name) const {
  auto it = types.types.find(name);
  return it == types.types.end() ? nullptr : &it->second;
}

namespace {
void count_subgraph_reads(const Node& n, std::unordered_map<std::string, int>& uses) {
  for (const Attribute& a : n.attributes) {
    std::vector<const Graph*> subs;
    if (a.g) subs.push_back(a.g.get());
    for (const auto& sg : a.graphs) subs.push_back(sg.get());
    for (const Graph* sg : subs)
      for (const std::string& name : outer_scope_names(*sg)) uses[name] += 2;  // never a sole consumer
  }
}
}  // namespace

GraphUses::GraphUses(const Graph& g) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    for (const std::string& in : n.inputs) {
      if (in.empty()) continue;
      ++uses_[in];
      consumers_[in].push_back(static_cast<int>(i));
    }
    count_subgraph_reads(n, uses_);
    for (const std::string& o : n.outputs)
      if (!o.empty()) producer_[o] = static_cast<int>(i);
  }
  for (const ValueInfo& v : g.outputs) {
    outputs_.insert(v.name);
    ++uses_[v.name];
  }
}

int GraphUses::uses(const std::string& name) const {
  auto it = uses_.find(name);
  return it == uses_.end() ? 0 : it->second;
}

int GraphUses::producer(const std::string& name) const {
  auto it = producer_.find(name);
  return it == producer_.end() ? -1 : it->second;
}

int GraphUses::sole_consumer(const std::string& name) const {
  if (uses(name) != 1 || is_graph_output(name)) return -1;
  const std::vector<int>& c = consumers(name);
  return c.size() == 1 ? c[0] : -1;
}

const std::vector<int>& GraphUses::consumers(const std::string& name) const {
  static const std::vector<int> none;
  auto it = consumers_.find(name);
  return it == consumers_.end() ? none : it->second;
}

void erase_nodes(Graph& g, const std::vector<bool>& dead) {
  std::vector<Node> kept;
  kept.reserve(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (i >= dead.size() || !dead[i]) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
}

int remove_unused_initializers(Graph& g) {
  GraphUses uses(g);
  std::unordered_set<std::string> fed(g.overridable_initializers.begin(), g.overridable_initializers.end());
  int removed = 0;
  for (auto it = g.initializers.begin(); it != g.initializers.end();) {
    if (uses.uses(it->first) == 0 && !fed.count(it->first)) {
      it = g.initializers.erase(it);
      ++removed;
    } else {
      ++it;
    }
  }
  return removed;
}

}  // namespace hone
