// Kernels of the float16 / bfloat16 runtime ops (low_precision_kernels.cc says what runs where).
#pragma once

namespace hone::dnnl_cpu {

// A bfloat16 3x3 convolution that float32 would run as Winograd is timed both ways at plan time (oneDNN's bfloat16
// kernel against float32 Winograd with the result rounded to bfloat16) and the faster kept. Tests force either:
// 1 bfloat16, 2 Winograd, 0 (default) measure.
void force_bf16_conv_choice(int choice);

}  // namespace hone::dnnl_cpu
