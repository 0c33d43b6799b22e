// Fast per-tensor QuantizeLinear (float32 -> uint8 / int8), DequantizeLinear (uint8 / int8 -> float32), hone.QAdd,
// hone.QMul (a feature map times a per-channel gate) and hone.QGlobalAveragePool, on the ISA tier's microkernels
// (quantize_microkernels.h), split over the session's threads. Quantize / DequantizeLinear are what remains of a QDQ
// model around the ops the int8 kernels do not take (passes/fuse_qdq.cc): graph inputs and outputs, and float
// islands such as Sigmoid or ConvTranspose between a DequantizeLinear and the next QuantizeLinear.
//
// Element by element with one scale and zero point, so any layout will do: channels-last tensors are read and
// written as they are stored. Per-axis and blocked parameters, runtime scales, float8 / 4-bit / 16-bit types and
// the opset-23 `precision` attribute stay on the reference kernels.
#include <algorithm>
#include <cstring>

#include "kernels/cpu/kernel_helpers.h"
#include "kernels/cpu/quantize_microkernels.h"
#include "ops/hone/quantized.h"

namespace hone::cpu {
namespace {

std::optional<Q8> q8_of(DType t) {
  if (t == DType::UInt8) return Q8::U8;
  if (t == DType::Int8) return Q8::S8;
  if (t == DType::Float32) return Q8::F32;
  return std::nullopt;
}

// Per-tensor parameters of a QuantizeLinear / DequantizeLinear node known at plan time: the scale (a constant float32
// scalar), the zero point (a constant scalar, or absent: uint8 zero), and the quantized type.
struct PerTensor {
  float scale;
  int32_t zero_point;
  DType type;
};

std::optional<PerTensor> per_tensor_params(const KernelQuery& q, DType quantized_type_hint) {
  if (q.input_types.size() < 2 || q.input_constants.size() < 2) return std::nullopt;
  const Tensor* s = q.input_constants[1];
  if (!s || s->dtype() != DType::Float32 || s->numel() != 1 || s->rank() > 1) return std::nullopt;
  if (q.node.attr_int("block_size", 0) != 0 || q.node.attr_int("precision", 0) != 0) return std::nullopt;
  PerTensor p{s->data<float>()[0], 0, quantized_type_hint};
  bool has_zp = q.input_types.size() > 2 && q.input_types[2];
  if (has_zp) {
    const Tensor* z = q.input_constants[2];
    if (!z || z->numel() != 1 || z->rank() > 1 || (z->dtype() != DType::UInt8 && z->dtype() != DType::Int8))
      return std::nullopt;
    p.zero_point = static_cast<int32_t>(z->get_int(0));
    p.type = z->dtype();
  }
  return p;
}

bool concrete(const TypeInfo* t) { return t && t->is_tensor() && t->shape && to_concrete(*t->shape).has_value(); }

class Q8Kernel final : public Kernel {
 public:
  // Quantize: x float32 -> y quantized; dequantize: the other way.
  Q8Kernel(std::string name, bool quantize, const PerTensor& p, Shape shape, const OpSchema& reference)
      : name_(std::move(name)), quantize_(quantize), p_(p), shape_(std::move(shape)), reference_(reference),
        mk_(quantize_for(active_isa())) {}

  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    DType in = quantize_ ? DType::Float32 : p_.type, out = quantize_ ? p_.type : DType::Float32;
    if (x.dtype() != in || x.shape() != shape_) return reference_.compute(ctx);
    Tensor& y = ctx.output_uninitialized(0, out, shape_);
    Q8 t = *q8_of(p_.type);
    float scale = p_.scale, zp = static_cast<float>(p_.zero_point);
    const QuantizeMicrokernels& mk = mk_;
    const char* px = static_cast<const char*>(x.raw());
    char* py = static_cast<char*>(y.raw());
    bool quantize = quantize_;
    parallel_chunks(x.numel(), kMinElementsPerThread, ctx.threads(), [&](int64_t b, int64_t e) {
      if (quantize) mk.quantize(reinterpret_cast<const float*>(px) + b, py + b, e - b, scale, zp, t);
      else mk.dequantize(px + b, reinterpret_cast<float*>(py) + b, e - b, scale, zp, t);
    }, 64);
  }
  std::string name() const override { return name_; }

