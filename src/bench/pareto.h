// The Pareto frontier of variants of one model measured on two axes, quality (accuracy: higher is better) against a
// cost (latency or size: lower is better), as `hone compare` marks it.
#pragma once
#include <vector>

namespace hone {

struct QualityCost {
  double quality = 0;  // higher is better; NaN when unknown
  double cost = 0;     // lower is better; NaN when unknown
};

// True when `b` dominates `a`: at least as good on both axes and strictly better on one. Points with an unknown
// (NaN) coordinate neither dominate nor are dominated.
bool dominates(const QualityCost& b, const QualityCost& a);

// One flag per point: true when no other point dominates it (equal points do not dominate each other, so both stay
// on the frontier). A point with an unknown coordinate is never on the frontier.
std::vector<bool> pareto_frontier(const std::vector<QualityCost>& points);

}  // namespace hone
