// IsNaN and IsInf (detect_negative / detect_positive select which infinities count): bool masks of a float input,
// float8 types included (read through their decoded values).
#include "ops/math/elementwise.h"

namespace hone {
namespace {

template <typename Pred>
void classify(OpContext& ctx, Pred pred) {
  const Tensor& x = ctx.input(0);
  if (!is_float(x.dtype()))
    fail("{}: element type {} is not supported (floats only)", ctx.node().label(), dtype_name(x.dtype()));
  Tensor& y = ctx.output_uninitialized(0, DType::Bool, x.shape());
  uint8_t* py = y.data<uint8_t>();
  switch (x.dtype()) {
    HONE_FLOAT_CASES({
      const T* px = x.data<T>();
      for (int64_t i = 0; i < x.numel(); ++i) py[i] = pred(static_cast<double>(static_cast<ComputeType<T>>(px[i])));
    })
    default:
      for (int64_t i = 0; i < x.numel(); ++i) py[i] = pred(x.get_double(i));
  }
}

void is_nan(OpContext& ctx) {
  classify(ctx, [](double v) { return std::isnan(v); });
}

void is_inf(OpContext& ctx) {
  bool neg = ctx.node().attr_int("detect_negative", 1) != 0;
  bool pos = ctx.node().attr_int("detect_positive", 1) != 0;
  classify(ctx, [=](double v) { return std::isinf(v) && (v > 0 ? pos : neg); });
}

}  // namespace

HONE_REGISTER_OP({.name = "IsNaN", .since = 9, .infer = infer_bool_same_shape, .compute = is_nan});
HONE_REGISTER_OP({.name = "IsInf", .since = 10, .infer = infer_bool_same_shape, .compute = is_inf});

}  // namespace hone
