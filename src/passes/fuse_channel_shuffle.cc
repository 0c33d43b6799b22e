// Runtime lowering: ShuffleNet's channel shuffle, written in models as
//   Reshape(x [N, C, H, W] -> [N, g, C/g, H, W]) -> Transpose(perm 0, 2, 1, 3, 4) -> Reshape(-> [N, C, H, W]),
// becomes one hone.ChannelShuffle(x, group = g). Rank-5 intermediates cannot be channels-last, so the pattern made
// every shuffle a pair of layout transforms between convolutions (ShuffleNet: 16 shuffles, 33 transforms a run).
// Only when x is float32 with a concrete shape and the intermediates have no other reader.
#include "passes/pass.h"

namespace hone {
namespace {

std::optional<Shape> concrete(const PassContext& ctx, const std::string& name) {
  const TypeInfo* t = ctx.type(name);
  if (!t || !t->is_tensor() || t->elem != DType::Float32 || !t->shape) return std::nullopt;
  return to_concrete(*t->shape);
}

}  // namespace

int fuse_channel_shuffle(Graph& g, PassContext& ctx) {
  GraphUses uses(g);
  std::vector<bool> dead(g.nodes.size(), false);
  int fused = 0;
  for (size_t ti = 0; ti < g.nodes.size(); ++ti) {
    Node& tr = g.nodes[ti];
    if (tr.op_type != "Transpose" || !tr.domain.empty() || tr.inputs.size() != 1 || tr.outputs.size() != 1) continue;
    if (tr.attr_ints("perm") != std::vector<int64_t>{0, 2, 1, 3, 4}) continue;
    int r1 = uses.producer(tr.inputs[0]);
    if (r1 < 0 || dead[static_cast<size_t>(r1)] || uses.sole_consumer(tr.inputs[0]) != static_cast<int>(ti)) continue;
    int r2 = uses.sole_consumer(tr.outputs[0]);
    if (r2 < 0 || dead[static_cast<size_t>(r2)]) continue;
    const Node& first = g.nodes[static_cast<size_t>(r1)];
    const Node& last = g.nodes[static_cast<size_t>(r2)];
    if (first.op_type != "Reshape" || !first.domain.empty() || last.op_type != "Reshape" || !last.domain.empty())
      continue;
    std::optional<Shape> x = concrete(ctx, first.inputs[0]), mid = concrete(ctx, first.outputs[0]),
                         y = concrete(ctx, last.outputs[0]);
    if (!x || !mid || !y || x->size() != 4 || mid->size() != 5 || *y != *x) continue;
    const Shape& m = *mid;
    if (m[0] != (*x)[0] || m[1] * m[2] != (*x)[1] || m[3] != (*x)[2] || m[4] != (*x)[3] || m[1] <= 0) continue;
    Node shuffle{tr.name.empty() ? last.name : tr.name, "ChannelShuffle", "hone", {first.inputs[0]},
                 {last.outputs[0]}, {Attribute::of_int("group", m[1])}, ""};
    dead[static_cast<size_t>(r1)] = true;
    dead[static_cast<size_t>(r2)] = true;
    tr = std::move(shuffle);  // in the transpose's place: after x's producer, before the output's readers
    ++fused;
  }
  erase_nodes(g, dead);
  return fused;
}

}  // namespace hone
