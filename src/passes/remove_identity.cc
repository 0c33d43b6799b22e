// Identity nodes and inference-mode Dropout pass their input through unchanged, so their readers can read the input
// instead. Dropout is inference-mode before opset 12 (Hone, like other inference engines, ignores the old is_test
// attribute) and from 12 when training_mode is absent or a constant false; its mask output must be unused.
// A removed node whose output is a graph output hands that name to the node producing its input; when the input is
// a graph input or an initializer (or another graph output) the node stays, since a graph output must be produced.
#include "passes/pass_manager.h"

namespace hone {
namespace {

bool passes_input_through(const Node& n, const PassContext& ctx, const GraphUses& uses) {
  if (!n.domain.empty() && n.domain != "ai.onnx") return false;
  if (!n.has_input(0) || n.outputs.empty() || n.outputs[0].empty()) return false;
  if (n.op_type == "Identity") return n.inputs.size() == 1 && n.outputs.size() == 1;
  if (n.op_type != "Dropout") return false;
  for (size_t k = 1; k < n.outputs.size(); ++k)
    if (!n.outputs[k].empty() && uses.uses(n.outputs[k]) > 0) return false;  // the mask is read
  if (ctx.opset(n.domain) >= 12 && n.has_input(2)) {
    const Tensor* training = ctx.constant(n.inputs[2]);
    if (!training || training->numel() != 1 || training->get_int(0) != 0) return false;
  }
  return true;
}

}  // namespace

int remove_identity(Graph& g, PassContext& ctx) {
  GraphUses uses(g);
  std::unordered_set<std::string> sub = names_defined_in_subgraphs(g);
  std::unordered_map<std::string, std::string> alias;  // output -> input of each removed node
  std::vector<size_t> at_outputs;
  std::vector<bool> dead(g.nodes.size(), false);
  int removed = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (!passes_input_through(n, ctx, uses)) continue;
    if (uses.is_graph_output(n.outputs[0])) {
      at_outputs.push_back(i);
    } else if (!sub.count(n.inputs[0])) {
      alias[n.outputs[0]] = n.inputs[0];
      dead[i] = true;
      ++removed;
    }
  }
  rename_reads(g, alias);
  std::erase_if(g.value_info, [&](const ValueInfo& v) { return alias.count(v.name) > 0; });
  // One at a time: each may rename a node's output (its input already points past removed nodes).
  for (size_t i : at_outputs) {
    const Node& n = g.nodes[i];
    if (forward_value(g, n.inputs[0], n.outputs[0])) {
      dead[i] = true;
      ++removed;
    }
  }
  erase_nodes(g, dead);
  return removed;
}

HONE_REGISTER_PASS({.name = "remove-identity",
                    .summary = "Identity and inference-mode Dropout removed (their readers read the input)",
                    .order = 150,
                    .run = remove_identity});

}  // namespace hone
