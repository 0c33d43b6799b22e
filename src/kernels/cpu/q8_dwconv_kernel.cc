// hone.QConv for depthwise convolutions (one group per channel, one output channel per group, 2-D, kernels 5 to 8
// wide and up to 8 high, any stride, dilation and padding) of uint8 / int8 activations stored channels-last, on AVX-512
// VNNI: the lightweight backbones' 5x5 depthwise layers (PaddleOCR's PP-LCNetV3, MobileNetV3). oneDNN 2.6 runs them
// slower in int8 than in float32 on this machine (PaddleOCR rec's 5x5 layers: 0.13 ms int8, 0.09 ms float32); this
// kernel runs them in 0.10.
//
// Threads take blocks of 16 channels (or runs of output rows when there are few blocks). For each block, an input row
// is packed once into quads (q8_dwconv_microkernels.h) in a ring of the rows the kernel spans; the microkernel
// computes an output row and runs the op's post-op chain and Y's quantization in registers. Chains with Sigmoid, Tanh
// or Swish go row by row instead: every block writes v in float32 and SplitEpilogue, the code of oneDNN's split
// chains, finishes the row while it is in cache. Plain-layout queries (an output that must stay N,C,H,W) go to the
// oneDNN kernel.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/dnnl_int8.h"
#include "kernels/cpu/kernel_helpers.h"
#include "kernels/cpu/q8_dwconv_microkernels.h"
#include "ops/hone/fused_conv.h"

