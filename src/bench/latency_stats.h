// Summary statistics of a set of latency samples, as `hone bench` reports them.
//
// Percentiles use the nearest-rank definition: for p in (0, 100], the p-th percentile of n sorted samples
// x[1] <= ... <= x[n] is x[ceil(p / 100 * n)]; p = 0 gives x[1]. It is always one of the samples (no interpolation),
// so p50 of {1, 2, 3, 4} is 2 and p99 of fewer than 100 samples is the maximum.
// The standard deviation is the sample one (divisor n - 1; 0 for a single sample).
#pragma once
#include <cstdint>
#include <vector>

namespace hone {

struct LatencyStats {
  int64_t count = 0;
  double min = 0, max = 0, mean = 0, std = 0;
  double p50 = 0, p90 = 0, p99 = 0;
};

// Nearest-rank percentile of already sorted samples; throws hone::Error when empty or p is outside [0, 100].
double nearest_rank_percentile(const std::vector<double>& sorted, double p);

// Statistics of `samples` (any order). Throws hone::Error when empty.
LatencyStats summarize_latencies(std::vector<double> samples);

}  // namespace hone
