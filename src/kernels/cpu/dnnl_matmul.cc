#include "kernels/cpu/dnnl_matmul.h"

#include "ops/op_helpers.h"

namespace hone::dnnl_cpu {
namespace {

using dnnl::memory;

// Everything the primitive needs, in oneDNN terms, for one MatMul or Gemm node at concrete shapes.
struct MatmulSetup {
  Shape a_shape, b_shape, out_shape;
  memory::desc src, wei, dst;   // the user's layouts (wei possibly strided, for transB)
  const Tensor* b_const = nullptr;
  float fold_alpha = 1.f;       // multiplies the constant B when packing
  float out_scale = 1.f;        // oneDNN output scale (only without bias)
  memory::desc bias;            // zero desc when none
  std::vector<float> bias_values;  // constant bias (beta * C)
  int c_input = -1;             // runtime bias input
  Shape c_shape;
};

memory::desc strided(const memory::dims& dims, const memory::dims& strides) {
  return memory::desc(dims, memory::data_type::f32, strides);
}

std::optional<MatmulSetup> matmul_setup(const KernelQuery& q) {
  if (q.input_types.size() != 2) return std::nullopt;
  std::optional<Shape> a = concrete_f32_shape(q.input_types[0]);
  std::optional<Shape> b = concrete_f32_shape(q.input_types[1]);
  if (!a || !b || a->empty() || b->empty() || shape_numel(*a) == 0 || shape_numel(*b) == 0) return std::nullopt;
  MatmulSetup s;
  s.a_shape = *a;
  s.b_shape = *b;
  Shape a2 = a->size() == 1 ? Shape{1, (*a)[0]} : *a;
  Shape b2 = b->size() == 1 ? Shape{(*b)[0], 1} : *b;
  int64_t m = a2[a2.size() - 2], k = a2.back(), n = b2.back();
  if (b2[b2.size() - 2] != k) return std::nullopt;
  Shape batch_a(a2.begin(), a2.end() - 2), batch_b(b2.begin(), b2.end() - 2), batch_out;
  try {
    batch_out = broadcast_shapes(batch_a, batch_b, q.node);
  } catch (const Error&) {
    return std::nullopt;
  }
  if (batch_out.size() + 2 > 6) return std::nullopt;
  s.out_shape = batch_out;
  if (a->size() > 1) s.out_shape.push_back(m);
  if (b->size() > 1) s.out_shape.push_back(n);
  if (shape_numel(s.out_shape) == 0) return std::nullopt;
  if (shape_numel(batch_b) == 1) {
    // B is shared by every batch: fold A's batches into its rows (one larger GEMM).
    int64_t rows = shape_numel(batch_a) * m;
    s.src = plain_desc({rows, k});
    s.wei = plain_desc({k, n});
    s.dst = plain_desc({rows, n});
  } else {
    auto padded = [&](const Shape& batch, int64_t r, int64_t c) {
      memory::dims d(batch_out.size() - batch.size(), 1);
      d.insert(d.end(), batch.begin(), batch.end());
      d.push_back(r);
      d.push_back(c);
      return d;
    };
    s.src = plain_desc(padded(batch_a, m, k));
    s.wei = plain_desc(padded(batch_b, k, n));
    s.dst = plain_desc(padded(batch_out, m, n));
  }
  s.b_const = q.input_constants[1];
  return s;
}

std::optional<MatmulSetup> gemm_setup(const KernelQuery& q) {
  if (q.opset < 7 || q.input_types.size() < 2) return std::nullopt;
  std::optional<Shape> a = concrete_f32_shape(q.input_types[0]);
  std::optional<Shape> b = concrete_f32_shape(q.input_types[1]);
  if (!a || !b || a->size() != 2 || b->size() != 2) return std::nullopt;
  bool ta = q.node.attr_int("transA", 0) != 0, tb = q.node.attr_int("transB", 0) != 0;
  float alpha = q.node.attr_float("alpha", 1.f), beta = q.node.attr_float("beta", 1.f);
  int64_t m = ta ? (*a)[1] : (*a)[0], k = ta ? (*a)[0] : (*a)[1];
  int64_t kb = tb ? (*b)[1] : (*b)[0], n = tb ? (*b)[0] : (*b)[1];
  if (k != kb || m == 0 || n == 0 || k == 0) return std::nullopt;
  MatmulSetup s;
  s.a_shape = *a;
  s.b_shape = *b;
  s.out_shape = {m, n};
  s.src = ta ? strided({m, k}, {1, m}) : strided({m, k}, {k, 1});
  s.wei = tb ? strided({k, n}, {1, k}) : strided({k, n}, {n, 1});
  s.dst = plain_desc({m, n});
  s.b_const = q.input_constants[1];
  bool c_given = q.input_types.size() > 2 && q.input_types[2];
  if (q.opset < 11 && !c_given) return std::nullopt;  // C is required before opset 11: the reference reports it
  bool has_c = c_given && beta != 0.f;
  if (s.b_const)
    s.fold_alpha = alpha;
  else if (alpha != 1.f) {
    if (has_c) return std::nullopt;  // a runtime B and C: alpha would have to scale the product but not the bias
    s.out_scale = alpha;
  }
  if (has_c) {
    std::optional<Shape> c = concrete_f32_shape(q.input_types[2]);
    if (!c || c->size() > 2) return std::nullopt;
    Shape c2 = *c;
    while (c2.size() < 2) c2.insert(c2.begin(), 1);
    if ((c2[0] != 1 && c2[0] != m) || (c2[1] != 1 && c2[1] != n)) return std::nullopt;
    s.bias = plain_desc(to_dims(c2));
    if (const Tensor* ct = q.input_constants[2]) {
      s.bias_values.assign(ct->data<float>(), ct->data<float>() + ct->numel());
      for (float& v : s.bias_values) v *= beta;
    } else {
      if (beta != 1.f) return std::nullopt;
      s.c_input = 2;
      s.c_shape = *c;
    }
  }
  return s;
}

dnnl::matmul::primitive_desc matmul_pd(const MatmulSetup& s, const PostOps& post_ops,
                                       memory::data_type dt = memory::data_type::f32) {
  memory::desc wei = s.b_const ? memory::desc(s.wei.dims(), dt, memory::format_tag::any) : with_type(s.wei, dt);
  dnnl::matmul::desc d(with_type(s.src, dt), wei, s.bias, with_type(s.dst, dt));
  return dnnl::matmul::primitive_desc(d, make_attr(post_ops, s.out_scale), cpu_engine());
}

bool supported(const std::optional<MatmulSetup>& s, memory::data_type dt) {
  if (!s) return false;
  try {
    matmul_pd(*s, {}, dt);
    return true;
  } catch (const dnnl::error&) {
    return false;
  }
}

}  // namespace

bool matmul_supported(const KernelQuery& q, memory::data_type dt) {
  return q.node.op_type == "MatMul" && supported(matmul_setup(q), dt);
}
bool gemm_supported(const KernelQuery& q, memory::data_type dt) {
  return q.node.op_type == "Gemm" && supported(gemm_setup(q), dt);
}

DnnlMatMulKernel::DnnlMatMulKernel(const KernelQuery& q, PostOps post_ops, memory::data_type compute)
    : post_ops_(std::move(post_ops)) {
  bool gemm = q.node.op_type == "Gemm";
  base_name_ = std::string(gemm ? "dnnl-gemm-" : "dnnl-matmul-") + (compute == memory::data_type::bf16 ? "bf16" : "f32");
  std::optional<MatmulSetup> s = gemm ? gemm_setup(q) : matmul_setup(q);
  if (!s) fail("{}: not supported by the oneDNN matmul kernel", q.node.label());
  // 2 * M * N * K, with K = |A| * N / |out| (whatever A's transposition).
  double out_n = static_cast<double>(std::max<int64_t>(shape_numel(s->out_shape), 1));
  double n = s->out_shape.empty() ? 1.0 : static_cast<double>(s->out_shape.back());
  double k = static_cast<double>(shape_numel(s->a_shape)) * n / out_n;
  double flops = 2.0 * out_n * k;
  threads_ = threads_for_work(flops, q.threads);
  ScopedOmpThreads team(threads_);
  auto pd = matmul_pd(*s, post_ops_, compute);
  a_shape_ = s->a_shape;
  b_shape_ = s->b_shape;
  out_shape_ = s->out_shape;
  prim_.init(pd, dnnl::matmul(pd));
  src_ = prim_.add_input(DNNL_ARG_SRC, s->src, pd.src_desc());
  if (s->b_const) {
    const float* b = s->b_const->data<float>();
    std::vector<float> scaled;
    if (s->fold_alpha != 1.f) {
      scaled.assign(b, b + s->b_const->numel());
      for (float& v : scaled) v *= s->fold_alpha;
      b = scaled.data();
    }
    prim_.set_constant(DNNL_ARG_WEIGHTS, pack_constant(b, s->wei.dims(), s->wei, pd.weights_desc()));
  } else {
    wei_ = prim_.add_input(DNNL_ARG_WEIGHTS, s->wei, pd.weights_desc());
  }
  if (!s->bias_values.empty()) {
    prim_.set_constant(DNNL_ARG_BIAS, pack_constant(s->bias_values.data(), s->bias.dims(), s->bias, s->bias));
  } else if (s->c_input >= 0) {
    bias_ = prim_.add_input(DNNL_ARG_BIAS, s->bias, s->bias);
    c_input_ = s->c_input;
    c_shape_ = s->c_shape;
  }
  dst_ = prim_.add_output(DNNL_ARG_DST, s->dst, pd.dst_desc());
}

DnnlMatMulKernel::~DnnlMatMulKernel() = default;

void DnnlMatMulKernel::run(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  auto check = [&](const Tensor& t, const Shape& want, int i) {
    if (t.dtype() != DType::Float32 || t.shape() != want)
      fail("{}: input {} is {}[{}] but the kernel was planned for float[{}]", ctx.node().label(), i,
           dtype_name(t.dtype()), shape_str(t.shape()), shape_str(want));
  };
  check(a, a_shape_, 0);
  prim_.bind(src_, a.raw());
  if (wei_ >= 0) {
    const Tensor& b = ctx.input(1);
    check(b, b_shape_, 1);
    prim_.bind(wei_, b.raw());
  }
  if (bias_ >= 0) {
    const Tensor& c = ctx.input(static_cast<size_t>(c_input_));
    check(c, c_shape_, c_input_);
    prim_.bind(bias_, c.raw());
  }
  Tensor& y = ctx.output_uninitialized(0, DType::Float32, out_shape_);
  prim_.bind(dst_, y.raw());
  prim_.execute(threads_ > 0 ? threads_ : ctx.threads());
}

HONE_REGISTER_KERNEL({.op = "MatMul",
                      .name = "dnnl-matmul-f32",
                      .priority = 10,
                      .applies = [](const KernelQuery& q) { return matmul_supported(q); },
                      .create = [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
                        return std::make_unique<DnnlMatMulKernel>(q);
                      }});
HONE_REGISTER_KERNEL({.op = "Gemm",
                      .name = "dnnl-gemm-f32",
                      .priority = 10,
                      .applies = [](const KernelQuery& q) { return gemm_supported(q); },
                      .create = [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
                        return std::make_unique<DnnlMatMulKernel>(q);
                      }});

}  // namespace hone::dnnl_cpu
