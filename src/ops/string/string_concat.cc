// StringConcat (opset 20): element-wise concatenation of two string tensors with numpy broadcasting.
#include "ops/op_helpers.h"

namespace hone {
namespace {

void string_concat(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.dtype() != DType::String || b.dtype() != DType::String)
    fail("{}: inputs must be string tensors, got {} and {}", ctx.node().label(), dtype_name(a.dtype()),
         dtype_name(b.dtype()));
  Shape shape = broadcast_shapes(a.shape(), b.shape(), ctx.node());
  Tensor& y = ctx.output(0, DType::String, shape);
  const std::string* pa = a.data<std::string>();
  const std::string* pb = b.data<std::string>();
  std::string* py = y.data<std::string>();
  for_each_broadcast(shape, a.shape(), b.shape(),
                     [&](int64_t i, int64_t ia, int64_t ib) { py[i] = pa[ia] + pb[ib]; });
}

}  // namespace

HONE_REGISTER_OP({.name = "StringConcat", .since = 20, .infer = infer_broadcast, .compute = string_concat});

}  // namespace hone
