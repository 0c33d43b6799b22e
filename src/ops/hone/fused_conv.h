// hone.FusedConv: a convolution followed by a chain of post-ops applied to its output before it is stored, the
// runtime's fusion of what exporters put after a Conv (passes/fuse_conv.cc makes it; oneDNN runs it as one primitive
// with post-ops). It carries every Conv attribute, plus
//   post_ops:        the chain, in order, e.g. ["Linear", "HardSwish", "Add", "Relu"]
//   post_op_params:  their parameters, concatenated in chain order
// and inputs X, W, B (optional), Z (optional: the tensor the "Add" post-op adds, same shape as Y).
// hone.FusedConvTranspose is the same for a ConvTranspose whose kernel equals its stride (the runtime's patch kernel
// runs it), with activations only: no Z, no ChannelMul.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"

namespace hone {

// Post-ops and their parameter counts:
//   Relu, Sigmoid, Tanh, HardSwish: 0; LeakyRelu: {alpha}; Swish: {beta} (x * Sigmoid(beta * x)); Clip: {min, max};
//   HardSigmoid: {alpha, beta};
//   Linear: {alpha, beta} (alpha * x + beta); Add: 0 (adds input Z; at most once);
//   ChannelMul: 0 (multiplies each channel by its own factor, from an input of the op; at most once; int8 ops only:
//   hone.QConv, where it is what remains of a Mul by a per-channel constant, e.g. depthwise input equalization).
// Returns -1 for an op that is not a post-op.
int post_op_param_count(const std::string& op);

// The factors of a ChannelMul post-op for a tensor of n elements: element i belongs to channel (i / inner) % channels
// (inner: the spatial size for N,C,spatial... storage; 1 for channels-last).
struct ChannelFactors {
  const float* factors = nullptr;
  int64_t channels = 1, inner = 1;
  float at(int64_t i) const { return factors[(i / inner) % channels]; }
};

// Applies the chain to y (n elements) in place; `z` is input Z (n elements) or null; `channel` the ChannelMul
// factors or null.
void apply_post_ops(const std::vector<std::string>& ops, const std::vector<float>& params, float* y, const float* z,
                    int64_t n, const ChannelFactors* channel = nullptr);

// Checks the chain's parameter counts; throws naming the node on a malformed chain (an Add without Z, a ChannelMul
// without factors, or either one twice).
void check_post_ops(const std::string& label, const std::vector<std::string>& ops, const std::vector<float>& params,
                    bool has_z, bool has_channel_factors = false);

}  // namespace hone
