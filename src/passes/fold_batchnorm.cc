// Conv -> BatchNormalization (inference form, constant statistics) becomes one Conv with scaled weights and a new
// bias: y = s * (conv(x, W) + b - mean) + beta with s = gamma / sqrt(var + eps) is conv(x, s*W) + s*(b - mean) + beta.
// ConvTranspose likewise (its output channel is weight axis 1, per group).
#include <cmath>

#include "passes/pass_manager.h"

namespace hone {
namespace {

// Per-channel scale and shift of an inference BatchNormalization with constant parameters, or false.
bool bn_affine(const Node& bn, int64_t opset, const PassContext& ctx, std::vector<float>* scale, std::vector<float>* shift) {
  if (bn.inputs.size() < 5 || bn.outputs.empty()) return false;
  for (size_t i = 1; i < bn.outputs.size(); ++i)
    if (!bn.outputs[i].empty()) return false;  // training outputs requested
  if (bn.attr_int("training_mode", 0) != 0) return false;
  if (opset < 7 && (bn.attr_int("is_test", 1) == 0 || bn.attr_int("spatial", 1) != 1)) return false;
  if (opset >= 7 && opset < 9 && bn.attr_int("spatial", 1) != 1) return false;
  const Tensor* p[4];
  for (int i = 0; i < 4; ++i) {
    p[i] = ctx.constant(bn.inputs[static_cast<size_t>(i) + 1]);
    if (!p[i] || p[i]->dtype() != DType::Float32 || p[i]->rank() != 1) return false;
  }
  int64_t c = p[0]->numel();
  for (int i = 1; i < 4; ++i)
    if (p[i]->numel() != c) return false;
  float eps = bn.attr_float("epsilon", 1e-5f);
  scale->resize(static_cast<size_t>(c));
  shift->resize(static_cast<size_t>(c));
  for (int64_t k = 0; k < c; ++k) {
    double s = p[0]->data<float>()[k] / std::sqrt(static_cast<double>(p[3]->data<float>()[k]) + eps);
    (*scale)[static_cast<size_t>(k)] = static_cast<float>(s);
    (*shift)[static_cast<size_t>(k)] = static_cast<float>(p[1]->data<float>()[k] - s * p[2]->data<float>()[k]);
  }
  return true;
}

std::string fresh_name(const Graph& g, const std::string& base) {
  std::string name = base;
  for (int i = 1; g.initializers.count(name); ++i) name = base + "_" + std::to_string(i);
  return name;
}

}  // namespace

int fold_batchnorm(Graph& g, PassContext& ctx) {
  GraphUses uses(g);
  std::vector<bool> dead(g.nodes.size(), false);
  int folded = 0;
  for (size_t ci = 0; ci < g.nodes.size(); ++ci) {
    Node& conv = g.nodes[ci];
    bool transpose = conv.op_type == "ConvTranspose";
    if (!conv.domain.empty() || (conv.op_type != "Conv" && !transpose) || conv.outputs.size() != 1 || conv.inputs.size() < 2)
      continue;
    int bi = uses.sole_consumer(conv.outputs[0]);
    if (bi < 0 || dead[static_cast<size_t>(bi)]) continue;
    const Node& bn = g.nodes[static_cast<size_t>(bi)];
    if (!bn.domain.empty() || bn.op_type != "BatchNormalization" || bn.inputs[0] != conv.outputs[0]) continue;
    const Tensor* w = ctx.constant(conv.inputs[1]);
    const Tensor* b = conv.inputs.size() > 2 && !conv.inputs[2].empty() ? ctx.constant(conv.inputs[2]) : nullptr;
    if (!w || w->dtype() != DType::Float32 || w->rank() < 3) continue;
    if (conv.inputs.size() > 2 && !conv.inputs[2].empty() && (!b || b->dtype() != DType::Float32)) continue;
    std::vector<float> scale, shift;
    if (!bn_affine(bn, ctx.opset(bn.domain), ctx, &scale, &shift)) continue;
    int64_t group = conv.attr_int("group", 1);
    int64_t out_ch = transpose ? w->dim(1) * group : w->dim(0);
    if (static_cast<int64_t>(scale.size()) != out_ch || (b && b->numel() != out_ch) || group < 1) continue;

    Tensor nw = w->clone();
    float* wd = nw.data<float>();
    if (!transpose) {  // [M, C/g, k...]: output channel is axis 0
      int64_t per = w->numel() / w->dim(0);
      for (int64_t m = 0; m < w->dim(0); ++m)
        for (int64_t j = 0; j < per; ++j) wd[m * per + j] *= scale[static_cast<size_t>(m)];
    } else {  // [C, M/g, k...]: output channel g*(M/g) + axis-1 index, group = input channel / (C/g)
      int64_t c_in = w->dim(0), m_per = w->dim(1), kk = w->numel() / (c_in * m_per);
      for (int64_t c = 0; c < c_in; ++c) {
        int64_t gi = c / (c_in / group);
        for (int64_t m = 0; m < m_per; ++m)
          for (int64_t j = 0; j < kk; ++j) wd[(c * m_per + m) * kk + j] *= scale[static_cast<size_t>(gi * m_per + m)];
      }
    }
    Tensor nb(DType::Float32, {out_ch});
    for (int64_t m = 0; m < out_ch; ++m)
      nb.data<float>()[m] = scale[static_cast<size_t>(m)] * (b ? b->data<float>()[m] : 0.f) + shift[static_cast<size_t>(m)];
    std::string wn = fresh_name(g, conv.inputs[1] + "_bnfold"), bn_name = fresh_name(g, wn + "_bias");
    g.initializers[wn] = nw;
    g.initializers[bn_name] = nb;
    ctx.types.constants[wn] = nw;
    ctx.types.constants[bn_name] = nb;
    conv.inputs.resize(3);
    conv.inputs[1] = wn;
    conv.inputs[2] = bn_name;
    conv.outputs[0] = bn.outputs[0];
    dead[static_cast<size_t>(bi)] = true;
    ++folded;
  }
  erase_nodes(g, dead);
  return folded;
}

HONE_REGISTER_PASS({.name = "fold-batchnorm",
                    .summary = "BatchNormalization after a Conv/ConvTranspose folded into its weights and bias",
                    .order = 300,
                    .run = fold_batchnorm});

}  // namespace hone
