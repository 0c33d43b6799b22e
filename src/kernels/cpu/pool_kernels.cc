// Fast float32 pooling and LRN kernels, registered against the ops whose reference kernels they reproduce:
//  - MaxPool (without the Indices output) and AveragePool on oneDNN's pooling_v2_forward, LRN on lrn_forward: the
//    primitive is built once for the concrete shape and reads and writes Hone's tensors in place, channels-first
//    (any rank 3-5) or channels-last (rank 4), with no reorder;
//  - GlobalAveragePool and GlobalMaxPool: channels-first as own vectorized loops over planes (norm_microkernels.h),
//    channels-last on oneDNN's pooling with a whole-plane window (each the faster in its layout).
// Cases oneDNN cannot match exactly (see pool_geometry) stay on the reference kernel.
#include "kernels/cpu/dnnl_common.h"

#include "kernels/cpu/norm_microkernels.h"
#include "ops/nn/spatial.h"

namespace hone::dnnl_cpu {
namespace {

using dnnl::memory;

const OpSchema& reference_schema(const KernelQuery& q) {
  const OpSchema* s = OpRegistry::instance().find(q.node.domain, q.node.op_type, q.opset);
  if (!s || !s->compute) fail("{}: no reference kernel", q.node.label());
  return *s;
}

// The descriptor of an activation as Hone stores it: plain row-major, or N,H,W,C for a channels-last rank-4 tensor.
memory::desc tensor_desc(const Shape& s, Layout layout) {
  if (layout == Layout::ChannelsLast) return memory::desc(to_dims(s), memory::data_type::f32, memory::format_tag::nhwc);
  return plain_desc(to_dims(s));
}

// The concrete float32 input 0 of a node the kernels here could take in `layout`, or nullopt.
std::optional<Shape> activation_shape(const KernelQuery& q, Layout layout, size_t min_rank, size_t max_rank) {
  if (q.input_types.empty()) return std::nullopt;
  std::optional<Shape> x = concrete_f32_shape(q.input_types[0]);
  if (!x || x->size() < min_rank || x->size() > max_rank || shape_numel(*x) == 0) return std::nullopt;
  if (layout == Layout::ChannelsLast && x->size() != 4) return std::nullopt;
  return x;
}

// One binding in, one out: a oneDNN primitive over activations planned for one shape.
class DnnlActivationKernel : public Kernel {
 public:
  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::Float32 || x.shape() != in_shape_) {
      if (layout_ == Layout::Plain) return reference_.compute(ctx);  // not what was planned: it checks and reports
      fail("{}: input is {}[{}] but the channels-last kernel was planned for float[{}]", ctx.node().label(),
           dtype_name(x.dtype()), shape_str(x.shape()), shape_str(in_shape_));
    }
    Tensor& y = ctx.output_uninitialized(0, DType::Float32, out_shape_);
    prim_.bind(src_, x.raw());
    prim_.bind(dst_, y.raw());
    prim_.execute(ctx.threads());
  }
  const std::string& impl() const { return prim_.impl(); }

 protected:
  DnnlActivationKernel(const KernelQuery& q) : layout_(q.layout), reference_(reference_schema(q)) {}
  template <typename PD, typename P>
  void init(const PD& pd, const Shape& in, const Shape& out) {
    prim_.init(pd, P(pd));
    in_shape_ = in;
    out_shape_ = out;
    src_ = prim_.add_input(DNNL_ARG_SRC, tensor_desc(in, layout_), pd.src_desc());
    dst_ = prim_.add_output(DNNL_ARG_DST, tensor_desc(out, layout_), pd.dst_desc());
    if (prim_.reorders() != 0) fail("oneDNN chose a layout other than the tensors' ({})", prim_.impl());
  }

 private:
  Layout layout_;
  const OpSchema& reference_;
  PreparedPrimitive prim_;
  Shape in_shape_, out_shape_;
  int src_ = -1, dst_ = -1;
};

// ---- MaxPool, AveragePool ----

struct PoolGeometry {
  Shape x, y;
  dnnl::algorithm alg;
  memory::dims strides, kernel, dilation, pad_l, pad_r;
};

// Whether every window along a dim has a tap inside the input (oneDNN and the reference disagree on empty windows).
bool every_window_sees_input(int64_t in, int64_t out, int64_t k, int64_t s, int64_t d, int64_t pad_l) {
  for (int64_t o = 0; o < out; ++o) {
    int64_t start = o * s - pad_l;
    int64_t first = start >= 0 ? 0 : (-start + d - 1) / d;  // first tap at or after index 0
    if (first >= k || start + first * d >= in) return false;
  }
  return true;
}

