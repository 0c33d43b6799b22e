// Fast float32 Softmax, LogSoftmax and Hardmax over any axis. The input is seen as [outer, n, inner] around the
// normalized axis (opset 13+: the one axis; before 13: everything from `axis` on, so inner is 1): inner == 1 runs
// contiguous rows, anything else runs columns n rows deep, vectorized across inner. Channels-last inputs are seen in
// their stored N,H,W,C order, where Softmax over C (axis 1) becomes contiguous rows.
#include <string>

#include "kernels/cpu/elementwise_broadcast.h"
#include "kernels/cpu/kernel_helpers.h"
#include "kernels/cpu/reduce_microkernels.h"
#include "ops/reduce/axes.h"

namespace hone::cpu {
namespace {

enum class Family { Softmax, LogSoftmax, Hardmax };

Family family_of(const std::string& op) {
  return op == "Softmax" ? Family::Softmax : op == "LogSoftmax" ? Family::LogSoftmax : Family::Hardmax;
}

struct SoftmaxPlan {
  Shape shape;  // logical
  AxisSplit split;
};

// Where an N,C,H,W axis sits in N,H,W,C order.
constexpr int64_t kStoredAxis[4] = {0, 3, 1, 2};

std::optional<SoftmaxPlan> plan_softmax(const KernelQuery& q, Layout layout) {
  if (q.input_types.empty() || !is_f32_tensor(q.input_types[0])) return std::nullopt;
  std::optional<Shape> shape = concrete_shape(q.input_types[0]);
  if (!shape || shape->empty() || shape_numel(*shape) == 0) return std::nullopt;
  int64_t rank = static_cast<int64_t>(shape->size());
  bool legacy = q.opset < 13;
  int64_t axis = q.node.attr_int("axis", legacy ? 1 : -1);
  if (axis < -rank || axis >= rank) return std::nullopt;  // the reference reports it
  if (axis < 0) axis += rank;
  Shape stored = *shape;
  if (layout == Layout::ChannelsLast) {
    if (!is_channels_last_input(q, 0)) return std::nullopt;
    stored = nhwc_of(*shape);
    // Legacy softmax runs over the dims from `axis` on: in N,H,W,C order they stay trailing only from N or C, and
    // then in another order, which only Hardmax (first maximum) can tell.
    if (legacy && ((axis != 0 && axis != 1) || family_of(q.node.op_type) == Family::Hardmax)) return std::nullopt;
    if (!legacy) axis = kStoredAxis[axis];
  }
  SoftmaxPlan p{*shape, split_at_axis(stored, axis)};
  if (legacy) {
    p.split.n *= p.split.inner;
    p.split.inner = 1;
  }
  if (family_of(q.node.op_type) == Family::Hardmax && p.split.inner != 1) return std::nullopt;
  return p;
}

class SoftmaxKernel final : public Kernel {
 public:
  SoftmaxKernel(const KernelQuery& q, SoftmaxPlan plan, const ReduceMicrokernels& mk)
      : family_(family_of(q.node.op_type)), plan_(std::move(plan)), mk_(mk), layout_(q.layout),
        reference_(reference_schema(q)) {
    const char* what = family_ == Family::Softmax ? "softmax" : family_ == Family::LogSoftmax ? "log_softmax" : "hardmax";
    name_ = std::string("f32_") + what + (plan_.split.inner == 1 ? "_rows_" : "_columns_") + mk.isa;
  }

  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::Float32 || x.shape() != plan_.shape) {
      if (layout_ == Layout::ChannelsLast)
        fail("{}: input {} is not the planned {}", ctx.node().label(), shape_str(x.shape()), shape_str(plan_.shape));
      return reference_.compute(ctx);
    }
    Tensor& y = ctx.output_uninitialized(0, DType::Float32, x.shape());
    const float* px = x.data<float>();
    float* py = y.data<float>();
    int64_t outer = plan_.split.outer, n = plan_.split.n, inner = plan_.split.inner;
    SoftmaxOp op = family_ == Family::LogSoftmax ? SoftmaxOp::LogSoftmax : SoftmaxOp::Softmax;
    if (inner == 1) {
      parallel_chunks(
          outer, std::max<int64_t>(1, kMinElementsPerThread / n), ctx.threads(),
          [&](int64_t s, int64_t e) {
            if (family_ == Family::Hardmax) mk_.hardmax_rows(px + s * n, py + s * n, e - s, n);
            else mk_.softmax_rows(op, px + s * n, py + s * n, e - s, n);
          },
          1);
      return;
    }
    parallel_column_chunks(outer, n, inner, ctx.threads(), [&](int64_t o, int64_t c0, int64_t cols) {
      int64_t base = o * n * inner + c0;
      mk_.softmax_columns(op, px + base, py + base, n, inner, cols);
    });
  }
  std::string name() const override { return name_; }

 private:
  Family family_;
  SoftmaxPlan plan_;
  const ReduceMicrokernels& mk_;
  Layout layout_;
  const OpSchema& reference_;
  std::string name_;
};

KernelFactory softmax_factory(const char* op, const char* short_name) {
  return KernelFactory{
      .domain = "",
      .op = op,
      .name = std::string("f32_") + short_name,
      .priority = 10,
      // Asked again with the layout the planner settled on (channels-last only after `channels_last` agreed).
      .applies = [](const KernelQuery& q) { return plan_softmax(q, q.layout).has_value(); },
      .create = [](const KernelQuery& q) -> std::unique_ptr<Kernel> {
        return std::make_unique<SoftmaxKernel>(q, *plan_softmax(q, q.layout), reduce_for(active_isa()));
      },
      .channels_last = [](const KernelQuery& q) { return plan_softmax(q, Layout::ChannelsLast).has_value(); },
  };
}

const KernelRegistrar kSoftmaxKernel{softmax_factory("Softmax", "softmax")};
const KernelRegistrar kLogSoftmaxKernel{softmax_factory("LogSoftmax", "log_softmax")};
const KernelRegistrar kHardmaxKernel{softmax_factory("Hardmax", "hardmax")};

}  // namespace
}  // namespace hone::cpu
