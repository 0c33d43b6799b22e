// Per-tensor 8-bit quantization microkernels, one table per ISA tier (scalar, AVX2, AVX-512), compiled from one
// generic body (quantize_microkernels.inc) like the element-wise ones: QuantizeLinear (float32 -> uint8 / int8),
// DequantizeLinear (uint8 / int8 -> float32), hone.QAdd, hone.QMul and DynamicQuantizeLinear's range. Every tier gives the
// reference kernels' results bit for bit: the same float32 operations in the same order (a division by the scale, round
// half to even, saturation; no fused multiply-adds). Microkernels run single-threaded on a contiguous range;
// quantize_kernels.cc splits work.
#pragma once
#include <cstdint>

#include "kernels/cpu/cpu_features.h"

namespace hone::cpu {

enum class Q8 : uint8_t { U8, S8, F32 };  // element types the microkernels read and write

// y = saturate(round_half_even(x / scale) + zero_point), NaN -> the type's minimum.
using QuantizeFn = void (*)(const float* x, void* y, int64_t n, float scale, float zero_point, Q8 type);
// y = (x - zero_point) * scale.
using DequantizeFn = void (*)(const void* x, float* y, int64_t n, float scale, float zero_point, Q8 type);

// hone.QAdd: v = (a - a_zp) * a_scale + (b - b_zp) * b_scale; then max(v, lo) and min(v, hi) when `clamp` (a Relu
// or Clip post-op); then y as QuantizeFn writes it with y_scale and y_zp, or v itself for a float32 y.
struct QAddParams {
  float a_scale = 1, a_zp = 0, b_scale = 1, b_zp = 0, y_scale = 1, y_zp = 0;
  bool clamp = false;
  float lo = 0, hi = 0;
  Q8 a = Q8::U8, b = Q8::U8, y = Q8::U8;
};
using QAddFn = void (*)(const void* a, const void* b, void* y, int64_t n, const QAddParams& p);

// hone.QMul by a dequantized factor per element: v = ((a - a_zp) * a_scale) * m[i], then y as QuantizeFn writes it
// with y_scale and y_zp, or v itself for a float32 y (m holds the other operand's dequantized values, repeated as it
// broadcasts).
struct QMulParams {
  float a_scale = 1, a_zp = 0, y_scale = 1, y_zp = 0;
  Q8 a = Q8::U8, y = Q8::U8;
};
using QMulFn = void (*)(const void* a, const float* m, void* y, int64_t n, const QMulParams& p);

// hone.QGlobalAveragePool on channels-last data: sums[k] += sum over `pixels` rows of x[p * c + k], exactly.
using ChannelSumsFn = void (*)(const void* x, int64_t pixels, int64_t c, int64_t* sums, Q8 type);

// DynamicQuantizeLinear's range: *lo = min(0, min x), *hi = max(0, max x), NaNs ignored.
using MinMaxFn = void (*)(const float* x, int64_t n, float* lo, float* hi);

struct QuantizeMicrokernels {
  const char* isa;
  QuantizeFn quantize;
  DequantizeFn dequantize;
  QAddFn qadd;
  QMulFn qmul;
  MinMaxFn minmax;
  ChannelSumsFn channel_sums;
};

const QuantizeMicrokernels& quantize_scalar();
const QuantizeMicrokernels& quantize_avx2();
const QuantizeMicrokernels& quantize_avx512();
const QuantizeMicrokernels& quantize_for(Isa isa);

}  // namespace hone::cpu
