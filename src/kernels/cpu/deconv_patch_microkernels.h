// ConvTranspose whose kernel equals its stride (no padding, no dilation, one group): each input pixel writes its own
// kh x kw patch of the output, so the op is a matrix product, out[pixel][ki][kj][oc] = bias[oc] + sum over ic of
// x[pixel][ic] * w[ic][oc][ki][kj], then a scatter of each pixel's row into its patch (the caller's part). The decoder
// heads of segmentation and detection models upsample this way (PaddleOCR det: 2x2 stride 2, 24 -> 24 and 24 -> 1
// channels), where oneDNN 2.6's deconvolution runs at 4-45 GFLOP/s on this machine. One generic body
// (deconv_patch_microkernels.inc) compiled per ISA tier with GCC vector extensions.
#pragma once
#include <cstdint>

#include "kernels/cpu/cpu_features.h"

namespace hone::cpu {

inline constexpr int64_t kDeconvPatchLanes = 16;  // floats per column vector

struct DeconvPatchArgs {
  // `pixels` input pixels; pixel p's channel c at x[p * x_pixel + c * x_channel].
  const float* x = nullptr;
  int64_t pixels = 0, ic = 0, x_pixel = 0, x_channel = 0;
  // Weights repacked [ic][cols], cols a multiple of 16 (the product's columns, kh * kw * oc, zero-padded).
  const float* w = nullptr;
  const float* bias = nullptr;  // cols floats: each column's bias (0 in the padding)
  int64_t cols = 0;
  float lo = 0, hi = 0;  // with clamp: every result clamped to [lo, hi] (a fused Relu or Clip)
  bool clamp = false;
  float* out = nullptr;  // [pixels][cols]
};

using DeconvPatchFn = void (*)(const DeconvPatchArgs& a);

void deconv_patch_scalar(const DeconvPatchArgs& a);
void deconv_patch_avx2(const DeconvPatchArgs& a);
void deconv_patch_avx512(const DeconvPatchArgs& a);

inline DeconvPatchFn deconv_patch_for(Isa isa) {
  return pick_tier<DeconvPatchFn>(isa, deconv_patch_scalar, deconv_patch_avx2, deconv_patch_avx512);
}

}  // namespace hone::cpu
