// MatMulInteger (10): (A - a_zero_point) @ (B - b_zero_point) in int32. QLinearMatMul (10; 21 adds float16/bfloat16
// scales): the same product requantized, y = saturate(rint(C * (a_scale * b_scale / y_scale)) + y_zero_point), with
// the multiplier computed in the scales' type and the product in double, as ONNX's reference does.
#include <algorithm>
#include <cmath>

#include "ops/op_helpers.h"
#include "ops/quant/int_matmul.h"
#include "ops/quant/quant_params.h"

namespace hone {
namespace {

void check_8bit(const Tensor& t, const char* what, const Node& node) {
  if (t.dtype() != DType::UInt8 && t.dtype() != DType::Int8)
    fail("{}: {} must be uint8 or int8, got {}", node.label(), what, dtype_name(t.dtype()));
}

void matmul_integer(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  check_8bit(a, "A", node);
  check_8bit(b, "B", node);
  MatMulPlan plan = plan_matmul(a.shape(), b.shape(), node);
  std::vector<int32_t> a32 = subtract_zero_point(a, ctx.has_input(2) ? &ctx.input(2) : nullptr, true, node);
  std::vector<int32_t> b32 = subtract_zero_point(b, ctx.has_input(3) ? &ctx.input(3) : nullptr, false, node);
  Tensor& y = ctx.output_uninitialized(0, DType::Int32, plan.out_shape);
  matmul_int32(a32.data(), b32.data(), y.data<int32_t>(), plan);
}

void infer_matmul_integer(InferenceContext& ctx) {
  ctx.set_output_tensor(0, DType::Int32, infer_matmul_shape(ctx.input_shape(0), ctx.input_shape(1)));
}

// A scale (or output zero point) that is a scalar or a 1-D tensor of `n` elements; index with i when per element.
void check_param(const Tensor& t, int64_t n, const char* what, const Node& node) {
  if (t.numel() != 1 && !(t.rank() == 1 && t.dim(0) == n))
    fail("{}: {} must be a scalar or have {} elements, got shape {}", node.label(), what, n, shape_str(t.shape()));
}

void qlinear_matmul(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& a = ctx.input(0);
  const Tensor& a_scale = ctx.input(1);
  const Tensor& b = ctx.input(3);
  const Tensor& b_scale = ctx.input(4);
  const Tensor& y_scale = ctx.input(6);
  const Tensor* y_zp = ctx.has_input(7) ? &ctx.input(7) : nullptr;
  check_8bit(a, "a", node);
  check_8bit(b, "b", node);
  MatMulPlan plan = plan_matmul(a.shape(), b.shape(), node);
  check_param(a_scale, plan.M, "a_scale", node);
  check_param(b_scale, plan.N, "b_scale", node);
  check_param(y_scale, 1, "y_scale", node);
  if (y_zp) check_param(*y_zp, 1, "y_zero_point", node);
  DType out = y_zp ? y_zp->dtype() : a.dtype();
  int64_t qmin, qmax;
  if (!quant_int_range(out, qmin, qmax) || (out != DType::UInt8 && out != DType::Int8))
    fail("{}: output type {} is not uint8 or int8", node.label(), dtype_name(out));
  DType st = a_scale.dtype();
  std::vector<int32_t> a32 = subtract_zero_point(a, ctx.has_input(2) ? &ctx.input(2) : nullptr, true, node);
  std::vector<int32_t> b32 = subtract_zero_point(b, ctx.has_input(5) ? &ctx.input(5) : nullptr, false, node);
  std::vector<int32_t> c(static_cast<size_t>(shape_numel(plan.out_shape)));
  matmul_int32(a32.data(), b32.data(), c.data(), plan);
  Tensor& y = ctx.output_uninitialized(0, out, plan.out_shape);
  double zp = y_zp ? static_cast<double>(y_zp->get_int(0)) : 0.0;
  double ys = y_scale.get_double(0);
  for (size_t i = 0; i < c.size(); ++i) {
    auto n = static_cast<int64_t>(i) % plan.N;
    auto m = (static_cast<int64_t>(i) / plan.N) % plan.M;
    double as = a_scale.get_double(a_scale.numel() == 1 ? 0 : m);
    double bs = b_scale.get_double(b_scale.numel() == 1 ? 0 : n);
    double multiplier = round_to_float_type(st, round_to_float_type(st, as * bs) / ys);
    double d = std::nearbyint(static_cast<double>(c[i]) * multiplier + zp);
    if (std::isnan(d)) d = static_cast<double>(qmin);
    store_quantized_int(y, static_cast<int64_t>(i), static_cast<int64_t>(std::clamp(d, static_cast<double>(qmin), static_cast<double>(qmax))));
  }
}

void infer_qlinear_matmul(InferenceContext& ctx) {
  DType out = ctx.has_input(7) ? ctx.input_dtype(7) : ctx.input_dtype(0);
  ctx.set_output_tensor(0, out, infer_matmul_shape(ctx.input_shape(0), ctx.input_shape(3)));
}

}  // namespace

HONE_REGISTER_OP({.name = "MatMulInteger", .since = 10, .infer = infer_matmul_integer, .compute = matmul_integer});
HONE_REGISTER_OP({.name = "QLinearMatMul", .since = 10, .infer = infer_qlinear_matmul, .compute = qlinear_matmul});

}  // namespace hone
