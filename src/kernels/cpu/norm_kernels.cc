// Fast float32 BatchNormalization (inference) and InstanceNormalization, registered against the ops whose reference
// kernels they reproduce. Both reduce to y = x * scale[c] + shift[c] over each channel's elements:
//  - BatchNormalization folds its constant scale, B, mean and var into scale = s / sqrt(var + eps) and
//    shift = B - mean * scale once, at plan time (in double, rounded once to float), and supports channels-last rank 4;
//  - InstanceNormalization first measures each (n, c) plane's mean and variance.
// Planes of at least kMinPlane elements are walked one by one; shorter ones (and channels-last rows) are read as one
// long run whose coefficients repeat with a period of C (times the plane size), expanded once to a whole number of
// vectors where that stays short.
#include <cmath>
#include <numeric>
#include <optional>

#include "kernels/cpu/norm_microkernels.h"
#include "runtime/kernel.h"

namespace hone::cpu {
namespace {

// Below this many elements per thread, waking threads costs more than it saves (~10 µs of work at memory speed).
constexpr int64_t kMinElementsPerThread = 64 * 1024;
// Channels-first planes shorter than this use the periodic path (a call per plane would cost more than its work).
constexpr int64_t kMinPlane = 64;
// The periodic path's expanded coefficient vectors stay below this many floats each.
constexpr int64_t kMaxPeriod = 64 * 1024;

std::optional<Shape> concrete_f32(const TypeInfo* t) {
  if (!t || !t->is_tensor() || t->elem != DType::Float32 || !t->shape) return std::nullopt;
  return to_concrete(*t->shape);
}

const OpSchema& reference_schema(const KernelQuery& q) {
  const OpSchema* s = OpRegistry::instance().find(q.node.domain, q.node.op_type, q.opset);
  if (!s || !s->compute) fail("{}: no reference kernel", q.node.label());
  return *s;
}

// A constant per-channel parameter's values, or nullopt (not constant, not a float type, not `c` values).
std::optional<std::vector<double>> channel_param(const Tensor* t, int64_t c) {
  if (!t || t->numel() != c || t->rank() != 1) return std::nullopt;
  DType d = t->dtype();
  if (d != DType::Float32 && d != DType::Float64 && d != DType::Float16 && d != DType::BFloat16) return std::nullopt;
  std::vector<double> v(static_cast<size_t>(c));
  for (int64_t i = 0; i < c; ++i) v[static_cast<size_t>(i)] = t->get_double(i);
  return v;
}

// How y = x * scale[c] + shift[c] walks a tensor of shape `x` stored in `layout`.
class ChannelAffine {
 public:
  ChannelAffine() = default;
  ChannelAffine(const Shape& x, Layout layout) {
    channels_ = x[1];
    numel_ = shape_numel(x);
    inner_ = layout == Layout::ChannelsLast ? 1 : numel_ / (x[0] * channels_);
    int64_t period = channels_ * inner_;  // elements per sample (channels-first) or per pixel (channels-last)
    // Repeated out to a whole number of vectors where that stays small (no tails), else as it is.
    int64_t expanded = std::lcm(period, kNormVectorQuantum);
    periodic_ = layout == Layout::ChannelsLast || (inner_ < kMinPlane && expanded <= kMaxPeriod);
    if (periodic_) period_ = expanded <= kMaxPeriod ? expanded : period;
  }
  // Fixes the coefficients (the periodic path expands them to its period).
  void set(const std::vector<float>& scale, const std::vector<float>& shift) {
    if (!periodic_) {
      scale_ = scale;
      shift_ = shift;
      return;
    }
    size_t padded = static_cast<size_t>((period_ + kNormVectorQuantum - 1) / kNormVectorQuantum * kNormVectorQuantum);
    scale_.assign(padded, 0.0f);
    shift_.assign(padded, 0.0f);
    for (int64_t i = 0; i < period_; ++i) {
      size_t c = static_cast<size_t>(i % (channels_ * inner_) / inner_);
      scale_[static_cast<size_t>(i)] = scale[c];
      shift_[static_cast<size_t>(i)] = shift[c];
    }
  }
  void run(const NormMicrokernels& mk, const float* x, float* y, int threads) const {
    if (periodic_) {
      parallel_pieces(numel_, kMinElementsPerThread, period_, threads, [&](int64_t b, int64_t e) {
        mk.affine_periodic(x + b, y + b, e - b, scale_.data(), shift_.data(), period_);
      });
      return;
    }
    int64_t planes = numel_ / inner_;
    parallel_pieces(planes, std::max<int64_t>(1, kMinElementsPerThread / inner_), 1, threads,
                    [&](int64_t b, int64_t e) {
                      for (int64_t p = b; p < e; ++p) {
                        size_t c = static_cast<size_t>(p % channels_);
                        mk.affine(x + p * inner_, y + p * inner_, inner_, scale_[c], shift_[c]);
                      }
                    });
  }

