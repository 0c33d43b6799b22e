// Depthwise 8-bit convolution on AVX-512 VNNI (q8_dwconv_kernel.cc runs hone.QConv with it). VNNI's vpdpbusd adds,
// per int32 lane, four products of adjacent uint8 x int8 bytes; a depthwise convolution has no input-channel sum to
// give it, so the four bytes are four taps of one kernel row instead. Each input row is packed once into "quads":
// entry q holds, for every channel, the bytes of input columns q - pad_l + j * dilation for j = 0..3 (the zero point
// where that falls outside the row), so that output column o's taps 4g..4g+3 are entry o * stride + 4g * dilation.
// Weights are packed the same way ([kernel row][tap group][channel][4], zero past the kernel's width), so one
// vpdpbusd computes four taps of 16 channels; a 5-wide kernel row takes two (the second with three zero weights),
// a 3-wide one one.
//
// oneDNN 2.6 runs these convolutions at 20-45 GOP/s per core on this machine (slower than its float32 depthwise
// kernel); this runs at several times that (BENCHMARKS.md, "Kernel microbenchmarks").
#pragma once
#include <cstdint>

namespace hone::cpu {

inline constexpr int64_t kDwLanes = 16;  // channels per vector

// A packed row holds one block of kDwLanes channels: `quads` entries of 64 bytes (16 channels x 4 taps). The kernel
// works block by block, so that the packed rows a block's output rows read stay in L1 from one output row to the
// next (5 rows of 80 entries: 25 KiB); all blocks at once would stream them from L2 for every output row.
struct DwPackArgs {
  const uint8_t* row = nullptr;  // one input row, channels-last: w pixels of c bytes; null for a padding row
  int64_t w = 0, c = 0, cp = 0;  // width, channels, channels rounded up to kDwLanes
  int64_t quads = 0;             // entries per block
  int64_t pad_l = 0, dilation = 1;
  uint8_t zero = 0;              // the zero point, as uint8
  bool flip = false;             // int8 input: each byte x-ored with 0x80 (then uint8, zero point + 128)
  int64_t block = 0;             // the channels packed: block * kDwLanes onwards
  uint8_t* out = nullptr;        // quads x 64 bytes
};

// The post-ops the row kernel applies in registers (ops/hone/fused_conv.h); a chain with others (Sigmoid, Tanh,
// Swish) has the kernel write v and the caller finish it.
enum class DwStepKind : int32_t { Relu, LeakyRelu, Clip, HardSigmoid, HardSwish, Linear, ChannelMul, Add };
struct DwStep {
  DwStepKind kind = DwStepKind::Relu;
  float a = 0, b = 0;
};
enum class DwType : int32_t { U8, S8, F32 };

// One output row of one channel block.
struct DwRowArgs {
  const uint8_t* const* rows = nullptr;  // kh packed rows of the block (DwPackArgs::out), one per kernel row
  int64_t block = 0;
  const int8_t* weights = nullptr;       // [kh][groups][cp][4]
  int64_t kh = 0, groups = 0, cp = 0, c = 0, quads = 0;
  int64_t ow = 0, stride = 1, dilation = 1;
  const int32_t* comp = nullptr;  // cp: the zero point times the channel's weight sum
  const float* scale = nullptr;   // cp: x_scale * w_scale[c]
  const float* bias = nullptr;    // cp (zeros without a bias)
  // v = (acc - comp) * scale + bias. Without y: v is stored to `v` (ow x c floats). With y: the chain runs on it,
  // then Y = v * out_mul + out_add, rounded to even and saturated unless y_type is F32 (the caller folds the chain's
  // trailing affine steps, Y's scale and its zero point into out_mul and out_add; its leading ones into scale, bias).
  float* v = nullptr;
  const DwStep* steps = nullptr;
  int64_t nsteps = 0;
  const float* channel = nullptr;  // cp: the ChannelMul factors (a ChannelMul step between two others)
  const void* z = nullptr;         // the row of Z (ow x c), for an Add
  DwType z_type = DwType::F32;
  float z_scale = 1, z_zero = 0;
  void* y = nullptr;  // the row of Y (ow x c)
  DwType y_type = DwType::F32;
  const float* out_mul = nullptr;  // cp
  const float* out_add = nullptr;  // cp
};

void q8_dw_pack_avx512(const DwPackArgs& a);
void q8_dw_row_avx512_vnni(const DwRowArgs& a);

}  // namespace hone::cpu
