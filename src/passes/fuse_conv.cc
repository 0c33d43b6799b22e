// Runtime fusion: Conv [-> Add(residual)] [-> activation] becomes one hone.FusedConv node, which oneDNN runs as a
// single primitive with post-ops (the sum and the activation are applied while the output is still in registers).
#include "ops/hone/fused_conv.h"
#include "passes/pass.h"

namespace hone {
namespace {

// The activation parameters of `n`, or false when it cannot be fused (non-constant Clip bounds, other types).
bool activation_params(const Node& n, int64_t opset, const PassContext& ctx, std::vector<float>* params) {
  if (!n.domain.empty() || !fusable_activation(n.op_type) || n.inputs.empty() || n.outputs.size() != 1) return false;
  const TypeInfo* t = ctx.type(n.inputs[0]);
  if (!t || !t->is_tensor() || t->elem != DType::Float32) return false;
  params->clear();
  if (n.op_type == "LeakyRelu") {
    params->push_back(n.attr_float("alpha", 0.01f));
  } else if (n.op_type == "HardSigmoid") {
    params->push_back(n.attr_float("alpha", 0.2f));
    params->push_back(n.attr_float("beta", 0.5f));
  } else if (n.op_type == "Clip") {
    float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
    if (opset < 11) {
      lo = n.attr_float("min", lo);
      hi = n.attr_float("max", hi);
    } else {
      for (size_t i = 1; i < 3 && i < n.inputs.size(); ++i) {
        if (n.inputs[i].empty()) continue;
        const Tensor* v = ctx.constant(n.inputs[i]);
        if (!v || v->dtype() != DType::Float32 || v->numel() != 1) return false;
        (i == 1 ? lo : hi) = v->data<float>()[0];
      }
    }
    params->push_back(lo);
    params->push_back(hi);
  } else if (n.op_type == "Relu" || n.op_type == "Sigmoid" || n.op_type == "Tanh" || n.op_type == "HardSwish") {
  } else {
    return false;
  }
  return true;
}

bool same_known_shape(const TypeInfo* a, const TypeInfo* b) {
  if (!a || !b || !a->is_tensor() || !b->is_tensor() || !a->shape || !b->shape || a->elem != b->elem) return false;
  auto ca = to_concrete(*a->shape), cb = to_concrete(*b->shape);
  if (ca && cb) return *ca == *cb;
  return *a->shape == *b->shape;
}

}  // namespace

int fuse_conv(Graph& g, PassContext& ctx) {
  GraphUses uses(g);
  std::vector<bool> dead(g.nodes.size(), false);
  int fused = 0;
  for (size_t ci = 0; ci < g.nodes.size(); ++ci) {
    const Node& conv = g.nodes[ci];
    if (dead[ci] || !conv.domain.empty() || conv.op_type != "Conv" || conv.outputs.size() != 1) continue;
    const TypeInfo* yt = ctx.type(conv.outputs[0]);
    if (!yt || !yt->is_tensor() || yt->elem != DType::Float32) continue;
    Node f;
    f.domain = "hone";
    f.op_type = "FusedConv";
    f.name = conv.name;
    f.inputs = conv.inputs;
    f.inputs.resize(3);
    f.attributes = conv.attributes;
    std::string out = conv.outputs[0];
    std::vector<size_t> absorbed = {ci};
    // Residual: Add(conv, Z) with Z of the same shape (either operand order).
    int ai = uses.sole_consumer(out);
    if (ai >= 0 && !dead[static_cast<size_t>(ai)]) {
      const Node& add = g.nodes[static_cast<size_t>(ai)];
      if (add.domain.empty() && add.op_type == "Add" && add.inputs.size() == 2 && add.inputs[0] != add.inputs[1]) {
        const std::string& z = add.inputs[0] == out ? add.inputs[1] : add.inputs[0];
        if (!ctx.constant(z) && same_known_shape(ctx.type(z), yt) && same_known_shape(ctx.type(add.outputs[0]), yt)) {
          f.inputs.push_back(z);
          out = add.outputs[0];
          absorbed.push_back(static_cast<size_t>(ai));
        }
      }
    }
    int acti = uses.sole_consumer(out);
    std::vector<float> params;
    if (acti >= 0 && !dead[static_cast<size_t>(acti)]) {
      const Node& act = g.nodes[static_cast<size_t>(acti)];
      if (act.inputs[0] == out && activation_params(act, ctx.opset(act.domain), ctx, &params)) {
        f.attributes.push_back(Attribute::of_string("activation", act.op_type));
        if (!params.empty()) f.attributes.push_back(Attribute::of_floats("activation_params", params));
        out = act.outputs[0];
        absorbed.push_back(static_cast<size_t>(acti));
      }
    }
    if (absorbed.size() == 1) continue;
    f.outputs = {out};
    // The fused node takes the place of the last node it absorbs: every input is available there.
    for (size_t k = 0; k + 1 < absorbed.size(); ++k) dead[absorbed[k]] = true;
    g.nodes[absorbed.back()] = std::move(f);
    ++fused;
  }
  erase_nodes(g, dead);
  return fused;
}

}  // namespace hone
