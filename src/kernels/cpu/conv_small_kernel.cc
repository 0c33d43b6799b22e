// Conv (and hone.FusedConv with at most a Relu after it) with few input channels (1-4) and few output channels
// (1-16), unit stride and dilation: a model's first layer on a grey or RGB image into a handful of feature maps.
// oneDNN 2.6 runs such convolutions at 26-42 GFLOP/s on this machine (its kernels vectorize over channels, mostly
// padding here); this kernel vectorizes over 16 output pixels of a row instead (conv_small_microkernels.h).
// Either layout: channels-last input is read into the same zero-padded planes, and the output is written in the
// layout the plan chose.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/conv_small_microkernels.h"
#include "kernels/cpu/kernel_helpers.h"
#include "ops/nn/spatial.h"
#include "runtime/kernel.h"

namespace hone {
namespace {

struct SmallConv {
  Shape x, y;
  int64_t kh = 0, kw = 0, pad_t = 0, pad_l = 0;
  bool relu = false;
};

std::optional<SmallConv> small_conv(const KernelQuery& q) {
  bool fused = q.node.domain == "hone";
  if (fused) {
    std::vector<std::string> ops = q.node.attr_strings("post_ops");
    if (!(ops.empty() || (ops.size() == 1 && ops[0] == "Relu"))) return std::nullopt;
    if (q.input_types.size() > 3 && q.input_types[3]) return std::nullopt;  // a residual
  }
  if (q.input_types.size() < 2 || !q.input_types[0] || !q.input_types[0]->is_tensor() ||
      q.input_types[0]->elem != DType::Float32 || !q.input_types[0]->shape)
    return std::nullopt;
  std::optional<Shape> x = to_concrete(*q.input_types[0]->shape);
  const Tensor* w = q.input_constants.size() > 1 ? q.input_constants[1] : nullptr;
  if (!x || x->size() != 4 || !w || w->dtype() != DType::Float32 || w->rank() != 4) return std::nullopt;
  if (q.input_types.size() > 2 && q.input_types[2]) {
    const Tensor* b = q.input_constants[2];
    if (!b || b->dtype() != DType::Float32 || b->numel() != w->dim(0)) return std::nullopt;
  }
  const int64_t ic = (*x)[1], oc = w->dim(0);
  if (q.node.attr_int("group", 1) != 1 || w->dim(1) != ic || ic < 1 || ic > 4 || oc < 1 || oc > cpu::kConvSmallMaxOut)
    return std::nullopt;
  if (w->dim(2) > 7 || w->dim(3) > 7 || shape_numel(*x) == 0) return std::nullopt;
  SmallConv s;
  s.x = *x;
  s.kh = w->dim(2);
  s.kw = w->dim(3);
  s.relu = fused && !q.node.attr_strings("post_ops").empty();
  std::vector<int64_t> wk = {s.kh, s.kw}, in = {(*x)[2], (*x)[3]};
  try {
    nn::WindowAttrs wa = nn::read_window_attrs(q.node, 2, &wk);
    if (wa.kernel != wk || wa.strides != std::vector<int64_t>{1, 1} || wa.dilations != std::vector<int64_t>{1, 1})
      return std::nullopt;
    std::vector<int64_t> pads = nn::resolve_pads(wa, in, q.node);
    std::vector<int64_t> out = nn::window_out_dims(wa, in, pads, /*pool=*/false, q.node);
    if (pads[0] < 0 || pads[1] < 0 || pads[2] < 0 || pads[3] < 0 || out[0] <= 0 || out[1] <= 0) return std::nullopt;
    if (pads[0] >= s.kh || pads[2] >= s.kh || pads[1] >= s.kw || pads[3] >= s.kw) return std::nullopt;
    s.pad_t = pads[0];
    s.pad_l = pads[1];
    s.y = {(*x)[0], oc, out[0], out[1]};
  } catch (const Error&) {
    return std::nullopt;
  }
  return s;
}

class SmallConvKernel final : public Kernel {
 public:
  SmallConvKernel(const KernelQuery& q, SmallConv s) : s_(std::move(s)), layout_(q.layout) {
    fn_ = cpu::conv_small_for(active_isa());
    isa_ = isa_name(active_isa() == Isa::Avx512Vnni ? Isa::Avx512 : active_isa());
    const Tensor& w = *q.input_constants[1];
    const int64_t oc = s_.y[1], ic = s_.x[1];
    // [oc][ic][kh][kw] -> [kh][kw][ic][oc]
    weights_.resize(static_cast<size_t>(w.numel()));
    for (int64_t o = 0; o < oc; ++o)
      for (int64_t c = 0; c < ic; ++c)
        for (int64_t i = 0; i < s_.kh; ++i)
          for (int64_t j = 0; j < s_.kw; ++j)
            weights_[static_cast<size_t>(((i * s_.kw + j) * ic + c) * oc + o)] =
                w.data<float>()[((o * ic + c) * s_.kh + i) * s_.kw + j];
    if (q.input_types.size() > 2 && q.input_types[2])
      bias_.assign(q.input_constants[2]->data<float>(), q.input_constants[2]->data<float>() + oc);
    rows_ = s_.y[2] + s_.kh - 1;
    row_stride_ = (s_.y[3] + cpu::kConvSmallLanes - 1) / cpu::kConvSmallLanes * cpu::kConvSmallLanes + s_.kw - 1;
    double flops = 2.0 * static_cast<double>(shape_numel(s_.y) * ic * s_.kh * s_.kw);
    threads_ = flops >= 4e6 ? std::max(q.threads, 1) : 1;
    threads_ = static_cast<int>(std::min<int64_t>(threads_, s_.x[0]));  // images split over threads
    planes_.assign(static_cast<size_t>(threads_ * ic * rows_ * row_stride_), 0.f);
  }

  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::Float32 || x.shape() != s_.x)
      fail("{}: input is {}[{}] but the kernel was planned for float[{}]", ctx.node().label(), dtype_name(x.dtype()),
           shape_str(x.shape()), shape_str(s_.x));
    Tensor& y = ctx.output_uninitialized(0, DType::Float32, s_.y);
    const int64_t n = s_.x[0], ic = s_.x[1], h = s_.x[2], w = s_.x[3], oc = s_.y[1], oh = s_.y[2], ow = s_.y[3];
    const int64_t plane = rows_ * row_stride_;
    const bool cl = layout_ == Layout::ChannelsLast;
    cpu::parallel_chunks(n, 1, threads_, [&](int64_t b, int64_t e) {
      float* padded = planes_.data() + omp_get_thread_num() * ic * plane;  // this thread's planes
      for (int64_t img = b; img < e; ++img) {
        const float* src = x.data<float>() + img * ic * h * w;
        // Rows and columns outside the input stay zero from construction; only the interior is rewritten.
        for (int64_t c = 0; c < ic; ++c)
          for (int64_t r = 0; r < h; ++r) {
            float* row = padded + c * plane + (r + s_.pad_t) * row_stride_ + s_.pad_l;
            if (!cl) std::memcpy(row, src + (c * h + r) * w, static_cast<size_t>(w) * sizeof(float));
            else
              for (int64_t col = 0; col < w; ++col) row[col] = src[(r * w + col) * ic + c];
          }
        cpu::ConvSmallArgs a;
        a.padded = padded;
        a.ic = ic;
        a.rows = rows_;
        a.row_stride = row_stride_;
        a.oc = oc;
        a.kh = s_.kh;
        a.kw = s_.kw;
        a.oh = oh;
        a.ow = ow;
        a.weights = weights_.data();
        a.bias = bias_.empty() ? nullptr : bias_.data();
        a.relu = s_.relu;
        a.out = y.data<float>() + img * oc * oh * ow;
        a.out_row = cl ? ow * oc : ow;
        a.out_pixel = cl ? oc : 1;
        a.out_channel = cl ? 1 : oh * ow;
        fn_(a);
      }
    }, 1);
  }

