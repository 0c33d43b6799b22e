// What the runtime plans instead of the model's own graph: constants folded into initializers, BatchNormalization
// folded into the convolutions before it, and convolutions fused with the residual Add and activation after them
// (hone.FusedConv), and channel shuffles written as Reshape-Transpose-Reshape as one hone.ChannelShuffle. Every output
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
};

std::shared_ptr<Graph> lower_for_runtime(const Graph& g, const std::function<int64_t(const std::string&)>& opset,
                                         LoweringStats* stats = nullptr);

}  // namespace hone
