// Ops whose output size depends on the data: NonZero, Compress, Unique.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "ops/tensor/tensor_util.h"

namespace hone {
namespace {

bool is_nonzero(const Tensor& x, int64_t i) {
  if (x.dtype() == DType::String) return !x.data<std::string>()[i].empty();
  return x.get_double(i) != 0.0;
}

// ---- NonZero ----

void nonzero(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  Shape shape = x.rank() == 0 ? Shape{1} : x.shape();  // numpy treats a scalar as 1-D
  std::vector<int64_t> hits;
  for (int64_t i = 0; i < x.numel(); ++i)
    if (is_nonzero(x, i)) hits.push_back(i);
  int64_t nnz = static_cast<int64_t>(hits.size()), r = static_cast<int64_t>(shape.size());
  Tensor& y = ctx.output_uninitialized(0, DType::Int64, {r, nnz});
  std::vector<int64_t> strides = strides_of(shape);
  for (int64_t k = 0; k < nnz; ++k)
    for (int64_t d = 0; d < r; ++d)
      y.data<int64_t>()[d * nnz + k] = hits[static_cast<size_t>(k)] / strides[static_cast<size_t>(d)] % shape[static_cast<size_t>(d)];
}

void infer_nonzero(InferenceContext& ctx) {
  const SymShape* s = ctx.input_shape(0);
  ctx.set_output_tensor(0, DType::Int64, SymShape{s ? Dim(std::max<int64_t>(1, static_cast<int64_t>(s->size()))) : Dim(), Dim()});
}

// ---- Compress ----

void compress(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& cond = ctx.input(1);
  const Node& n = ctx.node();
  if (cond.rank() != 1) fail("{}: condition must be 1-D", n.label());
  bool has_axis = n.has_attr("axis");
  Shape shape = has_axis ? x.shape() : Shape{x.numel()};
  size_t axis = has_axis ? static_cast<size_t>(normalize_axis(n.attr_int("axis", 0), x.rank(), n)) : 0;
  int64_t dim = shape[axis];
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < cond.numel(); ++i) {
    if (cond.get_double(i) == 0.0) continue;
    if (i >= dim) fail("{}: condition selects index {} past the axis size {}", n.label(), i, dim);
    keep.push_back(i);
  }
  int64_t outer = 1, inner = 1;
  for (size_t d = 0; d < axis; ++d) outer *= shape[d];
  for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  Shape out = shape;
  out[axis] = static_cast<int64_t>(keep.size());
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), out);
  if (inner == 0) return;
  int64_t at = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k : keep) copy_elements(x, (o * dim + k) * inner, y, (at++) * inner, inner);
}

void infer_compress(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const SymShape* s = ctx.input_shape(0);
  if (!ctx.node().has_attr("axis")) {
    ctx.set_output_tensor(0, dt, SymShape{Dim()});
    return;
  }
  if (!s) {
    ctx.set_output_tensor(0, dt, std::nullopt);
    return;
  }
  SymShape out = *s;
  out[static_cast<size_t>(normalize_axis(ctx.node().attr_int("axis", 0), static_cast<int64_t>(s->size()), ctx.node()))] = Dim();
  ctx.set_output_tensor(0, dt, out);
}

// ---- Unique ----

// Three-way comparison of elements i and j of one tensor, by value (float16 / bfloat16 / float8 numerically).
struct ElementOrder {
  const Tensor& x;
  int compare(int64_t i, int64_t j) const {
    switch (x.dtype()) {
      case DType::String: return x.data<std::string>()[i].compare(x.data<std::string>()[j]);
      case DType::Int64: return cmp(x.data<int64_t>()[i], x.data<int64_t>()[j]);
      case DType::UInt64: return cmp(x.data<uint64_t>()[i], x.data<uint64_t>()[j]);
      default: {
        double a = x.get_double(i), b = x.get_double(j);
        if (std::isnan(a) || std::isnan(b)) return cmp(std::isnan(a), std::isnan(b));  // NaN after all numbers
        return cmp(a, b);
      }
    }
  }
  template <typename T>
  static int cmp(T a, T b) {
    return a < b ? -1 : b < a ? 1 : 0;
  }
};