// The oneDNN form of a pooling node, or nullopt. ONNX's output size (ceil_mode included) is given to oneDNN through
// the end pad that makes oneDNN's floor formula produce it; that extra end padding never counts in an average. So:
// max pooling ignores pads either way; count_include_pad = 0 is oneDNN's avg_exclude_padding; count_include_pad = 1
// is avg_include_padding (divisor: the whole kernel) only when no window reaches past ONNX's own end pads, and
// avg_exclude_padding when there are no ONNX pads at all; other mixes have no oneDNN equivalent.
std::optional<PoolGeometry> pool_geometry(const KernelQuery& q, bool average, Layout layout) {
  std::optional<Shape> x = activation_shape(q, layout, 3, 5);
  if (!x) return std::nullopt;
  if (!average && q.node.outputs.size() > 1 && !q.node.outputs[1].empty()) return std::nullopt;  // Indices
  size_t nd = x->size() - 2;
  std::vector<int64_t> in(x->begin() + 2, x->end());
  PoolGeometry g;
  g.x = *x;
  try {
    nn::WindowAttrs wa = nn::read_window_attrs(q.node, nd, nullptr);
    if (!average && q.node.attr_int("storage_order", 0) != 0 && q.node.attr_int("storage_order", 0) != 1)
      return std::nullopt;  // invalid: the reference reports it
    std::vector<int64_t> pads = nn::resolve_pads(wa, in, q.node);
    std::vector<int64_t> out = nn::window_out_dims(wa, in, pads, /*pool=*/true, q.node);
    bool include_pad = average && q.node.attr_int("count_include_pad", 0) != 0;
    bool past_end_pads = false, any_pads = false;
    g.y = {(*x)[0], (*x)[1]};
    for (size_t i = 0; i < nd; ++i) {
      int64_t k = wa.kernel[i], s = wa.strides[i], d = wa.dilations[i], pl = pads[i], pr = pads[nd + i];
      int64_t ek = nn::effective_kernel(k, d);
      if (out[i] <= 0 || pl < 0 || pr < 0 || !every_window_sees_input(in[i], out[i], k, s, d, pl)) return std::nullopt;
      auto dnnl_out = [&](int64_t r) { return in[i] + pl + r < ek ? -1 : (in[i] + pl + r - ek) / s + 1; };
      int64_t r = pr;
      if (dnnl_out(r) != out[i]) {
        r = (out[i] - 1) * s + ek - in[i] - pl;
        if (r < 0 || dnnl_out(r) != out[i]) return std::nullopt;
      }
      past_end_pads = past_end_pads || r > pr;
      any_pads = any_pads || pl > 0 || pr > 0;
      g.y.push_back(out[i]);
      g.kernel.push_back(k);
      g.strides.push_back(s);
      g.dilation.push_back(d - 1);
      g.pad_l.push_back(pl);
      g.pad_r.push_back(r);
    }
    if (!average) g.alg = dnnl::algorithm::pooling_max;
    else if (!include_pad) g.alg = dnnl::algorithm::pooling_avg_exclude_padding;
    else if (!past_end_pads) g.alg = dnnl::algorithm::pooling_avg_include_padding;
    else if (!any_pads) g.alg = dnnl::algorithm::pooling_avg_exclude_padding;
    else return std::nullopt;
  } catch (const Error&) {
    return std::nullopt;  // invalid attributes: the reference reports them
  }
  return g;
}

dnnl::pooling_v2_forward::primitive_desc pool_pd(const PoolGeometry& g, Layout layout) {
  dnnl::pooling_v2_forward::desc d(dnnl::prop_kind::forward_inference, g.alg, tensor_desc(g.x, layout),
                                   tensor_desc(g.y, layout), g.strides, g.kernel, g.dilation, g.pad_l, g.pad_r);
  return dnnl::pooling_v2_forward::primitive_desc(d, make_attr({}), cpu_engine());
}

bool pool_supported(const KernelQuery& q, bool average, Layout layout) {
  std::optional<PoolGeometry> g = pool_geometry(q, average, layout);
  if (!g) return false;
  try {
    pool_pd(*g, layout);
    return true;
  } catch (const dnnl::error&) {
    return false;
  }
}

