// Kernels of the float16 / bfloat16 runtime ops (ops/hone/low_precision.h):
//   hone.Round: vectorized rounding float32 -> float16 / bfloat16 -> float32 (AVX-512 and AVX2 with F16C: the
//     hardware conversion, round to nearest even; bfloat16 in integer arithmetic, as core/half.h rounds), any layout;
//   hone.RoundedConv / RoundedMatMul / RoundedGemm, to = bfloat16, on a CPU with AVX512-BF16: oneDNN's bfloat16
//     primitives (the float32 activation rounded to bfloat16 on the way in, which is exact since it holds bfloat16
//     values; bfloat16 weights; float32 accumulation and post-ops; the result rounded to bfloat16 by the primitive
//     and widened into the float32 output);
//   otherwise (float16, or no AVX512-BF16): the best float32 kernel of the op (oneDNN, the GEMV or small-channel
//     kernels) and its output rounded after, in place; also for bfloat16 where that measures faster at plan time
//     (see low_precision_kernels.h).
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>

#include "kernels/cpu/low_precision_kernels.h"

#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/dnnl_conv.h"
#include "kernels/cpu/dnnl_matmul.h"
#include "ops/hone/low_precision.h"

namespace hone::dnnl_cpu {
namespace {

using dnnl::memory;

// ---- rounding, per ISA tier ----------------------------------------------------------------------------------------

using RoundFn = void (*)(const float*, float*, int64_t);

void round_bf16_scalar(const float* in, float* out, int64_t n) { round_to_type_reference(in, out, n, DType::BFloat16); }
void round_fp16_scalar(const float* in, float* out, int64_t n) { round_to_type_reference(in, out, n, DType::Float16); }

__attribute__((target("avx2,fma,f16c"))) void round_fp16_avx2(const float* in, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(h));
  }
  round_fp16_scalar(in + i, out + i, n - i);
}

// bfloat16 round to nearest even on the bits: x + 0x7fff + (bit 16 of x), keep the upper half; NaN: quieted.
__attribute__((target("avx2,fma"))) void round_bf16_avx2(const float* in, float* out, int64_t n) {
  const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
  const __m256i bias = _mm256_set1_epi32(0x7fff), one = _mm256_set1_epi32(1), hi = _mm256_set1_epi32(-65536);
  const __m256i quiet = _mm256_set1_epi32(0x00400000);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i));
    __m256i r = _mm256_add_epi32(x, _mm256_add_epi32(bias, _mm256_and_si256(_mm256_srli_epi32(x, 16), one)));
    __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(x, abs_mask), inf);
    __m256i nan = _mm256_or_si256(x, quiet);
    r = _mm256_and_si256(_mm256_blendv_epi8(r, nan, is_nan), hi);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), r);
  }
  round_bf16_scalar(in + i, out + i, n - i);
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq"))) void round_fp16_avx512(const float* in, float* out,
                                                                                    int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i h = _mm512_cvtps_ph(_mm512_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm512_storeu_ps(out + i, _mm512_cvtph_ps(h));
  }
  if (i < n) {
    __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, in + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm512_mask_storeu_ps(out + i, m, _mm512_cvtph_ps(h));
  }
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq"))) inline __m512i bf16_round_bits(__m512i x) {
  const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
  const __m512i bias = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1), hi = _mm512_set1_epi32(-65536);
  __m512i r = _mm512_add_epi32(x, _mm512_add_epi32(bias, _mm512_and_si512(_mm512_srli_epi32(x, 16), one)));
  __mmask16 is_nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(x, abs_mask), inf);
  r = _mm512_mask_or_epi32(r, is_nan, x, _mm512_set1_epi32(0x00400000));
  return _mm512_and_si512(r, hi);
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq"))) void round_bf16_avx512(const float* in, float* out,
                                                                                    int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_si512(out + i, bf16_round_bits(_mm512_loadu_si512(in + i)));
  if (i < n) {
    __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_epi32(out + i, m, bf16_round_bits(_mm512_maskz_loadu_epi32(m, in + i)));
  }
}

RoundFn round_fn(DType t, Isa isa) {
  if (t == DType::Float16) return pick_tier<RoundFn>(isa, round_fp16_scalar, round_fp16_avx2, round_fp16_avx512);
  return pick_tier<RoundFn>(isa, round_bf16_scalar, round_bf16_avx2, round_bf16_avx512);
}

// Rounds n floats with `threads` threads for large tensors (it streams memory: one thread below 64K elements).
void round_parallel(RoundFn fn, const float* in, float* out, int64_t n, int threads) {
  constexpr int64_t kChunk = int64_t{1} << 14;
  if (threads <= 1 || n < (int64_t{1} << 16)) {
    fn(in, out, n);
    return;
  }
  int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    int64_t first = c * kChunk;
    fn(in + first, out + first, std::min(kChunk, n - first));
  }
}

