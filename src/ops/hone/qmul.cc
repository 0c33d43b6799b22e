// hone.QMul (ops/hone/quantized.h): the product of two tensors (broadcast as Mul does), quantized ones read through
// their parameters, requantized; the reference for kernels/cpu/quantize_kernels.cc. A squeeze-excitation block's gate
// times its feature map, in int8.
#include "ops/hone/quantized.h"
#include "ops/op_helpers.h"

namespace hone {
namespace {

void qmul(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  for (const Tensor* t : {&a, &b})
    if (t->dtype() != DType::UInt8 && t->dtype() != DType::Int8 && t->dtype() != DType::Float32)
      fail("{}: inputs must be uint8, int8 or float32, got {}", node.label(), dtype_name(t->dtype()));
  Shape ys = broadcast_shapes(a.shape(), b.shape(), node);
  auto params = [&](const Tensor& t, const char* p) {
    return t.dtype() == DType::Float32 ? QuantParams{} : quant_params_attr(node, p);
  };
  std::vector<float> va = dequantized_values(a, params(a, "a"));
  std::vector<float> vb = dequantized_values(b, params(b, "b"));
  std::vector<float> v(static_cast<size_t>(shape_numel(ys)));
  for_each_broadcast(ys, a.shape(), b.shape(), [&](int64_t i, int64_t ia, int64_t ib) {
    v[static_cast<size_t>(i)] = va[static_cast<size_t>(ia)] * vb[static_cast<size_t>(ib)];
  });
  QuantizedOutput out = quantized_output_attr(node);
  Tensor& y = ctx.output_uninitialized(0, out.type, ys);
  finish_quantized_output(node, v, nullptr, out, y);
}

void infer_qmul(InferenceContext& ctx) {
  const SymShape* a = ctx.input_shape(0);
  const SymShape* b = ctx.input_shape(1);
  ctx.set_output_tensor(0, quantized_output_type(ctx.node()),
                        a && b ? std::optional<SymShape>(broadcast_sym_shapes(*a, *b)) : std::nullopt);
}

HONE_REGISTER_OP({.domain = "hone", .name = "QMul", .since = 1, .infer = infer_qmul, .compute = qmul});

}  // namespace
}  // namespace hone
