// hone.ChannelShuffle (ops/hone/channel_shuffle.cc) on float32 [N, C, H, W] in either layout. Plain: one plane copy
// per channel. Channels-last: each pixel's C channels are permuted in place of the reference's plane copies, so that
// ShuffleNet's chains of channels-last convolutions run without layout transforms.
#include <cstring>
#include <vector>

#include "kernels/cpu/kernel_helpers.h"
#include "runtime/kernel.h"

namespace hone {
namespace {

// Below this many elements a shuffle is a few microseconds: one thread.
constexpr int64_t kMinParallelElements = 64 * 1024;

class ChannelShuffleKernel final : public Kernel {
 public:
  ChannelShuffleKernel(Shape shape, int64_t group, Layout layout, int threads)
      : shape_(std::move(shape)), group_(group), layout_(layout),
        threads_(shape_numel(shape_) >= kMinParallelElements ? threads : 1) {
    // Channels-last: output channel o of a pixel reads input channel from_[o]; writes stay sequential and the reads
    // stay within the pixel's row of C floats (in L1).
    const int64_t c = shape_[1], per = c / group_;
    for (int64_t o = 0; o < c; ++o) from_.push_back(static_cast<int32_t>((o % group_) * per + o / group_));
  }

  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::Float32 || x.shape() != shape_)
      fail("{}: input is {}[{}] but the kernel was planned for float[{}]", ctx.node().label(), dtype_name(x.dtype()),
           shape_str(x.shape()), shape_str(shape_));
    Tensor& y = ctx.output_uninitialized(0, DType::Float32, shape_);
    const float* src = x.data<float>();
    float* dst = y.data<float>();
    const int64_t n = shape_[0], c = shape_[1], hw = shape_[2] * shape_[3], g = group_, per = c / g;
    if (layout_ == Layout::ChannelsLast) {
      const int32_t* from = from_.data();
      cpu::parallel_chunks(n * hw, 64, threads_, [&](int64_t b, int64_t e) {
        for (int64_t p = b; p < e; ++p) {
          const float* s = src + p * c;
          float* d = dst + p * c;
          for (int64_t o = 0; o < c; ++o) d[o] = s[from[o]];
        }
      }, 1);
    } else {
      const size_t plane = static_cast<size_t>(hw) * sizeof(float);
      cpu::parallel_chunks(n * c, 1, threads_, [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; ++k) {  // output channel k of image k / c
          int64_t img = k / c, o = k % c, j = o / g, i = o % g;
          std::memcpy(dst + k * hw, src + (img * c + i * per + j) * hw, plane);
        }
      }, 1);
    }
  }
  std::string name() const override {
    return layout_ == Layout::ChannelsLast ? "channel_shuffle_nhwc" : "channel_shuffle";
  }

 private:
  Shape shape_;
  int64_t group_;
  Layout layout_;
  int threads_;
  std::vector<int32_t> from_;
};

std::optional<Shape> shuffle_shape(const KernelQuery& q) {
  if (q.input_types.size() != 1 || !is_layout_tensor(q.input_types[0]) || q.input_types[0]->elem != DType::Float32)
    return std::nullopt;
  std::optional<Shape> s = to_concrete(*q.input_types[0]->shape);
  int64_t g = q.node.attr_int("group", 0);
  if (!s || g <= 0 || (*s)[1] % g != 0) return std::nullopt;
  return s;
}

HONE_REGISTER_KERNEL({
    .domain = "hone",
    .op = "ChannelShuffle",
    .name = "channel_shuffle",
    .priority = 10,
    .applies = [](const KernelQuery& q) { return shuffle_shape(q).has_value(); },
    .create = [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
      return std::make_unique<ChannelShuffleKernel>(*shuffle_shape(q), q.node.attr_int("group", 0), q.layout,
                                                    q.threads);
    },
    .channels_last = [](const KernelQuery& q) { return shuffle_shape(q).has_value(); },
});

}  // namespace
}  // namespace hone
