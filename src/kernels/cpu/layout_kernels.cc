// Fast hone.LayoutTransform (plain N,C,H,W <-> channels-last N,H,W,C) as a oneDNN reorder created once per shape,
// for float32 and the uint8 / int8 activations of quantized models; except the 8-bit image of three channels going
// channels-last (a quantized model's input before its first convolution), which oneDNN 2.6 reorders at 2.5 GB/s
// (0.48 ms for PaddleOCR det's 640x640 input, 3% of its int8 run): three byte planes interleaved with pshufb instead.
#include <immintrin.h>

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/dnnl_common.h"
#include "kernels/cpu/kernel_helpers.h"

namespace hone::dnnl_cpu {
namespace {

using dnnl::memory;

// Pixels [0, n) of three planes into n * 3 interleaved bytes, 16 pixels per step (each output vector: three
// shuffles, one per plane, or-ed).
__attribute__((target("avx2"))) void interleave3_avx2(const uint8_t* a, const uint8_t* b, const uint8_t* c,
                                                      uint8_t* out, int64_t n) {
  // Output byte k of vector v (k + 16 v of the 48) is pixel (k + 16 v) / 3 of plane (k + 16 v) % 3; -1: zero.
  struct Table {
    alignas(16) int8_t v[3][3][16];
  };
  static const Table t = [] {
    Table t{};
    for (int v = 0; v < 3; ++v)
      for (int k = 0; k < 16; ++k) {
        int at = k + 16 * v;
        for (int p = 0; p < 3; ++p) t.v[v][p][k] = at % 3 == p ? static_cast<int8_t>(at / 3) : static_cast<int8_t>(-1);
      }
    return t;
  }();
  const auto& idx = t.v;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m128i x[3] = {_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)),
                    _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i)),
                    _mm_loadu_si128(reinterpret_cast<const __m128i*>(c + i))};
    for (int v = 0; v < 3; ++v) {
      __m128i r = _mm_or_si128(
          _mm_or_si128(_mm_shuffle_epi8(x[0], _mm_load_si128(reinterpret_cast<const __m128i*>(idx[v][0]))),
                       _mm_shuffle_epi8(x[1], _mm_load_si128(reinterpret_cast<const __m128i*>(idx[v][1])))),
          _mm_shuffle_epi8(x[2], _mm_load_si128(reinterpret_cast<const __m128i*>(idx[v][2]))));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 3 * i + 16 * v), r);
    }
  }
  for (; i < n; ++i) {
    out[3 * i] = a[i];
    out[3 * i + 1] = b[i];
    out[3 * i + 2] = c[i];
  }
}

class LayoutTransformKernel final : public Kernel {
 public:
  explicit LayoutTransformKernel(const KernelQuery& q)
      : shape_(*to_concrete(*q.input_types[0]->shape)), dtype_(q.input_types[0]->elem) {
    bool to_last = q.node.attr_string("to", "") == "channels-last";
    memory::data_type dt = dtype_ == DType::Float32 ? memory::data_type::f32
                           : dtype_ == DType::UInt8 ? memory::data_type::u8
                                                    : memory::data_type::s8;
    memory::desc nchw(to_dims(shape_), dt, memory::format_tag::nchw);
    memory::desc nhwc(to_dims(shape_), dt, memory::format_tag::nhwc);
    src_ = memory(to_last ? nchw : nhwc, cpu_engine(), DNNL_MEMORY_NONE);
    dst_ = memory(to_last ? nhwc : nchw, cpu_engine(), DNNL_MEMORY_NONE);
    reorder_ = dnnl::reorder(src_, dst_);
    interleave3_ = to_last && dtype_ != DType::Float32 && shape_[1] == 3 &&
                   static_cast<int>(active_isa()) >= static_cast<int>(Isa::Avx2);
  }
  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.shape() != shape_ || x.dtype() != dtype_)
      fail("{}: planned for {}[{}], given {}[{}]", ctx.node().label(), dtype_name(dtype_), shape_str(shape_),
           dtype_name(x.dtype()), shape_str(x.shape()));
    Tensor& y = ctx.output_uninitialized(0, dtype_, shape_);
    if (interleave3_) {
      const int64_t plane = shape_[2] * shape_[3], rows = shape_[0] * shape_[2], w = shape_[3];
      const auto* px = static_cast<const uint8_t*>(x.raw());
      auto* py = static_cast<uint8_t*>(y.raw());
      cpu::parallel_chunks(rows, 1, x.nbytes() < (size_t{512} << 10) ? 1 : ctx.threads(), [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {
          const uint8_t* src = px + (r / shape_[2]) * 3 * plane + (r % shape_[2]) * w;
          interleave3_avx2(src, src + plane, src + 2 * plane, py + r * w * 3, w);
        }
      }, 1);
      return;
    }
    src_.set_data_handle(const_cast<void*>(x.raw()));
    dst_.set_data_handle(y.raw());
    // A copy: one thread streams a small tensor faster than two can be woken.
    execute_reorder(reorder_, src_, dst_, x.nbytes() < (size_t{512} << 10) ? 1 : ctx.threads());
  }
  std::string name() const override { return interleave3_ ? "interleave3-avx2" : "dnnl-reorder"; }

 private:
  Shape shape_;
  DType dtype_;
  memory src_, dst_;
  dnnl::reorder reorder_;
  bool interleave3_ = false;  // 8-bit, three channels, to channels-last: interleave3_avx2
};

HONE_REGISTER_KERNEL({.domain = "hone",
                      .op = "LayoutTransform",
                      .name = "dnnl-reorder",
                      .priority = 10,
                      .applies =
                          [](const KernelQuery& q) {
                            if (!is_layout_tensor(q.input_types[0])) return false;
                            std::string to = q.node.attr_string("to", "");
                            return shape_numel(*to_concrete(*q.input_types[0]->shape)) > 0 &&
                                   (to == "channels-last" || to == "plain");
                          },
                      .create = [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
                        return std::make_unique<LayoutTransformKernel>(q);
                      }});

}  // namespace
}  // namespace hone::dnnl_cpu
