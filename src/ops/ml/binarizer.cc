// ai.onnx.ml Binarizer (opset 1): 1 where the element exceeds `threshold`, else 0, in the input's type.
#include "ops/op_helpers.h"

namespace hone {
namespace {

void binarizer(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  double threshold = ctx.node().attr_float("threshold", 0.0f);
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), x.shape());
  HONE_DISPATCH_NUMERIC(x.dtype(), ctx.node(), {
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i)
      py[i] = static_cast<double>(px[i]) > threshold ? static_cast<T>(1) : static_cast<T>(0);
  });
}

}  // namespace

HONE_REGISTER_OP({.domain = "ai.onnx.ml", .name = "Binarizer", .since = 1, .infer = infer_same_as_input,
                  .compute = binarizer});

}  // namespace hone
