// CumSum (opset 11+), CumProd (opset 26+): running sum / product along the axis given as a scalar input.
// exclusive: each output leaves out its own element (starts from the identity); reverse: runs from the end.
#include "ops/reduce/axes.h"

namespace hone {
namespace {

template <typename T>
void cumulative_typed(const Tensor& x, Tensor& y, int64_t axis, bool product, bool exclusive, bool reverse) {
  AxisSplit s = split_at_axis(x.shape(), axis);
  const T* px = x.data<T>();
  T* py = y.data<T>();
  // integers wrap (computed modulo 2^64, then narrowed) instead of overflowing
  using A = std::conditional_t<std::is_integral_v<T>, uint64_t, std::conditional_t<std::is_same_v<T, double>, double, float>>;
  for (int64_t o = 0; o < s.outer; ++o) {
    for (int64_t in = 0; in < s.inner; ++in) {
      int64_t base = o * s.n * s.inner + in;
      A acc = product ? A(1) : A(0);
      for (int64_t j = 0; j < s.n; ++j) {
        int64_t k = reverse ? s.n - 1 - j : j;
        int64_t idx = base + k * s.inner;
        A v = static_cast<A>(px[idx]);  // NOLINT: sign-wrapping for integers is intended
        if (exclusive) {
          py[idx] = static_cast<T>(acc);
          acc = static_cast<A>(product ? acc * v : acc + v);
        } else {
          acc = static_cast<A>(product ? acc * v : acc + v);
          py[idx] = static_cast<T>(acc);
        }
      }
    }
  }
}

void cumulative(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  const Tensor& a = ctx.input(1);
  if (a.numel() != 1 || a.rank() > 1 || !is_integer(a.dtype()))
    fail("{}: axis must be an integer scalar, got {} of shape {}", node.label(), dtype_name(a.dtype()), shape_str(a.shape()));
  if (x.rank() == 0) fail("{}: input must have rank >= 1", node.label());
  int64_t axis = normalize_axis(a.get_int(0), x.rank(), node);
  bool exclusive = node.attr_int("exclusive", 0) != 0;
  bool reverse = node.attr_int("reverse", 0) != 0;
  bool product = node.op_type == "CumProd";
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), x.shape());
  HONE_DISPATCH_NUMERIC(x.dtype(), node, cumulative_typed<T>(x, y, axis, product, exclusive, reverse));
}

}  // namespace

HONE_REGISTER_OP({.name = "CumSum", .since = 11, .infer = infer_same_as_input, .compute = cumulative});
HONE_REGISTER_OP({.name = "CumProd", .since = 26, .infer = infer_same_as_input, .compute = cumulative});

}  // namespace hone
