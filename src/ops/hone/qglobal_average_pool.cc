// hone.QGlobalAveragePool (ops/hone/quantized.h): the mean over the spatial dims of a quantized tensor, from exact
// integer sums; requantized or float32. The reference for kernels/cpu/quantize_kernels.cc.
#include "ops/hone/quantized.h"
#include "ops/op_helpers.h"

namespace hone {
namespace {

void qglobal_average_pool(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  if ((x.dtype() != DType::UInt8 && x.dtype() != DType::Int8) || x.rank() < 3)
    fail("{}: X must be a uint8 or int8 tensor of rank >= 3, got {}[{}]", node.label(), dtype_name(x.dtype()),
         shape_str(x.shape()));
  QuantParams xp = quant_params_attr(node, "x");
  int64_t planes = x.dim(0) * x.dim(1), count = planes ? x.numel() / planes : 0;
  if (count == 0) fail("{}: empty spatial dims", node.label());
  std::vector<float> v(static_cast<size_t>(planes));
  for (int64_t p = 0; p < planes; ++p) {
    int64_t sum = 0;
    for (int64_t i = 0; i < count; ++i) sum += x.get_int(p * count + i);
    v[static_cast<size_t>(p)] = static_cast<float>(static_cast<double>(sum - count * xp.zero_point) * xp.scale /
                                                   static_cast<double>(count));
  }
  Shape ys(x.rank(), 1);
  ys[0] = x.dim(0);
  ys[1] = x.dim(1);
  QuantizedOutput out = quantized_output_attr(node);
  Tensor& y = ctx.output_uninitialized(0, out.type, ys);
  finish_quantized_output(node, v, nullptr, out, y);
}

void infer_qglobal_average_pool(InferenceContext& ctx) {
  const SymShape* x = ctx.input_shape(0);
  std::optional<SymShape> y;
  if (x && x->size() >= 3) {
    y = SymShape(x->size(), Dim(1));
    (*y)[0] = (*x)[0];
    (*y)[1] = (*x)[1];
  }
  ctx.set_output_tensor(0, quantized_output_type(ctx.node()), y);
}

HONE_REGISTER_OP({.domain = "hone", .name = "QGlobalAveragePool", .since = 1, .infer = infer_qglobal_average_pool,
                  .compute = qglobal_average_pool});

}  // namespace
}  // namespace hone
