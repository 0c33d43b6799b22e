// hone.QMatMul and hone.DynamicQMatMul (ops/hone/quantized.h) on oneDNN's int8 matmul (brgemm on AVX-512 VNNI).
// X's leading dimensions fold into the rows of one GEMM against the constant int8 weights [K, N], which are
// reordered once into the primitive's layout.
//   QMatMul: the requantization and post-ops of dnnl_int8.h are fused into the primitive (per-column output scales,
//   the source zero point as a oneDNN attribute).
//   DynamicQMatMul: per run, X's range (one pass), X quantized to uint8 (the q8 microkernels, as
//   DynamicQuantizeLinear rounds), an int32 product without zero points, then y = (acc - x_zp * colsum(W)[n]) *
//   (x_scale * W_scale[n]) + B[n]: the same integers and the same float operations as the reference, so the
//   result is bit-exact.
#include <algorithm>
#include <cmath>

#include "kernels/cpu/dnnl_common.h"
#include "kernels/cpu/dnnl_int8.h"
#include "kernels/cpu/kernel_helpers.h"
#include "kernels/cpu/quantize_microkernels.h"

namespace hone::dnnl_cpu {
namespace {

using dnnl::memory;

struct QMatMulSetup {
  Shape x, y;
  int64_t rows = 0, k = 0, n = 0;
  DType x_type = DType::Undefined;
  QuantParams xp;
  QuantizedOutput out;
  const Tensor* weights = nullptr;
  std::vector<float> w_scale, real_bias;  // per column
};

std::optional<QMatMulSetup> qmatmul_setup(const KernelQuery& q, bool dynamic) {
  if (q.input_types.size() < 3 || !q.input_types[0] || !q.input_types[0]->is_tensor() || !q.input_types[0]->shape)
    return std::nullopt;
  DType xt = q.input_types[0]->elem;
  if (dynamic ? xt != DType::Float32 : (xt != DType::UInt8 && xt != DType::Int8)) return std::nullopt;
  std::optional<Shape> x = to_concrete(*q.input_types[0]->shape);
  const Tensor* w = q.input_constants[1];
  const Tensor* ws = q.input_constants[2];
  if (!x || x->empty() || !w || !ws || w->dtype() != DType::Int8 || w->rank() != 2 || ws->dtype() != DType::Float32)
    return std::nullopt;
  QMatMulSetup s;
  s.x = *x;
  s.x_type = xt;
  s.k = w->dim(0);
  s.n = w->dim(1);
  if (s.x.back() != s.k || s.k == 0 || s.n == 0 || shape_numel(s.x) == 0) return std::nullopt;
  s.rows = shape_numel(s.x) / s.k;
  s.y = s.x;
  s.y.back() = s.n;
  if (ws->numel() != 1 && !(ws->rank() == 1 && ws->dim(0) == s.n)) return std::nullopt;
  bool has_bias = q.input_types.size() > 3 && q.input_types[3];
  const Tensor* b = has_bias ? q.input_constants[3] : nullptr;
  if (has_bias && (!b || b->dtype() != DType::Float32 || b->numel() != s.n)) return std::nullopt;
  for (int64_t j = 0; j < s.n; ++j) {
    s.w_scale.push_back(ws->data<float>()[ws->numel() == 1 ? 0 : j]);
    if (b) s.real_bias.push_back(b->data<float>()[j]);
  }
  s.weights = w;
  if (!dynamic) {
    try {
      s.xp = quant_params_attr(q.node, "x");
      s.out = quantized_output_attr(q.node);
    } catch (const Error&) {
      return std::nullopt;
    }
  }
  return s;
}

struct QMatMulPrimitive {
  dnnl::matmul::primitive_desc pd;
  Int8Epilogue epilogue;
};

// `split`: the chain runs after the primitive (SplitEpilogue), which writes v in float32.
QMatMulPrimitive qmatmul_pd(const Node& node, const QMatMulSetup& s, bool split) {
  std::vector<float> acc_scale(s.w_scale.size());
  for (size_t j = 0; j < acc_scale.size(); ++j) acc_scale[j] = s.xp.scale * s.w_scale[j];
  const QuantizedOutput out = split ? QuantizedOutput{} : s.out;
  Int8Epilogue e = make_int8_epilogue(node, acc_scale, s.real_bias, out, DType::Undefined, {}, nullptr, split);
  memory::desc src({s.rows, s.k}, int8_data_type(s.x_type), memory::format_tag::ab);
  memory::desc wei({s.k, s.n}, memory::data_type::s8, memory::format_tag::any);
  memory::desc bias =
      e.bias.empty() ? memory::desc() : memory::desc({1, s.n}, memory::data_type::f32, memory::format_tag::ab);
  memory::desc dst({s.rows, s.n}, int8_data_type(out.type), memory::format_tag::ab);
  dnnl::matmul::desc d(src, wei, bias, dst);
  return {dnnl::matmul::primitive_desc(d, int8_attr(e, 1 << 1, s.xp.zero_point), cpu_engine()), std::move(e)};
}

// The fused primitive, or where its chain is more than oneDNN 2.6 computes right, the split one.
QMatMulPrimitive qmatmul_pd_any(const Node& node, const QMatMulSetup& s, bool* split) {
  try {
    *split = false;
    return qmatmul_pd(node, s, false);
  } catch (const Error&) {
    SplitEpilogue check(node, s.out, DType::Undefined, {});  // a malformed chain throws here too
    *split = true;
    return qmatmul_pd(node, s, true);
  }
}

// The product without zero points or scales, int32 out (DynamicQMatMul).
dnnl::matmul::primitive_desc raw_int32_pd(const QMatMulSetup& s) {
  memory::desc src({s.rows, s.k}, memory::data_type::u8, memory::format_tag::ab);
  memory::desc wei({s.k, s.n}, memory::data_type::s8, memory::format_tag::any);
  memory::desc dst({s.rows, s.n}, memory::data_type::s32, memory::format_tag::ab);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, wei, dst), attr, cpu_engine());
}

