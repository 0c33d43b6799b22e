#include "compress/quantize/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "bench/progress.h"
#include "data/dataset.h"
#include "hone/hone.h"
#include "ops/infer_graph.h"

namespace hone::quant {

const char* method_name(CalibrationMethod m) {
  switch (m) {
    case CalibrationMethod::MinMax: return "minmax";
    case CalibrationMethod::Percentile: return "percentile";
    case CalibrationMethod::Entropy: return "entropy";
    case CalibrationMethod::Mse: return "mse";
  }
  return "?";
}

CalibrationMethod parse_method(const std::string& name) {
  for (CalibrationMethod m : {CalibrationMethod::MinMax, CalibrationMethod::Percentile, CalibrationMethod::Entropy,
                              CalibrationMethod::Mse})
    if (name == method_name(m)) return m;
  fail("unknown calibration method '{}' (methods: minmax, percentile, entropy, mse)", name);
}

// ---------------------------------------------------------------------------------------------------------------
// Histogram

Histogram::Histogram(int bins_per_side) : bins_(bins_per_side), counts_(static_cast<size_t>(2 * bins_per_side), 0.0) {
  HONE_CHECK(bins_per_side >= 1, "a histogram needs at least one bin a side");
}

// Spreads every old bin's count over the new bins its interval overlaps, in proportion to the overlap (values are
// taken as uniform within a bin). While the limit was 0 every value seen was 0: that count stays in the bin holding 0.
void Histogram::grow(double new_limit) {
  const int n2 = 2 * bins_;
  std::vector<double> out(static_cast<size_t>(n2), 0.0);
  if (limit_ == 0) {
    out[static_cast<size_t>(bins_)] = counts_[static_cast<size_t>(bins_)];
  } else {
    const double w = limit_ / bins_, nw = new_limit / bins_;
    for (int k = 0; k < n2; ++k) {
      double c = counts_[static_cast<size_t>(k)];
      if (c == 0) continue;
      double a = -limit_ + k * w, b = a + w;
      // New bins overlapping [a, b).
      int first = std::clamp(static_cast<int>(std::floor((a + new_limit) / nw)), 0, n2 - 1);
      int last = std::clamp(static_cast<int>(std::floor((b + new_limit) / nw)), 0, n2 - 1);
      for (int j = first; j <= last; ++j) {
        double lo = std::max(a, -new_limit + j * nw), hi = std::min(b, -new_limit + (j + 1) * nw);
        if (hi > lo) out[static_cast<size_t>(j)] += c * (hi - lo) / w;
      }
    }
  }
  counts_ = std::move(out);
  limit_ = new_limit;
}

void Histogram::add(const float* x, int64_t n) {
  if (n <= 0) return;
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i];
    if (!std::isfinite(v)) fail("a value is {}; calibration needs finite values", v);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (count_ == 0) {
    min_ = lo;
    max_ = hi;
  } else {
    min_ = std::min<double>(min_, lo);
    max_ = std::max<double>(max_, hi);
  }
  count_ += n;
  double m = std::max(std::fabs(static_cast<double>(lo)), std::fabs(static_cast<double>(hi)));
  if (m > limit_) {
    // Grow by at least 1/16 each time, so that slowly rising maxima do not re-bin (and blur) at every batch.
    grow(limit_ == 0 ? m : std::max(m, limit_ * 1.0625));
  }
  const int n2 = 2 * bins_;
  if (limit_ == 0) {  // every value is 0
    counts_[static_cast<size_t>(bins_)] += static_cast<double>(n);
    return;
  }
  const double per = bins_ / limit_;
  for (int64_t i = 0; i < n; ++i) {
    int k = static_cast<int>((static_cast<double>(x[i]) + limit_) * per);
    counts_[static_cast<size_t>(std::clamp(k, 0, n2 - 1))] += 1;
  }
}

std::vector<double> Histogram::abs_counts() const {
  std::vector<double> a(static_cast<size_t>(bins_));
  for (int j = 0; j < bins_; ++j)
    a[static_cast<size_t>(j)] = counts_[static_cast<size_t>(bins_ + j)] + counts_[static_cast<size_t>(bins_ - 1 - j)];
  return a;
}

// ---------------------------------------------------------------------------------------------------------------
// Ranges

