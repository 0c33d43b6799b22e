#include "passes/pass_manager.h"

namespace hone {

int fold_constants(Graph& g, PassContext& ctx) {
  std::vector<bool> dead(g.nodes.size(), false);
  int n_folded = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    bool all = !n.outputs.empty();
    for (const std::string& o : n.outputs)
      if (!o.empty() && !ctx.constant(o)) all = false;
    if (!all) continue;
    for (const std::string& o : n.outputs)
      if (!o.empty()) g.initializers[o] = *ctx.constant(o);
    dead[i] = true;
    ++n_folded;
  }
  erase_nodes(g, dead);
  remove_unused_initializers(g);
  return n_folded;
}

HONE_REGISTER_PASS({.name = "fold-constants",
                    .summary = "nodes whose outputs are computable from constants (shape computations included once "
                               "input shapes are known) become initializers",
                    .order = 100,
                    .run = fold_constants});

}  // namespace hone
