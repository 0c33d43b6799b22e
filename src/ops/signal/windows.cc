// HannWindow, HammingWindow, BlackmanWindow (opset 17): a window of `size` samples as output_datatype (default
// float). periodic (default 1) uses N = size, symmetric (periodic = 0) N = size - 1, in
//   hann:     0.5 - 0.5 cos(2 pi n / N)
//   hamming:  25/46 - 21/46 cos(2 pi n / N)
//   blackman: 0.42 - 0.5 cos(2 pi n / N) + 0.08 cos(4 pi n / N)
#include <cmath>
#include <numbers>

#include "ops/op_helpers.h"

namespace hone {
namespace {

DType numeric_output_type(const Node& n, const char* attr, int64_t def) {
  int64_t code = n.attr_int(attr, def);
  if (!dtype_is_valid(static_cast<int32_t>(code)))
    fail("{}: {} {} is not an element type", n.label(), attr, code);
  DType t = static_cast<DType>(code);
  if (!is_float(t) && !is_integer(t)) fail("{}: {} must be a numeric type, got {}", n.label(), attr, dtype_name(t));
  return t;
}

int64_t window_size(const Tensor& t, const Node& n) {
  if (t.numel() != 1 || !is_integer(t.dtype())) fail("{}: size must be an integer scalar", n.label());
  int64_t size = t.get_int(0);
  if (size < 0) fail("{}: size must not be negative, got {}", n.label(), size);
  return size;
}

template <double (*F)(double, double)>
void window(OpContext& ctx) {
  const Node& n = ctx.node();
  int64_t size = window_size(ctx.input(0), n);
  DType t = numeric_output_type(n, "output_datatype", 1);
  double N = static_cast<double>(n.attr_int("periodic", 1) != 0 ? size : size - 1);
  Tensor& y = ctx.output_uninitialized(0, t, {size});
  for (int64_t i = 0; i < size; ++i) y.set_double(i, F(static_cast<double>(i), N));
}

double hann(double i, double N) { return 0.5 - 0.5 * std::cos(2 * std::numbers::pi * i / N); }
double hamming(double i, double N) {
  return 25.0 / 46.0 - (21.0 / 46.0) * std::cos(2 * std::numbers::pi * i / N);
}
double blackman(double i, double N) {
  return 0.42 - 0.5 * std::cos(2 * std::numbers::pi * i / N) + 0.08 * std::cos(4 * std::numbers::pi * i / N);
}

void infer_window(InferenceContext& ctx) {
  DType t = numeric_output_type(ctx.node(), "output_datatype", 1);
  Dim size;
  if (const Tensor* s = ctx.input_value(0); s && s->numel() == 1 && s->get_int(0) >= 0) size = s->get_int(0);
  ctx.set_output_tensor(0, t, SymShape{size});
}

}  // namespace

HONE_REGISTER_OP({.name = "HannWindow", .since = 17, .infer = infer_window, .compute = window<hann>});
HONE_REGISTER_OP({.name = "HammingWindow", .since = 17, .infer = infer_window, .compute = window<hamming>});
HONE_REGISTER_OP({.name = "BlackmanWindow", .since = 17, .infer = infer_window, .compute = window<blackman>});

}  // namespace hone
