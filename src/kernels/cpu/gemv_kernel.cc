// Batch-1 (and up to 4-row) float32 Gemm and MatMul against constant weights: y = x * B' + bias, where B' (alpha
// folded in) is packed once at plan time into column panels (gemv_microkernels.h) so that a run streams the weights
// exactly once, front to back, with several FMA chains per 64 bytes. Such products are memory-bound: every weight
// is used `rows` times, so their speed is the rate the weights stream from memory. On one Zen 4 core oneDNN 2.6's
// matmul streams a 1x9216 by 9216x4096 product at 14-18 GB/s, this kernel at 32-35 GB/s (the machine's streaming
// read: up to 34 GB/s); it is also ahead, or level, for 1 to 4 rows with weights in cache and for products of a
// microsecond (BENCHMARKS.md, "Kernel microbenchmarks"), so it outranks oneDNN wherever it applies.
// Threads split the panels (output columns); Gemm's C is a constant bias (beta folded in, broadcast, padded to
// whole panels) or, when given at run time, added after the product.
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <new>
#include <optional>

#include "kernels/cpu/gemv_microkernels.h"
#include "runtime/kernel.h"

namespace hone::cpu {
namespace {

// Below this many packed weights per thread (4 MiB, tens of microseconds of streaming), waking a second thread costs
// more than it saves: on this 2-vCPU VM a wake-up of a sleeping OpenMP worker measured 0.1-0.5 ms under load.
constexpr int64_t kMinWeightsPerThread = int64_t{1} << 20;

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};
using AlignedFloats = std::unique_ptr<float[], AlignedFree>;

// 64-byte aligned. Buffers of several MiB are put on 2 MiB pages where the kernel allows it (transparent huge pages
// in madvise mode): a stream then crosses a page boundary, where the hardware prefetchers stop, every 2 MiB instead of
// every 4 KiB, and needs 512 times fewer TLB entries.
AlignedFloats aligned_floats(int64_t n) {
  constexpr size_t kHugePage = size_t{2} << 20;
  size_t bytes = (static_cast<size_t>(n) * sizeof(float) + 63) / 64 * 64;
  bool huge = bytes >= 2 * kHugePage;
  if (huge) bytes = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  auto* p = static_cast<float*>(std::aligned_alloc(huge ? kHugePage : 64, std::max<size_t>(bytes, 64)));
  if (!p) throw std::bad_alloc();
  if (huge) ::madvise(p, bytes, MADV_HUGEPAGE);  // a hint: without it the buffer stays on small pages
  return AlignedFloats(p);
}

std::optional<Shape> concrete_f32(const TypeInfo* t) {
  if (!t || !t->is_tensor() || t->elem != DType::Float32 || !t->shape) return std::nullopt;
  return to_concrete(*t->shape);
}

// Everything about one MatMul or Gemm node that the kernel needs, decided at plan time.
struct GemvSetup {
  Shape a_shape, out_shape;
  int rows = 1;
  int64_t k = 0, n = 0;
  int64_t x_row_stride = 0, x_k_stride = 1;
  const Tensor* b = nullptr;  // constant float32, 2-D
  bool trans_b = false;
  float alpha = 1.f, beta = 1.f;
  // Gemm's C (when given and beta != 0): a constant, or the runtime input 2, broadcast as (c_rs, c_cs) strides.
  const Tensor* c_const = nullptr;
  int c_input = -1;
  Shape c_shape;
  int64_t c_rs = 0, c_cs = 0;
};

const Tensor* constant_f32_matrix(const KernelQuery& q, size_t i) {
  const Tensor* t = i < q.input_constants.size() ? q.input_constants[i] : nullptr;
  if (!t || t->dtype() != DType::Float32 || t->rank() != 2 || t->numel() == 0) return nullptr;
  return t;
}

std::optional<GemvSetup> matmul_setup(const KernelQuery& q) {
  if (q.input_types.size() != 2) return std::nullopt;
  std::optional<Shape> a = concrete_f32(q.input_types[0]);
  const Tensor* b = constant_f32_matrix(q, 1);
  if (!a || a->empty() || !b) return std::nullopt;
  GemvSetup s;
  s.a_shape = *a;
  s.k = b->shape()[0];
  s.n = b->shape()[1];
  if (a->back() != s.k || s.k == 0) return std::nullopt;
  int64_t rows = shape_numel(*a) / s.k;  // A's batch dims fold into rows: B is shared
  if (rows < 1 || rows > kGemvMaxRows) return std::nullopt;
  s.rows = static_cast<int>(rows);
  s.x_row_stride = s.k;
  s.b = b;
  s.out_shape.assign(a->begin(), a->end() - 1);
  s.out_shape.push_back(s.n);
  return s;
}

std::optional<GemvSetup> gemm_setup(const KernelQuery& q) {
  if (q.opset < 7 || q.input_types.size() < 2 || q.input_types.size() > 3) return std::nullopt;
  std::optional<Shape> a = concrete_f32(q.input_types[0]);
  const Tensor* b = constant_f32_matrix(q, 1);
  if (!a || a->size() != 2 || !b) return std::nullopt;
  GemvSetup s;
  bool ta = q.node.attr_int("transA", 0) != 0;
  s.trans_b = q.node.attr_int("transB", 0) != 0;
  s.alpha = q.node.attr_float("alpha", 1.f);
  s.beta = q.node.attr_float("beta", 1.f);
  int64_t m = ta ? (*a)[1] : (*a)[0];
  s.k = ta ? (*a)[0] : (*a)[1];
  int64_t kb = s.trans_b ? b->shape()[1] : b->shape()[0];
  s.n = s.trans_b ? b->shape()[0] : b->shape()[1];
  if (kb != s.k || s.k == 0 || m < 1 || m > kGemvMaxRows) return std::nullopt;
  s.a_shape = *a;
  s.rows = static_cast<int>(m);
  s.x_row_stride = ta ? 1 : s.k;
  s.x_k_stride = ta ? m : 1;
  s.b = b;
  s.out_shape = {m, s.n};
  bool c_given = q.input_types.size() > 2 && q.input_types[2];
  if (q.opset < 11 && !c_given) return std::nullopt;  // C is required before opset 11: the reference reports it
  if (c_given && s.beta != 0.f) {
    std::optional<Shape> c = concrete_f32(q.input_types[2]);
    if (!c || c->size() > 2) return std::nullopt;
    Shape c2 = *c;
    while (c2.size() < 2) c2.insert(c2.begin(), 1);
    if ((c2[0] != 1 && c2[0] != m) || (c2[1] != 1 && c2[1] != s.n)) return std::nullopt;
    s.c_rs = c2[0] == 1 ? 0 : c2[1];
    s.c_cs = c2[1] == 1 ? 0 : 1;
    s.c_shape = *c;
    if (const Tensor* ct = q.input_constants.size() > 2 ? q.input_constants[2] : nullptr) {
      if (ct->dtype() != DType::Float32) return std::nullopt;
      s.c_const = ct;
    } else {
      s.c_input = 2;
    }
  }
  return s;
}

std::optional<GemvSetup> setup(const KernelQuery& q) {
  if (q.layout != Layout::Plain) return std::nullopt;
  return q.node.op_type == "Gemm" ? gemm_setup(q) : matmul_setup(q);
}

const OpSchema& reference_schema(const KernelQuery& q) {
  const OpSchema* s = OpRegistry::instance().find(q.node.domain, q.node.op_type, q.opset);
  if (!s || !s->compute) fail("{}: no reference kernel", q.node.label());
  return *s;
}

class GemvKernel final : public Kernel {
 public:
  explicit GemvKernel(const KernelQuery& q) : reference_(reference_schema(q)), micro_(gemv_for(active_isa())) {
    std::optional<GemvSetup> s = setup(q);
    if (!s) fail("{}: not supported by the GEMV kernel", q.node.label());
    s_ = std::move(*s);
    name_ = std::string("gemv-f32-") + micro_.isa;
    const int64_t nr = micro_.nr, k = s_.k, n = s_.n;
    panels_ = (n + nr - 1) / nr;
    packed_ = aligned_floats(panels_ * k * nr);
    pack_weights();
    if (s_.c_const) {
      // beta * C broadcast to rows x (whole panels), zero-padded; one shared row when C has one.
      int64_t bias_rows = s_.c_rs == 0 ? 1 : s_.rows;
      int64_t width = panels_ * nr;
      bias_ = aligned_floats(bias_rows * width);
      std::fill(bias_.get(), bias_.get() + bias_rows * width, 0.f);
      const float* c = s_.c_const->data<float>();
      for (int64_t m = 0; m < bias_rows; ++m)
        for (int64_t j = 0; j < n; ++j) bias_[m * width + j] = s_.beta * c[m * s_.c_rs + j * s_.c_cs];
      bias_row_stride_ = s_.c_rs == 0 ? 0 : width;
    }
    // Whole panels per thread, and no more threads than the weights can keep busy.
    int64_t by_size = panels_ * k * nr / kMinWeightsPerThread;
    chunks_ = static_cast<int>(std::clamp<int64_t>(std::min<int64_t>(by_size, panels_), 1, std::max(q.threads, 1)));
  }

