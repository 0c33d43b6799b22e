// Conv (1-3 spatial dims, grouped and depthwise) on oneDNN's convolution_forward, float32, for concrete input
// shapes with constant weights (and bias). The primitive is built and the weights reordered into its layout once.
// With compute type bf16 the primitive multiplies bfloat16 activations and weights, accumulates in float32 and
// rounds its result to bfloat16, while the kernel's tensors stay float32: the activation is converted (rounded) to
// bfloat16 on the way in and the result widened on the way out (reorders around the primitive).
#pragma once
#include "kernels/cpu/dnnl_common.h"

namespace hone::dnnl_cpu {

class DnnlConvKernel final : public DnnlWeightedKernel {
 public:
  // Throws hone::Error or dnnl::error when the node cannot run on oneDNN (see conv_supported).
  explicit DnnlConvKernel(const KernelQuery& q, PostOps post_ops = {},
                          dnnl::memory::data_type compute = dnnl::memory::data_type::f32);
  ~DnnlConvKernel() override;
  std::string name() const override {
    return std::string(winograd_ ? "dnnl-conv-wino-" : "dnnl-conv-") +
           (compute_ == dnnl::memory::data_type::bf16 ? "bf16" : "f32") + post_ops_suffix(post_ops_);
  }

 private:
  bool winograd_ = false;
  dnnl::memory::data_type compute_ = dnnl::memory::data_type::f32;
};

// For narrow outputs (fewer than 16 channels) in channels-last, the kernel times oneDNN's channels-last kernel against
// its blocked one (plus a reorder back) at plan time and keeps the faster. Tests force either: 1 channels-last,
// 2 blocked, 0 (default) measure.
void force_narrow_conv_choice(int choice);

// Whether a Conv node can use DnnlConvKernel: float32, concrete input shape, constant weights and bias, valid
// attributes, and a primitive oneDNN can build.
bool conv_supported(const KernelQuery& q, dnnl::memory::data_type compute = dnnl::memory::data_type::f32);

}  // namespace hone::dnnl_cpu
