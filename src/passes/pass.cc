#include "passes/pass.h"

#include <memory>

#include "core/error.h"

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

namespace {

const std::string& resolve_alias(const std::unordered_map<std::string, std::string>& alias, const std::string& name) {
  const std::string* cur = &name;
  for (size_t hops = 0; hops <= alias.size(); ++hops) {
    auto it = alias.find(*cur);
    if (it == alias.end()) return *cur;
    cur = &it->second;
  }
  fail("renaming '{}' runs in a cycle", name);
}

// Renames, inside subgraph `sg`, the reads of enclosing-scope names in `renamed` (those `sg` reads freely: a name
// `sg` defines itself shadows the outer one).
void rename_subgraph_reads(Graph& sg, const std::unordered_map<std::string, std::string>& alias,
                           const std::unordered_set<std::string>& renamed);

// The subgraphs of `n` that read a renamed name are replaced by renamed copies.
void rename_node_subgraphs(Node& n, const std::unordered_map<std::string, std::string>& alias,
                           const std::unordered_set<std::string>* outer_renamed) {
  auto rename = [&](std::shared_ptr<Graph>& sg) {
    std::unordered_set<std::string> renamed;
    for (const std::string& v : outer_scope_names(*sg))
      if (alias.count(v) && (!outer_renamed || outer_renamed->count(v))) renamed.insert(v);
    if (renamed.empty()) return;
    sg = std::make_shared<Graph>(*sg);
    rename_subgraph_reads(*sg, alias, renamed);
  };
  for (Attribute& a : n.attributes) {
    if (a.g) rename(a.g);
    for (auto& sg : a.graphs) rename(sg);
  }
}

void rename_subgraph_reads(Graph& sg, const std::unordered_map<std::string, std::string>& alias,
                           const std::unordered_set<std::string>& renamed) {
  for (Node& n : sg.nodes) {
    for (std::string& in : n.inputs)
      if (renamed.count(in)) in = resolve_alias(alias, in);
    rename_node_subgraphs(n, alias, &renamed);
  }
  for (ValueInfo& v : sg.outputs)  // a body may return an enclosing-scope value as it is
    if (renamed.count(v.name)) v.name = resolve_alias(alias, v.name);
}

void collect_subgraph_names(const Graph& g, std::unordered_set<std::string>& out) {
  for (const Node& n : g.nodes)
    for (const Attribute& a : n.attributes) {
      std::vector<const Graph*> subs;
      if (a.g) subs.push_back(a.g.get());
      for (const auto& sg : a.graphs) subs.push_back(sg.get());
      for (const Graph* sg : subs) {
        for (const ValueInfo& v : sg->inputs) out.insert(v.name);
        for (const auto& [name, t] : sg->initializers) out.insert(name);
        for (const Node& m : sg->nodes)
          for (const std::string& o : m.outputs)
            if (!o.empty()) out.insert(o);
        collect_subgraph_names(*sg, out);
      }
    }
}

}  // namespace

void rename_reads(Graph& g, const std::unordered_map<std::string, std::string>& alias) {
  if (alias.empty()) return;
  for (Node& n : g.nodes) {
    for (std::string& in : n.inputs)
      if (!in.empty()) in = resolve_alias(alias, in);
    rename_node_subgraphs(n, alias, nullptr);
  }
}

std::unordered_set<std::string> names_defined_in_subgraphs(const Graph& g) {
  std::unordered_set<std::string> out;
  collect_subgraph_names(g, out);
  return out;
}

bool forward_value(Graph& g, std::string src, std::string dst) {
  if (src.empty() || dst.empty() || src == dst) return false;
  auto is_output = [&](const std::string& name) {
    for (const ValueInfo& v : g.outputs)
      if (v.name == name) return true;
    return false;
  };
  auto drop_value_info = [&](const std::string& name) {
    std::erase_if(g.value_info, [&](const ValueInfo& v) { return v.name == name; });
  };
  std::unordered_set<std::string> sub = names_defined_in_subgraphs(g);
  if (!is_output(dst)) {
    if (sub.count(src)) return false;
    rename_reads(g, {{dst, src}});
    drop_value_info(dst);
    return true;
  }
  if (is_output(src) || sub.count(dst)) return false;
  Node* producer = nullptr;
  size_t slot = 0;
  for (Node& n : g.nodes)
    for (size_t k = 0; k < n.outputs.size(); ++k)
      if (n.outputs[k] == src) producer = &n, slot = k;
  if (!producer) return false;  // a graph input or an initializer
  rename_reads(g, {{src, dst}});
  producer->outputs[slot] = dst;
  drop_value_info(src);
  return true;
}

}  // namespace hone
