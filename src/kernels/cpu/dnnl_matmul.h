// MatMul (numpy semantics, batch broadcasting) and Gemm (transA/transB, alpha, beta, broadcast C) on oneDNN's matmul
// primitive, float32, for concrete shapes. A constant B is reordered once into the primitive's preferred layout
// (with Gemm's alpha folded in); a constant C becomes a pre-scaled bias. With compute type bf16 the primitive
// multiplies bfloat16 operands (the float32 tensors rounded on the way in; a constant B once, when packed), accumulates
// in float32 and rounds its result to bfloat16, widened back into the float32 output.
#pragma once
#include "kernels/cpu/dnnl_common.h"

namespace hone::dnnl_cpu {

class DnnlMatMulKernel final : public Kernel {
 public:
  // For a MatMul or Gemm node; throws hone::Error or dnnl::error where matmul_supported / gemm_supported say no.
  explicit DnnlMatMulKernel(const KernelQuery& q, PostOps post_ops = {},
                            dnnl::memory::data_type compute = dnnl::memory::data_type::f32);
  ~DnnlMatMulKernel() override;  // out of line: oneDNN handles are released inside libhone
  void run(OpContext& ctx) override;
  std::string name() const override { return base_name_ + post_ops_suffix(post_ops_); }
  const std::string& impl() const { return prim_.impl(); }

 private:
  std::string base_name_;
  PostOps post_ops_;
  Shape a_shape_, b_shape_, out_shape_;
  int threads_ = 0;  // fixed at creation (threads_for_work)
  PreparedPrimitive prim_;
  int src_ = -1, wei_ = -1, bias_ = -1, dst_ = -1;
  int c_input_ = -1;  // Gemm's C bound per run as the bias (when not constant)
  Shape c_shape_;
};

bool matmul_supported(const KernelQuery& q, dnnl::memory::data_type compute = dnnl::memory::data_type::f32);
bool gemm_supported(const KernelQuery& q, dnnl::memory::data_type compute = dnnl::memory::data_type::f32);

}  // namespace hone::dnnl_cpu
