// Calibration for static quantization: what values each activation takes on representative data, and the clip range
// each method derives from them.
//
// An observer sees a tensor's values batch after batch. It always keeps the exact minimum and maximum; for the
// histogram methods it also keeps a histogram over [-R, R] (R: the largest |x| so far, 2048 bins a side), re-binned
// when a later batch holds larger values. The methods:
//   minmax      [min, max] of everything seen.
//   percentile  cut (100 - p)% of the values: symmetric schemes cut the largest |x|, asymmetric ones (100 - p)/2 %
//               from each end (ONNX Runtime's rule); p = 99.99 by default.
//   entropy     TensorRT's calibration: the threshold t over the |x| histogram whose int8 image (128 levels; 256
//               for one-sided data under an asymmetric scheme) loses the least information (KL divergence).
//   mse         the clip range minimizing the expected squared error: clipping error of the values outside plus the
//               rounding error step^2 / 12 of those inside.
// Every range returned holds 0 (a zero point must represent it exactly) and lies within [min, max] otherwise.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"

namespace hone::data {
class Dataset;
}

namespace hone::quant {

enum class CalibrationMethod { MinMax, Percentile, Entropy, Mse };
const char* method_name(CalibrationMethod m);  // "minmax", "percentile", "entropy", "mse"
// Throws hone::Error listing the methods for anything else.
CalibrationMethod parse_method(const std::string& name);

struct Range {
  double lo = 0, hi = 0;
};

// Counts of values in 2 * bins_per_side equal bins over [-R, R].
class Histogram {
 public:
  static constexpr int kDefaultBinsPerSide = 2048;
  explicit Histogram(int bins_per_side = kDefaultBinsPerSide);

  // Adds finite values; throws on NaN or infinity (a range cannot be calibrated from them).
  void add(const float* x, int64_t n);

  int bins_per_side() const { return bins_; }
  double limit() const { return limit_; }            // R
  double bin_width() const { return limit_ / bins_; }  // 0 while every value seen was 0
  double min() const { return min_; }
  double max() const { return max_; }
  int64_t count() const { return count_; }
  // Bin k covers [-R + k w, -R + (k + 1) w); the last one includes R.
  const std::vector<double>& counts() const { return counts_; }
  // Counts of |x|: bin k covers [k w, (k + 1) w).
  std::vector<double> abs_counts() const;

 private:
  void grow(double new_limit);
  int bins_;
  double limit_ = 0;
  double min_ = 0, max_ = 0;
  int64_t count_ = 0;
  std::vector<double> counts_;
};

// The clip range each method chooses from a histogram. `symmetric`: the range will be quantized symmetrically
// (int8 with zero point 0); otherwise asymmetrically (uint8 with a zero point).
Range minmax_range(const Histogram& h);
Range percentile_range(const Histogram& h, double percentile, bool symmetric);
Range entropy_range(const Histogram& h, bool symmetric);
Range mse_range(const Histogram& h, bool symmetric);

struct CalibrationOptions {
  CalibrationMethod method = CalibrationMethod::MinMax;
  double percentile = 99.99;
  bool symmetric = false;
};

// One tensor's values over the calibration data.
class TensorObserver {
 public:
  explicit TensorObserver(bool keep_histogram = true) : keep_histogram_(keep_histogram) {}
  void add(const Tensor& t);  // float32; throws naming nothing (the caller names the tensor)
  // [min, max] with minmax, else the method's choice from the histogram (which must have been kept).
  Range range(const CalibrationOptions& o) const;
  double min() const { return hist_.min(); }
  double max() const { return hist_.max(); }
  int64_t count() const { return count_; }
  const Histogram& histogram() const { return hist_; }
  bool has_histogram() const { return keep_histogram_; }

  // Also the mean of each channel along `axis` (negative: from the end), over every other position: what bias
  // correction needs of a layer's input. Call before the first add(); tensors must then have rank > the axis.
  void track_channel_means(int axis) { mean_axis_ = axis; }
  bool tracks_channel_means() const { return mean_axis_ != kNoAxis; }
  std::vector<double> channel_means() const;
  // With channel means tracked: each channel's mean square, and the mean over samples (positions of the axes before
  // the channel axis) of each sample's minimum and maximum in that channel (what equalization needs: steadier than
  // the extremes of all the data).
  std::vector<double> channel_mean_squares() const;
  std::vector<double> channel_mean_min() const;
  std::vector<double> channel_mean_max() const;

 private:
  static constexpr int kNoAxis = 1 << 30;
  bool keep_histogram_;
  Histogram hist_;
  int64_t count_ = 0;
  int mean_axis_ = kNoAxis;
  std::vector<double> channel_sum_, channel_sum_squares_, channel_min_sum_, channel_max_sum_;
  int64_t samples_ = 0;  // rows summed into channel_min_sum_ / channel_max_sum_ per channel
  int64_t per_channel_ = 0;  // values summed into each channel
};

struct ObserveOptions {
  int64_t batch = 32;     // for a symbolic batch dimension (data::InputBatcher)
  int threads = 0;        // Session threads; 0: all cores
  bool histograms = true;  // false: min/max only (enough for minmax)
  bool progress = true;    // progress bar on stderr (terminals only, after a second)
  std::string label = "calibrating";
  // Tensors whose per-channel means to keep too (tensor -> channel axis); observed even when not in `tensors`.
  std::map<std::string, int> channel_axes;
};

// Runs `model` over `data` fed to its only input, with every tensor in `tensors` (and options.channel_axes) exposed
// as an extra graph output, and returns an observer per tensor. Throws for a model with several inputs, a tensor that
// is not a float32 value of the graph, or data that does not fit the input (naming them).
std::map<std::string, TensorObserver> observe_tensors(const Model& model, const std::vector<std::string>& tensors,
                                                      const data::Dataset& data, const ObserveOptions& options);

// `model` with the named values appended to its graph outputs (types from inference where known); values already
// outputs are not repeated. For running a model with intermediate tensors visible.
Model with_outputs(const Model& model, const std::vector<std::string>& names);

}  // namespace hone::quant
