// SwiGLU (opset 28): y = a * sigmoid(alpha * a) * b (alpha default 1), a and b broadcast numpy-style.
#include <cmath>

#include "ops/attention/float_io.h"

namespace hone {
namespace {

void swiglu(OpContext& ctx) {
  const Node& n = ctx.node();
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.dtype() != b.dtype())
    fail("{}: a and b have different element types ({} and {})", n.label(), dtype_name(a.dtype()), dtype_name(b.dtype()));
  double alpha = n.attr_float("alpha", 1.0f);
  Shape shape = broadcast_shapes(a.shape(), b.shape(), n);
  std::vector<double> av = float_values(a, n), bv = float_values(b, n);
  std::vector<double> y(static_cast<size_t>(shape_numel(shape)));
  for_each_broadcast(shape, a.shape(), b.shape(), [&](int64_t i, int64_t ia, int64_t ib) {
    double x = av[static_cast<size_t>(ia)];
    y[static_cast<size_t>(i)] = x / (1.0 + std::exp(-alpha * x)) * bv[static_cast<size_t>(ib)];
  });
  store_float_values(ctx.output_uninitialized(0, a.dtype(), shape), y, n);
}

}  // namespace

HONE_REGISTER_OP({.name = "SwiGLU", .since = 28, .infer = infer_broadcast, .compute = swiglu});

}  // namespace hone
