#include "kernels/cpu/dnnl_conv_transpose.h"

#include "kernels/cpu/kernel_helpers.h"
#include "ops/nn/spatial.h"

namespace hone::dnnl_cpu {
namespace {

using dnnl::memory;

struct DeconvGeometry {
  Shape x, w, y;
  int64_t group = 1;
  memory::dims strides, dilations, pad_l, pad_r;
};

std::optional<DeconvGeometry> deconv_geometry(const KernelQuery& q) {
  if (q.input_types.size() < 2) return std::nullopt;
  std::optional<Shape> x = concrete_f32_shape(q.input_types[0]);
  const Tensor* w = q.input_constants.size() > 1 ? q.input_constants[1] : nullptr;
  if (!x || !w || w->dtype() != DType::Float32 || x->size() < 3 || x->size() > 5 || w->shape().size() != x->size())
    return std::nullopt;
  DeconvGeometry g;
  g.x = *x;
  g.w = w->shape();
  g.group = q.node.attr_int("group", 1);
  if (g.group < 1 || g.x[1] != g.w[0] || g.x[1] % g.group != 0 || shape_numel(g.x) == 0 || shape_numel(g.w) == 0)
    return std::nullopt;
  int64_t out_channels = g.w[1] * g.group;
  if (q.input_types.size() > 2 && q.input_types[2]) {
    const Tensor* b = q.input_constants[2];
    if (!b || b->dtype() != DType::Float32 || b->rank() != 1 || b->dim(0) != out_channels) return std::nullopt;
  }
  // output_shape and SAME padding derive the pads from the output size: not handled here yet.
  if (q.node.has_attr("output_shape")) return std::nullopt;
  size_t nd = g.x.size() - 2;
  std::vector<int64_t> wk(g.w.begin() + 2, g.w.end());
  try {
    nn::WindowAttrs wa = nn::read_window_attrs(q.node, nd, &wk);
    if (wa.kernel != wk || (wa.auto_pad != "NOTSET" && wa.auto_pad != "VALID")) return std::nullopt;
    std::vector<int64_t> out_pad = q.node.attr_ints("output_padding", std::vector<int64_t>(nd, 0));
    if (out_pad.empty()) out_pad.assign(nd, 0);
    if (out_pad.size() != nd) return std::nullopt;
    g.y = {g.x[0], out_channels};
    for (size_t i = 0; i < nd; ++i) {
      int64_t pb = wa.auto_pad == "VALID" ? 0 : wa.pads[i], pe = wa.auto_pad == "VALID" ? 0 : wa.pads[nd + i];
      int64_t ek = nn::effective_kernel(wk[i], wa.dilations[i]);
      int64_t out = wa.strides[i] * (g.x[2 + i] - 1) + out_pad[i] + ek - pb - pe;
      // output_padding extends the end; oneDNN expresses that as a smaller right pad, which must stay >= 0.
      int64_t pr = pe - out_pad[i];
      if (out <= 0 || pb < 0 || pr < 0 || out_pad[i] < 0) return std::nullopt;
      g.y.push_back(out);
      g.strides.push_back(wa.strides[i]);
      g.dilations.push_back(wa.dilations[i] - 1);
      g.pad_l.push_back(pb);
      g.pad_r.push_back(pr);
    }
  } catch (const Error&) {
    return std::nullopt;
  }
  return g;
}

// ONNX stores ConvTranspose weights as [C_in, C_out / group, k...]; oneDNN's dims are [(group,) C_out/g, C_in/g, k...]:
// the same bytes seen through strides.
memory::desc weights_user_desc(const DeconvGeometry& g) {
  int64_t ocg = g.w[1], icg = g.w[0] / g.group, ksize = shape_numel(Shape(g.w.begin() + 2, g.w.end()));
  memory::dims dims = {ocg, icg}, strides = {ksize, ocg * ksize};
  for (size_t i = 2; i < g.w.size(); ++i) {
    dims.push_back(g.w[i]);
    strides.push_back(shape_numel(Shape(g.w.begin() + static_cast<std::ptrdiff_t>(i) + 1, g.w.end())));
  }
  if (g.group > 1) {
    dims.insert(dims.begin(), g.group);
    strides.insert(strides.begin(), icg * ocg * ksize);
  }
  return memory::desc(dims, memory::data_type::f32, strides);
}

dnnl::deconvolution_forward::primitive_desc deconv_pd(const DeconvGeometry& g, bool bias, const PostOps& post_ops,
                                                     Layout layout) {
  auto any = [](const memory::dims& d) { return memory::desc(d, memory::data_type::f32, memory::format_tag::any); };
  // Channels-last activations are read and written in place; plain ones let oneDNN pick (and reorder around it).
  auto act = [&](const Shape& s) { return layout == Layout::ChannelsLast ? activation_desc(s, layout) : any(to_dims(s)); };
  memory::desc wd = weights_user_desc(g);
  memory::desc bd = bias ? memory::desc({g.y[1]}, memory::data_type::f32, memory::format_tag::a) : memory::desc();
  dnnl::deconvolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
                                      act(g.x), any(wd.dims()), bd, act(g.y), g.strides,
                                      g.dilations, g.pad_l, g.pad_r);
  return dnnl::deconvolution_forward::primitive_desc(d, make_attr(post_ops), cpu_engine());
}

bool has_bias(const KernelQuery& q) { return q.input_types.size() > 2 && q.input_types[2]; }

}  // namespace

