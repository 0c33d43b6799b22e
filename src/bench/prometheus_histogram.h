// Reading one histogram out of a Prometheus text exposition (version 0.0.4), as `hone bench --server` does with the
// server's GET /metrics before and after a measurement: the batch sizes the server ran while it was being loaded.
//
// A histogram NAME is the series NAME_bucket{...,le="X"} (cumulative counts), NAME_sum and NAME_count. Series whose
// labels include every wanted pair are added together (several versions of one model, say); other labels are free.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hone {

struct HistogramBucket {
  double le = 0;     // upper bound (inclusive); +infinity for the last bucket
  double count = 0;  // cumulative: observations <= le
};

struct PrometheusHistogram {
  bool found = false;                    // at least one matching series was present
  std::vector<HistogramBucket> buckets;  // ascending by le
  double sum = 0, count = 0;
};

using LabelMatch = std::vector<std::pair<std::string, std::string>>;

// The histogram `name` summed over the series whose labels include every pair of `match`. Lines that are comments,
// other metrics or other label values are skipped; a malformed line of this histogram throws hone::Error naming it.
PrometheusHistogram read_prometheus_histogram(std::string_view text, std::string_view name, const LabelMatch& match);

// after - before, bucket by bucket (buckets of `after` missing from `before` count from 0): what was observed between
// the two scrapes.
PrometheusHistogram histogram_delta(const PrometheusHistogram& after, const PrometheusHistogram& before);

// Observations per bucket, not cumulative: {le, count in (previous le, le]}, empty buckets left out.
std::vector<HistogramBucket> per_bucket_counts(const PrometheusHistogram& h);

}  // namespace hone
