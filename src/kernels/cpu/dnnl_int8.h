// Shared by the oneDNN int8 kernels (dnnl_qconv.cc, dnnl_qmatmul.cc): how the runtime's int8 ops
// (ops/hone/quantized.h) become oneDNN 2.6 attributes.
//
// oneDNN 2.6 computes an int8 convolution or matmul as
//   dst = post_ops(output_scale[c] * (sum (src - src_zero_point) * weights + bias[c]))
// then rounds half to even and saturates to dst's type. Our ops apply their post-op chain to the real value
//   v = acc * x_scale * W_scale[c] + B[c]
// and quantize v with y_scale and y_zero_point. The epilogue below tracks the value the primitive holds between
// post-ops as an affine image a * v + b of the real value (a > 0): the output scale and bias choose the first one
// for free, scale-invariant steps (Relu, LeakyRelu, Clip with mapped bounds) run in any image, affine steps only
// change the image, other activations need the real value, the residual Add (a binary add of Z as stored) needs
// Z's scale, and the end needs y's; an eltwise_linear moves from one image to another only where the next step
// needs it (planned backwards from the end). A plain requantized convolution thus has no post-op at all, and a
// residual block's conv + Add + Relu at most three (binary add, relu, linear).
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ops/hone/quantized.h"
#include "runtime/kernel.h"

namespace hone::dnnl_cpu {

dnnl::memory::data_type int8_data_type(DType t);  // uint8 -> u8, int8 -> s8, float32 -> f32
const char* int8_type_name(DType t);              // "u8", "s8", "f32": kernel names

// The oneDNN implementation an int8 kernel runs (e.g. "brgconv:avx512_core_vnni"), for tests and profiles: a
// "ref" one would mean oneDNN found no fast kernel for the shape.
class DnnlImplementation {
 public:
  virtual ~DnnlImplementation() = default;
  virtual const std::string& implementation() const = 0;
};

struct Int8Epilogue {
  std::vector<float> output_scales;  // one per channel (or one for all: `common`)
  bool common = false;
  std::vector<float> bias;           // per channel, in accumulator units (empty: none)
  dnnl::post_ops post_ops;
  int residual_index = -1;           // the post-op adding Z, or -1
  bool residual_is_sum = false;      // Z added by a sum post-op: Z must be copied into the output first
  int channel_mul_index = -1;        // a ChannelMul's binary mul post-op, or -1
  int channel_add_index = -1;        // and its binary add, where the images before and after need one, or -1
  std::vector<float> channel_mul;    // their per-channel operands (the factors times the change of image they make)
  std::vector<float> channel_add;
  int32_t dst_zero_point = 0;        // Y's zero point, added by oneDNN after the post-ops (0: in the chain's image)
  std::string suffix;                // "+add+relu" style, for kernel names
  bool ok = true;                    // (internal: whether oneDNN 2.6 computes the chain correctly)
};

// A ChannelMul post-op's factors (one per output channel) and the layout of the binary post-op's operand that
// carries them ([1, C, 1...] float32, broadcast over the rest of dst).
// With `dst_zero_point`, Y's zero point goes to oneDNN as the destination's zero point (added after the post-ops), so
// that the mul needs no add after it: a binary add costs more than the mul (PaddleOCR rec's pointwise convolutions:
// 12% with the add, 3% without).
struct ChannelMulInput {
  std::vector<float> factors;
  dnnl::memory::desc desc;
  bool dst_zero_point = true;
};

// `acc_scale[c]` = x_scale * W_scale[c] (size = channels); `real_bias` the op's B (empty or size channels);
// Z's element type, parameters and oneDNN layout (`residual`) when the chain has an Add (a binary post-op);
// `channel_mul` when it has a ChannelMul (a binary mul by a per-channel operand, and a binary add of another where
// an offset follows it). Throws hone::Error on a malformed chain and on one no single primitive computes right (see
// SplitEpilogue). With `without_chain` the node's post-ops are left out (the primitive computes v alone).
Int8Epilogue make_int8_epilogue(const Node& node, const std::vector<float>& acc_scale,
                                const std::vector<float>& real_bias, const QuantizedOutput& out, DType z_type,
                                QuantParams z, const dnnl::memory::desc* residual, bool without_chain = false,
                                const ChannelMulInput* channel_mul = nullptr);

// For a chain no single oneDNN 2.6 primitive computes right (an activation that needs the real value before the
// residual of a float32 result, a negative affine step before a quantized one, ...): the primitive writes v in
// float32 and this finishes it in Hone's own vectorized kernels, chunk by chunk while it is in cache: the chain
// (the element-wise microkernels; Z dequantized for the Add), then Y (the q8 QuantizeLinear microkernel).
class SplitEpilogue {
 public:
  // Throws hone::Error naming the node on a malformed chain. `channel_factors`: a ChannelMul's factors (empty
  // without one); `channel_inner`: how many consecutive elements of v share a channel (1 for channels-last).
  SplitEpilogue(const Node& node, const QuantizedOutput& out, DType z_type, QuantParams z,
                std::vector<float> channel_factors = {}, int64_t channel_inner = 1);
  // v: n real values, overwritten; z: Z as stored (n elements) or null; y: Y (may be v itself for a float32 Y).
  void run(float* v, const void* z, void* y, int64_t n, int threads) const;
  const std::string& suffix() const { return suffix_; }

