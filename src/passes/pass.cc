#include "passes/pass.h"

#include <cmath>
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

namespace {

// A float scalar constant's value, or NaN.
double scalar_constant(const PassContext& ctx, const std::string& name) {
  const Tensor* t = name.empty() ? nullptr : ctx.constant(name);
  return t && t->numel() == 1 && (t->dtype() == DType::Float32 || t->dtype() == DType::Float64 ||
                                  t->dtype() == DType::Float16 || t->dtype() == DType::BFloat16)
             ? t->get_double(0)
             : std::nan("");
}

}  // namespace

bool match_decomposed_hardswish(const Graph& g, const GraphUses& uses, const PassContext& ctx, const std::string& cur,
                                const std::vector<bool>* dead, DecomposedHardSwish* m) {
  auto node = [&](int i) -> const Node* {
    if (i < 0 || (dead && (*dead)[static_cast<size_t>(i)])) return nullptr;
    const Node* n = &g.nodes[static_cast<size_t>(i)];
    return n->domain.empty() || n->domain == "ai.onnx" ? n : nullptr;
  };
  const std::vector<int>& cs = uses.consumers(cur);
  if (cs.size() != 2 || uses.uses(cur) != 2 || uses.is_graph_output(cur)) return false;
  const Node *add = nullptr, *mul = nullptr;
  int ai = -1, mi = -1;
  for (int c : cs) {
    const Node* n = node(c);
    if (!n || n->inputs.size() != 2 || n->outputs.empty()) return false;
    if (n->op_type == "Add") add = n, ai = c;
    else if (n->op_type == "Mul") mul = n, mi = c;
  }
  if (!add || !mul || scalar_constant(ctx, add->inputs[0] == cur ? add->inputs[1] : add->inputs[0]) != 3.0) return false;
  int ci = uses.sole_consumer(add->outputs[0]);
  const Node* clip = node(ci);
  if (!clip || clip->op_type != "Clip" || clip->outputs.empty()) return false;
  // Clip's bounds: attributes before opset 11, constant inputs after.
  double lo = clip->has_attr("min") ? clip->attr_float("min", 0)
                                    : scalar_constant(ctx, clip->inputs.size() > 1 ? clip->inputs[1] : "");
  double hi = clip->has_attr("max") ? clip->attr_float("max", 0)
                                    : scalar_constant(ctx, clip->inputs.size() > 2 ? clip->inputs[2] : "");
  if (lo != 0.0 || hi != 6.0) return false;
  if (uses.sole_consumer(clip->outputs[0]) != mi) return false;
  int di = uses.sole_consumer(mul->outputs[0]);
  const Node* div = node(di);
  if (!div || div->inputs.size() != 2 || div->inputs[0] != mul->outputs[0] || div->outputs.empty()) return false;
  double k = scalar_constant(ctx, div->inputs[1]);
  if (!((div->op_type == "Div" && k == 6.0) || (div->op_type == "Mul" && std::fabs(k - 1.0 / 6.0) < 1e-7))) return false;
  m->nodes = {static_cast<size_t>(ai), static_cast<size_t>(ci), static_cast<size_t>(mi), static_cast<size_t>(di)};
  m->inner = {cur, add->outputs[0], clip->outputs[0], mul->outputs[0]};
  m->out = div->outputs[0];
  return true;
}

}  // namespace hone
