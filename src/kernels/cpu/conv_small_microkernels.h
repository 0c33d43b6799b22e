// Direct convolution for few input and output channels (a model's first layer on a grey or RGB image, 1-16 output
// channels), where oneDNN's kernels waste most of each vector on channels: vectorized along the output width
// instead, 16 output pixels at a time, one accumulator per output channel. One generic body
// (conv_small_microkernels.inc) compiled per ISA tier with GCC vector extensions.
#pragma once
#include <cstdint>

#include "kernels/cpu/cpu_features.h"

namespace hone::cpu {

inline constexpr int kConvSmallMaxOut = 16;  // output channels: one accumulator each
inline constexpr int kConvSmallLanes = 16;   // output pixels per block

struct ConvSmallArgs {
  // One image's input, zero-padded: ic planes of `rows` rows of `row_stride` floats; output pixel (oh, ow) reads
  // rows oh .. oh + kh - 1, columns ow .. ow + kw - 1 of each plane. row_stride >= round_up(ow, 16) + kw - 1.
  const float* padded = nullptr;
  int64_t ic = 0, rows = 0, row_stride = 0;
  int64_t oc = 0, kh = 0, kw = 0, oh = 0, ow = 0;
  const float* weights = nullptr;  // [kh][kw][ic][oc]: the oc weights of one tap together
  const float* bias = nullptr;     // oc floats, or null
  bool relu = false;
  // Output: pixel (oh, ow), channel c at out[oh * out_row + ow * out_pixel + c * out_channel].
  float* out = nullptr;
  int64_t out_row = 0, out_pixel = 0, out_channel = 0;
};

using ConvSmallFn = void (*)(const ConvSmallArgs& a);

void conv_small_scalar(const ConvSmallArgs& a);
void conv_small_avx2(const ConvSmallArgs& a);
void conv_small_avx512(const ConvSmallArgs& a);

inline ConvSmallFn conv_small_for(Isa isa) {
  return pick_tier<ConvSmallFn>(isa, conv_small_scalar, conv_small_avx2, conv_small_avx512);
}

}  // namespace hone::cpu