 private:
  std::vector<std::pair<std::string, std::vector<float>>> steps_;
  QuantizedOutput out_;
  DType z_type_;
  QuantParams z_;
  std::vector<float> channel_factors_;
  int64_t channel_inner_ = 1;
  std::string suffix_;
};

// A hone.QConv node's geometry and quantization, read once for the int8 convolution kernels (dnnl_qconv.cc, and
// q8_dwconv_kernel.cc for depthwise ones). Strides, dilations (oneDNN's: one less than ONNX's) and pads per spatial
// dimension; `acc_scale[c]` = x_scale * W_scale[c]; `real_bias` the op's B (empty or one per output channel).
struct QConvSetup {
  Shape x, w, y;
  int64_t group = 1;
  dnnl::memory::dims strides, dilations, pad_l, pad_r;
  DType x_type = DType::Undefined, z_type = DType::Undefined;
  QuantParams xp, zp;
  QuantizedOutput out;
  const Tensor* weights = nullptr;
  std::vector<float> acc_scale, real_bias;
  std::vector<float> channel_factors;  // input C (a ChannelMul post-op's factors), or empty
};

// Null where the query is not an int8 convolution these kernels take (8-bit X, constant int8 W and float32 scales,
// constant B, a residual Z of Y's shape, constant ChannelMul factors).
std::optional<QConvSetup> qconv_setup(const KernelQuery& q);
// The oneDNN int8 convolution kernel for the query (dnnl_qconv.cc).
std::unique_ptr<Kernel> make_dnnl_qconv_kernel(const KernelQuery& q);

// The attributes: output scales (mask selects the channel dimension when per channel), the source zero point
// (when not 0), the post-ops, and a user-managed scratchpad.
dnnl::primitive_attr int8_attr(const Int8Epilogue& e, int channel_mask, int32_t src_zero_point);

// A copy of the int8 weights (plain, `user`) in the primitive's layout `want` (which may carry oneDNN's
// compensation for int8 sources or source zero points), made once.
dnnl::memory pack_int8_weights(const int8_t* w, const dnnl::memory::desc& user, const dnnl::memory::desc& want);

// The 8-bit activation layout of a Hone tensor: plain, or nhwc for a rank-4 tensor planned channels-last.
dnnl::memory::desc int8_activation_desc(const Shape& shape, DType type, Layout layout);

}  // namespace hone::dnnl_cpu
