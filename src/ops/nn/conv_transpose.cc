// ConvTranspose: the gradient of Conv with respect to its input, as GEMM (W^T x X per image and group) followed by
// col2im scatter-add into the output. Output size comes from output_shape (pads then derived), auto_pad SAME
// (output = input * stride), or explicit pads and output_padding.
#include <vector>

#include "ops/nn/float_staging.h"
#include "ops/nn/gemm_loop.h"
#include "ops/nn/im2col.h"
#include "ops/nn/spatial.h"

namespace hone::nn {
namespace {

inline int64_t floor_div2(int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }

struct ConvTransposeGeometry {
  std::vector<int64_t> out, pads;  // spatial output dims; begin pads (ends implied)
};

// Output dims and begin pads from the input spatial dims (entries of -1 are unknown; their outputs stay -1).
ConvTransposeGeometry conv_transpose_geometry(const Node& node, const WindowAttrs& wa, const std::vector<int64_t>& in) {
  size_t nd = in.size();
  std::vector<int64_t> out_pad = node.attr_ints("output_padding", std::vector<int64_t>(nd, 0));
  if (out_pad.empty()) out_pad.assign(nd, 0);
  if (out_pad.size() != nd) fail("{}: output_padding has {} values for {} spatial dims", node.label(), out_pad.size(), nd);
  for (int64_t p : out_pad)
    if (p < 0) fail("{}: output_padding must be non-negative", node.label());
  std::vector<int64_t> out_shape = node.attr_ints("output_shape");
  if (out_shape.size() == nd + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
  if (!out_shape.empty() && out_shape.size() != nd)
    fail("{}: output_shape has {} values for {} spatial dims", node.label(), out_shape.size(), nd);
  bool same = wa.auto_pad == "SAME_UPPER" || wa.auto_pad == "SAME_LOWER";
  bool derive_pads = same || (!out_shape.empty() && !node.has_attr("pads"));
  ConvTransposeGeometry g;
  g.out.assign(nd, -1);
  g.pads.assign(nd, 0);
  for (size_t i = 0; i < nd; ++i) {
    int64_t ek = effective_kernel(wa.kernel[i], wa.dilations[i]);
    if (!out_shape.empty()) g.out[i] = out_shape[i];
    else if (in[i] >= 0 && same) g.out[i] = in[i] * wa.strides[i];
    if (derive_pads) {
      if (in[i] < 0) continue;
      int64_t total = wa.strides[i] * (in[i] - 1) + out_pad[i] + ek - g.out[i];
      g.pads[i] = wa.auto_pad == "SAME_UPPER" ? floor_div2(total) : total - floor_div2(total);
    } else {
      g.pads[i] = wa.auto_pad == "VALID" ? 0 : wa.pads[i];
      int64_t pad_end = wa.auto_pad == "VALID" ? 0 : wa.pads[nd + i];
      if (out_shape.empty() && in[i] >= 0) g.out[i] = wa.strides[i] * (in[i] - 1) + out_pad[i] + ek - g.pads[i] - pad_end;
    }
    if (g.out[i] < -1 || (g.out[i] < 0 && in[i] >= 0))
      fail("{}: output size along spatial dim {} would be negative", node.label(), i);
  }
  return g;
}

template <typename T>
void conv_transpose_compute(int64_t batch, int64_t channels, int64_t out_channels, int64_t group, const Geom3& g,
                            const T* x, const T* w, const T* bias, T* y) {
  int64_t cg = channels / group, ocg = out_channels / group;
  int64_t kcols = ocg * g.k_size();  // rows of the column matrix per group
  int64_t insz = g.out_size();       // input positions (the "window positions" of the equivalent Conv)
  int64_t outsz = g.in_size();
  std::vector<T> col(static_cast<size_t>(kcols * insz));
  for (int64_t n = 0; n < batch; ++n) {
    T* yn = y + n * out_channels * outsz;
    std::fill(yn, yn + out_channels * outsz, T(0));
    for (int64_t gi = 0; gi < group; ++gi) {
      const T* xg = x + (n * channels + gi * cg) * insz;
      const T* wg = w + gi * cg * kcols;  // [cg, ocg * K] row-major; used transposed
      gemm_loop<T>(kcols, insz, cg, wg, 1, kcols, xg, insz, 1, col.data(), insz, false);
      col2im_add(col.data(), ocg, g, yn + gi * ocg * outsz);
    }
    if (bias)
      for (int64_t oc = 0; oc < out_channels; ++oc)
        for (int64_t i = 0; i < outsz; ++i) yn[oc * outsz + i] += bias[oc];
  }
}

void conv_transpose(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor* b = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  if (w.dtype() != x.dtype() || (b && b->dtype() != x.dtype())) fail("{}: inputs have different element types", node.label());
  if (x.rank() < 3 || x.rank() > 5) fail("{}: input rank {} is not supported (3 to 5)", node.label(), x.rank());
  if (w.rank() != x.rank()) fail("{}: weight rank {} does not match input rank {}", node.label(), w.rank(), x.rank());
  size_t nd = static_cast<size_t>(x.rank() - 2);
  int64_t group = node.attr_int("group", 1);
  if (group < 1) fail("{}: group must be positive, got {}", node.label(), group);
  if (w.dim(0) != x.dim(1))
    fail("{}: input has {} channels but weight dim 0 is {}", node.label(), x.dim(1), w.dim(0));
  if (x.dim(1) % group != 0) fail("{}: {} input channels do not divide into {} groups", node.label(), x.dim(1), group);
  int64_t out_channels = w.dim(1) * group;
  if (b && (b->rank() != 1 || b->dim(0) != out_channels))
    fail("{}: bias shape {} does not match {} output channels", node.label(), shape_str(b->shape()), out_channels);
  std::vector<int64_t> wk(w.shape().begin() + 2, w.shape().end());
  WindowAttrs wa = read_window_attrs(node, nd, &wk);
  if (wa.kernel != wk) fail("{}: kernel_shape does not match the weight's spatial dims", node.label());
  std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
  ConvTransposeGeometry geo = conv_transpose_geometry(node, wa, in);
  // The scatter is a Conv read backwards: "image" = this op's output, "window positions" = this op's input.
  std::vector<int64_t> begin_pads = geo.pads;
  begin_pads.resize(2 * nd, 0);
  Geom3 g = make_geom3(geo.out, in, wa.kernel, wa.strides, wa.dilations, begin_pads);
  Shape out_shape = {x.dim(0), out_channels};
  out_shape.insert(out_shape.end(), geo.out.begin(), geo.out.end());
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), out_shape);
  if (y.numel() == 0) return;
  switch (x.dtype()) {
    case DType::Float32:
      conv_transpose_compute<float>(x.dim(0), x.dim(1), out_channels, group, g, x.data<float>(), w.data<float>(),
                                    b ? b->data<float>() : nullptr, y.data<float>());
      break;
    case DType::Float64:
      conv_transpose_compute<double>(x.dim(0), x.dim(1), out_channels, group, g, x.data<double>(), w.data<double>(),
                                     b ? b->data<double>() : nullptr, y.data<double>());
      break;
    case DType::Float16:
    case DType::BFloat16: {
      std::vector<float> xf = widen_to_float(x), wf = widen_to_float(w), bf, yf(static_cast<size_t>(y.numel()));
      if (b) bf = widen_to_float(*b);
      conv_transpose_compute<float>(x.dim(0), x.dim(1), out_channels, group, g, xf.data(), wf.data(),
                                    b ? bf.data() : nullptr, yf.data());
      narrow_from_float(yf, y);
      break;
    }
    default: fail("{}: element type {} is not supported", node.label(), dtype_name(x.dtype()));
  }
}

void infer_conv_transpose(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const SymShape* xs = ctx.input_shape(0);
  const SymShape* ws = ctx.input_shape(1);
  if (!xs || xs->size() < 3 || !ws || ws->size() != xs->size()) {
    ctx.set_output_tensor(0, dt, xs ? std::optional<SymShape>(SymShape(xs->size())) : std::nullopt);
    return;
  }
  size_t nd = xs->size() - 2;
  SymShape out(xs->size());
  out[0] = (*xs)[0];
  int64_t group = ctx.node().attr_int("group", 1);
  if ((*ws)[1].known()) out[1] = Dim((*ws)[1].value * group);
  std::vector<int64_t> wk(nd), in(nd);
  bool wk_known = true;
  for (size_t i = 0; i < nd; ++i) {
    wk[i] = (*ws)[2 + i].value;
    if (!(*ws)[2 + i].known()) wk_known = false;
    in[i] = (*xs)[2 + i].known() ? (*xs)[2 + i].value : -1;
  }
  if (ctx.node().has_attr("kernel_shape") || wk_known) {
    WindowAttrs wa = read_window_attrs(ctx.node(), nd, &wk);
    ConvTransposeGeometry geo = conv_transpose_geometry(ctx.node(), wa, in);
    for (size_t i = 0; i < nd; ++i)
      if (geo.out[i] >= 0) out[2 + i] = Dim(geo.out[i]);
  }
  ctx.set_output_tensor(0, dt, out);
}

}  // namespace

HONE_REGISTER_OP({.name = "ConvTranspose", .since = 1, .infer = infer_conv_transpose, .compute = conv_transpose});

}  // namespace hone::nn
