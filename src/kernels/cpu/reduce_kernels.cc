// Fast float32 reductions (ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceLogSum,
// ReduceLogSumExp, ReduceSumSquare; axes from the attribute or a constant input) and ArgMax / ArgMin. At plan time
// the input shape collapses into [outer, n, inner] with the n reduced values in the middle (dims of 1 dropped,
// neighbours merged), which covers the last axis, spatial axes and the channel axis: inner == 1 reduces contiguous
// rows, anything else walks columns vectorized across inner. Axis sets that do not collapse so (two separate reduced
// runs), empty tensors and noop_with_empty_axes stay on the reference kernel. Channels-last inputs are reduced in
// their stored N,H,W,C order; a plain (lower-rank) output must then come out in the same order. (Reducing C with H
// or W visits values in another order than the reference: sums round differently, and Max/Min of zeros of both
// signs may keep the other sign.) Sums, products and squares accumulate in float where the reference uses double,
// so only they can overflow (|x| above ~1e19 squared, products leaving the float range part-way).
#include <cmath>
#include <string>

#include "kernels/cpu/elementwise_broadcast.h"
#include "kernels/cpu/kernel_helpers.h"
#include "kernels/cpu/reduce_microkernels.h"
#include "ops/reduce/axes.h"

namespace hone::cpu {
namespace {

// What happens to a raw per-output result: Mean divides by n, L2 takes the root, LogSum the log.
enum class Finish { None, Mean, Sqrt, Log };

struct ReduceKind {
  const char* op;
  const char* short_name;
  ReduceOp reduce;
  Finish finish;
};

constexpr ReduceKind kKinds[] = {
    {"ReduceSum", "sum", ReduceOp::Sum, Finish::None},
    {"ReduceMean", "mean", ReduceOp::Sum, Finish::Mean},
    {"ReduceMax", "max", ReduceOp::Max, Finish::None},
    {"ReduceMin", "min", ReduceOp::Min, Finish::None},
    {"ReduceProd", "prod", ReduceOp::Prod, Finish::None},
    {"ReduceL1", "l1", ReduceOp::SumAbs, Finish::None},
    {"ReduceL2", "l2", ReduceOp::SumSquare, Finish::Sqrt},
    {"ReduceLogSum", "log_sum", ReduceOp::Sum, Finish::Log},
    {"ReduceLogSumExp", "log_sum_exp", ReduceOp::LogSumExp, Finish::None},
    {"ReduceSumSquare", "sum_square", ReduceOp::SumSquare, Finish::None},
};

// The input as [outer, n, inner] (in stored order) with the n reduced values in the middle.
struct ReducePlan {
  Shape in, out;  // logical shapes
  int64_t outer = 1, n = 1, inner = 1;
};

constexpr size_t kStoredOrder[4] = {0, 2, 3, 1};  // N,H,W,C as N,C,H,W axes

// Collapses `shape` (stored order) with `reduced` flags into [outer, n, inner]; false when the reduced dims larger
// than 1 do not form one run.
bool collapse(const Shape& shape, const std::vector<bool>& reduced, ReducePlan& p) {
  int stage = 0;  // 0: before the reduced run, 1: in it, 2: after it
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (reduced[d]) {
      if (stage == 2) return false;
      stage = 1;
      p.n *= shape[d];
    } else {
      if (stage == 1) stage = 2;
      (stage == 0 ? p.outer : p.inner) *= shape[d];
    }
  }
  if (stage == 0) {  // every reduced dim is 1: each output is its one input value, reduced
    p.inner = 1;
    p.outer = shape_numel(shape);
  }
  return true;
}

// In channels-last, whether the kept dims larger than 1 come out of the stored order in the logical order (needed
// when the output is not itself a channels-last tensor).
bool kept_dims_in_logical_order(const Shape& in, const std::vector<bool>& reduced) {
  std::vector<size_t> logical, stored;
  for (size_t d = 0; d < 4; ++d)
    if (!reduced[d] && in[d] != 1) logical.push_back(d);
  for (size_t d : kStoredOrder)
    if (!reduced[d] && in[d] != 1) stored.push_back(d);
  return logical == stored;
}

// The stored shape and flags for the layout, or false when the layout cannot serve this output.
bool stored_view(const KernelQuery& q, Layout layout, const Shape& in, std::vector<bool>& reduced, bool output_is_layout,
                 Shape& stored) {
  stored = in;
  if (layout == Layout::Plain) return true;
  if (!is_channels_last_input(q, 0)) return false;
  if (!output_is_layout && !kept_dims_in_logical_order(in, reduced)) return false;
  stored = nhwc_of(in);
  reduced = {reduced[0], reduced[2], reduced[3], reduced[1]};
  return true;
}

// Axes as the node gives them (attribute, or constant input 1); nullopt when they are not known at plan time.
std::optional<std::vector<int64_t>> plan_axes(const KernelQuery& q) {
  if (!reduce_axes_from_input(q.node, q.opset)) return q.node.attr_ints("axes");
  if (q.input_types.size() < 2 || !q.input_types[1]) return std::vector<int64_t>{};
  const Tensor* a = q.input_constants[1];
  if (!a || a->dtype() != DType::Int64 || a->rank() > 1) return std::nullopt;
  return a->to_int64_vector();
}

std::optional<ReducePlan> plan_reduce(const KernelQuery& q, Layout layout) {
  if (q.input_types.empty() || !is_f32_tensor(q.input_types[0])) return std::nullopt;
  std::optional<Shape> in = concrete_shape(q.input_types[0]);
  if (!in || shape_numel(*in) == 0) return std::nullopt;
  std::optional<std::vector<int64_t>> axes = plan_axes(q);
  if (!axes) return std::nullopt;
  int64_t rank = static_cast<int64_t>(in->size());
  std::vector<bool> reduced(in->size(), axes->empty());
  if (axes->empty() && reduce_axes_from_input(q.node, q.opset) && q.node.attr_int("noop_with_empty_axes", 0) != 0)
    return std::nullopt;  // the identity: rare, and the reference copies
  for (int64_t a : *axes) {
    if (a < -rank || a >= rank) return std::nullopt;  // the reference reports it
    size_t k = static_cast<size_t>(a < 0 ? a + rank : a);
    if (reduced[k]) return std::nullopt;
    reduced[k] = true;
  }
  ReducePlan p;
  p.in = *in;
  bool keepdims = q.node.attr_int("keepdims", 1) != 0;
  p.out = reduced_shape(*in, reduced, keepdims);
  Shape stored;
  if (!stored_view(q, layout, *in, reduced, keepdims, stored)) return std::nullopt;
  if (!collapse(stored, reduced, p)) return std::nullopt;
  return p;
}

class ReduceKernel final : public Kernel {
 public:
  ReduceKernel(const KernelQuery& q, const ReduceKind& kind, ReducePlan plan, const ReduceMicrokernels& mk)
      : kind_(kind), plan_(std::move(plan)), mk_(mk), layout_(q.layout), reference_(reference_schema(q)),
        name_(std::string("f32_reduce_") + kind.short_name + (plan_.inner == 1 ? "_rows_" : "_columns_") + mk.isa) {}

  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::Float32 || x.shape() != plan_.in) {
      if (layout_ == Layout::ChannelsLast)
        fail("{}: input {} is not the planned {}", ctx.node().label(), shape_str(x.shape()), shape_str(plan_.in));
      return reference_.compute(ctx);
    }
    Tensor& y = ctx.output_uninitialized(0, DType::Float32, plan_.out);
    const float* px = x.data<float>();
    float* py = y.data<float>();
    int64_t outer = plan_.outer, n = plan_.n, inner = plan_.inner;
    ReduceOp op = kind_.reduce;
    if (inner == 1) {
      parallel_chunks(
          outer, std::max<int64_t>(1, kMinElementsPerThread / n), ctx.threads(),
          [&](int64_t s, int64_t e) {
            mk_.reduce_rows(op, px + s * n, py + s, e - s, n);
            finish(py + s, e - s);
          },
          1);
      return;
    }
    parallel_column_chunks(outer, n, inner, ctx.threads(), [&](int64_t o, int64_t c0, int64_t cols) {
      float* out = py + o * inner + c0;
      mk_.reduce_columns(op, px + o * n * inner + c0, out, n, inner, cols);
      finish(out, cols);
    });
  }
  std::string name() const override { return name_; }

 private:
  void finish(float* y, int64_t count) const {
    switch (kind_.finish) {
      case Finish::None: return;
      case Finish::Mean: {
        float n = static_cast<float>(plan_.n);
        for (int64_t i = 0; i < count; ++i) y[i] /= n;
        return;
      }
      case Finish::Sqrt:
        for (int64_t i = 0; i < count; ++i) y[i] = std::sqrt(y[i]);
        return;
      case Finish::Log:
        for (int64_t i = 0; i < count; ++i) y[i] = static_cast<float>(std::log(static_cast<double>(y[i])));
        return;
    }
  }

  const ReduceKind& kind_;
  ReducePlan plan_;
  const ReduceMicrokernels& mk_;
  Layout layout_;
  const OpSchema& reference_;
  std::string name_;
};