namespace {

// The range every method returns: within the data's [min, max] and holding 0.
Range finish(const Histogram& h, double lo, double hi) {
  lo = std::max(lo, h.min());
  hi = std::min(hi, h.max());
  return {std::min(lo, 0.0), std::max(hi, 0.0)};
}

// Data on one side of 0 under an asymmetric scheme uses every level between 0 and its threshold.
bool one_sided(const Histogram& h, bool symmetric) { return !symmetric && h.min() >= 0; }

double total(const std::vector<double>& c) {
  double s = 0;
  for (double v : c) s += v;
  return s;
}

}  // namespace

Range minmax_range(const Histogram& h) { return finish(h, h.min(), h.max()); }

Range percentile_range(const Histogram& h, double percentile, bool symmetric) {
  if (!(percentile > 0 && percentile <= 100)) fail("percentile {} is not in (0, 100]", percentile);
  if (h.count() == 0 || h.limit() == 0) return finish(h, 0, 0);
  const double w = h.bin_width();
  if (symmetric) {
    std::vector<double> a = h.abs_counts();
    double keep = total(a) * percentile / 100, cum = 0;
    size_t j = 0;
    for (; j + 1 < a.size(); ++j) {
      cum += a[j];
      if (cum >= keep) break;
    }
    double t = static_cast<double>(j + 1) * w;
    return finish(h, -t, t);
  }
  const std::vector<double>& c = h.counts();
  double all = total(c), cut = all * (100 - percentile) / 200;
  // lo: the left edge of the first bin whose running count passes `cut`; hi: the right edge of the first bin whose
  // running count reaches all - cut.
  double cum = 0;
  size_t first = 0;
  for (; first + 1 < c.size(); ++first) {
    cum += c[first];
    if (cum > cut) break;
  }
  cum = 0;
  size_t last = 0;
  for (; last + 1 < c.size(); ++last) {
    cum += c[last];
    if (cum >= all - cut) break;
  }
  double lo = -h.limit() + static_cast<double>(first) * w, hi = -h.limit() + static_cast<double>(last + 1) * w;
  return finish(h, lo, hi);
}

namespace {

// Moves a little mass into empty bins so that the KL divergence stays finite (MXNet's / ONNX Runtime's smoothing);
// false when every bin is empty.
bool smooth(std::vector<double>& p) {
  constexpr double eps = 1e-4;
  size_t zeros = 0;
  for (double v : p) zeros += v == 0;
  size_t nonzeros = p.size() - zeros;
  if (nonzeros == 0) return false;
  double eps1 = eps * static_cast<double>(zeros) / static_cast<double>(nonzeros);
  for (double& v : p) v += v == 0 ? eps : -eps1;
  return true;
}

// KL(p || q) of two distributions given as (unnormalized) counts.
double kl_divergence(const std::vector<double>& p, const std::vector<double>& q) {
  double sp = total(p), sq = total(q), d = 0;
  for (size_t k = 0; k < p.size(); ++k) {
    if (p[k] <= 0) continue;
    double pk = p[k] / sp, qk = q[k] / sq;
    if (qk <= 0) return std::numeric_limits<double>::infinity();
    d += pk * std::log(pk / qk);
  }
  return d;
}

}  // namespace

// TensorRT's entropy calibration over the |x| histogram: for each candidate threshold (i bins), the reference P is the
// first i bins with everything beyond added to the last; the candidate Q merges those i bins into `levels` groups and
// spreads each group's count evenly over its non-empty bins. The threshold with the least KL(P || Q) wins.
Range entropy_range(const Histogram& h, bool symmetric) {
  if (h.count() == 0 || h.limit() == 0) return finish(h, 0, 0);
  const std::vector<double> a = h.abs_counts();
  const int n = static_cast<int>(a.size());
  const int levels = one_sided(h, symmetric) ? 256 : 128;
  if (n <= levels) return minmax_range(h);
  // At most about 512 candidates (TensorRT tries all 1920; neighbouring ones differ little).
  const int stride = std::max(1, (n - levels) / 512);
  std::vector<double> suffix(static_cast<size_t>(n) + 1, 0.0);
  for (int k = n - 1; k >= 0; --k) suffix[static_cast<size_t>(k)] = suffix[static_cast<size_t>(k) + 1] + a[static_cast<size_t>(k)];
  double best = std::numeric_limits<double>::infinity();
  int best_i = n;
  std::vector<double> p, q;
  for (int i = levels;; i = std::min(n, i + stride)) {
    p.assign(a.begin(), a.begin() + i);
    p.back() += suffix[static_cast<size_t>(i)];
    q.assign(static_cast<size_t>(i), 0.0);
    const int merged = i / levels;
    for (int g = 0; g < levels; ++g) {
      int start = g * merged, stop = g == levels - 1 ? i : start + merged;
      double sum = 0;
      int nonzero = 0;
      for (int k = start; k < stop; ++k) {
        sum += a[static_cast<size_t>(k)];
        nonzero += a[static_cast<size_t>(k)] != 0;
      }
      if (nonzero == 0) continue;
      for (int k = start; k < stop; ++k)
        if (a[static_cast<size_t>(k)] != 0) q[static_cast<size_t>(k)] = sum / nonzero;
    }
    // Bins empty in P are empty in Q (the outlier mass added to P's last bin is not in Q).
    for (size_t k = 0; k < p.size(); ++k)
      if (p[k] == 0) q[k] = 0;
    if (!smooth(p) || !smooth(q)) {
      if (i == n) break;
      continue;
    }
    double d = kl_divergence(p, q);
    if (d < best) {
      best = d;
      best_i = i;
    }
    if (i == n) break;
  }
  double t = best_i * h.bin_width();
  if (one_sided(h, symmetric)) return finish(h, 0, t);
  return finish(h, -t, t);
}