  void run(OpContext& ctx) override {
    const Tensor& a = ctx.input(0);
    if (a.dtype() != DType::Float32 || a.shape() != s_.a_shape || (s_.c_input >= 0 && !c_as_planned(ctx)))
      return reference_.compute(ctx);  // not what was planned: the reference kernel checks and reports
    Tensor& y = ctx.output_uninitialized(0, DType::Float32, s_.out_shape);
    GemvArgs args;
    args.x = a.data<float>();
    args.x_row_stride = s_.x_row_stride;
    args.x_k_stride = s_.x_k_stride;
    args.rows = s_.rows;
    args.k = s_.k;
    args.packed = packed_.get();
    args.n = s_.n;
    args.bias = bias_.get();
    args.bias_row_stride = bias_row_stride_;
    args.y = y.data<float>();
    args.y_row_stride = s_.n;
    int chunks = std::min(chunks_, std::max(ctx.threads(), 1));
    if (chunks <= 1) {
      micro_.panels(args, 0, panels_);
    } else {
      int64_t per = (panels_ + chunks - 1) / chunks;
      GemvPanelsFn fn = micro_.panels;
      int64_t panels = panels_;
#pragma omp parallel for num_threads(chunks) schedule(static)
      for (int c = 0; c < chunks; ++c) fn(args, c * per, std::min(panels, (c + 1) * per));
    }
    if (s_.c_input >= 0) add_runtime_c(ctx.input(static_cast<size_t>(s_.c_input)), y.data<float>());
  }