class RoundKernel final : public Kernel {
 public:
  RoundKernel(DType t, Isa isa) : fn_(round_fn(t, isa)), name_(std::string(t == DType::Float16 ? "round-fp16-" : "round-bf16-") + isa_name(isa)) {}
  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::Float32) fail("{}: needs a float32 input, given {}", ctx.node().label(), dtype_name(x.dtype()));
    Tensor& y = ctx.output_uninitialized(0, DType::Float32, x.shape());
    round_parallel(fn_, x.data<float>(), y.data<float>(), x.numel(), ctx.threads());
  }
  std::string name() const override { return name_; }

 private:
  RoundFn fn_;
  std::string name_;
};

bool round_applies(const KernelQuery& q) {
  if (q.input_types.empty() || !q.input_types[0] || !q.input_types[0]->is_tensor() ||
      q.input_types[0]->elem != DType::Float32)
    return false;
  std::string to = q.node.attr_string("to", "");
  return to == "float16" || to == "bfloat16";
}

const KernelRegistrar kRoundKernel{KernelFactory{
    .domain = "hone",
    .op = "Round",
    .name = "round",
    .priority = 10,
    .applies = round_applies,
    .create = [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
      return std::make_unique<RoundKernel>(rounding_type(q.node.attr_string("to", ""), q.node.label()), active_isa());
    },
    // Element by element: the same in either layout.
    .channels_last = round_applies,
}};

// ---- Conv / MatMul / Gemm then Round ---------------------------------------------------------------------------------

// A float32 kernel of the op, then the output rounded in place.
class RoundOutputKernel final : public Kernel {
 public:
  RoundOutputKernel(std::unique_ptr<Kernel> inner, DType t)
      : inner_(std::move(inner)), fn_(round_fn(t, active_isa())),
        suffix_(t == DType::Float16 ? "+round-fp16" : "+round-bf16") {}
  void run(OpContext& ctx) override {
    inner_->run(ctx);
    Tensor& y = ctx.written_output(0);
    round_parallel(fn_, y.data<float>(), y.data<float>(), y.numel(), ctx.threads());
  }
  std::string name() const override { return inner_->name() + suffix_; }
  int reorders() const override { return inner_->reorders(); }

 private:
  std::unique_ptr<Kernel> inner_;
  RoundFn fn_;
  std::string suffix_;
};

// The node a Rounded* node rounds the result of, for the float32 kernel factories (they read its attributes).
Node base_node(const Node& n) {
  Node b = n;
  std::erase_if(b.attributes, [](const Attribute& a) { return a.name == "to"; });
  if (n.op_type == "RoundedConv") {
    b.op_type = "FusedConv";  // domain hone, the Conv attributes and post-ops
  } else {
    b.domain = "";
    b.op_type = n.op_type == "RoundedGemm" ? "Gemm" : "MatMul";
  }
  return b;
}

KernelQuery base_query(const KernelQuery& q, const Node& base, Layout layout) {
  int64_t opset = base.domain == "hone" ? q.opset : 13;
  return KernelQuery{base, opset, q.input_types, q.input_constants, q.output_types, q.threads, layout};
}

bool bf16_hardware() { return cpu_features().avx512_bf16; }

bool bf16_supported(const KernelQuery& bq) {
  if (bq.node.op_type == "FusedConv") return conv_supported(bq, memory::data_type::bf16);
  if (bq.node.op_type == "Gemm") return gemm_supported(bq, memory::data_type::bf16);
  return matmul_supported(bq, memory::data_type::bf16);
}

// oneDNN's bfloat16 kernel for the base query, or null when it would only have its reference implementation.
std::unique_ptr<Kernel> bf16_kernel(const KernelQuery& bq) {
  if (bq.node.op_type == "FusedConv") {
    auto k = std::make_unique<DnnlConvKernel>(bq, PostOps{}, memory::data_type::bf16);
    if (k->impl().find("ref") == std::string::npos) return k;
  } else {
    auto k = std::make_unique<DnnlMatMulKernel>(bq, PostOps{}, memory::data_type::bf16);
    if (k->impl().find("ref") == std::string::npos) return k;
  }
  return nullptr;
}

bool wants_bf16(const KernelQuery& q) { return q.node.attr_string("to", "") == "bfloat16" && bf16_hardware(); }

// Plain: oneDNN's bfloat16 kernel or a float32 one applies. Channels-last: the float32 kernel takes it (the bfloat16
// one is used in its place where it applies too).
bool rounded_applies(const KernelQuery& q, Layout layout) {
  Node base = base_node(q.node);
  const KernelFactory* f = KernelRegistry::instance().best(base_query(q, base, Layout::Plain));
  if (layout == Layout::ChannelsLast) return f && f->channels_last && f->channels_last(base_query(q, base, layout));
  return f || (wants_bf16(q) && bf16_supported(base_query(q, base, layout)));
}

