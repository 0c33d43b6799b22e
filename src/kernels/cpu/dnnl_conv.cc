#include "kernels/cpu/dnnl_conv.h"

#include <atomic>

#include "ops/nn/spatial.h"

namespace hone::dnnl_cpu {
namespace {

using dnnl::memory;

struct ConvGeometry {
  Shape x, w, y;
  int64_t group = 1;
  memory::dims strides, dilations, pad_l, pad_r;
};

// Reads and validates the node against concrete shapes; nullopt when the fast path does not apply.
std::optional<ConvGeometry> conv_geometry(const KernelQuery& q) {
  if (q.input_types.size() < 2) return std::nullopt;
  std::optional<Shape> x = concrete_f32_shape(q.input_types[0]);
  const Tensor* w = q.input_constants.size() > 1 ? q.input_constants[1] : nullptr;
  if (!x || !w || w->dtype() != DType::Float32 || x->size() < 3 || x->size() > 5 || w->shape().size() != x->size())
    return std::nullopt;
  bool has_bias = q.input_types.size() > 2 && q.input_types[2];
  if (has_bias) {
    const Tensor* b = q.input_constants[2];
    if (!b || b->dtype() != DType::Float32 || b->rank() != 1 || b->dim(0) != w->dim(0)) return std::nullopt;
  }
  ConvGeometry g;
  g.x = *x;
  g.w = w->shape();
  g.group = q.node.attr_int("group", 1);
  if (g.group < 1 || g.x[1] != g.w[1] * g.group || g.w[0] % g.group != 0 || shape_numel(g.x) == 0 ||
      shape_numel(g.w) == 0)
    return std::nullopt;
  size_t nd = g.x.size() - 2;
  std::vector<int64_t> wk(g.w.begin() + 2, g.w.end());
  std::vector<int64_t> in(g.x.begin() + 2, g.x.end());
  try {
    nn::WindowAttrs wa = nn::read_window_attrs(q.node, nd, &wk);
    if (wa.kernel != wk) return std::nullopt;
    std::vector<int64_t> pads = nn::resolve_pads(wa, in, q.node);
    std::vector<int64_t> out = nn::window_out_dims(wa, in, pads, /*pool=*/false, q.node);
    g.y = {g.x[0], g.w[0]};
    g.y.insert(g.y.end(), out.begin(), out.end());
    for (size_t i = 0; i < nd; ++i) {
      // Negative pads (allowed by some exporters' SAME resolution) are not something oneDNN takes.
      if (pads[i] < 0 || pads[nd + i] < 0 || out[i] <= 0) return std::nullopt;
      g.strides.push_back(wa.strides[i]);
      g.dilations.push_back(wa.dilations[i] - 1);
      g.pad_l.push_back(pads[i]);
      // oneDNN wants the right pad that makes its output-size formula exact.
      int64_t ek = nn::effective_kernel(wk[i], wa.dilations[i]);
      g.pad_r.push_back((out[i] - 1) * wa.strides[i] + ek - in[i] - pads[i]);
    }
  } catch (const Error&) {
    return std::nullopt;
  }
  return g;
}

memory::desc weights_user_desc(const ConvGeometry& g) {
  memory::dims d = to_dims(g.w);
  if (g.group > 1) {
    d[0] = g.w[0] / g.group;
    d.insert(d.begin(), g.group);
  }
  return plain_desc(d);
}

// Fewer output channels than one AVX-512 vector (and not depthwise): oneDNN's channels-last kernel (brgconv) wastes
// most of each vector; its blocked-layout direct kernel does not, but then the result must be reordered back, which
// costs as much again for few channels. Which wins depends on the shape and the threads (Fashion-MNIST's first conv,
// 1 -> 6 channels 5x5 28x28 batch 64: blocked 0.45 ms against 0.57 on one thread, no better on two), so the kernel
// measures both at plan time.
std::atomic<int> narrow_choice{0};

bool narrow_output(const ConvGeometry& g) { return g.w[0] < 16 && !(g.group > 1 && g.group == g.x[1]); }

// The activation input as the primitive reads it: a single input channel is the same bytes in either layout, and the
// blocked direct kernel for narrow outputs reads it only as N,C,H,W (given `any`, oneDNN picks channels-last).
template <typename Act>
memory::desc src_desc(const ConvGeometry& g, Layout layout, const Act& act, bool blocked_narrow, memory::data_type dt) {
  if (g.x[1] == 1 && (blocked_narrow || layout == Layout::Plain)) return with_type(plain_desc(to_dims(g.x)), dt);
  return act(g.x);
}

dnnl::convolution_forward::primitive_desc conv_pd(const ConvGeometry& g, bool bias, const PostOps& post_ops,
                                                 Layout layout, bool residual = false, bool winograd = false,
                                                 bool blocked_narrow = false,
                                                 memory::data_type dt = memory::data_type::f32) {
  auto any = [dt](const memory::dims& d) { return memory::desc(d, dt, memory::format_tag::any); };
  // Channels-last activations are read and written in place; plain ones let oneDNN pick (and reorder around it).
  // Winograd runs on blocked layouts only: the kernel reorders around it.
  bool blocked = winograd || blocked_narrow;
  auto act = [&](const Shape& s) {
    return layout == Layout::ChannelsLast && !blocked ? with_type(activation_desc(s, layout), dt) : any(to_dims(s));
  };
  memory::desc wd = weights_user_desc(g);
  memory::desc bd = bias ? memory::desc({g.w[0]}, memory::data_type::f32, memory::format_tag::a) : memory::desc();
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference,
                                    winograd ? dnnl::algorithm::convolution_winograd : dnnl::algorithm::convolution_direct,
                                    src_desc(g, layout, act, blocked_narrow, dt), any(wd.dims()), bd, act(g.y), g.strides, g.dilations,
                                    g.pad_l, g.pad_r);
  memory::desc res = activation_desc(g.y, layout);
  return dnnl::convolution_forward::primitive_desc(d, make_attr(post_ops, 1.f, residual ? &res : nullptr), cpu_engine());
}

bool has_residual(const KernelQuery& q) { return q.input_types.size() > 3 && q.input_types[3]; }

// Winograd F(2x2 or 4x4, 3x3) does 2-3x fewer multiplications than a direct 3x3 convolution. oneDNN 2.6 has it for
// 2-D, stride 1, undilated, ungrouped 3x3 convolutions on blocked layouts. Measured on one core against the direct
// (brgconv, channels-last) kernel, ResNet-50's 3x3 convolutions: 64 ch 56x56 1.98 -> 1.02 ms, 128 ch 28x28
// 1.90 -> 0.60, 256 ch 14x14 1.95 -> 0.93, 512 ch 7x7 1.76 -> 1.22 (benchmarks/microbench.cc has the same shapes).
// Its transforms cost more than they save on few channels, and it changes rounding (within 1e-5 relative on these
// shapes): used from 32 input and output channels and a 4x4 output up.
bool winograd_candidate(const ConvGeometry& g) {
  return g.x.size() == 4 && g.group == 1 && g.w[2] == 3 && g.w[3] == 3 && g.strides == memory::dims{1, 1} &&
         g.dilations == memory::dims{0, 0} && g.x[1] >= 32 && g.w[0] >= 32 && g.y[2] >= 4 && g.y[3] >= 4;
}

}  // namespace

