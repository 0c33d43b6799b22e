// Conv: N-d (1-3 spatial dims) grouped convolution as im2col + GEMM per (image, group); 1x1 unit-stride unpadded
// kernels multiply the image directly. float, double; float16/bfloat16 compute in float.
#include <vector>

#include "ops/nn/float_staging.h"
#include "ops/nn/gemm_loop.h"
#include "ops/nn/im2col.h"
#include "ops/nn/spatial.h"

namespace hone::nn {
namespace {

struct ConvSetup {
  int64_t batch = 0, channels = 0, out_channels = 0, group = 1;
  Geom3 geom;
  Shape out_shape;
};

ConvSetup conv_setup(const OpContext& ctx, const Tensor& x, const Tensor& w) {
  const Node& node = ctx.node();
  if (x.rank() < 3 || x.rank() > 5) fail("{}: input rank {} is not supported (3 to 5)", node.label(), x.rank());
  if (w.rank() != x.rank())
    fail("{}: weight rank {} does not match input rank {}", node.label(), w.rank(), x.rank());
  size_t nd = static_cast<size_t>(x.rank() - 2);
  ConvSetup s;
  s.batch = x.dim(0);
  s.channels = x.dim(1);
  s.out_channels = w.dim(0);
  s.group = node.attr_int("group", 1);
  if (s.group < 1) fail("{}: group must be positive, got {}", node.label(), s.group);
  if (s.channels != w.dim(1) * s.group)
    fail("{}: input has {} channels but weight expects {} x group {}", node.label(), s.channels, w.dim(1), s.group);
  if (s.out_channels % s.group != 0)
    fail("{}: {} output channels do not divide into {} groups", node.label(), s.out_channels, s.group);
  std::vector<int64_t> wk(w.shape().begin() + 2, w.shape().end());
  WindowAttrs wa = read_window_attrs(node, nd, &wk);
  if (wa.kernel != wk) fail("{}: kernel_shape does not match the weight's spatial dims", node.label());
  std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
  std::vector<int64_t> pads = resolve_pads(wa, in, node);
  std::vector<int64_t> out = window_out_dims(wa, in, pads, /*pool=*/false, node);
  s.geom = make_geom3(in, out, wa.kernel, wa.strides, wa.dilations, pads);
  s.out_shape = {s.batch, s.out_channels};
  s.out_shape.insert(s.out_shape.end(), out.begin(), out.end());
  return s;
}

template <typename T>
void conv_compute(const ConvSetup& s, const T* x, const T* w, const T* bias, T* y) {
  const Geom3& g = s.geom;
  int64_t cg = s.channels / s.group, ocg = s.out_channels / s.group;
  int64_t kdim = cg * g.k_size(), osz = g.out_size();
  bool pointwise = g.is_pointwise();
  std::vector<T> col(pointwise ? 0 : static_cast<size_t>(kdim * osz));
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t gi = 0; gi < s.group; ++gi) {
      const T* img = x + (n * s.channels + gi * cg) * g.in_size();
      const T* cols = img;
      if (!pointwise) {
        im2col(img, cg, g, col.data());
        cols = col.data();
      }
      T* out = y + (n * s.out_channels + gi * ocg) * osz;
      gemm_loop<T>(ocg, osz, kdim, w + gi * ocg * kdim, kdim, 1, cols, osz, 1, out, osz, false);
    }
    if (bias)
      for (int64_t oc = 0; oc < s.out_channels; ++oc) {
        T* out = y + (n * s.out_channels + oc) * osz;
        for (int64_t i = 0; i < osz; ++i) out[i] += bias[oc];
      }
  }
}

void conv(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor* b = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  if (w.dtype() != x.dtype() || (b && b->dtype() != x.dtype()))
    fail("{}: inputs have different element types", ctx.node().label());
  ConvSetup s = conv_setup(ctx, x, w);
  if (b && (b->rank() != 1 || b->dim(0) != s.out_channels))
    fail("{}: bias shape {} does not match {} output channels", ctx.node().label(), shape_str(b->shape()),
         s.out_channels);
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), s.out_shape);
  if (y.numel() == 0) return;
  switch (x.dtype()) {
    case DType::Float32:
      conv_compute<float>(s, x.data<float>(), w.data<float>(), b ? b->data<float>() : nullptr, y.data<float>());
      break;
    case DType::Float64:
      conv_compute<double>(s, x.data<double>(), w.data<double>(), b ? b->data<double>() : nullptr, y.data<double>());
      break;
    case DType::Float16:
    case DType::BFloat16: {
      std::vector<float> xf = widen_to_float(x), wf = widen_to_float(w), bf, yf(static_cast<size_t>(y.numel()));
      if (b) bf = widen_to_float(*b);
      conv_compute<float>(s, xf.data(), wf.data(), b ? bf.data() : nullptr, yf.data());
      narrow_from_float(yf, y);
      break;
    }
    default: fail("{}: element type {} is not supported", ctx.node().label(), dtype_name(x.dtype()));
  }
}

void infer_conv(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const SymShape* xs = ctx.input_shape(0);
  const SymShape* ws = ctx.input_shape(1);
  if (!xs || xs->size() < 3 || !ws || ws->size() != xs->size()) {
    ctx.set_output_tensor(0, dt, xs ? std::optional<SymShape>(SymShape(xs->size())) : std::nullopt);
    return;
  }
  size_t nd = xs->size() - 2;
  std::vector<int64_t> wk;
  bool wk_known = true;
  for (size_t i = 0; i < nd; ++i) {
    wk.push_back((*ws)[2 + i].value);
    if (!(*ws)[2 + i].known()) wk_known = false;
  }
  if (!ctx.node().has_attr("kernel_shape") && !wk_known) {
    SymShape out(xs->size());
    out[0] = (*xs)[0];
    out[1] = (*ws)[0];
    ctx.set_output_tensor(0, dt, out);
    return;
  }
  WindowAttrs wa = read_window_attrs(ctx.node(), nd, &wk);
  ctx.set_output_tensor(0, dt, infer_window_shape(*xs, (*ws)[0], wa, /*pool=*/false, ctx.node()));
}

}  // namespace

HONE_REGISTER_OP({.name = "Conv", .since = 1, .infer = infer_conv, .compute = conv});

}  // namespace hone::nn