KernelFactory reduce_factory(const ReduceKind& kind) {
  return KernelFactory{
      .domain = "",
      .op = kind.op,
      .name = std::string("f32_reduce_") + kind.short_name,
      .priority = 10,
      // Asked again with the layout the planner settled on (channels-last only after `channels_last` agreed).
      .applies = [](const KernelQuery& q) { return plan_reduce(q, q.layout).has_value(); },
      .create = [&kind](const KernelQuery& q) -> std::unique_ptr<Kernel> {
        return std::make_unique<ReduceKernel>(q, kind, *plan_reduce(q, q.layout), reduce_for(active_isa()));
      },
      .channels_last = [](const KernelQuery& q) { return plan_reduce(q, Layout::ChannelsLast).has_value(); },
  };
}

const KernelRegistrar kReduceKernels[] = {
    KernelRegistrar{reduce_factory(kKinds[0])}, KernelRegistrar{reduce_factory(kKinds[1])},
    KernelRegistrar{reduce_factory(kKinds[2])}, KernelRegistrar{reduce_factory(kKinds[3])},
    KernelRegistrar{reduce_factory(kKinds[4])}, KernelRegistrar{reduce_factory(kKinds[5])},
    KernelRegistrar{reduce_factory(kKinds[6])}, KernelRegistrar{reduce_factory(kKinds[7])},
    KernelRegistrar{reduce_factory(kKinds[8])}, KernelRegistrar{reduce_factory(kKinds[9])},
};

