// Fast float32 kernels for element-wise arithmetic, activations and last-axis Softmax, registered against the ops
// whose reference kernels they reproduce. Each kernel picks its ISA tier's microkernels when created (plan time),
// precomputes how its operands broadcast, and splits large ranges over the session's threads with OpenMP.
// Broadcasts handled: same shape, a one-element operand, and one operand varying over a contiguous block of the
// output's dims (per-channel [C,1,1] against NCHW, trailing [C] against [..., C]); anything else stays on the
// reference kernel.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "kernels/cpu/elementwise_microkernels.h"
#include "runtime/kernel.h"

namespace hone::cpu {
namespace {

// Below this many elements per thread, starting threads costs more than it saves.
constexpr int64_t kMinElementsPerThread = 16384;

// Calls f(begin, end) over [0, n) in chunks of at least `grain` items, in parallel when there is enough work.
template <typename F>
void parallel_chunks(int64_t n, int64_t grain, int threads, F f) {
  int64_t chunks = std::min<int64_t>(std::max(threads, 1), n / std::max<int64_t>(grain, 1));
  if (chunks <= 1) {
    if (n > 0) f(int64_t{0}, n);
    return;
  }
  int64_t per = (n + chunks - 1) / chunks;
  per = (per + 15) / 16 * 16;  // whole vectors per chunk
#pragma omp parallel for num_threads(static_cast<int>(chunks)) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    int64_t b = c * per, e = std::min(n, b + per);
    if (b < e) f(b, e);
  }
}

bool is_f32_tensor(const TypeInfo* t) { return t && t->is_tensor() && t->elem == DType::Float32; }

std::optional<Shape> concrete_shape(const TypeInfo* t) {
  if (!t || !t->shape) return std::nullopt;
  return to_concrete(*t->shape);
}

const OpSchema& reference_schema(const KernelQuery& q) {
  const OpSchema* s = OpRegistry::instance().find(q.node.domain, q.node.op_type, q.opset);
  if (!s || !s->compute) fail("{}: no reference kernel", q.node.label());
  return *s;
}

// ---- binary ops with broadcasting ----

// How out = a op b is walked. `small` is the broadcast operand (the other has the output's shape):
//   Same:    a, b and out all have n elements.
//   Scalar:  small has one element.
//   Blocks:  out is [outer, mid, inner] and small is [mid], repeated over outer and inner.
struct BroadcastPlan {
  enum class Kind { Same, Scalar, Blocks } kind = Kind::Same;
  bool small_is_a = false;
  int64_t outer = 1, mid = 1, inner = 1;
  Shape a, b, out;
};

std::optional<BroadcastPlan> plan_broadcast(const Shape& a, const Shape& b) {
  BroadcastPlan p;
  p.a = a;
  p.b = b;
  size_t rank = std::max(a.size(), b.size());
  Shape pa(rank - a.size(), 1), pb(rank - b.size(), 1);
  pa.insert(pa.end(), a.begin(), a.end());
  pb.insert(pb.end(), b.begin(), b.end());
  for (size_t i = 0; i < rank; ++i) {
    if (pa[i] != pb[i] && pa[i] != 1 && pb[i] != 1) return std::nullopt;
    p.out.push_back(pa[i] == 1 ? pb[i] : pa[i]);
  }
  if (pa == pb) return p;
  if (shape_numel(a) == 1 || shape_numel(b) == 1) {
    p.kind = BroadcastPlan::Kind::Scalar;
    p.small_is_a = shape_numel(a) == 1;
    return p;
  }
  bool small_is_a;
  if (pb == p.out) small_is_a = true;
  else if (pa == p.out) small_is_a = false;
  else return std::nullopt;  // both operands broadcast
  const Shape& small = small_is_a ? pa : pb;
  // The dims where small varies (out dims of size 1 do not matter) must form one contiguous block.
  int first = -1, last = -1;
  for (size_t i = 0; i < rank; ++i) {
    if (p.out[i] == 1) continue;
    if (small[i] != 1) {
      if (first < 0) first = static_cast<int>(i);
      else if (last != static_cast<int>(i) - 1) {
        for (int k = last + 1; k < static_cast<int>(i); ++k)
          if (p.out[static_cast<size_t>(k)] != 1) return std::nullopt;
      }
      last = static_cast<int>(i);
    }
  }
  p.kind = BroadcastPlan::Kind::Blocks;
  p.small_is_a = small_is_a;
  p.outer = p.mid = p.inner = 1;
  for (size_t i = 0; i < rank; ++i) {
    int ii = static_cast<int>(i);
    (ii < first ? p.outer : ii <= last ? p.mid : p.inner) *= p.out[i];
  }
  return p;
}

class BinaryKernel final : public Kernel {
 public:
  BinaryKernel(std::string name, BinaryFn fn, BroadcastPlan plan, const OpSchema& reference)
      : name_(std::move(name)), fn_(fn), plan_(std::move(plan)), reference_(reference) {}

