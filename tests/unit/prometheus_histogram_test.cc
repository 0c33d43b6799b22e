// Reading a histogram out of Prometheus text, as `hone bench --server` reads the server's batch sizes: label
// matching, summing series, +Inf, escapes, deltas between two scrapes, per-bucket counts, malformed lines.
#include "bench/prometheus_histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/error.h"

namespace hone {
namespace {

// Two models; model "cnn" has two versions. The mlp lines and the other metric must not leak into cnn's numbers.
const std::string kScrape = R"(# HELP hone_batch_size Rows per batch the model ran.
# TYPE hone_batch_size histogram
hone_batch_size_bucket{model="cnn",version="1",le="1"} 3
hone_batch_size_bucket{model="cnn",version="1",le="2"} 5
hone_batch_size_bucket{model="cnn",version="1",le="4"} 9
hone_batch_size_bucket{model="cnn",version="1",le="+Inf"} 10
hone_batch_size_sum{model="cnn",version="1"} 31
hone_batch_size_count{model="cnn",version="1"} 10
hone_batch_size_bucket{version="2",model="cnn",le="1"} 1
hone_batch_size_bucket{version="2",model="cnn",le="2"} 1
hone_batch_size_bucket{version="2",model="cnn",le="4"} 2
hone_batch_size_bucket{version="2",model="cnn",le="+Inf"} 2
hone_batch_size_sum{model="cnn",version="2"} 5
hone_batch_size_count{model="cnn",version="2"} 2
hone_batch_size_bucket{model="mlp",version="1",le="1"} 100
hone_batch_size_bucket{model="mlp",version="1",le="+Inf"} 100
hone_batch_size_sum{model="mlp",version="1"} 100
hone_batch_size_count{model="mlp",version="1"} 100
hone_batch_sizes_other_bucket{model="cnn",le="1"} 77
hone_requests_total{model="cnn",version="1",outcome="success"} 12
)";

TEST(PrometheusHistogram, SumsTheMatchingSeriesOnly) {
  PrometheusHistogram h = read_prometheus_histogram(kScrape, "hone_batch_size", {{"model", "cnn"}});
  ASSERT_TRUE(h.found);
  ASSERT_EQ(h.buckets.size(), 4u);
  EXPECT_EQ(h.buckets[0].le, 1);
  EXPECT_EQ(h.buckets[0].count, 4);
  EXPECT_EQ(h.buckets[1].count, 6);
  EXPECT_EQ(h.buckets[2].le, 4);
  EXPECT_EQ(h.buckets[2].count, 11);
  EXPECT_TRUE(std::isinf(h.buckets[3].le));
  EXPECT_EQ(h.buckets[3].count, 12);
  EXPECT_EQ(h.sum, 36);
  EXPECT_EQ(h.count, 12);

  PrometheusHistogram v2 =
      read_prometheus_histogram(kScrape, "hone_batch_size", {{"model", "cnn"}, {"version", "2"}});
  EXPECT_EQ(v2.count, 2);
  EXPECT_EQ(v2.sum, 5);
  EXPECT_EQ(v2.buckets[2].count, 2);
}

TEST(PrometheusHistogram, AbsentModelOrMetricIsNotFound) {
  EXPECT_FALSE(read_prometheus_histogram(kScrape, "hone_batch_size", {{"model", "resnet"}}).found);
  EXPECT_FALSE(read_prometheus_histogram(kScrape, "hone_queue_seconds", {{"model", "cnn"}}).found);
  EXPECT_FALSE(read_prometheus_histogram("", "hone_batch_size", {}).found);
}

TEST(PrometheusHistogram, DeltaAndPerBucketCounts) {
  std::string before =
      "hone_batch_size_bucket{model=\"m\",le=\"1\"} 2\n"
      "hone_batch_size_bucket{model=\"m\",le=\"8\"} 2\n"
      "hone_batch_size_bucket{model=\"m\",le=\"+Inf\"} 2\n"
      "hone_batch_size_sum{model=\"m\"} 2\n"
      "hone_batch_size_count{model=\"m\"} 2\n";
  std::string after =
      "hone_batch_size_bucket{model=\"m\",le=\"1\"} 5\r\n"  // CRLF line ends are tolerated
      "hone_batch_size_bucket{model=\"m\",le=\"8\"} 9\r\n"
      "hone_batch_size_bucket{model=\"m\",le=\"+Inf\"} 10\r\n"
      "hone_batch_size_sum{model=\"m\"} 50 1700000000000\r\n"  // an optional timestamp follows the value
      "hone_batch_size_count{model=\"m\"} 10\r\n";
  PrometheusHistogram d = histogram_delta(read_prometheus_histogram(after, "hone_batch_size", {{"model", "m"}}),
                                          read_prometheus_histogram(before, "hone_batch_size", {{"model", "m"}}));
  EXPECT_EQ(d.count, 8);
  EXPECT_EQ(d.sum, 48);
  std::vector<HistogramBucket> per = per_bucket_counts(d);
  ASSERT_EQ(per.size(), 3u);
  EXPECT_EQ(per[0].le, 1);
  EXPECT_EQ(per[0].count, 3);
  EXPECT_EQ(per[1].le, 8);
  EXPECT_EQ(per[1].count, 4);
  EXPECT_TRUE(std::isinf(per[2].le));
  EXPECT_EQ(per[2].count, 1);
  double total = 0;
  for (const HistogramBucket& b : per) total += b.count;
  EXPECT_EQ(total, d.count);
}

TEST(PrometheusHistogram, EscapedLabelValues) {
  std::string text = "h_bucket{model=\"a \\\"quoted\\\" \\\\ name\",le=\"2\"} 7\nh_count{model=\"a\"} 1\n";
  PrometheusHistogram h = read_prometheus_histogram(text, "h", {{"model", "a \"quoted\" \\ name"}});
  ASSERT_TRUE(h.found);
  ASSERT_EQ(h.buckets.size(), 1u);
  EXPECT_EQ(h.buckets[0].count, 7);
  EXPECT_EQ(h.count, 0);  // the count series belongs to model "a"
}

TEST(PrometheusHistogram, MalformedLinesOfTheHistogramThrow) {
  EXPECT_THROW(read_prometheus_histogram("h_bucket{le=\"1\"} many\n", "h", {}), Error);
  EXPECT_THROW(read_prometheus_histogram("h_bucket{model=\"x\"} 3\n", "h", {}), Error);  // no le
  EXPECT_THROW(read_prometheus_histogram("h_bucket{le=\"one\"} 3\n", "h", {}), Error);
  EXPECT_THROW(read_prometheus_histogram("h_bucket{le=\"1} 3\n", "h", {}), Error);
  EXPECT_THROW(read_prometheus_histogram("h_count\n", "h", {}), Error);
  try {
    read_prometheus_histogram("h_sum{} x1\n", "h", {});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("h_sum{} x1"), std::string::npos) << e.what();
  }
  // Malformed lines of other metrics are not this reader's business.
  EXPECT_NO_THROW(read_prometheus_histogram("other{le=\"1} 3\nh_count 4\n", "h", {}));
}

}  // namespace
}  // namespace hone
