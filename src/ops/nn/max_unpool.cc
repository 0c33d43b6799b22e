// MaxUnpool: scatters X into a zero tensor at the flat positions MaxPool's Indices recorded. The output shape is the
// optional output_shape input, else the size a MaxPool with these attributes would have been applied to.
#include <vector>

#include "ops/nn/spatial.h"

namespace hone::nn {
namespace {

Shape default_unpool_shape(const Node& node, const Shape& x) {
  size_t nd = x.size() - 2;
  WindowAttrs wa = read_window_attrs(node, nd, nullptr);
  Shape out = {x[0], x[1]};
  for (size_t i = 0; i < nd; ++i)
    out.push_back((x[2 + i] - 1) * wa.strides[i] + wa.kernel[i] - wa.pads[i] - wa.pads[nd + i]);
  return out;
}

void max_unpool(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  if (x.rank() < 3) fail("{}: input must have rank >= 3, got {}", node.label(), x.rank());
  if (idx.shape() != x.shape())
    fail("{}: indices shape {} differs from input shape {}", node.label(), shape_str(idx.shape()), shape_str(x.shape()));
  if (!is_integer(idx.dtype())) fail("{}: indices must be integers", node.label());
  // Indices address the tensor MaxPool saw (the inferred shape); a larger output_shape holds it in its leading corner.
  Shape inferred = default_unpool_shape(node, x.shape());
  for (int64_t d : inferred)
    if (d < 0) fail("{}: inferred output shape {} is negative", node.label(), shape_str(inferred));
  Shape out = inferred;
  if (ctx.has_input(2)) {
    out = ctx.input(2).to_int64_vector();
    if (out.size() != inferred.size())
      fail("{}: output_shape has {} values for rank {}", node.label(), out.size(), x.rank());
    for (size_t i = 0; i < out.size(); ++i)
      if (out[i] < inferred[i])
        fail("{}: output_shape {} is smaller than the pooled input's shape {}", node.label(), shape_str(out),
             shape_str(inferred));
  }
  Tensor& y = ctx.output(0, x.dtype(), out);
  int64_t n = shape_numel(inferred);
  std::vector<int64_t> out_strides = strides_of(out);
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t j = idx.get_int(i);
    if (j < 0 || j >= n) fail("{}: index {} is out of range for a pooled input of {} elements", node.label(), j, n);
    int64_t dst = 0;
    for (size_t d = inferred.size(); d-- > 0;) {
      dst += (j % inferred[d]) * out_strides[d];
      j /= inferred[d];
    }
    copy_elements(x, i, y, dst, 1);
  }
}

void infer_max_unpool(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  if (ctx.has_input(2)) {
    if (const Tensor* s = ctx.input_value(2)) ctx.set_output_tensor(0, dt, to_sym_shape(s->to_int64_vector()));
    else ctx.set_output_tensor(0, dt, std::nullopt);
    return;
  }
  const SymShape* xs = ctx.input_shape(0);
  if (!xs || xs->size() < 3) {
    ctx.set_output_tensor(0, dt, xs ? std::optional<SymShape>(SymShape(xs->size())) : std::nullopt);
    return;
  }
  size_t nd = xs->size() - 2;
  WindowAttrs wa = read_window_attrs(ctx.node(), nd, nullptr);
  SymShape out = {(*xs)[0], (*xs)[1]};
  for (size_t i = 0; i < nd; ++i) {
    const Dim& d = (*xs)[2 + i];
    out.push_back(d.known() ? Dim((d.value - 1) * wa.strides[i] + wa.kernel[i] - wa.pads[i] - wa.pads[nd + i]) : Dim());
  }
  ctx.set_output_tensor(0, dt, out);
}

}  // namespace

HONE_REGISTER_OP({.name = "MaxUnpool", .since = 9, .infer = infer_max_unpool, .compute = max_unpool});

}  // namespace hone::nn