namespace hone::dnnl_cpu {
namespace {

constexpr int64_t kMaxKernel = 8;  // two tap groups wide; as many rows
// Narrower kernels stay on oneDNN: a 3-wide row fills one group of four taps, and with so few products per output the
// packing and the post-ops take most of the time (3x3: 0.7-1.0x oneDNN's speed; 5x5: 1.4-1.5x, BENCHMARKS.md).
constexpr int64_t kMinWidth = 5;
constexpr int64_t kMaxRing = 64;   // input rows a kernel spans (dilated)

std::optional<QConvSetup> dw_setup(const KernelQuery& q) {
  if (active_isa() != Isa::Avx512Vnni) return std::nullopt;
  std::optional<QConvSetup> s = qconv_setup(q);
  if (!s || s->x.size() != 4 || s->group < 2 || s->group != s->x[1] || s->w[0] != s->group || s->w[1] != 1 ||
      s->w[3] < kMinWidth || s->w[2] > kMaxKernel || s->w[3] > kMaxKernel ||
      (s->w[2] - 1) * (s->dilations[0] + 1) + 1 > kMaxRing)
    return std::nullopt;
  try {
    SplitEpilogue check(q.node, s->out, s->z_type, s->zp, s->channel_factors);
  } catch (const Error&) {
    return std::nullopt;
  }
  return s;
}

cpu::DwType dw_type(DType t) {
  return t == DType::UInt8 ? cpu::DwType::U8 : t == DType::Int8 ? cpu::DwType::S8 : cpu::DwType::F32;
}

// Packed rows and weights start on cache lines: every vpdpbusd operand is then one line, not two.
template <typename T>
T* line_aligned(std::vector<T>& v, size_t n) {
  v.assign(n + 64, T{});
  auto p = reinterpret_cast<uintptr_t>(v.data());
  return reinterpret_cast<T*>((p + 63) / 64 * 64);
}

class Q8DwConvKernel final : public Kernel {
 public:
  Q8DwConvKernel(const KernelQuery& q, QConvSetup s)
      : x_(s.x), y_(s.y), x_type_(s.x_type), y_type_(s.out.type), z_type_(s.z_type) {
    c_ = s.x[1];
    cp_ = (c_ + cpu::kDwLanes - 1) / cpu::kDwLanes * cpu::kDwLanes;
    kh_ = s.w[2];
    kw_ = s.w[3];
    groups_ = (kw_ + 3) / 4;
    sh_ = s.strides[0];
    sw_ = s.strides[1];
    dh_ = s.dilations[0] + 1;
    dw_ = s.dilations[1] + 1;
    pt_ = s.pad_l[0];
    pl_ = s.pad_l[1];
    quads_ = (y_[3] - 1) * sw_ + 4 * (groups_ - 1) * dw_ + 1;
    ring_ = (kh_ - 1) * dh_ + 1;
    flip_ = x_type_ == DType::Int8;
    zero_ = static_cast<uint8_t>(s.xp.zero_point + (flip_ ? 128 : 0));
    // Weights [kh][groups][cp][4], zero past the kernel's width and the channels; comp = zero point * weight sum.
    const int8_t* w = s.weights->data<int8_t>();
    int8_t* packed = line_aligned(weights_, static_cast<size_t>(kh_ * groups_ * cp_ * 4));
    comp_.assign(static_cast<size_t>(cp_), 0);
    scale_.assign(static_cast<size_t>(cp_), 0.f);
    bias_.assign(static_cast<size_t>(cp_), 0.f);
    for (int64_t c = 0; c < c_; ++c) {
      int32_t sum = 0;
      for (int64_t i = 0; i < kh_; ++i)
        for (int64_t t = 0; t < kw_; ++t) {
          int8_t v = w[(c * kh_ + i) * kw_ + t];
          packed[((i * groups_ + t / 4) * cp_ + c) * 4 + t % 4] = v;
          sum += v;
        }
      comp_[static_cast<size_t>(c)] = sum * static_cast<int32_t>(zero_);
      scale_[static_cast<size_t>(c)] = s.acc_scale[static_cast<size_t>(c)];
      if (!s.real_bias.empty()) bias_[static_cast<size_t>(c)] = s.real_bias[static_cast<size_t>(c)];
    }
    // The chain in the row kernel's registers where it has only the steps it knows (else SplitEpilogue after it).
    // Its affine steps (Linear, ChannelMul) before the first other one fold into scale and bias, those after the
    // last other one into out_mul and out_add, with Y's scale and zero point: x -> m[c] * x + k[c] per channel.
    std::vector<std::string> ops = q.node.attr_strings("post_ops");
    std::vector<float> params = q.node.attr_floats("post_op_params");
    split_ = std::make_unique<SplitEpilogue>(q.node, s.out, s.z_type, s.zp, s.channel_factors, 1);  // checks it
    struct Affine {
      bool is = false;
      std::vector<float> m, k;
    };
    std::vector<cpu::DwStep> steps;
    std::vector<Affine> affine;
    size_t k = 0;
    fused_ = true;
    for (const std::string& op : ops) {
      const float* p = params.data() + k;
      k += static_cast<size_t>(post_op_param_count(op));
      using K = cpu::DwStepKind;
      Affine af;
      if (op == "Linear") {
        af = {true, std::vector<float>(static_cast<size_t>(cp_), p[0]), std::vector<float>(static_cast<size_t>(cp_), p[1])};
        steps.push_back({K::Linear, p[0], p[1]});
      } else if (op == "ChannelMul") {
        af = {true, std::vector<float>(static_cast<size_t>(cp_), 0.f), std::vector<float>(static_cast<size_t>(cp_), 0.f)};
        std::copy(s.channel_factors.begin(), s.channel_factors.end(), af.m.begin());
        steps.push_back({K::ChannelMul});
      } else if (op == "Relu") steps.push_back({K::Relu});
      else if (op == "LeakyRelu") steps.push_back({K::LeakyRelu, p[0]});
      else if (op == "Clip") steps.push_back({K::Clip, p[0], p[1]});
      else if (op == "HardSigmoid") steps.push_back({K::HardSigmoid, p[0], p[1]});
      else if (op == "HardSwish") steps.push_back({K::HardSwish});
      else if (op == "Add") steps.push_back({K::Add});
      else fused_ = false;
      affine.push_back(std::move(af));
    }
    if (!s.channel_factors.empty()) {
      channel_.assign(static_cast<size_t>(cp_), 0.f);
      std::copy(s.channel_factors.begin(), s.channel_factors.end(), channel_.begin());
    }
    size_t first = 0, last = steps.size();
    while (first < last && affine[first].is) ++first;
    while (last > first && affine[last - 1].is) --last;
    out_mul_.assign(static_cast<size_t>(cp_), 1.f);
    out_add_.assign(static_cast<size_t>(cp_), 0.f);
    for (size_t i = 0; fused_ && i < steps.size(); ++i) {
      if (!affine[i].is || (i >= first && i < last)) continue;
      bool leading = i < first;
      std::vector<float>& mul = leading ? scale_ : out_mul_;
      std::vector<float>& add = leading ? bias_ : out_add_;
      for (size_t c = 0; c < static_cast<size_t>(cp_); ++c) {
        mul[c] *= affine[i].m[c];
        add[c] = affine[i].m[c] * add[c] + affine[i].k[c];
      }
    }
    steps_.assign(steps.begin() + static_cast<int64_t>(first), steps.begin() + static_cast<int64_t>(last));
    if (s.out.quantized())
      for (size_t c = 0; c < static_cast<size_t>(cp_); ++c) {
        out_mul_[c] /= s.out.params.scale;
        out_add_[c] = out_add_[c] / s.out.params.scale + static_cast<float>(s.out.params.zero_point);
      }
    zq_ = s.zp;
    double macs = static_cast<double>(shape_numel(y_)) * static_cast<double>(kh_ * kw_);
    threads_ = macs >= 1e6 ? std::max(q.threads, 1) : 1;
    threads_ = static_cast<int>(std::min<int64_t>(threads_, y_[0] * y_[2]));
    const int64_t blocks = cp_ / cpu::kDwLanes;
    const size_t block_bytes = static_cast<size_t>(quads_ * 64);
    // The fused path works block by block: its ring holds one block's rows; the split one needs every block's.
    ring_blocks_ = fused_ ? 1 : blocks;
    rings_base_ = line_aligned(rings_, static_cast<size_t>(threads_ * ring_ * ring_blocks_) * block_bytes);
    held_.assign(static_cast<size_t>(threads_ * ring_ * ring_blocks_), -1);
    pad_row_base_ = line_aligned(pad_row_, block_bytes);  // the zero point everywhere: the same for every block
    weights_base_ = packed;
    cpu::DwPackArgs pad{.w = x_[3], .c = c_, .cp = cp_, .quads = quads_, .pad_l = pl_, .dilation = dw_,
                        .zero = zero_, .flip = flip_, .block = 0, .out = pad_row_base_};
    cpu::q8_dw_pack_avx512(pad);
    if (!fused_ && s.out.quantized()) v_.assign(static_cast<size_t>(threads_ * y_[3] * c_), 0.f);
    name_ = fmt::format("q8-dwconv-{}{}{}{}-avx512_vnni", int8_type_name(x_type_), int8_type_name(y_type_),
                        split_->suffix(), fused_ ? "" : " (split)");
  }