 private:
  std::string name_;
  bool quantize_;
  PerTensor p_;
  Shape shape_;
  const OpSchema& reference_;
  const QuantizeMicrokernels& mk_;
};

std::optional<PerTensor> quantize_applies(const KernelQuery& q) {
  if (q.opset < 10 || q.input_types.empty() || !is_f32_tensor(q.input_types[0]) || !concrete(q.input_types[0]))
    return std::nullopt;
  std::optional<PerTensor> p = per_tensor_params(q, DType::UInt8);
  if (!p) return std::nullopt;
  int64_t out_code = q.node.attr_int("output_dtype", 0);
  if (out_code != 0 && out_code != static_cast<int64_t>(p->type)) return std::nullopt;
  if (!(p->scale > 0.f) && !(p->scale < 0.f)) return std::nullopt;  // zero or NaN: the reference's business
  return p;
}

std::optional<PerTensor> dequantize_applies(const KernelQuery& q) {
  if (q.opset < 10 || q.input_types.empty() || !q.input_types[0] || !concrete(q.input_types[0])) return std::nullopt;
  DType xt = q.input_types[0]->elem;
  if (xt != DType::UInt8 && xt != DType::Int8) return std::nullopt;
  std::optional<PerTensor> p = per_tensor_params(q, xt);
  if (!p || p->type != xt) return std::nullopt;
  int64_t out_code = q.node.attr_int("output_dtype", 0);
  if (out_code != 0 && out_code != static_cast<int64_t>(DType::Float32)) return std::nullopt;
  return p;
}

KernelFactory q8_factory(const char* op, bool quantize) {
  auto applies = quantize ? quantize_applies : dequantize_applies;
  return KernelFactory{
      .domain = "",
      .op = op,
      .name = quantize ? "q8_quantize" : "q8_dequantize",
      .priority = 10,
      .applies = [applies](const KernelQuery& q) { return applies(q).has_value(); },
      .create =
          [applies, quantize](const KernelQuery& q) -> std::unique_ptr<Kernel> {
            const QuantizeMicrokernels& mk = quantize_for(active_isa());
            return std::make_unique<Q8Kernel>(std::string(quantize ? "q8_quantize_" : "q8_dequantize_") + mk.isa,
                                              quantize, *applies(q), *concrete_shape(q.input_types[0]),
                                              reference_schema(q));
          },
      // Element by element with one scale: any layout will do.
      .channels_last = [applies](const KernelQuery& q) { return applies(q).has_value(); },
  };
}

const KernelRegistrar kQuantizeKernel{q8_factory("QuantizeLinear", true)};
const KernelRegistrar kDequantizeKernel{q8_factory("DequantizeLinear", false)};

// ---- hone.QAdd ----

// The kernel's parameters, or nullopt when the node is not one it takes: same concrete shapes, 8-bit inputs, and a
// post-op chain of at most one Relu or Clip.
std::optional<std::pair<QAddParams, Shape>> qadd_plan(const KernelQuery& q) {
  if (q.input_types.size() != 2 || !concrete(q.input_types[0]) || !concrete(q.input_types[1])) return std::nullopt;
  Shape a = *concrete_shape(q.input_types[0]), b = *concrete_shape(q.input_types[1]);
  std::optional<Q8> ta = q8_of(q.input_types[0]->elem), tb = q8_of(q.input_types[1]->elem);
  if (a != b || !ta || !tb || *ta == Q8::F32 || *tb == Q8::F32) return std::nullopt;
  QAddParams p;
  try {
    QuantParams ap = quant_params_attr(q.node, "a"), bp = quant_params_attr(q.node, "b");
    QuantizedOutput out = quantized_output_attr(q.node);
    p = {ap.scale, static_cast<float>(ap.zero_point), bp.scale, static_cast<float>(bp.zero_point),
         out.params.scale, static_cast<float>(out.params.zero_point)};
    p.a = *ta;
    p.b = *tb;
    p.y = *q8_of(out.type);
    std::vector<std::string> ops = q.node.attr_strings("post_ops");
    std::vector<float> params = q.node.attr_floats("post_op_params");
    if (ops.size() > 1) return std::nullopt;
    if (ops.size() == 1) {
      p.clamp = true;
      if (ops[0] == "Relu" && params.empty()) p.lo = 0.f, p.hi = std::numeric_limits<float>::infinity();
      else if (ops[0] == "Clip" && params.size() == 2) p.lo = params[0], p.hi = params[1];
      else return std::nullopt;
    }
  } catch (const Error&) {
    return std::nullopt;  // malformed attributes: the reference kernel reports them
  }
  return std::make_pair(p, a);
}

class QAddKernel final : public Kernel {
 public:
  QAddKernel(const QAddParams& p, Shape shape, DType a, DType b, DType y)
      : p_(p), shape_(std::move(shape)), a_(a), b_(b), y_(y), mk_(quantize_for(active_isa())) {}
  void run(OpContext& ctx) override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    if (a.dtype() != a_ || b.dtype() != b_ || a.shape() != shape_ || b.shape() != shape_)
      fail("{}: inputs {}[{}] and {}[{}] are not the planned {}[{}]", ctx.node().label(), dtype_name(a.dtype()),
           shape_str(a.shape()), dtype_name(b.dtype()), shape_str(b.shape()), dtype_name(a_), shape_str(shape_));
    Tensor& y = ctx.output_uninitialized(0, y_, shape_);
    const auto* pa = static_cast<const char*>(a.raw());
    const auto* pb = static_cast<const char*>(b.raw());
    auto* py = static_cast<char*>(y.raw());
    size_t ea = dtype_size(a_), eb = dtype_size(b_), ey = dtype_size(y_);
    const QAddParams& p = p_;
    const QuantizeMicrokernels& mk = mk_;
    parallel_chunks(a.numel(), kMinElementsPerThread, ctx.threads(), [&](int64_t s, int64_t e) {
      mk.qadd(pa + s * static_cast<int64_t>(ea), pb + s * static_cast<int64_t>(eb), py + s * static_cast<int64_t>(ey),
              e - s, p);
    }, 64);
  }
  std::string name() const override { return std::string("q8_qadd_") + mk_.isa; }

