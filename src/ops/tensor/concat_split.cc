// Concat and Split: join tensors along an axis, or cut one into pieces along it.
#include "ops/tensor/tensor_util.h"

namespace hone {
namespace {

// ---- Concat ----

int64_t concat_axis_attr(const Node& n, int64_t opset) {
  if (opset < 4) return n.attr_int("axis", 1);
  if (!n.has_attr("axis")) fail("{}: attribute 'axis' is required", n.label());
  return n.attr_int("axis", 0);
}

void concat(OpContext& ctx) {
  const Node& n = ctx.node();
  std::vector<const Tensor*> ins;
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    if (ctx.has_input(i)) ins.push_back(&ctx.input(i));
  if (ins.empty()) fail("{}: needs at least one input", n.label());
  const Tensor& first = *ins[0];
  int64_t rank = first.rank();
  if (rank == 0) fail("{}: cannot concatenate scalars", n.label());
  size_t axis = static_cast<size_t>(normalize_axis(concat_axis_attr(n, ctx.opset()), rank, n));
  Shape out_shape = first.shape();
  out_shape[axis] = 0;
  for (const Tensor* t : ins) {
    if (t->dtype() != first.dtype())
      fail("{}: inputs have different element types ({} and {})", n.label(), dtype_name(first.dtype()), dtype_name(t->dtype()));
    if (t->rank() != rank) fail("{}: inputs have different ranks ({} and {})", n.label(), rank, t->rank());
    for (size_t d = 0; d < static_cast<size_t>(rank); ++d)
      if (d != axis && t->shape()[d] != first.shape()[d])
        fail("{}: input shapes {} and {} differ off the concat axis", n.label(), shape_str(first.shape()), shape_str(t->shape()));
    out_shape[axis] += t->shape()[axis];
  }
  Tensor& y = ctx.output_uninitialized(0, first.dtype(), out_shape);
  int64_t outer = 1, inner = 1;
  for (size_t d = 0; d < axis; ++d) outer *= out_shape[d];
  for (size_t d = axis + 1; d < out_shape.size(); ++d) inner *= out_shape[d];
  int64_t out_row = out_shape[axis] * inner, at = 0;
  for (const Tensor* t : ins) {
    int64_t row = t->shape()[axis] * inner;
    for (int64_t o = 0; o < outer && row > 0; ++o) copy_elements(*t, o * row, y, o * out_row + at, row);
    at += row;
  }
}

void infer_concat(InferenceContext& ctx) {
  DType dt = DType::Undefined;
  std::optional<SymShape> out;
  int64_t rank = -1;
  std::vector<const SymShape*> shapes;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    if (dt == DType::Undefined) dt = ctx.input_dtype(i);
    const SymShape* s = ctx.input_shape(i);
    shapes.push_back(s);
    if (s) rank = static_cast<int64_t>(s->size());
  }
  if (rank < 0) {
    ctx.set_output_tensor(0, dt, std::nullopt);
    return;
  }
  size_t axis = static_cast<size_t>(normalize_axis(concat_axis_attr(ctx.node(), ctx.opset()), rank, ctx.node()));
  SymShape res(static_cast<size_t>(rank));
  int64_t total = 0;
  bool total_known = true;
  for (const SymShape* s : shapes) {
    if (!s) {
      total_known = false;
      continue;
    }
    if (static_cast<int64_t>(s->size()) != rank) fail("{}: inputs have different ranks", ctx.node().label());
    for (size_t d = 0; d < s->size(); ++d) {
      if (d == axis) continue;
      if ((*s)[d].known()) res[d] = (*s)[d];
      else if (!res[d].known() && res[d].symbol.empty()) res[d] = (*s)[d];
    }
    if ((*s)[axis].known()) total += (*s)[axis].value;
    else total_known = false;
  }
  if (total_known) res[axis] = Dim(total);
  ctx.set_output_tensor(0, dt, res);
}

// ---- Split ----

struct SplitSpec {
  int64_t axis;
  std::vector<int64_t> sizes;
};

// Split sizes: explicit (attribute before 13, input from 13, either in opset 1), or equal parts over the outputs
// (opset 18: `num_outputs`, the last chunk smaller when uneven; earlier: must divide evenly).
SplitSpec split_spec(const Node& n, int64_t opset, int64_t dim, int64_t rank, const std::optional<std::vector<int64_t>>& split_input,
                     size_t num_outputs) {
  SplitSpec sp;
  sp.axis = normalize_axis(n.attr_int("axis", 0), rank, n);
  std::optional<std::vector<int64_t>> split = split_input;
  if (!split && n.has_attr("split") && opset < 13) split = n.attr_ints("split");
  if (split) {
    if (split->size() != num_outputs)
      fail("{}: split has {} entries for {} outputs", n.label(), split->size(), num_outputs);
    int64_t sum = 0;
    for (int64_t s : *split) {
      if (s < 0 || s > kMaxTensorElements) fail("{}: split size {} is out of range", n.label(), s);
      sum += s;
    }
    if (dim >= 0 && sum != dim) fail("{}: split sizes sum to {} but the axis has {}", n.label(), sum, dim);
    sp.sizes = *split;
    return sp;
  }
  int64_t parts = static_cast<int64_t>(num_outputs);
  if (opset >= 18) {
    if (!n.has_attr("num_outputs")) fail("{}: needs either the split input or num_outputs", n.label());
    parts = n.attr_int("num_outputs", 0);
    if (parts < 1 || static_cast<size_t>(parts) != num_outputs)
      fail("{}: num_outputs {} does not match the {} outputs", n.label(), parts, num_outputs);
  }
  if (parts < 1) fail("{}: has no outputs", n.label());
  if (dim < 0) return sp;  // sizes unknown
  if (dim % parts == 0) {
    sp.sizes.assign(static_cast<size_t>(parts), dim / parts);
  } else {
    if (opset < 18) fail("{}: axis of size {} does not split evenly into {} parts", n.label(), dim, parts);
    int64_t chunk = dim / parts + 1;
    sp.sizes.assign(static_cast<size_t>(parts), chunk);
    sp.sizes.back() = dim - chunk * (parts - 1);
    if (sp.sizes.back() < 0) fail("{}: axis of size {} cannot be split into {} chunks", n.label(), dim, parts);
  }
  return sp;
}

std::optional<std::vector<int64_t>> split_input_values(const OpContext& ctx) {
  if ((ctx.opset() >= 13 || ctx.opset() == 1) && ctx.has_input(1)) return input_ints(ctx, 1, "split");
  return std::nullopt;
}

void split(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() == 0) fail("{}: cannot split a scalar", ctx.node().label());
  int64_t axis0 = normalize_axis(ctx.node().attr_int("axis", 0), x.rank(), ctx.node());
  SplitSpec sp = split_spec(ctx.node(), ctx.opset(), x.shape()[static_cast<size_t>(axis0)], x.rank(),
                            split_input_values(ctx), ctx.num_outputs());
  size_t axis = static_cast<size_t>(sp.axis);
  int64_t outer = 1, inner = 1;
  for (size_t d = 0; d < axis; ++d) outer *= x.shape()[d];
  for (size_t d = axis + 1; d < x.shape().size(); ++d) inner *= x.shape()[d];
  int64_t in_row = x.shape()[axis] * inner, at = 0;
  for (size_t k = 0; k < sp.sizes.size(); ++k) {
    int64_t row = sp.sizes[k] * inner;
    if (ctx.wants_output(k)) {
      Shape s = x.shape();
      s[axis] = sp.sizes[k];
      Tensor& y = ctx.output_uninitialized(k, x.dtype(), s);
      for (int64_t o = 0; o < outer && row > 0; ++o) copy_elements(x, o * in_row + at, y, o * row, row);
    }
    at += row;
  }
}