class DnnlPoolKernel final : public DnnlActivationKernel {
 public:
  DnnlPoolKernel(const KernelQuery& q, const std::optional<PoolGeometry>& g, std::string name)
      : DnnlActivationKernel(q), name_(std::move(name)) {
    if (!g) fail("{}: not supported by the oneDNN pooling kernel", q.node.label());
    init<dnnl::pooling_v2_forward::primitive_desc, dnnl::pooling_v2_forward>(pool_pd(*g, q.layout), g->x, g->y);
  }
  std::string name() const override { return name_; }

 private:
  std::string name_;
};

KernelFactory pool_factory(const char* op, bool average) {
  return KernelFactory{
      .domain = "",
      .op = op,
      .name = average ? "dnnl-avgpool-f32" : "dnnl-maxpool-f32",
      .priority = 10,
      .applies = [average](const KernelQuery& q) { return pool_supported(q, average, Layout::Plain); },
      .create = [average](const KernelQuery& q) -> std::unique_ptr<Kernel> {
        return std::make_unique<DnnlPoolKernel>(q, pool_geometry(q, average, q.layout),
                                                average ? "dnnl-avgpool-f32" : "dnnl-maxpool-f32");
      },
      .channels_last = [average](const KernelQuery& q) { return pool_supported(q, average, Layout::ChannelsLast); },
  };
}

const KernelRegistrar kMaxPoolKernel{pool_factory("MaxPool", false)};
const KernelRegistrar kAveragePoolKernel{pool_factory("AveragePool", true)};

// ---- LRN ----

struct LrnParams {
  Shape x;
  int64_t size;
  float alpha, beta, bias;
};

// oneDNN sums channels [c - (size-1)/2, c + (size-1)/2], ONNX [c - floor((size-1)/2), c + ceil((size-1)/2)]: the same
// window for odd sizes only. Both divide alpha by size, border channels included.
std::optional<LrnParams> lrn_params(const KernelQuery& q, Layout layout) {
  std::optional<Shape> x = activation_shape(q, layout, 2, 5);
  if (!x || !q.node.has_attr("size")) return std::nullopt;
  LrnParams p{*x, q.node.attr_int("size", 0), q.node.attr_float("alpha", 1e-4f), q.node.attr_float("beta", 0.75f),
              q.node.attr_float("bias", 1.0f)};
  if (p.size <= 0 || p.size % 2 == 0) return std::nullopt;
  return p;
}

dnnl::lrn_forward::primitive_desc lrn_pd(const LrnParams& p, Layout layout) {
  dnnl::lrn_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::lrn_across_channels,
                            tensor_desc(p.x, layout), p.size, p.alpha, p.beta, p.bias);
  return dnnl::lrn_forward::primitive_desc(d, make_attr({}), cpu_engine());
}

bool lrn_supported(const KernelQuery& q, Layout layout) {
  std::optional<LrnParams> p = lrn_params(q, layout);
  if (!p) return false;
  try {
    lrn_pd(*p, layout);
    return true;
  } catch (const dnnl::error&) {
    return false;
  }
}

class DnnlLrnKernel final : public DnnlActivationKernel {
 public:
  explicit DnnlLrnKernel(const KernelQuery& q) : DnnlActivationKernel(q) {
    std::optional<LrnParams> p = lrn_params(q, q.layout);
    if (!p) fail("{}: not supported by the oneDNN LRN kernel", q.node.label());
    init<dnnl::lrn_forward::primitive_desc, dnnl::lrn_forward>(lrn_pd(*p, q.layout), p->x, p->x);
  }
  std::string name() const override { return "dnnl-lrn-f32"; }
};

HONE_REGISTER_KERNEL({
    .domain = "",
    .op = "LRN",
    .name = "dnnl-lrn-f32",
    .priority = 10,
    .applies = [](const KernelQuery& q) { return lrn_supported(q, Layout::Plain); },
    .create = [](const KernelQuery& q) -> std::unique_ptr<Kernel> { return std::make_unique<DnnlLrnKernel>(q); },
    .channels_last = [](const KernelQuery& q) { return lrn_supported(q, Layout::ChannelsLast); },
});

// ---- GlobalAveragePool, GlobalMaxPool ----
//
// Channels-first: the own loops reduce many short planes faster than oneDNN, which transposes them first (1x2048x7x7:
// ~12 us against ~22 us). Channels-last: oneDNN's pooling over the whole plane is a little faster than the own loop
// over rows of channels (~4.5 us against ~5.7 us), so that layout runs on oneDNN.