 private:
  QAddParams p_;
  Shape shape_;
  DType a_, b_, y_;
  const QuantizeMicrokernels& mk_;
};

HONE_REGISTER_KERNEL({
    .domain = "hone",
    .op = "QAdd",
    .name = "q8_qadd",
    .priority = 10,
    .applies = [](const KernelQuery& q) { return qadd_plan(q).has_value(); },
    .create =
        [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
          auto [p, shape] = *qadd_plan(q);
          return std::make_unique<QAddKernel>(p, shape, q.input_types[0]->elem, q.input_types[1]->elem,
                                              quantized_output_type(q.node));
        },
    .channels_last = [](const KernelQuery& q) { return qadd_plan(q).has_value(); },
});

// ---- hone.QMul: a feature map times a per-channel gate ----

// A [N, C, H, W] times B [N, C, 1, 1] or a constant [1, C, 1, 1] (either way round: the product is the same float
// product), no post-ops.
struct QMulPlan {
  Shape x, gate;
  size_t x_input = 0;  // which input is the feature map
  QuantParams xp, gp;
  QuantizedOutput out;
};

std::optional<QMulPlan> qmul_plan(const KernelQuery& q) {
  if (q.input_types.size() != 2 || !concrete(q.input_types[0]) || !concrete(q.input_types[1])) return std::nullopt;
  Shape a = *concrete_shape(q.input_types[0]), b = *concrete_shape(q.input_types[1]);
  if (!q.node.attr_strings("post_ops").empty()) return std::nullopt;
  auto gate_of = [](const Shape& x, const Shape& g) {
    return x.size() == 4 && g.size() == 4 && (g[0] == x[0] || g[0] == 1) && g[1] == x[1] && g[2] == 1 && g[3] == 1;
  };
  QMulPlan p;
  if (gate_of(a, b) && !q.input_constants[0]) p.x = a, p.gate = b, p.x_input = 0;
  else if (gate_of(b, a) && !q.input_constants[1]) p.x = b, p.gate = a, p.x_input = 1;
  else return std::nullopt;
  if (p.gate[0] != p.x[0] && !q.input_constants[1 - p.x_input]) return std::nullopt;  // computed gates: one per image
  // The feature map is 8-bit; the gate 8-bit or float32.
  DType xt = q.input_types[p.x_input]->elem, gt = q.input_types[1 - p.x_input]->elem;
  if ((xt != DType::UInt8 && xt != DType::Int8) || (gt != DType::UInt8 && gt != DType::Int8 && gt != DType::Float32))
    return std::nullopt;
  try {
    const char* xn = p.x_input == 0 ? "a" : "b";
    const char* gn = p.x_input == 0 ? "b" : "a";
    p.xp = quant_params_attr(q.node, xn);
    if (gt != DType::Float32) p.gp = quant_params_attr(q.node, gn);
    p.out = quantized_output_attr(q.node);
  } catch (const Error&) {
    return std::nullopt;
  }
  return p;
}

