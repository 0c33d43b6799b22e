// The latency statistics `hone bench` reports: nearest-rank percentiles and moments on data with known answers.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "bench/latency_stats.h"
#include "core/error.h"

namespace hone {
namespace {

TEST(NearestRankPercentile, PicksTheSampleAtRankCeilPN) {
  std::vector<double> x = {1, 2, 3, 4};
  EXPECT_EQ(nearest_rank_percentile(x, 0), 1);
  EXPECT_EQ(nearest_rank_percentile(x, 25), 1);     // ceil(1.0) = 1
  EXPECT_EQ(nearest_rank_percentile(x, 25.1), 2);   // ceil(1.004) = 2
  EXPECT_EQ(nearest_rank_percentile(x, 50), 2);     // no interpolation: not 2.5
  EXPECT_EQ(nearest_rank_percentile(x, 75), 3);
  EXPECT_EQ(nearest_rank_percentile(x, 90), 4);
  EXPECT_EQ(nearest_rank_percentile(x, 100), 4);
}

TEST(NearestRankPercentile, ExactRanksDoNotRoundUp) {
  // 1..100: the p-th percentile is p itself for whole p, though p / 100 * 100 is not always exact in binary.
  std::vector<double> x(100);
  std::iota(x.begin(), x.end(), 1.0);
  for (int p = 1; p <= 100; ++p) EXPECT_EQ(nearest_rank_percentile(x, p), p) << p;
  // 1..1000: p99 is the 990th value, p90 the 900th.
  std::vector<double> y(1000);
  std::iota(y.begin(), y.end(), 1.0);
  EXPECT_EQ(nearest_rank_percentile(y, 99), 990);
  EXPECT_EQ(nearest_rank_percentile(y, 90), 900);
  EXPECT_EQ(nearest_rank_percentile(y, 99.9), 999);
}

TEST(NearestRankPercentile, RejectsEmptyAndOutOfRange) {
  EXPECT_THROW(nearest_rank_percentile({}, 50), Error);
  EXPECT_THROW(nearest_rank_percentile({1.0}, -1), Error);
  EXPECT_THROW(nearest_rank_percentile({1.0}, 100.5), Error);
}

TEST(SummarizeLatencies, KnownData) {
  // Unsorted on purpose. Mean 5, sample variance 32/7.
  LatencyStats s = summarize_latencies({9, 2, 4, 4, 5, 5, 7, 4});
  EXPECT_EQ(s.count, 8);
  EXPECT_EQ(s.min, 2);
  EXPECT_EQ(s.max, 9);
  EXPECT_DOUBLE_EQ(s.mean, 5);
  EXPECT_DOUBLE_EQ(s.std, std::sqrt(32.0 / 7.0));
  EXPECT_EQ(s.p50, 4);  // sorted 2 4 4 4 5 5 7 9: rank ceil(4) = 4
  EXPECT_EQ(s.p90, 9);  // rank ceil(7.2) = 8
  EXPECT_EQ(s.p99, 9);
}

TEST(SummarizeLatencies, OneSampleAndOrdering) {
  LatencyStats one = summarize_latencies({3.5});
  EXPECT_EQ(one.count, 1);
  EXPECT_EQ(one.min, 3.5);
  EXPECT_EQ(one.p50, 3.5);
  EXPECT_EQ(one.p99, 3.5);
  EXPECT_EQ(one.max, 3.5);
  EXPECT_EQ(one.std, 0);
  EXPECT_THROW(summarize_latencies({}), Error);

  std::mt19937_64 rng(42);
  std::vector<double> x(1001);
  for (double& v : x) v = std::exponential_distribution<double>(1.0)(rng);
  LatencyStats s = summarize_latencies(x);
  EXPECT_LE(s.min, s.p50);
  EXPECT_LE(s.p50, s.p90);
  EXPECT_LE(s.p90, s.p99);
  EXPECT_LE(s.p99, s.max);
  std::sort(x.begin(), x.end());
  EXPECT_EQ(s.p50, x[500]);   // rank ceil(500.5) = 501
  EXPECT_EQ(s.p90, x[900]);   // rank ceil(900.9) = 901
  EXPECT_EQ(s.p99, x[990]);   // rank ceil(990.99) = 991
  EXPECT_EQ(s.max, x.back());
}

}  // namespace
}  // namespace hone