  void run(OpContext& ctx) override {
    const Tensor& x = cpu::planned_input(ctx, 0, x_type_, x_);
    Tensor& y = ctx.output_uninitialized(0, y_type_, y_);
    const Tensor* z = nullptr;
    if (z_type_ != DType::Undefined) {
      z = &cpu::planned_input(ctx, 4, z_type_, y_, "residual input");
    }
    const int64_t h = x_[2], w = x_[3], oh = y_[2], ow = y_[3], blocks = cp_ / cpu::kDwLanes;
    const size_t block_bytes = static_cast<size_t>(quads_ * 64);
    const size_t y_elem = dtype_size(y_type_), z_elem = z ? dtype_size(z_type_) : 0;
    const auto* xb = static_cast<const uint8_t*>(x.raw());
    // Threads take blocks of channels where there are enough to go round (each packs only its blocks' rows), else
    // runs of output rows (each packs the input rows its run needs, some twice at the seams).
    const int64_t rows_total = y_[0] * oh;
    const bool by_blocks = fused_ && blocks >= 2 * threads_;
    cpu::parallel_chunks(by_blocks ? blocks : rows_total, 1, threads_, [&](int64_t ub, int64_t ue) {
      const int t = omp_in_parallel() ? omp_get_thread_num() : 0;
      const int64_t bb = by_blocks ? ub : 0, be = by_blocks ? ue : blocks;
      const int64_t rb = by_blocks ? 0 : ub, re = by_blocks ? rows_total : ue;
      uint8_t* ring = rings_base_ + static_cast<size_t>(t * ring_ * ring_blocks_) * block_bytes;
      int64_t* held = held_.data() + t * ring_ * ring_blocks_;  // which input row (and block) each slot holds
      std::fill(held, held + ring_ * ring_blocks_, int64_t{-1});
      const uint8_t* rows[kMaxKernel];
      // The packed rows output row r reads for block b: packed here when the ring does not hold them yet.
      auto gather = [&](int64_t r, int64_t b) {
        const int64_t n = r / oh, o = r % oh;
        for (int64_t i = 0; i < kh_; ++i) {
          int64_t ih = o * sh_ - pt_ + i * dh_;
          if (ih < 0 || ih >= h) {
            rows[i] = pad_row_base_;
            continue;
          }
          int64_t slot = (ih % ring_) * ring_blocks_ + (ring_blocks_ > 1 ? b : 0), tag = (n * h + ih) * blocks + b;
          uint8_t* dst = ring + static_cast<size_t>(slot) * block_bytes;
          if (held[slot] != tag) {
            cpu::DwPackArgs p{.row = xb + (n * h + ih) * w * c_, .w = w, .c = c_, .cp = cp_, .quads = quads_,
                              .pad_l = pl_, .dilation = dw_, .zero = zero_, .flip = flip_, .block = b, .out = dst};
            cpu::q8_dw_pack_avx512(p);
            held[slot] = tag;
          }
          rows[i] = dst;
        }
      };
      cpu::DwRowArgs a{.rows = rows, .weights = weights_base_, .kh = kh_, .groups = groups_, .cp = cp_, .c = c_,
                       .quads = quads_, .ow = ow, .stride = sw_, .dilation = dw_, .comp = comp_.data(),
                       .scale = scale_.data(), .bias = bias_.data()};
      if (fused_) {
        // Block by block, each over the thread's rows: a block's packed rows stay in L1 between output rows.
        a.steps = steps_.data();
        a.nsteps = static_cast<int64_t>(steps_.size());
        a.channel = channel_.empty() ? nullptr : channel_.data();
        a.z_type = dw_type(z_type_);
        a.z_scale = zq_.scale;
        a.z_zero = static_cast<float>(zq_.zero_point);
        a.y_type = dw_type(y_type_);
        a.out_mul = out_mul_.data();
        a.out_add = out_add_.data();
        for (int64_t b = bb; b < be; ++b)
          for (int64_t r = rb; r < re; ++r) {
            gather(r, b);
            const int64_t first = r * ow * c_;  // the row's first element of Y (and Z)
            a.block = b;
            a.z = z ? static_cast<const uint8_t*>(z->raw()) + first * static_cast<int64_t>(z_elem) : nullptr;
            a.y = static_cast<uint8_t*>(y.raw()) + first * static_cast<int64_t>(y_elem);
            cpu::q8_dw_row_avx512_vnni(a);
          }
        return;
      }
      // Row by row: every block's v, then the chain over the row.
      for (int64_t r = rb; r < re; ++r) {
        const int64_t first = r * ow * c_;
        void* yr = static_cast<uint8_t*>(y.raw()) + first * static_cast<int64_t>(y_elem);
        a.v = v_.empty() ? static_cast<float*>(yr) : v_.data() + t * ow * c_;
        for (int64_t b = 0; b < blocks; ++b) {
          gather(r, b);
          a.block = b;
          cpu::q8_dw_row_avx512_vnni(a);
        }
        const void* zr = z ? static_cast<const uint8_t*>(z->raw()) + first * static_cast<int64_t>(z_elem) : nullptr;
        split_->run(a.v, zr, yr, ow * c_, 1);
      }
    }, 1);  // no alignment: chunks of single blocks or rows
  }