void unique(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Node& n = ctx.node();
  bool sorted = n.attr_int("sorted", 1) != 0;
  bool has_axis = n.has_attr("axis");
  Shape shape = has_axis ? x.shape() : Shape{x.numel()};
  size_t axis = has_axis ? static_cast<size_t>(normalize_axis(n.attr_int("axis", 0), x.rank(), n)) : 0;
  int64_t dim = shape[axis], outer = 1, inner = 1;
  for (size_t d = 0; d < axis; ++d) outer *= shape[d];
  for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  ElementOrder order{x};
  // Slices along the axis compare lexicographically over (outer, inner) positions.
  auto compare_slices = [&](int64_t a, int64_t b) {
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t in = 0; in < inner; ++in) {
        int c = order.compare((o * dim + a) * inner + in, (o * dim + b) * inner + in);
        if (c) return c;
      }
    return 0;
  };
  std::vector<int64_t> perm(static_cast<size_t>(dim));
  std::iota(perm.begin(), perm.end(), 0);
  std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) { return compare_slices(a, b) < 0; });
  // Groups of equal slices; each group's first member (stable sort) is its first occurrence.
  std::vector<int64_t> first, counts, group_of(static_cast<size_t>(dim));
  for (size_t k = 0; k < perm.size(); ++k) {
    if (k == 0 || compare_slices(perm[k - 1], perm[k]) != 0) {
      first.push_back(perm[k]);
      counts.push_back(0);
    }
    group_of[static_cast<size_t>(perm[k])] = static_cast<int64_t>(first.size()) - 1;
    ++counts.back();
  }
  size_t g = first.size();
  std::vector<size_t> rank(g);  // output position of each group
  std::iota(rank.begin(), rank.end(), 0);
  if (!sorted) {
    std::vector<size_t> by_first(g);
    std::iota(by_first.begin(), by_first.end(), 0);
    std::sort(by_first.begin(), by_first.end(), [&](size_t a, size_t b) { return first[a] < first[b]; });
    for (size_t p = 0; p < g; ++p) rank[by_first[p]] = p;
  }
  Shape out = shape;
  out[axis] = static_cast<int64_t>(g);
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), out);
  for (size_t q = 0; q < g; ++q)
    for (int64_t o = 0; o < outer; ++o)
      if (inner) copy_elements(x, (o * dim + first[q]) * inner, y, (o * static_cast<int64_t>(g) + static_cast<int64_t>(rank[q])) * inner, inner);
  if (ctx.wants_output(1)) {
    Tensor& t = ctx.output_uninitialized(1, DType::Int64, {static_cast<int64_t>(g)});
    for (size_t q = 0; q < g; ++q) t.data<int64_t>()[rank[q]] = first[q];
  }
  if (ctx.wants_output(2)) {
    Tensor& t = ctx.output_uninitialized(2, DType::Int64, {dim});
    for (int64_t i = 0; i < dim; ++i) t.data<int64_t>()[i] = static_cast<int64_t>(rank[static_cast<size_t>(group_of[static_cast<size_t>(i)])]);
  }
  if (ctx.wants_output(3)) {
    Tensor& t = ctx.output_uninitialized(3, DType::Int64, {static_cast<int64_t>(g)});
    for (size_t q = 0; q < g; ++q) t.data<int64_t>()[rank[q]] = counts[q];
  }
}

void infer_unique(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const SymShape* s = ctx.input_shape(0);
  if (!ctx.node().has_attr("axis")) {
    ctx.set_output_tensor(0, dt, SymShape{Dim()});
  } else if (s) {
    SymShape out = *s;
    out[static_cast<size_t>(normalize_axis(ctx.node().attr_int("axis", 0), static_cast<int64_t>(s->size()), ctx.node()))] = Dim();
    ctx.set_output_tensor(0, dt, out);
  } else {
    ctx.set_output_tensor(0, dt, std::nullopt);
  }
  ctx.set_output_tensor(1, DType::Int64, SymShape{Dim()});
  Dim n_in;  // inverse_indices has one entry per input slice
  if (s && !ctx.node().has_attr("axis")) {
    if (auto p = known_product(*s, 0, s->size())) n_in = Dim(*p);
  } else if (s) {
    n_in = (*s)[static_cast<size_t>(normalize_axis(ctx.node().attr_int("axis", 0), static_cast<int64_t>(s->size()), ctx.node()))];
  }
  ctx.set_output_tensor(2, DType::Int64, SymShape{n_in});
  ctx.set_output_tensor(3, DType::Int64, SymShape{Dim()});
}

}  // namespace

HONE_REGISTER_OP({.name = "NonZero", .since = 9, .infer = infer_nonzero, .compute = nonzero});
HONE_REGISTER_OP({.name = "Compress", .since = 9, .infer = infer_compress, .compute = compress});
HONE_REGISTER_OP({.name = "Unique", .since = 11, .infer = infer_unique, .compute = unique});

}  // namespace hone