namespace {

// Running sums of count, count * x and count * x^2 over bins with centers x, for O(1) clipping errors.
struct Moments {
  std::vector<double> n, s1, s2;  // prefix sums: [k] covers bins [0, k)
  explicit Moments(const std::vector<double>& counts, double first_center, double w) {
    size_t m = counts.size();
    n.assign(m + 1, 0);
    s1.assign(m + 1, 0);
    s2.assign(m + 1, 0);
    for (size_t k = 0; k < m; ++k) {
      double x = first_center + static_cast<double>(k) * w, c = counts[k];
      n[k + 1] = n[k] + c;
      s1[k + 1] = s1[k] + c * x;
      s2[k + 1] = s2[k] + c * x * x;
    }
  }
  // sum over bins [from, to) of count * (x - t)^2
  double sq_dist(size_t from, size_t to, double t) const {
    double c = n[to] - n[from], a = s1[to] - s1[from], b = s2[to] - s2[from];
    return std::max(0.0, b - 2 * t * a + t * t * c);
  }
  double count(size_t from, size_t to) const { return n[to] - n[from]; }
};

}  // namespace

// Expected squared error of quantizing with clip range [lo, hi] and `levels - 1` steps: values outside cost their
// distance to the range, values inside the rounding noise step^2 / 12.
Range mse_range(const Histogram& h, bool symmetric) {
  if (h.count() == 0 || h.limit() == 0) return finish(h, 0, 0);
  const double w = h.bin_width();
  if (symmetric || h.min() >= 0) {
    // One threshold t on |x|: range [-t, t] (127 steps a side) or, one-sided, [0, t] (255 steps).
    const std::vector<double> a = h.abs_counts();
    const size_t n = a.size();
    const double steps = symmetric ? 127 : 255;
    Moments mo(a, w / 2, w);
    double best = std::numeric_limits<double>::infinity(), best_t = n * w;
    for (size_t i = 1; i <= n; ++i) {
      double t = static_cast<double>(i) * w, step = t / steps;
      double err = mo.count(0, i) * step * step / 12 + mo.sq_dist(i, n, t);
      if (err < best) {
        best = err;
        best_t = t;
      }
    }
    if (symmetric) return finish(h, -best_t, best_t);
    return finish(h, 0, best_t);
  }
  // Asymmetric, two-sided: lo at a bin edge at or below 0, hi at one at or above; 255 steps between. A coarse grid
  // first, then every edge around its best point.
  const std::vector<double>& c = h.counts();
  const size_t n2 = c.size(), mid = n2 / 2;
  Moments mo(c, -h.limit() + w / 2, w);
  auto edge = [&](size_t k) { return -h.limit() + static_cast<double>(k) * w; };
  auto error = [&](size_t ia, size_t ib) {
    double lo = edge(ia), hi = edge(ib), step = (hi - lo) / 255;
    return mo.sq_dist(0, ia, lo) + mo.sq_dist(ib, n2, hi) + mo.count(ia, ib) * step * step / 12;
  };
  // Data bounds as edges: no candidate beyond them can help.
  size_t lo_edge = static_cast<size_t>(std::clamp(std::floor((h.min() + h.limit()) / w), 0.0, static_cast<double>(mid)));
  size_t hi_edge = static_cast<size_t>(std::clamp(std::ceil((h.max() + h.limit()) / w), static_cast<double>(mid),
                                                  static_cast<double>(n2)));
  const size_t stride = std::max<size_t>(1, mid / 256);
  double best = std::numeric_limits<double>::infinity();
  size_t best_a = lo_edge, best_b = hi_edge;
  auto consider = [&](size_t ia, size_t ib) {
    double e = error(ia, ib);
    if (e < best) {
      best = e;
      best_a = ia;
      best_b = ib;
    }
  };
  std::vector<size_t> as, bs;
  for (size_t ia = lo_edge; ia < mid; ia += stride) as.push_back(ia);
  as.push_back(mid);
  for (size_t ib = hi_edge; ib > mid; ib -= std::min(stride, ib - mid)) bs.push_back(ib);
  bs.push_back(mid);
  for (size_t ia : as)
    for (size_t ib : bs) consider(ia, ib);
  size_t ca = best_a, cb = best_b;
  for (size_t ia = ca > stride ? ca - stride : 0; ia <= std::min(mid, ca + stride); ++ia)
    for (size_t ib = std::max(mid, cb > stride ? cb - stride : 0); ib <= std::min(n2, cb + stride); ++ib)
      if (ia >= lo_edge && ib <= hi_edge) consider(ia, ib);
  return finish(h, edge(best_a), edge(best_b));
}

