// ConvTranspose (1-3 spatial dims, grouped) on oneDNN's deconvolution_forward, float32, for concrete input shapes
// with constant weights (and bias), explicit pads (or VALID) and output_padding. Nodes with output_shape or SAME
// auto_pad stay on the reference kernel for now.
#pragma once
#include <vector>

#include "kernels/cpu/dnnl_common.h"

namespace hone::dnnl_cpu {

class DnnlConvTransposeKernel final : public DnnlWeightedKernel {
 public:
  explicit DnnlConvTransposeKernel(const KernelQuery& q, PostOps post_ops = {});
  ~DnnlConvTransposeKernel() override;
  std::string name() const override { return "dnnl-convtranspose-f32" + post_ops_suffix(post_ops_); }
  void run(OpContext& ctx) override;

 private:
  // oneDNN 2.6 adds a deconvolution's bias (and applies its post-ops) in reference loops: 24->24 channels, 2x2
  // stride 2 to 320x320 channels-last takes 1.5 ms without bias, 8.1 ms with it, 142 ms with a binary post-op. So
  // the kernel adds the bias itself after the primitive.
  std::vector<float> bias_;
  Shape out_shape_;
  Layout layout_ = Layout::Plain;
  int add_threads_ = 1;
};

bool conv_transpose_supported(const KernelQuery& q);

}  // namespace hone::dnnl_cpu
