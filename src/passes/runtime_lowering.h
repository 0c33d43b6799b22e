// What the runtime plans instead of the model's own graph: quantized (QDQ) patterns as int8 ops (passes/fuse_qdq.h),
// then the graph after the standard passes of `hone optimize`
// (pass_manager.h, those marked at_load: constant folding, BatchNormalization and scale folding, re-parameterization,
// dead code ...), then convolutions fused with the residual Add and activation after them
// (hone.FusedConv), and channel shuffles written as Reshape-Transpose-Reshape as one hone.ChannelShuffle. A float16 /
// bfloat16 model is first lowered to float32 storage with explicit rounding (lower_low_precision.h). Every output
// keeps its value within float rounding; the model itself is not modified.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "ir/graph.h"

namespace hone {

// Opset of the private "hone" domain of the runtime's fused and layout ops.
inline constexpr int64_t kHoneOpset = 1;

struct LoweringStats {
  int folded_constants = 0, folded_batchnorms = 0, fused_convs = 0, channel_shuffles = 0;
  int standard_rewrites = 0;  // by all the standard passes together
  int low_precision = 0;      // float16 / bfloat16 lowering rewrites (lower_low_precision.h)
  int rounded_kernels = 0;    // Conv / MatMul / Gemm fused with the rounding after them
  int quantized_ops = 0;      // int8 ops made of QDQ patterns (passes/fuse_qdq.h)
};

std::shared_ptr<Graph> lower_for_runtime(const Graph& g, const std::function<int64_t(const std::string&)>& opset,
                                         LoweringStats* stats = nullptr);

}  // namespace hone
