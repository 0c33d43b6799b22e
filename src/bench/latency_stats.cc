#include "bench/latency_stats.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace hone {

double nearest_rank_percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) fail("a percentile of no samples is undefined");
  if (!(p >= 0 && p <= 100)) fail("percentile {} is outside [0, 100]", p);
  auto n = static_cast<double>(sorted.size());
  // The small slack keeps p / 100 * n from rounding up past an exact rank (e.g. 0.29 * 100 = 29.000000000000004).
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * n - 1e-9));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

LatencyStats summarize_latencies(std::vector<double> samples) {
  if (samples.empty()) fail("no latency samples to summarize");
  std::sort(samples.begin(), samples.end());
  LatencyStats s;
  s.count = static_cast<int64_t>(samples.size());
  s.min = samples.front();
  s.max = samples.back();
  double sum = 0;
  for (double v : samples) sum += v;
  s.mean = sum / static_cast<double>(samples.size());
  double sq = 0;
  for (double v : samples) sq += (v - s.mean) * (v - s.mean);
  s.std = samples.size() > 1 ? std::sqrt(sq / static_cast<double>(samples.size() - 1)) : 0.0;
  s.p50 = nearest_rank_percentile(samples, 50);
  s.p90 = nearest_rank_percentile(samples, 90);
  s.p99 = nearest_rank_percentile(samples, 99);
  return s;
}

}  // namespace hone
