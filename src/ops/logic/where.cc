// Where: condition ? X : Y, the three inputs broadcast together numpy-style; X and Y may have any element type,
// strings included.
#include <cstring>

#include "ops/math/elementwise.h"

namespace hone {
namespace {

void where(OpContext& ctx) {
  const Tensor& cond = ctx.input(0);
  const Tensor& x = ctx.input(1);
  const Tensor& y = ctx.input(2);
  if (cond.dtype() != DType::Bool)
    fail("{}: condition must be bool, got {}", ctx.node().label(), dtype_name(cond.dtype()));
  require_same_dtype(ctx, x, y);
  Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), x.shape(), ctx.node()), y.shape(), ctx.node());
  Tensor& out = ctx.output_uninitialized(0, x.dtype(), shape);
  const uint8_t* pc = cond.data<uint8_t>();
  std::array<const Shape*, 3> shapes{&cond.shape(), &x.shape(), &y.shape()};
  if (x.dtype() == DType::String) {
    const std::string* px = x.data<std::string>();
    const std::string* py = y.data<std::string>();
    std::string* po = out.data<std::string>();
    for_each_broadcast_n<3>(shape, shapes, [&](int64_t i, const std::array<int64_t, 3>& p) {
      po[i] = pc[p[0]] ? px[p[1]] : py[p[2]];
    });
    return;
  }
  // Every other type is plain bytes of a fixed size per element.
  size_t es = dtype_size(x.dtype());
  const auto* px = static_cast<const char*>(x.raw());
  const auto* py = static_cast<const char*>(y.raw());
  auto* po = static_cast<char*>(out.raw());
  for_each_broadcast_n<3>(shape, shapes, [&](int64_t i, const std::array<int64_t, 3>& p) {
    const char* src = pc[p[0]] ? px + p[1] * static_cast<int64_t>(es) : py + p[2] * static_cast<int64_t>(es);
    std::memcpy(po + i * static_cast<int64_t>(es), src, es);
  });
}

// X's type; the broadcast of all three shapes.
void infer_where(InferenceContext& ctx) {
  std::optional<SymShape> shape = SymShape{};
  for (size_t i = 0; i < 3; ++i) {
    const SymShape* s = ctx.input_shape(i);
    if (!s) {
      shape.reset();
      break;
    }
    shape = broadcast_sym_shapes(*shape, *s);
  }
  ctx.set_output_tensor(0, ctx.input_dtype(1), shape);
}

}  // namespace

HONE_REGISTER_OP({.name = "Where", .since = 9, .infer = infer_where, .compute = where});

}  // namespace hone
