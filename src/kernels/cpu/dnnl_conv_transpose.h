// ConvTranspose (1-3 spatial dims, grouped) on oneDNN's deconvolution_forward, float32, for concrete input shapes
// with constant weights (and bias), explicit pads (or VALID) and output_padding. Nodes with output_shape or SAME
// auto_pad stay on the reference kernel for now.
#pragma once
#include "kernels/cpu/dnnl_common.h"

namespace hone::dnnl_cpu {

class DnnlConvTransposeKernel final : public DnnlWeightedKernel {
 public:
  explicit DnnlConvTransposeKernel(const KernelQuery& q, PostOps post_ops = {});
  ~DnnlConvTransposeKernel() override;
  std::string name() const override { return "dnnl-convtranspose-f32" + post_ops_suffix(post_ops_); }
};

bool conv_transpose_supported(const KernelQuery& q);

}  // namespace hone::dnnl_cpu
