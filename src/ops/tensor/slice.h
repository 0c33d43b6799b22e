// Slice's per-axis arithmetic, shared by the reference kernel and the fast copy kernel.
#pragma once
#include <cstdint>

#include "ir/graph.h"

namespace hone {

struct AxisSlice {
  int64_t start = 0, step = 1, count = 0;  // count 0 for an empty result
};

// Clamps one axis' slice as numpy does, for either sign of step; a zero step is an error naming `n`.
AxisSlice resolve_slice_axis(int64_t start, int64_t end, int64_t step, int64_t dim, const Node& n);

}  // namespace hone
