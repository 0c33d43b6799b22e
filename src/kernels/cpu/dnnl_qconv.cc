// hone.QConv (ops/hone/quantized.h) on oneDNN's int8 convolution: uint8 / int8 activations (channels-last where the
// planner can keep them so; a source zero point where the activations are asymmetric), int8 weights reordered once
// into the primitive's layout (with the compensation oneDNN keeps for int8 sources), per-channel output scales, and
// the requantization and post-ops of dnnl_int8.h fused into the primitive. On AVX-512 VNNI oneDNN 2.6 picks
// brgconv / jit_int8 kernels at 550-1050 GOP/s on two cores (4-8x its float32 convolutions).
#include <cstring>

#include "kernels/cpu/dnnl_common.h"
#include "kernels/cpu/dnnl_int8.h"
#include "kernels/cpu/kernel_helpers.h"
#include "ops/nn/spatial.h"

namespace hone::dnnl_cpu {
namespace {

using dnnl::memory;

bool is_8bit(DType t) { return t == DType::UInt8 || t == DType::Int8; }

std::optional<Shape> concrete_of(const TypeInfo* t) {
  if (!t || !t->is_tensor() || !t->shape) return std::nullopt;
  return to_concrete(*t->shape);
}

}  // namespace

std::optional<QConvSetup> qconv_setup(const KernelQuery& q) {
  if (q.input_types.size() < 3 || !q.input_types[0] || !is_8bit(q.input_types[0]->elem)) return std::nullopt;
  std::optional<Shape> x = concrete_of(q.input_types[0]);
  const Tensor* w = q.input_constants[1];
  const Tensor* ws = q.input_constants[2];
  if (!x || !w || !ws || w->dtype() != DType::Int8 || x->size() < 3 || x->size() > 5 ||
      static_cast<size_t>(w->rank()) != x->size() || ws->dtype() != DType::Float32)
    return std::nullopt;
  QConvSetup s;
  s.x = *x;
  s.w = w->shape();
  s.x_type = q.input_types[0]->elem;
  s.weights = w;
  int64_t m = s.w[0];
  s.group = q.node.attr_int("group", 1);
  if (s.group < 1 || s.x[1] != s.w[1] * s.group || m % s.group != 0 || shape_numel(s.x) == 0 || shape_numel(s.w) == 0)
    return std::nullopt;
  if (ws->numel() != 1 && !(ws->rank() == 1 && ws->dim(0) == m)) return std::nullopt;
  bool has_bias = q.input_types.size() > 3 && q.input_types[3];
  const Tensor* b = has_bias ? q.input_constants[3] : nullptr;
  if (has_bias && (!b || b->dtype() != DType::Float32 || b->numel() != m)) return std::nullopt;
  try {
    s.xp = quant_params_attr(q.node, "x");
    s.out = quantized_output_attr(q.node);
    size_t nd = s.x.size() - 2;
    std::vector<int64_t> wk(s.w.begin() + 2, s.w.end()), in(s.x.begin() + 2, s.x.end());
    nn::WindowAttrs wa = nn::read_window_attrs(q.node, nd, &wk);
    if (wa.kernel != wk) return std::nullopt;
    std::vector<int64_t> pads = nn::resolve_pads(wa, in, q.node);
    std::vector<int64_t> out = nn::window_out_dims(wa, in, pads, /*pool=*/false, q.node);
    s.y = {s.x[0], m};
    s.y.insert(s.y.end(), out.begin(), out.end());
    for (size_t i = 0; i < nd; ++i) {
      if (pads[i] < 0 || pads[nd + i] < 0 || out[i] <= 0) return std::nullopt;
      s.strides.push_back(wa.strides[i]);
      s.dilations.push_back(wa.dilations[i] - 1);
      s.pad_l.push_back(pads[i]);
      int64_t ek = nn::effective_kernel(wk[i], wa.dilations[i]);
      s.pad_r.push_back((out[i] - 1) * wa.strides[i] + ek - in[i] - pads[i]);
    }
  } catch (const Error&) {
    return std::nullopt;
  }
  if (q.input_types.size() > 4 && q.input_types[4]) {  // the residual: computed at run time, the output's shape
    std::optional<Shape> z = concrete_of(q.input_types[4]);
    DType zt = q.input_types[4]->elem;
    if (!z || *z != s.y || q.input_constants[4] || (!is_8bit(zt) && zt != DType::Float32)) return std::nullopt;
    s.z_type = zt;
    if (is_8bit(zt)) {
      try {
        s.zp = quant_params_attr(q.node, "z");
      } catch (const Error&) {
        return std::nullopt;
      }
    }
  }
  if (q.input_types.size() > 5 && q.input_types[5]) {  // C: constant, one factor per output channel
    const Tensor* c = q.input_constants[5];
    if (!c || c->dtype() != DType::Float32 || c->numel() != m) return std::nullopt;
    s.channel_factors.assign(c->data<float>(), c->data<float>() + m);
  }
  for (int64_t c = 0; c < m; ++c) {
    s.acc_scale.push_back(s.xp.scale * ws->data<float>()[ws->numel() == 1 ? 0 : c]);
    if (b) s.real_bias.push_back(b->data<float>()[c]);
  }
  return s;
}

namespace {

memory::desc weights_user_desc(const QConvSetup& s) {
  memory::dims d = to_dims(s.w);
  if (s.group > 1) {
    d[0] = s.w[0] / s.group;
    d.insert(d.begin(), s.group);
  }
  memory::dims strides(d.size(), 1);
  for (size_t i = d.size(); i-- > 1;) strides[i - 1] = strides[i] * d[i];
  return memory::desc(d, memory::data_type::s8, strides);
}

struct QConvPrimitive {
  dnnl::convolution_forward::primitive_desc pd;
  Int8Epilogue epilogue;
};

memory::format_tag channels_last_tag(size_t rank) {
  return rank == 3 ? memory::format_tag::nwc : rank == 4 ? memory::format_tag::nhwc : memory::format_tag::ndhwc;
}

// Channels-last activations are read and written in place. Plain ones let oneDNN pick its layout (and the kernel
// reorders around it), except with a residual: oneDNN 2.6 runs a binary post-op on plain layouts with its reference
// loops, so then the kernel reorders to and from channels-last; and a sum post-op accumulates into the output as
// the kernel stores it, so then the output is the user's plain tensor (whatever kernel oneDNN has for that: a rare
// case, a residual block's output that must stay plain).
// `split`: the chain runs after the primitive (SplitEpilogue), which writes v in float32.
QConvPrimitive qconv_pd(const Node& node, const QConvSetup& s, Layout layout, bool split, bool dst_zero_point = true) {
  bool residual = !split && s.z_type != DType::Undefined;
  const QuantizedOutput out = split ? QuantizedOutput{} : s.out;
  auto act = [&](const Shape& shape, DType t) {
    if (layout == Layout::ChannelsLast) return int8_activation_desc(shape, t, layout);
    return memory::desc(to_dims(shape), int8_data_type(t),
                        residual ? channels_last_tag(shape.size()) : memory::format_tag::any);
  };
  memory::desc res = residual ? act(s.y, s.z_type) : memory::desc();
  // A ChannelMul's factors: a [1, M, 1...] operand, which oneDNN broadcasts per output channel.
  Shape per_channel(s.y.size(), 1);
  per_channel[1] = s.y[1];
  ChannelMulInput cm{s.channel_factors, int8_activation_desc(per_channel, DType::Float32, Layout::Plain),
                     dst_zero_point};
  bool channel_mul = !split && !s.channel_factors.empty();
  Int8Epilogue e = make_int8_epilogue(node, s.acc_scale, s.real_bias, out, residual ? s.z_type : DType::Undefined,
                                      s.zp, residual ? &res : nullptr, split, channel_mul ? &cm : nullptr);
  memory::desc wany(weights_user_desc(s).dims(), memory::data_type::s8, memory::format_tag::any);
  memory::desc bd = e.bias.empty() ? memory::desc()
                                   : memory::desc({s.w[0]}, memory::data_type::f32, memory::format_tag::a);
  memory::desc dst = e.residual_is_sum ? int8_activation_desc(s.y, out.type, layout) : act(s.y, out.type);
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                    act(s.x, s.x_type), wany, bd, dst, s.strides, s.dilations, s.pad_l, s.pad_r);
  dnnl::primitive_attr attr = int8_attr(e, 1 << 1, s.xp.zero_point);
  return {dnnl::convolution_forward::primitive_desc(d, attr, cpu_engine()), std::move(e)};
}

// The fused primitive, or where its chain is more than oneDNN 2.6 computes right, the split one.
QConvPrimitive qconv_pd_any(const Node& node, const QConvSetup& s, Layout layout, bool* split) {
  try {
    *split = false;
    try {
      return qconv_pd(node, s, layout, false);
    } catch (const dnnl::error&) {  // no kernel for a destination zero point (ChannelMul chains): in the chain
      if (s.channel_factors.empty()) throw;
      return qconv_pd(node, s, layout, false, false);
    }
  } catch (const Error&) {
    SplitEpilogue check(node, s.out, s.z_type, s.zp, s.channel_factors);  // a malformed chain throws here too
    *split = true;
    return qconv_pd(node, s, layout, true);
  }
}

bool qconv_supported(const KernelQuery& q) {
  std::optional<QConvSetup> s = qconv_setup(q);
  if (!s) return false;
  try {
    bool split;
    qconv_pd_any(q.node, *s, q.layout, &split);
    return true;
  } catch (const dnnl::error&) {
    return false;
  } catch (const Error&) {
    return false;
  }
}

class DnnlQConvKernel final : public Kernel, public DnnlImplementation {
 public:
  explicit DnnlQConvKernel(const KernelQuery& q) {
    std::optional<QConvSetup> s = qconv_setup(q);
    if (!s) fail("{}: not supported by the oneDNN int8 conv kernel", q.node.label());
    x_ = s->x;
    y_ = s->y;
    x_type_ = s->x_type;
    y_type_ = s->out.type;
    z_type_ = s->z_type;
    // When a second thread pays, by the time the work takes: oneDNN's int8 convolutions run at about twice the rate
    // of its float32 ones (~400 GOP/s on a core), its int8 depthwise ones at a tenth of that (~40).
    double macs = static_cast<double>(shape_numel(s->y)) * static_cast<double>(shape_numel(s->w) / s->w[0]);
    bool depthwise = s->group > 1 && s->group == s->x[1] && s->w[0] == s->group;
    threads_ = threads_for_work(2.0 * macs * (depthwise ? 5.0 : 0.5), q.threads);
    ScopedOmpThreads team(threads_);
    bool split = false;
    QConvPrimitive p = qconv_pd_any(q.node, *s, q.layout, &split);
    prim_.init(p.pd, dnnl::convolution_forward(p.pd));
    prim_.set_constant(DNNL_ARG_WEIGHTS,
                       pack_int8_weights(s->weights->data<int8_t>(), weights_user_desc(*s), p.pd.weights_desc()));
    if (!p.epilogue.bias.empty()) {
      memory::desc bd({s->w[0]}, memory::data_type::f32, memory::format_tag::a);
      memory bias(bd, cpu_engine());
      std::copy(p.epilogue.bias.begin(), p.epilogue.bias.end(), static_cast<float*>(bias.get_data_handle()));
      prim_.set_constant(DNNL_ARG_BIAS, bias);
    }
    src_ = prim_.add_input(DNNL_ARG_SRC, int8_activation_desc(s->x, s->x_type, q.layout), p.pd.src_desc());
    DType written = split ? DType::Float32 : s->out.type;
    dst_ = prim_.add_output(DNNL_ARG_DST, int8_activation_desc(s->y, written, q.layout), p.pd.dst_desc());
    std::string suffix = p.epilogue.suffix;
    if (split) {
      // v as the kernel stores it: channels-last, or N, M, spatial...
      int64_t inner = q.layout == Layout::ChannelsLast ? 1 : shape_numel(s->y) / (s->y[0] * s->y[1]);
      split_ = std::make_unique<SplitEpilogue>(q.node, s->out, s->z_type, s->zp, s->channel_factors, inner);
      if (s->out.quantized()) v_.resize(static_cast<size_t>(shape_numel(s->y)));  // owned: runs allocate nothing
      suffix = split_->suffix() + " (split)";
    } else if (p.epilogue.residual_is_sum) {
      sum_ = true;
    }
    auto per_channel_operand = [&](int index, const std::vector<float>& values) {
      if (index < 0) return;
      int arg = DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1;
      memory m(p.pd.query_md(dnnl::query::exec_arg_md, arg), cpu_engine());
      std::copy(values.begin(), values.end(), static_cast<float*>(m.get_data_handle()));
      prim_.set_constant(arg, m);
    };
    per_channel_operand(p.epilogue.channel_mul_index, p.epilogue.channel_mul);
    per_channel_operand(p.epilogue.channel_add_index, p.epilogue.channel_add);
    if (!split && !p.epilogue.residual_is_sum && p.epilogue.residual_index >= 0) {
      memory::desc zd = int8_activation_desc(s->y, s->z_type, q.layout);
      memory::desc prim_zd = p.pd.query_md(dnnl::query::exec_arg_md,
                                           DNNL_ARG_ATTR_MULTIPLE_POST_OP(p.epilogue.residual_index) | DNNL_ARG_SRC_1);
      res_ = prim_.add_input(DNNL_ARG_ATTR_MULTIPLE_POST_OP(p.epilogue.residual_index) | DNNL_ARG_SRC_1, zd, prim_zd);
    }
    name_ = fmt::format("dnnl-qconv-{}{}{} [{}]", int8_type_name(s->x_type), int8_type_name(s->out.type), suffix,
                        prim_.impl());
  }

