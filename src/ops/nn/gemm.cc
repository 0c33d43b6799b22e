// Gemm: Y = alpha * A' * B' + beta * C, A' = transA ? A^T : A (M x K), B' = transB ? B^T : B (K x N); C broadcasts
// unidirectionally to (M, N). Opsets 1-6 name broadcasting with the `broadcast` attribute (0: C must be M x N);
// C is optional from opset 11.
#include <cmath>
#include <type_traits>
#include <vector>

#include "ops/nn/float_staging.h"
#include "ops/nn/gemm_loop.h"

namespace hone::nn {
namespace {

struct GemmShapes {
  int64_t m = 0, k = 0, n = 0;
  bool trans_a = false, trans_b = false;
};

GemmShapes gemm_shapes(const Node& node, const Shape& a, const Shape& b) {
  if (a.size() != 2 || b.size() != 2)
    fail("{}: A and B must be 2-D (got {} and {})", node.label(), shape_str(a), shape_str(b));
  GemmShapes s;
  s.trans_a = node.attr_int("transA", 0) != 0;
  s.trans_b = node.attr_int("transB", 0) != 0;
  s.m = s.trans_a ? a[1] : a[0];
  s.k = s.trans_a ? a[0] : a[1];
  int64_t kb = s.trans_b ? b[1] : b[0];
  s.n = s.trans_b ? b[0] : b[1];
  if (kb != s.k) fail("{}: inner dimensions differ: A' is {}x{}, B' is {}x{}", node.label(), s.m, s.k, kb, s.n);
  return s;
}

// Scales the product in place and adds beta * C (C strides already broadcast to M x N).
template <typename T, typename S>
void scale_and_add_c(T* y, int64_t m, int64_t n, S alpha, S beta, const T* c, int64_t c_rs, int64_t c_cs) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      S v = alpha * static_cast<S>(y[i * n + j]);
      if (c) v += beta * static_cast<S>(c[i * c_rs + j * c_cs]);
      y[i * n + j] = static_cast<T>(v);
    }
}

template <typename T>
void gemm_compute(const GemmShapes& s, float alpha, float beta, const T* a, const T* b, const T* c, int64_t c_rs,
                  int64_t c_cs, T* y) {
  int64_t a_rs = s.trans_a ? 1 : s.k, a_cs = s.trans_a ? s.m : 1;
  int64_t b_rs = s.trans_b ? 1 : s.n, b_cs = s.trans_b ? s.k : 1;
  gemm_loop<T>(s.m, s.n, s.k, a, a_rs, a_cs, b, b_rs, b_cs, y, s.n, false);
  if (alpha == 1.0f && (!c || beta == 0.0f)) return;
  if constexpr (std::is_same_v<T, double>) scale_and_add_c<T, double>(y, s.m, s.n, alpha, beta, c, c_rs, c_cs);
  else if constexpr (std::is_same_v<T, float>) scale_and_add_c<T, float>(y, s.m, s.n, alpha, beta, c, c_rs, c_cs);
  else scale_and_add_c<T, double>(y, s.m, s.n, alpha, beta, c, c_rs, c_cs);  // integers: scaled in double, truncated
}

void gemm_impl(OpContext& ctx, bool legacy_broadcast_attr) {
  const Node& node = ctx.node();
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  const Tensor* c = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  if (!c && ctx.opset() < 11) fail("{}: input C is required before opset 11", node.label());
  if (a.dtype() != b.dtype() || (c && c->dtype() != a.dtype()))
    fail("{}: inputs have different element types", node.label());
  GemmShapes s = gemm_shapes(node, a.shape(), b.shape());
  float alpha = node.attr_float("alpha", 1.0f), beta = node.attr_float("beta", 1.0f);
  int64_t c_rs = 0, c_cs = 0;
  if (c) {
    if (legacy_broadcast_attr && node.attr_int("broadcast", 0) == 0 && c->shape() != Shape{s.m, s.n})
      fail("{}: C has shape {} but broadcast=0 requires {}x{}", node.label(), shape_str(c->shape()), s.m, s.n);
    if (c->rank() > 2) fail("{}: C must have rank <= 2, got {}", node.label(), shape_str(c->shape()));
    Shape cs = c->shape();
    while (cs.size() < 2) cs.insert(cs.begin(), 1);
    if ((cs[0] != 1 && cs[0] != s.m) || (cs[1] != 1 && cs[1] != s.n))
      fail("{}: C of shape {} does not broadcast to {}x{}", node.label(), shape_str(c->shape()), s.m, s.n);
    c_rs = cs[0] == 1 ? 0 : cs[1];
    c_cs = cs[1] == 1 ? 0 : 1;
  }
  Tensor& y = ctx.output_uninitialized(0, a.dtype(), {s.m, s.n});
  if (y.numel() == 0) return;
  switch (a.dtype()) {
    case DType::Float16:
    case DType::BFloat16: {
      std::vector<float> af = widen_to_float(a), bf = widen_to_float(b), cf, yf(static_cast<size_t>(y.numel()));
      if (c) cf = widen_to_float(*c);
      gemm_compute<float>(s, alpha, beta, af.data(), bf.data(), c ? cf.data() : nullptr, c_rs, c_cs, yf.data());
      narrow_from_float(yf, y);
      break;
    }
      HONE_TYPE_CASE(Float32, float,
                     gemm_compute<T>(s, alpha, beta, a.data<T>(), b.data<T>(), c ? c->data<T>() : nullptr, c_rs, c_cs,
                                     y.data<T>()))
      HONE_TYPE_CASE(Float64, double,
                     gemm_compute<T>(s, alpha, beta, a.data<T>(), b.data<T>(), c ? c->data<T>() : nullptr, c_rs, c_cs,
                                     y.data<T>()))
      HONE_INT_CASES(gemm_compute<T>(s, alpha, beta, a.data<T>(), b.data<T>(), c ? c->data<T>() : nullptr, c_rs, c_cs,
                                     y.data<T>()))
    default: fail("{}: element type {} is not supported", node.label(), dtype_name(a.dtype()));
  }
}

void gemm_legacy(OpContext& ctx) { gemm_impl(ctx, true); }
void gemm(OpContext& ctx) { gemm_impl(ctx, false); }

void infer_gemm(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const SymShape* a = ctx.input_shape(0);
  const SymShape* b = ctx.input_shape(1);
  SymShape out(2);
  if (a && a->size() == 2) out[0] = (*a)[ctx.node().attr_int("transA", 0) ? 1 : 0];
  if (b && b->size() == 2) out[1] = (*b)[ctx.node().attr_int("transB", 0) ? 0 : 1];
  ctx.set_output_tensor(0, dt, out);
}

}  // namespace

HONE_REGISTER_OP({.name = "Gemm", .since = 1, .until = 6, .infer = infer_gemm, .compute = gemm_legacy});
HONE_REGISTER_OP({.name = "Gemm", .since = 7, .infer = infer_gemm, .compute = gemm});

}  // namespace hone::nn