// The fastest of `reps` runs of a kernel on zero inputs of the query's shapes (plan time), in milliseconds.
double time_on_zeros(Kernel& k, const KernelQuery& q, int reps) {
  std::vector<Value> in(q.input_types.size());
  std::vector<const Value*> ptrs(in.size(), nullptr);
  for (size_t i = 0; i < in.size(); ++i) {
    if (!q.input_types[i]) continue;
    in[i] = Value::of(q.input_constants[i] ? *q.input_constants[i]
                                           : Tensor(DType::Float32, *to_concrete(*q.input_types[i]->shape)));
    ptrs[i] = &in[i];
  }
  std::vector<Value> out(1);
  double best = 1e300;
  for (int r = 0; r <= reps; ++r) {  // the first run is not counted
    OpContext ctx(q.node, q.opset, ptrs.data(), ptrs.size(), out.data(), 1, q.threads, nullptr);
    auto t0 = std::chrono::steady_clock::now();
    k.run(ctx);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (r > 0) best = std::min(best, ms);
  }
  return best;
}

std::atomic<int> bf16_choice{0};

bool choice_in_doubt(const KernelQuery& q, const Kernel& f32) {
  const Tensor* w = q.input_constants.size() > 1 ? q.input_constants[1] : nullptr;
  if (q.node.op_type == "RoundedConv") {
    if (!w || w->rank() < 3 || f32.name().find("wino") != std::string::npos) return true;
    int64_t k = w->numel() / w->dim(0), group = q.node.attr_int("group", 1);
    return k < 256 || w->dim(1) < 16 || (group > 1 && group == w->dim(0));
  }
  // MatMul / Gemm: few rows (a GEMV, memory-bound) or weights computed at run time (converted per call).
  std::optional<Shape> a = q.input_types[0] && q.input_types[0]->shape ? to_concrete(*q.input_types[0]->shape)
                                                                        : std::nullopt;
  if (!w || !a || a->empty()) return true;
  int64_t rows = shape_numel(*a) / a->back();
  return rows < 16;
}

std::unique_ptr<Kernel> make_rounded(const KernelQuery& q) {
  DType t = rounding_type(q.node.attr_string("to", ""), q.node.label());
  Node base = base_node(q.node);
  KernelQuery bq = base_query(q, base, q.layout);
  std::unique_ptr<Kernel> bf16;
  if (wants_bf16(q) && bf16_supported(bq)) bf16 = bf16_kernel(bq);
  const KernelFactory* f = KernelRegistry::instance().best(base_query(q, base, Layout::Plain));
  if (!f) {
    if (bf16) return bf16;
    fail("{}: no float32 kernel for its {}", q.node.label(), base.op_type);
  }
  if (bf16 && bf16_choice.load() == 1) return bf16;
  auto rounded = std::make_unique<RoundOutputKernel>(f->create(bq), t);
  if (!bf16 || bf16_choice.load() == 2) return rounded;
  // oneDNN's bfloat16 kernel is not always the faster: its activations are converted on the way in and out (two
  // passes over memory that a memory-bound convolution feels), its depthwise convolutions are slower than float32's,
  // and float32 runs 3x3 convolutions as Winograd (2-3x fewer multiplications). On values of the type, with the
  // result rounded to it, both compute the bfloat16 model (products of bfloat16 values are exact in float32; the
  // sums differ in order). So both are timed at plan time, alternating, and the faster kept.
  // Measured only where the choice is in doubt (plan time): Winograd, depthwise, few input channels per group (first
  // layers, the 1-channel STFT of openWakeWord's melspectrogram), few multiplications per output (a
  // convolution with K = C/group * kh * kw below 256, a matmul of a few rows); elsewhere bfloat16 wins by about 2x.
  if (!choice_in_doubt(q, *rounded)) return bf16;
  double bf16_ms = 1e300, f32_ms = 1e300;
  for (int round = 0; round < 2; ++round) {
    bf16_ms = std::min(bf16_ms, time_on_zeros(*bf16, q, 1));
    f32_ms = std::min(f32_ms, time_on_zeros(*rounded, q, 1));
  }
  if (f32_ms < bf16_ms) return rounded;
  return bf16;
}

KernelFactory rounded_factory(std::string op, bool conv) {
  return {.domain = "hone",
          .op = std::move(op),
          .name = "rounded",
          .priority = 10,
          .applies = [](const KernelQuery& q) { return rounded_applies(q, Layout::Plain); },
          .create = make_rounded,
          .channels_last = [](const KernelQuery& q) { return rounded_applies(q, Layout::ChannelsLast); },
          .prefers_channels_last = conv};
}

const KernelRegistrar kRoundedConv{rounded_factory("RoundedConv", true)};

}  // namespace

void force_bf16_choice(int choice) { bf16_choice.store(choice); }

namespace {

const KernelRegistrar kRoundedMatMul{rounded_factory("RoundedMatMul", false)};
const KernelRegistrar kRoundedGemm{rounded_factory("RoundedGemm", false)};

}  // namespace
}  // namespace hone::dnnl_cpu