void infer_split(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const SymShape* s = ctx.input_shape(0);
  size_t n_out = ctx.num_outputs();
  auto unknown = [&] {
    for (size_t k = 0; k < n_out; ++k) ctx.set_output_tensor(k, dt, s ? std::optional(SymShape(s->size())) : std::nullopt);
  };
  if (!s || s->empty()) return unknown();
  int64_t rank = static_cast<int64_t>(s->size());
  size_t axis = static_cast<size_t>(normalize_axis(ctx.node().attr_int("axis", 0), rank, ctx.node()));
  std::optional<std::vector<int64_t>> split_in;
  if ((ctx.opset() >= 13 || ctx.opset() == 1) && ctx.has_input(1)) {
    split_in = const_ints(ctx, 1);
    if (!split_in) return unknown();
  }
  const Dim& d = (*s)[axis];
  SplitSpec sp = split_spec(ctx.node(), ctx.opset(), d.known() ? d.value : -1, rank, split_in, n_out);
  for (size_t k = 0; k < n_out; ++k) {
    SymShape o = *s;
    o[axis] = k < sp.sizes.size() ? Dim(sp.sizes[k]) : Dim();
    ctx.set_output_tensor(k, dt, o);
  }
}

}  // namespace

HONE_REGISTER_OP({.name = "Concat", .since = 1, .infer = infer_concat, .compute = concat});
HONE_REGISTER_OP({.name = "Split", .since = 1, .infer = infer_split, .compute = split});

}  // namespace hone
