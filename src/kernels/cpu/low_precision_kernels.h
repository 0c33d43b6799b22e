// Kernels of the float16 / bfloat16 runtime ops (low_precision_kernels.cc says what runs where).
#pragma once

namespace hone::dnnl_cpu {

// A bfloat16 hone.RoundedConv / RoundedMatMul / RoundedGemm is timed both ways at plan time, oneDNN's bfloat16 kernel
// against the best float32 kernel with the result rounded to bfloat16, and the faster kept (the bfloat16 kernel's
// conversions in and out cost memory-bound layers more than they save; float32 has Winograd and faster depthwise
// kernels). Tests force either: 1 bfloat16, 2 float32 + rounding, 0 (default) measure.
void force_bf16_choice(int choice);

}  // namespace hone::dnnl_cpu