  std::string name() const override { return name_; }

 private:
  // packed[p][k][j] = alpha * B'(k, p * nr + j), zero past the last column. Reads each panel's source columns
  // contiguously when B is stored transposed (fc layers' [N, K]), else its rows.
  void pack_weights() {
    const int64_t nr = micro_.nr, k = s_.k, n = s_.n;
    const float* b = s_.b->data<float>();
    const float alpha = s_.alpha;
    for (int64_t p = 0; p < panels_; ++p) {
      float* dst = packed_.get() + p * k * nr;
      int64_t cols = std::min(nr, n - p * nr);
      if (cols < nr) std::fill(dst, dst + k * nr, 0.f);
      if (s_.trans_b) {
        for (int64_t j = 0; j < cols; ++j) {
          const float* src = b + (p * nr + j) * k;
          for (int64_t kk = 0; kk < k; ++kk) dst[kk * nr + j] = alpha * src[kk];
        }
      } else {
        for (int64_t kk = 0; kk < k; ++kk) {
          const float* src = b + kk * n + p * nr;
          for (int64_t j = 0; j < cols; ++j) dst[kk * nr + j] = alpha * src[j];
        }
      }
    }
  }

  bool c_as_planned(const OpContext& ctx) const {
    if (!ctx.has_input(static_cast<size_t>(s_.c_input))) return false;
    const Tensor& c = ctx.input(static_cast<size_t>(s_.c_input));
    return c.dtype() == DType::Float32 && c.shape() == s_.c_shape;
  }

  // y += beta * C (broadcast): rows x n additions, small next to the k x n product.
  void add_runtime_c(const Tensor& c, float* y) const {
    const float* pc = c.data<float>();
    for (int64_t m = 0; m < s_.rows; ++m)
      for (int64_t j = 0; j < s_.n; ++j) y[m * s_.n + j] += s_.beta * pc[m * s_.c_rs + j * s_.c_cs];
  }

  const OpSchema& reference_;
  const GemvMicrokernel& micro_;
  std::string name_;
  GemvSetup s_;
  int64_t panels_ = 0;
  AlignedFloats packed_, bias_;
  int64_t bias_row_stride_ = 0;
  int chunks_ = 1;
};

bool gemv_applies(const KernelQuery& q) { return setup(q).has_value(); }

std::unique_ptr<Kernel> make_gemv(const KernelQuery& q) { return std::make_unique<GemvKernel>(q); }

// Above the oneDNN matmul/gemm kernels (priority 10) wherever it applies.
HONE_REGISTER_KERNEL(
    {.op = "MatMul", .name = "gemv-f32", .priority = 20, .applies = gemv_applies, .create = make_gemv});
HONE_REGISTER_KERNEL({.op = "Gemm", .name = "gemv-f32", .priority = 20, .applies = gemv_applies, .create = make_gemv});

}  // namespace
}  // namespace hone::cpu