class QMulKernel final : public Kernel {
 public:
  QMulKernel(const QMulPlan& p, const KernelQuery& q)
      : p_(p), x_type_(q.input_types[p.x_input]->elem), g_type_(q.input_types[1 - p.x_input]->elem),
        channels_last_(q.layout == Layout::ChannelsLast), mk_(quantize_for(active_isa())) {
    params_ = {p.xp.scale, static_cast<float>(p.xp.zero_point), p.out.params.scale,
               static_cast<float>(p.out.params.zero_point), *q8_of(x_type_), *q8_of(p.out.type)};
    int64_t n = p.x[0], c = p.x[1];
    gate_.resize(static_cast<size_t>(n * c));
    // One repeat period of the factors per image: 16 pixels of C channels (channels-last), or 64 copies of one
    // channel's factor (plain), so runs cover whole vectors.
    pattern_.resize(static_cast<size_t>(channels_last_ ? c * 16 : 64));
  }

  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(p_.x_input);
    const Tensor& g = ctx.input(1 - p_.x_input);
    if (x.dtype() != x_type_ || g.dtype() != g_type_ || x.shape() != p_.x || g.shape() != p_.gate)
      fail("{}: inputs are not the planned {}[{}] and {}[{}]", ctx.node().label(), dtype_name(x_type_),
           shape_str(p_.x), dtype_name(g_type_), shape_str(p_.gate));
    Tensor& y = ctx.output_uninitialized(0, p_.out.type, p_.x);
    const int64_t n = p_.x[0], c = p_.x[1], hw = p_.x[2] * p_.x[3];
    for (int64_t i = 0; i < n * c; ++i) {  // as DequantizeLinear computes the gate (or the float gate itself)
      int64_t gi = p_.gate[0] == 1 ? i % c : i;  // a constant gate [1, C, 1, 1] serves every image
      gate_[static_cast<size_t>(i)] = g_type_ == DType::Float32
                                          ? g.data<float>()[gi]
                                          : static_cast<float>(g.get_int(gi) - p_.gp.zero_point) * p_.gp.scale;
    }
    const auto* px = static_cast<const char*>(x.raw());
    auto* py = static_cast<char*>(y.raw());
    const size_t ey = dtype_size(p_.out.type);
    const int64_t period = static_cast<int64_t>(pattern_.size());
    for (int64_t img = 0; img < (channels_last_ ? n : n * c); ++img) {
      if (channels_last_)
        for (int64_t k = 0; k < period; ++k)
          pattern_[static_cast<size_t>(k)] = gate_[static_cast<size_t>(img * c + k % c)];
      else
        std::fill(pattern_.begin(), pattern_.end(), gate_[static_cast<size_t>(img)]);
      int64_t len = channels_last_ ? hw * c : hw, base = img * len;
      int64_t chunks = (len + period - 1) / period;
      int threads = len < kMinElementsPerThread ? 1 : ctx.threads();
      parallel_chunks(chunks, 1, threads, [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; ++k) {
          int64_t off = base + k * period, cnt = std::min(period, base + len - off);
          mk_.qmul(px + off, pattern_.data(), py + off * static_cast<int64_t>(ey), cnt, params_);
        }
      }, 1);
    }
  }
  std::string name() const override {
    return std::string(channels_last_ ? "q8_qmul_gate_nhwc_" : "q8_qmul_gate_") + mk_.isa;
  }

 private:
  QMulPlan p_;
  DType x_type_, g_type_;
  bool channels_last_;
  const QuantizeMicrokernels& mk_;
  QMulParams params_;
  std::vector<float> gate_, pattern_;  // sized at plan time: runs allocate nothing
};

HONE_REGISTER_KERNEL({
    .domain = "hone",
    .op = "QMul",
    .name = "q8_qmul_gate",
    .priority = 10,
    .applies = [](const KernelQuery& q) { return qmul_plan(q).has_value(); },
    .create = [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
      return std::make_unique<QMulKernel>(*qmul_plan(q), q);
    },
    // The gate [N, C, 1, 1] is the same bytes in either layout; the feature map is read as stored.
    .channels_last = [](const KernelQuery& q) { return qmul_plan(q).has_value(); },
});

// ---- hone.QGlobalAveragePool ----

