// ScatterND, ScatterElements, Scatter (deprecated), TensorScatter: a copy of the data with elements written at
// data-provided indices, optionally combined with what is there (reduction add / mul / max / min).
#include "ops/tensor/tensor_util.h"

namespace hone {
namespace {

enum class Reduction { None, Add, Mul, Max, Min };

Reduction reduction_of(const Node& n) {
  std::string r = n.attr_string("reduction", "none");
  if (r == "none") return Reduction::None;
  if (r == "add") return Reduction::Add;
  if (r == "mul") return Reduction::Mul;
  if (r == "max") return Reduction::Max;
  if (r == "min") return Reduction::Min;
  fail("{}: unknown reduction '{}'", n.label(), r);
}

template <typename T>
using Wide = std::conditional_t<std::is_same_v<T, double>, double, std::conditional_t<std::is_integral_v<T>, T, float>>;

template <typename T>
void combine(T& dst, const T& v, Reduction r) {
  using W = Wide<T>;
  switch (r) {
    case Reduction::None: dst = v; break;
    case Reduction::Add: dst = static_cast<T>(static_cast<W>(dst) + static_cast<W>(v)); break;
    case Reduction::Mul: dst = static_cast<T>(static_cast<W>(dst) * static_cast<W>(v)); break;
    case Reduction::Max: if (static_cast<W>(v) > static_cast<W>(dst)) dst = v; break;
    case Reduction::Min: if (static_cast<W>(v) < static_cast<W>(dst)) dst = v; break;
  }
}

// Calls write(dst_offset, src_offset, count) for every update; the kernel then applies it with or without reduction.
template <typename Plan>
void scatter_apply(OpContext& ctx, const Tensor& x, const Tensor& upd, Reduction red, Plan&& plan) {
  if (upd.dtype() != x.dtype())
    fail("{}: updates type {} differs from data type {}", ctx.node().label(), dtype_name(upd.dtype()), dtype_name(x.dtype()));
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), x.shape());
  copy_elements(x, 0, y, 0, x.numel());
  if (red == Reduction::None) {
    plan([&](int64_t dst, int64_t src, int64_t count) { copy_elements(upd, src, y, dst, count); });
    return;
  }
  HONE_DISPATCH_NUMERIC(x.dtype(), ctx.node(), {
    T* py = y.data<T>();
    const T* pu = upd.data<T>();
    plan([&](int64_t dst, int64_t src, int64_t count) {
      for (int64_t i = 0; i < count; ++i) combine(py[dst + i], pu[src + i], red);
    });
  });
}

// ---- ScatterND ----

void scatter_nd(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  const Tensor& upd = ctx.input(2);
  const Node& n = ctx.node();
  std::vector<int64_t> idx = input_ints(ctx, 1, "indices");
  int64_t r = x.rank(), q = ind.rank();
  if (q < 1) fail("{}: indices must have rank >= 1", n.label());
  int64_t k = ind.shape().back();
  if (k < 1 || k > r) fail("{}: indices' last dim {} is out of range for data rank {}", n.label(), k, r);
  Shape expect(ind.shape().begin(), ind.shape().end() - 1);
  expect.insert(expect.end(), x.shape().begin() + k, x.shape().end());
  if (upd.shape() != expect)
    fail("{}: updates shape {} should be {}", n.label(), shape_str(upd.shape()), shape_str(expect));
  std::vector<int64_t> xs = strides_of(x.shape());
  int64_t slice = r > 0 ? xs[static_cast<size_t>(k - 1)] : 1;
  int64_t tuples = shape_numel(Shape(ind.shape().begin(), ind.shape().end() - 1));
  scatter_apply(ctx, x, upd, ctx.opset() >= 16 ? reduction_of(n) : Reduction::None, [&](auto&& write) {
    for (int64_t t = 0; t < tuples; ++t) {
      int64_t off = 0;
      for (int64_t j = 0; j < k; ++j) {
        size_t d = static_cast<size_t>(j);
        off += checked_index(idx[static_cast<size_t>(t * k + j)], x.shape()[d], n, "index") * xs[d];
      }
      write(off, t * slice, slice);
    }
  });
}

// ---- ScatterElements / Scatter ----

