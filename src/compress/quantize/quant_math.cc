#include "compress/quantize/quant_math.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

namespace hone::quant {

namespace {
// A scale that QuantizeLinear can divide by: positive, normal and finite; else 1 (the range is empty).
float usable_scale(double s) {
  auto f = static_cast<float>(s);
  return std::isfinite(f) && f >= FLT_MIN ? f : 1.0f;
}
}  // namespace

ActivationParams activation_params(const Range& r, bool symmetric) {
  double lo = std::min(r.lo, 0.0), hi = std::max(r.hi, 0.0);
  ActivationParams p;
  if (symmetric) {
    p.type = DType::Int8;
    p.scale = usable_scale(std::max(-lo, hi) / 127);
    p.zero_point = 0;
    return p;
  }
  p.type = DType::UInt8;
  p.scale = usable_scale((hi - lo) / 255);
  // -lo / scale in float, as the runtime divides; lo = 0 gives zero point 0 exactly.
  double zp = std::nearbyint(static_cast<double>(static_cast<float>(-lo) / p.scale));
  p.zero_point = static_cast<int32_t>(std::clamp(zp, 0.0, 255.0));
  return p;
}

QuantizedWeight quantize_weight(const Tensor& w, int64_t axis, const std::vector<float>* min_scale, bool mse_clip) {
  HONE_CHECK(w.dtype() == DType::Float32, "weights to quantize must be float32, not {}", dtype_name(w.dtype()));
  HONE_CHECK(axis < w.rank(), "quantization axis {} is out of range for a weight of rank {}", axis, w.rank());
  QuantizedWeight out;
  out.axis = axis;
  int64_t channels = 1, inner = w.numel();
  if (axis >= 0) {
    channels = w.dim(static_cast<int>(axis));
    inner = 1;
    for (int k = static_cast<int>(axis) + 1; k < w.rank(); ++k) inner *= w.dim(k);
  }
  Shape ps = axis >= 0 ? Shape{channels} : Shape{};
  out.scale = Tensor(DType::Float32, ps);
  out.zero_point = Tensor(DType::Int8, ps);
  out.q = Tensor(DType::Int8, w.shape());
  const float* x = w.data<float>();
  auto* q = out.q.data<int8_t>();
  float* scale = out.scale.data<float>();
  const int64_t n = w.numel();
  std::vector<float> amax(static_cast<size_t>(channels), 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    HONE_CHECK(std::isfinite(x[i]), "a weight value is {}; only finite weights can be quantized", x[i]);
    int64_t c = axis >= 0 ? (i / inner) % channels : 0;
    amax[static_cast<size_t>(c)] = std::max(amax[static_cast<size_t>(c)], std::fabs(x[i]));
  }
  if (min_scale)
    HONE_CHECK(min_scale->size() == 1 || static_cast<int64_t>(min_scale->size()) == channels,
               "{} scale floors for {} channels", min_scale->size(), channels);
  std::vector<float> ratio(static_cast<size_t>(channels), 1.0f);
  if (mse_clip) {
    // Squared error of every slice at each candidate ratio, in one sweep over the weights.
    constexpr int kSteps = 51;  // r = 1.00, 0.99, ..., 0.50
    std::vector<double> err(static_cast<size_t>(channels * kSteps), 0.0);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t c = axis >= 0 ? (i / inner) % channels : 0;
      const double a = amax[static_cast<size_t>(c)];
      if (!(a > 0)) continue;
      for (int s = 0; s < kSteps; ++s) {
        const double sc = a * (1.0 - 0.01 * s) / 127;
        const double qv = std::clamp(std::nearbyint(x[i] / sc), -127.0, 127.0);
        const double e = x[i] - qv * sc;
        err[static_cast<size_t>(c * kSteps + s)] += e * e;
      }
    }
    for (int64_t c = 0; c < channels; ++c) {
      int best = 0;
      for (int s = 1; s < kSteps; ++s)
        if (err[static_cast<size_t>(c * kSteps + s)] < err[static_cast<size_t>(c * kSteps + best)]) best = s;
      ratio[static_cast<size_t>(c)] = static_cast<float>(1.0 - 0.01 * best);
    }
  }
  for (int64_t c = 0; c < channels; ++c) {
    scale[c] = usable_scale(static_cast<double>(amax[static_cast<size_t>(c)]) * ratio[static_cast<size_t>(c)] / 127);
    if (min_scale) scale[c] = std::max(scale[c], (*min_scale)[min_scale->size() == 1 ? 0 : static_cast<size_t>(c)]);
  }
  for (int64_t i = 0; i < n; ++i) {
    int64_t c = axis >= 0 ? (i / inner) % channels : 0;
    float v = std::nearbyint(x[i] / scale[c]);
    q[i] = static_cast<int8_t>(std::clamp(v, -127.0f, 127.0f));
  }
  return out;
}

QuantizedBias quantize_bias(const Tensor& b, float x_scale, const Tensor& w_scale) {
  HONE_CHECK(b.dtype() == DType::Float32, "a bias to quantize must be float32, not {}", dtype_name(b.dtype()));
  const int64_t n = b.numel();
  const bool per_channel = w_scale.numel() != 1;
  HONE_CHECK(!per_channel || w_scale.numel() == n, "bias of {} values with {} weight scales", n, w_scale.numel());
  QuantizedBias out;
  Shape ps = per_channel ? Shape{n} : Shape{};
  out.scale = Tensor(DType::Float32, ps);
  out.zero_point = Tensor(DType::Int32, ps);
  out.q = Tensor(DType::Int32, {n});
  const float* ws = w_scale.data<float>();
  float* s = out.scale.data<float>();
  for (int64_t k = 0; k < out.scale.numel(); ++k) s[k] = x_scale * ws[k];  // a float product, as the runtime forms it
  const float* x = b.data<float>();
  auto* q = out.q.data<int32_t>();
  constexpr double lo = -2147483648.0, hi = 2147483647.0;
  for (int64_t i = 0; i < n; ++i) {
    HONE_CHECK(std::isfinite(x[i]), "a bias value is {}; only finite biases can be quantized", x[i]);
    float sc = s[per_channel ? i : 0];
    double v = sc > 0 ? std::nearbyint(static_cast<double>(x[i]) / sc) : 0.0;
    if (v < lo || v > hi) ++out.clamped;
    q[i] = static_cast<int32_t>(std::clamp(v, lo, hi));
  }
  return out;
}

}  // namespace hone::quant