  std::string name() const override { return name_; }

 private:
  Shape x_, y_;
  DType x_type_, y_type_, z_type_;
  int64_t c_ = 0, cp_ = 0, kh_ = 0, kw_ = 0, groups_ = 0, sh_ = 1, sw_ = 1, dh_ = 1, dw_ = 1, pt_ = 0, pl_ = 0;
  int64_t quads_ = 0, ring_ = 1, ring_blocks_ = 1;
  bool flip_ = false;
  uint8_t zero_ = 0;
  std::vector<int8_t> weights_;
  std::vector<int32_t> comp_;
  std::vector<float> scale_, bias_;
  std::unique_ptr<SplitEpilogue> split_;  // the chain when the row kernel cannot run it
  bool fused_ = false;
  std::vector<cpu::DwStep> steps_;
  std::vector<float> channel_;            // cp: ChannelMul factors
  std::vector<float> out_mul_, out_add_;  // cp: the chain's trailing affine steps and Y's quantization
  QuantParams zq_;
  int threads_ = 1;
  std::vector<uint8_t> rings_, pad_row_;  // per thread: ring_ packed rows of each block; one of the zero point
  std::vector<int64_t> held_;             // per thread and ring slot: the input row it holds
  uint8_t *rings_base_ = nullptr, *pad_row_base_ = nullptr;  // their first cache lines
  int8_t* weights_base_ = nullptr;
  std::vector<float> v_;                  // per thread: one output row's v (an 8-bit Y)
  std::string name_;
};

HONE_REGISTER_KERNEL({.domain = "hone",
                      .op = "QConv",
                      .name = "q8-dwconv",
                      .priority = 20,
                      .applies = [](const KernelQuery& q) { return dw_setup(q).has_value(); },
                      .create = [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
                        // Channels-last only: a depthwise layer whose output must stay plain runs on oneDNN.
                        if (q.layout != Layout::ChannelsLast) return make_dnnl_qconv_kernel(q);
                        return std::make_unique<Q8DwConvKernel>(q, *dw_setup(q));
                      },
                      .channels_last = [](const KernelQuery& q) { return dw_setup(q).has_value(); },
                      .prefers_channels_last = true});

}  // namespace
}  // namespace hone::dnnl_cpu
