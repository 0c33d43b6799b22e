// Integer matrix products with numpy matmul semantics (1-D operands, broadcast batch dimensions), shared by
// MatMulInteger and QLinearMatMul, and the zero-point subtraction both do first.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "core/tensor.h"
#include "ir/graph.h"

namespace hone {

struct MatMulPlan {
  Shape out_shape;
  int64_t M = 0, K = 0, N = 0;
  std::vector<int64_t> a_offsets, b_offsets;  // per batch: first element of its A matrix and B matrix
};

// Throws naming the node when the shapes do not multiply.
MatMulPlan plan_matmul(const Shape& a, const Shape& b, const Node& node);
// Output shape for shape inference; nullopt when a rank is unknown.
std::optional<SymShape> infer_matmul_shape(const SymShape* a, const SymShape* b);

// y = a @ b over every batch, accumulating in int64 and wrapping to int32 as numpy's int32 matmul does.
void matmul_int32(const int32_t* a, const int32_t* b, int32_t* y, const MatMulPlan& p);

// x - zero_point as int32, the zero point broadcast to x's shape. A 1-D zero point of more than one element is
// per row of x (laid out as [n, 1]) when `per_row`, else per column (numpy broadcasting along the last axis).
std::vector<int32_t> subtract_zero_point(const Tensor& x, const Tensor* zero_point, bool per_row, const Node& node);

}  // namespace hone