bool supported(const KernelQuery& q, bool dynamic) {
  std::optional<QMatMulSetup> s = qmatmul_setup(q, dynamic);
  if (!s) return false;
  try {
    if (dynamic) raw_int32_pd(*s);
    else {
      bool split;
      qmatmul_pd_any(q.node, *s, &split);
    }
    return true;
  } catch (const dnnl::error&) {
    return false;
  } catch (const Error&) {
    return false;
  }
}

memory::desc weights_user_desc(const QMatMulSetup& s) {
  return memory::desc({s.k, s.n}, memory::data_type::s8, memory::format_tag::ab);
}

// As for convolutions (dnnl_qconv.cc): int8 products at about twice the float32 rate.
int threads_for(const QMatMulSetup& s, int threads) {
  return threads_for_work(2.0 * static_cast<double>(s.rows * s.k * s.n) / 2.0, threads);
}

class DnnlQMatMulKernel final : public Kernel, public DnnlImplementation {
 public:
  explicit DnnlQMatMulKernel(const KernelQuery& q) {
    std::optional<QMatMulSetup> s = qmatmul_setup(q, false);
    if (!s) fail("{}: not supported by the oneDNN int8 matmul kernel", q.node.label());
    x_ = s->x;
    y_ = s->y;
    x_type_ = s->x_type;
    y_type_ = s->out.type;
    threads_ = threads_for(*s, q.threads);
    ScopedOmpThreads team(threads_);
    bool split = false;
    QMatMulPrimitive p = qmatmul_pd_any(q.node, *s, &split);
    prim_.init(p.pd, dnnl::matmul(p.pd));
    prim_.set_constant(DNNL_ARG_WEIGHTS,
                       pack_int8_weights(s->weights->data<int8_t>(), weights_user_desc(*s), p.pd.weights_desc()));
    if (!p.epilogue.bias.empty()) {
      memory bias(memory::desc({1, s->n}, memory::data_type::f32, memory::format_tag::ab), cpu_engine());
      std::copy(p.epilogue.bias.begin(), p.epilogue.bias.end(), static_cast<float*>(bias.get_data_handle()));
      prim_.set_constant(DNNL_ARG_BIAS, bias);
    }
    src_ = prim_.add_input(DNNL_ARG_SRC, p.pd.src_desc(), p.pd.src_desc());
    dst_ = prim_.add_output(DNNL_ARG_DST, p.pd.dst_desc(), p.pd.dst_desc());
    std::string suffix = p.epilogue.suffix;
    if (split) {
      split_ = std::make_unique<SplitEpilogue>(q.node, s->out, DType::Undefined, QuantParams{});
      if (s->out.quantized()) v_.resize(static_cast<size_t>(shape_numel(s->y)));  // owned: runs allocate nothing
      suffix = split_->suffix() + " (split)";
    }
    name_ = fmt::format("dnnl-qmatmul-{}{}{} [{}]", int8_type_name(s->x_type), int8_type_name(s->out.type), suffix,
                        prim_.impl());
  }

  void run(OpContext& ctx) override {
    const Tensor& x = cpu::planned_input(ctx, 0, x_type_, x_);
    Tensor& y = ctx.output_uninitialized(0, y_type_, y_);
    float* v = split_ && !v_.empty() ? v_.data() : nullptr;  // the split chain's float32 v, unless Y is float32
    prim_.bind(src_, x.raw());
    prim_.bind(dst_, v ? static_cast<void*>(v) : y.raw());
    int threads = threads_ > 0 ? threads_ : ctx.threads();
    prim_.execute(threads);
    if (split_) split_->run(v ? v : y.data<float>(), nullptr, y.raw(), y.numel(), threads);
  }
  std::string name() const override { return name_; }
  const std::string& implementation() const override { return prim_.impl(); }

