// DeformConv (opset 19): 2-D convolution whose taps are shifted by learned per-position offsets (bilinear sampling,
// zero outside the image) and optionally scaled by a mask; built as a sampled column matrix + GEMM per group.
#include <cmath>
#include <vector>

#include "ops/nn/float_staging.h"
#include "ops/nn/gemm_loop.h"
#include "ops/nn/spatial.h"

namespace hone::nn {
namespace {

struct DeformSetup {
  int64_t n = 0, c = 0, h = 0, w = 0, oc = 0, group = 1, offset_group = 1;
  int64_t kh = 0, kw = 0, oh = 0, ow = 0;
  WindowAttrs wa;
};

// Bilinear sample of a H x W plane at (y, x); corners outside the plane contribute 0.
template <typename T>
T bilinear(const T* plane, int64_t h, int64_t w, T y, T x) {
  T fy = std::floor(y), fx = std::floor(x);
  int64_t y0 = static_cast<int64_t>(fy), x0 = static_cast<int64_t>(fx);
  T dy = y - fy, dx = x - fx;
  T v = 0;
  auto at = [&](int64_t yy, int64_t xx) { return (yy >= 0 && yy < h && xx >= 0 && xx < w) ? plane[yy * w + xx] : T(0); };
  v += at(y0, x0) * (1 - dy) * (1 - dx);
  v += at(y0, x0 + 1) * (1 - dy) * dx;
  v += at(y0 + 1, x0) * dy * (1 - dx);
  v += at(y0 + 1, x0 + 1) * dy * dx;
  return v;
}

template <typename T>
void deform_conv_compute(const DeformSetup& s, const T* x, const T* wt, const T* off, const T* bias, const T* mask,
                         T* y) {
  int64_t k = s.kh * s.kw, osz = s.oh * s.ow;
  int64_t cg = s.c / s.group, ocg = s.oc / s.group, c_per_og = s.c / s.offset_group;
  const WindowAttrs& wa = s.wa;
  std::vector<T> col(static_cast<size_t>(s.c * k * osz));
  for (int64_t n = 0; n < s.n; ++n) {
    for (int64_t ci = 0; ci < s.c; ++ci) {
      int64_t og = ci / c_per_og;
      const T* plane = x + (n * s.c + ci) * s.h * s.w;
      for (int64_t i = 0; i < s.kh; ++i)
        for (int64_t j = 0; j < s.kw; ++j) {
          int64_t kidx = i * s.kw + j;
          const T* off_y = off + ((n * s.offset_group + og) * k * 2 + kidx * 2) * osz;
          const T* off_x = off_y + osz;
          const T* m = mask ? mask + ((n * s.offset_group + og) * k + kidx) * osz : nullptr;
          T* dst = col.data() + (ci * k + kidx) * osz;
          for (int64_t oy = 0; oy < s.oh; ++oy)
            for (int64_t ox = 0; ox < s.ow; ++ox) {
              int64_t p = oy * s.ow + ox;
              T py = static_cast<T>(oy * wa.strides[0] - wa.pads[0] + i * wa.dilations[0]) + off_y[p];
              T px = static_cast<T>(ox * wa.strides[1] - wa.pads[1] + j * wa.dilations[1]) + off_x[p];
              T v = bilinear(plane, s.h, s.w, py, px);
              dst[p] = m ? v * m[p] : v;
            }
        }
    }
    for (int64_t g = 0; g < s.group; ++g)
      gemm_loop<T>(ocg, osz, cg * k, wt + g * ocg * cg * k, cg * k, 1, col.data() + g * cg * k * osz, osz, 1,
                   y + (n * s.oc + g * ocg) * osz, osz, false);
    if (bias)
      for (int64_t o = 0; o < s.oc; ++o)
        for (int64_t p = 0; p < osz; ++p) y[(n * s.oc + o) * osz + p] += bias[o];
  }
}

void deform_conv(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor& off = ctx.input(2);
  const Tensor* b = ctx.has_input(3) ? &ctx.input(3) : nullptr;
  const Tensor* mask = ctx.has_input(4) ? &ctx.input(4) : nullptr;
  if (x.rank() != 4) fail("{}: only 2-D deformable convolution (rank-4 input) is supported, got rank {}", node.label(), x.rank());
  for (const Tensor* t : {&w, &off, b, mask})
    if (t && t->dtype() != x.dtype()) fail("{}: inputs have different element types", node.label());
  if (w.rank() != 4) fail("{}: weight must have rank 4, got {}", node.label(), w.rank());
  DeformSetup s;
  s.n = x.dim(0), s.c = x.dim(1), s.h = x.dim(2), s.w = x.dim(3), s.oc = w.dim(0);
  s.group = node.attr_int("group", 1);
  s.offset_group = node.attr_int("offset_group", 1);
  if (s.group < 1 || s.offset_group < 1) fail("{}: group and offset_group must be positive", node.label());
  if (s.c != w.dim(1) * s.group || s.oc % s.group != 0)
    fail("{}: channels {} / weight {} / group {} are inconsistent", node.label(), s.c, shape_str(w.shape()), s.group);
  if (s.c % s.offset_group != 0)
    fail("{}: {} channels do not divide into {} offset groups", node.label(), s.c, s.offset_group);
  std::vector<int64_t> wk = {w.dim(2), w.dim(3)};
  s.wa = read_window_attrs(node, 2, &wk);
  if (s.wa.kernel != wk) fail("{}: kernel_shape does not match the weight's spatial dims", node.label());
  s.kh = wk[0], s.kw = wk[1];
  s.oh = conv_out_dim(s.h, s.wa.pads[0], s.wa.pads[2], s.kh, s.wa.strides[0], s.wa.dilations[0], node);
  s.ow = conv_out_dim(s.w, s.wa.pads[1], s.wa.pads[3], s.kw, s.wa.strides[1], s.wa.dilations[1], node);
  Shape want_off = {s.n, s.offset_group * 2 * s.kh * s.kw, s.oh, s.ow};
  if (off.shape() != want_off)
    fail("{}: offset shape {} should be {}", node.label(), shape_str(off.shape()), shape_str(want_off));
  Shape want_mask = {s.n, s.offset_group * s.kh * s.kw, s.oh, s.ow};
  if (mask && mask->shape() != want_mask)
    fail("{}: mask shape {} should be {}", node.label(), shape_str(mask->shape()), shape_str(want_mask));
  if (b && (b->rank() != 1 || b->dim(0) != s.oc))
    fail("{}: bias shape {} does not match {} output channels", node.label(), shape_str(b->shape()), s.oc);
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), {s.n, s.oc, s.oh, s.ow});
  if (y.numel() == 0) return;
  switch (x.dtype()) {
    case DType::Float32:
      deform_conv_compute<float>(s, x.data<float>(), w.data<float>(), off.data<float>(), b ? b->data<float>() : nullptr,
                                 mask ? mask->data<float>() : nullptr, y.data<float>());
      break;
    case DType::Float64:
      deform_conv_compute<double>(s, x.data<double>(), w.data<double>(), off.data<double>(),
                                  b ? b->data<double>() : nullptr, mask ? mask->data<double>() : nullptr,
                                  y.data<double>());
      break;
    case DType::Float16:
    case DType::BFloat16: {
      std::vector<float> xf = widen_to_float(x), wf = widen_to_float(w), of = widen_to_float(off), bf, mf;
      if (b) bf = widen_to_float(*b);
      if (mask) mf = widen_to_float(*mask);
      std::vector<float> yf(static_cast<size_t>(y.numel()));
      deform_conv_compute<float>(s, xf.data(), wf.data(), of.data(), b ? bf.data() : nullptr,
                                 mask ? mf.data() : nullptr, yf.data());
      narrow_from_float(yf, y);
      break;
    }
    default: fail("{}: element type {} is not supported", node.label(), dtype_name(x.dtype()));
  }
}

void infer_deform_conv(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const SymShape* xs = ctx.input_shape(0);
  const SymShape* ws = ctx.input_shape(1);
  const SymShape* os = ctx.input_shape(2);
  SymShape out(4);
  if (xs && xs->size() == 4) out[0] = (*xs)[0];
  if (ws && ws->size() == 4) out[1] = (*ws)[0];
  if (os && os->size() == 4) {  // the offsets carry the output's spatial dims
    out[2] = (*os)[2];
    out[3] = (*os)[3];
  }
  ctx.set_output_tensor(0, dt, out);
}

}  // namespace

HONE_REGISTER_OP({.name = "DeformConv", .since = 19, .infer = infer_deform_conv, .compute = deform_conv});

}  // namespace hone::nn
