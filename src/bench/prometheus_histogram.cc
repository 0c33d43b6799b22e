#include "bench/prometheus_histogram.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>

#include "core/error.h"

namespace hone {
namespace {

// Parses `{a="x",b="y"}` starting at text[pos] == '{'; returns the position after '}'. Values may hold \" \\ \n.
size_t parse_labels(std::string_view line, size_t pos, std::vector<std::pair<std::string, std::string>>& labels) {
  ++pos;  // '{'
  for (;;) {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == ',')) ++pos;
    if (pos < line.size() && line[pos] == '}') return pos + 1;
    size_t eq = line.find('=', pos);
    if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"')
      fail("bad label set in metrics line '{}'", line);
    std::string key(line.substr(pos, eq - pos));
    while (!key.empty() && key.back() == ' ') key.pop_back();
    std::string value;
    size_t k = eq + 2;
    for (; k < line.size() && line[k] != '"'; ++k) {
      if (line[k] == '\\' && k + 1 < line.size()) {
        ++k;
        value += line[k] == 'n' ? '\n' : line[k];
      } else {
        value += line[k];
      }
    }
    if (k >= line.size()) fail("unterminated label value in metrics line '{}'", line);
    labels.emplace_back(std::move(key), std::move(value));
    pos = k + 1;
  }
}

double parse_sample_value(std::string_view line, size_t pos) {
  while (pos < line.size() && line[pos] == ' ') ++pos;
  std::string token(line.substr(pos, line.find(' ', pos) == std::string_view::npos ? std::string_view::npos
                                                                                     : line.find(' ', pos) - pos));
  char* end = nullptr;
  double v = std::strtod(token.c_str(), &end);  // accepts +Inf, -Inf, NaN as Prometheus writes them
  if (token.empty() || end != token.c_str() + token.size()) fail("bad sample value in metrics line '{}'", line);
  return v;
}

}  // namespace

PrometheusHistogram read_prometheus_histogram(std::string_view text, std::string_view name, const LabelMatch& match) {
  const std::string bucket_name = std::string(name) + "_bucket";
  const std::string sum_name = std::string(name) + "_sum";
  const std::string count_name = std::string(name) + "_count";
  PrometheusHistogram h;
  std::map<double, double> buckets;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    std::string_view line = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    start = end == std::string_view::npos ? text.size() : end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    size_t name_end = line.find_first_of("{ ");
    std::string_view metric = line.substr(0, name_end);
    if (metric != bucket_name && metric != sum_name && metric != count_name) continue;
    std::vector<std::pair<std::string, std::string>> labels;
    size_t pos = name_end;
    if (pos != std::string_view::npos && line[pos] == '{') pos = parse_labels(line, pos, labels);
    if (pos == std::string_view::npos) fail("metrics line '{}' has no value", line);
    bool wanted = std::all_of(match.begin(), match.end(), [&](const auto& m) {
      return std::find(labels.begin(), labels.end(), m) != labels.end();
    });
    if (!wanted) continue;
    double value = parse_sample_value(line, pos);
    h.found = true;
    if (metric == sum_name) {
      h.sum += value;
    } else if (metric == count_name) {
      h.count += value;
    } else {
      auto le = std::find_if(labels.begin(), labels.end(), [](const auto& l) { return l.first == "le"; });
      if (le == labels.end()) fail("histogram bucket without an le label: '{}'", line);
      char* e = nullptr;
      double bound = std::strtod(le->second.c_str(), &e);
      if (le->second.empty() || *e != '\0') fail("bad le=\"{}\" in metrics line '{}'", le->second, line);
      buckets[bound] += value;
    }
  }
  for (const auto& [le, count] : buckets) h.buckets.push_back({le, count});
  return h;
}

PrometheusHistogram histogram_delta(const PrometheusHistogram& after, const PrometheusHistogram& before) {
  PrometheusHistogram d;
  d.found = after.found;
  d.sum = after.sum - before.sum;
  d.count = after.count - before.count;
  for (const HistogramBucket& b : after.buckets) {
    double prior = 0;
    for (const HistogramBucket& p : before.buckets)
      if (p.le == b.le) prior = p.count;
    d.buckets.push_back({b.le, b.count - prior});
  }
  return d;
}

std::vector<HistogramBucket> per_bucket_counts(const PrometheusHistogram& h) {
  std::vector<HistogramBucket> out;
  double below = 0;
  for (const HistogramBucket& b : h.buckets) {
    double n = b.count - below;
    below = b.count;
    if (n > 0) out.push_back({b.le, n});
  }
  return out;
}

}  // namespace hone
