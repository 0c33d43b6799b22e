// Shape and Size: an input's dimensions (optionally a [start, end) slice of them) and element count. Both fold at
// plan time when the dims they read are known, which is what makes Shape->Gather->Concat->Reshape chains constant.
#include "ops/tensor/tensor_util.h"

namespace hone {
namespace {

// [start, end) clamped into [0, rank] as Shape-15 specifies (negative values count from the end).
std::pair<int64_t, int64_t> shape_range(const Node& n, int64_t rank) {
  auto clampi = [rank](int64_t v) {
    if (v < 0) v += rank;
    return std::clamp<int64_t>(v, 0, rank);
  };
  int64_t start = clampi(n.attr_int("start", 0));
  int64_t end = n.has_attr("end") ? clampi(n.attr_int("end", rank)) : rank;
  return {start, std::max(start, end)};
}

void shape(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  auto [start, end] = shape_range(ctx.node(), x.rank());
  Tensor& y = ctx.output_uninitialized(0, DType::Int64, {end - start});
  for (int64_t i = start; i < end; ++i) y.data<int64_t>()[i - start] = x.shape()[static_cast<size_t>(i)];
}

void infer_shape(InferenceContext& ctx) {
  const SymShape* s = ctx.input_shape(0);
  if (!s) {
    ctx.set_output_tensor(0, DType::Int64, SymShape{Dim()});
    return;
  }
  auto [start, end] = shape_range(ctx.node(), static_cast<int64_t>(s->size()));
  std::vector<int64_t> dims;
  for (int64_t i = start; i < end; ++i) {
    const Dim& d = (*s)[static_cast<size_t>(i)];
    if (!d.known()) {
      ctx.set_output_tensor(0, DType::Int64, SymShape{Dim(end - start)});
      return;
    }
    dims.push_back(d.value);
  }
  ctx.set_output_value(0, int64_tensor(dims));
}

void size(OpContext& ctx) {
  Tensor& y = ctx.output_uninitialized(0, DType::Int64, {});
  y.data<int64_t>()[0] = ctx.input(0).numel();
}

void infer_size(InferenceContext& ctx) {
  const SymShape* s = ctx.input_shape(0);
  std::optional<int64_t> n = s ? known_product(*s, 0, s->size()) : std::nullopt;
  if (n) ctx.set_output_value(0, scalar_tensor(DType::Int64, *n));
  else ctx.set_output_tensor(0, DType::Int64, SymShape{});
}

}  // namespace

HONE_REGISTER_OP({.name = "Shape", .since = 1, .infer = infer_shape, .compute = shape});
HONE_REGISTER_OP({.name = "Size", .since = 1, .infer = infer_size, .compute = size});

}  // namespace hone