// ---------------------------------------------------------------------------------------------------------------
// Observers

void TensorObserver::add(const Tensor& t) {
  HONE_CHECK(t.dtype() == DType::Float32, "calibration observes float32 values, not {}", dtype_name(t.dtype()));
  if (keep_histogram_) {
    hist_.add(t.data<float>(), t.numel());
  } else {
    // min / max only: a histogram of one bin a side keeps them (and counts) at no cost.
    if (hist_.bins_per_side() != 1) hist_ = Histogram(1);
    hist_.add(t.data<float>(), t.numel());
  }
  count_ += t.numel();
  if (mean_axis_ == kNoAxis) return;
  const int axis = mean_axis_ < 0 ? t.rank() + mean_axis_ : mean_axis_;
  HONE_CHECK(axis >= 0 && axis < t.rank(), "channel axis {} is out of range for shape [{}]", mean_axis_,
             shape_str(t.shape()));
  const int64_t channels = t.dim(axis);
  int64_t inner = 1;
  for (int k = axis + 1; k < t.rank(); ++k) inner *= t.dim(k);
  if (channel_sum_.empty()) {
    channel_sum_.assign(static_cast<size_t>(channels), 0.0);
    channel_sum_squares_.assign(static_cast<size_t>(channels), 0.0);
    channel_min_sum_.assign(static_cast<size_t>(channels), 0.0);
    channel_max_sum_.assign(static_cast<size_t>(channels), 0.0);
  }
  HONE_CHECK(static_cast<int64_t>(channel_sum_.size()) == channels, "{} channels after {}", channels,
             channel_sum_.size());
  const float* x = t.data<float>();
  const int64_t outer = channels ? t.numel() / (channels * inner) : 0;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c) {
      double s = 0, s2 = 0;
      float lo = std::numeric_limits<float>::infinity(), hi = -lo;
      const float* row = x + (o * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i) {
        s += row[i];
        s2 += static_cast<double>(row[i]) * row[i];
        lo = std::min(lo, row[i]);
        hi = std::max(hi, row[i]);
      }
      const size_t k = static_cast<size_t>(c);
      channel_sum_[k] += s;
      channel_sum_squares_[k] += s2;
      if (inner > 0) {
        channel_min_sum_[k] += lo;
        channel_max_sum_[k] += hi;
      }
    }
  per_channel_ += outer * inner;
  if (inner > 0) samples_ += outer;
}

std::vector<double> TensorObserver::channel_mean_min() const {
  std::vector<double> m = channel_min_sum_;
  for (double& v : m) v = samples_ ? v / static_cast<double>(samples_) : 0.0;
  return m;
}

std::vector<double> TensorObserver::channel_mean_max() const {
  std::vector<double> m = channel_max_sum_;
  for (double& v : m) v = samples_ ? v / static_cast<double>(samples_) : 0.0;
  return m;
}

std::vector<double> TensorObserver::channel_mean_squares() const {
  std::vector<double> m = channel_sum_squares_;
  for (double& v : m) v = per_channel_ ? v / static_cast<double>(per_channel_) : 0.0;
  return m;
}

std::vector<double> TensorObserver::channel_means() const {
  std::vector<double> m = channel_sum_;
  for (double& v : m) v = per_channel_ ? v / static_cast<double>(per_channel_) : 0.0;
  return m;
}