void force_narrow_conv_choice(int choice) { narrow_choice.store(choice); }

bool conv_supported(const KernelQuery& q, memory::data_type compute) {
  std::optional<ConvGeometry> g = conv_geometry(q);
  if (!g) return false;
  bool residual = has_residual(q);
  if (residual) {  // a float32 tensor of the output's shape, computed at run time
    std::optional<Shape> z = concrete_f32_shape(q.input_types[3]);
    if (!z || *z != g->y || q.input_constants[3]) return false;
  }
  try {
    PostOps po = q.node.domain == "hone" ? fused_post_ops(q.node) : PostOps{};
    if ((residual_index(po) >= 0) != residual) return false;
    conv_pd(*g, q.input_types.size() > 2 && q.input_types[2], po, q.layout, residual, false, false, compute);
    return true;
  } catch (const dnnl::error&) {
    return false;
  } catch (const Error&) {
    return false;
  }
}

DnnlConvKernel::DnnlConvKernel(const KernelQuery& q, PostOps post_ops, memory::data_type compute)
    : DnnlWeightedKernel(std::move(post_ops)), compute_(compute) {
  std::optional<ConvGeometry> g = conv_geometry(q);
  if (!g) fail("{}: not supported by the oneDNN conv kernel", q.node.label());
  if (q.node.domain == "hone") {
    PostOps fused = fused_post_ops(q.node);
    post_ops_.insert(post_ops_.begin(), fused.begin(), fused.end());
  }
  bool residual = residual_index(post_ops_) >= 0;
  bool bias = q.input_types.size() > 2 && q.input_types[2];
  double flops = 2.0 * static_cast<double>(shape_numel(g->y)) * static_cast<double>(shape_numel(g->w) / g->w[0]);
  threads_ = threads_for_work(flops, q.threads);
  ScopedOmpThreads team(threads_);
  std::optional<dnnl::convolution_forward::primitive_desc> wino;
  if (compute == memory::data_type::f32 && winograd_candidate(*g)) {
    try {
      wino = conv_pd(*g, bias, post_ops_, q.layout, residual, true);
    } catch (const dnnl::error&) {  // e.g. a residual post-op it does not take: the direct kernel
    }
  }
  winograd_ = wino.has_value();
  auto build = [&](const dnnl::convolution_forward::primitive_desc& pd) {
    prim_ = PreparedPrimitive();
    prim_.init(pd, dnnl::convolution_forward(pd));
    // A single-channel input is the same bytes in either layout: bound as N,C,H,W, it needs no reorder.
    memory::desc plain_src = plain_desc(to_dims(g->x));
    bool plain_ok = g->x[1] == 1 && pd.src_desc() == plain_src;
    bind_constants_and_io(q, g->x, g->y, weights_user_desc(*g), pd.weights_desc(), bias ? g->w[0] : 0, pd.src_desc(),
                          pd.dst_desc(), plain_ok ? &plain_src : nullptr);
    if (residual) bind_residual(activation_desc(g->y, q.layout));
  };
  build(wino ? *wino : conv_pd(*g, bias, post_ops_, q.layout, residual, false, false, compute));
  if (!wino && q.layout == Layout::ChannelsLast && narrow_output(*g)) {
    std::optional<dnnl::convolution_forward::primitive_desc> blocked;
    try {
      blocked = conv_pd(*g, bias, post_ops_, q.layout, residual, false, true, compute);
    } catch (const dnnl::error&) {
    }
    int forced = narrow_choice.load();
    if (blocked && blocked->impl_info_str() != prim_.impl() && forced != 1) {
      PreparedPrimitive direct = std::move(prim_);
      build(*blocked);
      bool keep_blocked = forced == 2;
      if (forced == 0) {
        // Alternating rounds, the fastest run of each: one noisy moment does not decide.
        double blocked_ms = 1e300, direct_ms = 1e300;
        for (int round = 0; round < 4; ++round) {
          blocked_ms = std::min(blocked_ms, time_execution(3));
          std::swap(prim_, direct);
          direct_ms = std::min(direct_ms, time_execution(3));
          std::swap(prim_, direct);
        }
        keep_blocked = blocked_ms < direct_ms;
      }
      if (!keep_blocked) prim_ = std::move(direct);
    }
  }
}

DnnlConvKernel::~DnnlConvKernel() = default;

namespace {
// The same kernel for a model's Conv and for the runtime's fused hone.FusedConv.
KernelFactory conv_factory(std::string domain, std::string op) {
  return {.domain = std::move(domain),
          .op = std::move(op),
          .name = "dnnl-conv-f32",
          .priority = 10,
          .applies = [](const KernelQuery& q) { return conv_supported(q); },
          .create = [](const KernelQuery& q) -> std::unique_ptr<Kernel> { return std::make_unique<DnnlConvKernel>(q); },
          .channels_last = [](const KernelQuery& q) { return q.input_types[0]->shape->size() == 4 && conv_supported(q); },
          .prefers_channels_last = true};
}
const KernelRegistrar kConvKernel{conv_factory("", "Conv")};
const KernelRegistrar kFusedConvKernel{conv_factory("hone", "FusedConv")};
}  // namespace

}  // namespace hone::dnnl_cpu
