// The Prometheus exposition: histograms count and sum what they saw, the text parses as format 0.0.4 (every sample
// of a HELP'd and TYPE'd family, cumulative buckets ending at +Inf equal to _count), and the server's requests land
// in the right series.
#include "serve/serve_metrics.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "serve_core_test_util.h"

namespace hone::serve {
namespace {

using namespace testing;

// Checks the text against the exposition format; returns the problems found (empty when it parses).
std::vector<std::string> exposition_problems(const std::string& text) {
  std::vector<std::string> problems;
  std::map<std::string, std::string> type_of;
  std::set<std::string> helped;
  std::map<std::string, std::vector<double>> buckets;  // series (labels without le) -> values in order
  std::map<std::string, std::vector<double>> bounds;
  std::map<std::string, double> counts;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      helped.insert(line.substr(7, line.find(' ', 7) - 7));
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::string rest = line.substr(7);
      type_of[rest.substr(0, rest.find(' '))] = rest.substr(rest.find(' ') + 1);
      continue;
    }
    if (line.empty() || line[0] == '#') {
      problems.push_back("unexpected line: " + line);
      continue;
    }
    size_t brace = line.find('{'), close = line.rfind('}');
    if (brace == std::string::npos || close == std::string::npos || close + 2 > line.size() || line[close + 1] != ' ') {
      problems.push_back("malformed sample: " + line);
      continue;
    }
    std::string name = line.substr(0, brace), labels = line.substr(brace + 1, close - brace - 1);
    double value = std::stod(line.substr(close + 2));
    std::string family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      if (!type_of.count(family) && family.size() > strlen(suffix) &&
          family.compare(family.size() - strlen(suffix), strlen(suffix), suffix) == 0)
        family = family.substr(0, family.size() - strlen(suffix));
    if (!type_of.count(family) || !helped.count(family)) {
      problems.push_back("sample of a family without HELP/TYPE: " + line);
      continue;
    }
    if (type_of[family] == "histogram") {
      if (name == family + "_bucket") {
        size_t le = labels.find(",le=\"");
        if (le == std::string::npos) {
          problems.push_back("bucket without le: " + line);
          continue;
        }
        std::string series = family + "{" + labels.substr(0, le) + "}";
        std::string bound = labels.substr(le + 5, labels.size() - le - 6);
        bounds[series].push_back(bound == "+Inf" ? INFINITY : std::stod(bound));
        buckets[series].push_back(value);
      } else if (name == family + "_count") {
        counts[family + "{" + labels + "}"] = value;
      } else if (name != family + "_sum") {
        problems.push_back("histogram sample " + line);
      }
    }
  }
  for (const auto& [series, values] : buckets) {
    const auto& b = bounds[series];
    for (size_t k = 1; k < values.size(); ++k) {
      if (values[k] < values[k - 1]) problems.push_back("buckets not cumulative in " + series);
      if (b[k] <= b[k - 1]) problems.push_back("bounds not increasing in " + series);
    }
    if (b.empty() || b.back() != INFINITY) problems.push_back("no +Inf bucket in " + series);
    else if (!counts.count(series) || counts[series] != values.back())
      problems.push_back("+Inf bucket differs from _count in " + series);
  }
  return problems;
}

TEST(ServeMetrics, HistogramCountsEachObservationOnceAndSumsThem) {
  const double bounds[] = {1, 2, 4};
  Histogram h(bounds);
  for (double v : {0.5, 1.0, 1.5, 3.0, 9.0, 9.0}) h.observe(v);
  Histogram::Snapshot s = h.snapshot();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{2, 3, 4, 6}));  // le=1 holds 1.0 itself
  EXPECT_DOUBLE_EQ(s.sum, 24.0);
}

TEST(ServeMetrics, ConcurrentObservationsAreNotLost) {
  const double bounds[] = {1};
  Histogram h(bounds);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) h.observe(0.5);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(h.snapshot().cumulative.back(), 40000u);
  EXPECT_DOUBLE_EQ(h.snapshot().sum, 20000.0);
}

TEST(ServeMetrics, TextParsesAndEscapesLabels) {
  ServeMetrics metrics;
  ModelMetrics& m = metrics.model("we\"ird\\name\n", "3");
  m.count_success();
  m.count_error(ErrorKind::TooLarge);
  m.queue_seconds.observe(30e-6);
  m.batch_size.observe(3);
  std::string text = metrics.text();
  EXPECT_EQ(exposition_problems(text), std::vector<std::string>{}) << text;
  EXPECT_TRUE(contains(text, "model=\"we\\\"ird\\\\name\\n\",version=\"3\"")) << text;
  EXPECT_EQ(sample_value(text, "hone_requests_total{model=\"we\\\"ird\\\\name\\n\",version=\"3\",outcome=\"too_large\"}"),
            1);
  // The detector catches what it should.
  EXPECT_FALSE(exposition_problems("hone_x{model=\"a\"} 1\n").empty());
  EXPECT_FALSE(exposition_problems("# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
                                   "h_sum{} 1\nh_count{} 1\n")
                   .empty());
}

TEST(ServeMetrics, ServerRequestsLandInTheirSeries) {
  TempDir dir;
  ServerOptions options;
  options.defaults.max_batch_size = 4;
  InferenceServer server(options);
  server.add_model("two", write_two_output_model(dir));
  for (int i = 0; i < 5; ++i) server.infer(request_for("two", "x", rows_tensor(1 + i % 2, i)));
  error_of([&] { server.infer(request_for("two", "y", rows_tensor(1, 0))); });
  error_of([&] { server.infer(request_for("absent", "x", rows_tensor(1, 0))); });
  server.count_rejected("two", ErrorKind::TooLarge);
  server.count_rejected("", ErrorKind::InvalidArgument);
  std::string text = server.metrics_text();
  EXPECT_EQ(exposition_problems(text), std::vector<std::string>{}) << text;
  auto value = [&](const std::string& name, const std::string& labels) { return sample_value(text, name + "{" + labels + "}"); };
  const std::string two = "model=\"two\",version=\"1\"", none = "model=\"\",version=\"\"";
  EXPECT_EQ(value("hone_requests_total", two + ",outcome=\"success\""), 5);
  EXPECT_EQ(value("hone_requests_total", two + ",outcome=\"invalid_argument\""), 1);
  EXPECT_EQ(value("hone_requests_total", two + ",outcome=\"too_large\""), 1);
  EXPECT_EQ(value("hone_requests_total", none + ",outcome=\"not_found\""), 1);  // unknown names share one series
  EXPECT_EQ(value("hone_requests_total", none + ",outcome=\"invalid_argument\""), 1);
  EXPECT_EQ(value("hone_request_total_seconds_count", two), 5);
  EXPECT_EQ(value("hone_request_queue_seconds_count", two), 5);
  EXPECT_EQ(value("hone_request_compute_seconds_count", two), 5);
  EXPECT_GT(value("hone_request_total_seconds_sum", two), 0);
  EXPECT_EQ(value("hone_batch_size_sum", two), 1 + 2 + 1 + 2 + 1);
  EXPECT_EQ(value("hone_inflight_requests", two), 0);
  EXPECT_EQ(value("hone_queue_length", two), 0);
}

}  // namespace
}  // namespace hone::serve