Range TensorObserver::range(const CalibrationOptions& o) const {
  if (o.method == CalibrationMethod::MinMax) return minmax_range(hist_);
  HONE_CHECK(keep_histogram_, "the {} method needs histograms, which were not collected", method_name(o.method));
  switch (o.method) {
    case CalibrationMethod::Percentile: return percentile_range(hist_, o.percentile, o.symmetric);
    case CalibrationMethod::Entropy: return entropy_range(hist_, o.symmetric);
    case CalibrationMethod::Mse: return mse_range(hist_, o.symmetric);
    case CalibrationMethod::MinMax: break;
  }
  return minmax_range(hist_);
}

// ---------------------------------------------------------------------------------------------------------------
// The calibration run

Model with_outputs(const Model& model, const std::vector<std::string>& names) {
  Model m = model;
  std::set<std::string> present;
  for (const ValueInfo& v : m.graph.outputs) present.insert(v.name);
  InferOptions io;
  io.opset = [&model](const std::string& d) { return model.opset(d); };
  io.fold_constants = false;
  io.throw_on_unsupported = false;
  GraphTypes types = infer_graph(m.graph, io, {});
  for (const std::string& n : names) {
    if (!present.insert(n).second) continue;
    ValueInfo v;
    v.name = n;
    auto it = types.types.find(n);
    if (it != types.types.end()) v.type = it->second;
    m.graph.outputs.push_back(std::move(v));
  }
  return m;
}

std::map<std::string, TensorObserver> observe_tensors(const Model& model, const std::vector<std::string>& tensors,
                                                      const data::Dataset& data, const ObserveOptions& options) {
  const Graph& g = model.graph;
  if (g.inputs.size() != 1)
    fail("calibration feeds one input; the model has {} ({}the data set is fed to a single input)", g.inputs.size(),
         g.inputs.empty() ? "none; " : "");
  std::set<std::string> produced;
  for (const Node& n : g.nodes)
    for (const std::string& o : n.outputs) produced.insert(o);
  for (const ValueInfo& v : g.inputs) produced.insert(v.name);
  std::vector<std::string> all = tensors;
  for (const auto& [t, axis] : options.channel_axes)
    if (std::find(all.begin(), all.end(), t) == all.end()) all.push_back(t);
  for (const std::string& t : all)
    if (!produced.count(t)) fail("cannot observe '{}': no node or input of the model produces it", t);

  Model exposed = with_outputs(model, all);
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < exposed.graph.outputs.size(); ++i) index[exposed.graph.outputs[i].name] = i;
  const ValueInfo input = g.inputs[0];
  Session session(std::move(exposed), {.threads = options.threads});
  data::InputBatcher batcher(data, input, options.batch);

  std::map<std::string, TensorObserver> obs;
  for (const std::string& t : all) {
    bool ranged = std::find(tensors.begin(), tensors.end(), t) != tensors.end();
    auto it = obs.emplace(t, TensorObserver(options.histograms && ranged)).first;
    auto axis = options.channel_axes.find(t);
    if (axis != options.channel_axes.end()) it->second.track_channel_means(axis->second);
  }
  ProgressBar bar(options.label, options.progress);
  const int64_t batches = batcher.batches();
  for (int64_t b = 0; b < batches; ++b) {
    std::vector<Value> in = {Value::of(batcher.batch(b))};
    std::vector<Value> out = session.run_values(in);
    const int64_t real = batcher.count(b), full = batcher.batch_size();
    for (auto& [name, o] : obs) {
      const Value& v = out[index.at(name)];
      if (!v.is_tensor() || v.tensor.dtype() != DType::Float32)
        fail("cannot calibrate '{}': it is not a float32 tensor", name);
      Tensor t = v.tensor;
      // A padded last batch (fixed batch dimension): leave the padding out where the batch axis is visible.
      if (real < full && t.rank() >= 1 && t.dim(0) == full) {
        Shape s = t.shape();
        s[0] = real;
        t = Tensor::borrow(DType::Float32, s, const_cast<float*>(v.tensor.data<float>()));
      }
      try {
        o.add(t);
      } catch (const Error& e) {
        fail("calibrating '{}' (batch {} of {}): {}", name, b + 1, batches, e.what());
      }
    }
    bar.update(static_cast<double>(b + 1) / static_cast<double>(batches),
               fmt::format("{} / {} samples", batcher.first_sample(b) + real, data.size()));
  }
  return obs;
}

}  // namespace hone::quant
