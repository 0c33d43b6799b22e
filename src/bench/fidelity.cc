#include "bench/fidelity.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace hone {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int64_t last_axis(const Tensor& t) { return t.rank() == 0 ? 1 : t.shape().back(); }

}  // namespace

int64_t argmax_row(const float* v, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(v[i])) return i;
    if (v[i] > v[best]) best = i;
  }
  return best;
}

void FidelityAccumulator::add(const Tensor& out, const Tensor& ref) {
  if (out.dtype() != DType::Float32 || ref.dtype() != DType::Float32)
    fail("fidelity compares float32 outputs; got {} and {}", dtype_name(out.dtype()), dtype_name(ref.dtype()));
  if (out.shape() != ref.shape())
    fail("fidelity compares outputs of the same shape; got [{}] and reference [{}]", shape_str(out.shape()),
         shape_str(ref.shape()));
  const float* o = out.data<float>();
  const float* r = ref.data<float>();
  const int64_t n = out.numel();
  // Sums of this call first, then into the totals: the partial sums stay of similar size, which keeps the rounding
  // of a long run small.
  double dot = 0, oo = 0, rr = 0, ee = 0, mx = max_abs_;
  bool nan = false;
  for (int64_t i = 0; i < n; ++i) {
    const double a = o[i], b = r[i], d = a - b;
    dot += a * b;
    oo += a * a;
    rr += b * b;
    if (a == b) continue;  // also equal infinities, whose difference would be NaN
    if (std::isnan(d)) {
      nan = true;
      continue;
    }
    ee += d * d;
    mx = std::max(mx, std::fabs(d));
  }
  dot_ += dot;
  out_sq_ += oo;
  ref_sq_ += rr;
  err_sq_ += ee;
  max_abs_ = mx;
  nan_ = nan_ || nan;
  elements_ += n;
  const int64_t len = last_axis(out);
  if (len == 0) return;
  for (int64_t row = 0; row < n / len; ++row) {
    rows_agreeing_ += argmax_row(o + row * len, len) == argmax_row(r + row * len, len);
    ++rows_;
  }
}

double FidelityAccumulator::cosine() const {
  if (nan_) return kNaN;
  if (out_sq_ == 0 && ref_sq_ == 0) return 1;
  if (out_sq_ == 0 || ref_sq_ == 0) return 0;
  if (err_sq_ == 0) return 1;  // identical: exactly 1, not 1 - rounding
  return std::clamp(dot_ / (std::sqrt(out_sq_) * std::sqrt(ref_sq_)), -1.0, 1.0);
}

double FidelityAccumulator::max_abs_error() const { return nan_ ? kNaN : max_abs_; }

double FidelityAccumulator::sqnr_db() const {
  if (nan_) return kNaN;
  if (err_sq_ == 0) return std::numeric_limits<double>::infinity();
  return 10 * std::log10(ref_sq_ / err_sq_);
}

double FidelityAccumulator::top1_agreement() const {
  return rows_ ? static_cast<double>(rows_agreeing_) / static_cast<double>(rows_) : kNaN;
}

void AccuracyAccumulator::add(const Tensor& logits, const int64_t* labels, int64_t n) {
  if (logits.dtype() != DType::Float32)
    fail("accuracy needs float32 scores; the model's output is {}", dtype_name(logits.dtype()));
  const int64_t classes = last_axis(logits);
  if (classes == 0 || logits.numel() / classes != n)
    fail("accuracy needs one row of class scores per sample: {} samples, scores of shape [{}]", n,
         shape_str(logits.shape()));
  if (count_ > 0 && classes != classes_)
    fail("class scores changed width between batches ({} then {} classes)", classes_, classes);
  for (int64_t s = 0; s < n; ++s)
    if (labels[s] < 0 || labels[s] >= classes)
      fail("label {} of sample {} is outside the model's {} classes (0 to {})", labels[s], count_ + s, classes,
           classes - 1);
  const float* v = logits.data<float>();
  for (int64_t s = 0; s < n; ++s) {
    const float* row = v + s * classes;
    const float mine = row[labels[s]];
    // The label's rank: classes scoring higher, and those scoring the same with a lower index.
    int64_t rank = 0;
    bool nan = false;
    for (int64_t c = 0; c < classes; ++c) {
      nan = nan || std::isnan(row[c]);
      rank += row[c] > mine || (row[c] == mine && c < labels[s]);
    }
    if (nan) continue;
    top1_ += rank == 0;
    top5_ += rank < 5;
  }
  count_ += n;
  classes_ = classes;
}

double AccuracyAccumulator::top1() const {
  return count_ ? static_cast<double>(top1_) / static_cast<double>(count_) : kNaN;
}

double AccuracyAccumulator::top5() const {
  return has_top5() ? static_cast<double>(top5_) / static_cast<double>(count_) : kNaN;
}

}  // namespace hone
