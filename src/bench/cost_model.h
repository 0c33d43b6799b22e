// An analytic cost model per node: multiply-accumulates, floating-point operations and bytes moved, from the node's
// attributes and its inputs' and outputs' shapes. 1 MAC = 2 FLOPs. Estimates, not measurements:
//   - Conv, ConvTranspose, MatMul, Gemm, Einsum, LSTM/GRU/RNN, Attention (and their integer/QLinear forms): MACs
//     from the shapes, FLOPs = 2 x MACs plus bias and softmax work;
//   - elementwise and activation ops: FLOPs ~ output elements (normalizations and softmax: a small factor);
//   - reductions and global pools: FLOPs ~ input elements; windowed pools: output elements x kernel size;
//   - data movement (Reshape, Transpose, Gather, Concat, Cast, ...): no MACs, no FLOPs, only bytes.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "ir/graph.h"

namespace hone {

struct NodeCost {
  bool known = true;  // false when a shape the estimate needs is unknown
  int64_t macs = 0;
  int64_t flops = 0;
  int64_t bytes_read = 0;     // every tensor input, weights included (unknown shapes count 0)
  int64_t bytes_written = 0;  // every tensor output (unknown shapes count 0)
  // FLOPs per byte moved; 0 when nothing moves.
  double intensity() const {
    int64_t b = bytes_read + bytes_written;
    return b > 0 ? static_cast<double>(flops) / static_cast<double>(b) : 0.0;
  }
};

// `type_of` returns the type of a value name, or null when unknown.
using TypeLookup = std::function<const TypeInfo*(const std::string&)>;

NodeCost node_cost(const Node& node, const TypeLookup& type_of);

// Bytes of a tensor type with a concrete shape, or nullopt.
std::optional<int64_t> tensor_bytes(const TypeInfo& t);

}  // namespace hone
