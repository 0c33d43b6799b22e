// hone.QConv (ops/hone/quantized.h): an int8 convolution with its requantization and post-ops, the reference kernel
// the oneDNN kernel (kernels/cpu/dnnl_qconv.cc) is tested against. The integer part is ConvInteger's direct loop.
#include "ops/hone/quantized.h"
#include "ops/op_helpers.h"
#include "ops/quant/conv_int.h"

namespace hone {
namespace {

void check_weight_inputs(const Node& node, const Tensor& w, const Tensor& w_scale, const Tensor* b, int64_t m) {
  if (w.dtype() != DType::Int8) fail("{}: W must be int8, got {}", node.label(), dtype_name(w.dtype()));
  if (w_scale.dtype() != DType::Float32 || (w_scale.numel() != 1 && !(w_scale.rank() == 1 && w_scale.dim(0) == m)))
    fail("{}: W_scale must be a float32 scalar or have {} elements, got {}[{}]", node.label(), m,
         dtype_name(w_scale.dtype()), shape_str(w_scale.shape()));
  if (b && (b->dtype() != DType::Float32 || b->numel() != m))
    fail("{}: B must be float32 with {} elements, got {}[{}]", node.label(), m, dtype_name(b->dtype()),
         shape_str(b->shape()));
}

void qconv(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor& w_scale = ctx.input(2);
  const Tensor* b = ctx.has_input(3) ? &ctx.input(3) : nullptr;
  const Tensor* z = ctx.has_input(4) ? &ctx.input(4) : nullptr;
  const Tensor* c = ctx.has_input(5) ? &ctx.input(5) : nullptr;
  if (x.dtype() != DType::UInt8 && x.dtype() != DType::Int8)
    fail("{}: X must be uint8 or int8, got {}", node.label(), dtype_name(x.dtype()));
  ConvGeometry g = conv_geometry(node, x.shape(), w.shape());
  check_weight_inputs(node, w, w_scale, b, g.out_channels);
  if (c && (c->dtype() != DType::Float32 || c->numel() != g.out_channels))
    fail("{}: C (the ChannelMul factors) must be float32 with {} elements, got {}[{}]", node.label(), g.out_channels,
         dtype_name(c->dtype()), shape_str(c->shape()));
  QuantParams xp = quant_params_attr(node, "x");
  QuantizedOutput out = quantized_output_attr(node);

  std::vector<int32_t> x32(static_cast<size_t>(x.numel())), w32(static_cast<size_t>(w.numel()));
  for (int64_t i = 0; i < x.numel(); ++i)
    x32[static_cast<size_t>(i)] = static_cast<int32_t>(x.get_int(i) - xp.zero_point);
  for (int64_t i = 0; i < w.numel(); ++i) w32[static_cast<size_t>(i)] = w.data<int8_t>()[i];
  Shape ys = g.out_shape();
  std::vector<int32_t> acc(static_cast<size_t>(shape_numel(ys)));
  conv_int32(x32.data(), w32.data(), nullptr, acc.data(), g);

  std::vector<float> v(acc.size());
  int64_t plane = shape_numel(g.out_spatial);
  for (size_t i = 0; i < acc.size(); ++i) {
    int64_t m = plane ? (static_cast<int64_t>(i) / plane) % g.out_channels : 0;
    float mult = xp.scale * w_scale.data<float>()[w_scale.numel() == 1 ? 0 : m];
    v[i] = static_cast<float>(acc[i]) * mult + (b ? b->data<float>()[m] : 0.f);
  }
  std::vector<float> zv;
  if (z) {  // broadcast to the output as the Add it came from does
    if (broadcast_shapes(z->shape(), ys, node) != ys)
      fail("{}: Z of shape [{}] does not broadcast to the convolution's [{}]", node.label(), shape_str(z->shape()),
           shape_str(ys));
    std::vector<float> zs =
        dequantized_values(*z, z->dtype() == DType::Float32 ? QuantParams{} : quant_params_attr(node, "z"));
    zv.resize(acc.size());
    for_each_broadcast(ys, ys, z->shape(), [&](int64_t i, int64_t, int64_t iz) {
      zv[static_cast<size_t>(i)] = zs[static_cast<size_t>(iz)];
    });
  }
  Tensor& y = ctx.output_uninitialized(0, out.type, ys);
  ChannelFactors factors{c ? c->data<float>() : nullptr, g.out_channels, std::max<int64_t>(plane, 1)};
  finish_quantized_output(node, v, z ? zv.data() : nullptr, out, y, c ? &factors : nullptr);
}

void infer_qconv(InferenceContext& ctx) {
  ctx.set_output_tensor(0, quantized_output_type(ctx.node()),
                        infer_conv_shape(ctx.node(), ctx.input_shape(0), ctx.input_shape(1)));
}

HONE_REGISTER_OP({.domain = "hone", .name = "QConv", .since = 1, .infer = infer_qconv, .compute = qconv});

}  // namespace
}  // namespace hone
