#include "bench/pareto.h"

#include <cmath>

namespace hone {
namespace {

bool known(const QualityCost& p) { return !std::isnan(p.quality) && !std::isnan(p.cost); }

}  // namespace

bool dominates(const QualityCost& b, const QualityCost& a) {
  if (!known(a) || !known(b)) return false;
  const bool no_worse = b.quality >= a.quality && b.cost <= a.cost;
  const bool better = b.quality > a.quality || b.cost < a.cost;
  return no_worse && better;
}

std::vector<bool> pareto_frontier(const std::vector<QualityCost>& points) {
  std::vector<bool> on(points.size(), false);
  for (size_t i = 0; i < points.size(); ++i) {
    if (!known(points[i])) continue;
    bool dominated = false;
    for (size_t j = 0; j < points.size() && !dominated; ++j) dominated = j != i && dominates(points[j], points[i]);
    on[i] = !dominated;
  }
  return on;
}

}  // namespace hone
