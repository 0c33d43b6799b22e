// Fast float32 kernels for element-wise arithmetic and activations, registered against the ops whose reference
// kernels they reproduce. Each kernel picks its ISA tier's microkernels when created (plan time), precomputes how
// its operands broadcast (elementwise_broadcast.h: any numpy broadcast, vectorized along the innermost contiguous
// run), and splits large tensors over the session's threads with OpenMP.
//
// Channels-last (kernel.h): unary ops do not care how a tensor is laid out. A binary op runs channels-last when every
// operand can be read in the output's N,H,W,C order: channels-last activations, and plain operands that are the same
// bytes in that order (scalars, per-channel [C,1,1] / [1,C,1,1] constants, [N,C,1,1] gates); anything else declines.
#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>

#include "kernels/cpu/elementwise_broadcast.h"
#include "kernels/cpu/elementwise_microkernels.h"
#include "kernels/cpu/kernel_helpers.h"

namespace hone::cpu {
namespace {

// ---- binary ops with broadcasting ----

// The walk for input 0 op input 1 in `layout`, or nullopt when the kernel cannot run the query that way.
std::optional<BroadcastWalk> binary_walk(const KernelQuery& q, Layout layout) {
  if (q.input_types.size() != 2 || !is_f32_tensor(q.input_types[0]) || !is_f32_tensor(q.input_types[1]))
    return std::nullopt;
  std::optional<Shape> a = concrete_shape(q.input_types[0]), b = concrete_shape(q.input_types[1]);
  if (!a || !b) return std::nullopt;
  std::optional<BroadcastWalk> logical = plan_broadcast_walk(*a, *b);
  if (!logical || layout == Layout::Plain) return logical;
  if (std::max(a->size(), b->size()) != 4) return std::nullopt;
  std::optional<Shape> stored[2];
  for (size_t i = 0; i < 2; ++i) {
    const Shape& s = i == 0 ? *a : *b;
    stored[i] = is_channels_last_input(q, i) ? std::optional<Shape>(nhwc_of(s)) : plain_as_nhwc(s);
    if (!stored[i]) return std::nullopt;
  }
  return plan_broadcast_walk(*stored[0], *stored[1]);
}

class BinaryKernel final : public Kernel {
 public:
  BinaryKernel(std::string name, BinaryFn fn, BroadcastWalk walk, Shape a, Shape b, Layout layout,
               const OpSchema& reference)
      : name_(std::move(name)), fn_(fn), walk_(std::move(walk)), a_(std::move(a)), b_(std::move(b)), layout_(layout),
        reference_(reference) {
    out_ = a_.size() >= b_.size() ? a_ : b_;  // the broadcast (logical) output shape
    size_t off_a = out_.size() - a_.size(), off_b = out_.size() - b_.size();
    for (size_t i = 0; i < out_.size(); ++i) {
      int64_t da = i >= off_a ? a_[i - off_a] : 1, db = i >= off_b ? b_[i - off_b] : 1;
      out_[i] = da == 1 ? db : da;
    }
  }

  void run(OpContext& ctx) override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    if (a.dtype() != DType::Float32 || b.dtype() != DType::Float32 || a.shape() != a_ || b.shape() != b_) {
      if (layout_ == Layout::ChannelsLast)
        fail("{}: inputs {} and {} are not the planned {} and {}", ctx.node().label(), shape_str(a.shape()),
             shape_str(b.shape()), shape_str(a_), shape_str(b_));
      return reference_.compute(ctx);  // not what was planned: the reference kernel checks and reports
    }
    Tensor& y = ctx.output_uninitialized(0, DType::Float32, out_);
    run_broadcast_walk(walk_, fn_, a.data<float>(), b.data<float>(), y.data<float>(), ctx.threads());
  }
  std::string name() const override { return name_; }

