// Float32 microkernels for reductions, softmax and layer normalization, one table per ISA tier, compiled from one
// generic body (reduce_microkernels.inc) like the element-wise ones. Every reduction runs along either
//   rows:    `rows` contiguous runs of n values (the reduced axes are the innermost), or
//   columns: n rows spaced `stride` apart, `cols` adjacent columns at a time (axes with contiguous axes inside them;
//            the output of a column reduction is contiguous, one value per column),
// single-threaded; the kernels (reduce_kernels.cc, softmax_kernel.cc, layernorm_kernel.cc) collapse shapes into
// these forms and split the work over threads.
//
// Accuracy against the reference kernels (which compute in double): sums use several float accumulators folded into
// a running total every few hundred terms (error grows with the block size, not the row length); Max, Min and the
// arg-extremes are exact, with NaN and -0 as the reference treats them; exponentials are within a few ulp.
#pragma once
#include <cstdint>

#include "kernels/cpu/cpu_features.h"

namespace hone::cpu {

// What a reduction computes per output. Sum, SumSquare and SumAbs give the raw sum (the kernel scales for Mean, takes
// the root for L2, the log for LogSum); LogSumExp gives max + log(sum(exp(x - max))).
enum class ReduceOp { Sum, SumSquare, SumAbs, Max, Min, Prod, LogSumExp, Count };

enum class SoftmaxOp { Softmax, LogSoftmax };

// y[r] = op over x[r * n + k], k < n.
using ReduceRowsFn = void (*)(ReduceOp op, const float* x, float* y, int64_t rows, int64_t n);
// y[c] = op over x[r * stride + c], r < n, for c < cols.
using ReduceColumnsFn = void (*)(ReduceOp op, const float* x, float* y, int64_t n, int64_t stride, int64_t cols);

// Softmax or LogSoftmax of each row / column (as above); y has x's layout.
using SoftmaxRowsFn = void (*)(SoftmaxOp op, const float* x, float* y, int64_t rows, int64_t n);
using SoftmaxColumnsFn = void (*)(SoftmaxOp op, const float* x, float* y, int64_t n, int64_t stride, int64_t cols);
// Hardmax of each row: 1 at the first maximum (NaN never compares greater; a NaN first element wins), 0 elsewhere.
using HardmaxRowsFn = void (*)(const float* x, float* y, int64_t rows, int64_t n);

// ArgMax (is_max) or ArgMin of each row / column: the first extreme, or the last with `last`; the first NaN wins
// over all. Columns need n < 2^24 (row indices are tracked in float lanes).
using ArgRowsFn = void (*)(const float* x, int64_t* y, int64_t rows, int64_t n, bool is_max, bool last);
using ArgColumnsFn = void (*)(const float* x, int64_t* y, int64_t n, int64_t stride, int64_t cols, bool is_max,
                              bool last);

// y = (x - mean) / sqrt(var + epsilon) * scale + bias over each row of n; scale (required) and bias (null: none)
// have n values.
// mean and inv_std_dev, when not null, receive one value per row.
struct LayerNormParams {
  const float* scale = nullptr;
  const float* bias = nullptr;
  float epsilon = 1e-5f;
  float* mean = nullptr;
  float* inv_std_dev = nullptr;
};
using LayerNormRowsFn = void (*)(const float* x, float* y, int64_t rows, int64_t n, const LayerNormParams& p);

struct ReduceMicrokernels {
  const char* isa;  // "scalar", "avx2", "avx512": the suffix of kernel names
  ReduceRowsFn reduce_rows;
  ReduceColumnsFn reduce_columns;
  SoftmaxRowsFn softmax_rows;
  SoftmaxColumnsFn softmax_columns;
  HardmaxRowsFn hardmax_rows;
  ArgRowsFn arg_rows;
  ArgColumnsFn arg_columns;
  LayerNormRowsFn layer_norm_rows;
};

const ReduceMicrokernels& reduce_scalar();
const ReduceMicrokernels& reduce_avx2();
const ReduceMicrokernels& reduce_avx512();
// The table for a tier (tiers above avx512 use the avx512 one).
const ReduceMicrokernels& reduce_for(Isa isa);

}  // namespace hone::cpu