  void run(OpContext& ctx) override {
    const Tensor& x = cpu::planned_input(ctx, 0, x_type_, x_);
    Tensor& y = ctx.output_uninitialized(0, y_type_, y_);
    float* v = split_ && !v_.empty() ? v_.data() : nullptr;  // the split chain's float32 v, unless Y is float32
    prim_.bind(src_, x.raw());
    prim_.bind(dst_, v ? static_cast<void*>(v) : y.raw());
    const Tensor* z = nullptr;
    if (z_type_ != DType::Undefined) {
      z = &cpu::planned_input(ctx, 4, z_type_, y_, "residual input");
      if (sum_) std::memcpy(y.raw(), z->raw(), z->nbytes());  // the sum post-op adds what the output holds
      else if (res_ >= 0) prim_.bind(res_, z->raw());
    }
    int threads = threads_ > 0 ? threads_ : ctx.threads();
    prim_.execute(threads);
    if (split_)
      split_->run(v ? v : y.data<float>(), z ? z->raw() : nullptr, y.raw(), y.numel(), threads);
  }
  std::string name() const override { return name_; }
  int reorders() const override { return prim_.reorders(); }
  const std::string& implementation() const override { return prim_.impl(); }

 private:
  std::string name_;
  Shape x_, y_;
  DType x_type_, y_type_, z_type_;
  int threads_ = 0;
  PreparedPrimitive prim_;
  int src_ = -1, dst_ = -1, res_ = -1;
  bool sum_ = false;
  std::unique_ptr<SplitEpilogue> split_;
  std::vector<float> v_;
};

HONE_REGISTER_KERNEL({.domain = "hone",
                      .op = "QConv",
                      .name = "dnnl-qconv",
                      .priority = 10,
                      .applies = qconv_supported,
                      .create = make_dnnl_qconv_kernel,
                      .channels_last = [](const KernelQuery& q) {
                        return q.input_types[0]->shape->size() == 4 && qconv_supported(q);
                      },
                      .prefers_channels_last = true});

}  // namespace

std::unique_ptr<Kernel> make_dnnl_qconv_kernel(const KernelQuery& q) { return std::make_unique<DnnlQConvKernel>(q); }

}  // namespace hone::dnnl_cpu
