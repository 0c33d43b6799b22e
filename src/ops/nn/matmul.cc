// MatMul: numpy matmul. 1-D operands get a dimension prepended (A) or appended (B) that is removed again; batch
// dims broadcast. Every numeric type; float16/bfloat16 compute in float. Integers wrap like numpy.
#include <vector>

#include "ops/nn/float_staging.h"
#include "ops/nn/gemm_loop.h"

namespace hone::nn {
namespace {

struct MatMulShapes {
  Shape batch_a, batch_b, batch_out, out;
  int64_t m = 0, k = 0, n = 0;
};

MatMulShapes matmul_shapes(const Shape& a, const Shape& b, const Node& node) {
  if (a.empty() || b.empty()) fail("{}: operands must have rank >= 1 (got {} and {})", node.label(), a.size(), b.size());
  MatMulShapes s;
  Shape a2 = a.size() == 1 ? Shape{1, a[0]} : a;
  Shape b2 = b.size() == 1 ? Shape{b[0], 1} : b;
  s.m = a2[a2.size() - 2];
  s.k = a2.back();
  s.n = b2.back();
  if (b2[b2.size() - 2] != s.k)
    fail("{}: inner dimensions differ: {} vs {}", node.label(), shape_str(a), shape_str(b));
  s.batch_a.assign(a2.begin(), a2.end() - 2);
  s.batch_b.assign(b2.begin(), b2.end() - 2);
  s.batch_out = broadcast_shapes(s.batch_a, s.batch_b, node);
  s.out = s.batch_out;
  if (a.size() > 1) s.out.push_back(s.m);
  if (b.size() > 1) s.out.push_back(s.n);
  return s;
}

template <typename T>
void matmul_compute(const MatMulShapes& s, const T* a, const T* b, T* y) {
  int64_t mk = s.m * s.k, kn = s.k * s.n, mn = s.m * s.n;
  if (shape_numel(s.batch_b) == 1) {
    // B is shared by every batch: fold A's batches into its rows (one larger GEMM).
    int64_t rows = shape_numel(s.batch_out) * s.m;
    if (shape_numel(s.batch_a) == shape_numel(s.batch_out)) {
      gemm_loop<T>(rows, s.n, s.k, a, s.k, 1, b, s.n, 1, y, s.n, false);
      return;
    }
  }
  for_each_broadcast(s.batch_out, s.batch_a, s.batch_b, [&](int64_t i, int64_t ia, int64_t ib) {
    gemm_loop<T>(s.m, s.n, s.k, a + ia * mk, s.k, 1, b + ib * kn, s.n, 1, y + i * mn, s.n, false);
  });
}

void matmul(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.dtype() != b.dtype())
    fail("{}: inputs have different element types ({} and {})", ctx.node().label(), dtype_name(a.dtype()),
         dtype_name(b.dtype()));
  MatMulShapes s = matmul_shapes(a.shape(), b.shape(), ctx.node());
  Tensor& y = ctx.output_uninitialized(0, a.dtype(), s.out);
  if (y.numel() == 0) return;
  switch (a.dtype()) {
    case DType::Float16:
    case DType::BFloat16: {
      std::vector<float> af = widen_to_float(a), bf = widen_to_float(b), yf(static_cast<size_t>(y.numel()));
      matmul_compute<float>(s, af.data(), bf.data(), yf.data());
      narrow_from_float(yf, y);
      break;
    }
      HONE_TYPE_CASE(Float32, float, matmul_compute<T>(s, a.data<T>(), b.data<T>(), y.data<T>()))
      HONE_TYPE_CASE(Float64, double, matmul_compute<T>(s, a.data<T>(), b.data<T>(), y.data<T>()))
      HONE_INT_CASES(matmul_compute<T>(s, a.data<T>(), b.data<T>(), y.data<T>()))
    default: fail("{}: element type {} is not supported", ctx.node().label(), dtype_name(a.dtype()));
  }
}

void infer_matmul(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const SymShape* a = ctx.input_shape(0);
  const SymShape* b = ctx.input_shape(1);
  if (!a || !b || a->empty() || b->empty()) {
    ctx.set_output_tensor(0, dt, std::nullopt);
    return;
  }
  SymShape ba(a->begin(), a->end() - std::min<size_t>(a->size(), 2));
  SymShape bb(b->begin(), b->end() - std::min<size_t>(b->size(), 2));
  SymShape out = broadcast_sym_shapes(ba, bb);
  if (a->size() > 1) out.push_back((*a)[a->size() - 2]);
  if (b->size() > 1) out.push_back(b->back());
  ctx.set_output_tensor(0, dt, out);
}

}  // namespace

HONE_REGISTER_OP({.name = "MatMul", .since = 1, .infer = infer_matmul, .compute = matmul});

}  // namespace hone::nn
