// If: runs then_branch or else_branch (subgraphs without formal inputs) on a single-element condition. Branch
// outputs may be tensors, sequences or optionals; branches may produce different shapes, so only kinds and element
// types are inferred (from the branches' declarations).
#include "ops/control/value_types.h"

namespace hone {
namespace {

const Graph& branch(const Node& node, const char* name) {
  const Graph* g = node.attr_graph(name);
  if (!g) fail("{}: attribute '{}' (a graph) is missing", node.label(), name);
  return *g;
}

void if_op(OpContext& ctx) {
  const Node& node = ctx.node();
  bool cond = read_condition(ctx.input(0), node, "the condition");
  const Graph& g = branch(node, cond ? "then_branch" : "else_branch");
  if (!g.inputs.empty()) fail("{}: branch '{}' must take no inputs, takes {}", node.label(), g.name, g.inputs.size());
  std::vector<Value> outs = ctx.subgraphs().run(g, {});
  if (outs.size() < ctx.num_outputs())
    fail("{}: branch '{}' produces {} outputs but the node has {}", node.label(), g.name, outs.size(), ctx.num_outputs());
  for (size_t i = 0; i < ctx.num_outputs(); ++i)
    if (ctx.wants_output(i)) ctx.set_output(i, std::move(outs[i]));
}

void infer_if(InferenceContext& ctx) {
  const Graph& then_g = branch(ctx.node(), "then_branch");
  const Graph& else_g = branch(ctx.node(), "else_branch");
  for (size_t i = 0; i < ctx.num_outputs(); ++i) {
    const TypeInfo* t = i < then_g.outputs.size() ? &then_g.outputs[i].type : nullptr;
    const TypeInfo* e = i < else_g.outputs.size() ? &else_g.outputs[i].type : nullptr;
    if (t && t->kind == TypeInfo::Kind::Unknown) t = nullptr;
    if (e && e->kind == TypeInfo::Kind::Unknown) e = nullptr;
    if (t && e && t->kind != e->kind) continue;  // e.g. an optional in one branch, its content in the other
    if (t && t->kind == TypeInfo::Kind::Tensor && t->elem == DType::Undefined) t = e;
    if (const TypeInfo* d = t ? t : e) ctx.set_output(i, without_shapes(*d));
  }
}

}  // namespace

HONE_REGISTER_OP({.name = "If", .since = 1, .infer = infer_if, .compute = if_op});

}  // namespace hone
