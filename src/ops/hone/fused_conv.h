// hone.FusedConv: Y = act(Conv(X, W, B) + Z), the runtime's fusion of a convolution with the residual Add and the
// activation that follow it (passes/fuse_conv.cc makes it; oneDNN runs it as one primitive with post-ops). It carries
// every Conv attribute, plus `activation` (empty for none) and `activation_params`.
#pragma once
#include <string>
#include <vector>

namespace hone {

// The activations FusedConv can carry and their parameters:
//   Relu, Tanh, Sigmoid, HardSwish: none; LeakyRelu: {alpha}; Clip: {min, max}; HardSigmoid: {alpha, beta}.
bool fusable_activation(const std::string& op);

// Applies the named activation in place (the reference semantics of the fused op).
void apply_activation(const std::string& op, const std::vector<float>& params, float* data, int64_t n);

}  // namespace hone
