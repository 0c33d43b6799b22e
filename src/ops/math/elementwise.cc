#include "ops/math/elementwise.h"

namespace hone {

void require_same_dtype(const OpContext& ctx, const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype())
    fail("{}: inputs have different element types ({} and {})", ctx.node().label(), dtype_name(a.dtype()),
         dtype_name(b.dtype()));
}

Tensor legacy_broadcast_view(const OpContext& ctx, const Tensor& a, const Tensor& b) {
  const Node& node = ctx.node();
  int64_t rank_a = a.rank(), rank_b = b.rank();
  if (node.attr_int("broadcast", 0) == 0) {
    if (a.shape() != b.shape())
      fail("{}: shapes {} and {} differ and the broadcast attribute is not set", node.label(), shape_str(a.shape()),
           shape_str(b.shape()));
    return b;
  }
  if (b.numel() == 1) return b.reshaped(Shape(static_cast<size_t>(rank_a), 1));
  if (rank_b > rank_a)
    fail("{}: cannot broadcast: B ({}) has more dims than A ({})", node.label(), shape_str(b.shape()),
         shape_str(a.shape()));
  int64_t axis = node.attr_int("axis", rank_a - rank_b);
  if (axis < 0) axis += rank_a;
  if (axis < 0 || axis + rank_b > rank_a)
    fail("{}: cannot broadcast shape {} into {} at axis {}", node.label(), shape_str(b.shape()),
         shape_str(a.shape()), node.attr_int("axis", rank_a - rank_b));
  Shape aligned(static_cast<size_t>(rank_a), 1);
  for (int64_t i = 0; i < rank_b; ++i) {
    int64_t d = b.dim(static_cast<int>(i));
    if (d != 1 && d != a.dim(static_cast<int>(axis + i)))
      fail("{}: cannot broadcast shape {} into {} at axis {}", node.label(), shape_str(b.shape()),
           shape_str(a.shape()), axis);
    aligned[static_cast<size_t>(axis + i)] = d;
  }
  return b.reshaped(aligned);
}

void infer_legacy_broadcast(InferenceContext& ctx) {
  if (ctx.has_input(0)) ctx.set_output(0, ctx.input_type(0));
}

void infer_legacy_broadcast_bool(InferenceContext& ctx) {
  const SymShape* s = ctx.input_shape(0);
  ctx.set_output_tensor(0, DType::Bool, s ? std::optional<SymShape>(*s) : std::nullopt);
}

void infer_bool_same_shape(InferenceContext& ctx) { infer_legacy_broadcast_bool(ctx); }

}  // namespace hone