 private:
  std::string name_;
  Shape x_, y_;
  DType x_type_, y_type_;
  int threads_ = 0;
  PreparedPrimitive prim_;
  int src_ = -1, dst_ = -1;
  std::unique_ptr<SplitEpilogue> split_;
  std::vector<float> v_;
};

class DnnlDynamicQMatMulKernel final : public Kernel, public DnnlImplementation {
 public:
  explicit DnnlDynamicQMatMulKernel(const KernelQuery& q) : mk_(cpu::quantize_for(active_isa())) {
    std::optional<QMatMulSetup> s = qmatmul_setup(q, true);
    if (!s) fail("{}: not supported by the oneDNN int8 matmul kernel", q.node.label());
    x_ = s->x;
    y_ = s->y;
    rows_ = s->rows;
    n_ = s->n;
    w_scale_ = s->w_scale;
    bias_ = s->real_bias;
    threads_ = threads_for(*s, q.threads);
    ScopedOmpThreads team(threads_);
    auto pd = raw_int32_pd(*s);
    prim_.init(pd, dnnl::matmul(pd));
    prim_.set_constant(DNNL_ARG_WEIGHTS,
                       pack_int8_weights(s->weights->data<int8_t>(), weights_user_desc(*s), pd.weights_desc()));
    // The buffers a run fills, owned: runs allocate nothing.
    xq_.resize(static_cast<size_t>(shape_numel(s->x)));
    acc_.resize(static_cast<size_t>(s->rows * s->n));
    src_ = prim_.add_input(DNNL_ARG_SRC, pd.src_desc(), pd.src_desc());
    dst_ = prim_.add_output(DNNL_ARG_DST, pd.dst_desc(), pd.dst_desc());
    prim_.bind(src_, xq_.data());
    prim_.bind(dst_, acc_.data());
    colsum_.assign(static_cast<size_t>(s->n), 0);
    const int8_t* w = s->weights->data<int8_t>();
    for (int64_t k = 0; k < s->k; ++k)
      for (int64_t j = 0; j < s->n; ++j) colsum_[static_cast<size_t>(j)] += w[k * s->n + j];
    name_ = fmt::format("dnnl-dynamic-qmatmul-u8s8s32-{} [{}]", mk_.isa, prim_.impl());
  }

  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::Float32 || x.shape() != x_)
      fail("{}: input is {}[{}] but the kernel was planned for float[{}]", ctx.node().label(), dtype_name(x.dtype()),
           shape_str(x.shape()), shape_str(x_));
    const float* px = x.data<float>();
    int64_t count = x.numel();
    // DynamicQuantizeLinear: the range including 0, its scale and zero point (the reference's float32 formulas).
    float lo = 0.f, hi = 0.f;
    mk_.minmax(px, count, &lo, &hi);
    float scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
    float zp = std::nearbyint(std::clamp(0.0f - lo / scale, 0.0f, 255.0f));
    mk_.quantize(px, xq_.data(), count, scale, zp, cpu::Q8::U8);
    prim_.execute(threads_ > 0 ? threads_ : ctx.threads());
    Tensor& y = ctx.output_uninitialized(0, DType::Float32, y_);
    float* py = y.data<float>();
    const int32_t izp = static_cast<int32_t>(zp);
    for (int64_t r = 0; r < rows_; ++r) {
      const int32_t* a = acc_.data() + r * n_;
      float* out = py + r * n_;
      for (int64_t j = 0; j < n_; ++j) {
        float m = scale * w_scale_[static_cast<size_t>(j)];
        float v = static_cast<float>(a[j] - izp * colsum_[static_cast<size_t>(j)]) * m;
        out[j] = bias_.empty() ? v : v + bias_[static_cast<size_t>(j)];
      }
    }
  }
  std::string name() const override { return name_; }
  const std::string& implementation() const override { return prim_.impl(); }

 private:
  const cpu::QuantizeMicrokernels& mk_;
  std::string name_;
  Shape x_, y_;
  int64_t rows_ = 0, n_ = 0;
  std::vector<float> w_scale_, bias_;
  std::vector<int32_t> colsum_, acc_;
  std::vector<uint8_t> xq_;
  int threads_ = 0;
  PreparedPrimitive prim_;
  int src_ = -1, dst_ = -1;
};

HONE_REGISTER_KERNEL({.domain = "hone",
                      .op = "QMatMul",
                      .name = "dnnl-qmatmul",
                      .priority = 10,
                      .applies = [](const KernelQuery& q) { return supported(q, false); },
                      .create = [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
                        return std::make_unique<DnnlQMatMulKernel>(q);
                      }});
HONE_REGISTER_KERNEL({.domain = "hone",
                      .op = "DynamicQMatMul",
                      .name = "dnnl-dynamic-qmatmul",
                      .priority = 10,
                      .applies = [](const KernelQuery& q) { return supported(q, true); },
                      .create = [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
                        return std::make_unique<DnnlDynamicQMatMulKernel>(q);
                      }});

}  // namespace
}  // namespace hone::dnnl_cpu
