// hone.LayoutTransform: the planner's conversion of a float32 (or, in quantized models, uint8 / int8) [N,C,H,W]
// tensor between the plain (N,C,H,W) and the channels-last (N,H,W,C) storage order. Never in a model file: the planner inserts it where a channels-last kernel
// meets a plain one (runtime/plan.cc). The logical shape is unchanged; only the order of the bytes differs.
#include <cstring>

#include "ops/op_helpers.h"

namespace hone {
namespace {

void layout_transform_ref(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if ((x.dtype() != DType::Float32 && x.dtype() != DType::UInt8 && x.dtype() != DType::Int8) || x.rank() != 4)
    fail("{}: needs a float32, uint8 or int8 rank-4 tensor", ctx.node().label());
  std::string to = ctx.node().attr_string("to", "");
  if (to != "channels-last" && to != "plain") fail("{}: 'to' must be channels-last or plain, not '{}'", ctx.node().label(), to);
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), x.shape());
  const int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
  const size_t es = dtype_size(x.dtype());
  const char* src = static_cast<const char*>(x.raw());
  char* dst = static_cast<char*>(y.raw());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < hw; ++p) {
        int64_t plain = (b * c + ch) * hw + p, last = (b * hw + p) * c + ch;
        if (to == "channels-last") std::memcpy(dst + last * es, src + plain * es, es);
        else std::memcpy(dst + plain * es, src + last * es, es);
      }
}

HONE_REGISTER_OP({.domain = "hone", .name = "LayoutTransform", .since = 1, .infer = infer_same_as_input,
                  .compute = layout_transform_ref});

}  // namespace
}  // namespace hone
