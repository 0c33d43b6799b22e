// ConvTranspose whose kernel equals its stride (2D, no padding, no dilation, one group, no output_padding): each input
// pixel owns a kh x kw patch of the output, so the op is one matrix product per input row (deconv_patch_microkernels.h)
// and a copy of each pixel's result into its patch. oneDNN 2.6's deconvolution takes these through slow paths
// (PaddleOCR det's 24 -> 1 channel 2x2 upsampling to 640x640 at 4.4 GFLOP/s). Either layout, 1 and more threads
// (split by rows); hone.FusedConvTranspose's Relu or Clip (passes/fuse_conv.cc) clamps the results in registers.
#include <omp.h>

#include <cstring>
#include <limits>

#include "kernels/cpu/deconv_patch_microkernels.h"
#include "kernels/cpu/kernel_helpers.h"
#include "ops/nn/spatial.h"
#include "runtime/kernel.h"

namespace hone {
namespace {

struct PatchDeconv {
  Shape x, y;  // [N, C_in, H, W] -> [N, C_out, H * kh, W * kw]
  int64_t kh = 0, kw = 0;
  bool clamp = false;  // hone.FusedConvTranspose's Relu or Clip: results clamped to [lo, hi]
  float lo = 0, hi = 0;
  std::string suffix;  // of the kernel's name
};

std::optional<PatchDeconv> patch_deconv(const KernelQuery& q) {
  if (q.input_types.size() < 2 || !q.input_types[0] || !q.input_types[0]->is_tensor() ||
      q.input_types[0]->elem != DType::Float32 || !q.input_types[0]->shape)
    return std::nullopt;
  std::optional<Shape> x = to_concrete(*q.input_types[0]->shape);
  const Tensor* w = q.input_constants.size() > 1 ? q.input_constants[1] : nullptr;
  if (!x || x->size() != 4 || shape_numel(*x) == 0 || !w || w->dtype() != DType::Float32 || w->rank() != 4 ||
      w->dim(0) != (*x)[1] || shape_numel(w->shape()) == 0)
    return std::nullopt;
  const int64_t oc = w->dim(1);
  if (q.input_types.size() > 2 && q.input_types[2]) {
    const Tensor* b = q.input_constants[2];
    if (!b || b->dtype() != DType::Float32 || b->rank() != 1 || b->dim(0) != oc) return std::nullopt;
  }
  if (!nn::is_patch_conv_transpose(q.node, w->shape())) return std::nullopt;
  PatchDeconv d;
  d.kh = w->dim(2);
  d.kw = w->dim(3);
  if (q.node.domain == "hone") {  // hone.FusedConvTranspose: a Relu or a Clip, as a clamp
    if (q.input_types.size() > 3 && q.input_types[3]) return std::nullopt;
    std::vector<std::string> ops = q.node.attr_strings("post_ops");
    std::vector<float> params = q.node.attr_floats("post_op_params");
    if (ops.size() != 1) return std::nullopt;
    d.clamp = true;
    if (ops[0] == "Relu" && params.empty()) {
      d.lo = 0.f;
      d.hi = std::numeric_limits<float>::infinity();
    } else if (ops[0] == "Clip" && params.size() == 2 && params[0] <= params[1]) {
      d.lo = params[0];
      d.hi = params[1];
    } else {
      return std::nullopt;
    }
    d.suffix = "+" + std::string(ops[0] == "Relu" ? "relu" : "clip");
  }
  d.x = *x;
  d.y = {(*x)[0], oc, (*x)[2] * d.kh, (*x)[3] * d.kw};
  return d;
}

class PatchDeconvKernel final : public Kernel {
 public:
  PatchDeconvKernel(const KernelQuery& q, PatchDeconv d) : d_(std::move(d)), layout_(q.layout) {
    fn_ = cpu::deconv_patch_for(active_isa());
    isa_ = isa_name(active_isa() == Isa::Avx512Vnni ? Isa::Avx512 : active_isa());
    const Tensor& w = *q.input_constants[1];
    const int64_t ic = d_.x[1], oc = d_.y[1], taps = d_.kh * d_.kw;
    cols_ = (taps * oc + cpu::kDeconvPatchLanes - 1) / cpu::kDeconvPatchLanes * cpu::kDeconvPatchLanes;
    // [ic][oc][ki][kj] -> [ic][(ki * kw + kj) * oc + oc], zero-padded to cols_.
    weights_.assign(static_cast<size_t>(ic * cols_), 0.f);
    for (int64_t c = 0; c < ic; ++c)
      for (int64_t o = 0; o < oc; ++o)
        for (int64_t t = 0; t < taps; ++t)
          weights_[static_cast<size_t>(c * cols_ + t * oc + o)] = w.data<float>()[(c * oc + o) * taps + t];
    bias_.assign(static_cast<size_t>(cols_), 0.f);
    if (q.input_types.size() > 2 && q.input_types[2])
      for (int64_t t = 0; t < taps; ++t)
        for (int64_t o = 0; o < oc; ++o)
          bias_[static_cast<size_t>(t * oc + o)] = q.input_constants[2]->data<float>()[o];
    double flops = 2.0 * static_cast<double>(shape_numel(d_.x) * oc * taps);
    threads_ = flops >= 4e6 ? std::max(q.threads, 1) : 1;
    rows_ = std::vector<float>(static_cast<size_t>(threads_ * d_.x[3] * cols_));
  }

  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::Float32 || x.shape() != d_.x)
      fail("{}: input is {}[{}] but the kernel was planned for float[{}]", ctx.node().label(), dtype_name(x.dtype()),
           shape_str(x.shape()), shape_str(d_.x));
    Tensor& y = ctx.output_uninitialized(0, DType::Float32, d_.y);
    const int64_t n = d_.x[0], ic = d_.x[1], h = d_.x[2], w = d_.x[3], oc = d_.y[1], oh = d_.y[2], ow = d_.y[3];
    const int64_t kh = d_.kh, kw = d_.kw, cols = cols_;
    const bool cl = layout_ == Layout::ChannelsLast;
    const float* xd = x.data<float>();
    float* yd = y.data<float>();
    cpu::parallel_chunks(n * h, 1, threads_, [&](int64_t r0, int64_t r1) {
      float* rows = rows_.data() + omp_get_thread_num() * w * cols;  // this thread's [w][cols] results
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t img = r / h, i = r % h;
        cpu::DeconvPatchArgs a;
        a.x = cl ? xd + (img * h + i) * w * ic : xd + img * ic * h * w + i * w;
        a.pixels = w;
        a.ic = ic;
        a.x_pixel = cl ? ic : 1;
        a.x_channel = cl ? 1 : h * w;
        a.w = weights_.data();
        a.bias = bias_.data();
        a.cols = cols;
        a.out = rows;
        a.clamp = d_.clamp;
        a.lo = d_.lo;
        a.hi = d_.hi;
        fn_(a);
        for (int64_t ki = 0; ki < kh; ++ki) {
          const int64_t orow = i * kh + ki;
          if (cl) {  // pixel j's kw x oc values of tap row ki are one run of the output row
            float* dst = yd + (img * oh + orow) * ow * oc;
            const float* src = rows + ki * kw * oc;
            const int64_t run = kw * oc;
            if (run <= 16) {  // a few floats (2 for a 2x2 patch into one channel): a call to memcpy costs more
              for (int64_t j = 0; j < w; ++j)
                for (int64_t e = 0; e < run; ++e) dst[j * run + e] = src[j * cols + e];
            } else {
              for (int64_t j = 0; j < w; ++j)
                std::memcpy(dst + j * run, src + j * cols, static_cast<size_t>(run) * sizeof(float));
            }
          } else {
            for (int64_t o = 0; o < oc; ++o) {
              float* dst = yd + ((img * oc + o) * oh + orow) * ow;
              for (int64_t j = 0; j < w; ++j)
                for (int64_t kj = 0; kj < kw; ++kj) dst[j * kw + kj] = rows[j * cols + (ki * kw + kj) * oc + o];
            }
          }
        }
      }
    }, 1);
  }

  std::string name() const override { return std::string("convtranspose-patch-f32-") + isa_ + d_.suffix; }

 private:
  PatchDeconv d_;
  Layout layout_;
  cpu::DeconvPatchFn fn_ = nullptr;
  const char* isa_ = "";
  std::vector<float> weights_, bias_;
  int64_t cols_ = 0;
  int threads_ = 1;
  std::vector<float> rows_;  // threads_ buffers of one input row's results
};

bool patch_deconv_applies(const KernelQuery& q) { return patch_deconv(q).has_value(); }

// The same kernel for a model's ConvTranspose and for the runtime's hone.FusedConvTranspose.
KernelFactory patch_deconv_factory(std::string domain, std::string op) {
  return {.domain = std::move(domain),
          .op = std::move(op),
          .name = "convtranspose-patch-f32",
          .priority = 20,
          .applies = patch_deconv_applies,
          .create = [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
            return std::make_unique<PatchDeconvKernel>(q, *patch_deconv(q));
          },
          .channels_last = patch_deconv_applies,
          .prefers_channels_last = true};
}
const KernelRegistrar kPatchDeconvKernel{patch_deconv_factory("", "ConvTranspose")};
const KernelRegistrar kPatchFusedDeconvKernel{patch_deconv_factory("hone", "FusedConvTranspose")};

}  // namespace
}  // namespace hone