 private:
  std::string name_;
  BinaryFn fn_;
  BroadcastWalk walk_;
  Shape a_, b_, out_;
  Layout layout_;
  const OpSchema& reference_;
};

KernelFactory binary_factory(const char* op, BinaryOp which, const char* short_name, int since) {
  return KernelFactory{
      .domain = "",
      .op = op,
      .name = std::string("f32_v") + short_name,
      .priority = 10,
      .applies = [since](const KernelQuery& q) { return q.opset >= since && binary_walk(q, q.layout).has_value(); },
      .create =
          [which, short_name](const KernelQuery& q) -> std::unique_ptr<Kernel> {
            const ElementwiseMicrokernels& mk = elementwise_for(active_isa());
            return std::make_unique<BinaryKernel>(std::string("f32_v") + short_name + "_" + mk.isa,
                                                  mk.binary[static_cast<int>(which)], *binary_walk(q, q.layout),
                                                  *concrete_shape(q.input_types[0]),
                                                  *concrete_shape(q.input_types[1]), q.layout, reference_schema(q));
          },
      .channels_last =
          [since](const KernelQuery& q) {
            return q.opset >= since && binary_walk(q, Layout::ChannelsLast).has_value();
          },
  };
}

// Opsets 7+ broadcast numpy-style; older Add/Sub/Mul/Div have the `broadcast` attribute and stay on the reference.
const KernelRegistrar kAddKernel{binary_factory("Add", BinaryOp::Add, "add", 7)};
const KernelRegistrar kSubKernel{binary_factory("Sub", BinaryOp::Sub, "sub", 7)};
const KernelRegistrar kMulKernel{binary_factory("Mul", BinaryOp::Mul, "mul", 7)};
const KernelRegistrar kDivKernel{binary_factory("Div", BinaryOp::Div, "div", 7)};
// Max, Min and Sum of exactly two inputs. Before opset 8 their inputs must have equal shapes, which the broadcasting
// kernel (like the reference) serves as well.
const KernelRegistrar kMaxKernel{binary_factory("Max", BinaryOp::Max, "max", 1)};
const KernelRegistrar kMinKernel{binary_factory("Min", BinaryOp::Min, "min", 1)};
const KernelRegistrar kSumKernel{binary_factory("Sum", BinaryOp::Add, "sum", 1)};

// ---- unary ops ----

// How a unary kernel finds its parameters at run time (Clip 11+ reads them from inputs).
enum class ParamSource { None, Attributes, ClipInputs };

class UnaryKernel final : public Kernel {
 public:
  UnaryKernel(std::string name, UnaryFn fn, UnaryParams params, ParamSource source, const OpSchema& reference)
      : name_(std::move(name)), fn_(fn), params_(params), source_(source), reference_(reference) {}

  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::Float32) return reference_.compute(ctx);
    UnaryParams p = params_;
    if (source_ == ParamSource::ClipInputs) {
      for (size_t i = 1; i <= 2; ++i) {
        if (!ctx.has_input(i)) continue;
        const Tensor& t = ctx.input(i);
        if (t.numel() != 1 || t.dtype() != DType::Float32) return reference_.compute(ctx);  // it reports the error
        (i == 1 ? p.a : p.b) = t.data<float>()[0];
      }
    }
    Tensor& y = ctx.output_uninitialized(0, DType::Float32, x.shape());
    const float* px = x.data<float>();
    float* py = y.data<float>();
    UnaryFn fn = fn_;
    parallel_chunks(x.numel(), kMinElementsPerThread, ctx.threads(),
                    [&](int64_t s, int64_t e) { fn(px + s, py + s, e - s, p); });
  }
  std::string name() const override { return name_; }

 private:
  std::string name_;
  UnaryFn fn_;
  UnaryParams params_;
  ParamSource source_;
  const OpSchema& reference_;
};

struct UnarySpec {
  const char* op;
  UnaryOp which;
  const char* short_name;
  int since = 1;
  int until = 1 << 30;
};

bool unary_input_applies(const KernelQuery& q) {
  return !q.input_types.empty() && is_f32_tensor(q.input_types[0]);
}

// Attribute parameters, read once at plan time.
UnaryParams attribute_params(const KernelQuery& q, UnaryOp which) {
  const Node& n = q.node;
  switch (which) {
    case UnaryOp::LeakyRelu: return {n.attr_float("alpha", 0.01f), 0};
    case UnaryOp::HardSigmoid: return {n.attr_float("alpha", 0.2f), n.attr_float("beta", 0.5f)};
    case UnaryOp::Clip:
      return {n.attr_float("min", std::numeric_limits<float>::lowest()),
              n.attr_float("max", std::numeric_limits<float>::max())};
    default: return {};
  }
}

KernelFactory unary_factory(UnarySpec spec) {
  auto applies = [spec](const KernelQuery& q) {
    if (q.opset < spec.since || q.opset > spec.until || !unary_input_applies(q)) return false;
    if (q.layout == Layout::ChannelsLast && !is_channels_last_input(q, 0)) return false;
    if (spec.which == UnaryOp::Clip && q.opset >= 11)
      for (size_t i = 1; i < q.input_types.size(); ++i)
        if (q.input_types[i] && !is_f32_tensor(q.input_types[i])) return false;
    return true;
  };
  return KernelFactory{
      .domain = "",
      .op = spec.op,
      .name = std::string("f32_v") + spec.short_name,
      .priority = 10,
      .applies = applies,
      .create =
          [spec](const KernelQuery& q) -> std::unique_ptr<Kernel> {
            const ElementwiseMicrokernels& mk = elementwise_for(active_isa());
            ParamSource source = spec.which == UnaryOp::Clip && q.opset >= 11 ? ParamSource::ClipInputs
                                                                             : ParamSource::Attributes;
            UnaryParams p = attribute_params(q, spec.which);
            return std::make_unique<UnaryKernel>(std::string("f32_v") + spec.short_name + "_" + mk.isa,
                                                 mk.unary[static_cast<int>(spec.which)], p, source,
                                                 reference_schema(q));
          },
      // Element by element, so any layout will do (a constant input would stay plain: declined).
      .channels_last =
          [applies](const KernelQuery& q) {
            KernelQuery cl = q;
            cl.layout = Layout::ChannelsLast;
            return applies(cl);
          },
  };
}