  void run(OpContext& ctx) override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    if (a.dtype() != DType::Float32 || b.dtype() != DType::Float32 || a.shape() != plan_.a || b.shape() != plan_.b)
      return reference_.compute(ctx);  // not what was planned: the reference kernel checks and reports
    Tensor& y = ctx.output_uninitialized(0, DType::Float32, plan_.out);
    const float* pa = a.data<float>();
    const float* pb = b.data<float>();
    float* py = y.data<float>();
    BinaryFn fn = fn_;
    int threads = ctx.threads();
    using Kind = BroadcastPlan::Kind;
    if (plan_.kind == Kind::Same || plan_.kind == Kind::Scalar) {
      Operands o = plan_.kind == Kind::Same ? Operands::BothVectors
                   : plan_.small_is_a       ? Operands::ScalarA
                                            : Operands::ScalarB;
      parallel_chunks(y.numel(), kMinElementsPerThread, threads, [&](int64_t s, int64_t e) {
        fn(o == Operands::ScalarA ? pa : pa + s, o == Operands::ScalarB ? pb : pb + s, py + s, e - s, o);
      });
      return;
    }
    int64_t mid = plan_.mid, inner = plan_.inner;
    bool small_a = plan_.small_is_a;
    if (inner == 1) {  // small is a row of `mid` values, repeated over `outer` rows
      parallel_chunks(plan_.outer, std::max<int64_t>(1, kMinElementsPerThread / mid), threads,
                      [&](int64_t s, int64_t e) {
                        for (int64_t o = s; o < e; ++o) {
                          const float* ra = small_a ? pa : pa + o * mid;
                          const float* rb = small_a ? pb + o * mid : pb;
                          fn(ra, rb, py + o * mid, mid, Operands::BothVectors);
                        }
                      });
      return;
    }
    // One value of small per block of `inner` contiguous elements (per channel).
    parallel_chunks(plan_.outer * mid, std::max<int64_t>(1, kMinElementsPerThread / inner), threads,
                    [&](int64_t s, int64_t e) {
                      for (int64_t blk = s; blk < e; ++blk) {
                        int64_t c = blk % mid;
                        const float* ra = small_a ? pa + c : pa + blk * inner;
                        const float* rb = small_a ? pb + blk * inner : pb + c;
                        fn(ra, rb, py + blk * inner, inner, small_a ? Operands::ScalarA : Operands::ScalarB);
                      }
                    });
  }
  std::string name() const override { return name_; }

 private:
  std::string name_;
  BinaryFn fn_;
  BroadcastPlan plan_;
  const OpSchema& reference_;
};

bool binary_applies(const KernelQuery& q) {
  if (q.input_types.size() != 2 || !is_f32_tensor(q.input_types[0]) || !is_f32_tensor(q.input_types[1]))
    return false;
  std::optional<Shape> a = concrete_shape(q.input_types[0]), b = concrete_shape(q.input_types[1]);
  return a && b && plan_broadcast(*a, *b).has_value();
}

KernelFactory binary_factory(const char* op, BinaryOp which, const char* short_name, int since) {
  return KernelFactory{
      .domain = "",
      .op = op,
      .name = std::string("f32_v") + short_name,
      .priority = 10,
      .applies = [since](const KernelQuery& q) { return q.opset >= since && binary_applies(q); },
      .create =
          [which, short_name](const KernelQuery& q) -> std::unique_ptr<Kernel> {
            const ElementwiseMicrokernels& mk = elementwise_for(active_isa());
            BroadcastPlan plan = *plan_broadcast(*concrete_shape(q.input_types[0]), *concrete_shape(q.input_types[1]));
            return std::make_unique<BinaryKernel>(std::string("f32_v") + short_name + "_" + mk.isa,
                                                  mk.binary[static_cast<int>(which)], std::move(plan),
                                                  reference_schema(q));
          },
  };
}

