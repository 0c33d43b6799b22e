// Ops that make tensors from small descriptions: ConstantOfShape, Range, EyeLike, OneHot.
#include <cmath>

#include "ops/tensor/tensor_util.h"

namespace hone {
namespace {

// ---- ConstantOfShape ----

Tensor fill_value(const Node& n) {
  if (const Tensor* v = n.attr_tensor("value")) {
    if (v->numel() != 1) fail("{}: value must hold exactly one element", n.label());
    return *v;
  }
  return scalar_tensor(DType::Float32, 0.0f);
}

Shape shape_from(const std::vector<int64_t>& dims, const Node& n) {
  for (int64_t d : dims)
    if (d < 0) fail("{}: shape value {} is negative", n.label(), d);
  return Shape(dims);
}

void constant_of_shape(OpContext& ctx) {
  Tensor v = fill_value(ctx.node());
  Shape shape = shape_from(input_ints(ctx, 0, "shape"), ctx.node());
  Tensor& y = ctx.output_uninitialized(0, v.dtype(), shape);
  for (int64_t i = 0; i < y.numel(); ++i) copy_elements(v, 0, y, i, 1);
}

void infer_constant_of_shape(InferenceContext& ctx) {
  DType dt = fill_value(ctx.node()).dtype();
  if (auto dims = const_ints(ctx, 0)) {
    ctx.set_output_tensor(0, dt, to_sym_shape(shape_from(*dims, ctx.node())));
    return;
  }
  const SymShape* s = ctx.input_shape(0);
  if (s && s->size() == 1 && (*s)[0].known()) ctx.set_output_tensor(0, dt, SymShape(static_cast<size_t>((*s)[0].value)));
  else ctx.set_output_tensor(0, dt, std::nullopt);
}

// ---- Range ----

int64_t range_count(const Tensor& start, const Tensor& limit, const Tensor& delta, const Node& n) {
  for (const Tensor* t : {&start, &limit, &delta})
    if (t->numel() != 1) fail("{}: start, limit and delta must be scalars", n.label());
  if (start.dtype() != limit.dtype() || start.dtype() != delta.dtype())
    fail("{}: start, limit and delta must have the same type", n.label());
  if (is_integer(start.dtype())) {
    int64_t s = start.get_int(0), l = limit.get_int(0), d = delta.get_int(0);
    if (d == 0) fail("{}: delta cannot be 0", n.label());
    int64_t span = l - s;
    if ((span > 0) != (d > 0) || span == 0) return 0;
    return (span + d + (d > 0 ? -1 : 1)) / d;
  }
  double s = start.get_double(0), l = limit.get_double(0), d = delta.get_double(0);
  if (d == 0 || !std::isfinite(d) || !std::isfinite(s) || !std::isfinite(l))
    fail("{}: start, limit and delta must be finite and delta non-zero", n.label());
  double c = std::ceil((l - s) / d);
  if (c > static_cast<double>(kMaxTensorElements)) fail("{}: range of {} elements is too large", n.label(), c);
  return std::max<int64_t>(0, static_cast<int64_t>(c));
}

void range(OpContext& ctx) {
  const Tensor& start = ctx.input(0);
  const Tensor& delta = ctx.input(2);
  int64_t count = range_count(start, ctx.input(1), delta, ctx.node());
  Tensor& y = ctx.output_uninitialized(0, start.dtype(), {count});
  HONE_DISPATCH_NUMERIC(start.dtype(), ctx.node(), {
    T* py = y.data<T>();
    if constexpr (std::is_integral_v<T>) {
      T s = start.data<T>()[0], d = delta.data<T>()[0];
      for (int64_t i = 0; i < count; ++i) py[i] = static_cast<T>(s + static_cast<T>(i) * d);
    } else {
      // Computed as the function body does: start + i * delta in the element type.
      double s = start.get_double(0), d = delta.get_double(0);
      for (int64_t i = 0; i < count; ++i) py[i] = static_cast<T>(s + static_cast<double>(i) * d);
    }
  });
}

void infer_range(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const Tensor *s = ctx.input_value(0), *l = ctx.input_value(1), *d = ctx.input_value(2);
  if (s && l && d) ctx.set_output_tensor(0, dt, SymShape{Dim(range_count(*s, *l, *d, ctx.node()))});
  else ctx.set_output_tensor(0, dt, SymShape{Dim()});
}

// ---- EyeLike ----

DType eyelike_dtype(const Node& n, DType in) {
  if (!n.has_attr("dtype")) return in;
  int64_t code = n.attr_int("dtype", 1);
  if (code < 0 || code > INT32_MAX || !dtype_is_valid(static_cast<int32_t>(code)) || code == 0 ||
      static_cast<DType>(code) == DType::String)
    fail("{}: dtype {} is not supported", n.label(), code);
  return static_cast<DType>(code);
}

void eye_like(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() != 2) fail("{}: input must be 2-D, got {}", ctx.node().label(), shape_str(x.shape()));
  DType dt = eyelike_dtype(ctx.node(), x.dtype());
  int64_t k = ctx.node().attr_int("k", 0), rows = x.dim(0), cols = x.dim(1);
  Tensor& y = ctx.output(0, dt, x.shape());
  for (int64_t i = 0; i < rows; ++i) {
    int64_t j = i + k;
    if (j >= 0 && j < cols) y.set_double(i * cols + j, 1.0);
  }
}

void infer_eye_like(InferenceContext& ctx) {
  const SymShape* s = ctx.input_shape(0);
  ctx.set_output_tensor(0, eyelike_dtype(ctx.node(), ctx.input_dtype(0)), s ? std::optional(*s) : std::nullopt);
}

// ---- OneHot ----

int64_t onehot_depth(const Tensor& depth, const Node& n) {
  if (depth.numel() != 1) fail("{}: depth must hold one value", n.label());
  double d = depth.get_double(0);
  if (!(d >= 1) || d > static_cast<double>(kMaxTensorElements)) fail("{}: depth {} is invalid", n.label(), d);
  return static_cast<int64_t>(d);
}

void one_hot(OpContext& ctx) {
  const Tensor& ind = ctx.input(0);
  const Tensor& values = ctx.input(2);
  const Node& n = ctx.node();
  int64_t depth = onehot_depth(ctx.input(1), n);
  if (values.numel() != 2) fail("{}: values must hold [off, on]", n.label());
  int64_t out_rank = ind.rank() + 1;
  size_t axis = static_cast<size_t>(normalize_axis(n.attr_int("axis", -1), out_rank, n));
  Shape out(ind.shape());
  out.insert(out.begin() + static_cast<std::ptrdiff_t>(axis), depth);
  Tensor& y = ctx.output_uninitialized(0, values.dtype(), out);
  int64_t outer = 1, inner = 1;
  for (size_t d = 0; d < axis; ++d) outer *= out[d];
  for (size_t d = axis + 1; d < out.size(); ++d) inner *= out[d];
  for (int64_t i = 0; i < y.numel(); ++i) copy_elements(values, 0, y, i, 1);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      double v = ind.get_double(o * inner + in);
      int64_t k = static_cast<int64_t>(v);
      if (k < 0) k += depth;
      if (k >= 0 && k < depth) copy_elements(values, 1, y, (o * depth + k) * inner + in, 1);
    }
}

void infer_one_hot(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(2);
  const SymShape* s = ctx.input_shape(0);
  if (!s) {
    ctx.set_output_tensor(0, dt, std::nullopt);
    return;
  }
  int64_t out_rank = static_cast<int64_t>(s->size()) + 1;
  size_t axis = static_cast<size_t>(normalize_axis(ctx.node().attr_int("axis", -1), out_rank, ctx.node()));
  SymShape out(*s);
  const Tensor* depth = ctx.input_value(1);
  out.insert(out.begin() + static_cast<std::ptrdiff_t>(axis), depth ? Dim(onehot_depth(*depth, ctx.node())) : Dim());
  ctx.set_output_tensor(0, dt, out);
}

}  // namespace

HONE_REGISTER_OP({.name = "ConstantOfShape", .since = 9, .infer = infer_constant_of_shape, .compute = constant_of_shape});
HONE_REGISTER_OP({.name = "Range", .since = 11, .infer = infer_range, .compute = range});
HONE_REGISTER_OP({.name = "EyeLike", .since = 9, .infer = infer_eye_like, .compute = eye_like});
HONE_REGISTER_OP({.name = "OneHot", .since = 9, .infer = infer_one_hot, .compute = one_hot});

}  // namespace hone
