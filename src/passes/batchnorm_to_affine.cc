// A BatchNormalization left over after fold-batchnorm (inference form, constant statistics, nothing to fold into)
// becomes Mul + Add by per-channel constants shaped [C, 1, ...] so that they broadcast along axis 1: two cheap
// element-wise ops that every runtime fuses, and that fold-scale can fold into a Conv or Gemm met later.
#include "passes/pass_manager.h"
#include "passes/weight_folding.h"

namespace hone {

using namespace folding;  // NOLINT: the weight-folding helpers are this file's vocabulary

int batchnorm_to_affine(Graph& g, PassContext& ctx) {
  if (ctx.opset("") < 7) return 0;  // Mul / Add broadcast numpy-style from opset 7 on
  std::vector<Node> out;
  out.reserve(g.nodes.size());
  int rewritten = 0;
  for (Node& bn : g.nodes) {
    ChannelAffine a;
    DType elem = DType::Undefined;
    int rank = known_rank(ctx, bn.inputs.empty() ? "" : bn.inputs[0], &elem);
    if (!batchnorm_affine(bn, ctx.opset(bn.domain), ctx, &a) || rank < 2) {
      out.push_back(std::move(bn));
      continue;
    }
    int64_t c = static_cast<int64_t>(a.size());
    Shape per_channel(static_cast<size_t>(rank - 1), 1);  // [C, 1, ...]: aligns C with axis 1 of a rank-r input
    per_channel[0] = c;
    Tensor scale(DType::Float32, per_channel), shift(DType::Float32, per_channel);
    for (int64_t k = 0; k < c; ++k) {
      scale.data<float>()[k] = static_cast<float>(a.scale[static_cast<size_t>(k)]);
      shift.data<float>()[k] = static_cast<float>(a.shift[static_cast<size_t>(k)]);
    }
    std::string base = bn.name.empty() ? bn.outputs[0] : bn.name;
    const TypeInfo* yt = ctx.type(bn.outputs[0]);
    std::string scaled = add_value_name(g, ctx, base + "_scaled", yt ? *yt : TypeInfo::tensor(DType::Float32));
    Node mul{.name = base + "_scale",
             .op_type = "Mul",
             .inputs = {bn.inputs[0], add_initializer(g, ctx, base + "_scale", scale)},
             .outputs = {scaled}};
    Node add{.name = base + "_shift",
             .op_type = "Add",
             .inputs = {scaled, add_initializer(g, ctx, base + "_shift", shift)},
             .outputs = {bn.outputs[0]}};
    out.push_back(std::move(mul));
    out.push_back(std::move(add));
    ++rewritten;
  }
  g.nodes = std::move(out);
  return rewritten;
}

HONE_REGISTER_PASS({.name = "batchnorm-to-affine",
                    .summary = "a BatchNormalization with nothing to fold into becomes a per-channel Mul and Add",
                    .order = 900,
                    .run = batchnorm_to_affine,
                    .at_load = false});

}  // namespace hone