// ---- ArgMax / ArgMin over one axis (rows when it is the innermost, else columns) ----

std::optional<ReducePlan> plan_arg(const KernelQuery& q, Layout layout) {
  if (q.input_types.empty() || !is_f32_tensor(q.input_types[0])) return std::nullopt;
  std::optional<Shape> in = concrete_shape(q.input_types[0]);
  if (!in || in->empty() || shape_numel(*in) == 0) return std::nullopt;
  int64_t rank = static_cast<int64_t>(in->size());
  int64_t axis = q.node.attr_int("axis", 0);
  if (axis < -rank || axis >= rank) return std::nullopt;
  if (axis < 0) axis += rank;
  std::vector<bool> reduced(in->size(), false);
  reduced[static_cast<size_t>(axis)] = true;
  ReducePlan p;
  p.in = *in;
  p.out = reduced_shape(*in, reduced, q.node.attr_int("keepdims", 1) != 0);
  Shape stored;
  if (!stored_view(q, layout, *in, reduced, false, stored)) return std::nullopt;  // int64 output: always plain
  if (!collapse(stored, reduced, p) || (p.inner != 1 && p.n >= (int64_t{1} << 24))) return std::nullopt;
  return p;
}

class ArgKernel final : public Kernel {
 public:
  ArgKernel(const KernelQuery& q, ReducePlan plan, const ReduceMicrokernels& mk)
      : plan_(std::move(plan)), mk_(mk), is_max_(q.node.op_type == "ArgMax"),
        last_(q.opset >= 12 && q.node.attr_int("select_last_index", 0) != 0), layout_(q.layout),
        reference_(reference_schema(q)),
        name_(std::string("f32_") + (is_max_ ? "argmax" : "argmin") + (plan_.inner == 1 ? "_rows_" : "_columns_") +
              mk.isa) {}

  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::Float32 || x.shape() != plan_.in) {
      if (layout_ == Layout::ChannelsLast)
        fail("{}: input {} is not the planned {}", ctx.node().label(), shape_str(x.shape()), shape_str(plan_.in));
      return reference_.compute(ctx);
    }
    Tensor& y = ctx.output_uninitialized(0, DType::Int64, plan_.out);
    const float* px = x.data<float>();
    int64_t* py = y.data<int64_t>();
    int64_t n = plan_.n, inner = plan_.inner;
    if (inner == 1) {
      parallel_chunks(
          plan_.outer, std::max<int64_t>(1, kMinElementsPerThread / n), ctx.threads(),
          [&](int64_t s, int64_t e) { mk_.arg_rows(px + s * n, py + s, e - s, n, is_max_, last_); }, 1);
      return;
    }
    parallel_column_chunks(plan_.outer, n, inner, ctx.threads(), [&](int64_t o, int64_t c0, int64_t cols) {
      mk_.arg_columns(px + o * n * inner + c0, py + o * inner + c0, n, inner, cols, is_max_, last_);
    });
  }
  std::string name() const override { return name_; }

 private:
  ReducePlan plan_;
  const ReduceMicrokernels& mk_;
  bool is_max_, last_;
  Layout layout_;
  const OpSchema& reference_;
  std::string name_;
};

KernelFactory arg_factory(const char* op) {
  return KernelFactory{
      .domain = "",
      .op = op,
      .name = std::string("f32_") + op,
      .priority = 10,
      // Asked again with the layout the planner settled on (channels-last only after `channels_last` agreed).
      .applies = [](const KernelQuery& q) { return plan_arg(q, q.layout).has_value(); },
      .create = [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
        return std::make_unique<ArgKernel>(q, *plan_arg(q, q.layout), reduce_for(active_isa()));
      },
      .channels_last = [](const KernelQuery& q) { return plan_arg(q, Layout::ChannelsLast).has_value(); },
  };
}

const KernelRegistrar kArgMaxKernel{arg_factory("ArgMax")};
const KernelRegistrar kArgMinKernel{arg_factory("ArgMin")};

}  // namespace
}  // namespace hone::cpu
