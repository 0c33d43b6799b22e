// How a broadcasting binary op walks memory: numpy broadcasting over any shapes, reduced to as few dims as the
// operands' strides allow, with the innermost contiguous run (and the dim around it) handed to one vectorized
// microkernel call. Also the channels-last views: the order in which a channels-last kernel sees each operand.
#pragma once
#include <optional>
#include <vector>

#include "core/tensor.h"
#include "kernels/cpu/elementwise_microkernels.h"

namespace hone::cpu {

// y (contiguous) = a op b, walked as `outer` dims (outermost first; extents and each operand's strides, 0 where it
// broadcasts) around one BinaryTile covering the innermost two dims after merging. tile.y_stride == tile.n.
struct BroadcastWalk {
  std::vector<int64_t> outer_sizes, outer_a, outer_b;
  BinaryTile tile;
  int64_t outer_count = 1;
  int64_t numel = 0;
};

// The walk for operands stored row-major in shapes a and b; nullopt when they do not broadcast together.
std::optional<BroadcastWalk> plan_broadcast_walk(const Shape& a, const Shape& b);

// Runs the walk, split over up to `threads` threads when it is large enough to pay for them.
void run_broadcast_walk(const BroadcastWalk& w, BinaryFn fn, const float* a, const float* b, float* y, int threads);

// N,C,H,W -> N,H,W,C: the shape whose row-major order is how a channels-last tensor is stored.
Shape nhwc_of(const Shape& nchw);
// A plain operand broadcast against a rank-4 channels-last output, seen in the output's N,H,W,C order: its shape
// right-aligned to rank 4 and permuted. The permuted shape is a view of the same bytes only when no dim larger than 1
// moves past another (C against a trivial H and W, as [C,1,1], [1,C,1,1], [N,C,1,1], or no C at all); nullopt
// otherwise, and for ranks above 4.
std::optional<Shape> plain_as_nhwc(const Shape& s);

}  // namespace hone::cpu
