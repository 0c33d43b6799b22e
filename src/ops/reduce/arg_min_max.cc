// ArgMax, ArgMin: index of the extreme element along one axis (int64). Ties pick the first occurrence, or the last
// with select_last_index (opset 12+). NaN counts as the extreme (as numpy's argmax does) and the first one wins.
#include "ops/reduce/axes.h"

namespace hone {
namespace {

template <typename T>
void arg_typed(const Tensor& x, Tensor& y, int64_t axis, bool is_max, bool last) {
  using K = std::conditional_t<std::is_integral_v<T>, T, double>;  // integers compare exactly
  AxisSplit s = split_at_axis(x.shape(), axis);
  const T* px = x.data<T>();
  int64_t* py = y.data<int64_t>();
  for (int64_t o = 0; o < s.outer; ++o) {
    for (int64_t in = 0; in < s.inner; ++in) {
      const T* base = px + o * s.n * s.inner + in;
      int64_t best = 0;
      K bv = static_cast<K>(base[0]);
      for (int64_t k = 1; k < s.n; ++k) {
        if (bv != bv) break;  // a NaN is already chosen
        K v = static_cast<K>(base[k * s.inner]);
        bool better = v != v || (is_max ? (last ? v >= bv : v > bv) : (last ? v <= bv : v < bv));
        if (better) {
          best = k;
          bv = v;
        }
      }
      py[o * s.inner + in] = best;
    }
  }
}

void arg_min_max(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  int64_t axis = normalize_axis(node.attr_int("axis", 0), x.rank(), node);
  bool keepdims = node.attr_int("keepdims", 1) != 0;
  bool last = node.attr_int("select_last_index", 0) != 0;
  if (x.rank() == 0) fail("{}: input must have rank >= 1", node.label());
  if (x.dim(static_cast<int>(axis)) == 0) fail("{}: cannot take the {} of an empty axis", node.label(), node.op_type);
  std::vector<bool> flags(static_cast<size_t>(x.rank()), false);
  flags[static_cast<size_t>(axis)] = true;
  Tensor& y = ctx.output_uninitialized(0, DType::Int64, reduced_shape(x.shape(), flags, keepdims));
  bool is_max = node.op_type == "ArgMax";
  if (x.dtype() == DType::Bool) {
    arg_typed<uint8_t>(x, y, axis, is_max, last);
    return;
  }
  HONE_DISPATCH_NUMERIC(x.dtype(), node, arg_typed<T>(x, y, axis, is_max, last));
}

void infer_arg_min_max(InferenceContext& ctx) {
  const SymShape* in = ctx.input_shape(0);
  if (!in) {
    ctx.set_output_tensor(0, DType::Int64, std::nullopt);
    return;
  }
  const Node& node = ctx.node();
  int64_t rank = static_cast<int64_t>(in->size());
  int64_t axis = normalize_axis(node.attr_int("axis", 0), rank, node);
  bool keepdims = node.attr_int("keepdims", 1) != 0;
  SymShape out;
  for (int64_t d = 0; d < rank; ++d) {
    if (d != axis) out.push_back((*in)[static_cast<size_t>(d)]);
    else if (keepdims) out.push_back(Dim(1));
  }
  ctx.set_output_tensor(0, DType::Int64, out);
}

}  // namespace

HONE_REGISTER_OP({.name = "ArgMax", .since = 1, .infer = infer_arg_min_max, .compute = arg_min_max});
HONE_REGISTER_OP({.name = "ArgMin", .since = 1, .infer = infer_arg_min_max, .compute = arg_min_max});

}  // namespace hone