  std::string name() const override { return std::string("conv-small-f32-") + isa_ + (s_.relu ? "+relu" : ""); }

 private:
  SmallConv s_;
  Layout layout_;
  cpu::ConvSmallFn fn_ = nullptr;
  const char* isa_ = "";
  std::vector<float> weights_, bias_;
  int64_t rows_ = 0, row_stride_ = 0;
  int threads_ = 1;
  std::vector<float> planes_;  // threads_ sets of ic zero-padded planes
};

std::unique_ptr<Kernel> make_small_conv(const KernelQuery& q) {
  return std::make_unique<SmallConvKernel>(q, *small_conv(q));
}
bool small_conv_applies(const KernelQuery& q) { return small_conv(q).has_value(); }

// The same kernel for a model's Conv and for the runtime's fused hone.FusedConv.
KernelFactory small_conv_factory(std::string domain, std::string op) {
  return {.domain = std::move(domain),
          .op = std::move(op),
          .name = "conv-small-f32",
          .priority = 20,
          .applies = small_conv_applies,
          .create = make_small_conv,
          .channels_last = small_conv_applies,
          .prefers_channels_last = true};
}
const KernelRegistrar kSmallConvKernel{small_conv_factory("", "Conv")};
const KernelRegistrar kSmallFusedConvKernel{small_conv_factory("hone", "FusedConv")};

}  // namespace
}  // namespace hone
