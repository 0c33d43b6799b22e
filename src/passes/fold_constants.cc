#include "passes/pass_manager.h"

namespace hone {
namespace {

// DequantizeLinear(integer initializer, ...): the stored form of a quantized weight.
bool is_quantized_weight(const Graph& g, const Node& n) {
  if (n.op_type != "DequantizeLinear" || !(n.domain.empty() || n.domain == "ai.onnx") || n.inputs.empty()) return false;
  auto it = g.initializers.find(n.inputs[0]);
  if (it == g.initializers.end()) return false;
  DType t = it->second.dtype();
  return t == DType::Int8 || t == DType::UInt8 || t == DType::Int16 || t == DType::UInt16 || t == DType::Int32 ||
         t == DType::Int4 || t == DType::UInt4;
}

}  // namespace

int fold_constants(Graph& g, PassContext& ctx) {
  std::vector<bool> dead(g.nodes.size(), false);
  int n_folded = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (ctx.keep_quantized_weights && is_quantized_weight(g, n)) continue;
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
