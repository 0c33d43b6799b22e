// Float32 element-wise microkernels, one table per ISA tier (scalar, AVX2+FMA, AVX-512). Each tier is compiled
// from the same generic body (elementwise_microkernels.inc over the tier's vec_*.inc) with its own target
// attributes, so one binary runs anywhere and the tiers cannot drift apart. Microkernels run single-threaded;
// threading and broadcasting live in elementwise_kernels.cc and elementwise_broadcast.cc.
#pragma once
#include <cstdint>

#include "kernels/cpu/cpu_features.h"

namespace hone::cpu {

enum class BinaryOp { Add, Sub, Mul, Div, Max, Min, Count };
// Sigmoid, Tanh, Exp and Log are approximations within a few ulp of the C library's; the rest match the reference
// kernels bit for bit (the same float operations in the same order, NaN and -0 handled alike). PowHalf is
// Pow(x, 0.5): sqrt, except that -0 gives +0 and -inf gives +inf, as pow does.
enum class UnaryOp {
  Relu, LeakyRelu, Clip, HardSigmoid, HardSwish, Sigmoid, Tanh, Exp, Log, Sqrt, Square, Neg, Abs, Reciprocal,
  PowHalf, Count
};

// Which operand is one value repeated along a row (the other, and y, have n elements per row).
enum class Operands { BothVectors, ScalarA, ScalarB };

// A rows x n block of outputs: y[r * y_stride + i] = a[r * a_stride + i] op b[r * b_stride + i], where the operand
// that `operands` names scalar reads index r * stride alone (a value per row). A stride of 0 repeats a row.
struct BinaryTile {
  int64_t rows = 1, n = 0;
  int64_t a_stride = 0, b_stride = 0, y_stride = 0;
  Operands operands = Operands::BothVectors;
};

// LeakyRelu: a = alpha. Clip: a = lo, b = hi. HardSigmoid: a = alpha, b = beta.
struct UnaryParams {
  float a = 0, b = 0;
};

using BinaryFn = void (*)(const float* a, const float* b, float* y, const BinaryTile& tile);
using UnaryFn = void (*)(const float* x, float* y, int64_t n, UnaryParams p);

struct ElementwiseMicrokernels {
  const char* isa;  // "scalar", "avx2", "avx512": the suffix of kernel names
  BinaryFn binary[static_cast<int>(BinaryOp::Count)];
  UnaryFn unary[static_cast<int>(UnaryOp::Count)];
};

const ElementwiseMicrokernels& elementwise_scalar();
const ElementwiseMicrokernels& elementwise_avx2();
const ElementwiseMicrokernels& elementwise_avx512();
// The table for a tier (tiers above avx512 use the avx512 one).
const ElementwiseMicrokernels& elementwise_for(Isa isa);

}  // namespace hone::cpu
