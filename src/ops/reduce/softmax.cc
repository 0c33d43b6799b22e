// Softmax, LogSoftmax, Hardmax. Before opset 13 the input is coerced to 2-D at `axis` (default 1): rows are the
// dims before it, and the function runs over everything from `axis` on. From opset 13 it runs along the single
// axis `axis` (default -1). Hardmax puts 1 at the first maximum and 0 elsewhere.
#include <cmath>

#include "ops/reduce/axes.h"

namespace hone {
namespace {

enum class Fn { Softmax, LogSoftmax, Hardmax };

// Runs over n elements spaced `stride` apart starting at x / y; computes in double.
template <typename T>
void apply(Fn fn, const T* x, T* y, int64_t n, int64_t stride) {
  if (n == 0) return;
  double mx = static_cast<double>(x[0]);
  int64_t arg = 0;
  for (int64_t k = 1; k < n; ++k) {
    double v = static_cast<double>(x[k * stride]);
    if (v > mx) {
      mx = v;
      arg = k;
    }
  }
  if (fn == Fn::Hardmax) {
    for (int64_t k = 0; k < n; ++k) y[k * stride] = static_cast<T>(k == arg ? 1.0f : 0.0f);
    return;
  }
  double sum = 0;
  for (int64_t k = 0; k < n; ++k) sum += std::exp(static_cast<double>(x[k * stride]) - mx);
  double log_sum = std::log(sum);
  for (int64_t k = 0; k < n; ++k) {
    double d = static_cast<double>(x[k * stride]) - mx;
    y[k * stride] = static_cast<T>(fn == Fn::Softmax ? std::exp(d) / sum : d - log_sum);
  }
}

void softmax_family(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  Fn fn = node.op_type == "Softmax" ? Fn::Softmax : node.op_type == "LogSoftmax" ? Fn::LogSoftmax : Fn::Hardmax;
  bool legacy = ctx.opset() < 13;
  int64_t axis = normalize_axis(node.attr_int("axis", legacy ? 1 : -1), x.rank(), node);
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), x.shape());
  AxisSplit s = split_at_axis(x.shape(), axis);
  if (legacy) {  // one row per outer index, the row spans everything from `axis` on
    s.n *= s.inner;
    s.inner = 1;
  }
  HONE_DISPATCH_FLOAT(x.dtype(), node, {
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t in = 0; in < s.inner; ++in) {
        int64_t base = o * s.n * s.inner + in;
        apply<T>(fn, px + base, py + base, s.n, s.inner);
      }
  });
}

}  // namespace

HONE_REGISTER_OP({.name = "Softmax", .since = 1, .until = 12, .infer = infer_same_as_input, .compute = softmax_family});
HONE_REGISTER_OP({.name = "Softmax", .since = 13, .infer = infer_same_as_input, .compute = softmax_family});
HONE_REGISTER_OP({.name = "LogSoftmax", .since = 1, .until = 12, .infer = infer_same_as_input, .compute = softmax_family});
HONE_REGISTER_OP({.name = "LogSoftmax", .since = 13, .infer = infer_same_as_input, .compute = softmax_family});
HONE_REGISTER_OP({.name = "Hardmax", .since = 1, .until = 12, .infer = infer_same_as_input, .compute = softmax_family});
HONE_REGISTER_OP({.name = "Hardmax", .since = 13, .infer = infer_same_as_input, .compute = softmax_family});

}  // namespace hone