class QGlobalAveragePoolKernel final : public Kernel {
 public:
  QGlobalAveragePoolKernel(const KernelQuery& q, Shape x)
      : x_(std::move(x)), type_(q.input_types[0]->elem), channels_last_(q.layout == Layout::ChannelsLast),
        xp_(quant_params_attr(q.node, "x")), out_(quantized_output_attr(q.node)) {
    y_ = Shape(x_.size(), 1);
    y_[0] = x_[0];
    y_[1] = x_[1];
    sums_.resize(static_cast<size_t>(x_[0] * x_[1]));
  }
  void run(OpContext& ctx) override {
    const Tensor& x = cpu::planned_input(ctx, 0, type_, x_);
    const int64_t n = x_[0], c = x_[1], count = shape_numel(x_) / std::max<int64_t>(n * c, 1);
    if (type_ == DType::UInt8) sum(x.data<uint8_t>(), n, c, count);
    else sum(x.data<int8_t>(), n, c, count);
    Tensor& y = ctx.output_uninitialized(0, out_.type, y_);
    int32_t qmin = 0, qmax = 0;
    if (out_.quantized()) quant_range(out_.type, qmin, qmax);
    for (int64_t i = 0; i < n * c; ++i) {  // the reference's formula, on the same integer sums
      float v = static_cast<float>(static_cast<double>(sums_[static_cast<size_t>(i)] - count * xp_.zero_point) *
                                   xp_.scale / static_cast<double>(count));
      if (!out_.quantized()) y.data<float>()[i] = v;
      else if (out_.type == DType::UInt8)
        y.data<uint8_t>()[i] =
            static_cast<uint8_t>(quantize_value(v, out_.params.scale, out_.params.zero_point, qmin, qmax));
      else
        y.data<int8_t>()[i] =
            static_cast<int8_t>(quantize_value(v, out_.params.scale, out_.params.zero_point, qmin, qmax));
    }
  }
  std::string name() const override {
    return channels_last_ ? std::string("q8_global_avgpool_nhwc_") + mk_.isa : "q8_global_avgpool";
  }

 private:
  // Exact integer sums per (image, channel); 32-bit partial sums per 2^23 elements cannot overflow.
  template <typename T>
  void sum(const T* x, int64_t n, int64_t c, int64_t count) {
    std::fill(sums_.begin(), sums_.end(), 0);
    if (!channels_last_) {
      for (int64_t p = 0; p < n * c; ++p) {
        const T* s = x + p * count;
        int64_t total = 0;
        for (int64_t b = 0; b < count; b += 1 << 23) {
          int32_t part = 0;
          for (int64_t i = b; i < std::min(count, b + (int64_t{1} << 23)); ++i) part += s[i];
          total += part;
        }
        sums_[static_cast<size_t>(p)] = total;
      }
      return;
    }
    for (int64_t img = 0; img < n; ++img)
      mk_.channel_sums(x + img * count * c, count, c, sums_.data() + img * c, *q8_of(type_));
  }

  Shape x_, y_;
  DType type_;
  bool channels_last_;
  QuantParams xp_;
  QuantizedOutput out_;
  std::vector<int64_t> sums_;
  const QuantizeMicrokernels& mk_ = quantize_for(active_isa());
};

std::optional<Shape> qgap_shape(const KernelQuery& q) {
  if (q.input_types.size() != 1 || !concrete(q.input_types[0]) || q.input_constants[0]) return std::nullopt;
  DType t = q.input_types[0]->elem;
  Shape x = *concrete_shape(q.input_types[0]);
  if ((t != DType::UInt8 && t != DType::Int8) || x.size() < 3 || shape_numel(x) == 0) return std::nullopt;
  try {
    quant_params_attr(q.node, "x");
    quantized_output_attr(q.node);
  } catch (const Error&) {
    return std::nullopt;
  }
  if (!q.node.attr_strings("post_ops").empty()) return std::nullopt;
  return x;
}

HONE_REGISTER_KERNEL({
    .domain = "hone",
    .op = "QGlobalAveragePool",
    .name = "q8_global_avgpool",
    .priority = 10,
    .applies = [](const KernelQuery& q) { return qgap_shape(q).has_value(); },
    .create = [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
      return std::make_unique<QGlobalAveragePoolKernel>(q, *qgap_shape(q));
    },
    .channels_last = [](const KernelQuery& q) { return qgap_shape(q) && qgap_shape(q)->size() == 4; },
});

}  // namespace
}  // namespace hone::cpu
