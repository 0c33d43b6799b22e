// hone.ChannelShuffle: ShuffleNet's channel shuffle of a rank-4 [N, C, H, W] tensor with `group` groups, which
// models write as Reshape [N, g, C/g, H, W] -> Transpose (0, 2, 1, 3, 4) -> Reshape [N, C, H, W]: output channel
// j * g + i is input channel i * (C / g) + j. Never in a model file: runtime lowering (passes/fuse_channel_shuffle.cc)
// puts it in place of that pattern so that channels-last chains of convolutions need no layout transforms around it.
#include <cstring>

#include "ops/op_helpers.h"

namespace hone {
namespace {

void channel_shuffle_ref(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() == DType::String) fail("{}: string tensors are not supported", ctx.node().label());
  if (x.rank() != 4) fail("{}: needs a rank-4 tensor, got shape {}", ctx.node().label(), shape_str(x.shape()));
  const int64_t g = ctx.node().attr_int("group", 0), c = x.dim(1);
  if (g <= 0 || c % g != 0) fail("{}: group {} does not divide the {} channels", ctx.node().label(), g, c);
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), x.shape());
  const int64_t n = x.dim(0), hw = x.dim(2) * x.dim(3), per = c / g;
  const size_t plane = static_cast<size_t>(hw) * dtype_size(x.dtype());
  const auto* src = static_cast<const uint8_t*>(x.raw());
  auto* dst = static_cast<uint8_t*>(y.raw());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < g; ++i)
      for (int64_t j = 0; j < per; ++j) {
        int64_t from = b * c + i * per + j, to = b * c + j * g + i;
        std::memcpy(dst + static_cast<size_t>(to) * plane, src + static_cast<size_t>(from) * plane, plane);
      }
}

HONE_REGISTER_OP({.domain = "hone", .name = "ChannelShuffle", .since = 1, .infer = infer_same_as_input,
                  .compute = channel_shuffle_ref});

}  // namespace
}  // namespace hone
