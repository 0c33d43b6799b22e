// BatchNormalization (inference form, constant statistics) folded into the weights of a neighbouring layer. With
// s = gamma / sqrt(var + eps) and t = beta - s * mean per channel, BN(y) = s * y + t:
//   - after a Conv / ConvTranspose: conv(x, s*W) + s*b + t (ConvTranspose's output channel is weight axis 1, per
//     group);
//   - after a Gemm with constant B (C absent or constant): B's column n scaled by s[n], C' = beta * C * s + t;
//   - after a MatMul with a constant 2-D B whose output is [M, N] (BN's channel axis 1 is then the column):
//     MatMul(A, B * s) followed by Add(t) (matmul-add-to-gemm may make that a Gemm);
//   - before a Conv without padding: conv(s*x + t, W) = conv(x, W * s over input channels) + sum(W * t). With
//     padding it is not exact (the conv pads s*x + t with zeros, not with t), so padded convs are left alone.
// The value between BN and the other layer must have no other reader and not be a graph output.
#include "passes/pass_manager.h"
#include "passes/weight_folding.h"

namespace hone {

using namespace folding;  // NOLINT: the weight-folding helpers are this file's vocabulary
namespace {

// BN after the layer producing its input. Returns how many BNs it folded.
int fold_into_producers(Graph& g, PassContext& ctx) {
  GraphUses uses(g);
  std::vector<bool> dead(g.nodes.size(), false);
  int64_t opset = ctx.opset("");
  int folded = 0;
  for (size_t bi = 0; bi < g.nodes.size(); ++bi) {
    ChannelAffine a;
    if (!batchnorm_affine(g.nodes[bi], ctx.opset(g.nodes[bi].domain), ctx, &a)) continue;
    const std::string y = g.nodes[bi].inputs[0];
    int pi = uses.producer(y);
    if (pi < 0 || uses.sole_consumer(y) != static_cast<int>(bi)) continue;
    Node& p = g.nodes[static_cast<size_t>(pi)];
    if (!p.domain.empty() || p.outputs.size() != 1) continue;
    int64_t n = static_cast<int64_t>(a.size());
    const std::string out = g.nodes[bi].outputs[0];
    ConvWeights cw;
    GemmWeights gw;
    if ((p.op_type == "Conv" || p.op_type == "ConvTranspose") && conv_weights(p, ctx, &cw) && cw.out_channels == n) {
      fold_affine_into_conv(g, ctx, p, cw, a);
      p.outputs[0] = out;
      dead[bi] = true;
    } else if (p.op_type == "Gemm" && gemm_weights(p, opset, ctx, &gw) && gw.n == n) {
      Addend2D shift{.rows = 1, .cols = n, .v = a.shift};
      if (!fold_affine_into_gemm(g, ctx, p, gw, a.scale, shift)) continue;
      p.outputs[0] = out;
      dead[bi] = true;
    } else if (p.op_type == "MatMul" && opset >= 7 && p.inputs.size() == 2 && known_rank(ctx, y) == 2) {
      const Tensor* b = ctx.constant(p.inputs[1]);
      if (!b || b->dtype() != DType::Float32 || b->rank() != 2 || b->dim(1) != n) continue;
      p.inputs[1] = scaled_columns(g, ctx, p.inputs[1], *b, a.scale);
      if (all_equal(a.shift, 0.0)) {
        p.outputs[0] = out;
        dead[bi] = true;
      } else {  // the BN becomes the Add of its shift
        Tensor t(DType::Float32, {n});
        for (int64_t k = 0; k < n; ++k) t.data<float>()[k] = static_cast<float>(a.shift[static_cast<size_t>(k)]);
        Node add;
        add.name = g.nodes[bi].name;
        add.op_type = "Add";
        add.inputs = {y, add_initializer(g, ctx, p.inputs[1] + "_bias", t)};
        add.outputs = {out};
        g.nodes[bi] = std::move(add);
      }
    } else {
      continue;
    }
    ++folded;
  }
  erase_nodes(g, dead);
  return folded;
}

// BN read only by an unpadded Conv (as its data input): folded into the conv's input channels.
int fold_into_consumers(Graph& g, PassContext& ctx) {
  GraphUses uses(g);
  std::vector<bool> dead(g.nodes.size(), false);
  int folded = 0;
  for (size_t bi = 0; bi < g.nodes.size(); ++bi) {
    ChannelAffine a;
    if (!batchnorm_affine(g.nodes[bi], ctx.opset(g.nodes[bi].domain), ctx, &a)) continue;
    int ci = uses.sole_consumer(g.nodes[bi].outputs[0]);
    if (ci < 0) continue;
    Node& conv = g.nodes[static_cast<size_t>(ci)];
    ConvWeights cw;
    ConvWindow geo;
    if (conv.op_type != "Conv" || conv.inputs[0] != g.nodes[bi].outputs[0] || !conv_weights(conv, ctx, &cw) ||
        !conv_window(conv, *cw.w, &geo) || !geo.unpadded())
      continue;
    const Tensor& w = *cw.w;
    int64_t m_out = w.dim(0), cg = w.dim(1), kk = w.numel() / (m_out * cg), m_per = m_out / geo.group;
    if (cg * geo.group != static_cast<int64_t>(a.size())) continue;
    // W is [M, C/g, k...]; output channel m reads input channels gi*(C/g) + c' with gi = m / (M/g).
    Tensor nw(DType::Float32, w.shape());
    Tensor nb(DType::Float32, {m_out});
    for (int64_t m = 0; m < m_out; ++m) {
      int64_t c0 = (m / m_per) * cg;
      double bias = cw.b ? cw.b->data<float>()[m] : 0.0;
      for (int64_t c = 0; c < cg; ++c) {
        double s = a.scale[static_cast<size_t>(c0 + c)], t = a.shift[static_cast<size_t>(c0 + c)];
        for (int64_t j = 0; j < kk; ++j) {
          int64_t at = (m * cg + c) * kk + j;
          double wv = w.data<float>()[at];
          nw.data<float>()[at] = static_cast<float>(wv * s);
          bias += wv * t;
        }
      }
      nb.data<float>()[m] = static_cast<float>(bias);
    }
    conv.inputs.resize(3);
    conv.inputs[0] = g.nodes[bi].inputs[0];
    conv.inputs[2] = add_initializer(g, ctx, conv.inputs[1] + "_bnfold_bias", nb);
    conv.inputs[1] = add_initializer(g, ctx, conv.inputs[1] + "_bnfold", nw);
    dead[bi] = true;
    ++folded;
  }
  erase_nodes(g, dead);
  return folded;
}

}  // namespace

int fold_batchnorm(Graph& g, PassContext& ctx) {
  int folded = fold_into_producers(g, ctx);
  return folded + fold_into_consumers(g, ctx);
}

HONE_REGISTER_PASS({.name = "fold-batchnorm",
                    .summary = "BatchNormalization folded into the Conv / ConvTranspose / Gemm / MatMul before it, or "
                               "into an unpadded Conv after it",
                    .order = 300,
                    .run = fold_batchnorm});

}  // namespace hone
