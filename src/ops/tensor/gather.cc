// Gather, GatherElements, GatherND: read elements at data-provided indices (negative indices count from the end;
// out-of-range indices throw).
#include "ops/tensor/tensor_util.h"

namespace hone {
namespace {

std::vector<int64_t> indices_of(const OpContext& ctx, size_t i) { return input_ints(ctx, i, "indices"); }

// ---- Gather ----

void gather(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> idx = indices_of(ctx, 1);
  const Shape& ishape = ctx.input(1).shape();
  if (x.rank() == 0) fail("{}: cannot gather from a scalar", ctx.node().label());
  size_t axis = static_cast<size_t>(normalize_axis(ctx.node().attr_int("axis", 0), x.rank(), ctx.node()));
  Shape out_shape(x.shape().begin(), x.shape().begin() + static_cast<std::ptrdiff_t>(axis));
  out_shape.insert(out_shape.end(), ishape.begin(), ishape.end());
  out_shape.insert(out_shape.end(), x.shape().begin() + static_cast<std::ptrdiff_t>(axis) + 1, x.shape().end());
  int64_t dim = x.shape()[axis], outer = 1, inner = 1;
  for (size_t d = 0; d < axis; ++d) outer *= x.shape()[d];
  for (size_t d = axis + 1; d < x.shape().size(); ++d) inner *= x.shape()[d];
  for (int64_t& i : idx) i = checked_index(i, dim, ctx.node(), "index");
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), out_shape);
  int64_t n_idx = static_cast<int64_t>(idx.size());
  if (inner == 0) return;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < n_idx; ++k)
      copy_elements(x, (o * dim + idx[static_cast<size_t>(k)]) * inner, y, (o * n_idx + k) * inner, inner);
}

void infer_gather(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const SymShape* s = ctx.input_shape(0);
  const SymShape* is = ctx.input_shape(1);
  if (!s || !is) {
    ctx.set_output_tensor(0, dt, std::nullopt);
    return;
  }
  if (s->empty()) fail("{}: cannot gather from a scalar", ctx.node().label());
  size_t axis = static_cast<size_t>(normalize_axis(ctx.node().attr_int("axis", 0), static_cast<int64_t>(s->size()), ctx.node()));
  SymShape out(s->begin(), s->begin() + static_cast<std::ptrdiff_t>(axis));
  out.insert(out.end(), is->begin(), is->end());
  out.insert(out.end(), s->begin() + static_cast<std::ptrdiff_t>(axis) + 1, s->end());
  ctx.set_output_tensor(0, dt, out);
}

// ---- GatherElements ----

void gather_elements(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  std::vector<int64_t> idx = indices_of(ctx, 1);
  const Node& n = ctx.node();
  if (x.rank() != ind.rank() || x.rank() == 0) fail("{}: data and indices must have the same rank >= 1", n.label());
  size_t axis = static_cast<size_t>(normalize_axis(n.attr_int("axis", 0), x.rank(), n));
  for (size_t d = 0; d < x.shape().size(); ++d)
    if (d != axis && ind.shape()[d] > x.shape()[d])
      fail("{}: indices shape {} exceeds data shape {}", n.label(), shape_str(ind.shape()), shape_str(x.shape()));
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), ind.shape());
  std::vector<int64_t> xs = strides_of(x.shape());
  if (y.numel() == 0) return;
  IndexIterator it(ind.shape());
  int64_t i = 0;
  do {
    int64_t off = 0;
    for (size_t d = 0; d < it.idx.size(); ++d)
      off += (d == axis ? checked_index(idx[static_cast<size_t>(i)], x.shape()[d], n, "index") : it.idx[d]) * xs[d];
    copy_elements(x, off, y, i, 1);
    ++i;
  } while (it.next());
}

// ---- GatherND ----

void gather_nd(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  std::vector<int64_t> idx = indices_of(ctx, 1);
  const Node& n = ctx.node();
  int64_t b = ctx.opset() >= 12 ? n.attr_int("batch_dims", 0) : 0;
  int64_t r = x.rank(), q = ind.rank();
  if (q < 1 || r < 1) fail("{}: data and indices must have rank >= 1", n.label());
  if (b < 0 || b >= std::min(q, r)) fail("{}: batch_dims {} is out of range", n.label(), b);
  int64_t k = ind.shape().back();
  if (k < 1 || k > r - b) fail("{}: indices' last dim {} is out of range", n.label(), k);
  for (int64_t d = 0; d < b; ++d)
    if (x.shape()[static_cast<size_t>(d)] != ind.shape()[static_cast<size_t>(d)])
      fail("{}: batch dims of data {} and indices {} differ", n.label(), shape_str(x.shape()), shape_str(ind.shape()));
  Shape out_shape(ind.shape().begin(), ind.shape().end() - 1);
  out_shape.insert(out_shape.end(), x.shape().begin() + b + k, x.shape().end());
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), out_shape);
  int64_t batch = 1, slice = 1, per_batch_in = 1;
  for (int64_t d = 0; d < b; ++d) batch *= x.shape()[static_cast<size_t>(d)];
  for (int64_t d = b + k; d < r; ++d) slice *= x.shape()[static_cast<size_t>(d)];
  for (int64_t d = b; d < r; ++d) per_batch_in *= x.shape()[static_cast<size_t>(d)];
  std::vector<int64_t> xs = strides_of(x.shape());
  int64_t tuples = shape_numel(Shape(ind.shape().begin(), ind.shape().end() - 1));
  int64_t per_batch_tuples = batch ? tuples / batch : 0;
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t bi = per_batch_tuples ? t / per_batch_tuples : 0;
    int64_t off = bi * per_batch_in;
    for (int64_t j = 0; j < k; ++j) {
      size_t d = static_cast<size_t>(b + j);
      off += checked_index(idx[static_cast<size_t>(t * k + j)], x.shape()[d], n, "index") * xs[d];
    }
    if (slice) copy_elements(x, off, y, t * slice, slice);
  }
}

void infer_gather_nd(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const SymShape* s = ctx.input_shape(0);
  const SymShape* is = ctx.input_shape(1);
  if (!s || !is || is->empty() || !is->back().known()) {
    ctx.set_output_tensor(0, dt, std::nullopt);
    return;
  }
  int64_t b = ctx.opset() >= 12 ? ctx.node().attr_int("batch_dims", 0) : 0;
  int64_t k = is->back().value;
  if (b < 0 || b + k > static_cast<int64_t>(s->size())) fail("{}: indices' last dim {} is out of range", ctx.node().label(), k);
  SymShape out(is->begin(), is->end() - 1);
  out.insert(out.end(), s->begin() + b + k, s->end());
  ctx.set_output_tensor(0, dt, out);
}

void infer_like_indices(InferenceContext& ctx) {
  const SymShape* is = ctx.input_shape(1);
  ctx.set_output_tensor(0, ctx.input_dtype(0), is ? std::optional(*is) : std::nullopt);
}

}  // namespace

HONE_REGISTER_OP({.name = "Gather", .since = 1, .infer = infer_gather, .compute = gather});
HONE_REGISTER_OP({.name = "GatherElements", .since = 11, .infer = infer_like_indices, .compute = gather_elements});
HONE_REGISTER_OP({.name = "GatherND", .since = 11, .infer = infer_gather_nd, .compute = gather_nd});

}  // namespace hone