bool conv_transpose_supported(const KernelQuery& q) {
  std::optional<DeconvGeometry> g = deconv_geometry(q);
  if (!g) return false;
  try {
    deconv_pd(*g, has_bias(q), {}, q.layout);
    return true;
  } catch (const dnnl::error&) {
    return false;
  }
}

DnnlConvTransposeKernel::DnnlConvTransposeKernel(const KernelQuery& q, PostOps post_ops)
    : DnnlWeightedKernel(std::move(post_ops)) {
  std::optional<DeconvGeometry> g = deconv_geometry(q);
  if (!g) fail("{}: not supported by the oneDNN ConvTranspose kernel", q.node.label());
  // Each input element meets the Cout/group x kernel weights of its input channel once.
  double flops = 2.0 * static_cast<double>(shape_numel(g->x)) * static_cast<double>(shape_numel(g->w) / g->w[0]);
  threads_ = threads_for_work(flops, q.threads);
  ScopedOmpThreads team(threads_);
  if (has_bias(q) && !post_ops_.empty()) fail("{}: a fused ConvTranspose cannot also have a bias", q.node.label());
  auto pd = deconv_pd(*g, false, post_ops_, q.layout);
  prim_.init(pd, dnnl::deconvolution_forward(pd));
  bind_constants_and_io(q, g->x, g->y, weights_user_desc(*g), pd.weights_desc(), 0, pd.src_desc(), pd.dst_desc());
  if (has_bias(q)) {
    const Tensor& b = *q.input_constants[2];
    bias_.assign(b.data<float>(), b.data<float>() + b.numel());
  }
  out_shape_ = g->y;
  layout_ = q.layout;
  add_threads_ = shape_numel(g->y) >= 256 * 1024 ? q.threads : 1;
}

void DnnlConvTransposeKernel::run(OpContext& ctx) {
  DnnlWeightedKernel::run(ctx);
  if (bias_.empty()) return;
  float* y = ctx.written_output(0).data<float>();
  const float* b = bias_.data();
  const int64_t c = out_shape_[1], inner = shape_numel(out_shape_) / (out_shape_[0] * c);
  if (layout_ == Layout::ChannelsLast) {  // [pixels, C]
    cpu::parallel_chunks(out_shape_[0] * inner, 256, add_threads_, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        float* row = y + p * c;
#pragma omp simd
        for (int64_t k = 0; k < c; ++k) row[k] += b[k];
      }
    }, 1);
  } else {  // [N * C planes of `inner`]
    cpu::parallel_chunks(out_shape_[0] * c, 1, add_threads_, [&](int64_t q0, int64_t q1) {
      for (int64_t q = q0; q < q1; ++q) {
        float* plane = y + q * inner;
        const float v = b[q % c];
#pragma omp simd
        for (int64_t k = 0; k < inner; ++k) plane[k] += v;
      }
    }, 1);
  }
}

DnnlConvTransposeKernel::~DnnlConvTransposeKernel() = default;

HONE_REGISTER_KERNEL({.op = "ConvTranspose",
                      .name = "dnnl-convtranspose-f32",
                      .priority = 10,
                      .applies = conv_transpose_supported,
                      .create = [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
                        return std::make_unique<DnnlConvTransposeKernel>(q);
                      },
                      .channels_last = [](const KernelQuery& q) { return q.input_types[0]->shape->size() == 4 &&
                                                                         conv_transpose_supported(q); },
                      .prefers_channels_last = true});

}  // namespace hone::dnnl_cpu
