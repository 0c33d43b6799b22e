// TopK: the k largest (or smallest) elements along an axis and their int64 indices. Opset 1 takes k as an
// attribute; from opset 10 it is a 1-element int64 input; opset 11 adds `largest` and `sorted`. Equal values are
// ordered by lower index first; results are always sorted (allowed when sorted = 0). NaN ranks above every number
// when largest, and below it when smallest.
#include <algorithm>
#include <numeric>

#include "ops/reduce/axes.h"

namespace hone {
namespace {

int64_t topk_k(OpContext& ctx) {
  if (ctx.opset() < 10) return ctx.node().require_int("k");
  const Tensor& k = ctx.input(1);
  if (k.numel() != 1 || !is_integer(k.dtype()))
    fail("{}: K must be a 1-element integer tensor, got {} of shape {}", ctx.node().label(), dtype_name(k.dtype()), shape_str(k.shape()));
  return k.get_int(0);
}

template <typename T>
void topk_typed(const Tensor& x, Tensor& values, Tensor& indices, int64_t axis, int64_t k, bool largest) {
  AxisSplit s = split_at_axis(x.shape(), axis);
  const T* px = x.data<T>();
  T* pv = values.data<T>();
  int64_t* pi = indices.data<int64_t>();
  std::vector<int64_t> order(static_cast<size_t>(s.n));
  // integers compare exactly in their own type; floats (half types included) as double
  using K = std::conditional_t<std::is_integral_v<T>, T, double>;
  std::vector<K> keys(static_cast<size_t>(s.n));
  for (int64_t o = 0; o < s.outer; ++o) {
    for (int64_t in = 0; in < s.inner; ++in) {
      int64_t base = o * s.n * s.inner + in;
      for (int64_t j = 0; j < s.n; ++j) keys[static_cast<size_t>(j)] = static_cast<K>(px[base + j * s.inner]);
      std::iota(order.begin(), order.end(), 0);
      auto before = [&](int64_t a, int64_t b) {
        K ka = keys[static_cast<size_t>(a)], kb = keys[static_cast<size_t>(b)];
        bool na = ka != ka, nb = kb != kb;
        if (na || nb) return largest ? (na && !nb) : (!na && nb);
        if (ka != kb) return largest ? ka > kb : ka < kb;
        return a < b;
      };
      std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
      for (int64_t j = 0; j < k; ++j) {
        int64_t src = order[static_cast<size_t>(j)];
        int64_t dst = o * k * s.inner + j * s.inner + in;
        pv[dst] = px[base + src * s.inner];
        pi[dst] = src;
      }
    }
  }
}

void topk(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  if (x.rank() == 0) fail("{}: input must have rank >= 1", node.label());
  int64_t axis = normalize_axis(node.attr_int("axis", -1), x.rank(), node);
  int64_t k = topk_k(ctx);
  int64_t n = x.dim(static_cast<int>(axis));
  if (k < 0 || k > n) fail("{}: K = {} is out of range for axis {} of size {}", node.label(), k, axis, n);
  bool largest = ctx.opset() < 11 || node.attr_int("largest", 1) != 0;
  Shape out = x.shape();
  out[static_cast<size_t>(axis)] = k;
  Tensor& values = ctx.output_uninitialized(0, x.dtype(), out);
  Tensor& indices = ctx.output_uninitialized(1, DType::Int64, out);
  HONE_DISPATCH_NUMERIC(x.dtype(), node, topk_typed<T>(x, values, indices, axis, k, largest));
}

void infer_topk(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const SymShape* in = ctx.input_shape(0);
  if (!in || in->empty()) {
    ctx.set_output_tensor(0, dt, std::nullopt);
    ctx.set_output_tensor(1, DType::Int64, std::nullopt);
    return;
  }
  int64_t axis = normalize_axis(ctx.node().attr_int("axis", -1), static_cast<int64_t>(in->size()), ctx.node());
  SymShape out(*in);
  Dim kd;
  if (ctx.opset() < 10) kd = Dim(ctx.node().require_int("k"));
  else if (const Tensor* k = ctx.input_value(1); k && k->numel() == 1 && is_integer(k->dtype()) && k->get_int(0) >= 0)
    kd = Dim(k->get_int(0));
  out[static_cast<size_t>(axis)] = kd;
  ctx.set_output_tensor(0, dt, out);
  ctx.set_output_tensor(1, DType::Int64, out);
}

}  // namespace

HONE_REGISTER_OP({.name = "TopK", .since = 1, .infer = infer_topk, .compute = topk});

}  // namespace hone