void scatter_elements(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  const Tensor& upd = ctx.input(2);
  const Node& n = ctx.node();
  std::vector<int64_t> idx = input_ints(ctx, 1, "indices");
  if (ind.shape() != upd.shape())
    fail("{}: indices shape {} and updates shape {} differ", n.label(), shape_str(ind.shape()), shape_str(upd.shape()));
  if (ind.rank() != x.rank() || x.rank() == 0) fail("{}: data and indices must have the same rank >= 1", n.label());
  size_t axis = static_cast<size_t>(normalize_axis(n.attr_int("axis", 0), x.rank(), n));
  for (size_t d = 0; d < x.shape().size(); ++d)
    if (d != axis && ind.shape()[d] > x.shape()[d])
      fail("{}: indices shape {} exceeds data shape {}", n.label(), shape_str(ind.shape()), shape_str(x.shape()));
  std::vector<int64_t> xs = strides_of(x.shape());
  Reduction red = n.op_type == "ScatterElements" && ctx.opset() >= 16 ? reduction_of(n) : Reduction::None;
  scatter_apply(ctx, x, upd, red, [&](auto&& write) {
    if (ind.numel() == 0) return;
    IndexIterator it(ind.shape());
    int64_t i = 0;
    do {
      int64_t off = 0;
      for (size_t d = 0; d < it.idx.size(); ++d)
        off += (d == axis ? checked_index(idx[static_cast<size_t>(i)], x.shape()[d], n, "index") : it.idx[d]) * xs[d];
      write(off, i, 1);
      ++i;
    } while (it.next());
  });
}

// ---- TensorScatter (opset 24): write `update` into a KV cache at per-batch positions along `axis` ----

void tensor_scatter(OpContext& ctx) {
  const Tensor& cache = ctx.input(0);
  const Tensor& upd = ctx.input(1);
  const Node& n = ctx.node();
  int64_t r = cache.rank();
  if (r < 2) fail("{}: past_cache must have rank >= 2", n.label());
  size_t axis = static_cast<size_t>(normalize_axis(n.attr_int("axis", -2), r, n));
  if (axis == 0) fail("{}: axis cannot be the batch axis", n.label());
  std::string mode = n.attr_string("mode", "linear");
  if (mode != "linear" && mode != "circular") fail("{}: unknown mode '{}'", n.label(), mode);
  if (upd.rank() != r) fail("{}: update rank {} differs from past_cache rank {}", n.label(), upd.rank(), r);
  for (size_t d = 0; d < static_cast<size_t>(r); ++d)
    if (d == axis ? upd.shape()[d] > cache.shape()[d] : upd.shape()[d] != cache.shape()[d])
      fail("{}: update shape {} does not fit past_cache shape {}", n.label(), shape_str(upd.shape()), shape_str(cache.shape()));
  int64_t batch = cache.shape()[0];
  std::vector<int64_t> wi(static_cast<size_t>(batch), 0);
  if (ctx.has_input(2)) {
    wi = input_ints(ctx, 2, "write_indices");
    if (static_cast<int64_t>(wi.size()) != batch) fail("{}: write_indices must have {} entries", n.label(), batch);
  }
  int64_t max_seq = cache.shape()[axis], seq = upd.shape()[axis];
  int64_t outer = 1, inner = 1;  // outer: dims before axis (batch first); inner: after it
  for (size_t d = 0; d < axis; ++d) outer *= cache.shape()[d];
  for (size_t d = axis + 1; d < static_cast<size_t>(r); ++d) inner *= cache.shape()[d];
  int64_t per_batch = batch ? outer / batch : 0;
  scatter_apply(ctx, cache, upd, Reduction::None, [&](auto&& write) {
    for (int64_t o = 0; o < outer; ++o) {
      int64_t start = wi[static_cast<size_t>(o / per_batch)];
      for (int64_t s = 0; s < seq; ++s) {
        int64_t pos = start + s;
        if (mode == "circular") pos = ((pos % max_seq) + max_seq) % max_seq;
        if (pos < 0 || pos >= max_seq) fail("{}: write position {} is out of range [0, {})", n.label(), pos, max_seq);
        write((o * max_seq + pos) * inner, (o * seq + s) * inner, inner);
      }
    }
  });
}

}  // namespace

HONE_REGISTER_OP({.name = "ScatterND", .since = 11, .infer = infer_same_as_input, .compute = scatter_nd});
HONE_REGISTER_OP({.name = "ScatterElements", .since = 11, .infer = infer_same_as_input, .compute = scatter_elements});
HONE_REGISTER_OP({.name = "Scatter", .since = 9, .until = 10, .infer = infer_same_as_input, .compute = scatter_elements});
HONE_REGISTER_OP({.name = "TensorScatter", .since = 24, .infer = infer_same_as_input, .compute = tensor_scatter});

}  // namespace hone
