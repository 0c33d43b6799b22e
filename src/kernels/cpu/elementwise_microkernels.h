// Float32 element-wise microkernels, one table per ISA tier (scalar, AVX2+FMA, AVX-512). Each tier is compiled
// from the same generic body (elementwise_microkernels.inc) with its own vector type and target attributes, so one
// binary runs anywhere and the tiers cannot drift apart. Microkernels run single-threaded over a contiguous range;
// threading and broadcasting live in elementwise_kernels.cc.
#pragma once
#include <cstdint>

#include "kernels/cpu/cpu_features.h"

namespace hone::cpu {

enum class BinaryOp { Add, Sub, Mul, Div, Max, Count };
// Sigmoid, Tanh and Exp are approximations within a few ulp of the C library's; the rest match the reference
// kernels bit for bit (the same float operations in the same order, NaN and -0 handled alike).
enum class UnaryOp { Relu, LeakyRelu, Clip, HardSigmoid, HardSwish, Sigmoid, Tanh, Exp, Sqrt, Square, Count };

// Which operand is one value repeated (the other, and y, have n elements).
enum class Operands { BothVectors, ScalarA, ScalarB };

// LeakyRelu: a = alpha. Clip: a = lo, b = hi. HardSigmoid: a = alpha, b = beta.
struct UnaryParams {
  float a = 0, b = 0;
};

using BinaryFn = void (*)(const float* a, const float* b, float* y, int64_t n, Operands operands);
using UnaryFn = void (*)(const float* x, float* y, int64_t n, UnaryParams p);
// Softmax over each of `rows` contiguous rows of n elements.
using SoftmaxFn = void (*)(const float* x, float* y, int64_t rows, int64_t n);

struct ElementwiseMicrokernels {
  const char* isa;  // "scalar", "avx2", "avx512": the suffix of kernel names
  BinaryFn binary[static_cast<int>(BinaryOp::Count)];
  UnaryFn unary[static_cast<int>(UnaryOp::Count)];
  SoftmaxFn softmax;
};

const ElementwiseMicrokernels& elementwise_scalar();
const ElementwiseMicrokernels& elementwise_avx2();
const ElementwiseMicrokernels& elementwise_avx512();
// The table for a tier (tiers above avx512 use the avx512 one).
const ElementwiseMicrokernels& elementwise_for(Isa isa);

}  // namespace hone::cpu
