// Nodes that no graph output depends on (through node inputs or reads from subgraphs) are removed, then the
// initializers nothing reads any more. ONNX inference has no side-effecting operators, so every dead node goes.
#include "passes/pass_manager.h"

namespace hone {

int eliminate_dead(Graph& g, PassContext&) {
  std::unordered_map<std::string, size_t> producer;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const std::string& o : g.nodes[i].outputs)
      if (!o.empty()) producer[o] = i;
  std::vector<bool> live(g.nodes.size(), false);
  std::vector<std::string> needed;
  for (const ValueInfo& v : g.outputs) needed.push_back(v.name);
  while (!needed.empty()) {
    std::string name = std::move(needed.back());
    needed.pop_back();
    auto it = producer.find(name);
    if (it == producer.end() || live[it->second]) continue;
    live[it->second] = true;
    const Node& n = g.nodes[it->second];
    for (const std::string& in : n.inputs)
      if (!in.empty()) needed.push_back(in);
    for (const Attribute& a : n.attributes) {
      if (a.g)
        for (std::string& v : outer_scope_names(*a.g)) needed.push_back(std::move(v));
      for (const auto& sg : a.graphs)
        for (std::string& v : outer_scope_names(*sg)) needed.push_back(std::move(v));
    }
  }
  std::vector<bool> dead(g.nodes.size());
  int removed = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    dead[i] = !live[i];
    removed += dead[i] ? 1 : 0;
  }
  erase_nodes(g, dead);
  removed += remove_unused_initializers(g);

  // Type annotations of values that no longer exist would describe nothing (or, later, a reused name wrongly).
  std::unordered_set<std::string> exists;
  for (const ValueInfo& v : g.inputs) exists.insert(v.name);
  for (const auto& [name, t] : g.initializers) exists.insert(name);
  for (const Node& n : g.nodes)
    for (const std::string& o : n.outputs) exists.insert(o);
  std::erase_if(g.value_info, [&](const ValueInfo& v) { return !exists.count(v.name); });
  return removed;
}

HONE_REGISTER_PASS({.name = "eliminate-dead",
                    .summary = "nodes that no graph output depends on, and initializers nothing reads, removed",
                    .order = 1000,
                    .run = eliminate_dead});

}  // namespace hone