 private:
  int64_t channels_ = 1, numel_ = 0, inner_ = 1, period_ = 0;
  bool periodic_ = false;
  std::vector<float> scale_, shift_;
};

// ---- BatchNormalization ----

// Inference form with per-channel parameters and only Y asked for; anything else is the reference's (training
// statistics, opset 6's is_test = 0, opsets 6-8's spatial = 0 per-element parameters).
bool batch_norm_is_inference(const KernelQuery& q) {
  const Node& n = q.node;
  for (size_t i = 1; i < n.outputs.size(); ++i)
    if (!n.outputs[i].empty()) return false;
  if (q.opset >= 14 && n.attr_int("training_mode", 0) != 0) return false;
  if (q.opset < 7 && n.attr_int("is_test", 0) == 0) return false;
  if (q.opset < 9 && n.attr_int("spatial", 1) == 0) return false;
  return true;
}

bool batch_norm_applies(const KernelQuery& q, Layout layout) {
  if (q.input_types.size() != 5 || q.input_constants.size() != 5 || !batch_norm_is_inference(q)) return false;
  std::optional<Shape> x = concrete_f32(q.input_types[0]);
  if (!x || x->size() < 2 || shape_numel(*x) == 0) return false;
  if (layout == Layout::ChannelsLast && x->size() != 4) return false;
  for (size_t i = 1; i < 5; ++i)
    if (!channel_param(q.input_constants[i], (*x)[1])) return false;
  return true;
}

class BatchNormKernel final : public Kernel {
 public:
  explicit BatchNormKernel(const KernelQuery& q)
      : mk_(norm_for(active_isa())), layout_(q.layout), reference_(reference_schema(q)) {
    if (!batch_norm_applies(q, q.layout)) fail("{}: not supported by the f32 BatchNormalization kernel", q.node.label());
    shape_ = *concrete_f32(q.input_types[0]);
    int64_t c = shape_[1];
    std::vector<double> s = *channel_param(q.input_constants[1], c), b = *channel_param(q.input_constants[2], c),
                        mean = *channel_param(q.input_constants[3], c), var = *channel_param(q.input_constants[4], c);
    double eps = q.node.attr_float("epsilon", 1e-5f);
    std::vector<float> scale(static_cast<size_t>(c)), shift(static_cast<size_t>(c));
    for (size_t i = 0; i < scale.size(); ++i) {
      double k = s[i] / std::sqrt(var[i] + eps);
      scale[i] = static_cast<float>(k);
      shift[i] = static_cast<float>(b[i] - mean[i] * k);
    }
    affine_ = ChannelAffine(shape_, layout_);
    affine_.set(scale, shift);
  }

  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::Float32 || x.shape() != shape_) {
      if (layout_ == Layout::Plain) return reference_.compute(ctx);  // not what was planned: it checks and reports
      fail("{}: input is {}[{}] but the channels-last kernel was planned for float[{}]", ctx.node().label(),
           dtype_name(x.dtype()), shape_str(x.shape()), shape_str(shape_));
    }
    Tensor& y = ctx.output_uninitialized(0, DType::Float32, shape_);
    affine_.run(mk_, x.data<float>(), y.data<float>(), ctx.threads());
  }
  std::string name() const override { return std::string("f32_batchnorm_") + mk_.isa; }