// Opsets 7+ broadcast numpy-style; older ones have the `broadcast` attribute and stay on the reference.
const KernelRegistrar kAddKernel{binary_factory("Add", BinaryOp::Add, "add", 7)};
const KernelRegistrar kSubKernel{binary_factory("Sub", BinaryOp::Sub, "sub", 7)};
const KernelRegistrar kMulKernel{binary_factory("Mul", BinaryOp::Mul, "mul", 7)};
const KernelRegistrar kDivKernel{binary_factory("Div", BinaryOp::Div, "div", 7)};
// Max of exactly two inputs (opset 8+ broadcasts; opset 6 and older need equal shapes anyway).
const KernelRegistrar kMaxKernel{binary_factory("Max", BinaryOp::Max, "max", 8)};

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
  return KernelFactory{
      .domain = "",
      .op = spec.op,
      .name = std::string("f32_v") + spec.short_name,
      .priority = 10,
      .applies = [spec](const KernelQuery& q) {
        if (q.opset < spec.since || q.opset > spec.until || !unary_input_applies(q)) return false;
        if (spec.which == UnaryOp::Clip && q.opset >= 11)
          for (size_t i = 1; i < q.input_types.size(); ++i)
            if (q.input_types[i] && !is_f32_tensor(q.input_types[i])) return false;
        return true;
      },
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
const KernelRegistrar kSqrtKernel{unary_factory({"Sqrt", UnaryOp::Sqrt, "sqrt"})};

// Pow(x, 2) with the exponent a constant: x * x, exactly what the reference's pow gives.
bool is_constant_two(const Tensor* t) {
  if (!t || t->numel() != 1) return false;
  switch (t->dtype()) {
    case DType::Float32: return t->data<float>()[0] == 2.0f;
    case DType::Float64: return t->data<double>()[0] == 2.0;
    case DType::Int32: return t->data<int32_t>()[0] == 2;
    case DType::Int64: return t->data<int64_t>()[0] == 2;
    default: return false;
  }
}

class SquareKernel final : public Kernel {
 public:
  SquareKernel(std::string name, UnaryFn fn, const OpSchema& reference)
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

HONE_REGISTER_KERNEL({
    .domain = "",
    .op = "Pow",
    .name = "f32_vsquare",
    .priority = 10,
    .applies =
        [](const KernelQuery& q) {
          return q.opset >= 7 && q.input_types.size() == 2 && unary_input_applies(q) &&
                 is_constant_two(q.input_constants[1]);
        },
    .create =
        [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
          const ElementwiseMicrokernels& mk = elementwise_for(active_isa());
          return std::make_unique<SquareKernel>(std::string("f32_vsquare_") + mk.isa,
                                                mk.unary[static_cast<int>(UnaryOp::Square)], reference_schema(q));
        },
});

// ---- Softmax over the last axis ----

class SoftmaxKernel final : public Kernel {
 public:
  SoftmaxKernel(std::string name, SoftmaxFn fn, const OpSchema& reference)
      : name_(std::move(name)), fn_(fn), reference_(reference) {}
  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::Float32 || x.rank() == 0) return reference_.compute(ctx);
    Tensor& y = ctx.output_uninitialized(0, DType::Float32, x.shape());
    int64_t n = x.shape().back();
    if (n == 0 || x.numel() == 0) return;
    int64_t rows = x.numel() / n;
    const float* px = x.data<float>();
    float* py = y.data<float>();
    parallel_chunks(rows, std::max<int64_t>(1, kMinElementsPerThread / n), ctx.threads(),
                    [&](int64_t s, int64_t e) { fn_(px + s * n, py + s * n, e - s, n); });
  }
  std::string name() const override { return name_; }

 private:
  std::string name_;
  SoftmaxFn fn_;
  const OpSchema& reference_;
};

// Applies when the softmax runs over the last axis only: opset 13+ with axis -1 (or rank-1), or an older opset
// whose 2-D coercion axis is the last one.
bool softmax_applies(const KernelQuery& q) {
  if (!unary_input_applies(q) || !q.input_types[0]->shape) return false;
  int64_t rank = static_cast<int64_t>(q.input_types[0]->shape->size());
  if (rank == 0) return false;
  int64_t axis = q.node.attr_int("axis", q.opset < 13 ? 1 : -1);
  if (axis < 0) axis += rank;
  return axis == rank - 1;
}

HONE_REGISTER_KERNEL({
    .domain = "",
    .op = "Softmax",
    .name = "f32_softmax_lastaxis",
    .priority = 10,
    .applies = softmax_applies,
    .create =
        [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
          const ElementwiseMicrokernels& mk = elementwise_for(active_isa());
          return std::make_unique<SoftmaxKernel>(std::string("f32_softmax_lastaxis_") + mk.isa, mk.softmax,
                                                 reference_schema(q));
        },
});

}  // namespace
}  // namespace hone::cpu