const KernelRegistrar kReluKernel{unary_factory({"Relu", UnaryOp::Relu, "relu"})};
const KernelRegistrar kLeakyReluKernel{unary_factory({"LeakyRelu", UnaryOp::LeakyRelu, "leaky_relu"})};
const KernelRegistrar kClipKernel{unary_factory({"Clip", UnaryOp::Clip, "clip"})};
const KernelRegistrar kHardSigmoidKernel{unary_factory({"HardSigmoid", UnaryOp::HardSigmoid, "hard_sigmoid"})};
const KernelRegistrar kHardSwishKernel{unary_factory({"HardSwish", UnaryOp::HardSwish, "hard_swish", 14})};
const KernelRegistrar kSigmoidKernel{unary_factory({"Sigmoid", UnaryOp::Sigmoid, "sigmoid"})};
const KernelRegistrar kTanhKernel{unary_factory({"Tanh", UnaryOp::Tanh, "tanh"})};
const KernelRegistrar kExpKernel{unary_factory({"Exp", UnaryOp::Exp, "exp"})};
const KernelRegistrar kLogKernel{unary_factory({"Log", UnaryOp::Log, "log"})};
const KernelRegistrar kSqrtKernel{unary_factory({"Sqrt", UnaryOp::Sqrt, "sqrt"})};
const KernelRegistrar kNegKernel{unary_factory({"Neg", UnaryOp::Neg, "neg"})};
const KernelRegistrar kAbsKernel{unary_factory({"Abs", UnaryOp::Abs, "abs"})};
const KernelRegistrar kReciprocalKernel{unary_factory({"Reciprocal", UnaryOp::Reciprocal, "reciprocal"})};

// ---- Pow with a constant scalar exponent ----

// The exponent's value when it is a constant with one element.
std::optional<double> constant_scalar(const Tensor* t) {
  if (!t || t->numel() != 1) return std::nullopt;
  switch (t->dtype()) {
    case DType::Float32: return t->data<float>()[0];
    case DType::Float64: return t->data<double>()[0];
    case DType::Int32: return t->data<int32_t>()[0];
    case DType::Int64: return static_cast<double>(t->data<int64_t>()[0]);
    default: return std::nullopt;
  }
}

// The microkernel computing pow(x, e) exactly as the reference rounds it: x * x for 2, sqrt (fixed up) for 0.5,
// 1 / x for -1 (both correctly rounded, as double pow then float rounding is).
std::optional<UnaryOp> pow_as_unary(double e) {
  if (e == 2.0) return UnaryOp::Square;
  if (e == 0.5) return UnaryOp::PowHalf;
  if (e == -1.0) return UnaryOp::Reciprocal;
  return std::nullopt;
}

class PowKernel final : public Kernel {
 public:
  PowKernel(std::string name, UnaryFn fn, const OpSchema& reference)
      : name_(std::move(name)), fn_(fn), reference_(reference) {}
  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    // The output broadcasts with the exponent's shape (a [1] exponent makes a rank-0 x rank 1).
    if (x.dtype() != DType::Float32 || ctx.input(1).shape().size() > x.shape().size()) return reference_.compute(ctx);
    Tensor& y = ctx.output_uninitialized(0, DType::Float32, x.shape());
    const float* px = x.data<float>();
    float* py = y.data<float>();
    parallel_chunks(x.numel(), kMinElementsPerThread, ctx.threads(),
                    [&](int64_t s, int64_t e) { fn_(px + s, py + s, e - s, {}); });
  }
  std::string name() const override { return name_; }

 private:
  std::string name_;
  UnaryFn fn_;
  const OpSchema& reference_;
};

// The exponent is a constant scalar (plain, not a layout tensor); x's layout passes through.
bool pow_applies(const KernelQuery& q, Layout layout) {
  if (q.opset < 7 || q.input_types.size() != 2 || !unary_input_applies(q)) return false;
  if (layout == Layout::ChannelsLast && (!is_channels_last_input(q, 0) || !q.input_constants[1] ||
                                         q.input_constants[1]->rank() > 4))
    return false;
  std::optional<double> e = constant_scalar(q.input_constants[1]);
  return e && pow_as_unary(*e);
}

HONE_REGISTER_KERNEL({
    .domain = "",
    .op = "Pow",
    .name = "f32_vpow_scalar",
    .priority = 10,
    .applies = [](const KernelQuery& q) { return pow_applies(q, q.layout); },
    .create =
        [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
          const ElementwiseMicrokernels& mk = elementwise_for(active_isa());
          UnaryOp op = *pow_as_unary(*constant_scalar(q.input_constants[1]));
          const char* what = op == UnaryOp::Square ? "square" : op == UnaryOp::PowHalf ? "pow_half" : "reciprocal";
          return std::make_unique<PowKernel>(std::string("f32_v") + what + "_" + mk.isa,
                                             mk.unary[static_cast<int>(op)], reference_schema(q));
        },
    .channels_last = [](const KernelQuery& q) { return pow_applies(q, Layout::ChannelsLast); },
});

}  // namespace
}  // namespace hone::cpu
