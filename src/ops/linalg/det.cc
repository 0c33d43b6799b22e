// Det (opset 11; 22 added bfloat16): determinant of each square matrix in a [..., M, M] batch, by LU decomposition
// with partial pivoting, accumulated in double.
#include <cmath>
#include <utility>

#include "ops/op_helpers.h"

namespace hone {
namespace {

// Determinant of the m x m row-major matrix `a` (overwritten).
double lu_determinant(std::vector<double>& a, int64_t m) {
  double det = 1.0;
  for (int64_t col = 0; col < m; ++col) {
    int64_t pivot = col;
    for (int64_t r = col + 1; r < m; ++r)
      if (std::abs(a[r * m + col]) > std::abs(a[pivot * m + col])) pivot = r;
    if (a[pivot * m + col] == 0.0) return 0.0;
    if (pivot != col) {
      for (int64_t k = 0; k < m; ++k) std::swap(a[col * m + k], a[pivot * m + k]);
      det = -det;
    }
    double p = a[col * m + col];
    det *= p;
    for (int64_t r = col + 1; r < m; ++r) {
      double f = a[r * m + col] / p;
      if (f == 0.0) continue;
      for (int64_t k = col + 1; k < m; ++k) a[r * m + k] -= f * a[col * m + k];
    }
  }
  return det;
}

void det(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Node& n = ctx.node();
  if (x.rank() < 2 || x.shape()[x.shape().size() - 1] != x.shape()[x.shape().size() - 2])
    fail("{}: input must have shape [..., M, M], got {}", n.label(), shape_str(x.shape()));
  int64_t m = x.shape().back();
  Shape batch_shape(x.shape().begin(), x.shape().end() - 2);
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), batch_shape);
  int64_t batch = shape_numel(batch_shape);
  std::vector<double> a(static_cast<size_t>(m * m));
  HONE_DISPATCH_FLOAT(x.dtype(), n, {
    const T* px = x.data<T>();
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t k = 0; k < m * m; ++k) a[static_cast<size_t>(k)] = static_cast<double>(px[b * m * m + k]);
      y.data<T>()[b] = static_cast<T>(lu_determinant(a, m));
    }
  });
}

void infer_det(InferenceContext& ctx) {
  const SymShape* s = ctx.input_shape(0);
  if (!s) {
    ctx.set_output_tensor(0, ctx.input_dtype(0), std::nullopt);
    return;
  }
  if (s->size() < 2) fail("{}: input must have rank >= 2, got rank {}", ctx.node().label(), s->size());
  ctx.set_output_tensor(0, ctx.input_dtype(0), SymShape(s->begin(), s->end() - 2));
}

}  // namespace

HONE_REGISTER_OP({.name = "Det", .since = 11, .infer = infer_det, .compute = det});

}  // namespace hone
