// Relu: max(x, 0).
#include "ops/op_helpers.h"

namespace hone {
namespace {

void relu(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), x.shape());
  HONE_DISPATCH_NUMERIC(x.dtype(), ctx.node(), {
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) py[i] = static_cast<float>(px[i]) > 0 ? px[i] : T(0);
  });
}

}  // namespace

HONE_REGISTER_OP({.name = "Relu", .since = 6, .infer = infer_same_as_input, .compute = relu});

}  // namespace hone