 private:
  const NormMicrokernels& mk_;
  Layout layout_;
  const OpSchema& reference_;
  Shape shape_;
  ChannelAffine affine_;
};

HONE_REGISTER_KERNEL({
    .domain = "",
    .op = "BatchNormalization",
    .name = "f32_batchnorm",
    .priority = 10,
    .applies = [](const KernelQuery& q) { return batch_norm_applies(q, Layout::Plain); },
    .create = [](const KernelQuery& q) -> std::unique_ptr<Kernel> { return std::make_unique<BatchNormKernel>(q); },
    .channels_last = [](const KernelQuery& q) { return batch_norm_applies(q, Layout::ChannelsLast); },
});

// ---- InstanceNormalization ----

bool is_f32_vector(const TypeInfo* t, int64_t n) {
  std::optional<Shape> s = concrete_f32(t);
  return s && *s == Shape{n};
}

bool instance_norm_applies(const KernelQuery& q) {
  if (q.input_types.size() != 3) return false;
  std::optional<Shape> x = concrete_f32(q.input_types[0]);
  if (!x || x->size() < 3 || shape_numel(*x) == 0) return false;
  return is_f32_vector(q.input_types[1], (*x)[1]) && is_f32_vector(q.input_types[2], (*x)[1]);
}

// Each plane's mean and variance in double over float blocks (variance about the float-rounded mean m', corrected by
// the exact identity sum (x - m')^2 = sum (x - m)^2 + n (m - m')^2), then y = (x - m') * k + (B - (m - m') * k).
class InstanceNormKernel final : public Kernel {
 public:
  explicit InstanceNormKernel(const KernelQuery& q)
      : mk_(norm_for(active_isa())), reference_(reference_schema(q)), eps_(q.node.attr_float("epsilon", 1e-5f)) {
    shape_ = *concrete_f32(q.input_types[0]);
    inner_ = shape_numel(shape_) / (shape_[0] * shape_[1]);
  }

  void run(OpContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& scale = ctx.input(1);
    const Tensor& bias = ctx.input(2);
    int64_t c = shape_[1];
    if (x.dtype() != DType::Float32 || x.shape() != shape_ || scale.dtype() != DType::Float32 ||
        bias.dtype() != DType::Float32 || scale.shape() != Shape{c} || bias.shape() != Shape{c})
      return reference_.compute(ctx);
    Tensor& y = ctx.output_uninitialized(0, DType::Float32, shape_);
    const float* px = x.data<float>();
    const float* ps = scale.data<float>();
    const float* pb = bias.data<float>();
    float* py = y.data<float>();
    int64_t inner = inner_;
    double n = static_cast<double>(inner), eps = eps_;
    const NormMicrokernels& mk = mk_;
    parallel_pieces(shape_[0] * c, std::max<int64_t>(1, kMinElementsPerThread / inner), 1, ctx.threads(),
                    [&](int64_t b, int64_t e) {
                      for (int64_t p = b; p < e; ++p) {
                        const float* xp = px + p * inner;
                        double mean = mk.sum(xp, inner) / n;
                        float m = static_cast<float>(mean);
                        double d = mean - static_cast<double>(m);
                        double var = std::max(0.0, mk.sum_squared_deviation(xp, inner, m) / n - d * d);
                        double k = static_cast<double>(ps[p % c]) / std::sqrt(var + eps);
                        mk.centered_affine(xp, py + p * inner, inner, m, static_cast<float>(k),
                                           static_cast<float>(static_cast<double>(pb[p % c]) - d * k));
                      }
                    });
  }
  std::string name() const override { return std::string("f32_instancenorm_") + mk_.isa; }

 private:
  const NormMicrokernels& mk_;
  const OpSchema& reference_;
  double eps_;
  Shape shape_;
  int64_t inner_ = 1;
};

HONE_REGISTER_KERNEL({
    .domain = "",
    .op = "InstanceNormalization",
    .name = "f32_instancenorm",
    .priority = 10,
    .applies = instance_norm_applies,
    .create = [](const KernelQuery& q) -> std::unique_ptr<Kernel> { return std::make_unique<InstanceNormKernel>(q); },
});

}  // namespace
}  // namespace hone::cpu