// A window covering the whole plane, no pads.
std::optional<PoolGeometry> global_pool_geometry(const KernelQuery& q, bool average, Layout layout) {
  std::optional<Shape> x = activation_shape(q, layout, 3, 5);
  if (!x) return std::nullopt;
  PoolGeometry g;
  g.x = *x;
  g.y = Shape(x->size(), 1);
  g.y[0] = (*x)[0];
  g.y[1] = (*x)[1];
  g.alg = average ? dnnl::algorithm::pooling_avg_exclude_padding : dnnl::algorithm::pooling_max;
  for (size_t i = 2; i < x->size(); ++i) {
    g.kernel.push_back((*x)[i]);
    g.strides.push_back(1);
    g.dilation.push_back(0);
    g.pad_l.push_back(0);
    g.pad_r.push_back(0);
  }
  return g;
}

bool global_pool_channels_last(const KernelQuery& q, bool average) {
  std::optional<PoolGeometry> g = global_pool_geometry(q, average, Layout::ChannelsLast);
  if (!g) return false;
  try {
    pool_pd(*g, Layout::ChannelsLast);
    return true;
  } catch (const dnnl::error&) {
    return false;
  }
}

// Below this many input elements per thread, waking threads costs more than it saves.
constexpr int64_t kMinElementsPerThread = 64 * 1024;

// The own loops, channels-first: each plane reduced on its own, planes split over threads.
class GlobalPoolKernel final : public Kernel {
 public:
  GlobalPoolKernel(const KernelQuery& q, bool average)
      : mk_(cpu::norm_for(active_isa())), average_(average), reference_(reference_schema(q)) {
    std::optional<Shape> x = activation_shape(q, Layout::Plain, 3, 64);
    if (!x || q.layout != Layout::Plain) fail("{}: not supported by the f32 global pooling kernel", q.node.label());
    in_shape_ = *x;
    out_shape_ = Shape(x->size(), 1);
    out_shape_[0] = in_shape_[0];
    out_shape_[1] = in_shape_[1];
    pixels_ = shape_numel(in_shape_) / (in_shape_[0] * in_shape_[1]);
  }

  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::Float32 || x.shape() != in_shape_) return reference_.compute(ctx);
    Tensor& y = ctx.output_uninitialized(0, DType::Float32, out_shape_);
    const float* px = x.data<float>();
    float* py = y.data<float>();
    int64_t hw = pixels_;
    cpu::PlanesFn fn = average_ ? mk_.plane_means : mk_.plane_maxima;
    cpu::parallel_pieces(in_shape_[0] * in_shape_[1], std::max<int64_t>(1, kMinElementsPerThread / hw), 1,
                         ctx.threads(), [&](int64_t b, int64_t e) { fn(px + b * hw, e - b, hw, py + b); });
  }
  std::string name() const override {
    return std::string(average_ ? "f32_global_avgpool_" : "f32_global_maxpool_") + mk_.isa;
  }

 private:
  const cpu::NormMicrokernels& mk_;
  bool average_;
  const OpSchema& reference_;
  Shape in_shape_, out_shape_;
  int64_t pixels_ = 1;
};

KernelFactory global_pool_factory(const char* op, bool average) {
  return KernelFactory{
      .domain = "",
      .op = op,
      .name = average ? "f32_global_avgpool" : "f32_global_maxpool",
      .priority = 10,
      .applies = [](const KernelQuery& q) { return activation_shape(q, Layout::Plain, 3, 64).has_value(); },
      .create = [average](const KernelQuery& q) -> std::unique_ptr<Kernel> {
        if (q.layout == Layout::ChannelsLast)
          return std::make_unique<DnnlPoolKernel>(q, global_pool_geometry(q, average, q.layout),
                                                  average ? "dnnl-global-avgpool-f32" : "dnnl-global-maxpool-f32");
        return std::make_unique<GlobalPoolKernel>(q, average);
      },
      .channels_last = [average](const KernelQuery& q) { return global_pool_channels_last(q, average); },
  };
}

const KernelRegistrar kGlobalAveragePoolKernel{global_pool_factory("GlobalAveragePool", true)};
const KernelRegistrar kGlobalMaxPoolKernel{global_pool_factory("GlobalMaxPool", false)};

}  // namespace
}  // namespace hone::dnnl_cpu
