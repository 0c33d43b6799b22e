// Calibration observers (src/compress/quantize/calibration.h) against straightforward references on known
// distributions: the histogram against direct binning, percentile against sorting, entropy against a plain
// TensorRT-style loop over every threshold, mse against the quantization error measured by quantizing the samples
// themselves; streaming in many batches (re-binning as the range grows) against one batch; outliers clipped by every
// method but minmax.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "compress/quantize/calibration.h"

namespace hone::quant {
namespace {

std::vector<float> gaussian_with_outliers(size_t n, size_t outliers_per_side, float outlier, uint64_t seed = 7) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  for (size_t k = 0; k < outliers_per_side; ++k) {
    v[k * 97] = outlier;
    v[k * 97 + 1] = -outlier;
  }
  return v;
}

std::vector<float> uniform(size_t n, float lo, float hi, uint64_t seed = 3) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

Histogram one_batch(const std::vector<float>& v) {
  Histogram h;
  h.add(v.data(), static_cast<int64_t>(v.size()));
  return h;
}

Histogram streamed(const std::vector<float>& v, size_t batches) {
  Histogram h;
  size_t per = (v.size() + batches - 1) / batches;
  for (size_t i = 0; i < v.size(); i += per) h.add(v.data() + i, static_cast<int64_t>(std::min(per, v.size() - i)));
  return h;
}

TEST(QuantizeHistogram, OneBatchBinsLikeDirectBinning) {
  std::vector<float> v = uniform(10000, -3, 2);
  Histogram h = one_batch(v);
  double r = 3.0;  // the largest |x| is just below 3
  double maxabs = 0;
  for (float x : v) maxabs = std::max(maxabs, std::fabs(static_cast<double>(x)));
  EXPECT_DOUBLE_EQ(h.limit(), maxabs);
  (void)r;
  std::vector<double> want(4096, 0);
  for (float x : v) {
    int k = static_cast<int>((static_cast<double>(x) + maxabs) * (2048 / maxabs));
    want[static_cast<size_t>(std::clamp(k, 0, 4095))] += 1;
  }
  EXPECT_EQ(h.counts(), want);
  EXPECT_EQ(h.count(), 10000);
  EXPECT_DOUBLE_EQ(h.min(), *std::min_element(v.begin(), v.end()));
  EXPECT_DOUBLE_EQ(h.max(), *std::max_element(v.begin(), v.end()));
  // |x| bins fold the two sides.
  std::vector<double> a = h.abs_counts();
  double sum = 0;
  for (double c : a) sum += c;
  EXPECT_DOUBLE_EQ(sum, 10000);
  EXPECT_DOUBLE_EQ(a[0], want[2048] + want[2047]);
}

TEST(QuantizeHistogram, RebinningKeepsCountsAndExtremes) {
  // Batches of growing spread: the range grows (and re-bins) many times.
  Histogram h;
  double total = 0;
  for (int b = 1; b <= 40; ++b) {
    std::vector<float> v = uniform(500, -0.1f * b, 0.05f * b, static_cast<uint64_t>(b));
    h.add(v.data(), 500);
    total += 500;
  }
  double sum = 0;
  for (double c : h.counts()) sum += c;
  EXPECT_NEAR(sum, total, 1e-6);
  EXPECT_NEAR(h.min(), -4.0, 0.05);
  EXPECT_NEAR(h.max(), 2.0, 0.05);
  EXPECT_GE(h.limit(), -h.min());
  // Nothing ends up beyond the data: bins past |x| = 4.0 + one bin are empty.
  int first = static_cast<int>((h.limit() - 4.0) / h.bin_width()) - 1;
  for (int k = 0; k < first; ++k) EXPECT_EQ(h.counts()[static_cast<size_t>(k)], 0) << k;
}

TEST(QuantizeHistogram, ZerosAndNonFiniteValues) {
  Histogram h;
  std::vector<float> z(100, 0.0f);
  h.add(z.data(), 100);
  EXPECT_EQ(h.limit(), 0);
  Range r = percentile_range(h, 99.99, false);
  EXPECT_EQ(r.lo, 0);
  EXPECT_EQ(r.hi, 0);
  // Later values re-bin the zeros into the bin holding 0.
  std::vector<float> v = {1.0f, -0.5f};
  h.add(v.data(), 2);
  EXPECT_EQ(h.counts()[2048], 100 + 0);  // 0 lands in [0, w)
  float bad[] = {1.0f, std::numeric_limits<float>::quiet_NaN()};
  EXPECT_THROW(h.add(bad, 2), Error);
  float inf[] = {std::numeric_limits<float>::infinity()};
  EXPECT_THROW(h.add(inf, 1), Error);
}

// The exact value below which `fraction` of |x| lies.
double abs_quantile(std::vector<float> v, double fraction) {
  for (float& x : v) x = std::fabs(x);
  std::sort(v.begin(), v.end());
  size_t k = static_cast<size_t>(std::ceil(fraction * static_cast<double>(v.size()))) - 1;
  return v[std::min(k, v.size() - 1)];
}

double quantile(std::vector<float> v, double fraction) {
  std::sort(v.begin(), v.end());
  auto k = static_cast<size_t>(std::clamp(std::floor(fraction * static_cast<double>(v.size())), 0.0,
                                          static_cast<double>(v.size() - 1)));
  return v[k];
}

TEST(QuantizeCalibration, PercentileMatchesSortedData) {
  std::vector<float> v = gaussian_with_outliers(200000, 5, 50.0f);
  Histogram h = one_batch(v);
  const double w = h.bin_width();
  // Symmetric: the 99.99th percentile of |x|, within one bin.
  Range s = percentile_range(h, 99.99, true);
  double t = abs_quantile(v, 0.9999);
  EXPECT_NEAR(s.hi, t, w + 1e-9);
  EXPECT_NEAR(s.lo, -t, w + 1e-9);
  // Asymmetric: 0.005% cut from each end.
  Range a = percentile_range(h, 99.99, false);
  EXPECT_NEAR(a.lo, quantile(v, 0.00005), 1.5 * w);
  EXPECT_NEAR(a.hi, quantile(v, 0.99995), 1.5 * w);
  // The outliers at 50 are gone; percentile 100 keeps everything.
  EXPECT_LT(a.hi, 6);
  Range all = percentile_range(h, 100, false);
  EXPECT_DOUBLE_EQ(all.hi, 50);
  EXPECT_DOUBLE_EQ(all.lo, -50);
  EXPECT_THROW(percentile_range(h, 0, false), Error);
  EXPECT_THROW(percentile_range(h, 101, false), Error);
}

// TensorRT's loop written plainly: every threshold from 128 bins up, stride 1.
double reference_entropy_threshold(const Histogram& h, int levels) {
  std::vector<double> a = h.abs_counts();
  const int n = static_cast<int>(a.size());
  double best = std::numeric_limits<double>::infinity();
  int best_i = n;
  for (int i = levels; i <= n; ++i) {
    std::vector<double> p(a.begin(), a.begin() + i);
    for (int k = i; k < n; ++k) p[static_cast<size_t>(i - 1)] += a[static_cast<size_t>(k)];
    std::vector<double> q(static_cast<size_t>(i), 0.0);
    int merged = i / levels;
    for (int g = 0; g < levels; ++g) {
      int start = g * merged, stop = g == levels - 1 ? i : start + merged;
      double sum = 0;
      int nz = 0;
      for (int k = start; k < stop; ++k) {
        sum += a[static_cast<size_t>(k)];
        nz += a[static_cast<size_t>(k)] != 0;
      }
      for (int k = start; k < stop; ++k)
        if (a[static_cast<size_t>(k)] != 0) q[static_cast<size_t>(k)] = sum / nz;
    }
    for (size_t k = 0; k < p.size(); ++k)
      if (p[k] == 0) q[k] = 0;
    auto smooth = [](std::vector<double>& d) {
      size_t zeros = static_cast<size_t>(std::count(d.begin(), d.end(), 0.0));
      if (zeros == d.size()) return false;
      double e1 = 1e-4 * static_cast<double>(zeros) / static_cast<double>(d.size() - zeros);
      for (double& x : d) x += x == 0 ? 1e-4 : -e1;
      return true;
    };
    if (!smooth(p) || !smooth(q)) continue;
    double sp = 0, sq = 0, kl = 0;
    for (size_t k = 0; k < p.size(); ++k) {
      sp += p[k];
      sq += q[k];
    }
    for (size_t k = 0; k < p.size(); ++k) kl += p[k] / sp * std::log((p[k] / sp) / (q[k] / sq));
    if (kl < best) {
      best = kl;
      best_i = i;
    }
  }
  return best_i * h.bin_width();
}

TEST(QuantizeCalibration, EntropyMatchesThePlainLoopAndClipsOutliers) {
  std::vector<float> v = gaussian_with_outliers(100000, 5, 50.0f);
  Histogram h = one_batch(v);
  Range r = entropy_range(h, true);
  double want = reference_entropy_threshold(h, 128);
  // The library tries every third threshold: within three bins of the plain loop's choice.
  EXPECT_NEAR(r.hi, want, 3 * h.bin_width() + 1e-12);
  EXPECT_NEAR(r.lo, -want, 3 * h.bin_width() + 1e-12);
  EXPECT_LT(r.hi, 10);
  EXPECT_GT(r.hi, 2);
  // Heavy tails (x^3 of a gaussian), where the number of levels moves the threshold a long way.
  std::vector<float> heavy = v;
  for (float& x : heavy) x = x * x * x;
  Histogram hh = one_batch(heavy);
  double want_heavy = reference_entropy_threshold(hh, 128);
  EXPECT_NEAR(entropy_range(hh, true).hi, want_heavy, 3 * hh.bin_width() + 1e-12);
  EXPECT_GT(std::fabs(reference_entropy_threshold(hh, 64) - want_heavy), 10 * hh.bin_width());
  // One-sided data under an asymmetric scheme: 256 levels over [0, t].
  std::vector<float> pos = v;
  for (float& x : pos) x = std::fabs(x);
  Histogram hp = one_batch(pos);
  Range rp = entropy_range(hp, false);
  EXPECT_EQ(rp.lo, 0);
  EXPECT_NEAR(rp.hi, reference_entropy_threshold(hp, 256), 3 * hp.bin_width() + 1e-12);
}

// Mean squared error of quantizing `v` with clip range [lo, hi] in `steps` steps (round to nearest level).
double quantization_mse(const std::vector<float>& v, double lo, double hi, double steps) {
  double s = (hi - lo) / steps, e = 0;
  for (float x : v) {
    double c = std::clamp(static_cast<double>(x), lo, hi);
    double q = lo + std::nearbyint((c - lo) / s) * s;
    e += (q - x) * (q - x);
  }
  return e / static_cast<double>(v.size());
}

TEST(QuantizeCalibration, MseIsNearTheBestMeasuredClip) {
  std::vector<float> v = gaussian_with_outliers(100000, 5, 50.0f);
  Histogram h = one_batch(v);
  // Symmetric: scan thresholds, measuring the real error of quantizing the samples.
  double best = std::numeric_limits<double>::infinity();
  for (double t = 0.5; t <= 50; t += 0.05) best = std::min(best, quantization_mse(v, -t, t, 254));
  Range r = mse_range(h, true);
  double got = quantization_mse(v, -r.hi, r.hi, 254);
  EXPECT_LE(got, best * 1.05) << "chose " << r.hi;
  EXPECT_DOUBLE_EQ(r.lo, -r.hi);
  // Asymmetric on skewed two-sided data (gaussian shifted right, outliers on both sides).
  std::vector<float> skew = v;
  for (float& x : skew) x = x * 0.5f + 1.0f;
  Histogram hs = one_batch(skew);
  Range ra = mse_range(hs, false);
  double best_a = std::numeric_limits<double>::infinity();
  for (double lo = -3; lo <= 0; lo += 0.2)
    for (double hi = 1; hi <= 6; hi += 0.2) best_a = std::min(best_a, quantization_mse(skew, lo, hi, 255));
  EXPECT_LE(quantization_mse(skew, ra.lo, ra.hi, 255), best_a * 1.05) << ra.lo << " " << ra.hi;
  EXPECT_LE(ra.lo, 0);
  EXPECT_GT(ra.hi, 2);
}

// Rare outliers (one a side in a million values): every method but minmax clips them. (mse keeps outliers whose
// clipping would cost more squared error than the coarser steps they force: those above one in about 200,000 at
// this distance, as MseIsNearTheBestMeasuredClip's 1e-4 do.)
TEST(QuantizeCalibration, OnlyMinmaxKeepsOutliers) {
  std::vector<float> v = gaussian_with_outliers(1000000, 1, 30.0f);
  Histogram h = one_batch(v);
  for (bool sym : {false, true}) {
    Range mm = minmax_range(h);
    EXPECT_DOUBLE_EQ(mm.hi, 30);
    EXPECT_DOUBLE_EQ(mm.lo, -30);
    for (Range r : {percentile_range(h, 99.99, sym), entropy_range(h, sym), mse_range(h, sym)}) {
      EXPECT_LT(r.hi, 10) << sym;
      EXPECT_GT(r.lo, -10) << sym;
      EXPECT_GT(r.hi, 2) << sym;
    }
  }
}

TEST(QuantizeCalibration, UniformDataKeepsMostOfItsRange) {
  std::vector<float> v = uniform(100000, -1, 1);
  Histogram h = one_batch(v);
  for (bool sym : {false, true}) {
    EXPECT_GT(percentile_range(h, 99.99, sym).hi, 0.99);
    EXPECT_GT(mse_range(h, sym).hi, 0.95);
    EXPECT_GT(entropy_range(h, sym).hi, 0.9);
  }
}

TEST(QuantizeCalibration, OneSidedDataStartsAtZero) {
  std::vector<float> v = uniform(50000, 0.25f, 3.0f);
  Histogram h = one_batch(v);
  for (bool sym : {false, true})
    for (Range r : {minmax_range(h), percentile_range(h, 99.9, sym), entropy_range(h, sym), mse_range(h, sym)}) {
      EXPECT_EQ(r.lo, 0) << sym;  // 0 is always in the range; nothing below it
      EXPECT_LE(r.hi, 3.0);
    }
}

TEST(QuantizeCalibration, StreamingAgreesWithOneBatch) {
  // Sorted by |x|: every batch raises the maximum, so the histogram re-bins at nearly every one.
  std::vector<float> v = gaussian_with_outliers(60000, 3, 20.0f);
  std::sort(v.begin(), v.end(), [](float a, float b) { return std::fabs(a) < std::fabs(b); });
  Histogram one = one_batch(v), many = streamed(v, 60);
  EXPECT_EQ(one.count(), many.count());
  EXPECT_EQ(one.min(), many.min());
  EXPECT_EQ(one.max(), many.max());
  const double tol = 0.02 * one.limit();
  for (bool sym : {false, true}) {
    EXPECT_NEAR(percentile_range(one, 99.9, sym).hi, percentile_range(many, 99.9, sym).hi, tol);
    EXPECT_NEAR(entropy_range(one, sym).hi, entropy_range(many, sym).hi, tol);
    EXPECT_NEAR(mse_range(one, sym).hi, mse_range(many, sym).hi, tol);
  }
}

TEST(QuantizeCalibration, ObserverAndMethodNames) {
  TensorObserver o(false);
  Tensor t(DType::Float32, {3});
  t.data<float>()[0] = -1;
  t.data<float>()[1] = 2;
  t.data<float>()[2] = 0.5;
  o.add(t);
  Range r = o.range({});
  EXPECT_EQ(r.lo, -1);
  EXPECT_EQ(r.hi, 2);
  EXPECT_EQ(o.count(), 3);
  // Without histograms only minmax can answer.
  EXPECT_THROW(o.range({.method = CalibrationMethod::Entropy}), Error);
  EXPECT_THROW(o.add(Tensor(DType::Int32, {2})), Error);
  for (auto m : {CalibrationMethod::MinMax, CalibrationMethod::Percentile, CalibrationMethod::Entropy,
                 CalibrationMethod::Mse})
    EXPECT_EQ(parse_method(method_name(m)), m);
  EXPECT_THROW(parse_method("kl"), Error);
}

}  // namespace
}  // namespace hone::quant
