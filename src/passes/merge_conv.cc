// A pointwise Conv (1x1, group 1, stride 1, no padding) directly after another Conv (group 1) with nothing
// non-linear between them is one conv: with W1 [M1, C, k...], W2 [M2, M1, 1...],
//   W'[m2, c, k] = sum_m1 W2[m2, m1] * W1[m1, c, k],   b'[m2] = sum_m1 W2[m2, m1] * b1[m1] + b2[m2],
// on the first conv's grid (its strides, pads, dilations). Merged only when that costs no more multiply-adds per
// output position than the pair (M2 * C * K <= M1 * C * K + M2 * M1): a 1x1 that widens a cheap conv stays.
#include <algorithm>

#include "passes/pass_manager.h"
#include "passes/weight_folding.h"

namespace hone {

using namespace folding;  // NOLINT: the weight-folding helpers are this file's vocabulary

int merge_conv(Graph& g, PassContext& ctx) {
  GraphUses uses(g);
  std::vector<bool> dead(g.nodes.size(), false);
  int merged = 0;
  for (size_t i2 = 0; i2 < g.nodes.size(); ++i2) {
    Node& c2 = g.nodes[i2];
    ConvWeights w2, w1;
    ConvWindow geo2, geo1;
    if (!c2.domain.empty() || c2.op_type != "Conv" || !conv_weights(c2, ctx, &w2) || !conv_window(c2, *w2.w, &geo2) ||
        geo2.group != 1 || !geo2.unit_strides() || !geo2.unpadded() || w2.w->numel() != w2.w->dim(0) * w2.w->dim(1))
      continue;
    int i1 = uses.producer(c2.inputs[0]);
    if (i1 < 0 || dead[static_cast<size_t>(i1)] || uses.sole_consumer(c2.inputs[0]) != static_cast<int>(i2)) continue;
    Node& c1 = g.nodes[static_cast<size_t>(i1)];
    if (!c1.domain.empty() || c1.op_type != "Conv" || !conv_weights(c1, ctx, &w1) || !conv_window(c1, *w1.w, &geo1) ||
        geo1.group != 1 || w1.w->rank() != w2.w->rank() || w2.w->dim(1) != w1.out_channels)
      continue;
    int64_t m2 = w2.out_channels, m1 = w1.out_channels;
    if (m1 < 1 || m2 < 1) continue;
    int64_t ck = w1.w->numel() / m1;            // C * prod(kernel)
    if (m2 * ck > m1 * ck + m2 * m1) continue;  // the merged conv would cost more

    Tensor nw(DType::Float32, [&] {
      Shape s = w1.w->shape();
      s[0] = m2;
      return s;
    }());
    Tensor nb(DType::Float32, {m2});
    const float* a = w2.w->data<float>();
    const float* b = w1.w->data<float>();
    std::vector<double> acc(static_cast<size_t>(ck));
    for (int64_t o = 0; o < m2; ++o) {
      std::fill(acc.begin(), acc.end(), 0.0);
      double bias = w2.b ? w2.b->data<float>()[o] : 0.0;
      for (int64_t j = 0; j < m1; ++j) {
        double s = a[o * m1 + j];
        if (w1.b) bias += s * w1.b->data<float>()[j];
        for (int64_t k = 0; k < ck; ++k) acc[static_cast<size_t>(k)] += s * b[j * ck + k];
      }
      for (int64_t k = 0; k < ck; ++k) nw.data<float>()[o * ck + k] = static_cast<float>(acc[static_cast<size_t>(k)]);
      nb.data<float>()[o] = static_cast<float>(bias);
    }
    Node merged_conv = c1;  // the first conv's geometry, the second conv's output
    merged_conv.inputs = {c1.inputs[0], add_initializer(g, ctx, c2.inputs[1] + "_merged", nw),
                          add_initializer(g, ctx, c2.inputs[1] + "_merged_bias", nb)};
    merged_conv.outputs = c2.outputs;
    dead[static_cast<size_t>(i1)] = true;
    c2 = std::move(merged_conv);
    ++merged;
  }
  erase_nodes(g, dead);
  return merged;
}

HONE_REGISTER_PASS({.name = "merge-conv",
                    .summary = "a 1x1 Conv right after a Conv (no non-linearity between) merged into it",
                    .order = 650,
                    .run = merge_conv});

}  // namespace hone
